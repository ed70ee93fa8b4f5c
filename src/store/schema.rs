//! The database schema as an ordered list of migrations for each engine, each applied once in
//! its own transaction.

use super::db::Conn;
use super::{Result, StoreError};
use crate::args;

/// Migrations in order; `PRAGMA user_version` records how many have been applied.
pub const MIGRATIONS: &[&str] = &[
    // 1: sources, their seen-item memory, stored items, subscriptions and the outbox.
    r"
CREATE TABLE sources (
    id                    INTEGER PRIMARY KEY,
    name                  TEXT NOT NULL,
    url                   TEXT NOT NULL,
    origin                TEXT NOT NULL,              -- 'config' | 'discord'
    guild_id              TEXT,                       -- NULL: feeds every server
    schedule              TEXT NOT NULL,
    backfill              INTEGER NOT NULL DEFAULT 0,
    retired               INTEGER NOT NULL DEFAULT 0, -- removed from the config; memory kept
    initialized           INTEGER NOT NULL DEFAULT 0, -- first poll done
    state                 TEXT NOT NULL DEFAULT 'new',-- new | ok | backoff | paused
    etag                  TEXT,
    last_modified         TEXT,
    body_hash             TEXT,
    last_fetch_at         TEXT,
    last_success_at       TEXT,
    last_unconditional_at TEXT,
    next_check_at         TEXT,
    failures              INTEGER NOT NULL DEFAULT 0,
    last_error            TEXT,
    paused_reason         TEXT,
    created_at            TEXT NOT NULL
);
CREATE UNIQUE INDEX sources_name ON sources (lower(name), coalesce(guild_id, ''));

CREATE TABLE seen (
    source_id   INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    PRIMARY KEY (source_id, fingerprint)
) WITHOUT ROWID;
CREATE INDEX seen_last_seen ON seen (last_seen);

CREATE TABLE items (
    id         INTEGER PRIMARY KEY,
    source_id  INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    title      TEXT NOT NULL,
    link       TEXT,
    published  TEXT,
    summary    TEXT NOT NULL,
    body       TEXT NOT NULL,                         -- plain text, for /preview
    image      TEXT,
    fetched_at TEXT NOT NULL,
    UNIQUE (source_id, key)
);
CREATE INDEX items_fetched_at ON items (fetched_at);

CREATE TABLE subscriptions (
    id         INTEGER PRIMARY KEY,
    origin     TEXT NOT NULL,                         -- 'config' | 'discord'
    user       TEXT NOT NULL,
    query      TEXT NOT NULL,
    target     TEXT NOT NULL,
    guild_id   TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    item_id      INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    target       TEXT NOT NULL,
    subscribers  TEXT NOT NULL,                       -- JSON array of user names / ids
    matched      TEXT NOT NULL,                       -- JSON array of matched terms
    created_at   TEXT NOT NULL,
    delivered_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    UNIQUE (item_id, target)
);
CREATE INDEX outbox_pending ON outbox (delivered_at, id);
",
    // 2: Discord: delivery targets' health, per-server settings, members' pause, channel-wide
    // subscriptions, and dropped alerts (never silently: the reason is kept).
    r"
ALTER TABLE outbox ADD COLUMN dropped_at TEXT;
ALTER TABLE outbox ADD COLUMN dropped_reason TEXT;
ALTER TABLE outbox ADD COLUMN message_ids TEXT;
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (delivered_at, dropped_at, id);

CREATE TABLE targets (
    target        TEXT PRIMARY KEY,
    broken_reason TEXT,
    broken_at     TEXT,
    probed_at     TEXT
);

CREATE TABLE guilds (
    guild_id      TEXT PRIMARY KEY,
    alert_channel TEXT
);

CREATE TABLE members (
    guild_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    paused   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, user_id)
);

ALTER TABLE subscriptions ADD COLUMN kind TEXT NOT NULL DEFAULT 'member'; -- member | channel
CREATE INDEX subscriptions_user ON subscriptions (guild_id, user);
",
    // 3: one alert per story: a later item of the same story becomes an "also covered by"
    // row pointing at the first alert, and posted message ids are kept so it can be edited.
    r"
ALTER TABLE outbox ADD COLUMN also_of INTEGER REFERENCES outbox (id);
ALTER TABLE outbox ADD COLUMN summary TEXT; -- this target's summary, showing why it matched
CREATE INDEX outbox_target_created ON outbox (target, created_at);
",
    // 4: the URL the config gave, kept apart from `url` (where the source is fetched from),
    // so a permanent redirect that moved `url` is not undone by the next start.
    r"
ALTER TABLE sources ADD COLUMN config_url TEXT;
UPDATE sources SET config_url = url WHERE origin = 'config';
",
    // 5: digests and noise control: a subscription's delivery mode, snooze and source filter, a member's
    // time zone, quiet hours and hourly cap, instant alerts counted per hour, and the items
    // held for a digest (grouped into a `digests` row when due, delivered like an alert).
    r"
