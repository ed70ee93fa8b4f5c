//! Fetching a source's bytes: HTTP(S) with conditional GET, size and time limits, redirects
//! followed by hand (so every hop passes the address guard), per-host politeness, and local
//! files read under the same cap.
//!
//! The fetcher returns raw bytes and what the server said about them (validators, when to come
//! back); it never parses, and it never decides back-off — the caller does, from
//! [`FetchError`]'s `status`, `retry_after` and `is_gone`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use futures::StreamExt as _;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{redirect, Client, StatusCode};
use tokio::io::AsyncReadExt as _;
use tokio::sync::Semaphore;
use url::Url;

use super::address::{self, DnsLookupFailed, ForbiddenAddress, GuardedResolver, UncheckedResolver};

/// Server freshness hints (`Cache-Control: max-age`, `Expires`) are capped at this: some servers
/// send max-age of years, which would silence a source for good.
pub const MAX_CACHE_HINT: TimeDelta = TimeDelta::hours(5);

/// `Retry-After` is honoured up to this. A broken server answering "come back in 10 years" must
/// not pause a host for longer than the caller's own longest back-off.
pub const MAX_RETRY_AFTER: TimeDelta = TimeDelta::hours(24);

/// What we ask for: feeds first, then any XML/JSON, then anything (some servers answer
/// `text/html` for perfectly good RSS).
const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
                      application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5";

/// Limits for every fetch (from config `[fetch]`).
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// Total time for one HTTP request, from sending it to the last body byte.
    pub timeout: Duration,
    /// Time to establish the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Body cap, counted after decompression so a gzip bomb cannot get past it.
    pub max_body_bytes: u64,
    /// Redirect hops followed before giving up.
    pub max_redirects: u8,
    /// Requests in flight to one host at once.
    pub per_host_concurrency: usize,
    /// Requests in flight overall.
    pub concurrency: usize,
    pub user_agent: String,
    /// Reddit app credentials (from the environment): requests to Reddit's OAuth API carry
    /// a token.
    pub reddit: Option<super::reddit_auth::RedditCredentials>,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 15 * 1024 * 1024,
            max_redirects: 5,
            per_host_concurrency: 2,
            concurrency: 16,
            user_agent: concat!(
                "newshound/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/newshound)"
            )
            .to_owned(),
            reddit: None,
        }
    }
}

/// Which addresses a fetch may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Sources from the operator's config: anything, including loopback, the LAN and local
    /// files (self-hosters and tests need it).
    AllowPrivate,
    /// Sources added by Discord users: public http(s) addresses only, checked on every hop and
    /// for every resolved address.
    PublicOnly,
}

/// HTTP cache validators from a 200, sent back verbatim on the next fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What the server asked about the next poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// Do not poll before this: the latest of `Retry-After`, and `Cache-Control: max-age` (or
    /// `Expires` when there is no max-age) capped at [`MAX_CACHE_HINT`]. `None` when the
    /// server said nothing, or nothing in the future.
    pub not_before: Option<DateTime<Utc>>,
    /// The response's `Link` header values (a WebSub hub may be announced there).
    pub links: Vec<String>,
}

#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one outcome per fetch, moved once to the caller; boxing would only add an allocation"
)]
pub enum FetchOutcome {
    /// 304: the stored copy is current; nothing to parse.
    NotModified {
        hints: Hints,
    },
    Fetched(Fetched),
}

#[derive(Debug)]
pub struct Fetched {
    /// Raw bytes, decompressed, at most `max_body_bytes`. Never decoded to text here.
    pub body: Vec<u8>,
    /// The URL the body came from after redirects (base for relative links); `None` for files.
    pub final_url: Option<Url>,
    pub content_type: Option<String>,
    /// Empty for local files (the caller hashes the body instead).
    pub validators: Validators,
    pub hints: Hints,
    /// Set when the fetch was redirected and **every** hop was 301/308. The caller should
    /// replace the stored URL only once the body has proved to be a feed.
    pub permanent_redirect: Option<Url>,
}

/// Why a fetch failed. The `Display` is shown to admins and users as-is: it names the host or
/// path (never headers, query strings or credentials) and, where it helps, the setting to change.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The location is neither an http(s) URL nor an absolute file path.
    #[error("`{location}` is not an http(s) URL or an absolute file path ({reason})")]
    InvalidLocation { location: String, reason: String },
    /// The address guard refused the URL, a redirect target, or a resolved address.
    #[error(transparent)]
    Blocked(#[from] ForbiddenAddress),
    /// The host asked us to back off (429/503 with `Retry-After`); no request was sent.
    #[error(
        "not contacting {host} until {} UTC: it asked us to slow down (HTTP 429/503 with Retry-After)",
        .until.format("%Y-%m-%d %H:%M:%S")
    )]
    HostPaused { host: String, until: DateTime<Utc> },
    /// Any 4xx/5xx (other than 410) or an unusable 3xx.
    #[error(
        "HTTP {status} from {url}{}{}{}",
        retry_suffix(*.retry_after_secs),
        if *.bot_challenge { CHALLENGE_HINT } else { "" },
        crate::sources::shorthand::refusal_hint(*.status, .url)
    )]
    Status {
        status: u16,
        /// Host and path of the URL that answered.
        url: String,
        retry_after: Option<DateTime<Utc>>,
        /// `retry_after` as seconds from the fetch's `now`, kept for the message.
        retry_after_secs: Option<i64>,
        /// The answer was a bot challenge page (Cloudflare's "Just a moment..." and the like).
        bot_challenge: bool,
    },
    /// 410: the publisher says the feed is gone for good.
    #[error("HTTP 410 Gone from {url}: the publisher removed this feed; remove the source or give it a new URL")]
    Gone { url: String },
    #[error("timed out after {} (limit fetch.timeout_secs)", secs(*.after))]
    Timeout { after: Duration },
    #[error(
        "could not connect to {host} within {} (limit fetch.connect_timeout_secs)",
        secs(*.after)
    )]
    ConnectTimeout { host: String, after: Duration },
    #[error("body larger than {} (limit fetch.max_body_bytes)", bytes(*.limit))]
    TooLarge { limit: u64 },
    #[error("redirect loop at {url}")]
    RedirectLoop { url: String },
    #[error("more than {max} redirects (limit fetch.max_redirects)")]
    TooManyRedirects { max: u8 },
    /// A 3xx whose `Location` is missing or not a URL.
    #[error("HTTP {status} redirect from {url} has no usable Location header ({reason})")]
    BadRedirect {
        status: u16,
        url: String,
        reason: String,
    },
    #[error("connection refused by {host}: is the server running, and is the port right?")]
    ConnectionRefused { host: String },
    #[error("DNS lookup failed for {host}: {detail}")]
    Dns { host: String, detail: String },
    #[error("TLS error talking to {host}: {detail}")]
    Tls { host: String, detail: String },
    #[error("could not connect to {host}: {detail}")]
    Connect { host: String, detail: String },
    /// The connection broke or the body could not be decompressed.
    #[error("network error talking to {host}: {detail}")]
    Network { host: String, detail: String },
    #[error("file not found: {}", .path.display())]
    FileNotFound { path: PathBuf },
    #[error("cannot read {}: {detail}", .path.display())]
    FileRead { path: PathBuf, detail: String },
}

impl FetchError {
    /// 410 Gone: stop polling this source.
    pub fn is_gone(&self) -> bool {
        matches!(self, FetchError::Gone { .. })
    }

    /// When the server (or an earlier answer from the same host) said to come back.
    pub fn retry_after(&self) -> Option<DateTime<Utc>> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            FetchError::HostPaused { until, .. } => Some(*until),
            _ => None,
        }
    }

    /// The HTTP status the server answered this request with, if it got that far.
    /// `HostPaused` has none: no request was sent.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } | FetchError::BadRedirect { status, .. } => {
                Some(*status)
            }
            FetchError::Gone { .. } => Some(410),
            _ => None,
        }
    }
}

