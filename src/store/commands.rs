//! The store as the slash commands see it: one typed async operation per thing a command
//! reads or changes, each one `call` (one blocking task, one lock, so a read-check-write is
//! atomic). Targets cross this edge as [`Target`]; they become their stored text only here.

use chrono::{DateTime, Utc};

use super::digest::{self as held, MemberSettings};
use super::discord::{
    self as q, AddSourceError, RecentItem, RemoveSource, KIND_CHANNEL, KIND_MEMBER,
};
use super::{
    broken_targets, mark_target_ok, BrokenTarget, Result, SourceRow, Store, SubscriptionRow,
};
use crate::core::digest::Cadence;
use crate::core::model::{SourceId, Target};

/// Subscriptions a member asks for in one `/subscribe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriptions {
    pub guild: String,
    pub user: String,
    /// Canonical queries, as the matcher prints them.
    pub queries: Vec<String>,
    pub target: Target,
    /// `Some`: set (or change) how these subscriptions deliver.
    pub cadence: Option<Cadence>,
    /// `Some(None)`: every source; `Some(Some(name))`: only that one; `None`: unchanged.
    pub source: Option<Option<String>>,
}

/// How many subscriptions a member, and a server, may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub per_member: usize,
    pub per_server: usize,
}

/// Why subscriptions were not added (nothing was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaExceeded {
    /// The member already holds `held`.
    Member {
        held: usize,
    },
    Server,
}

impl Quota {
    /// Whether `adding` more fit beside the `member`'s and the `server`'s current counts.
    pub fn admits(
        self,
        member: usize,
        server: usize,
        adding: usize,
    ) -> std::result::Result<(), QuotaExceeded> {
        if member + adding > self.per_member {
            Err(QuotaExceeded::Member { held: member })
        } else if server + adding > self.per_server {
            Err(QuotaExceeded::Server)
        } else {
            Ok(())
        }
    }
}

/// What one `/subscribe` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    /// Queries that are new subscriptions.
    pub added: Vec<String>,
    /// Queries the member already had there (their mode or source may have changed).
    pub existing: Vec<String>,
    /// The member's settings after the change (for the digest time zone).
    pub settings: MemberSettings,
    pub paused: bool,
}

/// Everything `/subscriptions` shows about one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberOverview {
    pub subscriptions: Vec<SubscriptionRow>,
    pub paused: bool,
    /// Suspended targets (every server's; matched against the rows' targets).
    pub suspended: Vec<BrokenTarget>,
    pub settings: MemberSettings,
    /// Items held for the member's next digest.
    pub held: usize,
}

/// A change to a member's settings; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    /// An IANA name.
    pub timezone: Option<String>,
    /// `Some(None)`: quiet hours off; `Some(Some("22:00-07:00"))`.
    pub quiet_hours: Option<Option<String>>,
    /// `Some(None)`: no cap.
    pub hourly_cap: Option<Option<u32>>,
}

impl SettingsChange {
    /// Nothing to change: the command only shows the settings.
    pub fn is_empty(&self) -> bool {
        self.timezone.is_none() && self.quiet_hours.is_none() && self.hourly_cap.is_none()
    }

    /// `settings` with this change applied.
    pub fn apply(self, mut settings: MemberSettings) -> MemberSettings {
        if let Some(tz) = self.timezone {
            settings.timezone = Some(tz);
        }
        if let Some(quiet) = self.quiet_hours {
            settings.quiet_hours = quiet;
        }
        if let Some(cap) = self.hourly_cap {
            settings.hourly_cap = cap;
        }
        settings
    }
}

/// A server's sources and its suspended channels, for `/sources list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSources {
    pub sources: Vec<SourceRow>,
    /// Suspended targets some subscription of this server delivers to (no other server's).
    pub suspended: Vec<BrokenTarget>,
}

/// What `/alerts add` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelAlertAdded {
    Added,
    /// The same query already posts to that channel.
    Exists,
    /// The server holds its limit of subscriptions; nothing was written.
    ServerFull,
}

impl Store {
    /// The server's default alert channel, if an admin set one.
    pub async fn alert_channel(&self, guild: &str) -> Result<Option<Target>> {
        let guild = guild.to_string();
        let stored = self
            .call_interactive(move |c| q::alert_channel(c, &guild))
            .await?;
        Ok(stored.as_deref().map(Target::parse))
    }

