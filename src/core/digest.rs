//! When an alert reaches a member: instantly, or in a digest — hourly, daily at a local time,
//! after quiet hours, or after the member's hourly cap — and what a digest lists. Pure: every
//! function takes the time it decides for, so tests drive the clock.

use std::fmt;

use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde::Serialize;

/// How a subscription's matches are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cadence {
    /// One alert per item, as soon as it is found (the default).
    Instant,
    /// One digest at the top of every hour (member's time zone).
    Hourly,
    /// One digest a day at this local time.
    Daily(NaiveTime),
}

impl Cadence {
    /// Reads the stored or typed form: `instant`, `hourly`, or `daily` with `at` (`HH:MM`,
    /// default 08:00).
    pub fn parse(mode: &str, at: Option<&str>) -> Result<Cadence, String> {
        match mode.trim().to_ascii_lowercase().as_str() {
            "" | "instant" => Ok(Cadence::Instant),
            "hourly" => Ok(Cadence::Hourly),
            "daily" => {
                let time = match at.map(str::trim).filter(|a| !a.is_empty()) {
                    Some(text) => parse_clock(text)?,
                    None => DEFAULT_DAILY_AT,
                };
                Ok(Cadence::Daily(time))
            }
            other => Err(format!(
                "`{other}` is not a delivery mode. Use `instant`, `hourly` or `daily` (with `at: 08:00`)."
            )),
        }
    }

    /// The stored mode name.
    pub fn mode(self) -> &'static str {
        match self {
            Cadence::Instant => "instant",
            Cadence::Hourly => "hourly",
            Cadence::Daily(_) => "daily",
        }
    }

    /// The stored `at` (daily only).
    pub fn at(self) -> Option<String> {
        match self {
            Cadence::Daily(t) => Some(t.format("%H:%M").to_string()),
            _ => None,
        }
    }
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cadence::Instant => f.write_str("instant"),
            Cadence::Hourly => f.write_str("hourly digest"),
            Cadence::Daily(t) => write!(f, "daily digest at {}", t.format("%H:%M")),
        }
    }
}

/// Daily digests go out at 08:00 unless the member picks a time.
pub const DEFAULT_DAILY_AT: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// `HH:MM` (24-hour), also `H:MM` and `HH`.
pub fn parse_clock(text: &str) -> Result<NaiveTime, String> {
    let text = text.trim();
    let parsed = NaiveTime::parse_from_str(text, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(&format!("{text}:00"), "%H:%M"));
    parsed.map_err(|_| {
        format!("`{text}` is not a time of day. Use 24-hour `HH:MM`, e.g. `08:00` or `18:30`.")
    })
}

/// Reads an IANA time zone name (`Europe/Paris`, `America/New_York`, `UTC`), any case.
pub fn parse_timezone(text: &str) -> Result<Tz, String> {
    let text = text.trim();
    text.parse::<Tz>()
        .or_else(|_| {
            chrono_tz::TZ_VARIANTS
                .iter()
                .find(|tz| tz.name().eq_ignore_ascii_case(text))
                .copied()
                .ok_or(())
        })
        .map_err(|()| {
            format!("`{text}` is not a time zone name. Use an IANA name such as `Europe/Paris`, `America/New_York` or `UTC` (pick one from the suggestions).")
        })
}

/// A daily quiet period in local time; may wrap midnight (`22:00-07:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// `22:00-07:00` (also with `–` or ` to `).
    pub fn parse(text: &str) -> Result<QuietHours, String> {
        let normalised = text.replace('–', "-").replace(" to ", "-");
        let Some((a, b)) = normalised.split_once('-') else {
            return Err(format!(
                "`{text}` is not a period. Type start and end, e.g. `22:00-07:00`, or `off`."
            ));
        };
        let (start, end) = (parse_clock(a)?, parse_clock(b)?);
        if start == end {
            return Err(format!(
                "`{text}` starts and ends at the same time. Type two different times, e.g. `22:00-07:00`."
            ));
        }
        Ok(QuietHours { start, end })
    }

    /// Whether the local time `t` falls inside.
    pub fn contains(self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}–{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// A member's noise settings (per server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberPrefs {
    pub timezone: Tz,
    pub quiet: Option<QuietHours>,
    /// At most this many instant alerts per clock hour; the rest wait for the next digest.
    pub hourly_cap: Option<u32>,
}

impl Default for MemberPrefs {
    fn default() -> Self {
        MemberPrefs {
            timezone: Tz::UTC,
            quiet: None,
            hourly_cap: None,
        }
    }
}

