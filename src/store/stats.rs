//! What `/stats` reads: a server's sources with their health, its alerts over a day and a
//! week, the terms its alerts matched, and its subscription counts. One read, no decisions.

use super::db::{self, Conn};
use crate::args;
use chrono::{DateTime, Duration, Utc};

use super::discord::visible_sources;
use super::{ts, Result, SourceRow, Store};

/// One server's numbers, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Config sources and the server's own, with their health.
    pub sources: Vec<SourceRow>,
    /// Alerts written for the server's targets in the last 24 hours / 7 days (not dropped).
    pub alerts_day: u64,
    pub alerts_week: u64,
    /// The matched terms of every alert of the last 7 days, one list per alert.
    pub matched_week: Vec<Vec<String>>,
    /// Member and channel-wide subscriptions in the server.
    pub subscriptions: u64,
    /// Members with at least one subscription.
    pub members: u64,
}

impl Store {
    /// `/stats` for `guild` at `now`.
    pub async fn server_stats(&self, guild: &str, now: DateTime<Utc>) -> Result<ServerStats> {
        let guild = guild.to_string();
        self.call_interactive(move |c| server_stats(c, &guild, now))
            .await
    }
}

/// An alert belongs to a server when one of the server's subscriptions delivers to its target.
const SERVER_ALERTS: &str = "FROM outbox o WHERE o.dropped_at IS NULL AND o.created_at >= ?2
     AND o.target IN (SELECT target FROM subscriptions WHERE guild_id = ?1)";

fn server_stats(conn: &Conn, guild: &str, now: DateTime<Utc>) -> Result<ServerStats> {
    let day = ts(now - Duration::hours(24));
    let week = ts(now - Duration::days(7));
    let count = |since: &str| -> Result<u64> {
        let n: i64 = conn.query_row(
            &format!("SELECT count(*) {SERVER_ALERTS}"),
            args![guild, since],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    };
    let mut stmt = conn.prepare(&format!("SELECT o.matched {SERVER_ALERTS}"))?;
    let matched_week = stmt
        .query_map(args![guild, week], |r| r.get::<String>(0))?
        .collect::<db::Result<Vec<_>>>()?
        .iter()
        .map(|json| serde_json::from_str::<Vec<String>>(json).unwrap_or_default())
        .collect();
    let (subscriptions, members): (i64, i64) = conn.query_row(
        "SELECT count(*), count(DISTINCT CASE WHEN kind = 'member' THEN \"user\" END)
         FROM subscriptions WHERE guild_id = ?1",
        args![guild],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(ServerStats {
        sources: visible_sources(conn, guild)?,
        alerts_day: count(&day)?,
        alerts_week: count(&week)?,
        matched_week,
        subscriptions: subscriptions.max(0) as u64,
        members: members.max(0) as u64,
    })
}
