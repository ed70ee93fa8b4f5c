//! The operations listener (`[http] listen`): `/metrics`, `/healthz`, `/readyz` and the
//! status page `/`. Off by default.
//!
//! It runs in its own task and never touches a poll's or the deliverer's locks beyond one
//! read on the interactive connection per request. Every connection is bounded: headers must
//! arrive within [`HEADER_TIMEOUT`] and fit in [`MAX_HEADER_BYTES`], a whole connection lives
//! at most [`CONNECTION_TIMEOUT`], at most [`MAX_CONNECTIONS`] are served at once (more wait
//! in the kernel's backlog), only `GET`/`HEAD` without a body are answered, and keep-alive is
//! off, so a slow or hostile client costs one small task for a few seconds at most.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serenity::gateway::{ConnectionStage, ShardManager};
use serenity::model::id::ShardId;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::metrics::metrics;
use super::status_page::{render, StatusView};
use crate::config::HttpConfig;
use crate::push::PushInbox;
use crate::store::Store;

/// Headers must be complete within this long after the connection opens.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection is closed after this long, whatever it is doing.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest request head (request line and headers) read.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 32;
/// Recent alerts on the status page.
pub const RECENT_ALERTS: usize = 50;

/// What `/readyz` checks beyond the store: the Discord gateway, when Discord is on.
#[derive(Default)]
pub struct Health {
    gateway: OnceLock<(Arc<ShardManager>, Vec<u32>)>,
}

impl Health {
    /// From now on `/readyz` also requires each of `shards` (this process's shard ids) to be
    /// connected through `manager`. serenity boots shards one by one, so a shard it has not
    /// started yet counts as not connected.
    pub fn watch_gateway(&self, manager: Arc<ShardManager>, shards: Vec<u32>) {
        let _ = self.gateway.set((manager, shards));
    }

    /// `Ok` when every shard of this process is connected (or Discord is off); else what is
    /// wrong.
    async fn gateway(&self) -> Result<(), String> {
        let Some((manager, shards)) = self.gateway.get() else {
            return Ok(());
        };
        let runners = manager.runners.lock().await;
        if runners.is_empty() {
            return Err("Discord gateway: not connected yet".to_string());
        }
        for id in shards {
            match runners.get(&ShardId(*id)) {
                None => return Err(format!("Discord gateway: shard {id} is not started yet")),
                Some(info) if info.stage != ConnectionStage::Connected => {
                    return Err(format!("Discord gateway: shard {id} is {}", info.stage));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

struct Ops {
    store: Store,
    token: Option<String>,
    health: Arc<Health>,
    /// WebSub callbacks (`/websub/...`) are served only when push is on.
    push: Option<PushInbox>,
}

/// Why `[http]` cannot start as configured.
pub fn refuse_reason(config: &HttpConfig, token: Option<&str>) -> Option<String> {
    let addr = config.listen?;
    (!addr.ip().is_loopback() && token.is_none()).then(|| {
        format!(
            "http.listen = \"{addr}\" is reachable from other machines, but no token is set: anyone \
             could read the status page. Set [http] token (or NEWSHOUND_HTTP_TOKEN) to a long \
             random string, or listen on 127.0.0.1"
        )
    })
}

/// The token `/` and `/metrics` need: `NEWSHOUND_HTTP_TOKEN` wins over `[http] token`.
pub fn effective_token(config: &HttpConfig, env: Option<String>) -> Option<String> {
    env.filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().to_string())
        .or_else(|| config.token.clone())
}

/// Binds `[http] listen` and serves until `cancel` fires. `None` when the listener is off.
pub async fn start(
    config: &HttpConfig,
    store: Store,
    health: Arc<Health>,
    push: Option<PushInbox>,
    cancel: CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(addr) = config.listen else {
        return Ok(None);
    };
    let token = effective_token(config, std::env::var("NEWSHOUND_HTTP_TOKEN").ok());
    if let Some(reason) = refuse_reason(config, token.as_deref()) {
        anyhow::bail!("{reason}");
    }
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on http.listen = \"{addr}\" (in use, or not an address of this machine?)"))?;
    let bound = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %bound, "http listening on {bound}");
    let ops = Arc::new(Ops {
        store,
        token,
        health,
        push,
    });
    Ok(Some(tokio::spawn(serve(listener, ops, cancel))))
}

async fn serve(listener: TcpListener, ops: Arc<Ops>, cancel: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            () = cancel.cancelled() => return,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let (stream, _peer) = tokio::select! {
            () = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let ops = Arc::clone(&ops);
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| {
                let ops = Arc::clone(&ops);
                async move { Ok::<_, Infallible>(handle(&ops, req).await) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEADER_BYTES)
                .keep_alive(false);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            // Dropping the connection future on timeout closes the socket.
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
        });
    }
}

