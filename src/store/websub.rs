//! WebSub push subscriptions (`sources::websub` decides; this stores). One row per source
//! whose feed names a hub, while `[http] public_url` is set.

use super::db::{self, Conn, OptionalExtension as _};
use crate::args;
use chrono::{DateTime, Utc};

use super::{parse_ts, ts, Result, Store};
use crate::core::model::SourceId;
use crate::sources::websub::{random_token, HubLinks, PushRow, PushState};

const COLUMNS: &str = "source_id, hub, topic, callback_id, secret, state, requested_at, verified_at, lease_ends_at, last_push_at, pushes, last_error";

fn from_row(r: &db::Row) -> db::Result<PushRow> {
    Ok(PushRow {
        source_id: SourceId(r.get(0)?),
        hub: r.get(1)?,
        topic: r.get(2)?,
        callback_id: r.get(3)?,
        secret: r.get(4)?,
        state: PushState::parse(&r.get::<String>(5)?),
        requested_at: parse_ts(r.get(6)?),
        verified_at: parse_ts(r.get(7)?),
        lease_ends_at: parse_ts(r.get(8)?),
        last_push_at: parse_ts(r.get(9)?),
        pushes: r.get::<i64>(10)?.max(0) as u64,
        last_error: r.get(11)?,
    })
}

fn by_source(conn: &Conn, source: SourceId) -> Result<Option<PushRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM websub WHERE source_id = ?1"),
            args![source.0],
            from_row,
        )
        .optional()?)
}

impl Store {
    /// The push subscription of one source.
    pub async fn push_subscription(&self, source: SourceId) -> Result<Option<PushRow>> {
        self.call(move |c| by_source(c, source)).await
    }

    /// The push subscription a hub's request to `/websub/<callback_id>` is about. On the
    /// interactive connection: a hub waits on the answer.
    pub async fn push_by_callback(&self, callback_id: String) -> Result<Option<PushRow>> {
        self.call_interactive(move |c| {
            Ok(c.query_row(
                &format!("SELECT {COLUMNS} FROM websub WHERE callback_id = ?1"),
                args![callback_id],
                from_row,
            )
            .optional()?)
        })
        .await
    }

    /// Every push subscription, with whether its source is still polled (exists, not
    /// retired, not paused).
    pub async fn push_subscriptions(&self) -> Result<Vec<(PushRow, bool)>> {
        self.call(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS}, EXISTS (SELECT 1 FROM sources s WHERE s.id = websub.source_id
                     AND s.retired = 0 AND s.state != 'paused')
                 FROM websub ORDER BY source_id"
            ))?;
            let rows = stmt.query_map(args![], |r| Ok((from_row(r)?, r.get::<bool>(12)?)))?;
            Ok(rows.collect::<db::Result<Vec<_>>>()?)
        })
        .await
    }

    /// A new subscription for `source` at `links` (state `wanted`, a fresh callback id and
    /// secret), or the same row pointed at another hub or topic.
    pub async fn want_push(&self, source: SourceId, links: HubLinks) -> Result<()> {
        let (callback, secret) = (random_token(16), random_token(24));
        self.call(move |c| {
            c.execute(
                "INSERT INTO websub (source_id, hub, topic, callback_id, secret, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'wanted')
                 ON CONFLICT (source_id) DO UPDATE SET hub = excluded.hub, topic = excluded.topic,
                     state = 'wanted', requested_at = NULL, verified_at = NULL,
                     lease_ends_at = NULL, last_error = NULL",
                args![
                    source.0,
                    links.hub.as_str(),
                    links.topic.as_str(),
                    callback,
                    secret
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// The subscription is to be ended: the maintainer sends the unsubscription.
    pub async fn end_push(&self, source: SourceId) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE websub SET state = 'unsubscribing', requested_at = NULL WHERE source_id = ?1",
                args![source.0],
            )?;
            Ok(())
        })
        .await
    }

    /// A request was sent to the hub (`error`: it failed, and why).
    pub async fn push_requested(
        &self,
        source: SourceId,
        unsubscribing: bool,
        now: DateTime<Utc>,
        error: Option<String>,
    ) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE websub SET requested_at = ?2, last_error = ?3,
                     state = CASE WHEN ?4 THEN 'unsubscribing'
                                  WHEN state = 'active' THEN 'active' ELSE 'requested' END
                 WHERE source_id = ?1",
                args![source.0, ts(now), error, unsubscribing],
            )?;
            Ok(())
        })
        .await
    }

    /// The hub verified the subscription: active until `lease_ends`.
    pub async fn push_verified(
        &self,
        callback_id: String,
        now: DateTime<Utc>,
        lease_ends: DateTime<Utc>,
    ) -> Result<()> {
        self.call_interactive(move |c| {
            c.execute(
                "UPDATE websub SET state = 'active', verified_at = ?2, lease_ends_at = ?3,
                     last_error = NULL
                 WHERE callback_id = ?1",
                args![callback_id, ts(now), ts(lease_ends)],
            )?;
            Ok(())
        })
        .await
    }

    /// The hub refused the subscription.
    pub async fn push_denied(&self, callback_id: String, reason: String) -> Result<()> {
        self.call_interactive(move |c| {
            c.execute(
                "UPDATE websub SET state = 'denied', last_error = ?2 WHERE callback_id = ?1",
                args![callback_id, reason],
            )?;
            Ok(())
        })
        .await
    }

    /// The unsubscription was confirmed (or given up on): the row goes.
    pub async fn forget_push(&self, source: SourceId) -> Result<()> {
        self.call_interactive(move |c| {
            c.execute("DELETE FROM websub WHERE source_id = ?1", args![source.0])?;
            Ok(())
        })
        .await
    }

    /// A signed push arrived.
    pub async fn push_received(&self, source: SourceId, now: DateTime<Utc>) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE websub SET pushes = pushes + 1, last_push_at = ?2 WHERE source_id = ?1",
                args![source.0, ts(now)],
            )?;
            Ok(())
        })
        .await
    }
}
