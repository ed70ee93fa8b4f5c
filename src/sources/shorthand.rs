//! Source shorthands: `reddit:r/rust`, `youtube:UC…`, `youtube:@handle`,
//! `mastodon:@user@instance`, `bluesky:handle`, `hn:front|newest|search?q=…`, `gnews:QUERY`.
//! Each expands (purely) to the public feed URL it stands for; only `youtube:@handle` needs a
//! page fetch, done once where a source is added ([`resolve`]) and stored expanded. Also here:
//! unwrapping redirect links (`google.com/url?…&url=`) to the publisher's URL.

use chrono::{DateTime, Utc};
use url::form_urlencoded;
use url::Url;

use crate::sources::fetch::{AddressPolicy, FetchError, FetchOutcome, Fetcher, Validators};

/// The services a shorthand may name, as written before the `:`.
pub const SERVICES: [&str; 6] = ["reddit", "youtube", "mastodon", "bluesky", "hn", "gnews"];

/// The environment variable prefix of a per-service base-URL override
/// (`NEWSHOUND_SHORTHAND_BASE_REDDIT=http://127.0.0.1:8080`): the expanded URL's scheme and
/// host are replaced by it, its path and query kept. It exists so tests can serve each
/// service's responses from loopback; nobody needs it in production.
pub const BASE_ENV_PREFIX: &str = "NEWSHOUND_SHORTHAND_BASE_";

/// Per-service base-URL overrides (see [`BASE_ENV_PREFIX`]), empty in normal use; and whether
/// Reddit is read through its OAuth API (app credentials in the environment, see
/// `sources::reddit_auth`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bases {
    overrides: Vec<(String, String)>,
    reddit_oauth: bool,
}

impl Bases {
    /// The overrides among `vars` (name, value pairs, e.g. `std::env::vars()`).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Bases {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let reddit_oauth =
            crate::sources::reddit_auth::RedditCredentials::from_vars(vars.iter().cloned())
                .is_some();
        let overrides = vars
            .into_iter()
            .filter_map(|(name, value)| {
                let service = name.strip_prefix(BASE_ENV_PREFIX)?.to_ascii_lowercase();
                let value = value.trim().trim_end_matches('/').to_string();
                (SERVICES.contains(&service.as_str()) && !value.is_empty())
                    .then_some((service, value))
            })
            .collect();
        Bases {
            overrides,
            reddit_oauth,
        }
    }

    /// The overrides set in this process's environment.
    pub fn from_env() -> Bases {
        Bases::from_vars(std::env::vars())
    }

    /// `url` (an expansion for `service`) moved onto the override base, if one is set.
    fn rebase(&self, service: &str, url: &Url) -> String {
        match self.overrides.iter().find(|(s, _)| s == service) {
            None => url.to_string(),
            Some((_, base)) => {
                let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
                let fragment = url.fragment().map(|f| format!("#{f}")).unwrap_or_default();
                format!("{base}{}{query}{fragment}", url.path())
            }
        }
    }
}

/// What a shorthand stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expanded {
    /// The feed URL.
    Url(String),
    /// `youtube:@handle`: the channel page to read the channel id from (see
    /// [`channel_id_from_page`]); `shorts` as asked.
    YoutubeHandle {
        handle: String,
        page: String,
        shorts: bool,
    },
}

/// A shorthand that does not say what it should. The `Display` is shown to people as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a valid {service}: shorthand: {problem} — e.g. `{example}`")]
pub struct ShorthandError {
    pub text: String,
    pub service: &'static str,
    pub problem: String,
    pub example: &'static str,
}

/// Whether `text` is written as a shorthand (`service:…`, not `service://`), valid or not.
pub fn is_shorthand(text: &str) -> bool {
    text.trim().split_once(':').is_some_and(|(prefix, rest)| {
        SERVICES.contains(&prefix.to_ascii_lowercase().as_str()) && !rest.starts_with("//")
    })
}

