//! The process's Prometheus metrics: one registry, defined here and only here.
//!
//! The adapters count what they see (`pipeline.rs` polls and items, `delivery.rs` alerts,
//! `discord/rest.rs` Discord's answers, `subscriptions` loads) with one-line calls on
//! [`metrics()`]; `/metrics` adds the gauges read from the store at scrape time (outbox
//! backlog, sources by state) and encodes everything in the Prometheus text format.
//!
//! One registry per process is the model Prometheus itself uses (a process is one scrape
//! target), so the handle is a process-wide static rather than a parameter threaded through
//! every adapter. Counting costs an atomic add whether or not `[http]` is on.

use std::sync::LazyLock;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// How a poll ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum PollResult {
    ok,
    unchanged,
    error,
}

/// What kind of failure an `error` poll was (empty for the others).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum FailureKind {
    none,
    /// The server answered with an error status.
    http,
    /// No answer: DNS, connect, TLS, timeout, body limits, refused address.
    network,
    /// The body was not a feed.
    parse,
    /// newshound's own fault (store, a crash caught per source).
    internal,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PollLabels {
    pub outcome: PollResult,
    pub kind: FailureKind,
}

/// What became of an alert or digest message.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum AlertOutcome {
    /// Accepted by the sink (Discord or the console).
    delivered,
    /// Not accepted this time; kept and retried.
    failed,
    /// Given up (a 400 even after the minimal fallback), with the reason recorded.
    dropped,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabels {
    pub outcome: AlertOutcome,
}

