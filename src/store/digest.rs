//! Digests and noise control in SQLite: members' time zone, quiet hours and hourly cap,
//! subscriptions' delivery mode and snooze, instant alerts counted per hour, held items, and
//! digests formed from them when due and delivered like alerts (kept until they go out).

use super::db::{self, Conn, OptionalExtension as _};
use crate::args;
use chrono::{DateTime, Utc};

use super::{parse_ts, ts, Result};
use crate::core::digest::{
    merge_stories, parse_timezone, Cadence, Digest, DigestEntry, MemberPrefs, QuietHours, Reason,
};

pub use crate::core::route::Held;

/// A member's settings as stored (for `/settings` and `/subscriptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberSettings {
    pub timezone: Option<String>,
    pub quiet_hours: Option<String>,
    pub hourly_cap: Option<u32>,
}

impl MemberSettings {
    /// What routing uses. A stored value that no longer parses (e.g. a time zone renamed in a
    /// tz database update) falls back to the default rather than blocking alerts.
    pub fn prefs(&self) -> MemberPrefs {
        MemberPrefs {
            timezone: self
                .timezone
                .as_deref()
                .and_then(|t| parse_timezone(t).ok())
                .unwrap_or(chrono_tz::Tz::UTC),
            quiet: self
                .quiet_hours
                .as_deref()
                .and_then(|q| QuietHours::parse(q).ok()),
            hourly_cap: self.hourly_cap,
        }
    }
}

pub fn member_settings(conn: &Conn, guild: &str, user: &str) -> Result<MemberSettings> {
    // Cached: a poll reads this for every member its matches reach.
    Ok(conn
        .prepare_cached(
            "SELECT timezone, quiet_hours, hourly_cap FROM members WHERE guild_id = ?1 AND user_id = ?2",
        )?
        .query_row(
            args![guild, user],
            |r| {
                Ok(MemberSettings {
                    timezone: r.get(0)?,
                    quiet_hours: r.get(1)?,
                    hourly_cap: r.get::<Option<i64>>(2)?.and_then(|n| u32::try_from(n).ok()),
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

/// Stores a member's settings (all three; pass the current values to keep them).
pub fn set_member_settings(
    conn: &Conn,
    guild: &str,
    user: &str,
    settings: &MemberSettings,
) -> Result<()> {
    conn.execute(
        "INSERT INTO members (guild_id, user_id, timezone, quiet_hours, hourly_cap) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (guild_id, user_id) DO UPDATE SET timezone = excluded.timezone,
             quiet_hours = excluded.quiet_hours, hourly_cap = excluded.hourly_cap",
        args![
            guild,
            user,
            settings.timezone,
            settings.quiet_hours,
            settings.hourly_cap.map(i64::from)
        ],
    )?;
    Ok(())
}

/// Sets the delivery mode of a member's subscriptions with this query. Returns how many.
pub fn set_subscription_cadence(
    conn: &Conn,
    guild: &str,
    user: &str,
    query: &str,
    target: &str,
    cadence: Cadence,
) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE subscriptions SET mode = ?5, digest_at = ?6
         WHERE guild_id = ?1 AND \"user\" = ?2 AND kind = 'member' AND query = ?3 AND target = ?4",
        args![guild, user, query, target, cadence.mode(), cadence.at()],
    )?)
}

/// Limits a member's subscriptions with this query to one source (`None`: every source).
/// Returns how many.
pub fn set_subscription_source(
    conn: &Conn,
    guild: &str,
    user: &str,
    query: &str,
    target: &str,
    source: Option<&str>,
) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE subscriptions SET source = ?5
         WHERE guild_id = ?1 AND \"user\" = ?2 AND kind = 'member' AND query = ?3 AND target = ?4",
        args![guild, user, query, target, source],
    )?)
}

/// Snoozes (or, with `None`, wakes) a member's subscriptions with this query. Returns how many.
pub fn set_snooze(
    conn: &Conn,
    guild: &str,
    user: &str,
    query: &str,
    until: Option<DateTime<Utc>>,
) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE subscriptions SET snoozed_until = ?4
         WHERE guild_id = ?1 AND \"user\" = ?2 AND kind = 'member' AND query = ?3",
        args![guild, user, query, until.map(ts)],
    )?)
}

/// Instant alerts this member got in the hour keyed `hour` (see `core::digest::hour_key`).
pub fn sent_in_hour(conn: &Conn, guild: &str, user: &str, hour: &str) -> Result<u32> {
    let n: Option<i64> = conn
        .prepare_cached(
            "SELECT sent FROM member_hours WHERE guild_id = ?1 AND user_id = ?2 AND hour = ?3",
        )?
        .query_row(args![guild, user, hour], |r| r.get(0))
        .optional()?;
    Ok(n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0))
}

/// Counts `n` more instant alerts for the member in that hour.
pub fn count_instants(conn: &Conn, guild: &str, user: &str, hour: &str, n: u32) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO member_hours (guild_id, user_id, hour, sent) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (guild_id, user_id, hour) DO UPDATE SET sent = member_hours.sent + excluded.sent",
    )?
    .execute(args![guild, user, hour, n])?;
    Ok(())
}

/// Holds items for members' digests (once per item, member and target): one prepared
/// statement for a whole poll, which can hold hundreds of thousands of entries.
pub struct Holder<'t> {
    insert: db::Stmt<'t>,
    now: String,
}