/// Appended to a 403/429/503 whose body is a bot challenge: retrying will not get past it.
const CHALLENGE_HINT: &str = ": the site answered with a bot challenge page (such as Cloudflare's \
     \"Just a moment...\"), which newshound cannot pass — ask the site for a feed URL that bots \
     may read, or remove the source";

/// How much of an error page is read to recognise a bot challenge.
const CHALLENGE_SNIFF_BYTES: usize = 16 * 1024;

/// Whether an error answer is a bot challenge: Cloudflare's `cf-mitigated: challenge` header,
/// or the start of the page (`body_start`) naming a challenge.
fn is_bot_challenge(headers: &HeaderMap, body_start: &[u8]) -> bool {
    if headers
        .get("cf-mitigated")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"challenge"))
    {
        return true;
    }
    let text = String::from_utf8_lossy(body_start).to_ascii_lowercase();
    [
        "<title>just a moment...</title>",
        "/cdn-cgi/challenge-platform/",
        "attention required! | cloudflare",
        "enable javascript and cookies to continue",
    ]
    .iter()
    .any(|marker| text.contains(marker))
}

fn retry_suffix(secs: Option<i64>) -> String {
    secs.map_or_else(String::new, |s| format!(" (retry after {s} s)"))
}

/// "30 s", "1.5 s", "250 ms".
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// "15 MiB", "512 KiB", "1000 bytes".
fn bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n % MIB == 0 {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n % KIB == 0 {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

/// Fetches sources. Cheap to clone; clones share clients, limits and host pauses.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    settings: FetchSettings,
    /// For `AllowPrivate`: no address checks; honours the usual proxy environment variables.
    permissive: Client,
    /// For `PublicOnly`: every resolved address checked, and never a proxy (a proxy would
    /// resolve the name itself, out of the guard's sight).
    guarded: Client,
    global: Arc<Semaphore>,
    per_host: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Hosts that answered 429/503 with Retry-After, and until when to leave them alone.
    paused: Mutex<HashMap<String, DateTime<Utc>>>,
    reddit: Option<super::reddit_auth::RedditAuth>,
}

/// Which hops of a redirect chain the address guard checks under `PublicOnly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstHop {
    Checked,
    /// Only tests use this: loopback servers stand in for public ones, and the guard must
    /// still catch the redirect that follows.
    #[cfg(test)]
    Trusted,
}

/// One hop's result.
#[expect(
    clippy::large_enum_variant,
    reason = "one per request, matched at once; boxing would only add an allocation"
)]
enum Hop {
    Done(FetchOutcome),
    Redirect { status: StatusCode, to: Url },
}

impl Fetcher {
    pub fn new(settings: FetchSettings) -> anyhow::Result<Self> {
        let permissive = build_client(&settings, AddressPolicy::AllowPrivate)
            .context("building the HTTP client")?;
        let guarded = build_client(&settings, AddressPolicy::PublicOnly)
            .context("building the guarded HTTP client")?;
        // Zero permits would hang every fetch forever; config validation should prevent it, but
        // a hang is the worst way to find out.
        let global = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        let reddit = settings
            .reddit
            .clone()
            .map(super::reddit_auth::RedditAuth::new);
        Ok(Self {
            inner: Arc::new(Inner {
                reddit,
                settings,
                permissive,
                guarded,
                global,
                per_host: Mutex::new(HashMap::new()),
                paused: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The permissive client (no address guard, redirects not followed), for reuse elsewhere.
    pub fn client(&self) -> reqwest::Client {
        self.inner.permissive.clone()
    }

    /// Fetches `location`: an http(s) URL, or an absolute local file path (plain or `file://`,
    /// `AllowPrivate` only). `validators` come from the previous 200 and make the request
    /// conditional; `now` is the time hints and pauses are computed against.
    pub async fn fetch(
        &self,
        location: &str,
        validators: &Validators,
        policy: AddressPolicy,
        now: DateTime<Utc>,
    ) -> Result<FetchOutcome, FetchError> {
        match parse_location(location)? {
            Target::Url(url) => {
                self.fetch_url(url, validators, policy, FirstHop::Checked, now)
                    .await
            }
            Target::File(path) => {
                if policy == AddressPolicy::PublicOnly {
                    return Err(ForbiddenAddress::Scheme {
                        scheme: "file".into(),
                    }
                    .into());
                }
                self.fetch_file(&path).await
            }
        }
    }

    /// POSTs `form` to `url` (a WebSub hub) under the same address policy, time limit and
    /// host pauses as a fetch; redirects are not followed. `Ok` for any 2xx; else what the
    /// server answered, in words an admin can act on.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&'static str, String)],
        policy: AddressPolicy,
    ) -> Result<(), String> {
        let client = match policy {
            AddressPolicy::AllowPrivate => &self.inner.permissive,
            AddressPolicy::PublicOnly => {
                address::check_url(url).map_err(|e| e.to_string())?;
                &self.inner.guarded
            }
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("the hub {} is not an http(s) URL", label(url)));
        }
        let settings = &self.inner.settings;
        let send = client.post(url.clone()).form(form).send();
        let response = match tokio::time::timeout(settings.timeout, send).await {
            Err(_) => return Err(format!("the hub {} did not answer in time", label(url))),
            Ok(Err(e)) => return Err(classify(e, url, settings).to_string()),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // A hub says why in a short text body; read a little of it, never more.
        let mut reason = String::new();
        let mut response = response;
        while let Ok(Some(chunk)) = response.chunk().await {
            reason.push_str(&String::from_utf8_lossy(&chunk));
            if reason.len() > 300 {
                break;
            }
        }
        let reason: String = reason.trim().chars().take(200).collect();
        Err(format!(
            "the hub {} answered {status}: {reason}",
            label(url)
        ))
    }

    async fn fetch_url(
        &self,
        url: Url,
        validators: &Validators,
        policy: AddressPolicy,
        first_hop: FirstHop,
        now: DateTime<Utc>,
    ) -> Result<FetchOutcome, FetchError> {
        let settings = &self.inner.settings;
        let client = match policy {
            AddressPolicy::AllowPrivate => &self.inner.permissive,
            AddressPolicy::PublicOnly => &self.inner.guarded,
        };
        // The global permit is held for the whole chain; waiting for it is not part of the
        // request's time limit.
        let _global = self
            .inner
            .global
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| closed())?;

        let mut current = url;
        current.set_fragment(None);
        let mut visited = vec![current.clone()];
        let mut all_permanent = true;
        let mut hops: u8 = 0;
        loop {
            let guard_this_hop =
                policy == AddressPolicy::PublicOnly && (hops > 0 || first_hop == FirstHop::Checked);
            if guard_this_hop {
                address::check_url(&current)?;
            } else if !matches!(current.scheme(), "http" | "https") {
                // Even trusted sources never follow a redirect to file: or ftp:.
                return Err(ForbiddenAddress::Scheme {
                    scheme: current.scheme().to_owned(),
                }
                .into());
            }
            let host = host_key(&current);
            self.check_paused(&host, now)?;
            // Taken per hop and released before the next, so two chains crossing between
            // the same hosts cannot wait on each other forever.
            let _host_permit = self
                .host_semaphore(&host)
                .acquire_owned()
                .await
                .map_err(|_| closed())?;

            let hop = with_timeout(
                settings.timeout,
                self.one_hop(client, &current, validators, &host, now),
            )
            .await?;
            match hop {
                Hop::Done(FetchOutcome::Fetched(mut fetched)) => {
                    if hops > 0 && all_permanent {
                        fetched.permanent_redirect = Some(current.clone());
                    }
                    fetched.final_url = Some(current);
                    return Ok(FetchOutcome::Fetched(fetched));
                }
                Hop::Done(not_modified) => return Ok(not_modified),
                Hop::Redirect { status, mut to } => {
                    to.set_fragment(None);
                    if visited.contains(&to) {
                        return Err(FetchError::RedirectLoop { url: label(&to) });
                    }
                    hops += 1;
                    if hops > settings.max_redirects {
                        return Err(FetchError::TooManyRedirects {
                            max: settings.max_redirects,
                        });
                    }
                    all_permanent &= matches!(
                        status,
                        StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                    );
                    tracing::debug!(from = %label(&current), to = %label(&to), %status, "redirect");
                    visited.push(to.clone());
                    current = to;
                }
            }
        }
    }

    /// One request: send, then either read the body, or report where the redirect points.
    async fn one_hop(
        &self,
        client: &Client,
        url: &Url,
        validators: &Validators,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Hop, FetchError> {
        let mut request = client.get(url.clone()).headers(request_headers(validators));
        let reddit = self.inner.reddit.as_ref().filter(|a| a.applies_to(url));
        if let Some(auth) = reddit {
            let token = auth
                .bearer(&self.inner.permissive, self.inner.settings.timeout)
                .await
                .map_err(|detail| FetchError::Network {
                    host: host.to_string(),
                    detail,
                })?;
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|err| classify(err, url, &self.inner.settings))?;
        let status = response.status();
        if let (Some(auth), StatusCode::UNAUTHORIZED) = (reddit, status) {
            // Revoked or expired early: the next request asks for a new one.
            auth.invalidate().await;
        }
        let headers = response.headers();
        let hints = hints_from_headers(headers, now);
        tracing::debug!(url = %label(url), %status, "fetched headers");

        if matches!(
            status,
            StatusCode::MOVED_PERMANENTLY
                | StatusCode::FOUND
                | StatusCode::SEE_OTHER
                | StatusCode::TEMPORARY_REDIRECT
                | StatusCode::PERMANENT_REDIRECT
        ) {
            let to = redirect_target(url, status, headers)?;
            return Ok(Hop::Redirect { status, to });
        }
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Hop::Done(FetchOutcome::NotModified { hints }));
        }
        if status == StatusCode::GONE {
            return Err(FetchError::Gone { url: label(url) });
        }
        if !status.is_success() {
            let retry_after = headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, now));
            if let Some(until) = retry_after {
                if matches!(
                    status,
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                ) {
                    self.pause_host(host, until);
                }
            }
            let bot_challenge = if matches!(status.as_u16(), 403 | 429 | 503) {
                let headers = headers.clone();
                let start = read_start(response, CHALLENGE_SNIFF_BYTES).await;
                is_bot_challenge(&headers, &start)
            } else {
                false
            };
            return Err(FetchError::Status {
                status: status.as_u16(),
                url: label(url),
                retry_after,
                retry_after_secs: retry_after.map(|t| (t - now).num_seconds()),
                bot_challenge,
            });
        }

        let validators = Validators {
            etag: header_string(headers, &header::ETAG),
            last_modified: header_string(headers, &header::LAST_MODIFIED),
        };
        let content_type = header_string(headers, &header::CONTENT_TYPE);
        let body = self.read_body(response, url).await?;
        Ok(Hop::Done(FetchOutcome::Fetched(Fetched {
            body,
            final_url: None,
            content_type,
            validators,
            hints,
            permanent_redirect: None,
        })))
    }