/// Expands `text` when it is a shorthand (`service:rest`); `Ok(None)` when it is not one (a
/// URL or a path), so callers can pass every location through.
pub fn expand(text: &str, bases: &Bases) -> Result<Option<Expanded>, ShorthandError> {
    let text = text.trim();
    if !is_shorthand(text) {
        return Ok(None);
    }
    let Some((prefix, rest)) = text.split_once(':') else {
        return Ok(None);
    };
    let prefix = prefix.to_ascii_lowercase();
    let Some(service) = SERVICES.iter().copied().find(|s| *s == prefix) else {
        return Ok(None);
    };
    let fail = |problem: &str, example: &'static str| ShorthandError {
        text: text.to_string(),
        service,
        problem: problem.to_string(),
        example,
    };
    let rest = rest.trim();
    let expanded = match service {
        "reddit" => reddit(rest, bases.reddit_oauth).map_err(|p| fail(p, "reddit:r/rust"))?,
        "youtube" => {
            match youtube(rest).map_err(|p| fail(p, "youtube:UCxxxxxxxxxxxxxxxxxxxxxx"))? {
                Youtube::Feed(url) => url,
                Youtube::Handle { handle, shorts } => {
                    let page = bases.rebase(
                        service,
                        &url_of(&format!("https://www.youtube.com/@{handle}"))
                            .map_err(|p| fail(p, "youtube:@handle"))?,
                    );
                    return Ok(Some(Expanded::YoutubeHandle {
                        handle,
                        page,
                        shorts,
                    }));
                }
            }
        }
        "mastodon" => mastodon(rest).map_err(|p| fail(p, "mastodon:@Gargron@mastodon.social"))?,
        "bluesky" => bluesky(rest).map_err(|p| fail(p, "bluesky:bsky.app"))?,
        "hn" => hacker_news(rest).map_err(|p| fail(p, "hn:search?q=rust"))?,
        _ => google_news(rest).map_err(|p| fail(p, "gnews:Meta?hl=en-US&gl=US&ceid=US:en"))?,
    };
    Ok(Some(Expanded::Url(bases.rebase(service, &expanded))))
}

/// Parses a URL built here from checked parts.
fn url_of(text: &str) -> Result<Url, &'static str> {
    Url::parse(text).map_err(|_| "it does not make a valid URL")
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// `a=1&b=2` as pairs, keys lower-cased.
fn options(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect()
}

fn is_name(text: &str, extra: &[char], len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&text.chars().count())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(&c))
}

/// `reddit:r/NAME` (and `r/NAME/search?q=WORDS`) -> the subreddit's `.rss`; with
/// `min_points=N`, the JSON listing instead (the feed has no scores), the threshold carried
/// in the URL's fragment (`#min_points=N`, which HTTP never sends; see [`points_threshold`]).
/// With `oauth` (app credentials set), the same through `oauth.reddit.com`, which serves
/// only JSON listings.
fn reddit(rest: &str, oauth: bool) -> Result<Url, &'static str> {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut min_points = None;
    let mut words = None;
    for (key, value) in options(query) {
        match key.as_str() {
            "q" => words = Some(value.trim().to_string()).filter(|v| !v.is_empty()),
            "min_points" => min_points = Some(points_option(&value)?),
            _ => return Err("the options are q (for search) and min_points"),
        }
    }
    let path = path.trim_end_matches('/');
    let Some(path) = path.strip_prefix("r/").or_else(|| path.strip_prefix("/r/")) else {
        return Err("write the subreddit as r/NAME");
    };
    let (name, search) = match path.split_once('/') {
        None => (path, false),
        Some((name, "search")) => (name, true),
        Some(_) => return Err("only r/NAME and r/NAME/search?q=WORDS are supported"),
    };
    // Subreddit names are 2-21 letters, digits and `_`; `+` joins several (r/rust+golang).
    if !name.split('+').all(|n| is_name(n, &[], 2..=21)) {
        return Err("a subreddit name is 2-21 letters, digits or `_`");
    }
    let json = min_points.is_some() || oauth;
    let extension = if json { "json" } else { "rss" };
    let host = if oauth {
        crate::sources::reddit_auth::API_BASE
    } else {
        "https://www.reddit.com"
    };
    let mut url = if search {
        let words = words.ok_or("a search needs its words, r/NAME/search?q=WORDS")?;
        let mut pairs = vec![
            ("q", words.as_str()),
            ("restrict_sr", "on"),
            ("sort", "new"),
        ];
        if json {
            pairs.push(("raw_json", "1"));
        }
        url_of(&format!(
            "{host}/r/{name}/search.{extension}?{}",
            query_string(&pairs)
        ))?
    } else {
        if words.is_some() {
            return Err("words need the search form, r/NAME/search?q=WORDS");
        }
        let query = if json { "?raw_json=1" } else { "" };
        url_of(&format!("{host}/r/{name}/.{extension}{query}"))?
    };
    if let Some(points) = min_points {
        url.set_fragment(Some(&format!("min_points={points}")));
    }
    Ok(url)
}

