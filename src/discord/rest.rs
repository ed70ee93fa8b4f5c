//! Posting alerts over Discord's REST API with our own `reqwest` client: requests, error
//! mapping (status first, then Discord's JSON `code`) and `send_all`'s bounded retries.
//!
//! serenity's HTTP client is not used here: its ratelimiter is off whenever it is proxied and it
//! retries 429s without a cap, and we need the status, headers and body of every answer.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{bail, Context as _};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::delivery::SendError;
use crate::discord::OutgoingMessage;

pub use crate::discord::pace::{PaceLimits, Pacer, Permit};

/// How `send_all` retries; `Default` is what production uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per part while Discord answers 429 before giving up with `SendError::Retry`.
    pub rate_limited_tries: u32,
    /// Attempts per part on 5xx, network errors and timeouts.
    pub transient_tries: u32,
    /// First back-off after a transient failure; doubled each time up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// A 429 asking for a longer wait than this is not waited out inside one delivery: the
    /// channel (or everything) is paused and the alert is left for a later pass.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            rate_limited_tries: 5,
            transient_tries: 4,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_rate_limit_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before transient retry number `retry` (1 = the first retry).
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 1_u32 << retry.saturating_sub(1).min(16);
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// The default time one request may take before it counts as failed (and is retried).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A failed Discord request: what Discord answered (or that it did not answer).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct RestError {
    /// HTTP status; `None` when no answer arrived (network error, timeout).
    status: Option<u16>,
    /// Discord's JSON error `code` (e.g. 50013), when the body had one.
    code: Option<i64>,
    /// Discord's `message`, with the failing fields of a 50035 appended; or what went wrong.
    message: String,
    /// How long Discord asked us to wait (429).
    retry_after: Option<Duration>,
    /// The 429 applies to every request of the bot, not just this route.
    global: bool,
}

impl RestError {
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    pub fn code(&self) -> Option<i64> {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    pub fn is_global(&self) -> bool {
        self.global
    }

    /// 429: wait `retry_after` and try again.
    pub fn is_rate_limited(&self) -> bool {
        self.status == Some(429)
    }

    /// 5xx, no answer at all, or a success whose body we could not read: the same request
    /// may well work a moment later (and the nonce keeps a repeat from posting twice).
    pub fn is_transient(&self) -> bool {
        match self.status {
            None => true,
            Some(status) => status >= 500 || (200..300).contains(&status),
        }
    }

    /// 401: the token is wrong; nothing will work until it is fixed.
    pub fn is_unauthorized(&self) -> bool {
        self.status == Some(401)
    }

    /// 403 or 404: the channel is gone or the bot may not use it.
    pub fn is_target_broken(&self) -> bool {
        matches!(self.status, Some(403 | 404))
    }

    /// Any other 4xx: this payload will never be accepted as it is.
    pub fn is_rejected(&self) -> bool {
        self.status.is_some_and(|s| (400..500).contains(&s))
            && !self.is_rate_limited()
            && !self.is_unauthorized()
            && !self.is_target_broken()
    }

    fn describe(&self) -> String {
        let code = self
            .code
            .filter(|c| *c != 0)
            .map_or(String::new(), |c| format!(" ({c})"));
        match self.status {
            None => self.message.clone(),
            Some(429) => {
                let scope = if self.global { " for all requests" } else { "" };
                let wait = self.retry_after.map_or(String::new(), |d| {
                    format!("; retry after {:.3} s", d.as_secs_f64())
                });
                format!("Discord rate-limited the bot{scope} (429){wait}")
            }
            Some(status) => format!("Discord answered {status}: {}{code}", self.message),
        }
    }

    fn no_answer(message: String) -> Self {
        Self {
            status: None,
            code: None,
            message,
            retry_after: None,
            global: false,
        }
    }
}

/// A message-create's bucket headers (`X-RateLimit-Remaining`, `-Reset-After`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    remaining: u64,
    reset_after: Duration,
}

fn bucket_of(headers: &HeaderMap) -> Option<Bucket> {
    let header = |name: &str| headers.get(name)?.to_str().ok();
    let remaining = header("x-ratelimit-remaining")?.trim().parse().ok()?;
    let reset_after = seconds(header("x-ratelimit-reset-after")?.trim().parse().ok()?)?;
    Some(Bucket {
        remaining,
        reset_after,
    })
}

/// Float seconds as Discord sends them, rejecting negative, NaN and absurd values.
fn seconds(value: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(value).ok()
}

/// What one request came back with: the result, and the bucket headers when there were any.
struct Answer<T> {
    result: Result<T, RestError>,
    bucket: Option<Bucket>,
}

