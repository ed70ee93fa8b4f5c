//! SQLite: the one place state lives — sources and their health, seen-item memory, items,
//! subscriptions and the alert outbox. Every function here is a thin typed query; deciding
//! happens in `core` and `pipeline`.

mod app;
pub mod commands;
pub mod db;
pub mod digest;
pub mod discord;
pub mod health;
pub mod migrate;
pub mod opml;
mod outbox;
mod poll;
mod schema;
pub mod stats;
mod status;
#[doc(hidden)]
pub mod testing;
mod websub;

pub use outbox::{DeliveryId, StoryUpdate};
pub use poll::{Applied, PollFailure};
pub use status::{AlertStatus, Backlog, RecentAlert, ServerSubscriptions};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use self::db::{Conn, OptionalExtension as _};
use crate::args;

use crate::config::{Config, Location};
use crate::core::alert::{Alert, PlannedAlert};
use crate::core::digest::Cadence;
use crate::core::model::{Origin, OutboxId, SourceId, SourceState};

/// What can go wrong with the database, phrased for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {source} — check the file is a newshound database and the directory is writable (storage.path)")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the database {path} is not a SQLite database or is corrupt ({source}) — move it aside and newshound will create a new one (seen items and Discord subscriptions in it would be lost)")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the directory for the database {path}: {source}")]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the database {database} was written by a newer newshound (schema {found}, this one knows {known}) — upgrade newshound")]
    TooNew {
        database: String,
        found: i64,
        known: i64,
    },
    #[error("cannot connect to the PostgreSQL database {url}: {source} — check the server is running and the URL (storage.url or NEWSHOUND_DATABASE_URL) names a database this user may use")]
    Connect {
        /// The URL without its password.
        url: String,
        #[source]
        source: db::DbError,
    },
    #[error("database error: {0}")]
    Sql(#[from] db::DbError),
    #[error("database task failed: {0}")]
    Task(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Sql(db::DbError::Sqlite(e))
    }
}

/// Where the database is: a SQLite file (the default), SQLite in memory, or a PostgreSQL
/// server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    File(PathBuf),
    Memory,
    /// `postgres://…`; shown (logs, errors) through [`redact_url`].
    Postgres(String),
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::File(p) => write!(f, "{}", p.display()),
            Database::Memory => f.write_str(":memory:"),
            Database::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl Database {
    /// The database a process uses: `NEWSHOUND_DATABASE_URL` (`env`) wins over
    /// `[storage] url`, which wins over `[storage] path` (SQLite, the default).
    pub fn choose(
        path: &Path,
        file_url: Option<&str>,
        env: Option<String>,
    ) -> std::result::Result<Database, String> {
        match env.filter(|e| !e.trim().is_empty()) {
            Some(url) => match check_postgres_url(&url) {
                Ok(()) => Ok(Database::Postgres(url)),
                Err(fix) => Err(format!(
                    "NEWSHOUND_DATABASE_URL = {} {fix}",
                    redact_url(&url)
                )),
            },
            None => Ok(match file_url {
                Some(url) => Database::Postgres(url.to_string()),
                None => Database::File(path.to_path_buf()),
            }),
        }
    }
}

/// Whether `url` names a PostgreSQL database; the fix when it does not.
pub fn check_postgres_url(url: &str) -> std::result::Result<(), String> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    if !matches!(scheme, Some("postgres" | "postgresql")) {
        return Err("is not a PostgreSQL URL; write postgres://USER@HOST:PORT/DATABASE (or leave it out to use the SQLite file storage.path)".to_string());
    }
    url.parse::<postgres::Config>()
        .map(|_| ())
        .map_err(|e| format!("cannot be read ({e}); write postgres://USER@HOST:PORT/DATABASE"))
}

/// A database URL with its password replaced by `***`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(a malformed database URL)".to_string(),
    }
}

/// Where a source row came from.
pub const ORIGIN_CONFIG: &str = "config";

/// A source as stored, with its health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    pub id: SourceId,
    pub name: String,
    pub url: String,
    pub origin: Origin,
    pub guild_id: Option<String>,
    pub schedule: String,
    pub backfill: u32,
    pub initialized: bool,
    pub state: SourceState,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_hash: Option<String>,
    pub last_fetch_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_unconditional_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
    pub failures: u32,
    pub last_error: Option<String>,
    pub paused_reason: Option<String>,
    /// Removed from the config: kept (with its memory), not polled.
    pub retired: bool,
}

#[cfg(test)]
impl SourceRow {
    /// A polled, healthy Discord source named `name` for unit tests; change what a test is
    /// about with struct update syntax (`SourceRow { failures: 2, ..SourceRow::sample("x") }`).
    pub fn sample(name: &str) -> SourceRow {
        SourceRow {
            id: SourceId(1),
            name: name.to_string(),
            url: "https://x.test/feed".to_string(),
            origin: Origin::Discord,
            guild_id: None,
            schedule: "0 */5 * * * *".to_string(),
            backfill: 0,
            initialized: true,
            state: SourceState::Ok,
            etag: None,
            last_modified: None,
            body_hash: None,
            last_fetch_at: None,
            last_success_at: None,
            last_unconditional_at: None,
            next_check_at: None,
            failures: 0,
            last_error: None,
            paused_reason: None,
            retired: false,
        }
    }
}