/// Why an item went into a digest rather than out at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    Hourly,
    Daily,
    Quiet,
    Cap,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Hourly => "hourly",
            Reason::Daily => "daily",
            Reason::Quiet => "quiet",
            Reason::Cap => "cap",
        }
    }

    pub fn parse(text: &str) -> Reason {
        match text {
            "daily" => Reason::Daily,
            "quiet" => Reason::Quiet,
            "cap" => Reason::Cap,
            _ => Reason::Hourly,
        }
    }
}

/// Where one match goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Instant,
    Digest { due: DateTime<Utc>, reason: Reason },
}

/// Decides how one member gets one item. `sent_this_hour`: instant alerts the member already
/// got in the current local clock hour.
pub fn route(
    cadence: Cadence,
    prefs: &MemberPrefs,
    now: DateTime<Utc>,
    sent_this_hour: u32,
) -> Route {
    let tz = prefs.timezone;
    let digest = |due: DateTime<Utc>, reason: Reason| Route::Digest {
        due: after_quiet(prefs, due),
        reason,
    };
    match cadence {
        Cadence::Hourly => digest(next_hour(tz, now), Reason::Hourly),
        Cadence::Daily(at) => digest(next_daily(tz, at, now), Reason::Daily),
        Cadence::Instant => {
            if let Some(end) = quiet_end(prefs, now) {
                Route::Digest {
                    due: end,
                    reason: Reason::Quiet,
                }
            } else if prefs.hourly_cap.is_some_and(|cap| sent_this_hour >= cap) {
                digest(next_hour(tz, now), Reason::Cap)
            } else {
                Route::Instant
            }
        }
    }
}

/// When the member's quiet hours covering `now` end, or `None` outside quiet hours.
pub fn quiet_end(prefs: &MemberPrefs, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let quiet = prefs.quiet?;
    let local = now.with_timezone(&prefs.timezone).time();
    quiet
        .contains(local)
        .then(|| next_daily(prefs.timezone, quiet.end, now))
}

/// `due`, or the end of the quiet hours it falls in: nothing pings during quiet hours.
fn after_quiet(prefs: &MemberPrefs, due: DateTime<Utc>) -> DateTime<Utc> {
    quiet_end(prefs, due).unwrap_or(due)
}

/// The start of the local clock hour containing `now` (the cap's window), as a stable key.
pub fn hour_key(tz: Tz, now: DateTime<Utc>) -> String {
    // Local hours and UTC hours differ only for zones with a non-whole-hour offset; the key is
    // the UTC instant the local hour began.
    let start = next_hour(tz, now) - Duration::hours(1);
    start.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The next full local hour after `now`.
pub fn next_hour(tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).naive_local();
    let truncated = local
        .date()
        .and_hms_opt(local.hour(), 0, 0)
        .unwrap_or(local);
    let mut candidate = truncated + Duration::hours(1);
    // A DST gap can swallow the next local hour: take the first hour that exists.
    for _ in 0..4 {
        if let Some(at) = resolve(tz, candidate) {
            if at > now {
                return at;
            }
        }
        candidate += Duration::hours(1);
    }
    now + Duration::hours(1)
}

/// The next time after `now` that the local clock in `tz` shows `at`. On a day `at` does not
/// exist (spring forward), the moment the clocks jump to; when it occurs twice (fall back),
/// the first.
pub fn next_daily(tz: Tz, at: NaiveTime, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&tz).date_naive();
    for offset in 0..3 {
        let Some(date) = today.checked_add_signed(Duration::days(offset)) else {
            break;
        };
        let at_local = local_at(tz, date, at);
        if at_local > now {
            return at_local;
        }
    }
    now + Duration::days(1)
}

fn local_at(tz: Tz, date: NaiveDate, at: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(at);
    if let Some(t) = resolve(tz, naive) {
        return t;
    }
    // Inside a gap: step forward a minute at a time to the first local time that exists.
    let mut probe = naive;
    for _ in 0..(3 * 60) {
        probe += Duration::minutes(1);
        if let Some(t) = resolve(tz, probe) {
            return t;
        }
    }
    Utc.from_utc_datetime(&naive)
}

