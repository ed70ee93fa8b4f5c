//! Draining the outbox into a sink: an alert is marked delivered only after the sink accepted
//! it, so a crash in between delivers it again rather than losing it.

use std::future::Future;
use std::io::Write;
use std::sync::Mutex;

use chrono::Utc;

use crate::core::alert::Alert;
use crate::core::digest::Digest;
use crate::store::{self, Store};

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Safely out: mark the alert delivered.
    Delivered,
    /// Transient trouble (rate limit, 5xx, network): the alert stays pending, the target is
    /// skipped for the rest of this pass.
    Retry { reason: String },
    /// The target cannot take messages (deleted channel, missing permissions): its alerts are
    /// kept and the target is suspended until it is fixed or re-probed.
    TargetBroken { reason: String },
    /// This alert can never be delivered as it is: recorded as dropped with the reason.
    Rejected { reason: String },
    /// Stop delivering altogether (bad token).
    Fatal { reason: String },
}

/// Where alerts go. `deliver` says `Delivered` only once the alert is safely out.
pub trait Sink: Send + Sync {
    fn deliver(&self, alert: &Alert) -> impl Future<Output = Delivery> + Send;

    /// Another source reported the story of `original` (already delivered to the same
    /// target): update what the members saw with "also covered by" `reports` (all of them so
    /// far, oldest first) instead of alerting again.
    fn also_covered(
        &self,
        original: &Alert,
        reports: &[Alert],
    ) -> impl Future<Output = Delivery> + Send;

    /// When `target` can take a message without waiting for its own rate limit (`None`:
    /// now, or unknown). The drain sets a busy target aside instead of waiting on it.
    fn ready_at(&self, _target: &str) -> Option<std::time::Instant> {
        None
    }

    /// Delivers a member's digest (items held for an hourly or daily digest, during quiet
    /// hours, or over the hourly cap). `Delivered` only once all of it is out.
    fn deliver_digest(&self, digest: &Digest) -> impl Future<Output = Delivery> + Send;
}

/// "Also covered by: Source (link), Source (link)".
pub fn also_covered_line(reports: &[Alert]) -> String {
    let parts: Vec<String> = reports
        .iter()
        .map(|r| match &r.link {
            Some(link) => format!("{} ({link})", r.source),
            None => r.source.clone(),
        })
        .collect();
    format!("Also covered by: {}", parts.join(", "))
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
}

impl<W: Write + Send> ConsoleSink<W> {
    fn write(&self, text: &str) -> Delivery {
        let result = match self.out.lock() {
            Ok(mut out) => writeln!(out, "{text}")
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot write to the console: {e}")),
            Err(_) => Err("console writer poisoned".to_string()),
        };
        match result {
            Ok(()) => Delivery::Delivered,
            Err(reason) => Delivery::Retry { reason },
        }
    }
}

impl<W: Write + Send> Sink for ConsoleSink<W> {
    fn also_covered(
        &self,
        original: &Alert,
        reports: &[Alert],
    ) -> impl Future<Output = Delivery> + Send {
        let text = match self.format {
            OutputFormat::Text => format!(
                "== update to \"{}\" ({}): {}\n",
                original.title,
                original.source,
                also_covered_line(reports)
            ),
            OutputFormat::Json => {
                // One JSON object per alert: the newest report, marked as a duplicate story.
                let Some(latest) = reports.last() else {
                    return std::future::ready(Delivery::Delivered);
                };
                let mut value: serde_json::Value =
                    serde_json::from_str(&latest.to_json_line()).unwrap_or_default();
                value["also_covers"] = serde_json::json!(original.title);
                value.to_string()
            }
        };
        std::future::ready(self.write(&text))
    }

    fn deliver(&self, alert: &Alert) -> impl Future<Output = Delivery> + Send {
        let text = match self.format {
            OutputFormat::Text => alert.to_text_block(),
            OutputFormat::Json => alert.to_json_line(),
        };
        std::future::ready(self.write(&text))
    }