pub(super) fn text(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether the request carries the token (bearer header or `?token=`), compared in constant
/// time.
fn authorized(req: &Request<Incoming>, token: Option<&str>) -> bool {
    let Some(token) = token else {
        return true;
    };
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let query = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    [bearer.map(str::to_string), query]
        .into_iter()
        .flatten()
        .any(|given| constant_time_eq(given.as_bytes(), token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn handle(ops: &Ops, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if let Some(callback_id) = req.uri().path().strip_prefix("/websub/") {
        let callback_id = callback_id.to_string();
        return match &ops.push {
            Some(inbox) => super::websub::handle(&ops.store, inbox, &callback_id, req).await,
            None => text(
                StatusCode::NOT_FOUND,
                "push is off ([http] public_url is not set)\n",
            ),
        };
    }
    let req = &req;
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET: /, /metrics, /healthz, /readyz\n",
        );
        response
            .headers_mut()
            .insert("allow", HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => readyz(ops).await,
        "/metrics" | "/" if !authorized(req, ops.token.as_deref()) => {
            let mut response = text(
                StatusCode::UNAUTHORIZED,
                "a token is required: send `Authorization: Bearer TOKEN` or add ?token=TOKEN\n",
            );
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
        "/metrics" => metrics_page(ops).await,
        "/" => status_page(ops).await,
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /, /metrics, /healthz or /readyz\n",
        ),
    }
}

async fn readyz(ops: &Ops) -> Response<Full<Bytes>> {
    if let Err(e) = ops.store.ping().await {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: the database does not answer: {e}\n"),
        );
    }
    match ops.health.gateway().await {
        Ok(()) => text(StatusCode::OK, "ready\n"),
        Err(reason) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        ),
    }
}

async fn metrics_page(ops: &Ops) -> Response<Full<Bytes>> {
    let m = metrics();
    let now = Utc::now();
    match (ops.store.backlog().await, ops.store.active_sources().await) {
        (Ok(backlog), Ok(sources)) => {
            let age = backlog
                .oldest
                .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
            let states: Vec<&str> = sources.iter().map(|s| s.state.as_str()).collect();
            m.set_backlog(backlog.pending, age, &states);
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "metrics: the store did not answer; backlog gauges are stale");
        }
    }
    let mut response = text(StatusCode::OK, m.encode());
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

async fn status_page(ops: &Ops) -> Response<Full<Bytes>> {
    let now = Utc::now();
    let read = async {
        Ok::<_, crate::store::StoreError>(StatusView {
            now,
            sources: ops.store.active_sources().await?,
            backlog: ops.store.backlog().await?,
            recent: ops.store.recent_alerts(RECENT_ALERTS).await?,
            servers: ops.store.subscriptions_per_server().await?,
        })
    };
    match read.await {
        Ok(view) => {
            let mut response = text(StatusCode::OK, render(&view));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response.headers_mut().insert(
                "content-security-policy",
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            );
            response
        }
        Err(e) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the database does not answer: {e}\n"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(listen: &str, token: Option<&str>) -> HttpConfig {
        HttpConfig {
            listen: Some(listen.parse().unwrap()),
            token: token.map(str::to_string),
            ..HttpConfig::default()
        }
    }

    #[test]
    fn a_public_listener_needs_a_token() {
        let public = config("0.0.0.0:9464", None);
        let reason = refuse_reason(&public, None).expect("refused");
        assert!(reason.contains("0.0.0.0:9464") && reason.contains("NEWSHOUND_HTTP_TOKEN"));
        assert!(refuse_reason(&public, Some("a-long-enough-token")).is_none());
        assert!(refuse_reason(&config("127.0.0.1:9464", None), None).is_none());
        assert!(refuse_reason(&config("[::1]:9464", None), None).is_none());
        assert!(refuse_reason(&HttpConfig::default(), None).is_none());
    }

    #[test]
    fn the_environment_token_wins() {
        let c = config("127.0.0.1:1", Some("from-the-config-file"));
        assert_eq!(
            effective_token(&c, Some("from-the-env-var".into())).as_deref(),
            Some("from-the-env-var")
        );
        assert_eq!(
            effective_token(&c, Some("  ".into())).as_deref(),
            Some("from-the-config-file")
        );
        assert_eq!(effective_token(&HttpConfig::default(), None), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