fn points_option(value: &str) -> Result<u32, &'static str> {
    value
        .trim()
        .parse()
        .map_err(|_| "min_points is a whole number of points, e.g. min_points=100")
}

/// The engagement threshold a source URL carries (`…#min_points=100`, as `reddit:` with
/// `min_points` expands): items with fewer points are left out of a poll, so they are not
/// recorded as seen and alert on the first poll after they cross it.
pub fn points_threshold(url: &str) -> Option<u32> {
    let fragment = url.split_once('#')?.1;
    options(fragment)
        .into_iter()
        .find(|(k, _)| k == "min_points")
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// `location` (a `hn:` or `reddit:` shorthand) with the config's `min_points` added as an
/// option; `Err` with what to write when the location takes none or already has one.
pub fn with_min_points(location: &str, points: u32) -> Result<String, &'static str> {
    let service = location
        .split_once(':')
        .map(|(s, _)| s.trim().to_ascii_lowercase());
    if !matches!(service.as_deref(), Some("hn" | "reddit")) {
        return Err("min_points works with hn: and reddit: sources only");
    }
    if location.contains("min_points=") {
        return Err("give min_points once: either in the url or as the key");
    }
    let joiner = if location.contains('?') { '&' } else { '?' };
    Ok(format!("{location}{joiner}min_points={points}"))
}

enum Youtube {
    Feed(Url),
    Handle { handle: String, shorts: bool },
}

/// A channel id: `UC` and 22 characters of base64url.
pub fn is_channel_id(text: &str) -> bool {
    text.len() == 24
        && text.starts_with("UC")
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn youtube(rest: &str) -> Result<Youtube, &'static str> {
    let (id, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut shorts = false;
    for (key, value) in options(query) {
        match (key.as_str(), value.as_str()) {
            ("shorts", "true") => shorts = true,
            ("shorts", "false") => shorts = false,
            _ => return Err("the only option is ?shorts=true"),
        }
    }
    if let Some(handle) = id.strip_prefix('@') {
        if !is_name(handle, &['.', '-'], 3..=30) {
            return Err("a handle is @ and 3-30 letters, digits, `_`, `-` or `.`");
        }
        return Ok(Youtube::Handle {
            handle: handle.to_string(),
            shorts,
        });
    }
    if !is_channel_id(id) {
        return Err("give the channel id (UC and 22 more characters) or @handle");
    }
    Ok(Youtube::Feed(channel_feed(id, shorts)?))
}

/// The uploads feed of channel `id`: without Shorts (the `UULF` playlist) unless `shorts`.
fn channel_feed(id: &str, shorts: bool) -> Result<Url, &'static str> {
    if shorts {
        url_of(&format!(
            "https://www.youtube.com/feeds/videos.xml?channel_id={id}"
        ))
    } else {
        url_of(&format!(
            "https://www.youtube.com/feeds/videos.xml?playlist_id=UULF{}",
            &id[2..]
        ))
    }
}

/// The channel id a YouTube channel page names: its `<link rel="canonical"
/// href="…/channel/UC…">`, else the first `"channelId":"UC…"` in its scripts.
pub fn channel_id_from_page(html: &str) -> Option<String> {
    let document = scraper::Html::parse_document(html);
    let canonical = scraper::Selector::parse("link[rel=canonical][href]")
        .ok()
        .and_then(|s| {
            document
                .select(&s)
                .filter_map(|l| l.value().attr("href"))
                .find_map(|href| {
                    let (_, after) = href.split_once("/channel/")?;
                    let id = after.split(['/', '?', '#']).next()?;
                    is_channel_id(id).then(|| id.to_string())
                })
        });
    canonical.or_else(|| {
        html.match_indices("\"channelId\":\"")
            .find_map(|(at, marker)| {
                let id = html.get(at + marker.len()..at + marker.len() + 24)?;
                is_channel_id(id).then(|| id.to_string())
            })
    })
}

fn mastodon(rest: &str) -> Result<Url, &'static str> {
    let account = rest.strip_prefix('@').unwrap_or(rest);
    let Some((user, instance)) = account.split_once('@') else {
        return Err("write the account as @user@instance");
    };
    if !is_name(user, &[], 1..=30) {
        return Err("a user name is letters, digits or `_`");
    }
    let host = Url::parse(&format!("https://{instance}/"))
        .ok()
        .filter(|u| u.path() == "/" && u.query().is_none() && u.username().is_empty())
        .and_then(|u| u.host_str().map(str::to_string))
        .filter(|h| h.contains('.'))
        .ok_or("the instance must be a host name such as mastodon.social")?;
    url_of(&format!("https://{host}/@{user}.rss"))
}

