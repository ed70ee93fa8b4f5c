//! What the operations listener reads: readiness, the delivery backlog, recent alerts and
//! subscription counts (`src/ops/`). Read-only, on the interactive connection so a scrape or
//! a status page never waits behind a poll's transaction.

use super::db::{self, Conn};
use crate::args;
use chrono::{DateTime, Utc};

use super::{parse_ts, Database, Result, Store, StoreError};

/// The outbox right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Alerts neither delivered nor dropped.
    pub pending: u64,
    /// When the oldest of them was written.
    pub oldest: Option<DateTime<Utc>>,
}

/// What became of one recent alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertStatus {
    Delivered(DateTime<Utc>),
    /// Not yet sent; the last attempt's error, if one failed.
    Pending(Option<String>),
    /// Given up, with the reason.
    Dropped(String),
}

/// One row of the status page's recent alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentAlert {
    pub title: String,
    pub source: String,
    pub target: String,
    pub created_at: Option<DateTime<Utc>>,
    pub status: AlertStatus,
}

/// Subscriptions of one server (`None`: config subscriptions, which have no server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSubscriptions {
    pub guild_id: Option<String>,
    pub subscriptions: u64,
    pub members: u64,
}

impl Store {
    /// Whether the database still answers: the file is there and is the database, read on a
    /// fresh connection (the open ones would keep working on a deleted file).
    /// On PostgreSQL: a query on the commands' connection (which reconnects if it was lost).
    pub async fn ping(&self) -> Result<()> {
        let path = match self.location() {
            Database::File(path) => path.clone(),
            Database::Memory | Database::Postgres(_) => {
                return self.call_interactive(|c| Ok(ping_conn(c)?)).await;
            }
        };
        tokio::task::spawn_blocking(move || {
            let conn = rusqlite::Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
            conn.busy_timeout(std::time::Duration::from_secs(2))?;
            ping_conn(&Conn::sqlite(conn)).map_err(|e| match e {
                db::DbError::Sqlite(source) => StoreError::Corrupt { path, source },
                other => StoreError::Sql(other),
            })
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Pending alerts and the oldest one's age.
    pub async fn backlog(&self) -> Result<Backlog> {
        self.call_interactive(|c| {
            let (pending, oldest): (i64, Option<String>) = c.query_row(
                "SELECT count(*), min(created_at) FROM outbox \
                 WHERE delivered_at IS NULL AND dropped_at IS NULL",
                args![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(Backlog {
                pending: pending.max(0) as u64,
                oldest: parse_ts(oldest),
            })
        })
        .await
    }

    /// The newest `limit` alerts, newest first.
    pub async fn recent_alerts(&self, limit: usize) -> Result<Vec<RecentAlert>> {
        self.call_interactive(move |c| {
            let mut stmt = c.prepare(
                "SELECT i.title, s.name, o.target, o.created_at, o.delivered_at, o.dropped_reason, \
                        o.last_error \
                 FROM outbox o JOIN items i ON i.id = o.item_id JOIN sources s ON s.id = i.source_id \
                 ORDER BY o.id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(args![limit as i64], |r| {
                let delivered: Option<String> = r.get(4)?;
                let dropped: Option<String> = r.get(5)?;
                let error: Option<String> = r.get(6)?;
                let status = match (parse_ts(delivered), dropped) {
                    (Some(at), _) => AlertStatus::Delivered(at),
                    (None, Some(reason)) => AlertStatus::Dropped(reason),
                    (None, None) => AlertStatus::Pending(error),
                };
                Ok(RecentAlert {
                    title: r.get(0)?,
                    source: r.get(1)?,
                    target: r.get(2)?,
                    created_at: parse_ts(r.get(3)?),
                    status,
                })
            })?;
            Ok(rows.collect::<db::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Subscriptions and subscribed members per server, config subscriptions first.
    pub async fn subscriptions_per_server(&self) -> Result<Vec<ServerSubscriptions>> {
        self.call_interactive(|c| {
            let mut stmt = c.prepare(
                "SELECT guild_id, count(*), count(DISTINCT \"user\") FROM subscriptions \
                 GROUP BY guild_id ORDER BY guild_id IS NOT NULL, count(*) DESC, guild_id",
            )?;
            let rows = stmt.query_map(args![], |r| {
                Ok(ServerSubscriptions {
                    guild_id: r.get(0)?,
                    subscriptions: r.get::<i64>(1)?.max(0) as u64,
                    members: r.get::<i64>(2)?.max(0) as u64,
                })
            })?;
            Ok(rows.collect::<db::Result<Vec<_>>>()?)
        })
        .await
    }
}

fn ping_conn(conn: &Conn) -> db::Result<()> {
    conn.query_row("SELECT count(*) FROM sources", args![], |r| r.get::<i64>(0))
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ping_fails_once_the_file_is_gone_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let store = Store::open(&path).unwrap();
        store.ping().await.unwrap();
        let aside = dir.path().join("aside.db");
        std::fs::rename(&path, &aside).unwrap();
        assert!(store.ping().await.is_err(), "a missing file is not ready");
        std::fs::rename(&aside, &path).unwrap();
        store.ping().await.unwrap();
    }

    #[tokio::test]
    async fn an_empty_outbox_has_no_backlog() {
        let store = crate::store::testing::test_store_async().await;
        assert_eq!(store.backlog().await.unwrap(), Backlog::default());
        assert!(store.recent_alerts(10).await.unwrap().is_empty());
        assert!(store.subscriptions_per_server().await.unwrap().is_empty());
    }
}
