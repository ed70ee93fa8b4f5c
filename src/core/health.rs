//! Source-health notices (`/alerts log`): which events a recorded poll outcome starts
//! (paused, failing, moved, silent, back to normal), whether a notice for one is due under the
//! rate limits, and its text. Pure: the store records what these functions decide.

use chrono::{DateTime, Duration, Utc};

use crate::core::limits::{escape_markdown, NOTICE_MAX};
use crate::core::model::SourceState;
use crate::core::summary::truncate_at_boundary;

/// What happened to a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Not polled until someone acts (HTTP 410 Gone).
    Paused,
    /// [`FAILING_AFTER`] polls in a row failed; it keeps retrying with back-off.
    Failing,
    /// A permanent redirect replaced the stored URL.
    Moved,
    /// No new item for [`SILENT_FACTOR`] times its usual gap.
    Silent,
    /// The first good poll after paused / failing / silent.
    Recovered,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Paused => "paused",
            EventKind::Failing => "failing",
            EventKind::Moved => "moved",
            EventKind::Silent => "silent",
            EventKind::Recovered => "recovered",
        }
    }

    /// Reads the stored form; `None` for anything unknown (a newer version's kind).
    pub fn parse(text: &str) -> Option<EventKind> {
        match text {
            "paused" => Some(EventKind::Paused),
            "failing" => Some(EventKind::Failing),
            "moved" => Some(EventKind::Moved),
            "silent" => Some(EventKind::Silent),
            "recovered" => Some(EventKind::Recovered),
            _ => None,
        }
    }
}

/// This many failed polls in a row make a source "failing" (a single blip says nothing).
pub const FAILING_AFTER: u32 = 3;
/// A source is silent after this many times its usual gap between new items.
pub const SILENT_FACTOR: i32 = 5;
/// The usual gap is only known once this many polls brought new items (the first included).
pub const SILENT_MIN_ARRIVALS: usize = 5;
/// At most one notice per source per kind in this window.
pub const SAME_KIND_EVERY: Duration = Duration::hours(6);
/// At most this many notices per server per hour.
pub const PER_SERVER_PER_HOUR: usize = 10;

/// The source as it was before the outcome being recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Before {
    pub state: SourceState,
    pub failures: u32,
    pub url: String,
    pub last_success_at: Option<DateTime<Utc>>,
}

/// An event to record once: `(source, kind, episode)` is unique, so a second poll of the
/// same episode records nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub episode: String,
    /// What the notice says happened (plain text; escaped when rendered).
    pub detail: String,
}

/// A trouble episode is named by the last success before it.
fn episode_after(last_success: Option<DateTime<Utc>>) -> String {
    last_success.map_or_else(
        || "after:never".to_string(),
        |t| format!("after:{}", t.to_rfc3339()),
    )
}

/// The episode key of a silence that began after the new items of `last_arrival`.
pub fn silent_episode(last_arrival: DateTime<Utc>) -> String {
    format!("since:{}", last_arrival.to_rfc3339())
}

/// The event a failed poll starts: paused (when it pauses the source) or failing (at the
/// [`FAILING_AFTER`]th failure in a row); nothing for the others.
pub fn on_failure(before: &Before, paused_reason: Option<&str>) -> Option<NewEvent> {
    let episode = episode_after(before.last_success_at);
    match paused_reason {
        Some(reason) if before.state != SourceState::Paused => Some(NewEvent {
            kind: EventKind::Paused,
            episode,
            detail: reason.to_string(),
        }),
        Some(_) => None,
        None => (before.failures + 1 == FAILING_AFTER).then(|| NewEvent {
            kind: EventKind::Failing,
            episode,
            detail: format!("{FAILING_AFTER} polls in a row failed"),
        }),
    }
}

/// A successful poll, as the store sees it after recording it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Success<'a> {
    /// The URL a permanent redirect gave, if any.
    pub new_url: Option<&'a str>,
    /// When the source's recent polls brought new items, newest first (this poll's included).
    pub arrivals: &'a [DateTime<Utc>],
    /// A silent event was recorded for the silence that ended with this poll's new items.
    pub silence_recorded: bool,
}