fn bluesky(rest: &str) -> Result<Url, &'static str> {
    let handle = rest.strip_prefix('@').unwrap_or(rest);
    let valid = if let Some(did) = handle.strip_prefix("did:") {
        is_name(did, &[':', '.', '-'], 1..=200)
    } else {
        handle.contains('.')
            && !handle.starts_with('.')
            && !handle.ends_with('.')
            && is_name(handle, &['.', '-'], 3..=253)
    };
    if !valid {
        return Err("give the handle as a domain (alice.bsky.social) or a did:plc:… id");
    }
    url_of(&format!("https://bsky.app/profile/{handle}/rss"))
}

/// `hn:front|newest|search?q=WORDS`, each with an optional `min_points=N`: Algolia then returns
/// only stories with at least N points, so a story below it is not in the answer, is not
/// recorded as seen, and alerts on the first poll after it crosses the threshold.
fn hacker_news(rest: &str) -> Result<Url, &'static str> {
    let api = "https://hn.algolia.com/api/v1";
    let (what, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut words: Option<String> = None;
    let mut min_points: Option<u32> = None;
    for (key, value) in options(query) {
        match key.as_str() {
            "q" => words = Some(value.trim().to_string()).filter(|v| !v.is_empty()),
            "min_points" => min_points = Some(points_option(&value)?),
            _ => return Err("the options are q (for search) and min_points"),
        }
    }
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let endpoint = match what.to_ascii_lowercase().as_str() {
        "front" | "newest" if words.is_some() => {
            return Err("only hn:search takes words: hn:search?q=WORDS")
        }
        "front" => {
            pairs.push(("tags", "front_page".into()));
            "search"
        }
        "newest" => {
            pairs.push(("tags", "story".into()));
            "search_by_date"
        }
        "search" => {
            let words = words.ok_or("a search needs its words, hn:search?q=WORDS")?;
            pairs.push(("query", words));
            pairs.push(("tags", "story".into()));
            "search"
        }
        _ => return Err("use hn:front, hn:newest or hn:search?q=WORDS"),
    };
    if let Some(points) = min_points {
        pairs.push(("numericFilters", format!("points>={points}")));
    }
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    url_of(&format!("{api}/{endpoint}?{}", query_string(&pairs)))
}

fn google_news(rest: &str) -> Result<Url, &'static str> {
    let (words, query) = rest.split_once('?').unwrap_or((rest, ""));
    let words = words.trim();
    if words.is_empty() {
        return Err("give the search words after gnews:");
    }
    let mut pairs = vec![("q".to_string(), words.to_string())];
    for (key, value) in options(query) {
        if !matches!(key.as_str(), "hl" | "gl" | "ceid") {
            return Err("the only options are hl, gl and ceid (e.g. ?hl=en-US&gl=US&ceid=US:en)");
        }
        pairs.push((key, value));
    }
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    url_of(&format!(
        "https://news.google.com/rss/search?{}",
        query_string(&pairs)
    ))
}

/// The publisher URL a redirect link wraps: `https://www.google.com/url?rct=j&url=…` (Google
/// Alerts feeds) and `…/url?q=…`, `https://www.talkwalker.com/…/redirect?url=…` (Talkwalker
/// Alerts). `None` for any other link. Only an http(s) target is unwrapped.
pub fn unwrap_redirect(link: &str) -> Option<String> {
    unwrap_redirect_url(&Url::parse(link).ok()?)
}

/// [`unwrap_redirect`] of a link already parsed (the feed parser has every item's link as a
/// `Url`; parsing it again was a measurable part of mapping items, issue 16).
pub fn unwrap_redirect_url(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    if host == "news.google.com" {
        return google_news_article(url);
    }
    let google =
        host == "google.com" || host.starts_with("www.google.") || host.starts_with("google.");
    let talkwalker = host == "talkwalker.com" || host.ends_with(".talkwalker.com");
    let wraps =
        (google && url.path() == "/url") || (talkwalker && url.path().ends_with("/redirect"));
    if !wraps {
        return None;
    }
    url.query_pairs()
        .find(|(k, _)| k == "url" || k == "q")
        .and_then(|(_, v)| Url::parse(&v).ok())
        .filter(|target| matches!(target.scheme(), "http" | "https") && target.host_str().is_some())
        .map(|target| target.to_string())
}