    fn deliver_digest(&self, digest: &Digest) -> impl Future<Output = Delivery> + Send {
        let text = match self.format {
            OutputFormat::Text => digest.to_text_block(),
            OutputFormat::Json => digest.to_json_line(),
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

/// How long a suspended target waits before one alert is tried again.
pub const BROKEN_TARGET_PROBE: chrono::Duration = chrono::Duration::minutes(30);

/// How long the deliverer sleeps after a pass: `retry` (the outbox's regular re-check), or
/// less when a held digest falls due sooner, so a 08:00 digest goes out at 08:00, not up to
/// `retry` later. A due time already past (a paused member's digest waits for `/resume`) is
/// not a reason to wake at once.
pub fn next_pass_in(
    now: chrono::DateTime<Utc>,
    next_digest_due: Option<chrono::DateTime<Utc>>,
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
    let due = store
        .call(|c| store::digest::next_digest_due(c))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read when the next digest is due");
            None
        });
    next_pass_in(Utc::now(), due, retry)
}

/// Delivers every pending alert, oldest first, then the digests that are due. A target whose delivery fails is skipped for the
/// rest of this pass (its alerts stay pending, in order); a suspended target is tried again
/// once per [`BROKEN_TARGET_PROBE`].
pub async fn drain_outbox<S: Sink>(store: &Store, sink: &S) -> store::Result<DrainReport> {
    drain_outbox_at(store, sink, Utc::now()).await
}

/// [`drain_outbox`] as if the time were `now` (which digests are due, which suspended
/// targets are re-probed).
pub async fn drain_outbox_at<S: Sink>(
    store: &Store,
    sink: &S,
    now: chrono::DateTime<Utc>,
) -> store::Result<DrainReport> {
    let mut report = DrainReport::default();
    let mut skip = suspended_targets(store, now).await?;
    let mut after = 0_i64;
    loop {
        let batch = store
            .call(move |c| store::pending_alerts_after(c, after, 1000))
            .await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.id;
        // One request at a time, in outbox order — except that a target which cannot take a
        // message yet (its rate-limit window is full) is set aside with all its later alerts,
        // so it never holds up the others; each target keeps its own order.
        let mut work: std::collections::VecDeque<Alert> = batch.into();
        loop {
            let mut waiting = Vec::new();
            let mut blocked = std::collections::HashSet::new();
            let mut earliest: Option<std::time::Instant> = None;
            let mut progressed = false;
            while let Some(alert) = work.pop_front() {
                if skip.contains(&alert.target) {
                    continue;
                }
                if blocked.contains(&alert.target) {
                    waiting.push(alert);
                    continue;
                }
                if let Some(at) = sink
                    .ready_at(&alert.target)
                    .filter(|at| *at > std::time::Instant::now())
                {
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                    blocked.insert(alert.target.clone());
                    waiting.push(alert);
                    continue;
                }
                if deliver_one(store, sink, alert, &mut skip, &mut report).await? {
                    return Ok(report);
                }
                progressed = true;
            }
            if waiting.is_empty() {
                break;
            }
            if !progressed {
                if let Some(at) = earliest {
                    tokio::time::sleep_until(at.into()).await;
                }
            }
            work = waiting.into();
        }
    }
    drain_digests(store, sink, now, &mut skip, &mut report).await?;
    Ok(report)
}

/// Delivers one alert and records the outcome. Returns `true` when delivery must stop
/// altogether (fatal).
async fn deliver_one<S: Sink>(
    store: &Store,
    sink: &S,
    alert: Alert,
    skip: &mut std::collections::HashSet<String>,
    report: &mut DrainReport,
) -> store::Result<bool> {
    let outcome = match alert.also_of {
        Some(original) => deliver_also(store, sink, &alert, original).await?,
        None => sink.deliver(&alert).await,
    };
    record_outcome(
        store,
        Kind::Alert,
        alert.id,
        &alert.target,
        outcome,
        skip,
        report,
    )
    .await
}

/// What was delivered: an outbox alert or a digest (each has its own table).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Alert,
    Digest,
}

impl Kind {
    fn mark_delivered(self, c: &rusqlite::Connection, id: i64) -> store::Result<()> {
        match self {
            Kind::Alert => store::mark_delivered(c, id, Utc::now()),
            Kind::Digest => store::digest::mark_digest_delivered(c, id, Utc::now()),
        }
    }

    fn mark_failed(self, c: &rusqlite::Connection, id: i64, reason: &str) -> store::Result<()> {
        match self {
            Kind::Alert => store::mark_attempt_failed(c, id, reason),
            Kind::Digest => store::digest::mark_digest_failed(c, id, reason),
        }
    }

    fn mark_dropped(self, c: &rusqlite::Connection, id: i64, reason: &str) -> store::Result<()> {
        match self {
            Kind::Alert => store::mark_dropped(c, id, reason, Utc::now()),
            Kind::Digest => store::digest::mark_digest_dropped(c, id, reason, Utc::now()),
        }
    }
}

