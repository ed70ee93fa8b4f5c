//! The domain types every layer shares: a feed item as newshound sees it, and small typed ids.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::digest::Cadence;

/// One entry of a feed, already decoded to UTF-8 and with relative links resolved.
///
/// Text fields may still hold HTML (`summary_html`, `content_html`); `title` is plain text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The id the feed gave (RSS `guid`, Atom `id`, JSON Feed `id`), if it gave one.
    pub guid: Option<String>,
    /// Plain-text title (tags stripped, entities decoded, whitespace collapsed).
    pub title: String,
    /// The item's web page: an absolute http(s) URL, if the feed had one.
    pub link: Option<String>,
    /// `published`, else `updated`, if the feed dated the item.
    pub published: Option<DateTime<Utc>>,
    /// Description / summary as the feed gave it (may be HTML).
    pub summary_html: String,
    /// Full content as the feed gave it (may be HTML); empty when absent.
    pub content_html: String,
    /// Category / tag labels.
    pub categories: Vec<String>,
    /// An absolute http(s) image URL for a thumbnail, if the feed offered one.
    pub image: Option<String>,
    /// Engagement (Hacker News points, Reddit score) where the source reports it; a source
    /// with `min_points` takes only items at or above it.
    pub points: Option<u32>,
}

/// A parsed feed: its title and items in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Feed {
    pub title: String,
    pub items: Vec<Item>,
    /// RSS `<ttl>` in minutes, a server hint for how often to poll.
    pub ttl_minutes: Option<u32>,
    /// Set when the document was cut off or damaged and only the complete items before the
    /// damage were read: where it breaks and how many items were kept.
    pub damaged: Option<String>,
}

/// A source's row id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SourceId(pub i64);

/// An outbox row's id: one alert for one target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct OutboxId(pub i64);

/// A stored item's row id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ItemId(pub i64);

macro_rules! id_display {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}
id_display!(SourceId, OutboxId, ItemId);

/// Where an alert goes. Stored as text (`default`, `channel:<id>`, `dm:<user id>`, or a
/// config subscription's `channel` as written); parsed once, at the store's edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// The server's (or the console's) default alert channel.
    Default,
    /// A Discord channel.
    Channel(u64),
    /// A member's direct messages.
    Dm(u64),
    /// A config subscription's `channel` that is not a Discord id (console output only).
    Named(String),
}

impl Target {
    /// Reads the stored form. A bare positive number is a channel id (config subscriptions
    /// give `channel = "123"`); anything else that is not `default` stays a name.
    pub fn parse(text: &str) -> Target {
        let number = |s: &str| s.trim().parse::<u64>().ok().filter(|n| *n > 0);
        if text == crate::DEFAULT_TARGET {
            Target::Default
        } else if let Some(id) = text.strip_prefix("channel:").and_then(number) {
            Target::Channel(id)
        } else if let Some(id) = text.strip_prefix("dm:").and_then(number) {
            Target::Dm(id)
        } else if let Some(id) = number(text) {
            Target::Channel(id)
        } else {
            Target::Named(text.to_string())
        }
    }

    /// The Discord channel or DM this target names, if it names one.
    pub fn discord(&self) -> Option<DiscordTarget> {
        match self {
            Target::Channel(id) => Some(DiscordTarget::Channel(*id)),
            Target::Dm(id) => Some(DiscordTarget::Dm(*id)),
            Target::Default | Target::Named(_) => None,
        }
    }
}

/// The stored form, which [`Target::parse`] reads back.
impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Default => f.write_str(crate::DEFAULT_TARGET),
            Target::Channel(id) => write!(f, "channel:{id}"),
            Target::Dm(id) => write!(f, "dm:{id}"),
            Target::Named(name) => f.write_str(name),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A target Discord can deliver to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscordTarget {
    Channel(u64),
    Dm(u64),
}

/// A source's health, as `sources` and `/sources list` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceState {
    /// Never polled yet.
    #[default]
    New,
    Ok,
    /// Polled, but the last document was damaged (cut off, malformed): its complete items
    /// were taken, the rest lost. The last error says what happened.
    Damaged,
    /// Failing; retried with back-off.
    Backoff,
    /// Not polled until someone acts (410 Gone, or an admin).
    Paused,
}

impl SourceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::New => "new",
            SourceState::Ok => "ok",
            SourceState::Damaged => "damaged",
            SourceState::Backoff => "backoff",
            SourceState::Paused => "paused",
        }
    }

    /// Reads the stored form; anything unknown reads as `New` (it will be polled).
    pub fn parse(text: &str) -> SourceState {
        match text {
            "ok" => SourceState::Ok,
            "damaged" => SourceState::Damaged,
            "backoff" => SourceState::Backoff,
            "paused" => SourceState::Paused,
            _ => SourceState::New,
        }
    }
}