    /// Reads the body as a stream and stops as soon as it passes the cap. The stream is
    /// already decompressed, so the count is of what we would have to hold, not of what the
    /// network carried.
    async fn read_body(
        &self,
        response: reqwest::Response,
        url: &Url,
    ) -> Result<Vec<u8>, FetchError> {
        let settings = &self.inner.settings;
        let limit = settings.max_body_bytes;
        // Content-Length is of the encoded body; decoded is rarely smaller, so a declared
        // length over the cap fails early without downloading anything.
        let declared = response.content_length();
        if declared.is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let capacity = declared.unwrap_or(0).min(limit);
        let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| classify(err, url, settings))?;
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    async fn fetch_file(&self, path: &Path) -> Result<FetchOutcome, FetchError> {
        let limit = self.inner.settings.max_body_bytes;
        let read = async {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|err| file_error(path, &err))?;
            let meta = file
                .metadata()
                .await
                .map_err(|err| file_error(path, &err))?;
            if meta.is_dir() {
                return Err(FetchError::FileRead {
                    path: path.to_owned(),
                    detail: "it is a directory, not a file".into(),
                });
            }
            if meta.len() > limit {
                return Err(FetchError::TooLarge { limit });
            }
            // Read one byte past the cap, so a file that grew since `metadata` (or a FIFO)
            // is still caught.
            let mut body = Vec::new();
            file.take(limit + 1)
                .read_to_end(&mut body)
                .await
                .map_err(|err| file_error(path, &err))?;
            if body.len() as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            Ok(body)
        };
        let body = with_timeout(self.inner.settings.timeout, read).await?;
        Ok(FetchOutcome::Fetched(Fetched {
            body,
            final_url: None,
            content_type: None,
            validators: Validators::default(),
            hints: Hints::default(),
            permanent_redirect: None,
        }))
    }

    fn host_semaphore(&self, host: &str) -> Arc<Semaphore> {
        let mut map = self
            .inner
            .per_host
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let permits = self.inner.settings.per_host_concurrency.max(1);
        map.entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(permits)))
            .clone()
    }

    fn check_paused(&self, host: &str, now: DateTime<Utc>) -> Result<(), FetchError> {
        let mut paused = self
            .inner
            .paused
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match paused.get(host) {
            Some(&until) if until > now => Err(FetchError::HostPaused {
                host: host.to_owned(),
                until,
            }),
            Some(_) => {
                paused.remove(host);
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn pause_host(&self, host: &str, until: DateTime<Utc>) {
        let mut paused = self
            .inner
            .paused
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = paused.entry(host.to_owned()).or_insert(until);
        // Two concurrent answers: keep the later pause.
        *entry = (*entry).max(until);
        tracing::info!(%host, %until, "host asked us to back off; pausing it");
    }
}

fn closed() -> FetchError {
    // The semaphores are never closed; this only keeps the types honest.
    FetchError::Network {
        host: String::new(),
        detail: "the fetcher is shutting down".into(),
    }
}

/// How long an idle connection to a feed host is kept for the next request.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3);

fn build_client(settings: &FetchSettings, policy: AddressPolicy) -> reqwest::Result<Client> {
    let builder = Client::builder()
        .user_agent(settings.user_agent.clone())
        .redirect(redirect::Policy::none())
        .timeout(settings.timeout)
        .connect_timeout(settings.connect_timeout)
        .gzip(true)
        .brotli(true)
        .deflate(true)
        // No idle connections are kept. A source is polled minutes apart, so a pooled
        // connection is rarely reused before it expires, and each one kept its read buffer
        // (hyper's grows to 128 KB+ for a large feed): with one per host for 3 s, the idle
        // pool was 100-170 MB of a 10,000-source cycle's peak (BENCHMARKS.md, section 3,
        // issue 16). Sources on one host polled in the same tick pay one more handshake each.
        .pool_max_idle_per_host(0)
        .pool_idle_timeout(IDLE_CONNECTION_TIMEOUT);
    match policy {
        AddressPolicy::AllowPrivate => builder.dns_resolver(Arc::new(UncheckedResolver)),
        AddressPolicy::PublicOnly => builder.no_proxy().dns_resolver(Arc::new(GuardedResolver)),
    }
    .build()
}

/// A location resolved to what to read.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Url(Url),
    File(PathBuf),
}

fn parse_location(location: &str) -> Result<Target, FetchError> {
    let invalid = |reason: &str| FetchError::InvalidLocation {
        location: location.to_owned(),
        reason: reason.to_owned(),
    };
    let path = Path::new(location);
    if path.is_absolute() {
        return Ok(Target::File(path.to_owned()));
    }
    match Url::parse(location) {
        Ok(url) if url.scheme() == "file" => url
            .to_file_path()
            .map(Target::File)
            .map_err(|()| invalid("a file: URL must name an absolute local path")),
        Ok(url) => Ok(Target::Url(url)),
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            Err(invalid("relative paths must be made absolute first"))
        }
        Err(err) => Err(invalid(&err.to_string())),
    }
}

