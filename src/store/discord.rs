//! Queries behind the slash commands: members' and channel-wide subscriptions, pause state,
//! per-server settings and sources. Every query is scoped to one server (`guild_id`).

use super::db::{self, Conn, OptionalExtension as _};
use crate::args;
use chrono::{DateTime, Utc};

use super::{
    parse_ts, source_from_row, subscription_rows, ts, Result, SourceRow, SubscriptionRow,
    SOURCE_COLUMNS, SUBSCRIPTION_COLUMNS,
};

/// Origin of rows created from Discord.
pub const ORIGIN_DISCORD: &str = "discord";
/// A member's own subscription (mentions the member).
pub const KIND_MEMBER: &str = "member";
/// A channel-wide subscription set by an admin (mentions nobody).
pub const KIND_CHANNEL: &str = "channel";

/// A member's subscriptions in one server, oldest first.
pub fn member_subscriptions(conn: &Conn, guild: &str, user: &str) -> Result<Vec<SubscriptionRow>> {
    subscription_rows(
        conn,
        &format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions s
         WHERE guild_id = ?1 AND \"user\" = ?2 AND kind = 'member' ORDER BY id"
        ),
        args![guild, user],
    )
}

/// Channel-wide subscriptions of one server.
pub fn channel_subscriptions(conn: &Conn, guild: &str) -> Result<Vec<SubscriptionRow>> {
    subscription_rows(
        conn,
        &format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions s
         WHERE guild_id = ?1 AND kind = 'channel' ORDER BY id"
        ),
        args![guild],
    )
}

/// How many subscriptions (members' and channel-wide) a server holds.
pub fn count_guild_subscriptions(conn: &Conn, guild: &str) -> Result<usize> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM subscriptions WHERE guild_id = ?1",
        args![guild],
        |r| r.get(0),
    )?;
    Ok(n as usize)
}

/// Adds a subscription unless the same one exists. Returns `false` when it already existed.
pub fn add_subscription(
    conn: &Conn,
    kind: &str,
    guild: &str,
    user: &str,
    query: &str,
    target: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE guild_id = ?1 AND \"user\" = ?2 AND query = ?3 AND target = ?4 AND kind = ?5)",
        args![guild, user, query, target, kind],
        |r| r.get(0),
    )?;
    if exists {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO subscriptions (origin, kind, \"user\", query, target, guild_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![ORIGIN_DISCORD, kind, user, query, target, guild, ts(now)],
    )?;
    Ok(true)
}

/// Removes a member's subscriptions whose query is `query` (as stored). Returns how many.
pub fn remove_member_subscription(
    conn: &Conn,
    guild: &str,
    user: &str,
    query: &str,
) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM subscriptions WHERE guild_id = ?1 AND \"user\" = ?2 AND kind = 'member' AND query = ?3",
        args![guild, user, query],
    )?)
}

/// Removes channel-wide subscriptions with this query (in one channel, or all). Returns how many.
pub fn remove_channel_subscription(
    conn: &Conn,
    guild: &str,
    query: &str,
    target: Option<&str>,
) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM subscriptions WHERE guild_id = ?1 AND kind = 'channel' AND query = ?2 AND (?3 IS NULL OR target = ?3)",
        args![guild, query, target],
    )?)
}

pub fn set_paused(conn: &Conn, guild: &str, user: &str, paused: bool) -> Result<()> {
    conn.execute(
        "INSERT INTO members (guild_id, user_id, paused) VALUES (?1, ?2, ?3)
         ON CONFLICT (guild_id, user_id) DO UPDATE SET paused = excluded.paused",
        args![guild, user, paused],
    )?;
    Ok(())
}

pub fn is_paused(conn: &Conn, guild: &str, user: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT paused FROM members WHERE guild_id = ?1 AND user_id = ?2",
            args![guild, user],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false))
}

pub fn set_alert_channel(conn: &Conn, guild: &str, channel: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO guilds (guild_id, alert_channel) VALUES (?1, ?2)
         ON CONFLICT (guild_id) DO UPDATE SET alert_channel = excluded.alert_channel",
        args![guild, channel],
    )?;
    Ok(())
}