    /// Makes `target` the server's default alert channel and lifts its suspension (an admin
    /// picking a channel again is how a broken one is fixed).
    pub async fn set_alert_channel(&self, guild: &str, target: &Target) -> Result<()> {
        let (guild, target) = (guild.to_string(), target.to_string());
        self.call_interactive(move |c| {
            q::set_alert_channel(c, &guild, &target)?;
            mark_target_ok(c, &target)
        })
        .await
    }

    /// Sources feeding a server: the config's and its own, by name.
    pub async fn visible_sources(&self, guild: &str) -> Result<Vec<SourceRow>> {
        let guild = guild.to_string();
        self.call_interactive(move |c| q::visible_sources(c, &guild))
            .await
    }

    /// A member's subscriptions in one server, oldest first.
    pub async fn member_subscriptions(
        &self,
        guild: &str,
        user: &str,
    ) -> Result<Vec<SubscriptionRow>> {
        let (guild, user) = (guild.to_string(), user.to_string());
        self.call_interactive(move |c| q::member_subscriptions(c, &guild, &user))
            .await
    }

    /// A server's channel-wide subscriptions, oldest first.
    pub async fn channel_alerts(&self, guild: &str) -> Result<Vec<SubscriptionRow>> {
        let guild = guild.to_string();
        self.call_interactive(move |c| q::channel_subscriptions(c, &guild))
            .await
    }

