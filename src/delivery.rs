//! Draining the outbox into a sink: an alert is marked delivered only after the sink accepted
//! it, so a crash in between delivers it again rather than losing it.

use std::future::Future;
use std::io::Write;
use std::sync::Mutex;

use chrono::Utc;

use crate::core::alert::Alert;
use crate::store::{self, Store};

/// Where alerts go. `deliver` returns `Ok` only once the alert is safely out.
pub trait Sink: Send + Sync {
    fn deliver(&self, alert: &Alert) -> impl Future<Output = Result<(), String>> + Send;
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

impl<W: Write + Send> Sink for ConsoleSink<W> {
    fn deliver(&self, alert: &Alert) -> impl Future<Output = Result<(), String>> + Send {
        let text = match self.format {
            OutputFormat::Text => alert.to_text_block(),
            OutputFormat::Json => alert.to_json_line(),
        };
        let result = match self.out.lock() {
            Ok(mut out) => writeln!(out, "{text}")
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot write to the console: {e}")),
            Err(_) => Err("console writer poisoned".to_string()),
        };
        std::future::ready(result)
    }
}

/// What one drain did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    pub delivered: usize,
    pub failed: usize,
}

/// Delivers every pending alert, oldest first. A target whose delivery fails is skipped for the
/// rest of this drain (its alerts stay pending, in order).
pub async fn drain_outbox<S: Sink>(store: &Store, sink: &S) -> store::Result<DrainReport> {
    let mut report = DrainReport::default();
    let mut broken_targets = std::collections::HashSet::new();
    let mut after = 0_i64;
    loop {
        let batch = store
            .call(move |c| store::pending_alerts_after(c, after, 200))
            .await?;
        if batch.is_empty() {
            break;
        }
        for alert in batch {
            after = alert.id;
            if broken_targets.contains(&alert.target) {
                continue;
            }
            let id = alert.id;
            match sink.deliver(&alert).await {
                Ok(()) => {
                    store
                        .call(move |c| store::mark_delivered(c, id, Utc::now()))
                        .await?;
                    report.delivered += 1;
                }
                Err(error) => {
                    tracing::warn!(outbox_id = id, target = %alert.target, error = %error, "delivery failed; will retry");
                    store
                        .call(move |c| store::mark_attempt_failed(c, id, &error))
                        .await?;
                    broken_targets.insert(alert.target.clone());
                    report.failed += 1;
                }
            }
        }
    }
    Ok(report)
}