/// The publisher URL inside a Google News article link (`news.google.com/rss/articles/CBMi…`),
/// where the link still carries it: the id is URL-safe base64 of a small protobuf whose field 4
/// (`0x22`, length-prefixed) is the URL. Newer ids (`CBMi…AU_yqL…`) hold only an opaque key
/// that needs Google's servers to resolve; those stay as they are (`None`).
fn google_news_article(url: &Url) -> Option<String> {
    use base64::Engine as _;
    let id = url
        .path()
        .strip_prefix("/rss/articles/")
        .or_else(|| url.path().strip_prefix("/articles/"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id.trim_end_matches('='))
        .ok()?;
    let rest = bytes.strip_prefix(&[0x08, 0x13, 0x22])?;
    // A varint length (URLs past 127 bytes take two bytes).
    let (len, skip) = match rest {
        [a, ..] if a & 0x80 == 0 => (usize::from(*a), 1),
        [a, b, ..] if b & 0x80 == 0 => (usize::from(a & 0x7f) | (usize::from(*b) << 7), 2),
        _ => return None,
    };
    let text = std::str::from_utf8(rest.get(skip..skip + len)?).ok()?;
    Url::parse(text)
        .ok()
        .filter(|t| matches!(t.scheme(), "http" | "https") && t.host_str().is_some())
        .map(|t| t.to_string())
}

/// A service-specific explanation of an HTTP refusal from `url` (host and path), or `""`.
pub fn refusal_hint(status: u16, url: &str) -> &'static str {
    let host = url
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if status == 403 && (host == "reddit.com" || host.ends_with(".reddit.com")) {
        return ": Reddit refused an anonymous client (it blocks some networks and unauthenticated \
                readers) — try again later, or read through Reddit's API: create an app at \
                reddit.com/prefs/apps and set NEWSHOUND_REDDIT_CLIENT_ID and \
                NEWSHOUND_REDDIT_CLIENT_SECRET";
    }
    ""
}

/// Why a location could not be turned into a feed URL where a source is added.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Shorthand(#[from] ShorthandError),
    /// The channel page of `youtube:@handle` could not be fetched.
    #[error(
        "could not read the YouTube channel page {page} to find @{handle}'s channel id: {source}"
    )]
    ChannelPage {
        handle: String,
        page: String,
        source: FetchError,
    },
    /// The channel page had no channel id in it.
    #[error(
        "the YouTube page {page} names no channel id for @{handle} — check the handle, or \
         use youtube:UC… with the id from the channel's About page"
    )]
    NoChannelId { handle: String, page: String },
}

