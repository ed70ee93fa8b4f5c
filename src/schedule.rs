//! When to poll: cron ticks, server hints, failure back-off and jitter. Pure functions of `now`.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// First back-off step after a failure.
pub const BACKOFF_BASE: Duration = Duration::from_secs(5 * 60);
/// Back-off never grows past this.
pub const BACKOFF_CAP: Duration = Duration::from_secs(24 * 60 * 60);
/// Client errors (403, 404...) rarely fix themselves in minutes: start the back-off here.
pub const CLIENT_ERROR_BASE: Duration = Duration::from_secs(60 * 60);
/// Server hints (max-age, ttl) are believed up to this long.
pub const MAX_HINT: Duration = Duration::from_secs(5 * 60 * 60);
/// Even a server that always answers 304 is asked unconditionally this often.
pub const UNCONDITIONAL_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// How long to wait after the `failures`-th consecutive failure (1-based).
///
/// Doubles from [`BACKOFF_BASE`] (or [`CLIENT_ERROR_BASE`] for 4xx other than 429), capped at
/// [`BACKOFF_CAP`].
pub fn backoff_delay(failures: u32, status: Option<u16>) -> Duration {
    let base = match status {
        Some(s) if (400..500).contains(&s) && s != 429 && s != 408 => CLIENT_ERROR_BASE,
        _ => BACKOFF_BASE,
    };
    let exponent = failures.saturating_sub(1).min(16);
    base.saturating_mul(1 << exponent).min(BACKOFF_CAP)
}

/// The time a failing source may be tried again: back-off, but never before the server's
/// `Retry-After`.
pub fn retry_at(
    now: DateTime<Utc>,
    failures: u32,
    status: Option<u16>,
    retry_after: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let backoff =
        now + chrono::Duration::from_std(backoff_delay(failures, status)).unwrap_or_default();
    match retry_after {
        Some(at) => {
            backoff.max(at.min(now + chrono::Duration::from_std(BACKOFF_CAP).unwrap_or_default()))
        }
        None => backoff,
    }
}

/// Jitter never exceeds this fraction of a source's interval: a source polled every 2 s gets
/// at most 0.2 s, one polled every 5 minutes up to 30 s (the configured cap).
pub const JITTER_FRACTION: u32 = 10;

/// The largest jitter for a source on `schedule`: a tenth of its interval (the gap between its
/// next two ticks after `now`), at most `cap` (`fetch.jitter_secs`).
pub fn jitter_bound(schedule: &cron::Schedule, now: DateTime<Utc>, cap: Duration) -> Duration {
    let mut ticks = schedule.after(&now);
    let interval = match (ticks.next(), ticks.next()) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or_default(),
        // A schedule with one tick left: nothing to spread it against.
        _ => Duration::ZERO,
    };
    (interval / JITTER_FRACTION).min(cap)
}

/// The next cron tick strictly after `now`, pushed back to `not_before` when the server asked
/// for that (or a back-off holds), plus `jitter`.
pub fn next_poll(
    schedule: &cron::Schedule,
    now: DateTime<Utc>,
    not_before: Option<DateTime<Utc>>,
    jitter: Duration,
) -> DateTime<Utc> {
    let tick = schedule
        .after(&now)
        .next()
        .unwrap_or(now + chrono::Duration::hours(24));
    let at = match not_before {
        Some(nb) if nb > tick => nb,
        _ => tick,
    };
    at + chrono::Duration::from_std(jitter).unwrap_or_default()
}

/// The later of the server's hints, clamped to [`MAX_HINT`] from now.
pub fn hinted_next_check(
    now: DateTime<Utc>,
    not_before: Option<DateTime<Utc>>,
    ttl_minutes: Option<u32>,
) -> Option<DateTime<Utc>> {
    let cap = now + chrono::Duration::from_std(MAX_HINT).unwrap_or_default();
    let ttl = ttl_minutes.map(|m| now + chrono::Duration::minutes(i64::from(m)));
    [not_before, ttl]
        .into_iter()
        .flatten()
        .max()
        .map(|t| t.min(cap))
}