    /// Adds a member's subscriptions (and sets their mode and source) in one transaction, or
    /// nothing at all when they would not fit in `quota`.
    pub async fn add_member_subscriptions(
        &self,
        new: NewSubscriptions,
        quota: Quota,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Subscribed, QuotaExceeded>> {
        self.call_interactive(move |c| {
            let (guild, user, target) = (&new.guild, &new.user, new.target.to_string());
            let tx = c.transaction()?;
            let member = q::member_subscriptions(&tx, guild, user)?.len();
            let server = q::count_guild_subscriptions(&tx, guild)?;
            if let Err(refused) = quota.admits(member, server, new.queries.len()) {
                return Ok(Err(refused));
            }
            let (mut added, mut existing) = (Vec::new(), Vec::new());
            for query in new.queries {
                if q::add_subscription(&tx, KIND_MEMBER, guild, user, &query, &target, now)? {
                    added.push(query.clone());
                } else {
                    existing.push(query.clone());
                }
                if let Some(cadence) = new.cadence {
                    held::set_subscription_cadence(&tx, guild, user, &query, &target, cadence)?;
                }
                if let Some(only) = &new.source {
                    held::set_subscription_source(
                        &tx,
                        guild,
                        user,
                        &query,
                        &target,
                        only.as_deref(),
                    )?;
                }
            }
            let settings = held::member_settings(&tx, guild, user)?;
            let paused = q::is_paused(&tx, guild, user)?;
            tx.commit()?;
            Ok(Ok(Subscribed {
                added,
                existing,
                settings,
                paused,
            }))
        })
        .await
    }

    /// Removes a member's subscriptions with the first of `spellings` that has any (the
    /// canonical query, then the text as typed). Returns how many were removed.
    pub async fn remove_member_subscription(
        &self,
        guild: &str,
        user: &str,
        spellings: Vec<String>,
    ) -> Result<usize> {
        let (guild, user) = (guild.to_string(), user.to_string());
        self.call_interactive(move |c| {
            for query in &spellings {
                let removed = q::remove_member_subscription(c, &guild, &user, query)?;
                if removed > 0 {
                    return Ok(removed);
                }
            }
            Ok(0)
        })
        .await
    }

    /// Snoozes (`None`: wakes) a member's subscriptions with the first of `spellings` that has
    /// any. Returns how many changed.
    pub async fn snooze_member_subscription(
        &self,
        guild: &str,
        user: &str,
        spellings: Vec<String>,
        until: Option<DateTime<Utc>>,
    ) -> Result<usize> {
        let (guild, user) = (guild.to_string(), user.to_string());
        self.call_interactive(move |c| {
            for query in &spellings {
                let changed = held::set_snooze(c, &guild, &user, query, until)?;
                if changed > 0 {
                    return Ok(changed);
                }
            }
            Ok(0)
        })
        .await
    }

    /// A member's subscriptions, pause state, settings and held items, read together.
    pub async fn member_overview(&self, guild: &str, user: &str) -> Result<MemberOverview> {
        let (guild, user) = (guild.to_string(), user.to_string());
        self.call_interactive(move |c| {
            Ok(MemberOverview {
                subscriptions: q::member_subscriptions(c, &guild, &user)?,
                paused: q::is_paused(c, &guild, &user)?,
                suspended: broken_targets(c)?,
                settings: held::member_settings(c, &guild, &user)?,
                held: held::held_count(c, &guild, &user)?,
            })
        })
        .await
    }

    /// Pauses or resumes a member's alerts (subscriptions are kept).
    pub async fn set_member_paused(&self, guild: &str, user: &str, paused: bool) -> Result<()> {
        let (guild, user) = (guild.to_string(), user.to_string());
        self.call_interactive(move |c| q::set_paused(c, &guild, &user, paused))
            .await
    }

    /// Applies `change` to a member's settings (an empty change writes nothing) and returns
    /// them as they now are.
    pub async fn change_member_settings(
        &self,
        guild: &str,
        user: &str,
        change: SettingsChange,
    ) -> Result<MemberSettings> {
        let (guild, user) = (guild.to_string(), user.to_string());
        self.call_interactive(move |c| {
            let current = held::member_settings(c, &guild, &user)?;
            if change.is_empty() {
                return Ok(current);
            }
            let settings = change.apply(current);
            held::set_member_settings(c, &guild, &user, &settings)?;
            Ok(settings)
        })
        .await
    }

    /// At most `limit` items fetched since `since` by sources feeding the server, newest first.
    pub async fn recent_items(
        &self,
        guild: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RecentItem>> {
        let guild = guild.to_string();
        self.call_interactive(move |c| q::recent_items(c, &guild, since, limit))
            .await
    }

    /// The server's sources and the suspended targets its subscriptions deliver to.
    pub async fn server_sources(&self, guild: &str) -> Result<ServerSources> {
        let guild = guild.to_string();
        self.call_interactive(move |c| {
            // Only this server's targets: another server's must not be shown here.
            let mut suspended = Vec::new();
            for broken in broken_targets(c)? {
                if q::guilds_of_target(c, &broken.target)?.contains(&guild) {
                    suspended.push(broken);
                }
            }
            Ok(ServerSources {
                sources: q::visible_sources(c, &guild)?,
                suspended,
            })
        })
        .await
    }

    /// How many sources the server added itself.
    pub async fn count_server_sources(&self, guild: &str) -> Result<usize> {
        let guild = guild.to_string();
        self.call_interactive(move |c| q::count_guild_sources(c, &guild))
            .await
    }

    /// Adds a source to the server (its first poll records what the feed holds as seen).
    /// Returns the new source's id.
    pub async fn add_server_source(
        &self,
        guild: &str,
        name: &str,
        url: &str,
        schedule: &str,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<SourceId, AddSourceError>> {
        let (guild, name, url, schedule) = (
            guild.to_string(),
            name.to_string(),
            url.to_string(),
            schedule.to_string(),
        );
        self.call_interactive(move |c| q::add_guild_source(c, &guild, &name, &url, &schedule, now))
            .await
            .map(|added| added.map(SourceId))
    }

    /// Removes a source the server added, by name (any case).
    pub async fn remove_server_source(&self, guild: &str, name: &str) -> Result<RemoveSource> {
        let (guild, name) = (guild.to_string(), name.to_string());
        self.call_interactive(move |c| q::remove_guild_source(c, &guild, &name))
            .await
    }

    /// Adds a channel-wide subscription unless it exists or the server is full.
    pub async fn add_channel_alert(
        &self,
        guild: &str,
        query: &str,
        channel: &Target,
        per_server: usize,
        now: DateTime<Utc>,
    ) -> Result<ChannelAlertAdded> {
        let (guild, query, target) = (guild.to_string(), query.to_string(), channel.to_string());
        self.call_interactive(move |c| {
            if q::count_guild_subscriptions(c, &guild)? >= per_server {
                return Ok(ChannelAlertAdded::ServerFull);
            }
            let added = q::add_subscription(c, KIND_CHANNEL, &guild, "", &query, &target, now)?;
            Ok(if added {
                ChannelAlertAdded::Added
            } else {
                ChannelAlertAdded::Exists
            })
        })
        .await
    }

    /// Removes channel-wide subscriptions with this query, in one channel or in all.
    /// Returns how many.
    pub async fn remove_channel_alert(
        &self,
        guild: &str,
        query: &str,
        channel: Option<&Target>,
    ) -> Result<usize> {
        let (guild, query) = (guild.to_string(), query.to_string());
        let target = channel.map(ToString::to_string);
        self.call_interactive(move |c| {
            q::remove_channel_subscription(c, &guild, &query, target.as_deref())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUILD: &str = "1";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    fn new_subscriptions(queries: &[&str]) -> NewSubscriptions {
        NewSubscriptions {
            guild: GUILD.into(),
            user: "7".into(),
            queries: queries.iter().map(ToString::to_string).collect(),
            target: Target::Channel(42),
            cadence: None,
            source: None,
        }
    }

    #[test]
    fn quota_refuses_the_member_before_the_server() {
        let quota = Quota {
            per_member: 2,
            per_server: 3,
        };
        assert_eq!(quota.admits(1, 1, 1), Ok(()));
        assert_eq!(
            quota.admits(2, 3, 1),
            Err(QuotaExceeded::Member { held: 2 })
        );
        assert_eq!(quota.admits(0, 3, 1), Err(QuotaExceeded::Server));
    }

    #[test]
    fn settings_change_keeps_what_it_does_not_name() {
        let current = MemberSettings {
            timezone: Some("Europe/Paris".into()),
            quiet_hours: Some("22:00-07:00".into()),
            hourly_cap: Some(5),
        };
        let change = SettingsChange {
            quiet_hours: Some(None),
            ..SettingsChange::default()
        };
        let after = change.apply(current.clone());
        assert_eq!(after.timezone, current.timezone);
        assert_eq!(after.quiet_hours, None);
        assert_eq!(after.hourly_cap, Some(5));
        assert!(SettingsChange::default().is_empty());
    }

    #[tokio::test]
    async fn subscriptions_over_quota_write_nothing() {
        let store = crate::store::testing::test_store_async().await;
        let quota = Quota {
            per_member: 2,
            per_server: 10,
        };
        let first = store
            .add_member_subscriptions(new_subscriptions(&["Meta"]), quota, now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.added, vec!["Meta"]);
        let refused = store
            .add_member_subscriptions(new_subscriptions(&["A", "B"]), quota, now())
            .await
            .unwrap();
        assert_eq!(refused, Err(QuotaExceeded::Member { held: 1 }));
        let again = store
            .add_member_subscriptions(new_subscriptions(&["Meta"]), quota, now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.existing, vec!["Meta"]);
        assert_eq!(
            store.member_subscriptions(GUILD, "7").await.unwrap().len(),
            1
        );
    }

    #[tokio::test]
    async fn removal_tries_each_spelling_in_turn() {
        let store = crate::store::testing::test_store_async().await;
        let quota = Quota {
            per_member: 5,
            per_server: 5,
        };
        store
            .add_member_subscriptions(new_subscriptions(&["meta"]), quota, now())
            .await
            .unwrap()
            .unwrap();
        let removed = store
            .remove_member_subscription(GUILD, "7", vec!["Meta".into(), "meta".into()])
            .await
            .unwrap();
        assert_eq!(removed, 1);
    }

    #[tokio::test]
    async fn alert_channel_reads_back_as_a_target() {
        let store = crate::store::testing::test_store_async().await;
        assert_eq!(store.alert_channel(GUILD).await.unwrap(), None);
        store
            .set_alert_channel(GUILD, &Target::Channel(9))
            .await
            .unwrap();
        assert_eq!(
            store.alert_channel(GUILD).await.unwrap(),
            Some(Target::Channel(9))
        );
    }

    #[tokio::test]
    async fn channel_alerts_stop_at_the_server_limit() {
        let store = crate::store::testing::test_store_async().await;
        let channel = Target::Channel(3);
        let add =
            |per_server| store.add_channel_alert(GUILD, "Gemini", &channel, per_server, now());
        assert_eq!(add(1).await.unwrap(), ChannelAlertAdded::Added);
        assert_eq!(add(5).await.unwrap(), ChannelAlertAdded::Exists);
        assert_eq!(add(1).await.unwrap(), ChannelAlertAdded::ServerFull);
        assert_eq!(
            store
                .remove_channel_alert(GUILD, "Gemini", None)
                .await
                .unwrap(),
            1
        );
    }
}