pub use crate::core::model::SubscriptionRow;

/// The columns [`subscription_rows`] reads, in order (`s` is `subscriptions`).
pub(crate) const SUBSCRIPTION_COLUMNS: &str =
    "s.id, s.origin, s.user, s.query, s.target, s.guild_id, s.mode, s.digest_at, s.snoozed_until, s.source";

pub use crate::core::plan::{NewItem, StoryCandidate};

/// What a successful fetch changes on the source row.
#[derive(Debug, Clone, Default)]
pub struct FetchRecord {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_hash: Option<String>,
    pub next_check_at: Option<DateTime<Utc>>,
    pub unconditional: bool,
    /// Replace the stored URL (a permanent redirect that ended in a feed).
    pub new_url: Option<String>,
    /// The document was damaged (cut off, malformed): what was salvaged and what was lost.
    /// The source reads as `damaged` with this as its last error, though its complete items
    /// were taken.
    pub damaged: Option<String>,
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn parse_ts(text: Option<String>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// The database handle: two connections, each behind a mutex, used from blocking tasks.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Conn>>,
    /// Slash commands' own connection ([`Store::call_interactive`]): a member's command never
    /// queues behind a poll's transaction. Its reads run beside that transaction (WAL) and its
    /// writes wait only for the commit. The same connection as `conn` for in-memory databases.
    interactive: Arc<Mutex<Conn>>,
    location: Database,
}

impl Store {
    /// Opens (creating if needed) and migrates the SQLite database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::prepare(conn, path)
    }

    /// An in-memory database, for tests and `fetch`.
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        Self::prepare(conn, Path::new(":memory:"))
    }

    /// Connects to the PostgreSQL database at `url` and migrates it. Blocking: call it from
    /// a blocking context (start-up does, through [`Store::connect`]).
    pub fn open_postgres(url: &str) -> Result<Store> {
        let connect = || {
            Conn::postgres(url).map_err(|source| StoreError::Connect {
                url: redact_url(url),
                source,
            })
        };
        let conn = connect()?;
        schema::migrate_postgres(&conn, &redact_url(url))?;
        let interactive = connect()?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            interactive: Arc::new(Mutex::new(interactive)),
            location: Database::Postgres(url.to_string()),
        })
    }

    /// Opens the database at `location`, on a blocking thread.
    pub async fn connect(location: Database) -> Result<Store> {
        tokio::task::spawn_blocking(move || match location {
            Database::File(path) => Store::open(&path),
            Database::Memory => Store::open_in_memory(),
            Database::Postgres(url) => Store::open_postgres(&url),
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    fn prepare(mut conn: Connection, path: &Path) -> Result<Store> {
        let corrupt = |source| StoreError::Corrupt {
            path: path.to_path_buf(),
            source,
        };
        // The first statement that reads the file tells a non-database apart.
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(corrupt)?;
        Self::configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|source| {
            if matches!(source, rusqlite::Error::SqliteFailure(ref e, _) if e.code == rusqlite::ErrorCode::NotADatabase) {
                StoreError::Corrupt { path: path.to_path_buf(), source }
            } else {
                StoreError::Open { path: path.to_path_buf(), source }
            }
        })?;
        let known = schema::MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                database: path.display().to_string(),
                found: version,
                known,
            });
        }
        for (i, migration) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit().map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let memory = path == Path::new(":memory:");
        let conn = Arc::new(Mutex::new(Conn::sqlite(conn)));
        let interactive = if memory {
            Arc::clone(&conn)
        } else {
            let second = Connection::open(path).map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
            Self::configure(&second)?;
            Arc::new(Mutex::new(Conn::sqlite(second)))
        };
        Ok(Store {
            conn,
            interactive,
            location: if memory {
                Database::Memory
            } else {
                Database::File(path.to_path_buf())
            },
        })
    }

    /// Per-connection settings (the journal mode is the database's, set once).
    fn configure(conn: &Connection) -> Result<()> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Hot statements are prepared once (`prepare_cached`); room for all of them, so a
        // poll's many statements do not evict each other and get parsed again per row.
        conn.set_prepared_statement_cache_capacity(128);
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(())
    }

    /// Where the database is.
    pub fn location(&self) -> &Database {
        &self.location
    }

    /// The engine underneath.
    pub fn engine(&self) -> db::Engine {
        match self.location {
            Database::Postgres(_) => db::Engine::Postgres,
            _ => db::Engine::Sqlite,
        }
    }

    /// Runs `f` with the connection on the current thread. For blocking contexts and tests.
    /// (PostgreSQL's client runs its own small runtime, which may not start on an async
    /// worker: there `f` runs on a scoped thread of its own.)
    pub fn with<R: Send>(&self, f: impl FnOnce(&mut Conn) -> Result<R> + Send) -> Result<R> {
        if self.engine() == db::Engine::Postgres && tokio::runtime::Handle::try_current().is_ok() {
            return std::thread::scope(|s| {
                s.spawn(|| f(&mut *lock(&self.conn)?))
                    .join()
                    .map_err(|_| StoreError::Task("a database task panicked".into()))?
            });
        }
        f(&mut *lock(&self.conn)?)
    }

    /// Runs `f` with the connection on a blocking thread, so async tasks never block the runtime.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || f(&mut *lock(&conn)?))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// [`Store::call`] on the slash commands' connection: for what a member waits on.
    pub async fn call_interactive<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let conn = Arc::clone(&self.interactive);
        tokio::task::spawn_blocking(move || f(&mut *lock(&conn)?))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// One of the store's connections, for one task at a time.
