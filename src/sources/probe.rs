//! Trying one feed: fetch a location once (under an address policy), parse what came back, and
//! say what it is — the feed's title and item count, or why it is not usable. Shared by
//! `/sources add` and `newshound fetch`.

use chrono::{DateTime, Utc};
use url::Url;

use crate::core::model::Feed;
use crate::sources::discover::{common_feed_urls, linked_feeds, DiscoveryError};
use crate::sources::fetch::{
    AddressPolicy, FetchError, FetchOutcome, Fetched, Fetcher, Validators,
};
use crate::sources::parse::{parse_feed, ParseError};

/// A location that answered with a feed.
#[derive(Debug)]
pub struct Probe {
    pub feed: Feed,
    /// Where the body came from after redirects (`None` for local files).
    pub final_url: Option<Url>,
    /// Set when every redirect hop was permanent: the URL to store instead of the one given.
    pub permanent_redirect: Option<Url>,
    /// Set when the location was a web page and this feed was found on it.
    pub discovered: Option<Discovered>,
}

/// A feed found on a web page instead of the page itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The page that was asked for.
    pub page: Url,
    /// The feed it led to (linked from it, or at a common path on its host).
    pub feed: Url,
}

impl Probe {
    /// The location to store for a source asked for as `asked`: where permanent redirects
    /// ended, else the feed discovered on the page, else `asked` itself.
    pub fn location(&self, asked: &str) -> String {
        self.permanent_redirect
            .as_ref()
            .or(self.discovered.as_ref().map(|d| &d.feed))
            .map_or_else(|| asked.to_string(), ToString::to_string)
    }

    /// "Title — N items", as a person reads it.
    pub fn verdict(&self) -> String {
        verdict(&self.feed.title, self.feed.items.len())
    }
}

/// "Title — N items" ("(untitled feed)" when the feed gives no title).
pub fn verdict(title: &str, items: usize) -> String {
    let title = if title.is_empty() {
        "(untitled feed)"
    } else {
        title
    };
    format!(
        "{title} — {items} item{}",
        if items == 1 { "" } else { "s" }
    )
}

/// Why a location is not a usable feed. The `Display` is shown to people as it is.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Could not fetch it: unreachable, an HTTP error, or an internal address refused.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A 304 to a request that had no validators: a broken server, not a feed.
    #[error("the server answered 304 Not Modified to a first request; that is not a feed")]
    NotModified,
    /// Fetched, but not a feed (invalid XML, binary data...).
    #[error(transparent)]
    NotAFeed(#[from] ParseError),
    /// A web page that did not lead to exactly one feed.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The parsing task died (a panic outside the parser's own guard).
    #[error("the feed parser crashed on that document")]
    ParserCrashed,
}

impl ProbeError {
    /// The fetch failed (as opposed to the answer not being a feed).
    pub fn is_fetch(&self) -> bool {
        matches!(self, ProbeError::Fetch(_))
    }
}

/// Fetches `location` unconditionally under `policy` and parses it (off the async runtime).
/// When it is an HTML page, the feed it links to (or, with no link, the one at a common feed
/// path on its host) is probed instead, under the same policy and fetcher limits; several
/// feeds, or none, are a [`DiscoveryError`].
pub async fn probe(
    fetcher: &Fetcher,
    location: &str,
    policy: AddressPolicy,
    now: DateTime<Utc>,
) -> Result<Probe, ProbeError> {
    let fetched = fetch_fresh(fetcher, location, policy, now).await?;
    let page = fetched.final_url.clone();
    let body = fetched.body.clone();
    match read_feed(fetched).await {
        Err(e @ ProbeError::NotAFeed(ParseError::HtmlPage { .. })) => match page {
            Some(page) => discover(fetcher, page, &body, policy, now).await,
            // A local HTML file: nothing to resolve feed links against.
            None => Err(e),
        },
        other => other,
    }
}

async fn fetch_fresh(
    fetcher: &Fetcher,
    location: &str,
    policy: AddressPolicy,
    now: DateTime<Utc>,
) -> Result<Fetched, ProbeError> {
    let outcome = fetcher
        .fetch(location, &Validators::default(), policy, now)
        .await?;
    let FetchOutcome::Fetched(fetched) = outcome else {
        return Err(ProbeError::NotModified);
    };
    Ok(fetched)
}

async fn read_feed(fetched: Fetched) -> Result<Probe, ProbeError> {
    let feed = parse_document(
        fetched.body,
        fetched.content_type,
        fetched.final_url.as_ref(),
    )
    .await?;
    Ok(Probe {
        feed,
        final_url: fetched.final_url,
        permanent_redirect: fetched.permanent_redirect,
        discovered: None,
    })
}