fn request_headers(validators: &Validators) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
    // A stored validator that is not a legal header value (the server sent junk) is dropped:
    // an unconditional fetch is always correct, just slower.
    if let Some(etag) = validators
        .etag
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(header::IF_NONE_MATCH, etag);
    }
    if let Some(date) = validators
        .last_modified
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(header::IF_MODIFIED_SINCE, date);
    }
    headers
}

fn redirect_target(url: &Url, status: StatusCode, headers: &HeaderMap) -> Result<Url, FetchError> {
    let bad = |reason: String| FetchError::BadRedirect {
        status: status.as_u16(),
        url: label(url),
        reason,
    };
    let location = headers
        .get(header::LOCATION)
        .ok_or_else(|| bad("no Location header".into()))?;
    // Location should be ASCII, but servers send raw UTF-8; `Url::join` percent-encodes it.
    let location = std::str::from_utf8(location.as_bytes())
        .map_err(|_| bad("Location is not UTF-8".into()))?;
    url.join(location.trim())
        .map_err(|err| bad(format!("`{location}`: {err}")))
}

/// `host:port`, the unit of politeness (semaphores and pauses).
fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Host and path for messages: no credentials, no query string (it may carry a token).
fn label(url: &Url) -> String {
    let mut out = authority(url);
    if url.path() != "/" {
        out.push_str(url.path());
    }
    out
}

/// Host, and the port when the URL spells one out.
fn authority(url: &Url) -> String {
    let mut out = url.host_str().unwrap_or("").to_owned();
    if let Some(port) = url.port() {
        let _ = write!(out, ":{port}");
    }
    out
}

/// Up to `limit` bytes from the start of a body; whatever arrived if it breaks off.
async fn read_start(response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        out.extend_from_slice(&chunk[..chunk.len().min(limit - out.len())]);
        if out.len() >= limit {
            break;
        }
    }
    out
}

fn header_string(headers: &HeaderMap, name: &header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

async fn with_timeout<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, FetchError>>,
) -> Result<T, FetchError> {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or(Err(FetchError::Timeout { after: limit }))
}

fn file_error(path: &Path, err: &io::Error) -> FetchError {
    if err.kind() == io::ErrorKind::NotFound {
        FetchError::FileNotFound {
            path: path.to_owned(),
        }
    } else {
        FetchError::FileRead {
            path: path.to_owned(),
            detail: err.to_string(),
        }
    }
}

/// Turns a reqwest error into the failure kind a user can act on. reqwest's own `Display`
/// includes the full URL (query strings can hold tokens), so only the root cause's text is kept.
fn classify(err: reqwest::Error, url: &Url, settings: &FetchSettings) -> FetchError {
    let err = err.without_url();
    let host = authority(url);

    let mut root: &(dyn std::error::Error + 'static) = &err;
    let mut refused = false;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = cause {
        if let Some(forbidden) = e.downcast_ref::<ForbiddenAddress>() {
            return FetchError::Blocked(forbidden.clone());
        }
        if let Some(dns) = e.downcast_ref::<DnsLookupFailed>() {
            return FetchError::Dns {
                host: dns.host.clone(),
                detail: dns.source.to_string(),
            };
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            refused |= io.kind() == io::ErrorKind::ConnectionRefused;
        }
        root = e;
        cause = e.source();
    }
    let detail = root.to_string();

    if err.is_timeout() {
        return if err.is_connect() {
            FetchError::ConnectTimeout {
                host,
                after: settings.connect_timeout,
            }
        } else {
            FetchError::Timeout {
                after: settings.timeout,
            }
        };
    }
    if refused {
        return FetchError::ConnectionRefused { host };
    }
    if err.is_connect() {
        // With TCP up (not refused, not timed out), an https connect failure is the TLS
        // handshake: rustls reports it as InvalidData with its own message as the root.
        let tls_words = [
            "tls",
            "certificate",
            "handshake",
            "corrupt message",
            "alert",
        ];
        let lower = detail.to_ascii_lowercase();
        if url.scheme() == "https" && tls_words.iter().any(|w| lower.contains(w)) {
            return FetchError::Tls { host, detail };
        }
        return FetchError::Connect { host, detail };
    }
    FetchError::Network { host, detail }
}

/// Freshness and back-off hints from a response's headers, relative to `now`.
pub fn hints_from_headers(headers: &HeaderMap, now: DateTime<Utc>) -> Hints {
    let text = |name: &header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let retry = text(&header::RETRY_AFTER).and_then(|v| parse_retry_after(v, now));
    // max-age wins over Expires (RFC 9111 §5.3).
    let fresh = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(cache_control_max_age)
        .map(|age| now + TimeDelta::seconds(age.min(MAX_CACHE_HINT.num_seconds())))
        .or_else(|| {
            text(&header::EXPIRES)
                .and_then(parse_http_date)
                .map(|t| t.min(now + MAX_CACHE_HINT))
        });
    let not_before = retry.max(fresh).filter(|t| *t > now);
    let links = headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .take(8)
        .map(str::to_string)
        .collect();
    Hints { not_before, links }
}

/// `max-age=N` from a `Cache-Control` value. Other directives (`no-cache`, `no-store`,
/// `private`, ...) say nothing about *when* to poll, so they are ignored.
fn cache_control_max_age(value: &str) -> Option<i64> {
    value.split(',').find_map(|directive| {
        let (name, arg) = directive.trim().split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        arg.trim()
            .trim_matches('"')
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
    })
}

/// `Retry-After`: delay in seconds, or an HTTP date. Capped at [`MAX_RETRY_AFTER`]; `None` when
/// unparseable or not in the future.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = value.trim();
    let at = if let Ok(seconds) = value.parse::<u64>() {
        let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
        now + TimeDelta::seconds(seconds.min(MAX_RETRY_AFTER.num_seconds()))
    } else {
        parse_http_date(value)?.min(now + MAX_RETRY_AFTER)
    };
    (at > now).then_some(at)
}

