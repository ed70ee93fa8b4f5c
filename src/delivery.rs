//! Draining the outbox and due digests into a [`Sink`]: one path for alerts and digests. A
//! delivery is marked delivered only after the sink says it went out ([`Sent`]), so a crash
//! in between delivers it again rather than losing it. What a sink cannot do itself is
//! decided here: a member's refused DM falls back to their server's alert channel, a target
//! that stops working is suspended (its deliveries kept) and its admins are told, later
//! reports of a story still pending go out inside its first alert.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::io::Write;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::core::alert::{also_covered_line, Alert, Report};
use crate::core::digest::Digest;
use crate::core::model::{OutboxId, Target};
use crate::ops::metrics::AlertOutcome;
use crate::store::{self, DeliveryId, Store};

/// What a sink posted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// The messages it became (Discord message ids; empty for the console), kept so a later
    /// report of the same story can edit them.
    pub message_ids: Vec<u64>,
}

/// Why a sink could not post.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Transient trouble (rate limit, 5xx, network): it stays pending, the target is skipped
    /// for the rest of this pass.
    #[error("{reason}")]
    Retry { reason: String },
    /// The target cannot take messages (deleted channel, missing permissions, closed DMs):
    /// its deliveries are kept and the target is suspended until it is fixed or re-probed.
    #[error("{reason}")]
    TargetBroken { reason: String },
    /// This can never be delivered as it is: dropped, with the reason kept.
    #[error("{reason}")]
    Rejected { reason: String },
    /// Stop delivering altogether (bad token).
    #[error("{reason}")]
    Fatal { reason: String },
}

/// What is posted.
#[derive(Debug, Clone, Copy)]
pub enum Outgoing<'a> {
    Alert(&'a Alert),
    Digest(&'a Digest),
}

impl Outgoing<'_> {
    fn id(&self) -> DeliveryId {
        match self {
            Outgoing::Alert(a) => DeliveryId::Alert(OutboxId(a.id)),
            Outgoing::Digest(d) => DeliveryId::Digest(d.id),
        }
    }

    fn target(&self) -> &str {
        match self {
            Outgoing::Alert(a) => &a.target,
            Outgoing::Digest(d) => &d.target,
        }
    }
}

/// Where it is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    /// Its own target.
    Target(&'a Target),
    /// A server channel instead of a member's DMs, which refused it: post it there with a
    /// notice that mentions only that member.
    InsteadOfDm { channel: u64, user: u64 },
}

/// Where alerts go: the port delivery drives (the console, Discord, a test's recorder).
///
/// Contract:
/// - `send` answers `Ok` only once the whole thing is out; a part posted before a failure
///   may be posted again on retry, so a sink must make a resend harmless (Discord: a nonce).
/// - `SendError::TargetBroken` for a [`Target::Dm`] means the member's DMs refused it;
///   delivery then sends it once more to [`Destination::InsteadOfDm`].
/// - A sink keeps no state of the outbox: delivery records what became of each send.
pub trait Sink: Send + Sync {
    fn send(
        &self,
        what: Outgoing<'_>,
        to: Destination<'_>,
    ) -> impl Future<Output = Result<Sent, SendError>> + Send;

    /// Another source reported the story of `original` (already delivered, as the messages
    /// `message_ids`): update what the members saw with "also covered by" `reports` (all of
    /// them so far, oldest first) instead of alerting again.
    fn update(
        &self,
        original: &Alert,
        message_ids: &[u64],
        reports: &[Alert],
    ) -> impl Future<Output = Result<Sent, SendError>> + Send;

    /// When `target` can take a message without waiting for its own rate limit (`None`:
    /// now, or unknown). The drain sets a busy target aside instead of waiting on it.
    fn ready_at(&self, _target: &str) -> Option<std::time::Instant> {
        None
    }

