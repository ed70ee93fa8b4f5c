//! The application's side of the store port: start-up (bring the stored config sources and
//! subscriptions in line with the config file), the sources to schedule, the subscriptions to
//! compile, and housekeeping.

use chrono::{DateTime, Utc};

use super::{Result, SourceRow, Store};
use crate::config::Config;
use crate::core::model::SourceId;
use crate::subscriptions::{LoadedRows, RowLoader};

impl Store {
    /// Makes the stored config sources and subscriptions match the config file (sources by
    /// name, so a changed URL or schedule keeps the seen-item memory; sources no longer in
    /// the config are retired, never deleted).
    pub async fn sync_config(&self, config: std::sync::Arc<Config>, now: DateTime<Utc>) -> Result<()> {
        self.call(move |c| super::sync_config(c, &config, now)).await
    }

    /// Every source that is polled (not retired), in name order.
    pub async fn active_sources(&self) -> Result<Vec<SourceRow>> {
        self.call(|c| super::active_sources(c)).await
    }

    /// One source, as stored now.
    pub async fn source(&self, id: SourceId) -> Result<Option<SourceRow>> {
        self.call(move |c| super::source(c, id)).await
    }

    /// Forgets seen fingerprints and delivered items older than the retention period.
    pub async fn prune(&self, now: DateTime<Utc>, retention_days: u32) -> Result<usize> {
        self.call(move |c| super::prune(c, now, retention_days)).await
    }

    /// How many items wait for members' digests, and when the next digest is due.
    pub async fn held_summary(&self) -> Result<(usize, Option<DateTime<Utc>>)> {
        self.call(|c| Ok((super::digest::held_total(c)?, super::digest::next_digest_due(c)?)))
            .await
    }

    /// Adds up to `limit` active subscriptions with an id above `after` to `loader` (a page of
    /// a full load, so other users of the database get in between). Returns the loader and
    /// the last id read (`None`: none left).
    pub async fn load_subscriptions_page(
        &self,
        mut loader: RowLoader,
        after: i64,
        limit: usize,
    ) -> Result<(RowLoader, Option<i64>)> {
        self.call(move |c| {
            let last = super::load_subscriptions_page(c, &mut loader, after, limit)?;
            Ok((loader, last))
        })
        .await
    }

    /// The active subscriptions of one member in one server, or (`user` empty) the server's
    /// channel-wide ones.
    pub async fn load_scope_subscriptions(
        &self,
        guild_id: Option<String>,
        user: String,
    ) -> Result<LoadedRows> {
        self.call(move |c| super::load_scope_subscriptions(c, guild_id.as_deref(), &user))
            .await
    }
}