fn lock(conn: &Mutex<Conn>) -> Result<std::sync::MutexGuard<'_, Conn>> {
    conn.lock()
        .map_err(|_| StoreError::Task("a database task panicked earlier".into()))
}

// ---- sources ------------------------------------------------------------------------------

pub(crate) const SOURCE_COLUMNS: &str = "id, name, url, origin, guild_id, schedule, backfill, initialized, state, etag, last_modified, body_hash, last_fetch_at, last_success_at, last_unconditional_at, next_check_at, failures, last_error, paused_reason, retired";

pub(crate) fn source_from_row(r: &db::Row) -> db::Result<SourceRow> {
    Ok(SourceRow {
        id: SourceId(r.get(0)?),
        name: r.get(1)?,
        url: r.get(2)?,
        origin: Origin::parse(&r.get::<String>(3)?),
        guild_id: r.get(4)?,
        schedule: r.get(5)?,
        backfill: r.get(6)?,
        initialized: r.get(7)?,
        state: SourceState::parse(&r.get::<String>(8)?),
        etag: r.get(9)?,
        last_modified: r.get(10)?,
        body_hash: r.get(11)?,
        last_fetch_at: parse_ts(r.get(12)?),
        last_success_at: parse_ts(r.get(13)?),
        last_unconditional_at: parse_ts(r.get(14)?),
        next_check_at: parse_ts(r.get(15)?),
        failures: r.get(16)?,
        last_error: r.get(17)?,
        paused_reason: r.get(18)?,
        retired: r.get(19)?,
    })
}

/// Makes the stored config sources and subscriptions match the config file.
///
/// Sources are matched by name, so a changed URL or schedule keeps the seen-item memory.
/// Sources no longer in the config are retired (kept, not polled), never deleted.
pub fn sync_config(conn: &Conn, config: &Config, now: DateTime<Utc>) -> Result<()> {
    let tx = conn.transaction()?;
    // One read of every config source, then writes only for what changed: a restart with
    // 10,000 unchanged sources must not cost 20,000 statements.
    let mut existing: std::collections::HashMap<String, (i64, String, String, String, i64, bool)> = {
        let mut stmt = tx.prepare(
            "SELECT id, name, coalesce(config_url, url), schedule, backfill, retired FROM sources
             WHERE origin = ?1 AND guild_id IS NULL",
        )?;
        let rows = stmt.query_map(args![ORIGIN_CONFIG], |r| {
            let name: String = r.get(1)?;
            Ok((
                name.to_lowercase(),
                (r.get(0)?, name, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
            ))
        })?;
        rows.collect::<db::Result<_>>()?
    };
    for source in &config.sources {
        let url = match &source.location {
            Location::Url(u) | Location::Handle(u) => u.clone(),
            Location::File(p) => p.display().to_string(),
        };
        // Compared with the URL the config gave last time, not with `url`: a permanent
        // redirect may have moved `url` on, and that must survive a restart.
        match existing.remove(&source.name.to_lowercase()) {
            Some((_, name, old_url, schedule, backfill, retired))
                if !retired
                    && name == source.name
                    && old_url == url
                    && schedule == source.schedule_text
                    && backfill == i64::from(source.backfill) => {}
            Some((id, _, old_url, ..)) => {
                // A new URL is a new place to ask: forget the old validators.
                let url_changed = old_url != url;
                tx.execute(
                    "UPDATE sources SET name = ?2, config_url = ?3,
                        url = CASE WHEN ?6 THEN ?3 ELSE url END, schedule = ?4, backfill = ?5, retired = 0,
                        etag = CASE WHEN ?6 THEN NULL ELSE etag END,
                        last_modified = CASE WHEN ?6 THEN NULL ELSE last_modified END,
                        body_hash = CASE WHEN ?6 THEN NULL ELSE body_hash END
                     WHERE id = ?1",
                    args![id, source.name, url, source.schedule_text, source.backfill, url_changed],
                )?;
            }
            None => {
                tx.execute(
                    "INSERT INTO sources (name, url, config_url, origin, schedule, backfill, created_at) VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6)",
                    args![source.name, url, ORIGIN_CONFIG, source.schedule_text, source.backfill, ts(now)],
                )?;
            }
        }
    }
    // Sources no longer in the config: retired (memory kept), never deleted.
    for (id, ..) in existing.into_values() {
        tx.execute("UPDATE sources SET retired = 1 WHERE id = ?1", args![id])?;
    }
    tx.execute(
        "DELETE FROM subscriptions WHERE origin = ?1",
        args![ORIGIN_CONFIG],
    )?;
    for sub in &config.subscriptions {
        tx.execute(
            "INSERT INTO subscriptions (origin, \"user\", query, target, created_at, mode, digest_at, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            args![
                ORIGIN_CONFIG,
                sub.user,
                sub.query.to_string(),
                sub.channel.as_deref().unwrap_or(crate::DEFAULT_TARGET),
                ts(now),
                sub.cadence.mode(),
                sub.cadence.at(),
                sub.source
            ],
        )?;
    }
    // Config users' settings live under the empty server id.
    tx.execute(
        "UPDATE members SET timezone = NULL, quiet_hours = NULL, hourly_cap = NULL WHERE guild_id = ''",
        args![],
    )?;
    for member in &config.members {
        digest::set_member_settings(
            &tx,
            "",
            &member.user,
            &digest::MemberSettings {
                timezone: member.timezone.clone(),
                quiet_hours: member.quiet_hours.clone(),
                hourly_cap: member.max_per_hour,
            },
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Every source that is polled (not retired), in name order.
pub fn active_sources(conn: &Conn) -> Result<Vec<SourceRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SOURCE_COLUMNS} FROM sources WHERE retired = 0 ORDER BY lower(name), id"
    ))?;
    let rows = stmt.query_map(args![], source_from_row)?;
    Ok(rows.collect::<db::Result<Vec<_>>>()?)
}