impl<'t> Holder<'t> {
    pub fn new(tx: &'t Conn, now: DateTime<Utc>) -> Result<Holder<'t>> {
        Ok(Holder {
            insert: tx.prepare_cached(
                "INSERT INTO digest_entries (item_id, guild_id, user_id, target, matched, reason, due_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            )?,
            now: ts(now),
        })
    }

    /// Holds `item_id` for `held`'s member; 1 if it was not held for them already.
    pub fn hold(&mut self, item_id: i64, held: &Held) -> Result<usize> {
        let matched = serde_json::to_string(&held.matched).unwrap_or_else(|_| "[]".into());
        Ok(self.insert.execute(args![
            item_id,
            held.guild,
            held.user,
            held.target,
            matched,
            held.reason.as_str(),
            ts(held.due),
            self.now
        ])?)
    }
}

/// Groups every held item due by `now` into one digest per member and target. Returns how
/// many digests were formed. Items due later stay held, and so do a paused member's (they go
/// out after `/resume`).
pub fn form_due_digests(conn: &Conn, now: DateTime<Utc>) -> Result<usize> {
    let tx = conn.transaction()?;
    let now_text = ts(now);
    let groups: Vec<(String, String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT guild_id, user_id, target FROM digest_entries e
             WHERE digest_id IS NULL AND due_at <= ?1
               AND NOT EXISTS (SELECT 1 FROM members m
                               WHERE m.guild_id = e.guild_id AND m.user_id = e.user_id AND m.paused = 1)
             GROUP BY guild_id, user_id, target ORDER BY min(id)",
        )?;
        let rows = stmt.query_map(args![&now_text], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<db::Result<Vec<_>>>()?
    };
    for (guild, user, target) in &groups {
        let id: i64 = tx.query_row(
            "INSERT INTO digests (guild_id, user_id, target, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
            args![guild, user, target, now_text],
            |r| r.get(0),
        )?;
        tx.execute(
            "UPDATE digest_entries SET digest_id = ?1
             WHERE digest_id IS NULL AND due_at <= ?2 AND guild_id = ?3 AND user_id = ?4 AND target = ?5",
            args![id, now_text, guild, user, target],
        )?;
    }
    tx.commit()?;
    Ok(groups.len())
}

/// When the next held item falls due, if any is held.
pub fn next_digest_due(conn: &Conn) -> Result<Option<DateTime<Utc>>> {
    let due: Option<String> = conn.query_row(
        "SELECT min(due_at) FROM digest_entries WHERE digest_id IS NULL",
        args![],
        |r| r.get(0),
    )?;
    Ok(parse_ts(due))
}

/// Items held for digests (not yet formed), across every member.
pub fn held_total(conn: &Conn) -> Result<usize> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM digest_entries WHERE digest_id IS NULL",
        args![],
        |r| r.get(0),
    )?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Items a member has held for digests (not yet formed), per target.
pub fn held_count(conn: &Conn, guild: &str, user: &str) -> Result<usize> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM digest_entries WHERE guild_id = ?1 AND user_id = ?2 AND digest_id IS NULL",
        args![guild, user],
        |r| r.get(0),
    )?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Formed digests not yet delivered or dropped with an id above `after`, oldest first, with their items in the order
/// they were found.
pub fn pending_digests_after(conn: &Conn, after: i64, limit: usize) -> Result<Vec<Digest>> {
    let heads: Vec<(i64, String, String)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT id, user_id, target FROM digests
             WHERE delivered_at IS NULL AND dropped_at IS NULL AND id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(args![after, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        rows.collect::<db::Result<Vec<_>>>()?
    };
    let mut out = Vec::with_capacity(heads.len());
    let mut stmt = conn.prepare_cached(
        "SELECT i.title, i.link, s.name, e.matched, i.published, e.reason
         FROM digest_entries e JOIN items i ON i.id = e.item_id JOIN sources s ON s.id = i.source_id
         WHERE e.digest_id = ?1 ORDER BY e.id",
    )?;
    for (id, user, target) in heads {
        let mut reasons = Vec::new();
        let rows = stmt.query_map(args![id], |r| {
            let matched: String = r.get(3)?;
            let reason: String = r.get(5)?;
            Ok((
                DigestEntry {
                    title: r.get(0)?,
                    link: r.get(1)?,
                    source: r.get(2)?,
                    matched: serde_json::from_str(&matched).unwrap_or_default(),
                    published: parse_ts(r.get(4)?),
                    also: Vec::new(),
                },
                Reason::parse(&reason),
            ))
        })?;
        let mut entries = Vec::new();
        for row in rows {
            let (entry, reason) = row?;
            if !reasons.contains(&reason) {
                reasons.push(reason);
            }
            entries.push(entry);
        }
        out.push(Digest {
            id,
            user,
            target,
            reasons,
            entries: merge_stories(entries),
        });
    }
    Ok(out)
}

pub fn mark_digest_delivered(conn: &Conn, id: i64, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE digests SET delivered_at = ?2 WHERE id = ?1",
        args![id, ts(now)],
    )?;
    Ok(())
}

pub fn mark_digest_failed(conn: &Conn, id: i64, error: &str) -> Result<()> {
    conn.execute(
        "UPDATE digests SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        args![id, error],
    )?;
    Ok(())
}

pub fn mark_digest_dropped(conn: &Conn, id: i64, reason: &str, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE digests SET dropped_at = ?3, dropped_reason = ?2 WHERE id = ?1",
        args![id, reason, ts(now)],
    )?;
    Ok(())
}

/// Forgets per-hour counters older than a day (they only matter for the current hour).
pub fn prune_hour_counts(conn: &Conn, now: DateTime<Utc>) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM member_hours WHERE hour < ?1",
        args![ts(now - chrono::Duration::days(1))],
    )?)
}