ALTER TABLE subscriptions ADD COLUMN mode TEXT NOT NULL DEFAULT 'instant'; -- instant | hourly | daily
ALTER TABLE subscriptions ADD COLUMN digest_at TEXT;                       -- HH:MM local, daily only
ALTER TABLE subscriptions ADD COLUMN snoozed_until TEXT;
ALTER TABLE subscriptions ADD COLUMN source TEXT;                          -- only this source's items (name)
ALTER TABLE members ADD COLUMN timezone TEXT;
ALTER TABLE members ADD COLUMN quiet_hours TEXT;                           -- HH:MM-HH:MM local
ALTER TABLE members ADD COLUMN hourly_cap INTEGER;

CREATE TABLE member_hours (
    guild_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    hour     TEXT NOT NULL,
    sent     INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id, hour)
) WITHOUT ROWID;

CREATE TABLE digests (
    id             INTEGER PRIMARY KEY,
    guild_id       TEXT NOT NULL,                   -- '' for config subscriptions
    user_id        TEXT NOT NULL,
    target         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    delivered_at   TEXT,
    dropped_at     TEXT,
    dropped_reason TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    message_ids    TEXT
);
CREATE INDEX digests_pending ON digests (delivered_at, dropped_at, id);

CREATE TABLE digest_entries (
    id         INTEGER PRIMARY KEY,
    item_id    INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    guild_id   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    target     TEXT NOT NULL,
    matched    TEXT NOT NULL,                       -- JSON array of matched terms
    reason     TEXT NOT NULL,                       -- hourly | daily | quiet | cap
    due_at     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    digest_id  INTEGER REFERENCES digests (id),
    UNIQUE (item_id, guild_id, user_id, target)
);
CREATE INDEX digest_entries_due ON digest_entries (digest_id, due_at);
",
    // WebSub push subscriptions, one per source (`store::websub`). No foreign key: a row
    // outlives its source until the hub confirms the unsubscription.
    r"
CREATE TABLE websub (
    source_id        INTEGER PRIMARY KEY,
    hub              TEXT NOT NULL,
    topic            TEXT NOT NULL,
    callback_id      TEXT NOT NULL UNIQUE,
    secret           TEXT NOT NULL,
    state            TEXT NOT NULL,          -- wanted | requested | active | unsubscribing | denied
    requested_at     TEXT,
    verified_at      TEXT,
    lease_ends_at    TEXT,
    last_push_at     TEXT,
    pushes           INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT
);
",
    // Source-health notices (`/alerts log`, `store::health`): a server's log channel, each
    // event once per source + kind + episode, and the notices sent (or held back by the rate
    // limits) per server.
    r"
ALTER TABLE guilds ADD COLUMN log_channel TEXT;

CREATE TABLE source_events (
    id         INTEGER PRIMARY KEY,
    source_id  INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,                -- paused | failing | moved | silent | recovered
    episode    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    done_at    TEXT,
    UNIQUE (source_id, kind, episode)
);
CREATE INDEX source_events_pending ON source_events (done_at, id);

CREATE TABLE health_notices (
    id        INTEGER PRIMARY KEY,
    guild_id  TEXT NOT NULL,
    source_id INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    at        TEXT NOT NULL,
    held      INTEGER NOT NULL DEFAULT 0     -- 1: held back by the rate limits
);
CREATE INDEX health_notices_guild ON health_notices (guild_id, at);
",
];

/// PostgreSQL's migrations, in order; the table `newshound_schema` records how many have been
/// applied. The first is the whole schema of SQLite's migrations above in PostgreSQL's types:
/// integers are `BIGINT` (flags stay 0/1, as in SQLite), text is `COLLATE "C"` so that
/// comparisons and ordering (timestamps are RFC 3339 text) are bytewise, as in SQLite.
/// A change to the schema is a new entry in both lists.
pub const PG_MIGRATIONS: &[&str] = &[PG_SCHEMA];

const PG_SCHEMA: &str = include_str!("schema_postgres.sql");

/// Applies the PostgreSQL migrations not yet applied, each in its own transaction. Several
/// processes starting at once take turns on an advisory lock.
pub fn migrate_postgres(conn: &Conn, database: &str) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS newshound_schema (version BIGINT NOT NULL);
         SELECT pg_advisory_lock(7210531);",
    )?;
    let result = (|| {
        let version: i64 = conn.query_row(
            "SELECT coalesce(max(version), 0) FROM newshound_schema",
            args![],
            |r| r.get(0),
        )?;
        let known = PG_MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                database: database.to_string(),
                found: version,
                known,
            });
        }
        for (i, migration) in PG_MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(migration)?;
            tx.execute("DELETE FROM newshound_schema", args![])?;
            tx.execute(
                "INSERT INTO newshound_schema (version) VALUES (?1)",
                args![i + 1],
            )?;
            tx.commit()?;
        }
        Ok(())
    })();
    conn.execute_batch("SELECT pg_advisory_unlock(7210531)")?;
    result
}