pub fn source(conn: &Conn, id: SourceId) -> Result<Option<SourceRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE id = ?1"),
            args![id.0],
            source_from_row,
        )
        .optional()?)
}

/// Records a failed poll: the error, when to try again, and whether the source is now paused.
pub fn record_failure(
    conn: &Conn,
    id: i64,
    now: DateTime<Utc>,
    error: &str,
    next_check_at: Option<DateTime<Utc>>,
    paused_reason: Option<&str>,
) -> Result<()> {
    let state = if paused_reason.is_some() {
        "paused"
    } else {
        "backoff"
    };
    let before = health::before(conn, id)?;
    conn.execute(
        "UPDATE sources SET state = ?2, failures = failures + 1, last_error = ?3, last_fetch_at = ?4,
            next_check_at = ?5, paused_reason = ?6 WHERE id = ?1",
        args![id, state, error, ts(now), next_check_at.map(ts), paused_reason],
    )?;
    if let Some(before) = before {
        health::note_failure(conn, id, now, &before, paused_reason)?;
    }
    Ok(())
}

/// Records a successful poll that brought nothing to parse (304, or the same body as before).
pub fn record_unchanged(
    conn: &Conn,
    id: i64,
    now: DateTime<Utc>,
    record: &FetchRecord,
) -> Result<()> {
    update_success(conn, id, now, record, Document::Unchanged)
}

/// Whether a successful poll read a document or found the one it read last time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Document {
    Read,
    /// A 304 or the same bytes: a damaged document is still damaged.
    Unchanged,
}

fn update_success(
    conn: &Conn,
    id: i64,
    now: DateTime<Utc>,
    record: &FetchRecord,
    document: Document,
) -> Result<()> {
    let before = health::before(conn, id)?;
    conn.execute(
        "UPDATE sources SET
            state = CASE WHEN CAST(?9 AS TEXT) IS NOT NULL THEN 'damaged'
                         WHEN ?10 AND state = 'damaged' THEN 'damaged' ELSE 'ok' END,
            last_error = CASE WHEN CAST(?9 AS TEXT) IS NOT NULL THEN CAST(?9 AS TEXT)
                              WHEN ?10 AND state = 'damaged' THEN last_error END,
            failures = 0, paused_reason = NULL,
            last_fetch_at = ?2, last_success_at = ?2, next_check_at = ?3,
            etag = coalesce(?4, etag), last_modified = coalesce(?5, last_modified),
            body_hash = coalesce(?6, body_hash),
            last_unconditional_at = CASE WHEN ?7 THEN ?2 ELSE last_unconditional_at END,
            url = coalesce(?8, url)
         WHERE id = ?1",
        args![
            id,
            ts(now),
            record.next_check_at.map(ts),
            record.etag,
            record.last_modified,
            record.body_hash,
            record.unconditional,
            record.new_url,
            record.damaged,
            document == Document::Unchanged
        ],
    )?;
    if let Some(before) = before {
        health::note_success(conn, id, now, &before, record.new_url.as_deref())?;
    }
    Ok(())
}

