//! Source-health events and notices (`/alerts log`): the rows only; what counts as an event and
//! whether a notice is due is `core::health`.
//!
//! Contract (what any backend must do):
//! - Events are written by [`note_failure`] / [`note_success`], with the outcome they come
//!   from; `(source, kind, episode)` is unique, so recording the same episode again is a no-op.
//! - [`Store::pending_source_events`] lists events not yet handled, oldest first;
//!   [`Store::finish_source_event`] marks one handled (sent, held back, or nobody to tell).
//! - [`Store::health_notices_since`] / [`Store::record_health_notice`] keep what each server
//!   was sent (or had held back), for the rate limits.

use super::db::{Conn, OptionalExtension as _};
use crate::args;
use chrono::{DateTime, Utc};

use super::{parse_ts, ts, Result, Store};
use crate::core::health::{self, Before, EventKind, NewEvent, SentNotice, Success};
use crate::core::model::{SourceId, SourceState, Target};

/// How many recent arrivals of new items the silence check looks at.
const ARRIVALS_READ: usize = 21;

/// The source as it is now, before an outcome is recorded (`None`: no such source).
pub(super) fn before(conn: &Conn, id: i64) -> Result<Option<Before>> {
    Ok(conn
        .query_row(
            "SELECT state, failures, url, last_success_at FROM sources WHERE id = ?1",
            args![id],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<u32>(1)?,
                    r.get::<String>(2)?,
                    r.get::<Option<String>>(3)?,
                ))
            },
        )
        .optional()?
        .map(|(state, failures, url, last)| Before {
            state: SourceState::parse(&state),
            failures,
            url,
            last_success_at: parse_ts(last),
        }))
}

/// Records the event a failed poll starts, if any (`before`: the source before it).
pub(super) fn note_failure(
    conn: &Conn,
    id: i64,
    now: DateTime<Utc>,
    before: &Before,
    paused_reason: Option<&str>,
) -> Result<()> {
    if let Some(event) = health::on_failure(before, paused_reason) {
        insert_event(conn, id, now, &event)?;
    }
    Ok(())
}

/// Records the events a successful poll starts (after its items were stored).
pub(super) fn note_success(
    conn: &Conn,
    id: i64,
    now: DateTime<Utc>,
    before: &Before,
    new_url: Option<&str>,
) -> Result<()> {
    // Stored times have millisecond precision: compare like with like.
    let now = parse_ts(Some(ts(now))).unwrap_or(now);
    let arrivals = arrivals(conn, id)?;
    let silence_recorded = match arrivals.get(1) {
        Some(previous) if arrivals.first() == Some(&now) => conn
            .query_row(
                "SELECT 1 FROM source_events WHERE source_id = ?1 AND kind = 'silent' AND episode = ?2",
                args![id, health::silent_episode(*previous)],
                |_| Ok(()),
            )
            .optional()?
            .is_some(),
        _ => false,
    };
    let success = Success {
        new_url,
        arrivals: &arrivals,
        silence_recorded,
    };
    for event in health::on_success(before, &success, now) {
        insert_event(conn, id, now, &event)?;
    }
    Ok(())
}

/// When the source's recent polls brought new items, newest first.
fn arrivals(conn: &Conn, id: i64) -> Result<Vec<DateTime<Utc>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT fetched_at FROM items WHERE source_id = ?1 ORDER BY fetched_at DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(args![id, ARRIVALS_READ as i64], |r| r.get::<String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        if let Some(t) = parse_ts(Some(row?)) {
            out.push(t);
        }
    }
    Ok(out)
}

fn insert_event(conn: &Conn, id: i64, now: DateTime<Utc>, event: &NewEvent) -> Result<()> {
    let added = conn.execute(
        "INSERT INTO source_events (source_id, kind, episode, detail, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        args![
            id,
            event.kind.as_str(),
            event.episode,
            event.detail,
            ts(now)
        ],
    )?;
    if added > 0 {
        tracing::info!(source_id = id, kind = event.kind.as_str(), detail = %event.detail, "source event");
    }
    Ok(())
}