fn resolve(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// A snooze length: `30m`, `2h`, `3d`, `1w` (at most 90 days).
pub fn parse_snooze(text: &str) -> Result<Duration, String> {
    let text = text.trim().to_ascii_lowercase();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: i64 = digits.parse().map_err(|_| snooze_help(&text))?;
    let duration = match unit.trim() {
        "m" | "min" | "mins" | "minute" | "minutes" => Duration::minutes(n),
        "h" | "hr" | "hrs" | "hour" | "hours" => Duration::hours(n),
        "d" | "day" | "days" => Duration::days(n),
        "w" | "week" | "weeks" => Duration::weeks(n),
        _ => return Err(snooze_help(&text)),
    };
    if duration <= Duration::zero() || duration > Duration::days(90) {
        return Err(format!(
            "`{text}` is outside 1 minute to 90 days. Type e.g. `2h`, `3d` or `1w`."
        ));
    }
    Ok(duration)
}

fn snooze_help(text: &str) -> String {
    format!("`{text}` is not a duration. Type a number and a unit: `30m`, `2h`, `3d` or `1w` (or `off` to end a snooze).")
}

/// One item in a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestEntry {
    pub title: String,
    pub link: Option<String>,
    pub source: String,
    pub matched: Vec<String>,
    pub published: Option<DateTime<Utc>>,
    /// Other sources' reports of the same story, folded into this entry: (source, link).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<(String, Option<String>)>,
}

/// Folds later reports of a story already in the list into its first entry ("also: Herald"),
/// so one story reported by several outlets is listed once. Order is kept.
pub fn merge_stories(entries: Vec<DigestEntry>) -> Vec<DigestEntry> {
    use crate::core::story::{same_story, StoryKey};
    let key = |e: &DigestEntry| StoryKey {
        canonical_link: e.link.clone(),
        title: e.title.clone(),
        published: e.published,
    };
    let mut out: Vec<DigestEntry> = Vec::with_capacity(entries.len());
    for entry in entries {
        let k = key(&entry);
        if let Some(first) = out
            .iter_mut()
            .find(|f| f.source != entry.source && same_story(&key(f), &k))
        {
            for term in entry.matched {
                if !first.matched.contains(&term) {
                    first.matched.push(term);
                }
            }
            first.also.push((entry.source, entry.link));
        } else {
            out.push(entry);
        }
    }
    out
}

/// A digest ready for a sink: one member, one target, items in the order they were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// `digests` row id.
    pub id: i64,
    /// The member (empty never: channel-wide subscriptions are always instant).
    pub user: String,
    pub target: String,
    /// Why these items were held: the reasons of its entries, deduplicated.
    pub reasons: Vec<Reason>,
    pub entries: Vec<DigestEntry>,
}

impl Digest {
    /// "Your hourly digest", "Held during your quiet hours"...
    pub fn heading(&self) -> String {
        let n = self.entries.len();
        let items = if n == 1 {
            "1 item".to_string()
        } else {
            format!("{n} items")
        };
        let what = match self.reasons.as_slice() {
            [Reason::Daily] => "Your daily digest",
            [Reason::Hourly] => "Your hourly digest",
            [Reason::Quiet] => "Held during your quiet hours",
            [Reason::Cap] => "Over your hourly alert limit",
            _ => "Your digest",
        };
        format!("{what}: {items}")
    }

    /// The digest as one JSON object on one line (`once --output json`).
    pub fn to_json_line(&self) -> String {
        serde_json::json!({
            "digest": self.heading(),
            "reasons": self.reasons,
            "subscriber": self.user,
            "target": self.target,
            "items": self.entries,
        })
        .to_string()
    }