/// The events a successful poll at `now` starts: back to normal, moved, silent.
pub fn on_success(before: &Before, success: &Success<'_>, now: DateTime<Utc>) -> Vec<NewEvent> {
    let mut events = Vec::new();
    let was_failing = before.state == SourceState::Paused
        || (before.state == SourceState::Backoff && before.failures >= FAILING_AFTER);
    let new_items_now = success.arrivals.first() == Some(&now);
    if was_failing {
        events.push(NewEvent {
            kind: EventKind::Recovered,
            episode: episode_after(before.last_success_at),
            detail: "it answers with a feed again".to_string(),
        });
    } else if new_items_now && success.silence_recorded {
        if let Some(&previous) = success.arrivals.get(1) {
            events.push(NewEvent {
                kind: EventKind::Recovered,
                episode: silent_episode(previous),
                detail: "it has new items again".to_string(),
            });
        }
    }
    if let Some(url) = success.new_url.filter(|u| *u != before.url) {
        events.push(NewEvent {
            kind: EventKind::Moved,
            episode: url.to_string(),
            detail: format!(
                "the server redirects permanently from {} to {url}, so newshound reads the new address now",
                before.url
            ),
        });
    }
    if let Some(silence) = silent(success.arrivals, now) {
        events.push(NewEvent {
            kind: EventKind::Silent,
            episode: silent_episode(silence.since),
            detail: format!(
                "no new item for {} (usually one every {})",
                human(now - silence.since),
                human(silence.usual)
            ),
        });
    }
    events
}

/// A source that stopped bringing new items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silence {
    /// When it last brought new items.
    pub since: DateTime<Utc>,
    /// The median gap between its recent arrivals of new items.
    pub usual: Duration,
}

/// Whether a source whose polls brought new items at `arrivals` (newest first) is silent at
/// `now`: at least [`SILENT_MIN_ARRIVALS`] arrivals, and [`SILENT_FACTOR`] times their
/// median gap (or more) since the last.
pub fn silent(arrivals: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<Silence> {
    if arrivals.len() < SILENT_MIN_ARRIVALS {
        return None;
    }
    let mut gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[0] - w[1]).collect();
    gaps.sort();
    let usual = *gaps.get(gaps.len() / 2)?;
    if usual <= Duration::zero() {
        return None;
    }
    let since = *arrivals.first()?;
    (now - since >= usual * SILENT_FACTOR).then_some(Silence { since, usual })
}

/// A notice already sent to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentNotice {
    pub source_id: i64,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
}

/// Whether a notice may go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Send,
    /// The same source had a notice of this kind less than [`SAME_KIND_EVERY`] ago.
    SameKindRecently,
    /// The server had [`PER_SERVER_PER_HOUR`] notices in the last hour.
    ServerHourFull,
}

/// Whether a `kind` notice about `source_id` is due for a server that was sent `sent`
/// (its notices of the last [`SAME_KIND_EVERY`] at least).
pub fn notice_due(sent: &[SentNotice], source_id: i64, kind: EventKind, now: DateTime<Utc>) -> Due {
    let same = sent
        .iter()
        .any(|s| s.source_id == source_id && s.kind == kind && now - s.at < SAME_KIND_EVERY);
    if same {
        return Due::SameKindRecently;
    }
    let last_hour = sent
        .iter()
        .filter(|s| now - s.at < Duration::hours(1))
        .count();
    if last_hour >= PER_SERVER_PER_HOUR {
        return Due::ServerHourFull;
    }
    Due::Send
}

