//! `newshound migrate`: copies a SQLite installation into PostgreSQL — sources, seen-item
//! memory, items, subscriptions, member settings, digests, the outbox (pending alerts stay
//! pending) and the rest — in one transaction, ids kept, so nothing is lost and nothing
//! alerts again after the move.

use super::db::Conn;
use super::{Result, Store, StoreError};
use crate::args;

/// Every table, parents before children (foreign keys), with the order rows are copied in
/// (an outbox row may point at an earlier one).
const TABLES: &[(&str, &str)] = &[
    ("sources", "id"),
    ("seen", "source_id, fingerprint"),
    ("items", "id"),
    ("subscriptions", "id"),
    ("outbox", "id"),
    ("targets", "target"),
    ("guilds", "guild_id"),
    ("members", "guild_id, user_id"),
    ("member_hours", "guild_id, user_id, hour"),
    ("digests", "id"),
    ("digest_entries", "id"),
    ("websub", "source_id"),
    ("source_events", "id"),
    ("health_notices", "id"),
];

/// Tables whose `id` PostgreSQL numbers itself: after the copy, numbering goes on above the
/// highest copied id.
const IDENTITY: &[&str] = &[
    "sources",
    "items",
    "subscriptions",
    "outbox",
    "digests",
    "digest_entries",
    "source_events",
    "health_notices",
];

/// How many rows of one table were copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub table: &'static str,
    pub rows: usize,
}

/// Why a migration did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("the target database already holds {rows} rows in {table} — newshound migrate copies into an empty database; pass --replace to empty it first (everything in it is deleted)")]
    NotEmpty { table: &'static str, rows: i64 },
    #[error("the source and target must be a SQLite file and a PostgreSQL database")]
    Engines,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Copies everything in `from` (SQLite) into `to` (PostgreSQL, migrated). Refuses a target
/// that holds any row unless `replace`, which empties it first. One transaction on the target:
/// a failure leaves it as it was.
pub fn copy(
    from: &Store,
    to: &Store,
    replace: bool,
) -> std::result::Result<Vec<Copied>, MigrateError> {
    if from.engine() != super::db::Engine::Sqlite || to.engine() != super::db::Engine::Postgres {
        return Err(MigrateError::Engines);
    }
    // Blocking: both connections on this thread (the caller runs it off the async workers).
    let source = super::lock(&from.conn)?;
    let target = super::lock(&to.conn)?;
    copy_tables(&source, &target, replace)
}

fn copy_tables(
    source: &Conn,
    target: &Conn,
    replace: bool,
) -> std::result::Result<Vec<Copied>, MigrateError> {
    let tx = target.transaction().map_err(StoreError::from)?;
    if replace {
        let names: Vec<&str> = TABLES.iter().map(|(t, _)| *t).collect();
        tx.execute_batch(&format!("TRUNCATE {} CASCADE", names.join(", ")))
            .map_err(StoreError::from)?;
    } else {
        for (table, _) in TABLES {
            let rows: i64 = tx
                .query_row(&format!("SELECT count(*) FROM {table}"), args![], |r| {
                    r.get(0)
                })
                .map_err(StoreError::from)?;
            if rows > 0 {
                return Err(MigrateError::NotEmpty { table, rows });
            }
        }
    }
    let mut copied = Vec::with_capacity(TABLES.len());
    for (table, order) in TABLES {
        let columns = sqlite_columns(source, table)?;
        let list = columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let placeholders = (1..=columns.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!("INSERT INTO {table} ({list}) VALUES ({placeholders})");
        let mut rows = 0;
        source
            .for_each_row(
                &format!("SELECT {list} FROM {table} ORDER BY {order}"),
                args![],
                |row| {
                    tx.execute(&insert, row.values())?;
                    rows += 1;
                    Ok(())
                },
            )
            .map_err(StoreError::from)?;
        copied.push(Copied { table, rows });
    }
    for table in IDENTITY {
        tx.execute_batch(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
        ))
        .map_err(StoreError::from)?;
    }
    tx.commit().map_err(StoreError::from)?;
    Ok(copied)
}

/// The columns of `table` in the SQLite database, in order.
fn sqlite_columns(source: &Conn, table: &str) -> Result<Vec<String>> {
    Ok(source.query_map(
        &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
        args![],
        |r| r.get::<String>(0),
    )?)
}