    /// A readable block for a terminal.
    pub fn to_text_block(&self) -> String {
        let mut out = format!(
            "== {} | for: {} | to: {}\n",
            self.heading(),
            self.user,
            self.target
        );
        for (i, e) in self.entries.iter().enumerate() {
            out.push_str(&format!("{}. {} ({})", i + 1, e.title, e.source));
            if let Some(link) = &e.link {
                out.push_str(&format!(" {link}"));
            }
            out.push_str(&format!(" | matched: {}", e.matched.join(", ")));
            if !e.also.is_empty() {
                let also: Vec<&str> = e.also.iter().map(|(s, _)| s.as_str()).collect();
                out.push_str(&format!(" | also: {}", also.join(", ")));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn prefs(tz: &str) -> MemberPrefs {
        MemberPrefs {
            timezone: parse_timezone(tz).unwrap(),
            ..MemberPrefs::default()
        }
    }

    #[test]
    fn hourly_digest_is_due_at_the_next_full_hour() {
        let p = MemberPrefs::default();
        assert_eq!(
            route(Cadence::Hourly, &p, utc("2026-03-02T10:15:00Z"), 0),
            Route::Digest {
                due: utc("2026-03-02T11:00:00Z"),
                reason: Reason::Hourly
            }
        );
        // Exactly on the hour: the next one, never "now".
        assert_eq!(
            next_hour(Tz::UTC, utc("2026-03-02T11:00:00Z")),
            utc("2026-03-02T12:00:00Z")
        );
    }

    #[test]
    fn hourly_follows_local_hours_in_half_hour_zones() {
        // India is UTC+05:30: local full hours fall at :30 UTC.
        let p = prefs("Asia/Kolkata");
        assert_eq!(
            next_hour(p.timezone, utc("2026-03-02T10:15:00Z")),
            utc("2026-03-02T10:30:00Z")
        );
    }

    #[test]
    fn daily_digest_is_at_the_local_time_in_two_time_zones() {
        let now = utc("2026-01-15T12:00:00Z");
        // 08:00 in Paris (UTC+1 in winter) has passed today: tomorrow 07:00 UTC.
        assert_eq!(
            next_daily(prefs("Europe/Paris").timezone, t(8, 0), now),
            utc("2026-01-16T07:00:00Z")
        );
        // 08:00 in New York (UTC-5) is still ahead today: 13:00 UTC.
        assert_eq!(
            next_daily(prefs("America/New_York").timezone, t(8, 0), now),
            utc("2026-01-15T13:00:00Z")
        );
    }

    #[test]
    fn daily_digest_keeps_its_local_time_across_a_dst_change() {
        let paris = prefs("Europe/Paris").timezone;
        // Clocks go forward on Sunday 2026-03-29 at 02:00 local. 08:00 on Saturday is 07:00
        // UTC, on Sunday 06:00 UTC.
        assert_eq!(
            next_daily(paris, t(8, 0), utc("2026-03-28T07:30:00Z")),
            utc("2026-03-29T06:00:00Z")
        );
        assert_eq!(
            next_daily(paris, t(8, 0), utc("2026-03-27T12:00:00Z")),
            utc("2026-03-28T07:00:00Z")
        );
        // New York falls back on 2026-11-01: 08:00 is 12:00 UTC before, 13:00 UTC after.
        let ny = prefs("America/New_York").timezone;
        assert_eq!(
            next_daily(ny, t(8, 0), utc("2026-10-31T13:00:00Z")),
            utc("2026-11-01T13:00:00Z")
        );
    }

    #[test]
    fn a_daily_time_skipped_by_spring_forward_goes_out_when_clocks_jump() {
        // 02:30 does not exist in Paris on 2026-03-29: the digest goes at 03:00 local (01:00 UTC).
        let paris = prefs("Europe/Paris").timezone;
        assert_eq!(
            next_daily(paris, t(2, 30), utc("2026-03-28T12:00:00Z")),
            utc("2026-03-29T01:00:00Z")
        );
        // A repeated time (01:30 twice in New York on fall-back day) fires once, the first time.
        let ny = prefs("America/New_York").timezone;
        assert_eq!(
            next_daily(ny, t(1, 30), utc("2026-11-01T00:00:00Z")),
            utc("2026-11-01T05:30:00Z")
        );
    }

    #[test]
    fn quiet_hours_hold_instant_alerts_until_they_end() {
        let p = MemberPrefs {
            quiet: Some(QuietHours::parse("22:00-07:00").unwrap()),
            ..prefs("Europe/Paris")
        };
        // 23:30 Paris time in winter = 22:30 UTC: held until 07:00 Paris = 06:00 UTC.
        assert_eq!(
            route(Cadence::Instant, &p, utc("2026-01-15T22:30:00Z"), 0),
            Route::Digest {
                due: utc("2026-01-16T06:00:00Z"),
                reason: Reason::Quiet
            }
        );
        // 06:59 Paris: still quiet, due one minute later.
        assert_eq!(
            quiet_end(&p, utc("2026-01-16T05:59:00Z")),
            Some(utc("2026-01-16T06:00:00Z"))
        );
        // 07:00 Paris: over, instant again.
        assert_eq!(
            route(Cadence::Instant, &p, utc("2026-01-16T06:00:00Z"), 0),
            Route::Instant
        );
        // Afternoon: instant.
        assert_eq!(
            route(Cadence::Instant, &p, utc("2026-01-16T14:00:00Z"), 0),
            Route::Instant
        );
    }

    #[test]
    fn a_digest_due_in_quiet_hours_waits_for_their_end() {
        let p = MemberPrefs {
            quiet: Some(QuietHours::parse("22:00-07:00").unwrap()),
            ..MemberPrefs::default()
        };
        assert_eq!(
            route(Cadence::Hourly, &p, utc("2026-01-15T21:10:00Z"), 0),
            Route::Digest {
                due: utc("2026-01-16T07:00:00Z"),
                reason: Reason::Hourly
            }
        );
    }

    #[test]
    fn the_hourly_cap_sends_the_overflow_to_the_next_hour() {
        let p = MemberPrefs {
            hourly_cap: Some(3),
            ..MemberPrefs::default()
        };
        let now = utc("2026-01-15T10:20:00Z");
        assert_eq!(route(Cadence::Instant, &p, now, 2), Route::Instant);
        assert_eq!(
            route(Cadence::Instant, &p, now, 3),
            Route::Digest {
                due: utc("2026-01-15T11:00:00Z"),
                reason: Reason::Cap
            }
        );
        assert_eq!(hour_key(Tz::UTC, now), "2026-01-15T10:00:00Z");
    }

    #[test]
    fn inputs_are_checked_with_a_fix_in_the_message() {
        assert_eq!(
            Cadence::parse("daily", Some("18:30")),
            Ok(Cadence::Daily(t(18, 30)))
        );
        assert_eq!(Cadence::parse("daily", None), Ok(Cadence::Daily(t(8, 0))));
        assert_eq!(Cadence::parse("Hourly", None), Ok(Cadence::Hourly));
        assert!(Cadence::parse("weekly", None)
            .unwrap_err()
            .contains("`instant`, `hourly` or `daily`"));
        assert!(parse_clock("25:00").unwrap_err().contains("HH:MM"));
        assert_eq!(parse_clock("7"), Ok(t(7, 0)));
        assert_eq!(
            parse_timezone("europe/paris").unwrap().name(),
            "Europe/Paris"
        );
        assert!(parse_timezone("Mars/Olympus").unwrap_err().contains("IANA"));
        assert!(QuietHours::parse("22:00")
            .unwrap_err()
            .contains("22:00-07:00"));
        assert!(QuietHours::parse("07:00-07:00").is_err());
        assert_eq!(parse_snooze("2h"), Ok(Duration::hours(2)));
        assert_eq!(parse_snooze("3 days"), Ok(Duration::days(3)));
        assert!(parse_snooze("soon").unwrap_err().contains("`2h`"));
        assert!(parse_snooze("400d").is_err());
        assert!(parse_snooze("0m").is_err());
    }

    #[test]
    fn daytime_quiet_hours_do_not_wrap() {
        let q = QuietHours::parse("09:00-17:00").unwrap();
        assert!(q.contains(t(12, 0)));
        assert!(!q.contains(t(18, 0)));
        assert!(!q.contains(t(8, 59)));
        let night = QuietHours::parse("22:00-07:00").unwrap();
        assert!(night.contains(t(23, 0)) && night.contains(t(3, 0)));
        assert!(!night.contains(t(12, 0)));
    }

    fn entry(source: &str, title: &str, link: &str, matched: &str) -> DigestEntry {
        DigestEntry {
            title: title.into(),
            link: Some(link.into()),
            source: source.into(),
            matched: vec![matched.into()],
            published: None,
            also: Vec::new(),
        }
    }

    #[test]
    fn one_story_from_two_outlets_is_listed_once_and_different_stories_stay_apart() {
        let merged = merge_stories(vec![
            entry(
                "Wire",
                "Meta in talks to use Google's Gemini for ads",
                "https://wire.example/1",
                "Gemini",
            ),
            entry(
                "Wire",
                "Meta faces EU probe over WhatsApp AI",
                "https://wire.example/2",
                "Meta",
            ),
            entry(
                "Herald",
                "Meta weighs Google Gemini models to boost ad targeting",
                "https://herald.example/9",
                "Meta",
            ),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!(
            merged[0].also,
            vec![(
                "Herald".to_string(),
                Some("https://herald.example/9".to_string())
            )]
        );
        assert_eq!(merged[0].matched, vec!["Gemini", "Meta"]);
        assert!(merged[1].also.is_empty());
    }

    #[test]
    fn heading_names_why_items_were_held() {
        let mut d = Digest {
            id: 1,
            user: "1".into(),
            target: "channel:2".into(),
            reasons: vec![Reason::Daily],
            entries: vec![DigestEntry {
                title: "T".into(),
                link: None,
                source: "S".into(),
                matched: vec!["Meta".into()],
                published: None,
                also: Vec::new(),
            }],
        };
        assert_eq!(d.heading(), "Your daily digest: 1 item");
        d.reasons = vec![Reason::Quiet, Reason::Cap];
        assert_eq!(d.heading(), "Your digest: 1 item");
    }
}
