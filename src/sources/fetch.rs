//! Fetching a source's bytes: HTTP(S) with conditional GET, size and time limits, redirects
//! followed by hand (so every hop passes the address guard), per-host politeness, and local
//! files read under the same cap.
//!
//! The fetcher returns raw bytes and what the server said about them (validators, when to come
//! back); it never parses, and it never decides back-off — the caller does, from
//! [`FetchError`]'s `status`, `retry_after` and `is_gone`.

use std::collections::HashMap;
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
}

#[derive(Debug)]
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
    #[error("HTTP {status} from {url}{}", retry_suffix(*.retry_after_secs))]
    Status {
        status: u16,
        /// Host and path of the URL that answered.
        url: String,
        retry_after: Option<DateTime<Utc>>,
        /// `retry_after` as seconds from the fetch's `now`, kept for the message.
        retry_after_secs: Option<i64>,
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
        Ok(Self {
            inner: Arc::new(Inner {
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
        let response = client
            .get(url.clone())
            .headers(request_headers(validators))
            .send()
            .await
            .map_err(|err| classify(err, url, &self.inner.settings))?;
        let status = response.status();
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
            return Err(FetchError::Status {
                status: status.as_u16(),
                url: label(url),
                retry_after,
                retry_after_secs: retry_after.map(|t| (t - now).num_seconds()),
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

fn build_client(settings: &FetchSettings, policy: AddressPolicy) -> reqwest::Result<Client> {
    let builder = Client::builder()
        .user_agent(settings.user_agent.clone())
        .redirect(redirect::Policy::none())
        .timeout(settings.timeout)
        .connect_timeout(settings.connect_timeout)
        .gzip(true)
        .brotli(true)
        .deflate(true);
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
    let mut out = url.host_str().unwrap_or("").to_owned();
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    if url.path() != "/" {
        out.push_str(url.path());
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
    let host = url.host_str().unwrap_or("").to_owned();

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
    Hints { not_before }
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