/// Records the items as seen, stores the new ones and writes their alerts to the outbox, all in
/// `tx` (the caller commits). `alerts[i]` are the alerts for `items[i]` when it is new, and
/// `held[i]` its entries for members' digests. Returns how many outbox rows and digest entries
/// were written.
pub fn record_items(
    tx: &Conn,
    source_id: i64,
    now: DateTime<Utc>,
    items: &[NewItem],
    is_new: &[bool],
    alerts: &[Vec<(PlannedAlert, Option<OutboxId>)>],
    held: &[Vec<digest::Held>],
) -> Result<usize> {
    let now_text = ts(now);
    let mut upsert_seen = tx.prepare_cached(
        "INSERT INTO seen (source_id, fingerprint, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (source_id, fingerprint) DO UPDATE SET last_seen = excluded.last_seen",
    )?;
    let mut insert_item = tx.prepare_cached(
        "INSERT INTO items (source_id, key, title, link, published, summary, body, image, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (source_id, key) DO UPDATE SET fetched_at = items.fetched_at
         RETURNING id",
    )?;
    let mut insert_alert = tx.prepare_cached(
        "INSERT INTO outbox (item_id, target, subscribers, matched, created_at, also_of, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
    )?;
    let mut holder = digest::Holder::new(tx, now)?;
    let mut written = 0;
    for (i, item) in items.iter().enumerate() {
        for fp in &item.fingerprints {
            upsert_seen.execute(args![source_id, fp, now_text])?;
        }
        if !is_new.get(i).copied().unwrap_or(false) {
            continue;
        }
        let item_id: i64 = insert_item.query_row(
            args![
                source_id,
                item.key,
                item.title,
                item.link,
                item.published.map(ts),
                item.summary,
                item.body,
                item.image,
                now_text
            ],
            |r| r.get(0),
        )?;
        for (alert, also_of) in alerts.get(i).map(Vec::as_slice).unwrap_or_default() {
            let subscribers =
                serde_json::to_string(&alert.subscribers).unwrap_or_else(|_| "[]".into());
            let matched = serde_json::to_string(&alert.matched).unwrap_or_else(|_| "[]".into());
            written += insert_alert.execute(args![
                item_id,
                alert.target,
                subscribers,
                matched,
                now_text,
                also_of.map(|o| o.0),
                alert.summary
            ])?;
        }
        for entry in held.get(i).map(Vec::as_slice).unwrap_or_default() {
            written += holder.hold(item_id, entry)?;
        }
    }
    Ok(written)
}

/// Marks a source's first poll done and its fetch successful, inside the ingest transaction.
pub fn record_fetched(tx: &Conn, id: i64, now: DateTime<Utc>, record: &FetchRecord) -> Result<()> {
    tx.execute(
        "UPDATE sources SET initialized = 1 WHERE id = ?1",
        args![id],
    )?;
    update_success(tx, id, now, record, Document::Read)
}

// ---- subscriptions ------------------------------------------------------------------------

/// Every active subscription: those of paused members are left out (kept, not matched).
pub fn subscriptions(conn: &Conn) -> Result<Vec<SubscriptionRow>> {
    subscription_rows(
        conn,
        "SELECT s.id, s.origin, CASE WHEN s.kind = 'channel' THEN '' ELSE s.user END, s.query, s.target, s.guild_id, s.mode, s.digest_at, s.snoozed_until, s.source
         FROM subscriptions s
         WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.guild_id = s.guild_id AND m.user_id = s.user AND m.paused = 1)
         ORDER BY s.id",
        args![],
    )
}

/// The active subscriptions (see [`subscriptions`]) read straight into the packed form the
/// live set keeps: no `Vec<SubscriptionRow>` of every row on the way.
pub fn load_subscriptions(conn: &Conn) -> Result<crate::subscriptions::LoadedRows> {
    let mut loader = crate::subscriptions::RowLoader::default();
    load_subscription_rows(conn, &mut loader, "ORDER BY s.id", args![])?;
    Ok(loader.finish())
}

/// One page of [`load_subscriptions`]: up to `limit` active subscriptions with an id above
/// `after`, in id order, added to `loader`. Returns the last id read (`None`: none left).
/// Reading a million rows in pages lets other users of the connection in between.
pub fn load_subscriptions_page(
    conn: &Conn,
    loader: &mut crate::subscriptions::RowLoader,
    after: i64,
    limit: usize,
) -> Result<Option<i64>> {
    load_subscription_rows(
        conn,
        loader,
        "AND s.id > ?1 ORDER BY s.id LIMIT ?2",
        args![after, i64::try_from(limit).unwrap_or(i64::MAX)],
    )
}