/// An event waiting to be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    pub id: i64,
    pub source_id: SourceId,
    pub source_name: String,
    /// The server that added the source (`None`: a config source, told to every server).
    pub source_guild: Option<String>,
    pub kind: EventKind,
    pub detail: String,
}

/// A server's log channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChannel {
    pub guild: String,
    pub channel: u64,
}

impl Store {
    /// Events not yet handled, oldest first (events of a kind this version does not know are
    /// left alone).
    pub async fn pending_source_events(&self) -> Result<Vec<PendingEvent>> {
        self.call(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT e.id, e.source_id, s.name, s.guild_id, e.kind, e.detail
                 FROM source_events e JOIN sources s ON s.id = e.source_id
                 WHERE e.done_at IS NULL ORDER BY e.id LIMIT 100",
            )?;
            let rows = stmt.query_map(args![], |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<i64>(1)?,
                    r.get::<String>(2)?,
                    r.get::<Option<String>>(3)?,
                    r.get::<String>(4)?,
                    r.get::<String>(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, source, name, guild, kind, detail) = row?;
                if let Some(kind) = EventKind::parse(&kind) {
                    out.push(PendingEvent {
                        id,
                        source_id: SourceId(source),
                        source_name: name,
                        source_guild: guild,
                        kind,
                        detail,
                    });
                }
            }
            Ok(out)
        })
        .await
    }

    /// Marks an event handled.
    pub async fn finish_source_event(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE source_events SET done_at = ?2 WHERE id = ?1",
                args![id, ts(now)],
            )?;
            Ok(())
        })
        .await
    }

    /// Where a source's events go: its server's log channel, or (a config source) every
    /// server's that set one.
    pub async fn log_channels_for(&self, source_guild: Option<String>) -> Result<Vec<LogChannel>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT guild_id, log_channel FROM guilds
                 WHERE log_channel IS NOT NULL AND (?1 IS NULL OR guild_id = ?1) ORDER BY guild_id",
            )?;
            let rows = stmt.query_map(args![source_guild], |r| {
                Ok((r.get::<String>(0)?, r.get::<String>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (guild, channel) = row?;
                if let Target::Channel(channel) = Target::parse(&channel) {
                    out.push(LogChannel { guild, channel });
                }
            }
            Ok(out)
        })
        .await
    }

    /// The notices `guild` was sent since `since`, and how many were held back after its
    /// last sent one.
    pub async fn health_notices_since(
        &self,
        guild: String,
        since: DateTime<Utc>,
    ) -> Result<(Vec<SentNotice>, usize)> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT source_id, kind, at FROM health_notices
                 WHERE guild_id = ?1 AND held = 0 AND at >= ?2 ORDER BY id",
            )?;
            let rows = stmt.query_map(args![guild, ts(since)], |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<String>(1)?,
                    r.get::<String>(2)?,
                ))
            })?;
            let mut sent = Vec::new();
            for row in rows {
                let (source_id, kind, at) = row?;
                if let (Some(kind), Some(at)) = (EventKind::parse(&kind), parse_ts(Some(at))) {
                    sent.push(SentNotice { source_id, kind, at });
                }
            }
            let held: i64 = c.query_row(
                "SELECT count(*) FROM health_notices WHERE guild_id = ?1 AND held = 1
                   AND id > coalesce((SELECT max(id) FROM health_notices WHERE guild_id = ?1 AND held = 0), 0)",
                args![&guild],
                |r| r.get(0),
            )?;
            Ok((sent, usize::try_from(held).unwrap_or(0)))
        })
        .await
    }

    /// Records a notice sent to `guild` (or, `held`, held back by the rate limits).
    pub async fn record_health_notice(
        &self,
        guild: String,
        source: SourceId,
        kind: EventKind,
        now: DateTime<Utc>,
        held: bool,
    ) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO health_notices (guild_id, source_id, kind, at, held) VALUES (?1, ?2, ?3, ?4, ?5)",
                args![guild, source.0, kind.as_str(), ts(now), held],
            )?;
            Ok(())
        })
        .await
    }

    /// The server's log channel, if set.
    pub async fn log_channel(&self, guild: &str) -> Result<Option<Target>> {
        let guild = guild.to_string();
        self.call_interactive(move |c| {
            Ok(c.query_row(
                "SELECT log_channel FROM guilds WHERE guild_id = ?1",
                args![&guild],
                |r| r.get::<Option<String>>(0),
            )
            .optional()?
            .flatten()
            .map(|t| Target::parse(&t)))
        })
        .await
    }

    /// Sets (or, `None`, clears) the server's log channel.
    pub async fn set_log_channel(&self, guild: &str, channel: Option<&Target>) -> Result<()> {
        let (guild, channel) = (guild.to_string(), channel.map(ToString::to_string));
        self.call_interactive(move |c| {
            c.execute(
                "INSERT INTO guilds (guild_id, log_channel) VALUES (?1, ?2)
                 ON CONFLICT (guild_id) DO UPDATE SET log_channel = excluded.log_channel",
                args![guild, channel],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
impl Store {
    /// Adds a healthy, polled source named `name` (a config source when `guild` is `None`),
    /// for tests of what its outcomes start.
    pub(crate) async fn insert_test_source(&self, name: &str, guild: Option<&str>) -> SourceId {
        let (name, guild) = (name.to_string(), guild.map(str::to_string));
        let id = self
            .call(move |c| {
                Ok(c.query_row(
                    "INSERT INTO sources (name, url, origin, guild_id, schedule, created_at, initialized, state)
                     VALUES (?1, 'https://a.test/' || ?1, CASE WHEN ?2 IS NULL THEN 'config' ELSE 'discord' END,
                             ?2, '* * * * * *', '2026-12-01T00:00:00.000Z', 1, 'ok')
                     RETURNING id",
                    args![name, guild],
                    |r| r.get::<i64>(0),
                )?)
            })
            .await
            .expect("insert a test source");
        SourceId(id)
    }

    /// Stores an item of `source` first fetched at `at` (a new-item arrival).
    pub(crate) async fn insert_test_item(&self, source: SourceId, key: &str, at: DateTime<Utc>) {
        let key = key.to_string();
        self.call(move |c| {
            c.execute(
                "INSERT INTO items (source_id, key, title, summary, body, fetched_at) VALUES (?1, ?2, ?2, '', '', ?3)",
                args![source.0, key, ts(at)],
            )?;
            Ok(())
        })
        .await
        .expect("insert a test item");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{FetchRecord, PollFailure};

    async fn store_with_source() -> (Store, SourceId) {
        let store = crate::store::testing::test_store_async().await;
        let id = store.insert_test_source("Wire", None).await;
        (store, id)
    }

    #[tokio::test]
    async fn a_source_quiet_for_five_usual_gaps_is_silent_once_then_back() {
        let (store, id) = store_with_source().await;
        let t0 = parse_ts(Some("2026-12-01T00:00:00.000Z".into())).unwrap();
        for i in 0..5 {
            store
                .insert_test_item(id, &format!("i{i}"), t0 + chrono::Duration::hours(i))
                .await;
        }
        let last = t0 + chrono::Duration::hours(4);
        let just_before = last + chrono::Duration::hours(5) - chrono::Duration::seconds(1);
        store
            .record_unchanged(id, just_before, FetchRecord::default())
            .await
            .unwrap();
        assert!(store.pending_source_events().await.unwrap().is_empty());
        for minutes in [0, 10] {
            let at = last + chrono::Duration::hours(5) + chrono::Duration::minutes(minutes);
            store
                .record_unchanged(id, at, FetchRecord::default())
                .await
                .unwrap();
        }
        let pending = store.pending_source_events().await.unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert_eq!(pending[0].kind, EventKind::Silent);
        assert!(
            pending[0].detail.contains("usually one every 60 minutes"),
            "{}",
            pending[0].detail
        );
        // New items again: back to normal.
        let back = last + chrono::Duration::hours(6);
        store.insert_test_item(id, "i5", back).await;
        store
            .record_unchanged(id, back, FetchRecord::default())
            .await
            .unwrap();
        let kinds = pending_kinds(&store).await;
        assert_eq!(kinds, [EventKind::Silent, EventKind::Recovered]);
    }

    async fn pending_kinds(store: &Store) -> Vec<EventKind> {
        store
            .pending_source_events()
            .await
            .unwrap()
            .iter()
            .map(|e| e.kind)
            .collect()
    }

    fn gone() -> PollFailure {
        PollFailure {
            error: "410".into(),
            next_check_at: None,
            paused_reason: Some("gone (HTTP 410)".into()),
        }
    }

    #[tokio::test]
    async fn a_pause_is_recorded_once_and_recovery_once() {
        let (store, id) = store_with_source().await;
        let now = Utc::now();
        store.record_poll_failure(id, now, gone()).await.unwrap();
        store.record_poll_failure(id, now, gone()).await.unwrap();
        let pending = store.pending_source_events().await.unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert_eq!(pending[0].kind, EventKind::Paused);
        assert_eq!(pending[0].source_guild, None);
        store
            .record_unchanged(id, now, FetchRecord::default())
            .await
            .unwrap();
        store
            .record_unchanged(id, now, FetchRecord::default())
            .await
            .unwrap();
        let kinds = pending_kinds(&store).await;
        assert_eq!(kinds, [EventKind::Paused, EventKind::Recovered]);
        store.finish_source_event(pending[0].id, now).await.unwrap();
        assert_eq!(store.pending_source_events().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_permanent_redirect_is_a_move_once() {
        let (store, id) = store_with_source().await;
        let moved = || FetchRecord {
            new_url: Some("https://b.test/feed".into()),
            ..FetchRecord::default()
        };
        let now = Utc::now();
        store.record_unchanged(id, now, moved()).await.unwrap();
        store.record_unchanged(id, now, moved()).await.unwrap();
        let pending = store.pending_source_events().await.unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        assert_eq!(pending[0].kind, EventKind::Moved);
        assert!(
            pending[0]
                .detail
                .contains("https://a.test/Wire to https://b.test/feed"),
            "{}",
            pending[0].detail
        );
    }

    #[tokio::test]
    async fn log_channels_of_config_sources_are_every_servers() {
        let (store, _) = store_with_source().await;
        store
            .set_log_channel("1", Some(&Target::Channel(10)))
            .await
            .unwrap();
        store
            .set_log_channel("2", Some(&Target::Channel(20)))
            .await
            .unwrap();
        store
            .set_log_channel("3", Some(&Target::Channel(30)))
            .await
            .unwrap();
        store.set_log_channel("3", None).await.unwrap();
        assert_eq!(store.log_channels_for(None).await.unwrap().len(), 2);
        let own = store.log_channels_for(Some("2".into())).await.unwrap();
        assert_eq!(
            own,
            [LogChannel {
                guild: "2".into(),
                channel: 20
            }]
        );
        assert_eq!(store.log_channel("3").await.unwrap(), None);
    }

    #[tokio::test]
    async fn held_notices_are_counted_until_one_is_sent() {
        let (store, id) = store_with_source().await;
        let now = Utc::now();
        let g = || "1".to_string();
        store
            .record_health_notice(g(), id, EventKind::Paused, now, false)
            .await
            .unwrap();
        store
            .record_health_notice(g(), id, EventKind::Silent, now, true)
            .await
            .unwrap();
        store
            .record_health_notice(g(), id, EventKind::Moved, now, true)
            .await
            .unwrap();
        let (sent, held) = store
            .health_notices_since(g(), now - chrono::Duration::hours(6))
            .await
            .unwrap();
        assert_eq!((sent.len(), held), (1, 2));
        store
            .record_health_notice(g(), id, EventKind::Recovered, now, false)
            .await
            .unwrap();
        let (sent, held) = store
            .health_notices_since(g(), now - chrono::Duration::hours(6))
            .await
            .unwrap();
        assert_eq!((sent.len(), held), (2, 0));
    }
}