    /// Tells a server's admins, in their alert channel `channel`, that `broken` stopped
    /// taking messages. A sink without such a place does nothing.
    fn notify_admins(
        &self,
        _channel: &Target,
        _broken: &Target,
        _reason: &str,
    ) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }

    /// Posts a source-health notice (`/alerts log`): `text`, already escaped and fitted to
    /// Discord's limits, in the log channel `channel`, mentioning nobody. `event` identifies
    /// the event: a notice sent again after a crash must be harmless (Discord: a nonce).
    /// `Err` says why it could not; the notice is not retried (the next event of that source
    /// is). A sink without log channels (the console) does nothing.
    fn notify_health(
        &self,
        _channel: u64,
        _event: i64,
        _text: &str,
    ) -> impl Future<Output = Result<(), String>> + Send {
        std::future::ready(Ok(()))
    }
}

/// How the console sink prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A readable block per alert.
    Text,
    /// One JSON object per alert per line.
    Json,
}

/// Prints alerts to a writer (stdout in the binary).
pub struct ConsoleSink<W: Write + Send> {
    out: Mutex<W>,
    format: OutputFormat,
}

impl<W: Write + Send> ConsoleSink<W> {
    pub fn new(out: W, format: OutputFormat) -> Self {
        ConsoleSink {
            out: Mutex::new(out),
            format,
        }
    }

    fn write(&self, text: &str) -> Result<Sent, SendError> {
        let result = match self.out.lock() {
            Ok(mut out) => writeln!(out, "{text}")
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot write to the console: {e}")),
            Err(_) => Err("console writer poisoned".to_string()),
        };
        result
            .map(|()| Sent::default())
            .map_err(|reason| SendError::Retry { reason })
    }
}

impl<W: Write + Send> Sink for ConsoleSink<W> {
    fn send(
        &self,
        what: Outgoing<'_>,
        _to: Destination<'_>,
    ) -> impl Future<Output = Result<Sent, SendError>> + Send {
        let text = match (what, self.format) {
            (Outgoing::Alert(a), OutputFormat::Text) => a.to_text_block(),
            (Outgoing::Alert(a), OutputFormat::Json) => a.to_json_line(),
            (Outgoing::Digest(d), OutputFormat::Text) => d.to_text_block(),
            (Outgoing::Digest(d), OutputFormat::Json) => d.to_json_line(),
        };
        std::future::ready(self.write(&text))
    }

    fn update(
        &self,
        original: &Alert,
        _message_ids: &[u64],
        reports: &[Alert],
    ) -> impl Future<Output = Result<Sent, SendError>> + Send {
        let text = match self.format {
            OutputFormat::Text => {
                let reports: Vec<Report> = reports.iter().map(Report::from).collect();
                format!(
                    "== update to \"{}\" ({}): {}\n",
                    original.title,
                    original.source,
                    also_covered_line(&reports)
                )
            }
            OutputFormat::Json => {
                // One JSON object per alert: the newest report, marked as a duplicate story.
                let Some(latest) = reports.last() else {
                    return std::future::ready(Ok(Sent::default()));
                };
                let mut value: serde_json::Value =
                    serde_json::from_str(&latest.to_json_line()).unwrap_or_default();
                value["also_covers"] = serde_json::json!(original.title);
                value.to_string()
            }
        };
        std::future::ready(self.write(&text))
    }
}

/// What one drain did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DrainReport {
    pub delivered: usize,
    pub failed: usize,
    pub dropped: usize,
    /// Set when the sink said to stop everything (e.g. Discord rejected the token).
    pub fatal: Option<String>,
}

/// How long a suspended target waits before one delivery is tried again.
pub const BROKEN_TARGET_PROBE: chrono::Duration = chrono::Duration::minutes(30);

/// How long the deliverer sleeps after a pass: `retry` (the outbox's regular re-check), or
/// less when a held digest falls due sooner, so a 08:00 digest goes out at 08:00, not up to
/// `retry` later. A due time already past (a paused member's digest waits for `/resume`) is
/// not a reason to wake at once.
pub fn next_pass_in(
    now: DateTime<Utc>,
    next_digest_due: Option<DateTime<Utc>>,
    retry: std::time::Duration,
) -> std::time::Duration {
    next_digest_due
        .and_then(|due| (due - now).to_std().ok())
        .filter(|until| !until.is_zero())
        // A little after the due time, so the pass finds it due.
        .map_or(retry, |until| {
            retry.min(until + std::time::Duration::from_millis(50))
        })
}