impl std::fmt::Display for SourceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a source or subscription came from: the config file (re-synced at every start),
/// Discord (owned by a server), or an OPML file the operator imported with
/// `newshound sources import` (global like config sources, but kept in the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    #[default]
    Config,
    Discord,
    Import,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Discord => "discord",
            Origin::Import => "import",
        }
    }

    pub fn parse(text: &str) -> Origin {
        match text {
            "config" => Origin::Config,
            "import" => Origin::Import,
            _ => Origin::Discord,
        }
    }

    /// Added by the operator (config file or CLI import), so `fetch.allow_private_addresses`
    /// applies to it; sources from Discord are always public-only.
    pub fn is_operator(self) -> bool {
        matches!(self, Origin::Config | Origin::Import)
    }
}

/// A subscription as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub id: i64,
    pub origin: String,
    pub user: String,
    pub query: String,
    pub target: String,
    pub guild_id: Option<String>,
    /// `instant` (also when empty), `hourly` or `daily`.
    pub mode: String,
    /// `HH:MM` local time of a daily digest.
    pub digest_at: Option<String>,
    /// No alerts for this subscription before then.
    pub snoozed_until: Option<DateTime<Utc>>,
    /// Only items from the source with this name (any case); `None`: every source.
    pub source: Option<String>,
}

impl SubscriptionRow {
    /// The delivery mode; a stored mode that no longer parses delivers instantly (an alert
    /// late is worse than one not held).
    pub fn cadence(&self) -> Cadence {
        Cadence::parse(&self.mode, self.digest_at.as_deref()).unwrap_or(Cadence::Instant)
    }
}

/// A subscription as the set holds it, borrowed: the fields of [`SubscriptionRow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionView<'a> {
    pub id: i64,
    pub origin: &'a str,
    pub user: &'a str,
    pub query: &'a str,
    pub target: &'a str,
    pub guild_id: Option<&'a str>,
    pub mode: &'a str,
    pub digest_at: Option<&'a str>,
    /// `mode` and `digest_at` parsed (once, when the row was read).
    pub cadence: Cadence,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub source: Option<&'a str>,
}

impl SubscriptionView<'_> {
    pub fn to_row(&self) -> SubscriptionRow {
        SubscriptionRow {
            id: self.id,
            origin: self.origin.to_string(),
            user: self.user.to_string(),
            query: self.query.to_string(),
            target: self.target.to_string(),
            guild_id: self.guild_id.map(str::to_string),
            mode: self.mode.to_string(),
            digest_at: self.digest_at.map(str::to_string),
            snoozed_until: self.snoozed_until,
            source: self.source.map(str::to_string),
        }
    }
}

impl SubscriptionRow {
    pub fn view(&self) -> SubscriptionView<'_> {
        SubscriptionView {
            id: self.id,
            origin: &self.origin,
            user: &self.user,
            query: &self.query,
            target: &self.target,
            guild_id: self.guild_id.as_deref(),
            mode: &self.mode,
            digest_at: self.digest_at.as_deref(),
            cadence: self.cadence(),
            snoozed_until: self.snoozed_until,
            source: self.source.as_deref(),
        }
    }
}

/// One subscription an item matched, with the terms that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionMatch<'a> {
    pub row: SubscriptionView<'a>,
    pub matched: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip_through_their_stored_form() {
        for t in [
            Target::Default,
            Target::Channel(42),
            Target::Dm(7),
            Target::Named("#tech".into()),
        ] {
            assert_eq!(Target::parse(&t.to_string()), t);
        }
        assert_eq!(Target::parse("123"), Target::Channel(123));
        assert_eq!(
            Target::parse("channel:0"),
            Target::Named("channel:0".into())
        );
        assert_eq!(Target::Dm(5).discord(), Some(DiscordTarget::Dm(5)));
        assert_eq!(Target::Default.discord(), None);
    }

    #[test]
    fn source_states_and_origins_read_back() {
        for s in [
            SourceState::New,
            SourceState::Ok,
            SourceState::Damaged,
            SourceState::Backoff,
            SourceState::Paused,
        ] {
            assert_eq!(SourceState::parse(s.as_str()), s);
        }
        assert_eq!(Origin::parse(Origin::Discord.as_str()), Origin::Discord);
        assert_eq!(Origin::parse("config"), Origin::Config);
        assert_eq!(Origin::parse(Origin::Import.as_str()), Origin::Import);
        assert!(Origin::Import.is_operator() && !Origin::Discord.is_operator());
    }
}