/// The active subscriptions of one member in one server, or (`user` empty) the server's
/// channel-wide ones: what `/subscribe`, `/pause` and the like change.
pub fn load_scope_subscriptions(
    conn: &Conn,
    guild_id: Option<&str>,
    user: &str,
) -> Result<crate::subscriptions::LoadedRows> {
    let mut loader = crate::subscriptions::RowLoader::default();
    if user.is_empty() {
        load_subscription_rows(
            conn,
            &mut loader,
            "AND s.guild_id IS NOT DISTINCT FROM ?1 AND s.kind = 'channel' ORDER BY s.id",
            args![guild_id],
        )?;
    } else {
        load_subscription_rows(
            conn,
            &mut loader,
            "AND s.guild_id IS NOT DISTINCT FROM ?1 AND s.user = ?2 AND s.kind <> 'channel' ORDER BY s.id",
            args![guild_id, user],
        )?;
    }
    Ok(loader.finish())
}

/// Adds the active subscriptions `filter` selects (SQL after the `WHERE` clause, with its
/// `ORDER BY`) to `loader`; returns the last id read.
fn load_subscription_rows(
    conn: &Conn,
    loader: &mut crate::subscriptions::RowLoader,
    filter: &str,
    args: &[db::Value],
) -> Result<Option<i64>> {
    let sql = format!(
        "SELECT s.id, s.origin, CASE WHEN s.kind = 'channel' THEN '' ELSE s.user END, s.query, s.target, s.guild_id, s.mode, s.digest_at, s.snoozed_until, s.source
         FROM subscriptions s
         WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.guild_id = s.guild_id AND m.user_id = s.user AND m.paused = 1) {filter}"
    );
    let mut last = None;
    conn.for_each_row(&sql, args, |r| {
        let id: i64 = r.get(0)?;
        last = Some(id);
        let mode = r.text(6)?.unwrap_or_default();
        let digest_at = r.text(7)?;
        loader.push(&crate::subscriptions::SubscriptionView {
            id,
            origin: r.text(1)?.unwrap_or_default(),
            user: r.text(2)?.unwrap_or_default(),
            query: r.text(3)?.unwrap_or_default(),
            target: r.text(4)?.unwrap_or_default(),
            guild_id: r.text(5)?,
            mode,
            digest_at,
            cadence: Cadence::parse(mode, digest_at).unwrap_or(Cadence::Instant),
            snoozed_until: parse_ts(r.get(8)?),
            source: r.text(9)?,
        });
        Ok(())
    })?;
    Ok(last)
}

/// Runs a query selecting [`SUBSCRIPTION_COLUMNS`].
pub(crate) fn subscription_rows(
    conn: &Conn,
    sql: &str,
    args: &[db::Value],
) -> Result<Vec<SubscriptionRow>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(args, |r| {
        Ok(SubscriptionRow {
            id: r.get(0)?,
            origin: r.get(1)?,
            user: r.get(2)?,
            query: r.get(3)?,
            target: r.get(4)?,
            guild_id: r.get(5)?,
            mode: r.get(6)?,
            digest_at: r.get(7)?,
            snoozed_until: parse_ts(r.get(8)?),
            source: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<db::Result<Vec<_>>>()?)
}

// ---- outbox -------------------------------------------------------------------------------

/// Undelivered alerts with an outbox id above `after`, oldest first.
pub fn pending_alerts_after(conn: &Conn, after: i64, limit: usize) -> Result<Vec<Alert>> {
    let mut stmt = conn.prepare_cached(
        &format!("SELECT {ALERT_COLUMNS} {ALERT_FROM} WHERE o.delivered_at IS NULL AND o.dropped_at IS NULL AND o.id > ?1 ORDER BY o.id LIMIT ?2"),
    )?;
    let rows = stmt.query_map(args![after, limit as i64], alert_from_row)?;
    Ok(rows.collect::<db::Result<Vec<_>>>()?)
}

const ALERT_COLUMNS: &str = "o.id, s.name, i.title, i.link, i.published, coalesce(o.summary, i.summary), o.matched, o.subscribers, o.target, i.image, o.also_of";
const ALERT_FROM: &str =
    "FROM outbox o JOIN items i ON i.id = o.item_id JOIN sources s ON s.id = i.source_id";

fn alert_from_row(r: &db::Row) -> db::Result<Alert> {
    let matched: String = r.get(6)?;
    let subscribers: String = r.get(7)?;
    Ok(Alert {
        id: r.get(0)?,
        source: r.get(1)?,
        title: r.get(2)?,
        link: r.get(3)?,
        published: parse_ts(r.get(4)?),
        summary: r.get(5)?,
        matched: serde_json::from_str(&matched).unwrap_or_default(),
        subscribers: serde_json::from_str(&subscribers).unwrap_or_default(),
        target: r.get(8)?,
        image: r.get(9)?,
        also_of: r.get(10)?,
        also_covered: Vec::new(),
    })
}

/// One outbox row as an alert, delivered or not.
pub fn alert_by_id(conn: &Conn, outbox_id: i64) -> Result<Option<Alert>> {
    Ok(conn
        .query_row(
            &format!("SELECT {ALERT_COLUMNS} {ALERT_FROM} WHERE o.id = ?1"),
            args![outbox_id],
            alert_from_row,
        )
        .optional()?)
}

/// Whether an outbox row was delivered.
pub fn is_delivered(conn: &Conn, outbox_id: i64) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT delivered_at IS NOT NULL FROM outbox WHERE id = ?1",
            args![outbox_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false))
}