/// A feed location probed without discovery (a candidate never leads to another page).
async fn probe_feed(
    fetcher: &Fetcher,
    feed: &Url,
    policy: AddressPolicy,
    now: DateTime<Utc>,
) -> Result<Probe, ProbeError> {
    read_feed(fetch_fresh(fetcher, feed.as_str(), policy, now).await?).await
}

async fn discover(
    fetcher: &Fetcher,
    page: Url,
    body: &[u8],
    policy: AddressPolicy,
    now: DateTime<Utc>,
) -> Result<Probe, ProbeError> {
    let html = String::from_utf8_lossy(body).into_owned();
    let at = page.clone();
    let linked = tokio::task::spawn_blocking(move || linked_feeds(&html, &at))
        .await
        .map_err(|_| ProbeError::ParserCrashed)?;
    let found = |probe: Probe, feed: Url, page: Url| Probe {
        discovered: Some(Discovered { page, feed }),
        ..probe
    };
    match linked.as_slice() {
        [] => {}
        [feed] => {
            return match probe_feed(fetcher, feed, policy, now).await {
                Ok(probe) => Ok(found(probe, feed.clone(), page)),
                Err(e) => Err(DiscoveryError::BrokenLink {
                    feed: feed.clone(),
                    reason: e.to_string(),
                }
                .into()),
            };
        }
        _ => return Err(DiscoveryError::Several { feeds: linked }.into()),
    }
    // No link: the common paths, each a real feed or nothing. Two paths serving one feed
    // (`/feed` redirecting to `/rss`) count once.
    let mut working: Vec<(Url, Probe)> = Vec::new();
    for candidate in common_feed_urls(&page) {
        let Ok(probe) = probe_feed(fetcher, &candidate, policy, now).await else {
            continue;
        };
        let same = |(_, p): &(Url, Probe)| {
            (p.final_url.is_some() && p.final_url == probe.final_url)
                || (p.feed.title == probe.feed.title
                    && p.feed.items.len() == probe.feed.items.len()
                    && p.feed.items.first().map(|i| &i.link)
                        == probe.feed.items.first().map(|i| &i.link))
        };
        if !working.iter().any(same) {
            working.push((candidate, probe));
        }
    }
    match working.len() {
        0 => Err(DiscoveryError::NoFeed { page }.into()),
        1 => {
            let (feed, probe) = working.remove(0);
            Ok(found(probe, feed, page))
        }
        _ => Err(DiscoveryError::Several {
            feeds: working.into_iter().map(|(u, _)| u).collect(),
        }
        .into()),
    }
}

/// Parses a fetched document off the async runtime (parsing is CPU work): the one way polling,
/// `/sources add` and `newshound fetch` read a body. `final_url` resolves relative links.
pub async fn parse_document(
    body: Vec<u8>,
    content_type: Option<String>,
    final_url: Option<&Url>,
) -> Result<Feed, ProbeError> {
    let base = final_url.map(ToString::to_string);
    tokio::task::spawn_blocking(move || parse_feed(&body, content_type.as_deref(), base.as_deref()))
        .await
        .map_err(|_| ProbeError::ParserCrashed)?
        .map_err(ProbeError::NotAFeed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::fetch::FetchSettings;

    #[test]
    fn verdict_names_the_feed_and_counts_its_items() {
        assert_eq!(verdict("Tech Wire", 3), "Tech Wire — 3 items");
        assert_eq!(verdict("", 1), "(untitled feed) — 1 item");
    }

    #[tokio::test]
    async fn a_local_file_is_refused_for_public_only_sources() {
        let fetcher = Fetcher::new(FetchSettings::default()).unwrap();
        let err = probe(
            &fetcher,
            "/etc/hostname",
            AddressPolicy::PublicOnly,
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert!(err.is_fetch());
        assert!(err.to_string().starts_with("blocked:"), "{err}");
    }

    #[tokio::test]
    async fn a_document_that_is_not_a_feed_says_so() {
        let dir = std::env::temp_dir().join(format!("newshound-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let page = dir.join("page.html");
        std::fs::write(&page, "<!doctype html><html><body>hello</body></html>").unwrap();
        let fetcher = Fetcher::new(FetchSettings::default()).unwrap();
        let err = probe(
            &fetcher,
            &page.display().to_string(),
            AddressPolicy::AllowPrivate,
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ProbeError::NotAFeed(_)), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
