//! Feed timestamps: feed-rs's lenient rules, with a strict fast path first.
//!
//! feed-rs's default parser rewrites every date string with up to ten regular-expression
//! substitutions (each a new `String`) before it tries chrono, which made date parsing ~5% of
//! a cold ingest cycle's instructions. A well-formed RFC 3339 or RFC 2822 date (nearly every
//! feed's) parses strictly to the same instant, so the lenient rewrite only runs for the rest.
//! The lenient rules below are feed-rs 3.0's (`parser::util`), which it does not export.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;

/// The instant `text` names, as feed-rs's default timestamp parser reads it.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let trimmed = text.trim();
    // Strict parses accept a subset of what the lenient rules accept, and give the same
    // instant: the rewrites only drop a weekday (chrono checks it), pad an hour or fix an
    // offset, none of which a string chrono accepts as it is needs.
    // The weekday is dropped as the lenient rules drop it (chrono rejects a wrong one, and
    // feeds often get it wrong: a fixed "Mon," on every date).
    let undated = trimmed
        .split_once(", ")
        .filter(|(day, _)| is_weekday(day))
        .map_or(trimmed, |(_, rest)| rest);
    DateTime::parse_from_rfc3339(trimmed)
        .or_else(|_| DateTime::parse_from_rfc2822(undated))
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| lenient(text))
}

/// `Mon`, `Thurs`, `Saturday`: what the lenient rule `(Sun|Mon|…|Sat)[a-z]*, ` removes.
fn is_weekday(word: &str) -> bool {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    word.get(..3).is_some_and(|d| DAYS.contains(&d))
        && word.bytes().skip(3).all(|b| b.is_ascii_lowercase())
}

/// A regular expression and its replacement (one of feed-rs's fixes).
struct Fix(Regex, &'static str);

fn fixes(rules: &[(&str, &'static str)]) -> Vec<Fix> {
    rules
        .iter()
        .filter_map(|(pattern, with)| Regex::new(pattern).ok().map(|r| Fix(r, with)))
        .collect()
}

static RFC3339: LazyLock<Vec<Fix>> = LazyLock::new(|| {
    fixes(&[
        // a missing colon in the offset
        (r"(\+|-)(\d{2})(\d{2})", "${1}${2}:${3}"),
        // a date alone: midnight UTC
        (r"-\d{2}$", "${0}T00:00:00+00:00"),
    ])
});

static RFC2822: LazyLock<Vec<Fix>> = LazyLock::new(|| {
    fixes(&[
        ("(UTC|-0000$)", "+0000"),
        // the weekday is extraneous and often wrong or long ("Thurs")
        ("(Sun|Mon|Tue|Wed|Thu|Fri|Sat)[a-z]*, ", ""),
        // long month names
        (
            "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*",
            "$1",
        ),
        // month before day
        (
            "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\\d{1,2}) (\\d{4})",
            "$2 $1 $3",
        ),
        // hour 24 of the same day
        (" 24:", " 00:"),
        // single-digit hours
        (" ([0-9]):", " 0${1}:"),
    ])
});

static RFC1123: LazyLock<Vec<Fix>> =
    LazyLock::new(|| fixes(&[(" Z$", " +0000"), ("^[[:alpha:]]{3}, ", "")]));

fn rewritten(text: &str, fixes: &[Fix]) -> String {
    let mut cleaned = text.trim().to_string();
    for Fix(regex, with) in fixes {
        cleaned = regex.replace(&cleaned, *with).to_string();
    }
    cleaned
}

/// feed-rs 3.0's `parse_timestamp_lenient`.
fn lenient(text: &str) -> Option<DateTime<Utc>> {
    let utc = |t: DateTime<chrono::FixedOffset>| t.with_timezone(&Utc);
    DateTime::parse_from_rfc3339(rewritten(text, &RFC3339).trim())
        .map(utc)
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc2822(&rewritten(text, &RFC2822))
                .map(utc)
                .ok()
        })
        .or_else(|| {
            DateTime::parse_from_str(&rewritten(text, &RFC1123), "%d %b %Y %H:%M:%S %z")
                .map(utc)
                .ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The date feed-rs's own default parser reads from an RSS item's `pubDate`.
    fn feed_rs_default(date: &str) -> Option<DateTime<Utc>> {
        let xml = format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><title>i</title><pubDate>{date}</pubDate></item></channel></rss>"
        );
        let feed = feed_rs::parser::parse(xml.as_bytes()).ok()?;
        feed.entries.first()?.published
    }

    #[test]
    fn dates_parse_as_feed_rs_default_parser_reads_them() {
        let dates = [
            "Sun, 06 Dec 2026 10:00:00 +0000",
            "Sun, 06 Dec 2026 10:00:00 GMT",
            "Sun, 6 Dec 2026 9:05:00 -0500",
            "Mon, 06 Dec 2026 10:00:00 +0000",
            "Thurs, 13 Jul 2011 07:38:00 GMT",
            "Mon, 12 Jun 2025 10:30:00 +0000",
            "Saturday, 06 Dec 2026 10:00:00 +0000",
            "Fri, 06 Dec 2026 10:00:00 UTC",
            "Xyz, 06 Dec 2026 10:00:00 +0000",
            "06 Dec 2026 10:00:00 UTC",
            "Sun, 06 Dec 2026 10:00:00 -0000",
            "Sunday, 06 December 2026 10:00:00 +0100",
            "Dec 06 2026 10:00:00 +0000",
            "Sun, 06 Dec 2026 24:00:00 +0000",
            "Sun, 06 Dec 2026 10:00:00 Z",
            "Sun, 06 Dec 2026 10:00:00 EST",
            "2026-12-06T10:00:00Z",
            "2026-12-06T10:00:00.123+01:00",
            "2026-12-06T10:00:00+0100",
            "2026-12-06",
            "  2026-12-06T10:00:00Z  ",
            "2026-12-06 10:00:00",
            "yesterday",
            "",
        ];
        for date in dates {
            assert_eq!(parse(date), feed_rs_default(date), "{date:?}");
        }
        assert!(parse("Sun, 06 Dec 2026 10:00:00 +0000").is_some());
    }
}