/// The notice for `kind` about the source `name`: what happened and what to do, feed text
/// escaped, within [`NOTICE_MAX`]. `held` earlier notices for this server were held back by
/// the rate limits and are counted here.
pub fn notice_text(kind: EventKind, name: &str, detail: &str, held: usize) -> String {
    let name = escape_markdown(name);
    let detail = escape_markdown(detail);
    let text = match kind {
        EventKind::Paused => format!(
            "⏸ **{name}** paused, not polled any more: {detail}. `/sources remove name:` removes it, `/sources add` adds its new URL (a config source: edit the config)."
        ),
        EventKind::Failing => format!(
            "⚠ **{name}** is failing: {detail}; it keeps retrying with back-off. `/sources list` shows the error — fix the URL, or remove it with `/sources remove name:`."
        ),
        EventKind::Moved => format!(
            "↪ **{name}** moved: {detail}. Nothing to do; `/sources list` shows the address."
        ),
        EventKind::Silent => format!(
            "💤 **{name}** is silent: {detail}. The feed may have stopped updating — check the site, or remove it with `/sources remove name:`."
        ),
        EventKind::Recovered => {
            format!("✅ **{name}** is back to normal: {detail}. Nothing to do.")
        }
    };
    let text = if held > 0 {
        format!(
            "{text}\n({held} earlier notice{} held back by the rate limit; `/stats` shows every source's health.)",
            if held == 1 { " was" } else { "s were" }
        )
    } else {
        text
    };
    truncate_at_boundary(&text, NOTICE_MAX)
}

