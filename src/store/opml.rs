//! What OPML import and export read and write: the sources an importer already has, the new
//! sources in one transaction, and the sources to export.

use super::db::{self, Conn};
use crate::args;
use chrono::{DateTime, Utc};

use super::discord::ORIGIN_DISCORD;
use super::{ts, Result, Store};
use crate::core::model::{Origin, SourceId};
use crate::core::opml::{ExportSource, NewSource};

/// Where imported sources go: one server (`/sources import`) or every server (the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportScope {
    Server(String),
    Global,
}

/// The sources an import is compared against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportContext {
    /// URLs of every source the scope sees (config, global imports, and the server's own).
    pub urls: Vec<String>,
    /// Names taken in the scope.
    pub names: Vec<String>,
    /// Sources the server added itself (the quota counts these).
    pub own: usize,
}

impl Store {
    /// What an import into `scope` must not duplicate.
    pub async fn import_context(&self, scope: &ImportScope) -> Result<ImportContext> {
        let scope = scope.clone();
        self.call_interactive(move |c| import_context(c, &scope))
            .await
    }

    /// Adds the planned sources in one transaction (all or nothing). A name taken meanwhile
    /// is skipped rather than failing the rest. Returns the new ids.
    pub async fn import_sources(
        &self,
        scope: &ImportScope,
        sources: Vec<NewSource>,
        schedule: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<SourceId>> {
        let (scope, schedule) = (scope.clone(), schedule.to_string());
        self.call_interactive(move |c| import_sources(c, &scope, &sources, &schedule, now))
            .await
    }

    /// The sources `scope` sees, by name, for export (all active sources for `Global`).
    pub async fn export_sources(&self, scope: &ImportScope) -> Result<Vec<ExportSource>> {
        let scope = scope.clone();
        self.call_interactive(move |c| export_sources(c, &scope))
            .await
    }
}

fn guild_of(scope: &ImportScope) -> Option<&str> {
    match scope {
        ImportScope::Server(g) => Some(g.as_str()),
        ImportScope::Global => None,
    }
}

fn import_context(conn: &Conn, scope: &ImportScope) -> Result<ImportContext> {
    let guild = guild_of(scope);
    let mut stmt = conn.prepare(
        "SELECT name, url, coalesce(config_url, url), guild_id, retired FROM sources
         WHERE guild_id IS NULL OR guild_id = ?1",
    )?;
    let rows = stmt.query_map(args![guild], |r| {
        Ok((
            r.get::<String>(0)?,
            r.get::<String>(1)?,
            r.get::<String>(2)?,
            r.get::<Option<String>>(3)?,
            r.get::<bool>(4)?,
        ))
    })?;
    let mut context = ImportContext::default();
    for row in rows {
        let (name, url, config_url, owner, retired) = row?;
        // A retired source's name stays taken (the unique index counts it), its URL does not.
        context.names.push(name);
        if retired {
            continue;
        }
        context.urls.push(url.clone());
        if config_url != url {
            context.urls.push(config_url);
        }
        if owner.is_some() {
            context.own += 1;
        }
    }
    Ok(context)
}

fn import_sources(
    conn: &Conn,
    scope: &ImportScope,
    sources: &[NewSource],
    schedule: &str,
    now: DateTime<Utc>,
) -> Result<Vec<SourceId>> {
    let guild = guild_of(scope);
    let origin = match scope {
        ImportScope::Server(_) => ORIGIN_DISCORD,
        ImportScope::Global => Origin::Import.as_str(),
    };
    let tx = conn.transaction()?;
    let mut ids = Vec::with_capacity(sources.len());
    for source in sources {
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sources WHERE lower(name) = lower(?1)
               AND (guild_id IS NULL OR guild_id = ?2))",
            args![source.name, guild],
            |r| r.get(0),
        )?;
        if taken {
            continue;
        }
        let id = tx.query_row(
            "INSERT INTO sources (name, url, origin, guild_id, schedule, backfill, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6) RETURNING id",
            args![source.name, source.url, origin, guild, schedule, ts(now)],
            |r| r.get(0),
        )?;
        ids.push(SourceId(id));
    }
    tx.commit()?;
    Ok(ids)
}

fn export_sources(conn: &Conn, scope: &ImportScope) -> Result<Vec<ExportSource>> {
    let sql = match scope {
        ImportScope::Server(_) => {
            "SELECT name, url FROM sources WHERE retired = 0 AND (guild_id IS NULL OR guild_id = ?1) ORDER BY lower(name), id"
        }
        ImportScope::Global => {
            "SELECT name, url FROM sources WHERE retired = 0 AND ?1 IS NULL ORDER BY lower(name), id"
        }
    };
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(args![guild_of(scope)], |r| {
        Ok(ExportSource {
            name: r.get(0)?,
            url: r.get(1)?,
        })
    })?;
    // Local-file config sources mean nothing to another reader.
    Ok(rows
        .collect::<db::Result<Vec<_>>>()?
        .into_iter()
        .filter(|s| s.url.starts_with("http://") || s.url.starts_with("https://"))
        .collect())
}