/// [`next_pass_in`] with the store's next digest due time.
pub async fn next_pass_after(store: &Store, retry: std::time::Duration) -> std::time::Duration {
    let due = store.next_digest_due().await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read when the next digest is due");
        None
    });
    next_pass_in(Utc::now(), due, retry)
}

/// One pass of the deliverer: the store, the sink, the clock of the pass, and what it
/// learnt so far (targets to skip, reports already sent inside their first alert).
struct Pass<'a, S> {
    store: &'a Store,
    sink: &'a S,
    now: DateTime<Utc>,
    skip: HashSet<String>,
    merged: HashSet<OutboxId>,
    report: DrainReport,
}

/// Delivers every pending alert, oldest first, then the digests that are due. A target whose
/// delivery fails is skipped for the rest of this pass (its alerts stay pending, in order); a
/// suspended target is tried again once per [`BROKEN_TARGET_PROBE`].
pub async fn drain_outbox<S: Sink>(store: &Store, sink: &S) -> store::Result<DrainReport> {
    drain_outbox_at(store, sink, Utc::now()).await
}

/// [`drain_outbox`] as if the time were `now` (which digests are due, which suspended
/// targets are re-probed).
pub async fn drain_outbox_at<S: Sink>(
    store: &Store,
    sink: &S,
    now: DateTime<Utc>,
) -> store::Result<DrainReport> {
    let mut pass = Pass::start(store, sink, now).await?;
    if pass.alerts().await? {
        pass.digests().await?;
        deliver_health_notices(store, sink, now).await?;
    }
    Ok(pass.report)
}

/// Tells the log channels about every pending source event (`core::health`): one notice per
/// server that should hear of it, unless the rate limits hold it back (then it is counted
/// into that server's next notice, and logged). Each event is handled once.
pub async fn deliver_health_notices<S: Sink>(
    store: &Store,
    sink: &S,
    now: DateTime<Utc>,
) -> store::Result<()> {
    use crate::core::health::{notice_due, notice_text, Due, SAME_KIND_EVERY};
    for event in store.pending_source_events().await? {
        for log in store.log_channels_for(event.source_guild.clone()).await? {
            let (sent, held) = store
                .health_notices_since(log.guild.clone(), now - SAME_KIND_EVERY)
                .await?;
            let due = notice_due(&sent, event.source_id.0, event.kind, now);
            if due != Due::Send {
                tracing::info!(source = %event.source_name, kind = event.kind.as_str(), guild = %log.guild, ?due, "health notice held back by the rate limit");
                store
                    .record_health_notice(log.guild, event.source_id, event.kind, now, true)
                    .await?;
                continue;
            }
            let text = notice_text(event.kind, &event.source_name, &event.detail, held);
            match sink.notify_health(log.channel, event.id, &text).await {
                Ok(()) => {
                    store
                        .record_health_notice(log.guild, event.source_id, event.kind, now, false)
                        .await?;
                }
                Err(reason) => {
                    tracing::warn!(source = %event.source_name, channel = log.channel, %reason, "cannot post the health notice");
                }
            }
        }
        store.finish_source_event(event.id, now).await?;
    }
    Ok(())
}

/// Forms the digests due at `now` and delivers every pending one (the deliverer does this
/// after each outbox pass; tests call it with their own clock).
pub async fn deliver_due_digests<S: Sink>(
    store: &Store,
    sink: &S,
    now: DateTime<Utc>,
) -> store::Result<DrainReport> {
    let mut pass = Pass::start(store, sink, now).await?;
    pass.digests().await?;
    Ok(pass.report)
}