/// An HTTP date in any of the three forms RFC 9110 says recipients must accept.
pub fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc2822(value) {
        return Some(t.with_timezone(&Utc));
    }
    // RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994").
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use tokio::io::AsyncWriteExt as _;
    use tokio::net::TcpListener;
    use wiremock::matchers::{header as has_header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap()
    }

    fn fetcher_with(edit: impl FnOnce(&mut FetchSettings)) -> Fetcher {
        let mut settings = FetchSettings {
            timeout: Duration::from_secs(10),
            ..FetchSettings::default()
        };
        edit(&mut settings);
        Fetcher::new(settings).unwrap()
    }

    fn fetcher() -> Fetcher {
        fetcher_with(|_| {})
    }

    async fn get(fetcher: &Fetcher, url: &str) -> Result<FetchOutcome, FetchError> {
        fetcher
            .fetch(
                url,
                &Validators::default(),
                AddressPolicy::AllowPrivate,
                now(),
            )
            .await
    }

    fn fetched(outcome: FetchOutcome) -> Fetched {
        match outcome {
            FetchOutcome::Fetched(f) => f,
            FetchOutcome::NotModified { .. } => panic!("expected a body, got 304"),
        }
    }

    async fn respond(server: &MockServer, at: &str, template: ResponseTemplate) {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(template)
            .mount(server)
            .await;
    }

    fn redirect(status: u16, to: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).insert_header("location", to)
    }

    async fn request_count(server: &MockServer) -> usize {
        server.received_requests().await.unwrap().len()
    }

    /// A hub named by a feed is untrusted: under `PublicOnly` a private address is refused
    /// before any request, like a fetch; an allowed hub's refusal says what it answered.
    #[tokio::test]
    async fn hub_requests_are_address_checked_and_report_refusals() {
        let hub = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hub"))
            .respond_with(ResponseTemplate::new(422).set_body_string("hub.topic is not allowed"))
            .mount(&hub)
            .await;
        let fetcher = Fetcher::new(FetchSettings::default()).unwrap();
        let url = Url::parse(&format!("{}/hub", hub.uri())).unwrap();
        let form = [("hub.mode", "subscribe".to_string())];
        let refused = fetcher
            .post_form(&url, &form, AddressPolicy::PublicOnly)
            .await
            .unwrap_err();
        assert!(refused.contains("blocked"), "{refused}");
        assert!(
            hub.received_requests().await.unwrap_or_default().is_empty(),
            "nothing was sent to a private address"
        );
        let answered = fetcher
            .post_form(&url, &form, AddressPolicy::AllowPrivate)
            .await
            .unwrap_err();
        assert!(
            answered.contains("422") && answered.contains("hub.topic is not allowed"),
            "{answered}"
        );
    }

    #[tokio::test]
    async fn etag_is_returned_and_sent_back_and_304_means_not_modified() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/feed"))
            .and(has_header("if-none-match", "\"v1\""))
            .respond_with(ResponseTemplate::new(304).insert_header("etag", "\"v1\""))
            .mount(&server)
            .await;
        respond(
            &server,
            "/feed",
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .set_body_raw("<rss/>", "application/rss+xml"),
        )
        .await;
        let fetcher = fetcher();
        let url = format!("{}/feed", server.uri());

        let first = fetched(get(&fetcher, &url).await.unwrap());
        assert_eq!(first.body, b"<rss/>");
        assert_eq!(first.validators.etag.as_deref(), Some("\"v1\""));
        assert_eq!(first.content_type.as_deref(), Some("application/rss+xml"));
        assert_eq!(first.final_url.unwrap().as_str(), url);

        let second = fetcher
            .fetch(&url, &first.validators, AddressPolicy::AllowPrivate, now())
            .await
            .unwrap();
        assert!(matches!(second, FetchOutcome::NotModified { .. }));

        let requests = server.received_requests().await.unwrap();
        assert!(requests[0].headers.get("if-none-match").is_none());
        assert_eq!(requests[1].headers["if-none-match"], "\"v1\"");
    }

    #[tokio::test]
    async fn last_modified_is_returned_and_sent_back_verbatim() {
        let stamp = "Wed, 21 Oct 2015 07:28:00 GMT";
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            // wiremock's `header` matcher splits values on commas, which dates contain.
            .and(move |request: &wiremock::Request| {
                request
                    .headers
                    .get("if-modified-since")
                    .is_some_and(|v| v == stamp)
            })
            .respond_with(ResponseTemplate::new(304))
            .mount(&server)
            .await;
        respond(
            &server,
            "/feed",
            ResponseTemplate::new(200)
                .insert_header("last-modified", stamp)
                .set_body_string("x"),
        )
        .await;
        let fetcher = fetcher();
        let url = format!("{}/feed", server.uri());

        let first = fetched(get(&fetcher, &url).await.unwrap());
        assert_eq!(first.validators.last_modified.as_deref(), Some(stamp));
        assert_eq!(first.validators.etag, None);
        let second = fetcher
            .fetch(&url, &first.validators, AddressPolicy::AllowPrivate, now())
            .await
            .unwrap();
        assert!(matches!(second, FetchOutcome::NotModified { .. }));
    }

    #[tokio::test]
    async fn requests_identify_us_and_prefer_feeds() {
        let server = MockServer::start().await;
        respond(&server, "/", ResponseTemplate::new(200)).await;
        get(&fetcher(), &server.uri()).await.unwrap();
        let request = &server.received_requests().await.unwrap()[0];
        let agent = request.headers["user-agent"].to_str().unwrap();
        assert!(agent.starts_with("newshound/"), "{agent}");
        let accept = request.headers["accept"].to_str().unwrap();
        assert!(accept.starts_with("application/rss+xml"), "{accept}");
    }

    #[tokio::test]
    async fn server_error_reports_status_and_host_without_query() {
        let server = MockServer::start().await;
        respond(&server, "/feed", ResponseTemplate::new(500)).await;
        let err = get(&fetcher(), &format!("{}/feed?token=hunter2", server.uri()))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(500));
        assert_eq!(err.retry_after(), None);
        assert!(!err.is_gone());
        let port = server.address().port();
        assert_eq!(
            err.to_string(),
            format!("HTTP 500 from 127.0.0.1:{port}/feed")
        );
    }

    #[tokio::test]
    async fn too_many_requests_with_retry_seconds_pauses_the_host() {
        let server = MockServer::start().await;
        respond(
            &server,
            "/a",
            ResponseTemplate::new(429).insert_header("retry-after", "120"),
        )
        .await;
        respond(
            &server,
            "/b",
            ResponseTemplate::new(200).set_body_string("b"),
        )
        .await;
        let fetcher = fetcher();

        let err = get(&fetcher, &format!("{}/a", server.uri()))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(429));
        assert_eq!(err.retry_after(), Some(now() + TimeDelta::seconds(120)));
        assert!(err.to_string().ends_with("(retry after 120 s)"), "{err}");

        // Another URL on the same host: refused without a request.
        let paused = get(&fetcher, &format!("{}/b", server.uri()))
            .await
            .unwrap_err();
        assert!(matches!(paused, FetchError::HostPaused { .. }), "{paused}");
        assert_eq!(paused.retry_after(), Some(now() + TimeDelta::seconds(120)));
        assert_eq!(request_count(&server).await, 1);

        // Once the pause is over the host is contacted again.
        let later = fetcher
            .fetch(
                &format!("{}/b", server.uri()),
                &Validators::default(),
                AddressPolicy::AllowPrivate,
                now() + TimeDelta::seconds(121),
            )
            .await
            .unwrap();
        assert_eq!(fetched(later).body, b"b");
    }

    #[tokio::test]
    async fn service_unavailable_with_http_date_retry_after() {
        let until = now() + TimeDelta::hours(1);
        let server = MockServer::start().await;
        respond(
            &server,
            "/",
            ResponseTemplate::new(503).insert_header(
                "retry-after",
                until.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            ),
        )
        .await;
        let fetcher = fetcher();
        let err = get(&fetcher, &server.uri()).await.unwrap_err();
        assert_eq!(err.status(), Some(503));
        assert_eq!(err.retry_after(), Some(until));
        assert!(err.to_string().ends_with("(retry after 3600 s)"), "{err}");
        assert!(matches!(
            get(&fetcher, &server.uri()).await,
            Err(FetchError::HostPaused { .. })
        ));
    }

    #[tokio::test]
    async fn other_errors_with_retry_after_do_not_pause_the_host() {
        let server = MockServer::start().await;
        respond(
            &server,
            "/",
            ResponseTemplate::new(500).insert_header("retry-after", "60"),
        )
        .await;
        let fetcher = fetcher();
        for _ in 0..2 {
            let err = get(&fetcher, &server.uri()).await.unwrap_err();
            assert_eq!(err.status(), Some(500));
        }
        assert_eq!(request_count(&server).await, 2);
    }

    #[tokio::test]
    async fn cloudflare_challenge_page_is_named_in_the_error() {
        let server = MockServer::start().await;
        let page = "<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>";
        respond(
            &server,
            "/",
            ResponseTemplate::new(403).set_body_string(page),
        )
        .await;
        respond(
            &server,
            "/plain",
            ResponseTemplate::new(403).set_body_string("Forbidden"),
        )
        .await;
        let err = get(&fetcher(), &server.uri()).await.unwrap_err();
        assert_eq!(err.status(), Some(403));
        assert!(err.to_string().contains("bot challenge page"), "{err}");
        let err = get(&fetcher(), &format!("{}/plain", server.uri()))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "HTTP 403 from {}/plain",
                authority(&Url::parse(&server.uri()).unwrap())
            )
        );
    }

    #[tokio::test]
    async fn gone_is_reported_as_gone() {
        let server = MockServer::start().await;
        respond(&server, "/old", ResponseTemplate::new(410)).await;
        let err = get(&fetcher(), &format!("{}/old", server.uri()))
            .await
            .unwrap_err();
        assert!(err.is_gone());
        assert_eq!(err.status(), Some(410));
        assert!(
            err.to_string().starts_with("HTTP 410 Gone from 127.0.0.1:"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn slow_headers_time_out() {
        let server = MockServer::start().await;
        respond(
            &server,
            "/",
            ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
        )
        .await;
        let fetcher = fetcher_with(|s| s.timeout = Duration::from_secs(1));
        let err = get(&fetcher, &server.uri()).await.unwrap_err();
        assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "timed out after 1 s (limit fetch.timeout_secs)"
        );
    }

    /// A server that sends headers promising a large body, then one byte every 100 ms.
    async fn drip_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n<rss>";
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    while socket.write_all(b" ").await.is_ok() {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                });
            }
        });
        format!("http://{addr}/")
    }

    #[tokio::test]
    async fn slow_drip_body_times_out() {
        let url = drip_server().await;
        let fetcher = fetcher_with(|s| s.timeout = Duration::from_secs(1));
        let err = get(&fetcher, &url).await.unwrap_err();
        assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn redirect_loop_is_detected() {
        let server = MockServer::start().await;
        respond(&server, "/a", redirect(302, "/b")).await;
        respond(&server, "/b", redirect(302, "/a")).await;
        let err = get(&fetcher(), &format!("{}/a", server.uri()))
            .await
            .unwrap_err();
        let port = server.address().port();
        assert_eq!(
            err.to_string(),
            format!("redirect loop at 127.0.0.1:{port}/a")
        );
    }

    async fn chain_server(hops: usize) -> MockServer {
        let server = MockServer::start().await;
        for i in 0..hops {
            respond(
                &server,
                &format!("/r{i}"),
                redirect(302, &format!("/r{}", i + 1)),
            )
            .await;
        }
        respond(
            &server,
            &format!("/r{hops}"),
            ResponseTemplate::new(200).set_body_string("end"),
        )
        .await;
        server
    }

    #[tokio::test]
    async fn redirect_chain_up_to_the_limit_is_followed() {
        let server = chain_server(5).await;
        let got = fetched(
            get(&fetcher(), &format!("{}/r0", server.uri()))
                .await
                .unwrap(),
        );
        assert_eq!(got.body, b"end");
        assert_eq!(got.final_url.unwrap().path(), "/r5");
    }

    #[tokio::test]
    async fn redirect_chain_over_the_limit_fails() {
        let server = chain_server(6).await;
        let err = get(&fetcher(), &format!("{}/r0", server.uri()))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "more than 5 redirects (limit fetch.max_redirects)"
        );
        // The seventh URL is never requested.
        assert_eq!(request_count(&server).await, 6);
    }

    #[tokio::test]
    async fn relative_redirect_is_resolved_against_the_current_url() {
        let server = MockServer::start().await;
        respond(&server, "/blog/old.xml", redirect(302, "new/feed.xml")).await;
        respond(
            &server,
            "/blog/new/feed.xml",
            ResponseTemplate::new(200).set_body_string("moved"),
        )
        .await;
        let got = fetched(
            get(&fetcher(), &format!("{}/blog/old.xml", server.uri()))
                .await
                .unwrap(),
        );
        assert_eq!(got.body, b"moved");
        assert_eq!(got.final_url.unwrap().path(), "/blog/new/feed.xml");
        assert_eq!(got.permanent_redirect, None, "302 is not permanent");
    }

    #[tokio::test]
    async fn all_permanent_redirects_report_the_new_url() {
        let server = MockServer::start().await;
        respond(&server, "/a", redirect(301, "/b")).await;
        respond(&server, "/b", redirect(308, "/c")).await;
        respond(&server, "/c", ResponseTemplate::new(200)).await;
        let got = fetched(
            get(&fetcher(), &format!("{}/a", server.uri()))
                .await
                .unwrap(),
        );
        assert_eq!(
            got.permanent_redirect.unwrap().as_str(),
            format!("{}/c", server.uri())
        );
    }

    #[tokio::test]
    async fn a_temporary_hop_in_the_chain_cancels_the_permanent_redirect() {
        let server = MockServer::start().await;
        respond(&server, "/a", redirect(301, "/b")).await;
        respond(&server, "/b", redirect(302, "/c")).await;
        respond(&server, "/c", redirect(301, "/d")).await;
        respond(&server, "/d", ResponseTemplate::new(200)).await;
        let got = fetched(
            get(&fetcher(), &format!("{}/a", server.uri()))
                .await
                .unwrap(),
        );
        assert_eq!(got.final_url.unwrap().path(), "/d");
        assert_eq!(got.permanent_redirect, None);
    }

    #[tokio::test]
    async fn no_redirect_means_no_permanent_redirect() {
        let server = MockServer::start().await;
        respond(&server, "/", ResponseTemplate::new(200)).await;
        let got = fetched(get(&fetcher(), &server.uri()).await.unwrap());
        assert_eq!(got.permanent_redirect, None);
    }

    #[tokio::test]
    async fn redirect_without_location_is_an_error() {
        let server = MockServer::start().await;
        respond(&server, "/", ResponseTemplate::new(301)).await;
        let err = get(&fetcher(), &server.uri()).await.unwrap_err();
        assert!(
            err.to_string().contains("has no usable Location header"),
            "{err}"
        );
        assert_eq!(err.status(), Some(301));
    }

    #[tokio::test]
    async fn body_at_the_cap_is_accepted_and_one_byte_more_is_refused() {
        let server = MockServer::start().await;
        respond(
            &server,
            "/fits",
            ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 1000]),
        )
        .await;
        respond(
            &server,
            "/big",
            ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 1001]),
        )
        .await;
        let fetcher = fetcher_with(|s| s.max_body_bytes = 1000);
        let fits = fetched(
            get(&fetcher, &format!("{}/fits", server.uri()))
                .await
                .unwrap(),
        );
        assert_eq!(fits.body.len(), 1000);
        let err = get(&fetcher, &format!("{}/big", server.uri()))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "body larger than 1000 bytes (limit fetch.max_body_bytes)"
        );
    }

    #[tokio::test]
    async fn chunked_body_without_length_is_capped_while_streaming() {
        // No Content-Length: the cap must trip on the bytes as they arrive.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            let chunk = format!("{:x}\r\n{}\r\n", 4096, "y".repeat(4096));
            for _ in 0..64 {
                if socket.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
        });
        let fetcher = fetcher_with(|s| s.max_body_bytes = 64 * 1024);
        let err = get(&fetcher, &format!("http://{addr}/")).await.unwrap_err();
        assert!(
            matches!(err, FetchError::TooLarge { limit: 65536 }),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("body larger than 64 KiB"),
            "{err}"
        );
    }

    /// A hand-made gzip stream of `1 + 258 * matches` bytes of `a`: one literal, then
    /// back-references of the maximum length (fixed-Huffman DEFLATE), so it compresses ~1000:1.
    fn gzip_of_a(matches: usize) -> Vec<u8> {
        #[derive(Default)]
        struct Bits {
            out: Vec<u8>,
            acc: u8,
            used: u32,
        }
        impl Bits {
            fn bit(&mut self, bit: u32) {
                self.acc |= ((bit & 1) as u8) << self.used;
                self.used += 1;
                if self.used == 8 {
                    self.out.push(self.acc);
                    self.acc = 0;
                    self.used = 0;
                }
            }
            /// Header fields go least-significant bit first...
            fn value(&mut self, value: u32, len: u32) {
                (0..len).for_each(|i| self.bit(value >> i));
            }
            /// ...Huffman codes most-significant bit first.
            fn code(&mut self, code: u32, len: u32) {
                (0..len).rev().for_each(|i| self.bit(code >> i));
            }
        }
        let mut bits = Bits::default();
        bits.value(1, 1); // final block
        bits.value(1, 2); // fixed Huffman codes
        bits.code(0x30 + u32::from(b'a'), 8); // literal 'a'
        for _ in 0..matches {
            bits.code(0xC0 + 5, 8); // length symbol 285 = 258 bytes
            bits.code(0, 5); // distance symbol 0 = 1 byte back
        }
        bits.code(0, 7); // end of block
        if bits.used > 0 {
            bits.out.push(bits.acc);
        }

        let len = 1 + 258 * matches;
        let mut crc = 0xFFFF_FFFF_u32;
        for _ in 0..len {
            crc ^= u32::from(b'a');
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        gz.extend_from_slice(&bits.out);
        gz.extend_from_slice(&(!crc).to_le_bytes());
        gz.extend_from_slice(&(len as u32).to_le_bytes());
        gz
    }

    fn gzipped(body: Vec<u8>) -> ResponseTemplate {
        ResponseTemplate::new(200)
            .insert_header("content-encoding", "gzip")
            .set_body_bytes(body)
    }

    #[tokio::test]
    async fn gzip_body_is_decompressed() {
        let server = MockServer::start().await;
        respond(&server, "/", gzipped(gzip_of_a(10))).await;
        let got = fetched(get(&fetcher(), &server.uri()).await.unwrap());
        assert_eq!(got.body, vec![b'a'; 1 + 258 * 10]);
    }

    #[tokio::test]
    async fn gzip_bomb_is_stopped_at_the_decompressed_cap() {
        let bomb = gzip_of_a(4096); // ~1 MiB of output
        assert!(bomb.len() < 8 * 1024, "bomb is {} bytes", bomb.len());
        let server = MockServer::start().await;
        respond(&server, "/", gzipped(bomb)).await;
        let fetcher = fetcher_with(|s| s.max_body_bytes = 256 * 1024);
        let err = get(&fetcher, &server.uri()).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn connection_refused_is_reported_plainly() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let err = get(&fetcher(), &format!("http://127.0.0.1:{port}/feed"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::ConnectionRefused { .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "connection refused by 127.0.0.1:{port}: is the server running, and is the port right?"
            )
        );
    }

    #[tokio::test]
    async fn https_to_a_plain_http_server_is_a_tls_error() {
        let server = MockServer::start().await;
        let url = format!("https://127.0.0.1:{}/", server.address().port());
        let err = get(&fetcher(), &url).await.unwrap_err();
        assert!(matches!(err, FetchError::Tls { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(&format!(
                "TLS error talking to 127.0.0.1:{}: ",
                server.address().port()
            )),
            "{err}"
        );
    }

    #[tokio::test]
    async fn public_only_refuses_local_and_private_targets() {
        let fetcher = fetcher();
        for url in [
            "http://127.0.0.1/",
            "http://[::1]/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://10.1.2.3/",
            "http://169.254.169.254/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "file:///etc/passwd",
            "/etc/passwd",
            "http://localhost/",
        ] {
            let result = fetcher
                .fetch(
                    url,
                    &Validators::default(),
                    AddressPolicy::PublicOnly,
                    now(),
                )
                .await;
            assert!(
                matches!(result, Err(FetchError::Blocked(_))),
                "{url}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn public_only_sends_nothing_to_a_loopback_server() {
        let server = MockServer::start().await;
        respond(&server, "/", ResponseTemplate::new(200)).await;
        let err = fetcher()
            .fetch(
                &server.uri(),
                &Validators::default(),
                AddressPolicy::PublicOnly,
                now(),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is a loopback address"), "{err}");
        assert_eq!(request_count(&server).await, 0);
    }

    #[tokio::test]
    async fn public_only_refuses_a_redirect_to_loopback() {
        // The first server stands in for a public site; the guard must stop the second hop.
        let public = MockServer::start().await;
        let internal = MockServer::start().await;
        respond(
            &internal,
            "/admin",
            ResponseTemplate::new(200).set_body_string("secret"),
        )
        .await;
        respond(
            &public,
            "/feed",
            redirect(302, &format!("{}/admin", internal.uri())),
        )
        .await;

        let url = Url::parse(&format!("{}/feed", public.uri())).unwrap();
        let err = fetcher()
            .fetch_url(
                url,
                &Validators::default(),
                AddressPolicy::PublicOnly,
                FirstHop::Trusted,
                now(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Blocked(_)), "{err:?}");
        assert_eq!(request_count(&public).await, 1);
        assert_eq!(request_count(&internal).await, 0);
    }

    #[tokio::test]
    async fn public_only_refuses_every_spelling_of_an_internal_redirect_target() {
        // What `/sources add` meets when a public site redirects inward; the first server stands
        // in for the public site (a test cannot serve one), every later hop is checked.
        let public = MockServer::start().await;
        let internal = MockServer::start().await;
        let port = internal.address().port();
        let targets = [
            format!("http://localhost:{port}/admin"),
            format!("http://Admin.LOCALHOST.:{port}/admin"),
            format!("http://127.1:{port}/admin"),
            format!("http://2130706433:{port}/admin"),
            format!("http://0x7f.0.0.1:{port}/admin"),
            format!("http://[::1]:{port}/admin"),
            format!("http://[::ffff:127.0.0.1]:{port}/admin"),
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "http://10.0.0.1/admin".to_string(),
            "http://[fd00::1]/admin".to_string(),
            "gopher://127.0.0.1:70/".to_string(),
        ];
        for (n, target) in targets.iter().enumerate() {
            let from = format!("/feed{n}");
            respond(&public, &from, redirect(301, target)).await;
            let url = Url::parse(&format!("{}{from}", public.uri())).unwrap();
            let err = fetcher()
                .fetch_url(
                    url,
                    &Validators::default(),
                    AddressPolicy::PublicOnly,
                    FirstHop::Trusted,
                    now(),
                )
                .await
                .unwrap_err();
            assert!(matches!(err, FetchError::Blocked(_)), "{target}: {err:?}");
            assert!(err.to_string().starts_with("blocked: "), "{target}: {err}");
        }
        assert_eq!(request_count(&public).await, targets.len());
        assert_eq!(request_count(&internal).await, 0);
    }

    #[tokio::test]
    async fn public_only_resolver_refuses_names_that_reach_this_machine() {
        // check_url is skipped for the first hop, so only the resolver stands in the way.
        let server = MockServer::start().await;
        let url = Url::parse(&format!("http://localhost:{}/", server.address().port())).unwrap();
        let err = fetcher()
            .fetch_url(
                url,
                &Validators::default(),
                AddressPolicy::PublicOnly,
                FirstHop::Trusted,
                now(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Blocked(ForbiddenAddress::LocalName { .. })),
            "{err:?}"
        );
        assert_eq!(request_count(&server).await, 0);
    }

    #[tokio::test]
    async fn allow_private_still_refuses_a_redirect_to_a_file() {
        let server = MockServer::start().await;
        respond(&server, "/", redirect(302, "file:///etc/passwd")).await;
        let err = get(&fetcher(), &server.uri()).await.unwrap_err();
        assert!(
            matches!(err, FetchError::Blocked(ForbiddenAddress::Scheme { .. })),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn allow_private_resolves_localhost() {
        let server = MockServer::start().await;
        respond(
            &server,
            "/",
            ResponseTemplate::new(200).set_body_string("hi"),
        )
        .await;
        let url = format!("http://localhost:{}/", server.address().port());
        assert_eq!(fetched(get(&fetcher(), &url).await.unwrap()).body, b"hi");
    }

    #[tokio::test]
    async fn cache_hints_are_clamped_and_computed_from_now() {
        let server = MockServer::start().await;
        respond(
            &server,
            "/year",
            ResponseTemplate::new(200).insert_header("cache-control", "public, max-age=31536000"),
        )
        .await;
        respond(
            &server,
            "/ten",
            ResponseTemplate::new(200).insert_header("cache-control", "max-age=600"),
        )
        .await;
        let fetcher = fetcher();
        let year = fetched(
            get(&fetcher, &format!("{}/year", server.uri()))
                .await
                .unwrap(),
        );
        assert_eq!(year.hints.not_before, Some(now() + MAX_CACHE_HINT));
        let ten = fetched(
            get(&fetcher, &format!("{}/ten", server.uri()))
                .await
                .unwrap(),
        );
        assert_eq!(ten.hints.not_before, Some(now() + TimeDelta::minutes(10)));
    }

    #[tokio::test]
    async fn not_modified_carries_hints() {
        let server = MockServer::start().await;
        respond(
            &server,
            "/",
            ResponseTemplate::new(304).insert_header("cache-control", "max-age=60"),
        )
        .await;
        let outcome = get(&fetcher(), &server.uri()).await.unwrap();
        match outcome {
            FetchOutcome::NotModified { hints } => {
                assert_eq!(hints.not_before, Some(now() + TimeDelta::seconds(60)));
            }
            FetchOutcome::Fetched(_) => panic!("expected 304"),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn hints_ignore_no_cache_and_past_dates() {
        assert_eq!(
            hints_from_headers(&headers(&[("cache-control", "no-cache, no-store")]), now()),
            Hints::default()
        );
        assert_eq!(
            hints_from_headers(&headers(&[("cache-control", "max-age=0")]), now()),
            Hints::default()
        );
        assert_eq!(
            hints_from_headers(&headers(&[("expires", "0")]), now()),
            Hints::default()
        );
        assert_eq!(
            hints_from_headers(
                &headers(&[("expires", "Thu, 01 Jan 1970 00:00:00 GMT")]),
                now()
            ),
            Hints::default()
        );
        assert_eq!(
            hints_from_headers(&HeaderMap::new(), now()).not_before,
            None
        );
    }

    #[test]
    fn expires_is_used_without_max_age_and_clamped() {
        let in_an_hour = (now() + TimeDelta::hours(1))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let hints = hints_from_headers(&headers(&[("expires", &in_an_hour)]), now());
        assert_eq!(hints.not_before, Some(now() + TimeDelta::hours(1)));

        let far = "Fri, 01 Jan 2100 00:00:00 GMT";
        let hints = hints_from_headers(&headers(&[("expires", far)]), now());
        assert_eq!(hints.not_before, Some(now() + MAX_CACHE_HINT));

        // max-age takes precedence over Expires.
        let hints = hints_from_headers(
            &headers(&[("expires", &in_an_hour), ("cache-control", "max-age=60")]),
            now(),
        );
        assert_eq!(hints.not_before, Some(now() + TimeDelta::seconds(60)));
    }

    #[test]
    fn retry_after_outweighs_a_shorter_max_age() {
        let hints = hints_from_headers(
            &headers(&[("cache-control", "max-age=60"), ("retry-after", "600")]),
            now(),
        );
        assert_eq!(hints.not_before, Some(now() + TimeDelta::seconds(600)));
    }

    #[test]
    fn retry_after_accepts_seconds_and_all_http_date_forms() {
        let at = Utc.with_ymd_and_hms(2024, 3, 1, 13, 0, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now()),
            Some(now() + TimeDelta::seconds(120))
        );
        assert_eq!(
            parse_retry_after("Fri, 01 Mar 2024 13:00:00 GMT", now()),
            Some(at)
        );
        assert_eq!(
            parse_retry_after("Friday, 01-Mar-24 13:00:00 GMT", now()),
            Some(at)
        );
        assert_eq!(
            parse_retry_after("Fri Mar  1 13:00:00 2024", now()),
            Some(at)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-5", now()), None);
        assert_eq!(parse_retry_after("0", now()), None);
        assert_eq!(
            parse_retry_after("Fri, 01 Mar 2024 11:00:00 GMT", now()),
            None
        );
        assert_eq!(
            parse_retry_after("999999999999", now()),
            Some(now() + MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn locations_are_urls_or_absolute_paths() {
        assert_eq!(
            parse_location("/srv/feeds/a.xml").unwrap(),
            Target::File("/srv/feeds/a.xml".into())
        );
        assert_eq!(
            parse_location("file:///srv/feeds/a%20b.xml").unwrap(),
            Target::File("/srv/feeds/a b.xml".into())
        );
        assert!(matches!(
            parse_location("https://example.com/feed").unwrap(),
            Target::Url(_)
        ));
        let err = parse_location("feeds/a.xml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`feeds/a.xml` is not an http(s) URL or an absolute file path \
             (relative paths must be made absolute first)"
        );
        assert!(parse_location("http://exa mple.com/").is_err());
    }

    #[tokio::test]
    async fn local_file_is_read_with_no_validators() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("feed.xml");
        std::fs::write(&file, "<rss/>").unwrap();
        let fetcher = fetcher();
        let plain = fetched(get(&fetcher, file.to_str().unwrap()).await.unwrap());
        assert_eq!(plain.body, b"<rss/>");
        assert_eq!(plain.validators, Validators::default());
        assert_eq!(plain.final_url, None);
        let as_url = Url::from_file_path(&file).unwrap();
        let via_url = fetched(get(&fetcher, as_url.as_str()).await.unwrap());
        assert_eq!(via_url.body, b"<rss/>");
    }

    #[tokio::test]
    async fn local_file_over_the_cap_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.xml");
        std::fs::write(&file, vec![b'x'; 101]).unwrap();
        let fetcher = fetcher_with(|s| s.max_body_bytes = 100);
        let err = get(&fetcher, file.to_str().unwrap()).await.unwrap_err();
        assert!(
            matches!(err, FetchError::TooLarge { limit: 100 }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn missing_local_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nope.xml");
        let err = get(&fetcher(), file.to_str().unwrap()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("file not found: {}", file.display())
        );
        let err = get(&fetcher(), dir.path().to_str().unwrap())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[test]
    fn sizes_and_durations_read_naturally_in_messages() {
        assert_eq!(bytes(15 * 1024 * 1024), "15 MiB");
        assert_eq!(bytes(64 * 1024), "64 KiB");
        assert_eq!(bytes(1000), "1000 bytes");
        assert_eq!(secs(Duration::from_secs(30)), "30 s");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(secs(Duration::from_millis(250)), "250 ms");
        let default = FetchError::TooLarge {
            limit: FetchSettings::default().max_body_bytes,
        };
        assert_eq!(
            default.to_string(),
            "body larger than 15 MiB (limit fetch.max_body_bytes)"
        );
    }
}