/// Discord's REST API as newshound uses it. Cheap to clone; clones share the DM-channel cache.
#[derive(Clone)]
pub struct DiscordRest {
    client: reqwest::Client,
    /// `{api_base}/api/v10`, without a trailing slash.
    api: String,
    /// `Bot {token}`, marked sensitive so no `Debug` of a header map shows it.
    authorization: HeaderValue,
    timeout: Duration,
    retry: RetryPolicy,
    dm_channels: Arc<Mutex<HashMap<u64, u64>>>,
}

impl fmt::Debug for DiscordRest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordRest")
            .field("api", &self.api)
            .field("token", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl DiscordRest {
    /// `api_base`: "https://discord.com" or a fake's base URL; requests go to
    /// `{api_base}/api/v10/...` with `Authorization: Bot {token}`. The token is never logged
    /// and never appears in any error text or `Debug` output.
    pub fn new(client: reqwest::Client, api_base: &str, token: &str) -> anyhow::Result<Self> {
        let base = url::Url::parse(api_base)
            .with_context(|| format!("the Discord API base URL `{api_base}` is not a URL"))?;
        if !matches!(base.scheme(), "http" | "https") {
            bail!("the Discord API base URL `{api_base}` must start with https:// (or http:// for a local test server)");
        }
        // A token pasted with its `Bot ` prefix (as some guides show it) still works.
        let token = token.trim();
        let token = token.strip_prefix("Bot ").unwrap_or(token).trim();
        if token.is_empty() {
            bail!("the Discord bot token is empty — set DISCORD_TOKEN to the token from the Developer Portal");
        }
        // The error deliberately omits the token: it may be a real one with a stray character.
        let Ok(mut authorization) = HeaderValue::from_str(&format!("Bot {token}")) else {
            bail!("the Discord bot token contains characters a token cannot have (spaces inside, line breaks, non-ASCII) — copy it again from the Developer Portal");
        };
        authorization.set_sensitive(true);
        Ok(Self {
            client,
            // The fake's `api_url()` and some configs already name the versioned root.
            api: format!(
                "{}/api/v10",
                api_base.trim_end_matches('/').trim_end_matches("/api/v10")
            ),
            authorization,
            timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
            dm_channels: Arc::default(),
        })
    }

    /// How long one request may take before it is abandoned (and, in `send_all`, retried).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How `send_all` retries.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// POST /channels/{id}/messages; Ok(message id).
    pub async fn create_message(&self, channel_id: u64, payload: &Value) -> Result<u64, RestError> {
        self.post_message(channel_id, payload).await.result
    }

    async fn post_message(&self, channel_id: u64, payload: &Value) -> Answer<u64> {
        let path = format!("/channels/{channel_id}/messages");
        let Answer { result, bucket } = self.request(Method::POST, &path, payload).await;
        Answer {
            result: result
                .and_then(|body| id_of(&body).ok_or_else(|| malformed_success("message", &body))),
            bucket,
        }
    }

    /// PATCH /channels/{id}/messages/{mid}.
    pub async fn edit_message(
        &self,
        channel_id: u64,
        message_id: u64,
        payload: &Value,
    ) -> Result<(), RestError> {
        let path = format!("/channels/{channel_id}/messages/{message_id}");
        self.request(Method::PATCH, &path, payload)
            .await
            .result
            .map(drop)
    }

    /// POST /users/@me/channels {"recipient_id": ..}; Ok(DM channel id). Cached per user: the
    /// DM channel of a user never changes.
    pub async fn dm_channel(&self, user_id: u64) -> Result<u64, RestError> {
        if let Some(channel) = self.cached_dm(user_id) {
            return Ok(channel);
        }
        let body = json!({"recipient_id": user_id.to_string()});
        let answer = self
            .request(Method::POST, "/users/@me/channels", &body)
            .await
            .result?;
        let channel = id_of(&answer).ok_or_else(|| malformed_success("DM channel", &answer))?;
        self.dm_channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user_id, channel);
        Ok(channel)
    }

    fn cached_dm(&self, user_id: u64) -> Option<u64> {
        self.dm_channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&user_id)
            .copied()
    }

    async fn request(&self, method: Method, path: &str, body: &Value) -> Answer<Value> {
        let url = format!("{}{path}", self.api);
        let sent = self
            .client
            .request(method.clone(), &url)
            .header(AUTHORIZATION, self.authorization.clone())
            .timeout(self.timeout)
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                crate::ops::metrics::metrics().discord_response(None);
                let message = if error.is_timeout() {
                    format!(
                        "Discord did not answer {method} {path} within {:.1} s",
                        self.timeout.as_secs_f64()
                    )
                } else {
                    format!(
                        "could not reach Discord for {method} {path}: {}",
                        chain(&error)
                    )
                };
                return Answer {
                    result: Err(RestError::no_answer(message)),
                    bucket: None,
                };
            }
        };
        let status = response.status();
        crate::ops::metrics::metrics().discord_response(Some(status.as_u16()));
        let headers = response.headers().clone();
        let bucket = bucket_of(&headers);
        let text = match response.text().await {
            Ok(text) => text,
            Err(error) => {
                let message = if error.is_timeout() {
                    format!(
                        "Discord did not finish answering {method} {path} within {:.1} s",
                        self.timeout.as_secs_f64()
                    )
                } else {
                    format!(
                        "lost the connection reading Discord's answer to {method} {path}: {}",
                        chain(&error)
                    )
                };
                return Answer {
                    result: Err(RestError::no_answer(message)),
                    bucket,
                };
            }
        };
        let result = if status.is_success() {
            Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
        } else {
            Err(error_from(status, &headers, &text))
        };
        if let Err(error) = &result {
            tracing::debug!(%method, %path, status = status.as_u16(), code = ?error.code(), "Discord request failed");
        }
        Answer { result, bucket }
    }
}