/// Targets suspended and not due for a re-probe at `now`.
fn still_suspended(broken: Vec<store::BrokenTarget>, now: DateTime<Utc>) -> HashSet<String> {
    broken
        .into_iter()
        .filter(|t| t.probed_at.is_none_or(|p| now - p < BROKEN_TARGET_PROBE))
        .map(|t| t.target)
        .collect()
}

impl<'a, S: Sink> Pass<'a, S> {
    async fn start(store: &'a Store, sink: &'a S, now: DateTime<Utc>) -> store::Result<Self> {
        Ok(Pass {
            store,
            sink,
            now,
            skip: still_suspended(store.suspended_targets().await?, now),
            merged: HashSet::new(),
            report: DrainReport::default(),
        })
    }

    /// The outbox, oldest first. Returns `false` when delivery must stop (fatal).
    async fn alerts(&mut self) -> store::Result<bool> {
        let mut after = OutboxId(0);
        loop {
            let batch = self.store.pending_alerts(after, 1000).await?;
            let Some(last) = batch.last() else {
                return Ok(true);
            };
            after = OutboxId(last.id);
            if !self.batch(batch.into()).await? {
                return Ok(false);
            }
        }
    }

    /// One request at a time, in outbox order — except that a target which cannot take a
    /// message yet (its rate-limit window is full) is set aside with all its later alerts,
    /// so it never holds up the others; each target keeps its own order.
    async fn batch(&mut self, mut work: VecDeque<Alert>) -> store::Result<bool> {
        loop {
            let mut waiting = Vec::new();
            let mut blocked = HashSet::new();
            let mut earliest: Option<std::time::Instant> = None;
            let mut progressed = false;
            while let Some(alert) = work.pop_front() {
                if self.skip.contains(&alert.target) || self.merged.contains(&OutboxId(alert.id)) {
                    continue;
                }
                if blocked.contains(&alert.target) {
                    waiting.push(alert);
                    continue;
                }
                if let Some(at) = self
                    .sink
                    .ready_at(&alert.target)
                    .filter(|at| *at > std::time::Instant::now())
                {
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                    blocked.insert(alert.target.clone());
                    waiting.push(alert);
                    continue;
                }
                if !self.alert(alert).await? {
                    return Ok(false);
                }
                progressed = true;
            }
            if waiting.is_empty() {
                return Ok(true);
            }
            if !progressed {
                if let Some(at) = earliest {
                    tokio::time::sleep_until(at.into()).await;
                }
            }
            work = waiting.into();
        }
    }

    /// One alert: a first report goes out with the later reports still pending inside it; a
    /// later report of a story already out updates it.
    async fn alert(&mut self, mut alert: Alert) -> store::Result<bool> {
        if let Some(original) = alert.also_of {
            let update = self
                .store
                .story_update(OutboxId(original), OutboxId(alert.id))
                .await?;
            match update.first {
                Some(first) if update.first_delivered => {
                    let result = self
                        .sink
                        .update(&first, &update.message_ids, &update.reports)
                        .await;
                    return self
                        .record(Outgoing::Alert(&alert), result, Vec::new())
                        .await;
                }
                // The first alert never went out (dropped): this one is an alert of its own.
                _ => {}
            }
        }
        let reports = self.store.pending_reports_of(OutboxId(alert.id)).await?;
        alert.also_covered = reports.iter().map(Report::from).collect();
        let merged: Vec<OutboxId> = reports.iter().map(|r| OutboxId(r.id)).collect();
        let result = self.send(Outgoing::Alert(&alert)).await?;
        if result.is_ok() {
            self.merged.extend(merged.iter().copied());
        }
        self.record(Outgoing::Alert(&alert), result, merged).await
    }

    /// Forms the digests due now and delivers every pending one, oldest first. Targets
    /// skipped in this pass keep their digests for later.
    async fn digests(&mut self) -> store::Result<()> {
        self.store.form_due_digests(self.now).await?;
        let mut after = 0_i64;
        loop {
            let batch = self.store.pending_digests(after, 50).await?;
            if batch.is_empty() {
                return Ok(());
            }
            for digest in batch {
                after = digest.id;
                if self.skip.contains(&digest.target) {
                    continue;
                }
                let result = self.send(Outgoing::Digest(&digest)).await?;
                if !self
                    .record(Outgoing::Digest(&digest), result, Vec::new())
                    .await?
                {
                    return Ok(());
                }
            }
        }
    }