/// Remembers the Discord messages an alert became (to edit them later).
pub fn set_message_ids(conn: &Conn, outbox_id: i64, ids: &[u64]) -> Result<()> {
    let text = serde_json::to_string(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into());
    conn.execute(
        "UPDATE outbox SET message_ids = ?2 WHERE id = ?1",
        args![outbox_id, text],
    )?;
    Ok(())
}

pub fn message_ids(conn: &Conn, outbox_id: i64) -> Result<Vec<u64>> {
    let text: Option<String> = conn
        .query_row(
            "SELECT message_ids FROM outbox WHERE id = ?1",
            args![outbox_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let ids: Vec<String> = text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    Ok(ids.iter().filter_map(|i| i.parse().ok()).collect())
}

/// The other sources' reports attached to a first alert that are still pending.
pub(crate) fn pending_reports_of(conn: &Conn, original: i64) -> Result<Vec<Alert>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ALERT_COLUMNS} {ALERT_FROM} WHERE o.also_of = ?1 AND o.delivered_at IS NULL AND o.dropped_at IS NULL ORDER BY o.id"
    ))?;
    let rows = stmt.query_map(args![original], alert_from_row)?;
    Ok(rows.collect::<db::Result<Vec<_>>>()?)
}

/// The other sources' reports attached to a first alert: delivered ones plus `including`.
pub fn also_covered(conn: &Conn, original: i64, including: i64) -> Result<Vec<Alert>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ALERT_COLUMNS} {ALERT_FROM} WHERE o.also_of = ?1 AND (o.delivered_at IS NOT NULL OR o.id = ?2) ORDER BY o.id"
    ))?;
    let rows = stmt.query_map(args![original, including], alert_from_row)?;
    Ok(rows.collect::<db::Result<Vec<_>>>()?)
}

pub fn mark_delivered(conn: &Conn, outbox_id: i64, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
        args![outbox_id, ts(now)],
    )?;
    Ok(())
}

pub fn mark_attempt_failed(conn: &Conn, outbox_id: i64, error: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        args![outbox_id, error],
    )?;
    Ok(())
}

/// Gives up on an alert, keeping it and the reason (never silently).
pub fn mark_dropped(conn: &Conn, outbox_id: i64, reason: &str, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, dropped_at = ?3, dropped_reason = ?2 WHERE id = ?1",
        args![outbox_id, reason, ts(now)],
    )?;
    Ok(())
}

/// Suspends a delivery target (its alerts stay pending).
pub fn mark_target_broken(
    conn: &Conn,
    target: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO targets (target, broken_reason, broken_at, probed_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (target) DO UPDATE SET broken_reason = excluded.broken_reason,
            broken_at = coalesce(targets.broken_at, excluded.broken_at), probed_at = excluded.probed_at",
        args![target, reason, ts(now)],
    )?;
    Ok(())
}

/// Clears a target's suspension (it took a message, or an admin fixed it).
pub fn mark_target_ok(conn: &Conn, target: &str) -> Result<()> {
    conn.execute("DELETE FROM targets WHERE target = ?1", args![target])?;
    Ok(())
}

/// A suspended target: why, since when, and when it was last tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenTarget {
    pub target: String,
    pub reason: String,
    pub since: Option<DateTime<Utc>>,
    pub probed_at: Option<DateTime<Utc>>,
}

pub fn broken_targets(conn: &Conn) -> Result<Vec<BrokenTarget>> {
    let mut stmt = conn.prepare("SELECT target, coalesce(broken_reason, ''), broken_at, probed_at FROM targets ORDER BY target")?;
    let rows = stmt.query_map(args![], |r| {
        Ok(BrokenTarget {
            target: r.get(0)?,
            reason: r.get(1)?,
            since: parse_ts(r.get(2)?),
            probed_at: parse_ts(r.get(3)?),
        })
    })?;
    Ok(rows.collect::<db::Result<Vec<_>>>()?)
}