/// A reqwest error with its causes, which hold the useful part ("connection refused").
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A Discord object's `id`, a snowflake sent as a string.
fn id_of(body: &Value) -> Option<u64> {
    match body.get("id")? {
        Value::String(text) => text.parse().ok(),
        other => other.as_u64(),
    }
}

fn malformed_success(what: &str, body: &Value) -> RestError {
    let shown: String = body.to_string().chars().take(200).collect();
    RestError {
        status: Some(200),
        code: None,
        message: format!("Discord accepted the {what} but its answer has no id: {shown}"),
        retry_after: None,
        global: false,
    }
}

/// Reads a non-2xx answer: Discord's JSON `{code, message, errors, retry_after, global}` when
/// present, else the status's reason (a Cloudflare HTML page is not worth quoting).
fn error_from(status: StatusCode, headers: &HeaderMap, text: &str) -> RestError {
    let json: Option<Value> = serde_json::from_str(text).ok().filter(Value::is_object);
    let reason = status.canonical_reason().unwrap_or("error").to_string();
    let code = json
        .as_ref()
        .and_then(|j| j.get("code"))
        .and_then(Value::as_i64);
    let mut message = json
        .as_ref()
        .and_then(|j| j.get("message"))
        .and_then(Value::as_str)
        .map_or(reason, str::to_string);
    if let Some(fields) = json
        .as_ref()
        .and_then(|j| j.get("errors"))
        .map(field_errors)
    {
        if !fields.is_empty() {
            message = format!("{message}: {}", fields.join("; "));
        }
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let retry_after = json
        .as_ref()
        .and_then(|j| j.get("retry_after"))
        .and_then(Value::as_f64)
        .or_else(|| header("retry-after")?.trim().parse().ok())
        .and_then(seconds);
    let global = json
        .as_ref()
        .and_then(|j| j.get("global"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || header("x-ratelimit-global") == Some("true")
        || header("x-ratelimit-scope") == Some("global");
    RestError {
        status: Some(status.as_u16()),
        code,
        message,
        retry_after,
        global,
    }
}

/// Flattens a 50035 `errors` tree into "embeds.0.description: Must be 4096 or fewer in length."
/// lines, one per leaf error, so the reason names the field to fix.
fn field_errors(tree: &Value) -> Vec<String> {
    fn walk(node: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
        let Some(object) = node.as_object() else {
            return;
        };
        for (key, child) in object {
            if key == "_errors" {
                for error in child.as_array().into_iter().flatten() {
                    let message = error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("invalid");
                    let field = if path.is_empty() {
                        "(body)".to_string()
                    } else {
                        path.join(".")
                    };
                    out.push(format!("{field}: {message}"));
                }
            } else {
                path.push(key.clone());
                walk(child, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

/// What to do about a failed part, decided from the error alone.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    /// Wait this long (pausing the channel, or everything when global), then try again.
    RateLimited { wait: Duration, global: bool },
    /// Back off and try again.
    Transient,
    /// Stop: this is the delivery outcome.
    Give(SendError),
}

/// Status first, then Discord's JSON `code` (discord.md, "Errors and what to do").
fn verdict(error: &RestError, channel_id: u64) -> Verdict {
    let code = error.code().filter(|c| *c != 0);
    let code_text = code.map_or(String::new(), |c| format!(" ({c})"));
    if error.is_rate_limited() {
        return Verdict::RateLimited {
            // A 429 without any wait is odd; one second is Discord's usual smallest bucket.
            wait: error.retry_after().unwrap_or(Duration::from_secs(1)),
            global: error.is_global(),
        };
    }
    if error.is_transient() {
        return Verdict::Transient;
    }
    if error.is_unauthorized() {
        return Verdict::Give(SendError::Fatal {
            reason: "Discord rejected the bot token (401) — check DISCORD_TOKEN".to_string(),
        });
    }
    let reason = match (error.status(), code) {
        (Some(403), Some(50001 | 50013)) => format!(
            "the bot cannot post in <#{channel_id}>: {}{code_text} — give it View Channel, Send \
             Messages and Embed Links",
            error.message()
        ),
        (Some(403), _) => format!(
            "the bot may not post in <#{channel_id}>: {}{code_text}",
            error.message()
        ),
        (Some(404), Some(10003)) => format!("channel <#{channel_id}> no longer exists (10003)"),
        (Some(404), Some(10004)) => format!(
            "the server of channel <#{channel_id}> no longer exists or removed the bot (10004)"
        ),
        (Some(404), _) => format!(
            "Discord does not know channel <#{channel_id}>: {}{code_text}",
            error.message()
        ),
        _ => {
            return Verdict::Give(SendError::Rejected {
                reason: format!(
                    "Discord refused the message for <#{channel_id}>: {}{code_text}",
                    error.message()
                ),
            })
        }
    };
    Verdict::Give(SendError::TargetBroken { reason })
}

/// Sends the parts of one alert in order through the pacer, retrying what is retryable
/// (429s, 5xx, network errors and timeouts, each a bounded number of times).
///
/// Returns the posted message ids, or the outcome for [`SendError`]. Parts already posted when
/// a later one fails are not reported; re-sending them later is harmless because every payload
/// carries a deterministic `nonce` with `enforce_nonce: true`.
pub async fn send_all(
    rest: &DiscordRest,
    pacer: &Pacer,
    channel_id: u64,
    messages: &[OutgoingMessage],
) -> Result<Vec<u64>, SendError> {
    let mut ids = Vec::with_capacity(messages.len());
    for message in messages {
        ids.push(send_one(rest, pacer, channel_id, &message.payload).await?);
    }
    Ok(ids)
}

async fn send_one(
    rest: &DiscordRest,
    pacer: &Pacer,
    channel_id: u64,
    payload: &Value,
) -> Result<u64, SendError> {
    let policy = rest.retry;
    let mut rate_limited = 0_u32;
    let mut transient = 0_u32;
    loop {
        let answer = {
            let _permit = pacer.acquire(channel_id).await;
            rest.post_message(channel_id, payload).await
        };
        if let Some(bucket) = answer.bucket {
            pacer.observe_bucket(channel_id, bucket.remaining, bucket.reset_after);
        }
        let error = match answer.result {
            Ok(id) => return Ok(id),
            Err(error) => error,
        };
        match verdict(&error, channel_id) {
            Verdict::RateLimited { wait, global } => {
                // The pause makes the next `acquire` (ours and everyone else's) wait it out.
                if global {
                    pacer.pause_all(wait);
                } else {
                    pacer.pause_channel(channel_id, wait);
                }
                rate_limited += 1;
                tracing::debug!(
                    channel_id,
                    ?wait,
                    global,
                    try_no = rate_limited,
                    "rate limited"
                );
                if rate_limited >= policy.rate_limited_tries || wait > policy.max_rate_limit_wait {
                    return Err(SendError::Retry {
                        reason: format!(
                            "Discord kept rate-limiting posts to <#{channel_id}> ({rate_limited} \
                             tries; last: {error})"
                        ),
                    });
                }
            }
            Verdict::Transient => {
                transient += 1;
                tracing::debug!(channel_id, %error, try_no = transient, "transient Discord failure");
                if transient >= policy.transient_tries {
                    return Err(SendError::Retry {
                        reason: format!(
                            "could not post to <#{channel_id}> after {transient} tries: {error}"
                        ),
                    });
                }
                tokio::time::sleep(policy.backoff(transient)).await;
            }
            Verdict::Give(outcome) => return Err(outcome),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, code: i64, message: &str) -> RestError {
        RestError {
            status: Some(status),
            code: Some(code),
            message: message.to_string(),
            retry_after: None,
            global: false,
        }
    }

    #[test]
    fn missing_permissions_breaks_the_target_with_a_fix() {
        let v = verdict(&error(403, 50013, "Missing Permissions"), 42);
        assert_eq!(
            v,
            Verdict::Give(SendError::TargetBroken {
                reason: "the bot cannot post in <#42>: Missing Permissions (50013) — give it \
                         View Channel, Send Messages and Embed Links"
                    .to_string()
            })
        );
    }

    #[test]
    fn unknown_channel_breaks_the_target() {
        let v = verdict(&error(404, 10003, "Unknown Channel"), 7);
        assert_eq!(
            v,
            Verdict::Give(SendError::TargetBroken {
                reason: "channel <#7> no longer exists (10003)".to_string()
            })
        );
    }

    #[test]
    fn invalid_form_body_is_rejected() {
        let v = verdict(
            &error(400, 50035, "Invalid Form Body: content: too long"),
            7,
        );
        assert!(
            matches!(v, Verdict::Give(SendError::Rejected { reason }) if reason.contains("content: too long"))
        );
    }

    #[test]
    fn bad_token_is_fatal() {
        let v = verdict(&error(401, 0, "401: Unauthorized"), 7);
        assert!(
            matches!(v, Verdict::Give(SendError::Fatal { reason }) if reason.contains("DISCORD_TOKEN"))
        );
    }

    #[test]
    fn server_errors_and_silence_are_transient() {
        assert_eq!(
            verdict(&error(502, 0, "Bad Gateway"), 1),
            Verdict::Transient
        );
        let silence = RestError::no_answer("timed out".into());
        assert_eq!(verdict(&silence, 1), Verdict::Transient);
    }

    #[test]
    fn rate_limit_reads_body_seconds_and_global_flag() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("1"));
        let e = error_from(
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            r#"{"message":"You are being rate limited.","retry_after":0.25,"global":true}"#,
        );
        assert_eq!(
            verdict(&e, 1),
            Verdict::RateLimited {
                wait: Duration::from_millis(250),
                global: true
            }
        );
    }

    #[test]
    fn rate_limit_falls_back_to_retry_after_header() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let e = error_from(StatusCode::TOO_MANY_REQUESTS, &headers, "slow down");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(!e.is_global());
    }

    #[test]
    fn html_error_page_is_not_quoted() {
        let e = error_from(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            "<html><body>cloudflare</body></html>",
        );
        assert_eq!(e.to_string(), "Discord answered 502: Bad Gateway");
    }

    #[test]
    fn form_errors_name_the_field_path() {
        let tree = json!({
            "embeds": {"0": {"description": {"_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}
            ]}}}
        });
        assert_eq!(
            field_errors(&tree),
            vec!["embeds.0.description: Must be 4096 or fewer in length.".to_string()]
        );
    }

    #[test]
    fn backoff_doubles_and_is_bounded() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1), Duration::from_millis(500));
        assert_eq!(policy.backoff(2), Duration::from_secs(1));
        assert_eq!(policy.backoff(3), Duration::from_secs(2));
        assert_eq!(policy.backoff(30), Duration::from_secs(8));
    }

    #[test]
    fn bucket_headers_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-reset-after", HeaderValue::from_static("4.250"));
        assert_eq!(
            bucket_of(&headers),
            Some(Bucket {
                remaining: 0,
                reset_after: Duration::from_millis(4250)
            })
        );
    }

    #[test]
    fn token_is_not_in_debug_output() {
        let rest = DiscordRest::new(
            reqwest::Client::new(),
            "https://discord.com/",
            "s3cr3t-token",
        )
        .unwrap();
        let debug = format!("{rest:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert_eq!(rest.api, "https://discord.com/api/v10");
    }

    #[test]
    fn versioned_base_url_is_not_doubled() {
        let rest =
            DiscordRest::new(reqwest::Client::new(), "http://127.0.0.1:9/api/v10", "t").unwrap();
        assert_eq!(rest.api, "http://127.0.0.1:9/api/v10");
    }

    /// `delivery::Sink::deliver` must return a `Send` future, so `send_all`'s must be one.
    #[test]
    fn send_all_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let rest = DiscordRest::new(reqwest::Client::new(), "http://127.0.0.1:9", "t").unwrap();
        let pacer = Pacer::default();
        let future = send_all(&rest, &pacer, 1, &[]);
        assert_send(&future);
    }

    #[test]
    fn token_with_a_line_break_is_refused_without_echoing_it() {
        let error = DiscordRest::new(
            reqwest::Client::new(),
            "https://discord.com",
            "abc\ndef-secret",
        )
        .unwrap_err();
        let text = format!("{error:#}");
        assert!(!text.contains("secret"), "{text}");
        assert!(
            text.contains("DISCORD") || text.contains("Developer Portal"),
            "{text}"
        );
    }
}
