//! WebSub push while `run` runs (on when `[http] public_url` is set): the maintainer that
//! sends subscription, renewal and unsubscription requests to hubs, and the queue that carries
//! signed pushes from the listener (`ops::http`) to the pipeline (`pipeline::ingest_push`).
//! What to send and when is decided in `sources::websub`; the rows live in `store::websub`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::core::model::SourceId;
use crate::pipeline::{address_policy, PollContext};
use crate::sources::fetch::AddressPolicy;
use crate::sources::websub::{self, Action, Mode, PushRow};

/// Signed pushes waiting for the pipeline; when full, the listener answers 503 and the hub
/// retries later.
pub const QUEUE: usize = 16;
/// The maintainer looks at the table at least this often.
const MAX_SLEEP: Duration = Duration::from_secs(10 * 60);

/// A body a hub pushed, its signature checked.
#[derive(Debug)]
pub struct Pushed {
    pub source_id: SourceId,
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

/// The listener's side of push: where signed pushes go, and whom to tell when a hub verified
/// (or ended) a subscription.
#[derive(Clone)]
pub struct PushInbox {
    pub queue: mpsc::Sender<Pushed>,
    pub changed: Arc<Notify>,
}

/// A queue for pushes and its receiving end.
pub fn channel(changed: Arc<Notify>) -> (PushInbox, mpsc::Receiver<Pushed>) {
    let (queue, rx) = mpsc::channel(QUEUE);
    (PushInbox { queue, changed }, rx)
}

/// Sends what each subscription needs (subscribe, renew, unsubscribe, forget) until `cancel`
/// fires; sleeps until the next one is due, or until told (`ctx.push_wanted`).
pub async fn maintain(ctx: Arc<PollContext>, public_url: Url, cancel: CancellationToken) {
    loop {
        let now = Utc::now();
        let next = match ctx.store.push_subscriptions().await {
            Ok(rows) => {
                let mut next: Option<DateTime<Utc>> = None;
                for (row, alive) in rows {
                    if let Some(action) = websub::next_action(&row, alive, now) {
                        act(&ctx, &public_url, &row, action, now).await;
                    }
                    next = match (next, websub::next_due(&row)) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                next
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the push subscriptions; trying again in a minute");
                Some(now + chrono::Duration::minutes(1))
            }
        };
        let wait = next
            .map_or(MAX_SLEEP, |t| (t - Utc::now()).to_std().unwrap_or_default())
            .clamp(Duration::from_millis(500), MAX_SLEEP);
        tokio::select! {
            () = cancel.cancelled() => return,
            () = ctx.push_wanted.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

async fn act(
    ctx: &PollContext,
    public_url: &Url,
    row: &PushRow,
    action: Action,
    now: DateTime<Utc>,
) {
    let mode = match action {
        Action::Forget => {
            tracing::info!(source = %row.source_id, hub = %row.hub, "the hub never confirmed the unsubscription; forgetting it");
            if let Err(e) = ctx.store.forget_push(row.source_id).await {
                tracing::warn!(error = %e, "cannot forget a push subscription");
            }
            return;
        }
        Action::Subscribe => Mode::Subscribe,
        Action::Unsubscribe => Mode::Unsubscribe,
    };
    let error = send(ctx, public_url, row, mode).await.err();
    match &error {
        None => {
            tracing::info!(source = %row.source_id, hub = %row.hub, mode = mode.as_str(), "WebSub request sent; waiting for the hub to verify");
        }
        Some(e) => {
            tracing::warn!(source = %row.source_id, hub = %row.hub, mode = mode.as_str(), error = %e, "WebSub request failed; polling continues as usual");
        }
    }
    let unsubscribing = mode == Mode::Unsubscribe;
    if let Err(e) = ctx
        .store
        .push_requested(row.source_id, unsubscribing, now, error)
        .await
    {
        tracing::warn!(error = %e, "cannot record a WebSub request");
    }
}

async fn send(
    ctx: &PollContext,
    public_url: &Url,
    row: &PushRow,
    mode: Mode,
) -> Result<(), String> {
    let hub =
        Url::parse(&row.hub).map_err(|e| format!("the hub URL {} is not valid: {e}", row.hub))?;
    let callback = websub::callback_url(public_url, &row.callback_id)
        .ok_or_else(|| format!("http.public_url {public_url} cannot take a path"))?;
    // The hub came from the feed: it may reach only what the source itself may.
    let policy = match ctx.store.source(row.source_id).await {
        Ok(Some(source)) => address_policy(ctx, &source),
        _ => AddressPolicy::PublicOnly,
    };
    let form = websub::request_form(mode, &row.topic, callback.as_str(), &row.secret);
    ctx.fetcher.post_form(&hub, &form, policy).await
}