/// Whether the next fetch should skip the validators (see [`UNCONDITIONAL_EVERY`]).
pub fn needs_unconditional(now: DateTime<Utc>, last_unconditional: Option<DateTime<Utc>>) -> bool {
    last_unconditional.is_none_or(|last| {
        now - last >= chrono::Duration::from_std(UNCONDITIONAL_EVERY).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_delay(1, Some(503)), Duration::from_secs(300));
        assert_eq!(backoff_delay(2, Some(503)), Duration::from_secs(600));
        assert_eq!(backoff_delay(3, None), Duration::from_secs(1200));
        assert_eq!(backoff_delay(40, None), BACKOFF_CAP);
    }

    #[test]
    fn client_errors_back_off_longer() {
        assert_eq!(backoff_delay(1, Some(404)), Duration::from_secs(3600));
        assert_eq!(backoff_delay(1, Some(429)), Duration::from_secs(300));
    }

    #[test]
    fn retry_after_wins_when_later_than_backoff() {
        let now = at("2026-01-01T00:00:00Z");
        let later = at("2026-01-01T02:00:00Z");
        assert_eq!(retry_at(now, 1, Some(429), Some(later)), later);
        assert_eq!(
            retry_at(now, 1, Some(429), None),
            at("2026-01-01T00:05:00Z")
        );
    }

    #[test]
    fn next_poll_follows_cron_and_respects_hints() {
        let schedule = cron::Schedule::from_str("0 */5 * * * *").unwrap();
        let now = at("2026-01-01T00:01:30Z");
        assert_eq!(
            next_poll(&schedule, now, None, Duration::ZERO),
            at("2026-01-01T00:05:00Z")
        );
        let hint = at("2026-01-01T00:07:00Z");
        assert_eq!(next_poll(&schedule, now, Some(hint), Duration::ZERO), hint);
        assert_eq!(
            next_poll(&schedule, now, None, Duration::from_secs(10)),
            at("2026-01-01T00:05:10Z")
        );
    }

    #[test]
    fn hints_are_clamped() {
        let now = at("2026-01-01T00:00:00Z");
        let far = at("2042-01-01T00:00:00Z");
        assert_eq!(
            hinted_next_check(now, Some(far), None),
            Some(at("2026-01-01T05:00:00Z"))
        );
        assert_eq!(
            hinted_next_check(now, None, Some(30)),
            Some(at("2026-01-01T00:30:00Z"))
        );
        assert_eq!(hinted_next_check(now, None, None), None);
    }

    #[test]
    fn unconditional_fetch_once_a_day() {
        let now = at("2026-01-02T00:00:00Z");
        assert!(needs_unconditional(now, None));
        assert!(!needs_unconditional(now, Some(at("2026-01-01T12:00:00Z"))));
        assert!(needs_unconditional(now, Some(at("2026-01-01T00:00:00Z"))));
    }

    #[test]
    fn jitter_is_a_tenth_of_the_interval_and_never_more_than_the_cap() {
        let now = Utc::now();
        let cap = Duration::from_secs(30);
        let every_2s = crate::config::parse_schedule("*/2 * * * * *").unwrap();
        assert_eq!(jitter_bound(&every_2s, now, cap), Duration::from_millis(200));
        let every_5m = crate::config::parse_schedule("0 */5 * * * *").unwrap();
        assert_eq!(jitter_bound(&every_5m, now, cap), cap);
        let every_minute = crate::config::parse_schedule("0 * * * * *").unwrap();
        assert_eq!(jitter_bound(&every_minute, now, cap), Duration::from_secs(6));
        assert_eq!(jitter_bound(&every_5m, now, Duration::ZERO), Duration::ZERO);
    }
}