/// Counts of (pending, delivered) outbox rows.
pub fn outbox_counts(conn: &Conn) -> Result<(i64, i64)> {
    Ok(conn.query_row(
        "SELECT count(*) FILTER (WHERE delivered_at IS NULL AND dropped_at IS NULL), count(*) FILTER (WHERE delivered_at IS NOT NULL) FROM outbox",
        args![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Forgets seen fingerprints and delivered items older than the retention period. A
/// fingerprint still in the feed is refreshed at every fetch, so it is never forgotten.
pub fn prune(conn: &Conn, now: DateTime<Utc>, retention_days: u32) -> Result<usize> {
    let cutoff = ts(now - chrono::Duration::days(i64::from(retention_days)));
    let mut removed = conn.execute("DELETE FROM seen WHERE last_seen < ?1", args![&cutoff])?;
    removed += conn.execute(
        "DELETE FROM items WHERE fetched_at < ?1
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.item_id = items.id AND o.delivered_at IS NULL)
           AND NOT EXISTS (SELECT 1 FROM digest_entries e LEFT JOIN digests d ON d.id = e.digest_id
                           WHERE e.item_id = items.id AND (d.id IS NULL OR (d.delivered_at IS NULL AND d.dropped_at IS NULL)))",
        args![&cutoff],
    )?;
    removed += digest::prune_hour_counts(conn, now)?;
    removed += conn.execute(
        "DELETE FROM digests WHERE (delivered_at < ?1 OR dropped_at < ?1)
           AND NOT EXISTS (SELECT 1 FROM digest_entries e WHERE e.digest_id = digests.id)",
        args![&cutoff],
    )?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slash command's read does not wait for a poll's open write transaction, and sees
    /// only what was committed.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_command_reads_while_a_poll_holds_the_write_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("n.db")).unwrap();
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (started, poll_started) = std::sync::mpsc::channel::<()>();
        let bulk = store.clone();
        let poll = std::thread::spawn(move || {
            bulk.with(move |c| {
                let tx = c.transaction_immediate()?;
                tx.execute_batch("CREATE TABLE held (x); INSERT INTO held VALUES (1);")?;
                let _ = started.send(());
                let _ = hold.recv();
                tx.commit()?;
                Ok(())
            })
        });
        poll_started.recv().unwrap();
        let visible = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            store.call_interactive(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'held'",
                    args![],
                    |r| r.get::<i64>(0),
                )?)
            }),
        )
        .await
        .expect("the command's read waited for the poll's transaction")
        .unwrap();
        assert_eq!(visible, 0, "an uncommitted table is not visible");
        release.send(()).unwrap();
        poll.join().unwrap().unwrap();
        let after = store
            .call_interactive(|c| {
                Ok(c.query_row("SELECT count(*) FROM held", args![], |r| r.get::<i64>(0))?)
            })
            .await
            .unwrap();
        assert_eq!(after, 1, "the commit is visible to the command connection");
    }

    #[test]
    fn opening_a_non_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(
            &path,
            b"this is not a sqlite file, just some text that is long enough",
        )
        .unwrap();
        let err = Store::open(&path).err().expect("must fail");
        let text = err.to_string();
        assert!(
            text.contains("not a SQLite database or is corrupt"),
            "{text}"
        );
        assert!(text.contains("junk.db"), "{text}");
    }

    fn config_with(sources: &[(&str, &str)]) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for (name, url) in sources {
            text.push_str(&format!(
                "[[sources]]\nname = \"{name}\"\nurl = \"{url}\"\n\n"
            ));
        }
        Config::from_toml(&text, Path::new("t.toml"), dir.path()).unwrap()
    }

    fn source_state(store: &Store) -> Vec<(i64, String, String, bool, Option<String>)> {
        store
            .with(|c| {
                let mut stmt =
                    c.prepare("SELECT id, name, url, retired, etag FROM sources ORDER BY id")?;
                let rows = stmt.query_map(args![], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
                Ok(rows.collect::<db::Result<Vec<_>>>()?)
            })
            .unwrap()
    }

    #[test]
    fn config_sync_retires_revives_and_forgets_validators_only_on_a_new_url() {
        let store = crate::store::testing::test_store();
        let now = Utc::now();
        let sync = |config: &Config| store.with(|c| sync_config(c, config, now)).unwrap();
        sync(&config_with(&[
            ("A", "https://a.example/f"),
            ("B", "https://b.example/f"),
        ]));
        store
            .with(|c| Ok(c.execute("UPDATE sources SET etag = 'e1'", args![])?))
            .unwrap();
        // Unchanged A keeps its validators; B leaves; C arrives.
        sync(&config_with(&[
            ("A", "https://a.example/f"),
            ("C", "https://c.example/f"),
        ]));
        let state = source_state(&store);
        assert_eq!(state.len(), 3);
        assert_eq!(
            state[0],
            (
                1,
                "A".into(),
                "https://a.example/f".into(),
                false,
                Some("e1".into())
            )
        );
        assert!(state[1].3, "B is retired, not deleted");
        assert!(!state[2].3);
        // B comes back with the same id (its seen-item memory); A moves: validators forgotten.
        sync(&config_with(&[
            ("A", "https://a2.example/f"),
            ("B", "https://b.example/f"),
        ]));
        let state = source_state(&store);
        assert_eq!(
            state[0],
            (1, "A".into(), "https://a2.example/f".into(), false, None)
        );
        assert_eq!((state[1].0, state[1].3), (2, false));
        assert!(state[2].3, "C is retired now");
    }

    #[test]
    fn migrations_apply_once_and_reopen_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        let version: i64 = store
            .with(|c| Ok(c.query_row("PRAGMA user_version", args![], |r| r.get(0))?))
            .unwrap();
        assert_eq!(version, schema::MIGRATIONS.len() as i64);
        let mode: String = store
            .with(|c| Ok(c.query_row("PRAGMA journal_mode", args![], |r| r.get(0))?))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