/// A duration as a person says it: "3 days", "5 hours", "12 minutes".
fn human(d: Duration) -> String {
    let (n, unit) = if d.num_days() >= 2 {
        (d.num_days(), "day")
    } else if d.num_hours() >= 2 {
        (d.num_hours(), "hour")
    } else {
        (d.num_minutes().max(1), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
    }

    fn before(state: SourceState, failures: u32) -> Before {
        Before {
            state,
            failures,
            url: "https://a.test/feed".into(),
            last_success_at: Some(t0()),
        }
    }

    fn sent(source_id: i64, kind: EventKind, minutes_ago: i64) -> SentNotice {
        SentNotice {
            source_id,
            kind,
            at: t0() - Duration::minutes(minutes_ago),
        }
    }

    /// Arrivals every `gap_hours`, newest `ago_hours` before t0, newest first.
    fn arrivals(n: usize, gap_hours: i64, ago_hours: i64) -> Vec<DateTime<Utc>> {
        (0..n as i64)
            .map(|i| t0() - Duration::hours(ago_hours + i * gap_hours))
            .collect()
    }

    #[test]
    fn gone_pauses_once_per_episode() {
        let e = on_failure(&before(SourceState::Ok, 0), Some("gone (HTTP 410)")).unwrap();
        assert_eq!(e.kind, EventKind::Paused);
        assert_eq!(e.detail, "gone (HTTP 410)");
        assert_eq!(
            on_failure(&before(SourceState::Paused, 1), Some("gone")),
            None
        );
    }

    #[test]
    fn failing_is_the_third_failure_in_a_row_only() {
        assert_eq!(on_failure(&before(SourceState::Backoff, 1), None), None);
        let e = on_failure(&before(SourceState::Backoff, 2), None).unwrap();
        assert_eq!(e.kind, EventKind::Failing);
        assert_eq!(on_failure(&before(SourceState::Backoff, 3), None), None);
    }

    #[test]
    fn back_to_normal_after_paused_or_failing_not_after_a_blip() {
        let ok = Success {
            new_url: None,
            arrivals: &[],
            silence_recorded: false,
        };
        let kinds = |b: Before| -> Vec<EventKind> {
            on_success(&b, &ok, t0()).iter().map(|e| e.kind).collect()
        };
        assert_eq!(
            kinds(before(SourceState::Paused, 1)),
            [EventKind::Recovered]
        );
        assert_eq!(
            kinds(before(SourceState::Backoff, 3)),
            [EventKind::Recovered]
        );
        assert!(kinds(before(SourceState::Backoff, 2)).is_empty());
        assert!(kinds(before(SourceState::Ok, 0)).is_empty());
    }

    #[test]
    fn a_new_address_is_a_move_the_same_one_is_not() {
        let moved = Success {
            new_url: Some("https://b.test/feed"),
            arrivals: &[],
            silence_recorded: false,
        };
        let events = on_success(&before(SourceState::Ok, 0), &moved, t0());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, EventKind::Moved);
        assert_eq!(events[0].episode, "https://b.test/feed");
        let same = Success {
            new_url: Some("https://a.test/feed"),
            ..moved
        };
        assert!(on_success(&before(SourceState::Ok, 0), &same, t0()).is_empty());
    }

    #[test]
    fn silent_at_five_times_the_usual_gap_not_just_below() {
        // Every 2 hours; the last arrival 10 hours ago: exactly 5x.
        let at_limit = arrivals(6, 2, 10);
        let s = silent(&at_limit, t0()).unwrap();
        assert_eq!(s.usual, Duration::hours(2));
        assert_eq!(s.since, t0() - Duration::hours(10));
        let mut below = at_limit.clone();
        for a in &mut below {
            *a += Duration::seconds(1);
        }
        assert_eq!(silent(&below, t0()), None);
    }

    #[test]
    fn silence_needs_five_arrivals_of_history() {
        assert!(silent(&arrivals(5, 1, 100), t0()).is_some());
        assert_eq!(silent(&arrivals(4, 1, 100), t0()), None);
        assert_eq!(silent(&[], t0()), None);
    }

    #[test]
    fn silence_uses_the_median_gap() {
        // Gaps 1, 1, 1, 50 hours: the usual gap is 1 hour, not the mean.
        let mut a = arrivals(4, 1, 6);
        a.push(t0() - Duration::hours(6 + 3 + 50));
        assert_eq!(silent(&a, t0()).unwrap().usual, Duration::hours(1));
    }

    #[test]
    fn new_items_after_a_recorded_silence_are_back_to_normal() {
        let mut a = vec![t0()];
        a.extend(arrivals(5, 1, 20));
        let success = Success {
            new_url: None,
            arrivals: &a,
            silence_recorded: true,
        };
        let events = on_success(&before(SourceState::Ok, 0), &success, t0());
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].kind, EventKind::Recovered);
        assert_eq!(
            events[0].episode,
            silent_episode(t0() - Duration::hours(20))
        );
    }

    #[test]
    fn one_notice_per_source_and_kind_per_six_hours() {
        let six_h = SAME_KIND_EVERY.num_minutes();
        let recent = [sent(1, EventKind::Paused, six_h - 1)];
        assert_eq!(
            notice_due(&recent, 1, EventKind::Paused, t0()),
            Due::SameKindRecently
        );
        assert_eq!(
            notice_due(&recent, 1, EventKind::Recovered, t0()),
            Due::Send
        );
        assert_eq!(notice_due(&recent, 2, EventKind::Paused, t0()), Due::Send);
        let old = [sent(1, EventKind::Paused, six_h)];
        assert_eq!(notice_due(&old, 1, EventKind::Paused, t0()), Due::Send);
    }

    #[test]
    fn at_most_n_notices_per_server_per_hour() {
        let n_minus_one: Vec<SentNotice> = (0..PER_SERVER_PER_HOUR - 1)
            .map(|i| sent(100 + i as i64, EventKind::Paused, 5))
            .collect();
        assert_eq!(
            notice_due(&n_minus_one, 1, EventKind::Paused, t0()),
            Due::Send
        );
        let mut n = n_minus_one.clone();
        n.push(sent(99, EventKind::Silent, 59));
        assert_eq!(
            notice_due(&n, 1, EventKind::Paused, t0()),
            Due::ServerHourFull
        );
        // An hour later the oldest no longer counts.
        let mut aged = n_minus_one;
        aged.push(sent(99, EventKind::Silent, 60));
        assert_eq!(notice_due(&aged, 1, EventKind::Paused, t0()), Due::Send);
    }

    #[test]
    fn notice_names_the_source_escapes_it_and_fits() {
        let text = notice_text(EventKind::Paused, "@everyone *Wire*", "gone (HTTP 410)", 0);
        assert!(
            text.starts_with("⏸ **@\u{200b}everyone \\*Wire\\***"),
            "{text}"
        );
        assert!(text.contains("/sources remove"), "{text}");
        let long = "x".repeat(5000);
        assert!(
            notice_text(EventKind::Silent, &long, &long, 2)
                .chars()
                .count()
                <= NOTICE_MAX
        );
        assert!(notice_text(EventKind::Recovered, "W", "ok", 2)
            .contains("2 earlier notices were held back"));
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            EventKind::Paused,
            EventKind::Failing,
            EventKind::Moved,
            EventKind::Silent,
            EventKind::Recovered,
        ] {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("nope"), None);
    }
}