    /// Sends to the target; a member's refused DM goes to their server's alert channel
    /// instead, with a notice for them.
    async fn send(&self, what: Outgoing<'_>) -> store::Result<Result<Sent, SendError>> {
        let target = Target::parse(what.target());
        let first = self.sink.send(what, Destination::Target(&target)).await;
        let (Target::Dm(user), Err(SendError::TargetBroken { reason })) = (&target, &first) else {
            return Ok(first);
        };
        let Some(Target::Channel(channel)) = self
            .store
            .fallback_channel(what.target().to_string())
            .await?
        else {
            return Ok(Err(SendError::Rejected {
                reason: format!("{reason}; no server alert channel to fall back to"),
            }));
        };
        let to = Destination::InsteadOfDm {
            channel,
            user: *user,
        };
        Ok(match self.sink.send(what, to).await {
            Err(
                SendError::TargetBroken { reason: second } | SendError::Rejected { reason: second },
            ) => Err(SendError::Rejected {
                reason: format!("{reason}; the fallback failed too: {second}"),
            }),
            other => other,
        })
    }

    /// Records what became of one delivery and updates the pass: a failing or broken target
    /// is skipped for the rest of it. Returns `false` when delivery must stop (fatal).
    async fn record(
        &mut self,
        what: Outgoing<'_>,
        result: Result<Sent, SendError>,
        merged: Vec<OutboxId>,
    ) -> store::Result<bool> {
        let (id, target) = (what.id(), what.target().to_string());
        let m = crate::ops::metrics::metrics();
        m.alert(match &result {
            Ok(_) => AlertOutcome::delivered,
            Err(SendError::Rejected { .. }) => AlertOutcome::dropped,
            Err(_) => AlertOutcome::failed,
        });
        match result {
            Ok(sent) => {
                self.store
                    .record_sent(id, target, sent.message_ids, merged, Utc::now())
                    .await?;
                self.report.delivered += 1;
            }
            Err(SendError::Retry { reason }) => {
                tracing::warn!(?id, %target, %reason, "delivery failed; will retry");
                self.store.record_failed_attempt(id, reason).await?;
                self.skip.insert(target);
                self.report.failed += 1;
            }
            Err(SendError::TargetBroken { reason }) => {
                tracing::warn!(?id, %target, %reason, "target suspended; what it was to get is kept");
                let newly = self
                    .store
                    .suspend_target(id, target.clone(), reason.clone(), Utc::now())
                    .await?;
                if newly {
                    self.tell_admins(&target, &reason).await;
                }
                self.skip.insert(target);
                self.report.failed += 1;
            }
            Err(SendError::Rejected { reason }) => {
                tracing::warn!(?id, %target, %reason, "dropped");
                self.store.record_dropped(id, reason, Utc::now()).await?;
                self.report.dropped += 1;
            }
            Err(SendError::Fatal { reason }) => {
                self.store.record_failed_attempt(id, reason.clone()).await?;
                self.report.fatal = Some(reason);
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Tells the admins of every server using `broken` in their alert channel, when that is
    /// another channel.
    async fn tell_admins(&self, broken: &str, reason: &str) {
        let channels = self
            .store
            .alert_channels_of(broken.to_string())
            .await
            .unwrap_or_default();
        let broken_target = Target::parse(broken);
        for channel in channels {
            if channel != broken_target {
                self.sink
                    .notify_admins(&channel, &broken_target, reason)
                    .await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::time::Duration;

    /// Records the health notices it was given.
    #[derive(Default)]
    struct Notices(Mutex<Vec<(u64, String)>>);

    impl Sink for Notices {
        async fn send(&self, _: Outgoing<'_>, _: Destination<'_>) -> Result<Sent, SendError> {
            Ok(Sent::default())
        }

        async fn update(&self, _: &Alert, _: &[u64], _: &[Alert]) -> Result<Sent, SendError> {
            Ok(Sent::default())
        }

        async fn notify_health(&self, channel: u64, _event: i64, text: &str) -> Result<(), String> {
            self.0.lock().unwrap().push((channel, text.to_string()));
            Ok(())
        }
    }

    fn gone() -> store::PollFailure {
        store::PollFailure {
            error: "410".into(),
            next_check_at: None,
            paused_reason: Some("gone (HTTP 410)".into()),
        }
    }

    #[tokio::test]
    async fn health_notices_stop_at_the_server_limit_and_count_the_rest_into_the_next() {
        use crate::core::health::PER_SERVER_PER_HOUR;
        let store = crate::store::testing::test_store_async().await;
        store
            .set_log_channel("1", Some(&Target::Channel(10)))
            .await
            .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        for i in 0..=PER_SERVER_PER_HOUR {
            let id = store.insert_test_source(&format!("S{i}"), None).await;
            store.record_poll_failure(id, now, gone()).await.unwrap();
        }
        let sink = Notices::default();
        deliver_health_notices(&store, &sink, now).await.unwrap();
        assert_eq!(sink.0.lock().unwrap().len(), PER_SERVER_PER_HOUR);
        // Every event was handled: another pass sends nothing.
        deliver_health_notices(&store, &sink, now).await.unwrap();
        assert_eq!(sink.0.lock().unwrap().len(), PER_SERVER_PER_HOUR);
        // An hour later the next notice goes out and says one was held back.
        let later = now + chrono::Duration::minutes(61);
        let id = store.insert_test_source("Late", None).await;
        store.record_poll_failure(id, later, gone()).await.unwrap();
        deliver_health_notices(&store, &sink, later).await.unwrap();
        let sent = sink.0.lock().unwrap();
        assert_eq!(sent.len(), PER_SERVER_PER_HOUR + 1);
        let (channel, text) = sent.last().unwrap();
        assert_eq!(*channel, 10);
        assert!(text.contains("**Late** paused"), "{text}");
        assert!(text.contains("1 earlier notice was held back"), "{text}");
    }

    #[tokio::test]
    async fn a_servers_own_source_is_told_only_there() {
        let store = crate::store::testing::test_store_async().await;
        for (guild, channel) in [("1", 10), ("2", 20)] {
            store
                .set_log_channel(guild, Some(&Target::Channel(channel)))
                .await
                .unwrap();
        }
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let own = store.insert_test_source("Own", Some("2")).await;
        let config = store.insert_test_source("Shared", None).await;
        store.record_poll_failure(own, now, gone()).await.unwrap();
        store
            .record_poll_failure(config, now, gone())
            .await
            .unwrap();
        let sink = Notices::default();
        deliver_health_notices(&store, &sink, now).await.unwrap();
        let sent: Vec<(u64, bool)> = sink
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(c, t)| (*c, t.contains("Own")))
            .collect();
        assert_eq!(sent, [(20, true), (10, false), (20, false)]);
    }

    #[test]
    fn the_deliverer_wakes_for_a_digest_due_before_its_regular_check() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 7, 59, 50).unwrap();
        let retry = Duration::from_secs(30);
        let eight = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        // Due in 10 s: wake then (just after), not 30 s from now.
        let wait = next_pass_in(now, Some(eight), retry);
        assert!(
            wait >= Duration::from_secs(10) && wait < Duration::from_secs(11),
            "{wait:?}"
        );
        // Due later than the regular check, or nothing held: the regular check.
        let later = Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap();
        assert_eq!(next_pass_in(now, Some(later), retry), retry);
        assert_eq!(next_pass_in(now, None, retry), retry);
        // Already past (a paused member's digest): no busy loop.
        let past = Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap();
        assert_eq!(next_pass_in(now, Some(past), retry), retry);
        assert_eq!(next_pass_in(eight, Some(eight), retry), retry);
    }
}
