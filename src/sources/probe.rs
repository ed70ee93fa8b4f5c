//! Trying one feed: fetch a location once (under an address policy), parse what came back, and
//! say what it is — the feed's title and item count, or why it is not usable. Shared by
//! `/sources add` and `newshound fetch`.

use chrono::{DateTime, Utc};
use url::Url;

use crate::core::model::Feed;
use crate::sources::fetch::{AddressPolicy, FetchError, FetchOutcome, Fetcher, Validators};
use crate::sources::parse::{parse_feed, ParseError};

/// A location that answered with a feed.
#[derive(Debug)]
pub struct Probe {
    pub feed: Feed,
    /// Where the body came from after redirects (`None` for local files).
    pub final_url: Option<Url>,
    /// Set when every redirect hop was permanent: the URL to store instead of the one given.
    pub permanent_redirect: Option<Url>,
}

impl Probe {
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
    /// Fetched, but not a feed (an HTML page, invalid XML...).
    #[error(transparent)]
    NotAFeed(#[from] ParseError),
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
pub async fn probe(
    fetcher: &Fetcher,
    location: &str,
    policy: AddressPolicy,
    now: DateTime<Utc>,
) -> Result<Probe, ProbeError> {
    let outcome = fetcher
        .fetch(location, &Validators::default(), policy, now)
        .await?;
    let FetchOutcome::Fetched(fetched) = outcome else {
        return Err(ProbeError::NotModified);
    };
    let base = fetched.final_url.as_ref().map(ToString::to_string);
    let (body, content_type) = (fetched.body, fetched.content_type);
    let feed = tokio::task::spawn_blocking(move || {
        parse_feed(&body, content_type.as_deref(), base.as_deref())
    })
    .await
    .map_err(|_| ProbeError::ParserCrashed)??;
    Ok(Probe {
        feed,
        final_url: fetched.final_url,
        permanent_redirect: fetched.permanent_redirect,
    })
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