/// Records what became of one delivery (alert or digest) and updates the pass: a failing or
/// broken target is skipped for the rest of it. Returns `true` when delivery must stop
/// altogether (fatal).
async fn record_outcome(
    store: &Store,
    kind: Kind,
    id: i64,
    target: &str,
    outcome: Delivery,
    skip: &mut std::collections::HashSet<String>,
    report: &mut DrainReport,
) -> store::Result<bool> {
    let owned = target.to_string();
    match outcome {
        Delivery::Delivered => {
            store
                .call(move |c| {
                    kind.mark_delivered(c, id)?;
                    store::mark_target_ok(c, &owned)
                })
                .await?;
            report.delivered += 1;
        }
        Delivery::Retry { reason } => {
            tracing::warn!(?kind, id, target, %reason, "delivery failed; will retry");
            store
                .call(move |c| kind.mark_failed(c, id, &reason))
                .await?;
            skip.insert(target.to_string());
            report.failed += 1;
        }
        Delivery::TargetBroken { reason } => {
            tracing::warn!(?kind, id, target, %reason, "target suspended; what it was to get is kept");
            store
                .call(move |c| {
                    kind.mark_failed(c, id, &reason)?;
                    store::mark_target_broken(c, &owned, &reason, Utc::now())
                })
                .await?;
            skip.insert(target.to_string());
            report.failed += 1;
        }
        Delivery::Rejected { reason } => {
            tracing::warn!(?kind, id, target, %reason, "dropped");
            store
                .call(move |c| kind.mark_dropped(c, id, &reason))
                .await?;
            report.dropped += 1;
        }
        Delivery::Fatal { reason } => {
            store
                .call({
                    let reason = reason.clone();
                    move |c| kind.mark_failed(c, id, &reason)
                })
                .await?;
            report.fatal = Some(reason);
            return Ok(true);
        }
    }
    Ok(false)
}

/// Targets suspended and not due for a re-probe at `now`.
async fn suspended_targets(
    store: &Store,
    now: chrono::DateTime<Utc>,
) -> store::Result<std::collections::HashSet<String>> {
    Ok(store
        .call(|c| store::broken_targets(c))
        .await?
        .into_iter()
        .filter(|t| t.probed_at.is_none_or(|p| now - p < BROKEN_TARGET_PROBE))
        .map(|t| t.target)
        .collect())
}

/// Forms the digests due at `now` and delivers every pending one (the deliverer does this
/// after each outbox pass; tests call it with their own clock).
pub async fn deliver_due_digests<S: Sink>(
    store: &Store,
    sink: &S,
    now: chrono::DateTime<Utc>,
) -> store::Result<DrainReport> {
    let mut report = DrainReport::default();
    let mut skip = suspended_targets(store, now).await?;
    drain_digests(store, sink, now, &mut skip, &mut report).await?;
    Ok(report)
}

/// Forms the digests due at `now` and delivers every pending one, oldest first. Targets in
/// `skip` (suspended, or failing this pass) keep their digests for later.
async fn drain_digests<S: Sink>(
    store: &Store,
    sink: &S,
    now: chrono::DateTime<Utc>,
    skip: &mut std::collections::HashSet<String>,
    report: &mut DrainReport,
) -> store::Result<()> {
    use crate::store::digest as d;
    store.call(move |c| d::form_due_digests(c, now)).await?;
    let mut after = 0_i64;
    loop {
        let batch = store
            .call(move |c| d::pending_digests_after(c, after, 50))
            .await?;
        if batch.is_empty() {
            return Ok(());
        }
        for digest in batch {
            let id = digest.id;
            after = id;
            if skip.contains(&digest.target) {
                continue;
            }
            let outcome = sink.deliver_digest(&digest).await;
            if record_outcome(
                store,
                Kind::Digest,
                id,
                &digest.target,
                outcome,
                skip,
                report,
            )
            .await?
            {
                return Ok(());
            }
        }
    }
}

/// Delivers a later report of an already-alerted story as an update of the first alert; if
/// the first alert never went out (dropped), as an alert of its own.
async fn deliver_also<S: Sink>(
    store: &Store,
    sink: &S,
    alert: &Alert,
    original: i64,
) -> store::Result<Delivery> {
    let current = alert.id;
    let (first, delivered, reports) = store
        .call(move |c| {
            Ok((
                store::alert_by_id(c, original)?,
                store::is_delivered(c, original)?,
                store::also_covered(c, original, current)?,
            ))
        })
        .await?;
    Ok(match first {
        Some(first) if delivered => sink.also_covered(&first, &reports).await,
        _ => sink.deliver(alert).await,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::time::Duration;

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