pub fn alert_channel(conn: &Conn, guild: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT alert_channel FROM guilds WHERE guild_id = ?1",
            args![guild],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// The servers that have a subscription delivering to `target`.
pub fn guilds_of_target(conn: &Conn, target: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT guild_id FROM subscriptions WHERE target = ?1 AND guild_id IS NOT NULL",
    )?;
    let rows = stmt.query_map(args![target], |r| r.get(0))?;
    Ok(rows.collect::<db::Result<Vec<_>>>()?)
}

/// Sources that feed a server: the config's (every server) and its own.
pub fn visible_sources(conn: &Conn, guild: &str) -> Result<Vec<SourceRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SOURCE_COLUMNS} FROM sources WHERE retired = 0 AND (guild_id IS NULL OR guild_id = ?1) ORDER BY lower(name), id"
    ))?;
    let rows = stmt.query_map(args![guild], source_from_row)?;
    Ok(rows.collect::<db::Result<Vec<_>>>()?)
}

/// How many sources a server added.
pub fn count_guild_sources(conn: &Conn, guild: &str) -> Result<usize> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM sources WHERE guild_id = ?1",
        args![guild],
        |r| r.get(0),
    )?;
    Ok(n as usize)
}

/// Why a source could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddSourceError {
    NameTaken,
}

/// Adds a server's source. Names are unique per server and may not shadow a config source.
pub fn add_guild_source(
    conn: &Conn,
    guild: &str,
    name: &str,
    url: &str,
    schedule: &str,
    now: DateTime<Utc>,
) -> Result<std::result::Result<i64, AddSourceError>> {
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sources WHERE retired = 0 AND lower(name) = lower(?1) AND (guild_id IS NULL OR guild_id = ?2))",
        args![name, guild],
        |r| r.get(0),
    )?;
    if taken {
        return Ok(Err(AddSourceError::NameTaken));
    }
    let id = conn.query_row(
        "INSERT INTO sources (name, url, origin, guild_id, schedule, backfill, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6) RETURNING id",
        args![name, url, ORIGIN_DISCORD, guild, schedule, ts(now)],
        |r| r.get(0),
    )?;
    Ok(Ok(id))
}

/// What removing a source by name did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveSource {
    Removed,
    NotFound,
    /// The source comes from the config file: only the operator can remove it.
    FromConfig,
}

pub fn remove_guild_source(conn: &Conn, guild: &str, name: &str) -> Result<RemoveSource> {
    let removed = conn.execute(
        "DELETE FROM sources WHERE guild_id = ?1 AND lower(name) = lower(?2)",
        args![guild, name],
    )?;
    if removed > 0 {
        return Ok(RemoveSource::Removed);
    }
    let config: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sources WHERE guild_id IS NULL AND retired = 0 AND lower(name) = lower(?1))",
        args![name],
        |r| r.get(0),
    )?;
    Ok(if config {
        RemoveSource::FromConfig
    } else {
        RemoveSource::NotFound
    })
}

/// An item recently seen by a source visible to a server, for `/preview`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentItem {
    pub source: String,
    pub title: String,
    pub link: Option<String>,
    pub body: String,
    pub fetched_at: Option<DateTime<Utc>>,
}

pub fn recent_items(
    conn: &Conn,
    guild: &str,
    since: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<RecentItem>> {
    let mut stmt = conn.prepare(
        "SELECT s.name, i.title, i.link, i.body, i.fetched_at FROM items i JOIN sources s ON s.id = i.source_id
         WHERE i.fetched_at >= ?1 AND (s.guild_id IS NULL OR s.guild_id = ?2)
         ORDER BY i.id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(args![ts(since), guild, limit as i64], |r| {
        Ok(RecentItem {
            source: r.get(0)?,
            title: r.get(1)?,
            link: r.get(2)?,
            body: r.get(3)?,
            fetched_at: parse_ts(r.get(4)?),
        })
    })?;
    Ok(rows.collect::<db::Result<Vec<_>>>()?)
}

/// Pending (undelivered, not dropped) alerts for a target.
pub fn pending_for_target(conn: &Conn, target: &str) -> Result<usize> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM outbox WHERE target = ?1 AND delivered_at IS NULL AND dropped_at IS NULL",
        args![target],
        |r| r.get(0),
    )?;
    Ok(n as usize)
}