/// `location` with a shorthand expanded (a `youtube:@handle` looked up on its channel page,
/// fetched under `policy`); `Ok(None)` when it is not a shorthand.
pub async fn resolve(
    fetcher: &Fetcher,
    location: &str,
    bases: &Bases,
    policy: AddressPolicy,
    now: DateTime<Utc>,
) -> Result<Option<String>, ResolveError> {
    match expand(location, bases)? {
        None => Ok(None),
        Some(Expanded::Url(url)) => Ok(Some(url)),
        Some(Expanded::YoutubeHandle {
            handle,
            page,
            shorts,
        }) => {
            let fetched = fetcher
                .fetch(&page, &Validators::default(), policy, now)
                .await;
            let body = match fetched {
                Ok(FetchOutcome::Fetched(f)) => f.body,
                Ok(FetchOutcome::NotModified { .. }) => Vec::new(),
                Err(source) => {
                    return Err(ResolveError::ChannelPage {
                        handle,
                        page,
                        source,
                    })
                }
            };
            let html = String::from_utf8_lossy(&body).into_owned();
            let id = tokio::task::spawn_blocking(move || channel_id_from_page(&html))
                .await
                .ok()
                .flatten()
                .ok_or_else(|| ResolveError::NoChannelId {
                    handle: handle.clone(),
                    page: page.clone(),
                })?;
            let feed = channel_feed(&id, shorts).map_err(|_| ResolveError::NoChannelId {
                handle: handle.clone(),
                page: page.clone(),
            })?;
            Ok(Some(bases.rebase("youtube", &feed)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> String {
        match expand(text, &Bases::default()) {
            Ok(Some(Expanded::Url(u))) => u,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn problem(text: &str) -> String {
        expand(text, &Bases::default()).unwrap_err().to_string()
    }

    #[test]
    fn urls_and_paths_are_not_shorthands() {
        for text in [
            "https://www.reddit.com/r/rust/.rss",
            "feeds/local.xml",
            "/var/feeds/a.xml",
            "news:comp.lang.rust",
            "reddit://r/rust",
        ] {
            assert_eq!(expand(text, &Bases::default()), Ok(None), "{text}");
        }
    }

    #[test]
    fn reddit_subreddit_and_search() {
        assert_eq!(url("reddit:r/rust"), "https://www.reddit.com/r/rust/.rss");
        assert_eq!(
            url("Reddit:r/rust+golang/"),
            "https://www.reddit.com/r/rust+golang/.rss"
        );
        assert_eq!(
            url("reddit:r/programming/search?q=rust async"),
            "https://www.reddit.com/r/programming/search.rss?q=rust+async&restrict_sr=on&sort=new"
        );
    }

    #[test]
    fn a_reddit_threshold_reads_the_json_listing_and_rides_in_the_fragment() {
        let hot = url("reddit:r/rust?min_points=100");
        assert_eq!(
            hot,
            "https://www.reddit.com/r/rust/.json?raw_json=1#min_points=100"
        );
        assert_eq!(points_threshold(&hot), Some(100));
        let search = url("reddit:r/rust/search?q=tokio&min_points=5");
        assert_eq!(
            search,
            "https://www.reddit.com/r/rust/search.json?q=tokio&restrict_sr=on&sort=new&raw_json=1#min_points=5"
        );
        assert_eq!(points_threshold(&search), Some(5));
        assert_eq!(points_threshold("https://www.reddit.com/r/rust/.rss"), None);
        assert_eq!(points_threshold("https://example.com/feed#top"), None);
        assert!(problem("reddit:r/rust?min_points=lots").contains("min_points is a whole number"));
        assert!(problem("reddit:r/rust?sort=top")
            .contains("the options are q (for search) and min_points"));
    }

    #[test]
    fn with_app_credentials_reddit_expands_to_the_oauth_api() {
        let bases = Bases::from_vars([
            ("NEWSHOUND_REDDIT_CLIENT_ID".to_string(), "id".to_string()),
            (
                "NEWSHOUND_REDDIT_CLIENT_SECRET".to_string(),
                "s".to_string(),
            ),
        ]);
        let expanded = |text: &str| match expand(text, &bases) {
            Ok(Some(Expanded::Url(u))) => u,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(
            expanded("reddit:r/rust"),
            "https://oauth.reddit.com/r/rust/.json?raw_json=1"
        );
        assert_eq!(
            expanded("reddit:r/rust/search?q=tokio&min_points=10"),
            "https://oauth.reddit.com/r/rust/search.json?q=tokio&restrict_sr=on&sort=new&raw_json=1#min_points=10"
        );
        assert_eq!(
            url("reddit:r/rust"),
            "https://www.reddit.com/r/rust/.rss",
            "anonymous: RSS"
        );
    }

    #[test]
    fn the_config_key_min_points_becomes_an_option() {
        assert_eq!(
            with_min_points("hn:front", 100).as_deref(),
            Ok("hn:front?min_points=100")
        );
        assert_eq!(
            with_min_points("reddit:r/rust/search?q=async", 50).as_deref(),
            Ok("reddit:r/rust/search?q=async&min_points=50")
        );
        assert!(with_min_points("https://example.com/feed", 5).is_err());
        assert!(with_min_points("hn:front?min_points=1", 5).is_err());
    }

    #[test]
    fn malformed_reddit_shorthands_say_what_to_write() {
        assert_eq!(
            problem("reddit:rust"),
            "`reddit:rust` is not a valid reddit: shorthand: write the subreddit as r/NAME — e.g. `reddit:r/rust`"
        );
        assert!(problem("reddit:r/x").contains("2-21 letters"));
        assert!(problem("reddit:r/rust/search").contains("needs its words"));
        assert!(problem("reddit:r/rust/comments/abc").contains("only r/NAME"));
        assert!(problem("reddit:r/rust?sort=top").contains("the options are"));
    }

    #[test]
    fn youtube_uploads_leave_out_shorts_unless_asked() {
        let id = "UCsBjURrPoezykLs9EqgamOA";
        assert_eq!(
            url(&format!("youtube:{id}")),
            "https://www.youtube.com/feeds/videos.xml?playlist_id=UULFsBjURrPoezykLs9EqgamOA"
        );
        assert_eq!(
            url(&format!("youtube:{id}?shorts=true")),
            format!("https://www.youtube.com/feeds/videos.xml?channel_id={id}")
        );
        assert!(problem("youtube:UCshort").contains("channel id"));
        assert!(problem(&format!("youtube:{id}?hd=1")).contains("?shorts=true"));
    }

    #[test]
    fn a_youtube_handle_needs_its_channel_page() {
        assert_eq!(
            expand("youtube:@Fireship", &Bases::default()),
            Ok(Some(Expanded::YoutubeHandle {
                handle: "Fireship".into(),
                page: "https://www.youtube.com/@Fireship".into(),
                shorts: false
            }))
        );
        assert!(problem("youtube:@a").contains("3-30"));
    }

    #[test]
    fn the_channel_id_is_read_from_the_canonical_link_or_the_page_data() {
        let canonical = r#"<html><head><link rel="canonical" href="https://www.youtube.com/channel/UCsBjURrPoezykLs9EqgamOA"></head></html>"#;
        assert_eq!(
            channel_id_from_page(canonical).as_deref(),
            Some("UCsBjURrPoezykLs9EqgamOA")
        );
        let scripted = r#"<script>var ytInitialData = {"metadata":{"channelMetadataRenderer":{"title":"Fireship","channelId":"UCsBjURrPoezykLs9EqgamOA"}}};</script>"#;
        assert_eq!(
            channel_id_from_page(scripted).as_deref(),
            Some("UCsBjURrPoezykLs9EqgamOA")
        );
        assert_eq!(channel_id_from_page("<html>consent page</html>"), None);
        assert_eq!(channel_id_from_page(r#""channelId":"UCtooshort""#), None);
    }

    #[test]
    fn mastodon_and_bluesky_accounts() {
        assert_eq!(
            url("mastodon:@Gargron@mastodon.social"),
            "https://mastodon.social/@Gargron.rss"
        );
        assert_eq!(
            url("mastodon:user@fosstodon.org"),
            "https://fosstodon.org/@user.rss"
        );
        assert!(problem("mastodon:@Gargron").contains("@user@instance"));
        assert!(problem("mastodon:@Gargron@localhost").contains("host name"));
        assert!(problem("mastodon:@Gar/gron@x.org").contains("user name"));
        assert_eq!(
            url("bluesky:bsky.app"),
            "https://bsky.app/profile/bsky.app/rss"
        );
        assert_eq!(
            url("bluesky:@alice.bsky.social"),
            "https://bsky.app/profile/alice.bsky.social/rss"
        );
        assert_eq!(
            url("bluesky:did:plc:z72i7hdynmk6r22z27h6tvur"),
            "https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/rss"
        );
        assert!(problem("bluesky:alice").contains("domain"));
    }

    #[test]
    fn hacker_news_lists_map_to_the_algolia_api() {
        assert_eq!(
            url("hn:front"),
            "https://hn.algolia.com/api/v1/search?tags=front_page"
        );
        assert_eq!(
            url("hn:newest"),
            "https://hn.algolia.com/api/v1/search_by_date?tags=story"
        );
        assert_eq!(
            url("hn:search?q=rust%20%26%20go"),
            "https://hn.algolia.com/api/v1/search?query=rust+%26+go&tags=story"
        );
        assert!(problem("hn:best").contains("hn:front, hn:newest"));
        assert!(problem("hn:search").contains("needs its words"));
        assert!(problem("hn:search?query=x").contains("q (for search) and min_points"));
        assert!(problem("hn:front?x=1").contains("q (for search) and min_points"));
        assert!(problem("hn:front?q=rust").contains("only hn:search takes words"));
    }

    #[test]
    fn an_hn_points_threshold_is_asked_of_the_api() {
        assert_eq!(
            url("hn:front?min_points=100"),
            "https://hn.algolia.com/api/v1/search?tags=front_page&numericFilters=points%3E%3D100"
        );
        assert_eq!(
            url("hn:search?q=sqlite&min_points=50"),
            "https://hn.algolia.com/api/v1/search?query=sqlite&tags=story&numericFilters=points%3E%3D50"
        );
        assert!(problem("hn:newest?min_points=lots").contains("whole number"));
    }

    #[test]
    fn google_news_search_with_its_edition_options() {
        assert_eq!(
            url("gnews:\"Google Cloud\" Gemini?hl=en-US&gl=US&ceid=US:en"),
            "https://news.google.com/rss/search?q=%22Google+Cloud%22+Gemini&hl=en-US&gl=US&ceid=US%3Aen"
        );
        assert_eq!(
            url("gnews:Meta"),
            "https://news.google.com/rss/search?q=Meta"
        );
        assert!(problem("gnews:").contains("search words"));
        assert!(problem("gnews:Meta?when=1d").contains("hl, gl and ceid"));
    }

    #[test]
    fn a_base_override_moves_the_expansion_onto_another_host() {
        let bases = Bases::from_vars([
            (
                "NEWSHOUND_SHORTHAND_BASE_REDDIT".to_string(),
                "http://127.0.0.1:9/".to_string(),
            ),
            (
                "NEWSHOUND_SHORTHAND_BASE_NOPE".to_string(),
                "http://x".to_string(),
            ),
            ("PATH".to_string(), "/bin".to_string()),
        ]);
        assert_eq!(
            expand("reddit:r/rust/search?q=async", &bases),
            Ok(Some(Expanded::Url(
                "http://127.0.0.1:9/r/rust/search.rss?q=async&restrict_sr=on&sort=new".into()
            )))
        );
        assert_eq!(
            expand("hn:front", &bases),
            Ok(Some(Expanded::Url(
                "https://hn.algolia.com/api/v1/search?tags=front_page".into()
            )))
        );
    }

    #[test]
    fn a_reddit_403_says_reddit_refused_an_anonymous_client() {
        let error = FetchError::Status {
            status: 403,
            url: "www.reddit.com/r/rust/.rss".into(),
            retry_after: None,
            retry_after_secs: None,
            bot_challenge: false,
        };
        assert!(
            error.to_string().starts_with(
                "HTTP 403 from www.reddit.com/r/rust/.rss: Reddit refused an anonymous client"
            ),
            "{error}"
        );
        assert_eq!(refusal_hint(403, "example.com/feed"), "");
        assert_eq!(refusal_hint(404, "www.reddit.com/r/x/.rss"), "");
    }

    #[test]
    fn alert_redirect_links_unwrap_to_the_publisher() {
        assert_eq!(
            unwrap_redirect("https://www.google.com/url?rct=j&sa=t&url=https://news.example/story%3Fid%3D7&ct=ga&cd=CAI").as_deref(),
            Some("https://news.example/story?id=7")
        );
        assert_eq!(
            unwrap_redirect("https://www.talkwalker.com/alerts/redirect?url=https%3A%2F%2Fpaper.example%2Fa&id=1").as_deref(),
            Some("https://paper.example/a")
        );
        assert_eq!(
            unwrap_redirect("https://news.example/url?url=https://x.example/"),
            None
        );
        assert_eq!(
            unwrap_redirect("https://www.google.com/url?url=javascript:alert(1)"),
            None
        );
        assert_eq!(unwrap_redirect("https://www.google.com/search?q=x"), None);
    }

    fn google_news_id(url: &str) -> String {
        use base64::Engine as _;
        let mut bytes = vec![0x08, 0x13, 0x22];
        let len = url.len();
        if len < 128 {
            bytes.push(len as u8);
        } else {
            bytes.push((len & 0x7f) as u8 | 0x80);
            bytes.push((len >> 7) as u8);
        }
        bytes.extend_from_slice(url.as_bytes());
        bytes.extend_from_slice(&[0xd2, 0x01, 0x00]);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn google_news_article_links_give_the_publisher_url_where_they_carry_it() {
        let short = "https://www.theverge.com/2026/11/29/gemini-4";
        let link = format!(
            "https://news.google.com/rss/articles/{}?oc=5",
            google_news_id(short)
        );
        assert_eq!(unwrap_redirect(&link).as_deref(), Some(short));
        let long = format!("https://paper.example/{}", "a".repeat(150));
        let link = format!(
            "https://news.google.com/rss/articles/{}",
            google_news_id(&long)
        );
        assert_eq!(unwrap_redirect(&link), Some(long));
        // New-style ids hold an opaque key: kept as they are.
        assert_eq!(
            unwrap_redirect("https://news.google.com/rss/articles/CBMiK0FVX3lxTE1hYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk?oc=5"),
            None
        );
        assert_eq!(unwrap_redirect("https://news.google.com/topics/abc"), None);
    }
}