/// What became of a request to a WebSub callback (`/websub/...`).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum PushResult {
    /// Signed, taken through the pipeline.
    accepted,
    /// No `X-Hub-Signature`, a malformed one, or one that does not match the body.
    bad_signature,
    /// A callback id no subscription has, or one not (yet) verified.
    unknown_topic,
    /// Larger than `sources::websub::MAX_PUSH_BYTES`.
    too_large,
    /// The queue of pushes waiting for the pipeline was full (the hub retries).
    busy,
    /// Signed, but not a feed.
    not_a_feed,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PushLabels {
    pub result: PushResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// The HTTP status Discord answered (`429`, `200`...), or `none` without an answer.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

/// Every metric newshound exports.
pub struct Metrics {
    pub polls: Family<PollLabels, Counter>,
    pub items_seen: Counter,
    pub items_new: Counter,
    pub alerts_written: Counter,
    pub alerts: Family<AlertLabels, Counter>,
    pub discord_responses: Family<StatusLabels, Counter>,
    pub poll_duration: Histogram,
    pub match_duration: Histogram,
    pub subscriptions_loaded: Gauge,
    pub matcher_rebuilds: Counter,
    pub outbox_pending: Gauge,
    pub outbox_oldest_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub sources: Family<StateLabels, Gauge>,
    pub pushes: Family<PushLabels, Counter>,
    registry: Registry,
}

impl Metrics {
    #[expect(
        clippy::too_many_lines,
        reason = "one registration per metric, in one list that reads like the /metrics page"
    )]
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("newshound");
        let polls = Family::<PollLabels, Counter>::default();
        registry.register(
            "polls",
            "Source polls by outcome (ok, unchanged, error) and failure kind",
            polls.clone(),
        );
        let items_seen = registered(
            &mut registry,
            "items_seen",
            "Items read from parsed feeds (every item of every changed document)",
            Counter::default(),
        );
        let items_new = registered(
            &mut registry,
            "items_new",
            "Items never seen before for their source",
            Counter::default(),
        );
        let alerts_written = registered(
            &mut registry,
            "alerts_written",
            "Alerts written to the outbox (one per item per target)",
            Counter::default(),
        );
        let alerts = Family::<AlertLabels, Counter>::default();
        registry.register(
            "alerts",
            "Alert and digest deliveries by outcome (delivered, failed and kept, dropped)",
            alerts.clone(),
        );
        let discord_responses = Family::<StatusLabels, Counter>::default();
        registry.register(
            "discord_responses",
            "Discord REST answers to delivery requests by HTTP status (429 = rate-limited)",
            discord_responses.clone(),
        );
        let poll_duration = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register_with_unit(
            "poll_duration",
            "Wall time of one poll, fetch to commit",
            Unit::Seconds,
            poll_duration.clone(),
        );
        let match_duration = Histogram::new(exponential_buckets(0.000_001, 4.0, 12));
        registry.register_with_unit(
            "match_duration",
            "Matching time per new item against every loaded subscription",
            Unit::Seconds,
            match_duration.clone(),
        );
        let subscriptions_loaded = Gauge::default();
        registry.register(
            "subscriptions_loaded",
            "Subscriptions in the live compiled matcher",
            subscriptions_loaded.clone(),
        );
        let matcher_rebuilds = Counter::default();
        registry.register(
            "matcher_rebuilds",
            "Full and scoped reloads of the compiled matcher",
            matcher_rebuilds.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_pending",
            "Alerts waiting in the outbox (read from the store at scrape time)",
            outbox_pending.clone(),
        );
        let outbox_oldest_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register_with_unit(
            "outbox_oldest_pending_age",
            "Age of the oldest pending alert (0 when none)",
            Unit::Seconds,
            outbox_oldest_age.clone(),
        );
        let sources = Family::<StateLabels, Gauge>::default();
        registry.register(
            "sources",
            "Sources by state (new, ok, damaged, backoff, paused)",
            sources.clone(),
        );
        let pushes = registered(
            &mut registry,
            "websub_pushes",
            "WebSub deliveries to the callback by result (accepted, bad_signature, unknown_topic, too_large, busy, not_a_feed)",
            Family::<PushLabels, Counter>::default(),
        );
        Metrics {
            polls,
            items_seen,
            items_new,
            alerts_written,
            alerts,
            discord_responses,
            poll_duration,
            match_duration,
            subscriptions_loaded,
            matcher_rebuilds,
            outbox_pending,
            outbox_oldest_age,
            sources,
            pushes,
            registry,
        }
    }

    /// Counts one poll that ended `ok` or `unchanged`.
    pub fn poll_done(&self, outcome: PollResult) {
        self.polls
            .get_or_create(&PollLabels {
                outcome,
                kind: FailureKind::none,
            })
            .inc();
    }

    /// Counts one failed poll.
    pub fn polls_failed(&self, kind: FailureKind) {
        self.polls
            .get_or_create(&PollLabels {
                outcome: PollResult::error,
                kind,
            })
            .inc();
    }

    /// Counts one WebSub delivery by what became of it.
    pub fn push_result(&self, result: PushResult) {
        self.pushes.get_or_create(&PushLabels { result }).inc();
    }

    /// Counts one delivery outcome.
    pub fn alert(&self, outcome: AlertOutcome) {
        self.alerts.get_or_create(&AlertLabels { outcome }).inc();
    }

    /// Counts one answer from Discord (`None`: no answer at all).
    pub fn discord_response(&self, status: Option<u16>) {
        let status = status.map_or_else(|| "none".to_string(), |s| s.to_string());
        self.discord_responses
            .get_or_create(&StatusLabels { status })
            .inc();
    }

    /// Sets the scrape-time gauges from what the store says now: the backlog, and each
    /// source's state (one entry per source).
    pub fn set_backlog(&self, pending: u64, oldest_age_seconds: f64, source_states: &[&str]) {
        self.outbox_pending.set(pending as i64);
        self.outbox_oldest_age.set(oldest_age_seconds);
        for state in ["new", "ok", "damaged", "backoff", "paused"] {
            let count = source_states.iter().filter(|s| **s == state).count();
            self.sources
                .get_or_create(&StateLabels {
                    state: state.to_string(),
                })
                .set(count as i64);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Registers `metric` under `name` and hands it back.
fn registered<M: prometheus_client::registry::Metric + Clone>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    metric: M,
) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        let m = Metrics::new();
        m.polls_failed(FailureKind::http);
        m.poll_duration.observe(0.2);
        m.alert(AlertOutcome::delivered);
        m.discord_response(Some(429));
        m.set_backlog(3, 12.5, &["ok", "ok", "paused"]);
        let text = m.encode();
        for line in [
            "newshound_polls_total{outcome=\"error\",kind=\"http\"} 1",
            "newshound_alerts_total{outcome=\"delivered\"} 1",
            "newshound_discord_responses_total{status=\"429\"} 1",
            "newshound_outbox_pending 3",
            "newshound_outbox_oldest_pending_age_seconds 12.5",
            "newshound_sources{state=\"paused\"} 1",
            "newshound_sources{state=\"backoff\"} 0",
            "newshound_poll_duration_seconds_count 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in\n{text}"
            );
        }
        assert!(text.trim_end().ends_with("# EOF"));
    }
}
