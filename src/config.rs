//! The configuration file: strict TOML in, a validated [`Config`] out, or every problem at once.
//!
//! Loading is two steps, raw then validated (like ripgrep's low/high args): the TOML is first
//! walked against the known keys so that *all* unknown keys are reported (serde would stop at
//! the first), then deserialised, then each value is checked (cron parses, files exist, names
//! are unique, queries parse). Relative paths resolve against the config file's directory.

use crate::sources::shorthand::{expand, Expanded};
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::core::query::{self, Query};
use crate::discord::shards::{self, ShardCount, ShardRange, Sharding, MAX_SHARD_COUNT};

/// The default cron schedule: every five minutes, at second 0.
pub const DEFAULT_SCHEDULE: &str = "0 */5 * * * *";

/// One thing wrong with the configuration: where, what, and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the key, e.g. `sources[2].schedule`.
    pub key: String,
    /// The offending value as written (empty when the key is missing).
    pub value: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}", self.key, self.message)
        } else {
            write!(f, "{} = {}: {}", self.key, self.value, self.message)
        }
    }
}

/// Every problem found in one configuration file.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{} has {n} problem{}:",
            self.path.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

/// Where a source's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An http(s) URL.
    Url(String),
    /// A local file, absolute (resolved against the config directory).
    File(PathBuf),
    /// `youtube:@handle`: its feed URL needs a page fetch, made at the source's first poll
    /// and stored (the config keeps the handle, so it is not fetched again).
    Handle(String),
}

impl Location {
    /// The text handed to the fetcher: the URL, or the file path.
    pub fn as_fetch_str(&self) -> String {
        match self {
            Location::Url(url) | Location::Handle(url) => url.clone(),
            Location::File(path) => path.display().to_string(),
        }
    }

    pub fn is_file(&self) -> bool {
        matches!(self, Location::File(_))
    }
}

/// A validated source from `[[sources]]`.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub location: Location,
    /// The schedule as written (kept for display and storage).
    pub schedule_text: String,
    pub schedule: cron::Schedule,
    pub backfill: u32,
    /// Fetch the article page for items whose feed text is shorter than this (0: never).
    pub article_min_chars: usize,
    /// `kind = "html"` or `"sitemap"`: how the document is read instead of as a feed.
    pub kind: Option<crate::sources::SourceKind>,
}

/// A validated operator-defined subscription from `[[subscriptions]]`.
#[derive(Debug, Clone)]
pub struct SubscriptionConfig {
    pub user: String,
    pub query: Query,
    /// Delivery target; `None` means the default target.
    pub channel: Option<String>,
    /// `mode`/`at`: instant (default), hourly or daily digest.
    pub cadence: crate::core::digest::Cadence,
    /// Only items from the source with this name.
    pub source: Option<String>,
}

/// A config user's noise settings from `[[members]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberConfig {
    pub user: String,
    /// IANA name as the tz database spells it.
    pub timezone: Option<String>,
    /// `HH:MM-HH:MM`.
    pub quiet_hours: Option<String>,
    pub max_per_hour: Option<u32>,
}

/// `[fetch]`: limits for every source fetch.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body_bytes: u64,
    pub max_redirects: u8,
    pub per_host_concurrency: usize,
    pub concurrency: usize,
    /// Each scheduled poll starts up to this much later, at random, so sources sharing a cron
    /// minute do not all fire at once.
    pub jitter: Duration,
    /// Whether config sources may live on loopback / private addresses (self-hosted feeds).
    pub allow_private_addresses: bool,
}

/// `[discord]`: how to reach Discord. The token itself comes from `DISCORD_TOKEN` or
/// `token_file`, never from this file.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// `https://discord.com`, or a fake Discord's address in tests.
    pub api_base_url: String,
    /// Register slash commands in this server only (instant; for testing) instead of globally.
    pub guild_id: Option<u64>,
    /// A file holding the bot token (used when `DISCORD_TOKEN` is unset or empty).
    pub token_file: Option<PathBuf>,
    /// Subscriptions one member may hold in one server.
    pub max_subscriptions_per_member: usize,
    /// Subscriptions (members' and channel-wide) one server may hold.
    pub max_subscriptions_per_server: usize,
    /// Sources one server may add.
    pub max_sources_per_server: usize,
    /// `shard_count` / `shards`; `None`: one unsharded connection, as a small bot needs.
    pub sharding: Option<crate::discord::shards::Sharding>,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            api_base_url: DISCORD_API.to_string(),
            guild_id: None,
            token_file: None,
            max_subscriptions_per_member: 25,
            max_subscriptions_per_server: 1000,
            max_sources_per_server: 50,
            sharding: None,
        }
    }
}

/// Discord's real API.
pub const DISCORD_API: &str = "https://discord.com";

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was loaded from.
    pub path: PathBuf,
    pub storage_path: PathBuf,
    /// `[storage] url`: a PostgreSQL database instead of the SQLite file
    /// (`NEWSHOUND_DATABASE_URL` wins; see `store::Database::choose`).
    pub storage_url: Option<String>,
    pub retention_days: u32,
    pub default_schedule: String,
    pub summary_length: usize,
    /// `[defaults].article_min_chars`, for sources added from Discord.
    pub article_min_chars: usize,
    pub fetch: FetchConfig,
    pub sources: Vec<SourceConfig>,
    pub subscriptions: Vec<SubscriptionConfig>,
    pub members: Vec<MemberConfig>,
    pub discord: DiscordConfig,
    /// `[summarizer] kind = "openai"`; `None` keeps extractive summaries (the default).
    pub summarizer: Option<crate::summarizer::OpenAiConfig>,
    /// `[http]`: the operations listener (metrics, health, status page); off by default.
    pub http: HttpConfig,
    /// `[log] format`.
    pub log_format: LogFormat,
}

/// `[http]`: where the operations listener listens, and the token its status page needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// `None`: no listener (the default).
    pub listen: Option<std::net::SocketAddr>,
    /// Required for `/` and `/metrics` when set. `NEWSHOUND_HTTP_TOKEN` wins over the file.
    pub token: Option<String>,
    /// The address hubs reach this listener at; set, feeds that name a WebSub hub are
    /// subscribed to for push (callbacks under `/websub/`).
    pub public_url: Option<url::Url>,
    /// While a source's push subscription is healthy it is polled at most this often.
    pub push_poll: std::time::Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: None,
            token: None,
            public_url: None,
            push_poll: DEFAULT_PUSH_POLL,
        }
    }
}

/// `[http] push_poll_secs` unless set: the safety-net poll of a source that pushes.
pub const DEFAULT_PUSH_POLL: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

// ---- raw form ---------------------------------------------------------------------------

/// What a source takes from `[defaults]` when it does not say.
struct SourceDefaults<'a> {
    schedule: &'a str,
    parsed: Option<&'a cron::Schedule>,
    backfill: u32,
    article_min_chars: usize,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default)]
    sources: Vec<RawSource>,
    #[serde(default)]
    subscriptions: Vec<RawSubscription>,
    #[serde(default)]
    members: Vec<RawMember>,
    #[serde(default)]
    discord: RawDiscord,
    #[serde(default)]
    summarizer: RawSummarizer,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    log: RawLog,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<String>,
    token: Option<String>,
    public_url: Option<String>,
    push_poll_secs: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    format: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSummarizer {
    kind: Option<String>,
    base_url: Option<String>,
    model: Option<String>,
    api_key_env: Option<String>,
    timeout_secs: Option<f64>,
    max_per_hour: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDiscord {
    api_base_url: Option<String>,
    guild_id: Option<toml::Value>,
    token_file: Option<String>,
    max_subscriptions_per_member: Option<i64>,
    max_subscriptions_per_server: Option<i64>,
    max_sources_per_server: Option<i64>,
    shard_count: Option<toml::Value>,
    shards: Option<toml::Value>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    path: Option<String>,
    url: Option<String>,
    retention_days: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    schedule: Option<String>,
    backfill: Option<i64>,
    summary_length: Option<i64>,
    article_min_chars: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    timeout_secs: Option<f64>,
    connect_timeout_secs: Option<f64>,
    max_body_bytes: Option<i64>,
    max_redirects: Option<i64>,
    per_host_concurrency: Option<i64>,
    concurrency: Option<i64>,
    jitter_secs: Option<f64>,
    allow_private_addresses: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Option<String>,
    url: Option<String>,
    schedule: Option<String>,
    backfill: Option<i64>,
    article_min_chars: Option<i64>,
    kind: Option<String>,
    select: Option<RawSelect>,
    max_age_days: Option<i64>,
    min_points: Option<i64>,
}

/// `[sources.select]`: CSS selectors for `kind = "html"`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSelect {
    items: Option<String>,
    title: Option<String>,
    link: Option<String>,
    summary: Option<String>,
    date: Option<String>,
    image: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSubscription {
    user: Option<String>,
    query: Option<String>,
    channel: Option<String>,
    mode: Option<String>,
    at: Option<String>,
    source: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMember {
    user: Option<String>,
    timezone: Option<String>,
    quiet_hours: Option<String>,
    max_per_hour: Option<i64>,
}

/// The keys each table accepts; what the unknown-key walk checks against.
const ROOT_KEYS: &[&str] = &[
    "storage",
    "defaults",
    "fetch",
    "sources",
    "subscriptions",
    "members",
    "discord",
    "summarizer",
    "http",
    "log",
];
const HTTP_KEYS: &[&str] = &["listen", "token", "public_url", "push_poll_secs"];
const LOG_KEYS: &[&str] = &["format"];
const SUMMARIZER_KEYS: &[&str] = &[
    "kind",
    "base_url",
    "model",
    "api_key_env",
    "timeout_secs",
    "max_per_hour",
];
const DISCORD_KEYS: &[&str] = &[
    "api_base_url",
    "guild_id",
    "token_file",
    "max_subscriptions_per_member",
    "max_subscriptions_per_server",
    "max_sources_per_server",
    "shard_count",
    "shards",
];
const STORAGE_KEYS: &[&str] = &["path", "url", "retention_days"];
const DEFAULTS_KEYS: &[&str] = &[
    "schedule",
    "backfill",
    "summary_length",
    "article_min_chars",
];
const FETCH_KEYS: &[&str] = &[
    "timeout_secs",
    "connect_timeout_secs",
    "max_body_bytes",
    "max_redirects",
    "per_host_concurrency",
    "concurrency",
    "jitter_secs",
    "allow_private_addresses",
];
const SOURCE_KEYS: &[&str] = &[
    "name",
    "url",
    "schedule",
    "backfill",
    "article_min_chars",
    "kind",
    "select",
    "max_age_days",
    "min_points",
];
const SUBSCRIPTION_KEYS: &[&str] = &["user", "query", "channel", "mode", "at", "source"];
const MEMBER_KEYS: &[&str] = &["user", "timezone", "quiet_hours", "max_per_hour"];

fn keys_for(table: &str) -> &'static [&'static str] {
    match table {
        "storage" => STORAGE_KEYS,
        "defaults" => DEFAULTS_KEYS,
        "fetch" => FETCH_KEYS,
        "sources" => SOURCE_KEYS,
        "subscriptions" => SUBSCRIPTION_KEYS,
        "members" => MEMBER_KEYS,
        "discord" => DISCORD_KEYS,
        "summarizer" => SUMMARIZER_KEYS,
        "http" => HTTP_KEYS,
        "log" => LOG_KEYS,
        _ => &[],
    }
}

fn did_you_mean(key: &str, allowed: &[&str]) -> String {
    let best = allowed
        .iter()
        .map(|candidate| (strsim::jaro_winkler(key, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, candidate)) => format!("unknown key — did you mean `{candidate}`?"),
        None => format!("unknown key — valid keys here: {}", allowed.join(", ")),
    }
}

/// Removes unknown keys from `value`, recording a problem for each.
fn strip_unknown_keys(value: &mut toml::Value, problems: &mut Vec<Problem>) {
    let Some(root) = value.as_table_mut() else {
        return;
    };
    let unknown: Vec<String> = root
        .keys()
        .filter(|k| !ROOT_KEYS.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in unknown {
        let removed = root
            .remove(&key)
            .map(|v| short_value(&v))
            .unwrap_or_default();
        problems.push(Problem {
            message: did_you_mean(&key, ROOT_KEYS),
            key,
            value: removed,
        });
    }
    for (name, section) in root.iter_mut() {
        let allowed = keys_for(name);
        let mut check = |table: &mut toml::Table, path: String| {
            let unknown: Vec<String> = table
                .keys()
                .filter(|k| !allowed.contains(&k.as_str()))
                .cloned()
                .collect();
            for key in unknown {
                let removed = table
                    .remove(&key)
                    .map(|v| short_value(&v))
                    .unwrap_or_default();
                problems.push(Problem {
                    key: format!("{path}.{key}"),
                    value: removed,
                    message: did_you_mean(&key, allowed),
                });
            }
        };
        match section {
            toml::Value::Table(table) => check(table, name.clone()),
            toml::Value::Array(entries) => {
                for (i, entry) in entries.iter_mut().enumerate() {
                    if let toml::Value::Table(table) = entry {
                        check(table, format!("{name}[{}]", i + 1));
                    }
                }
            }
            _ => {}
        }
    }
}

fn short_value(value: &toml::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(79).collect::<String>())
    } else {
        text
    }
}

fn quoted(text: &str) -> String {
    format!("{text:?}")
}

// ---- validation -------------------------------------------------------------------------

/// Parses a cron expression in the `cron` crate's 6-field form (seconds first).
pub fn parse_schedule(text: &str) -> Result<cron::Schedule, String> {
    let fields = text.split_whitespace().count();
    if fields == 5 {
        return Err(format!(
            "5-field cron; newshound uses 6 fields with seconds first — try \"0 {text}\""
        ));
    }
    cron::Schedule::from_str(text).map_err(|e| {
        format!("not a valid cron schedule ({e}); expected 6 fields \"sec min hour day month weekday\", e.g. \"0 */5 * * * *\" for every five minutes")
    })
}

struct Validator<'a> {
    dir: &'a Path,
    problems: Vec<Problem>,
    /// Test-only base URLs for shorthand expansions (`NEWSHOUND_SHORTHAND_BASE_*`).
    shorthand_bases: crate::sources::shorthand::Bases,
}

impl Validator<'_> {
    fn problem(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            key: key.into(),
            value: value.into(),
            message: message.into(),
        });
    }

    fn int_in(
        &mut self,
        key: &str,
        value: Option<i64>,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> i64 {
        match value {
            None => default,
            Some(v) if range.contains(&v) => v,
            Some(v) => {
                self.problem(
                    key,
                    v.to_string(),
                    format!("must be between {} and {}", range.start(), range.end()),
                );
                default
            }
        }
    }

    fn secs(&mut self, key: &str, value: Option<f64>, default: f64, max: f64) -> Duration {
        match value {
            None => Duration::from_secs_f64(default),
            Some(v) if v.is_finite() && v >= 0.0 && v <= max => Duration::from_secs_f64(v),
            Some(v) => {
                self.problem(
                    key,
                    v.to_string(),
                    format!("must be a number of seconds between 0 and {max}"),
                );
                Duration::from_secs_f64(default)
            }
        }
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    /// `kind`, `[sources.select]` and `max_age_days` of source `at`: `Some(None)` for a feed,
    /// `Some(Some(_))` for a page or a sitemap, `None` once the problems are noted.
    #[expect(
        clippy::option_option,
        reason = "outer: valid or not (problems noted); inner: feed or another kind"
    )]
    fn source_kind(
        &mut self,
        at: &str,
        kind: Option<&str>,
        select: Option<RawSelect>,
        max_age_days: Option<i64>,
    ) -> Option<Option<crate::sources::SourceKind>> {
        use crate::sources::html_list::{compile, SelectText};
        use crate::sources::SourceKind;
        let kind = kind.map(str::trim);
        if max_age_days.is_some() && kind != Some("sitemap") {
            self.problem(
                format!("{at}.max_age_days"),
                "",
                "only applies to kind = \"sitemap\"; remove it or set the kind",
            );
            return None;
        }
        if select.is_some() && matches!(kind, Some("sitemap")) {
            self.problem(
                format!("{at}.select"),
                "",
                "selectors only apply to kind = \"html\"; a sitemap needs none",
            );
            return None;
        }
        match kind {
            Some("sitemap") => {
                let days = self.int_in(&format!("{at}.max_age_days"), max_age_days, 2, 1..=365);
                Some(Some(SourceKind::Sitemap {
                    max_age_days: u32::try_from(days).unwrap_or(2),
                }))
            }
            None | Some("feed") => {
                if select.is_some() {
                    self.problem(
                        format!("{at}.select"),
                        "",
                        "selectors only apply to a page: add kind = \"html\" or remove [sources.select]",
                    );
                    return None;
                }
                Some(None)
            }
            Some("html") => {
                let Some(select) = select else {
                    self.problem(
                        format!("{at}.select"),
                        "",
                        "missing; kind = \"html\" needs [sources.select] with at least items = \"CSS selector\" (one element per item, e.g. \"article\")",
                    );
                    return None;
                };
                let Some(items) = select.items else {
                    self.problem(
                        format!("{at}.select.items"),
                        "",
                        "missing; give the CSS selector of one element per item, e.g. items = \"article\"",
                    );
                    return None;
                };
                let text = SelectText {
                    items,
                    title: select.title,
                    link: select.link,
                    summary: select.summary,
                    date: select.date,
                    image: select.image,
                };
                match compile(&text) {
                    Ok(page) => Some(Some(SourceKind::Html(std::sync::Arc::new(page)))),
                    Err(problems) => {
                        for p in problems {
                            self.problem(
                                format!("{at}.select.{}", p.key),
                                quoted(&p.value),
                                p.problem,
                            );
                        }
                        None
                    }
                }
            }
            Some(other) => {
                self.problem(
                    format!("{at}.kind"),
                    quoted(other),
                    "unknown kind; use \"feed\" (the default), \"html\" (a page read with [sources.select]) or \"sitemap\"",
                );
                None
            }
        }
    }

    /// `url` expanded when it is a shorthand (`reddit:r/rust`); `Err` once the problem is noted.
    fn shorthand(&mut self, key: &str, url: &str) -> Result<Option<Expanded>, ()> {
        match expand(url, &self.shorthand_bases) {
            Ok(expanded) => Ok(expanded),
            Err(e) => {
                self.problem(
                    key,
                    quoted(url),
                    format!(
                        "not a valid {}: shorthand: {} — e.g. `{}`",
                        e.service, e.problem, e.example
                    ),
                );
                Err(())
            }
        }
    }

    fn location(&mut self, key: &str, url: &str) -> Option<Location> {
        let expanded = match self.shorthand(key, url) {
            Err(()) => return None,
            Ok(Some(Expanded::YoutubeHandle { .. })) => {
                return Some(Location::Handle(url.trim().to_string()))
            }
            Ok(Some(Expanded::Url(expanded))) => Some(expanded),
            Ok(None) => None,
        };
        let url = expanded.as_deref().unwrap_or(url);
        let trimmed = url.trim();
        if trimmed.is_empty() {
            self.problem(
                key,
                quoted(url),
                "is empty; give an http(s) URL or a path to a feed file",
            );
            return None;
        }
        if let Some(scheme_end) = trimmed.find("://") {
            let scheme = trimmed[..scheme_end].to_ascii_lowercase();
            if scheme == "http" || scheme == "https" {
                return match url::Url::parse(trimmed) {
                    Ok(parsed) if parsed.host_str().is_some() => {
                        Some(Location::Url(parsed.to_string()))
                    }
                    Ok(_) => {
                        self.problem(key, quoted(url), "URL has no host");
                        None
                    }
                    Err(e) => {
                        self.problem(key, quoted(url), format!("not a valid URL ({e})"));
                        None
                    }
                };
            }
            if scheme == "file" {
                if let Some(path) = url::Url::parse(trimmed)
                    .ok()
                    .and_then(|u| u.to_file_path().ok())
                {
                    return self.file(key, url, path);
                }
                self.problem(
                    key,
                    quoted(url),
                    "not a valid file:// URL; write a plain path instead",
                );
                return None;
            }
            self.problem(
                key,
                quoted(url),
                format!(
                    "unsupported scheme `{scheme}`; use http://, https:// or a local file path"
                ),
            );
            return None;
        }
        let path = self.resolve(trimmed);
        self.file(key, url, path)
    }

    fn file(&mut self, key: &str, written: &str, path: PathBuf) -> Option<Location> {
        if path.is_file() {
            Some(Location::File(path))
        } else {
            self.problem(
                key,
                quoted(written),
                format!(
                    "file not found: {} (relative paths are resolved against the config file's directory)",
                    path.display()
                ),
            );
            None
        }
    }
}

impl Config {
    /// Reads, parses and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            problems: vec![Problem {
                key: "(file)".into(),
                value: String::new(),
                message: format!("cannot read the config file: {e}"),
            }],
        })?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        Self::from_toml(&text, path, &dir)
    }

    /// Parses and validates TOML text; `dir` anchors relative paths.
    pub fn from_toml(text: &str, path: &Path, dir: &Path) -> Result<Config, ConfigError> {
        let fail = |problems: Vec<Problem>| ConfigError {
            path: path.to_path_buf(),
            problems,
        };
        let mut value: toml::Value = toml::from_str(text).map_err(|e| {
            fail(vec![Problem {
                key: "(syntax)".into(),
                value: String::new(),
                message: format!("not valid TOML: {}", e.to_string().trim()),
            }])
        })?;
        let mut problems = Vec::new();
        strip_unknown_keys(&mut value, &mut problems);
        let raw: RawConfig = match value.try_into() {
            Ok(raw) => raw,
            Err(e) => {
                problems.push(Problem {
                    key: "(types)".into(),
                    value: String::new(),
                    message: format!("a value has the wrong type: {}", e.to_string().trim()),
                });
                return Err(fail(problems));
            }
        };
        let mut v = Validator {
            dir,
            problems,
            shorthand_bases: crate::sources::shorthand::Bases::from_env(),
        };
        let config = Self::validate(raw, path, &mut v);
        if v.problems.is_empty() {
            Ok(config)
        } else {
            Err(fail(v.problems))
        }
    }

    fn validate(raw: RawConfig, path: &Path, v: &mut Validator<'_>) -> Config {
        let storage_path = v.resolve(raw.storage.path.as_deref().unwrap_or("newshound.db"));
        if raw
            .storage
            .path
            .as_deref()
            .is_some_and(|p| p.trim().is_empty())
        {
            v.problem(
                "storage.path",
                "\"\"",
                "is empty; give a file name such as \"newshound.db\"",
            );
        }
        let storage_url = raw.storage.url.clone();
        if let Some(url) = &storage_url {
            if let Err(fix) = crate::store::check_postgres_url(url) {
                v.problem("storage.url", crate::store::redact_url(url), &fix);
            }
        }
        let retention_days = v.int_in(
            "storage.retention_days",
            raw.storage.retention_days,
            180,
            1..=3650,
        ) as u32;

        let default_schedule = raw
            .defaults
            .schedule
            .unwrap_or_else(|| DEFAULT_SCHEDULE.to_string());
        let default_parsed = match parse_schedule(&default_schedule) {
            Ok(s) => Some(s),
            Err(msg) => {
                v.problem("defaults.schedule", quoted(&default_schedule), msg);
                None
            }
        };
        let default_backfill =
            v.int_in("defaults.backfill", raw.defaults.backfill, 0, 0..=100) as u32;
        let summary_length = v.int_in(
            "defaults.summary_length",
            raw.defaults.summary_length,
            300,
            40..=2000,
        ) as usize;
        let article_min_chars = v.int_in(
            "defaults.article_min_chars",
            raw.defaults.article_min_chars,
            120,
            0..=10_000,
        ) as usize;

        let fetch = Self::validate_fetch(&raw.fetch, v);

        let source_defaults = SourceDefaults {
            schedule: &default_schedule,
            parsed: default_parsed.as_ref(),
            backfill: default_backfill,
            article_min_chars,
        };
        let sources = Self::validate_sources(raw.sources, &source_defaults, v);

        let subscriptions = Self::validate_subscriptions(raw.subscriptions, &sources, v);

        let members = Self::validate_members(raw.members, v);

        let discord = Self::validate_discord(raw.discord, v);
        let summarizer = Self::validate_summarizer(raw.summarizer, v);
        let http = Self::validate_http(raw.http, v);
        let log_format = match raw.log.format.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                v.problem(
                    "log.format",
                    quoted(other),
                    "must be \"text\" (readable lines, the default) or \"json\" (one JSON object per line)",
                );
                LogFormat::Text
            }
        };

        Config {
            summarizer,
            http,
            log_format,
            discord,
            path: path.to_path_buf(),
            storage_path,
            storage_url,
            retention_days,
            default_schedule,
            summary_length,
            article_min_chars,
            fetch,
            sources,
            subscriptions,
            members,
        }
    }
}

impl Config {
    fn validate_http(raw: RawHttp, v: &mut Validator<'_>) -> HttpConfig {
        let listen = raw.listen.as_deref().and_then(|text| {
            let parsed = text.trim().parse::<std::net::SocketAddr>().ok();
            if parsed.is_none() {
                v.problem(
                    "http.listen",
                    quoted(text),
                    "must be an IP address and port such as \"127.0.0.1:9464\" (\"[::1]:9464\" for IPv6); remove the key to turn the listener off",
                );
            }
            parsed
        });
        let token = match raw.token {
            Some(t) if t.trim().is_empty() => {
                v.problem(
                    "http.token",
                    "\"\"",
                    "is empty; set a long random string, or remove the key (and keep `listen` on a loopback address)",
                );
                None
            }
            Some(t) if t.chars().count() < 16 => {
                v.problem(
                    "http.token",
                    "(hidden)",
                    "is shorter than 16 characters; use a long random string (e.g. `openssl rand -hex 24`)",
                );
                None
            }
            other => other,
        };
        let public_url = raw.public_url.as_deref().and_then(|text| {
            let parsed = url::Url::parse(text.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if parsed.is_none() {
                v.problem(
                    "http.public_url",
                    quoted(text),
                    "must be the http(s) address hubs reach this listener at, such as \"https://bot.example.com/\"; remove the key to turn push off",
                );
            } else if listen.is_none() && raw.listen.is_none() {
                v.problem(
                    "http.public_url",
                    quoted(text),
                    "needs http.listen too: hubs deliver to the listener (set listen, e.g. \"127.0.0.1:9464\" behind a reverse proxy)",
                );
            }
            parsed
        });
        let push_poll = v.secs(
            "http.push_poll_secs",
            raw.push_poll_secs,
            DEFAULT_PUSH_POLL.as_secs_f64(),
            7.0 * 24.0 * 3600.0,
        );
        HttpConfig {
            listen,
            token,
            public_url,
            push_poll,
        }
    }

    fn validate_fetch(f: &RawFetch, v: &mut Validator<'_>) -> FetchConfig {
        FetchConfig {
            timeout: v.secs("fetch.timeout_secs", f.timeout_secs, 30.0, 600.0),
            connect_timeout: v.secs(
                "fetch.connect_timeout_secs",
                f.connect_timeout_secs,
                10.0,
                600.0,
            ),
            max_body_bytes: v.int_in(
                "fetch.max_body_bytes",
                f.max_body_bytes,
                15 * 1024 * 1024,
                1024..=1024 * 1024 * 1024,
            ) as u64,
            max_redirects: v.int_in("fetch.max_redirects", f.max_redirects, 5, 0..=20) as u8,
            per_host_concurrency: v.int_in(
                "fetch.per_host_concurrency",
                f.per_host_concurrency,
                2,
                1..=64,
            ) as usize,
            concurrency: v.int_in("fetch.concurrency", f.concurrency, 16, 1..=1024) as usize,
            jitter: v.secs("fetch.jitter_secs", f.jitter_secs, 30.0, 3600.0),
            allow_private_addresses: f.allow_private_addresses.unwrap_or(true),
        }
    }

    fn validate_sources(
        raw: Vec<RawSource>,
        defaults: &SourceDefaults<'_>,
        v: &mut Validator<'_>,
    ) -> Vec<SourceConfig> {
        let mut names = HashSet::new();
        let mut sources = Vec::new();
        for (i, s) in raw.into_iter().enumerate() {
            let at = format!("sources[{}]", i + 1);
            let name = s.name.unwrap_or_default().trim().to_string();
            if name.is_empty() {
                v.problem(
                    format!("{at}.name"),
                    "",
                    "missing; every source needs a unique name, e.g. name = \"Tech wire\"",
                );
            } else if name.chars().count() > 100 {
                v.problem(
                    format!("{at}.name"),
                    quoted(&name),
                    "longer than 100 characters",
                );
            } else if !names.insert(name.to_lowercase()) {
                v.problem(
                    format!("{at}.name"),
                    quoted(&name),
                    "duplicate source name; names must be unique (case-insensitive) — rename one",
                );
            }
            let url = match (s.url.as_deref(), s.min_points) {
                (Some(url), Some(points)) => {
                    let points =
                        v.int_in(&format!("{at}.min_points"), Some(points), 0, 0..=1_000_000);
                    match crate::sources::shorthand::with_min_points(url, points as u32) {
                        Ok(with) => Some(with),
                        Err(fix) => {
                            v.problem(format!("{at}.min_points"), points.to_string(), fix);
                            None
                        }
                    }
                }
                (url, _) => url.map(str::to_string),
            };
            let location = if let Some(url) = url.as_deref() {
                v.location(&format!("{at}.url"), url)
            } else if s.url.is_some() {
                None
            } else {
                v.problem(
                    format!("{at}.url"),
                    "",
                    "missing; give an http(s) URL or a path to a feed file",
                );
                None
            };
            let (schedule_text, schedule) = match s.schedule {
                Some(text) => match parse_schedule(&text) {
                    Ok(parsed) => (text, Some(parsed)),
                    Err(msg) => {
                        v.problem(format!("{at}.schedule"), quoted(&text), msg);
                        (text, None)
                    }
                },
                None => (defaults.schedule.to_string(), defaults.parsed.cloned()),
            };
            let backfill = v.int_in(
                &format!("{at}.backfill"),
                s.backfill,
                i64::from(defaults.backfill),
                0..=100,
            ) as u32;
            let source_article_min = v.int_in(
                &format!("{at}.article_min_chars"),
                s.article_min_chars,
                defaults.article_min_chars as i64,
                0..=10_000,
            ) as usize;
            let kind = v.source_kind(&at, s.kind.as_deref(), s.select, s.max_age_days);
            if let (Some(location), Some(schedule), Some(kind)) = (location, schedule, kind) {
                // Local files are read as they are: no article pages fetched for them.
                let article_min_chars = if location.is_file() {
                    0
                } else {
                    source_article_min
                };
                sources.push(SourceConfig {
                    name,
                    location,
                    schedule_text,
                    schedule,
                    backfill,
                    article_min_chars,
                    kind,
                });
            }
        }
        sources
    }

    fn validate_subscriptions(
        raw: Vec<RawSubscription>,
        sources: &[SourceConfig],
        v: &mut Validator<'_>,
    ) -> Vec<SubscriptionConfig> {
        let mut subscriptions = Vec::new();
        for (i, s) in raw.into_iter().enumerate() {
            let at = format!("subscriptions[{}]", i + 1);
            let user = s.user.unwrap_or_default().trim().to_string();
            if user.is_empty() {
                v.problem(
                    format!("{at}.user"),
                    "",
                    "missing; name who the alerts are for, e.g. user = \"alice\"",
                );
            }
            let query_text = s.query.unwrap_or_default();
            let parsed = match query::parse(&query_text) {
                Ok(q) => Some(q),
                Err(e) => {
                    v.problem(format!("{at}.query"), quoted(&query_text), e.to_string());
                    None
                }
            };
            let channel = s
                .channel
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty());
            if s.at.is_some() && !matches!(s.mode.as_deref(), Some("daily")) {
                v.problem(
                    format!("{at}.at"),
                    quoted(s.at.as_deref().unwrap_or_default()),
                    "`at` is the time of a daily digest; add mode = \"daily\" or remove `at`",
                );
            }
            let cadence = match crate::core::digest::Cadence::parse(
                s.mode.as_deref().unwrap_or("instant"),
                s.at.as_deref(),
            ) {
                Ok(c) => c,
                Err(e) => {
                    let (key, value) =
                        if s.at.is_some() && matches!(s.mode.as_deref(), Some("daily")) {
                            ("at", s.at.clone().unwrap_or_default())
                        } else {
                            ("mode", s.mode.clone().unwrap_or_default())
                        };
                    v.problem(format!("{at}.{key}"), quoted(&value), e);
                    crate::core::digest::Cadence::Instant
                }
            };
            let source = s.source.map(|name| name.trim().to_string());
            if let Some(name) = &source {
                if !sources
                    .iter()
                    .any(|src: &SourceConfig| src.name.eq_ignore_ascii_case(name))
                {
                    let names: Vec<&str> = sources.iter().map(|src| src.name.as_str()).collect();
                    v.problem(
                        format!("{at}.source"),
                        quoted(name),
                        format!(
                            "no [[sources]] has that name; use one of: {}",
                            names.join(", ")
                        ),
                    );
                }
            }
            if let Some(query) = parsed {
                if !user.is_empty() {
                    subscriptions.push(SubscriptionConfig {
                        user,
                        query,
                        channel,
                        cadence,
                        source,
                    });
                }
            }
        }
        subscriptions
    }

    fn validate_members(raw: Vec<RawMember>, v: &mut Validator<'_>) -> Vec<MemberConfig> {
        let mut members = Vec::new();
        for (i, m) in raw.into_iter().enumerate() {
            let at = format!("members[{}]", i + 1);
            let user = m.user.unwrap_or_default().trim().to_string();
            if user.is_empty() {
                v.problem(
                    format!("{at}.user"),
                    "",
                    "missing; name the subscriptions' user these settings are for, e.g. user = \"alice\"",
                );
                continue;
            }
            let timezone =
                m.timezone
                    .and_then(|tz| match crate::core::digest::parse_timezone(&tz) {
                        Ok(t) => Some(t.name().to_string()),
                        Err(e) => {
                            v.problem(format!("{at}.timezone"), quoted(&tz), e);
                            None
                        }
                    });
            let quiet_hours =
                m.quiet_hours
                    .and_then(|q| match crate::core::digest::QuietHours::parse(&q) {
                        Ok(h) => Some(format!(
                            "{}-{}",
                            h.start.format("%H:%M"),
                            h.end.format("%H:%M")
                        )),
                        Err(e) => {
                            v.problem(format!("{at}.quiet_hours"), quoted(&q), e);
                            None
                        }
                    });
            let max_per_hour = match m.max_per_hour {
                None | Some(0) => None,
                Some(n) => match u32::try_from(n) {
                    Ok(n) if n <= 1000 => Some(n),
                    _ => {
                        v.problem(
                            format!("{at}.max_per_hour"),
                            n.to_string(),
                            "must be 1 to 1000, or 0 for no limit",
                        );
                        None
                    }
                },
            };
            members.push(MemberConfig {
                user,
                timezone,
                quiet_hours,
                max_per_hour,
            });
        }
        members
    }

    fn validate_summarizer(
        raw: RawSummarizer,
        v: &mut Validator<'_>,
    ) -> Option<crate::summarizer::OpenAiConfig> {
        match raw.kind.as_deref().map(str::trim) {
            None | Some("extractive") => None,
            Some("openai") => {
                let base_url = raw.base_url.unwrap_or_default().trim().to_string();
                if !matches!(url::Url::parse(&base_url), Ok(u) if matches!(u.scheme(), "http" | "https"))
                {
                    v.problem(
                        "summarizer.base_url",
                        quoted(&base_url),
                        "must be the http(s) base of an OpenAI-compatible API, e.g. \"https://api.openai.com/v1\" or \"http://127.0.0.1:8080/v1\"",
                    );
                }
                let model = raw.model.unwrap_or_default().trim().to_string();
                if model.is_empty() {
                    v.problem(
                        "summarizer.model",
                        "",
                        "missing; name the model, e.g. model = \"gpt-4o-mini\"",
                    );
                }
                Some(crate::summarizer::OpenAiConfig {
                    base_url,
                    model,
                    api_key_env: raw
                        .api_key_env
                        .map(|e| e.trim().to_string())
                        .filter(|e| !e.is_empty()),
                    timeout: v.secs("summarizer.timeout_secs", raw.timeout_secs, 10.0, 120.0),
                    max_per_hour: v.int_in(
                        "summarizer.max_per_hour",
                        raw.max_per_hour,
                        60,
                        0..=100_000,
                    ) as usize,
                })
            }
            Some(other) => {
                v.problem(
                    "summarizer.kind",
                    quoted(other),
                    "must be \"extractive\" (the default) or \"openai\"",
                );
                None
            }
        }
    }

    fn validate_discord(raw: RawDiscord, v: &mut Validator<'_>) -> DiscordConfig {
        let defaults = DiscordConfig::default();
        let api_base_url = match raw.api_base_url {
            None => defaults.api_base_url.clone(),
            Some(text) => match url::Url::parse(text.trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    text.trim().trim_end_matches('/').to_string()
                }
                _ => {
                    v.problem(
                        "discord.api_base_url",
                        quoted(&text),
                        "must be an http(s) URL such as \"https://discord.com\"",
                    );
                    defaults.api_base_url.clone()
                }
            },
        };
        let guild_id = match raw.guild_id {
            None => None,
            Some(toml::Value::Integer(n)) if n > 0 => Some(n as u64),
            Some(toml::Value::String(s)) if s.trim().parse::<u64>().is_ok_and(|n| n > 0) => {
                s.trim().parse::<u64>().ok()
            }
            Some(other) => {
                v.problem(
                    "discord.guild_id",
                    short_value(&other),
                    "must be a server id (a number; in Discord: Server Settings > Widget, or right-click the server with Developer Mode on > Copy Server ID)",
                );
                None
            }
        };
        let token_file = raw.token_file.map(|f| v.resolve(&f));
        if let Some(file) = &token_file {
            if !file.is_file() {
                v.problem(
                    "discord.token_file",
                    quoted(&file.display().to_string()),
                    "file not found; put the bot token in that file, or set DISCORD_TOKEN instead",
                );
            }
        }
        let sharding = Self::validate_sharding(raw.shard_count, raw.shards, v);
        DiscordConfig {
            api_base_url,
            guild_id,
            token_file,
            sharding,
            max_subscriptions_per_member: v.int_in(
                "discord.max_subscriptions_per_member",
                raw.max_subscriptions_per_member,
                defaults.max_subscriptions_per_member as i64,
                1..=1000,
            ) as usize,
            max_subscriptions_per_server: v.int_in(
                "discord.max_subscriptions_per_server",
                raw.max_subscriptions_per_server,
                defaults.max_subscriptions_per_server as i64,
                1..=1_000_000,
            ) as usize,
            max_sources_per_server: v.int_in(
                "discord.max_sources_per_server",
                raw.max_sources_per_server,
                defaults.max_sources_per_server as i64,
                0..=10_000,
            ) as usize,
        }
    }

    /// `[discord] shard_count` and `shards`. Every problem is recorded; whether the range fits
    /// an `"auto"` count is checked at start, once Discord has said its count.
    fn validate_sharding(
        shard_count: Option<toml::Value>,
        shards: Option<toml::Value>,
        v: &mut Validator<'_>,
    ) -> Option<Sharding> {
        let count_given = shard_count.is_some();
        let count = shard_count.and_then(|value| match &value {
            toml::Value::Integer(n) if (1..=i64::from(MAX_SHARD_COUNT)).contains(n) => {
                u32::try_from(*n).ok().map(ShardCount::Fixed)
            }
            toml::Value::String(s) if s.trim().eq_ignore_ascii_case("auto") => {
                Some(ShardCount::Auto)
            }
            _ => {
                v.problem(
                    "discord.shard_count",
                    short_value(&value),
                    format!("must be the total number of shards across all processes, 1 to {MAX_SHARD_COUNT}, or \"auto\" for Discord's recommended count (read at start); remove it to run one unsharded connection"),
                );
                None
            }
        });
        let range = shards.and_then(|value| {
            let parsed = match &value {
                toml::Value::String(s) => shards::parse_range(s),
                toml::Value::Integer(n) => u32::try_from(*n)
                    .map(|id| ShardRange {
                        first: id,
                        last: id,
                    })
                    .map_err(|_| shards::RANGE_FORM.to_string()),
                _ => Err(shards::RANGE_FORM.to_string()),
            };
            match parsed {
                Ok(range) => Some(range),
                Err(why) => {
                    v.problem("discord.shards", short_value(&value), why);
                    None
                }
            }
        });
        if let Some(range) = range {
            if !count_given {
                v.problem(
                    "discord.shards",
                    quoted(&range.to_string()),
                    "needs discord.shard_count: the total number of shards across all processes (e.g. shard_count = 4), or \"auto\"",
                );
            }
            if let Some(ShardCount::Fixed(total)) = count {
                if let Err(why) = shards::check_fits(range, total) {
                    v.problem("discord.shards", quoted(&range.to_string()), why);
                }
            }
        }
        count.map(|count| Sharding { count, range })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("feed.xml"), "<rss/>").unwrap();
        Config::from_toml(text, Path::new("test.toml"), dir.path())
    }

    #[test]
    fn shard_keys_parse_and_default_to_unsharded() {
        assert_eq!(load("").unwrap().discord.sharding, None);
        let fixed = load("[discord]\nshard_count = 4\nshards = \"2-3\"\n").unwrap();
        assert_eq!(
            fixed.discord.sharding,
            Some(Sharding {
                count: ShardCount::Fixed(4),
                range: Some(ShardRange { first: 2, last: 3 }),
            })
        );
        let auto = load("[discord]\nshard_count = \"auto\"\nshards = 1\n").unwrap();
        assert_eq!(
            auto.discord.sharding,
            Some(Sharding {
                count: ShardCount::Auto,
                range: Some(ShardRange { first: 1, last: 1 }),
            })
        );
    }

    #[test]
    fn shard_problems_name_their_keys_all_at_once() {
        let err = |text: &str| load(text).unwrap_err().to_string();
        let reversed = err("[discord]\nshard_count = 0\nshards = \"3-1\"\n");
        assert!(reversed.contains("discord.shard_count = 0"), "{reversed}");
        assert!(reversed.contains("discord.shards = \"3-1\""), "{reversed}");
        assert!(reversed.contains("\"1-3\""), "{reversed}");
        let beyond = err("[discord]\nshard_count = 4\nshards = \"0-4\"\n");
        assert!(beyond.contains("discord.shards = \"0-4\""), "{beyond}");
        assert!(beyond.contains("from 0 to 3"), "{beyond}");
        let alone = err("[discord]\nshards = \"0-1\"\n");
        assert!(alone.contains("discord.shards = \"0-1\""), "{alone}");
        assert!(alone.contains("needs discord.shard_count"), "{alone}");
        let forms = err("[discord]\nshard_count = \"many\"\nshards = [0, 1]\n");
        assert!(forms.contains("discord.shard_count = \"many\""), "{forms}");
        assert!(forms.contains("discord.shards = [0, 1]"), "{forms}");
    }

    #[test]
    fn digest_modes_and_member_settings_are_checked_with_their_keys() {
        let config = load(
            "[[subscriptions]]\nuser = \"alice\"\nquery = \"Meta\"\nmode = \"daily\"\nat = \"18:30\"\n\n[[members]]\nuser = \"alice\"\ntimezone = \"europe/paris\"\nquiet_hours = \"22:00-07:00\"\nmax_per_hour = 5\n",
        )
        .unwrap();
        assert_eq!(
            config.subscriptions[0].cadence.at().as_deref(),
            Some("18:30")
        );
        assert_eq!(config.members[0].timezone.as_deref(), Some("Europe/Paris"));
        assert_eq!(
            config.members[0].quiet_hours.as_deref(),
            Some("22:00-07:00")
        );
        assert_eq!(config.members[0].max_per_hour, Some(5));
        let err = load(
            "[[subscriptions]]\nuser = \"a\"\nquery = \"Meta\"\nmode = \"weekly\"\n\n[[members]]\nuser = \"a\"\ntimezone = \"Mars/Olympus\"\nquiet_hours = \"late\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("subscriptions[1].mode = \"weekly\""), "{err}");
        assert!(
            err.contains("members[1].timezone = \"Mars/Olympus\""),
            "{err}"
        );
        assert!(err.contains("members[1].quiet_hours = \"late\""), "{err}");
        let err = load("[[subscriptions]]\nuser = \"a\"\nquery = \"Meta\"\nat = \"08:00\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mode = \"daily\""), "{err}");
        let err = load("[[sources]]\nname = \"Wire\"\nurl = \"feed.xml\"\n\n[[subscriptions]]\nuser = \"a\"\nquery = \"Meta\"\nsource = \"Herald\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("subscriptions[1].source = \"Herald\""),
            "{err}"
        );
        assert!(err.contains("use one of: Wire"), "{err}");
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let config = load("[[sources]]\nname = \"a\"\nurl = \"feed.xml\"\n").unwrap();
        assert_eq!(config.default_schedule, DEFAULT_SCHEDULE);
        assert_eq!(config.sources[0].schedule_text, DEFAULT_SCHEDULE);
        assert!(config.sources[0].location.is_file());
        assert_eq!(config.retention_days, 180);
    }

    #[test]
    fn reports_every_problem_at_once() {
        let err = load(
            r#"
[defaults]
schedul = "0 * * * * *"
[[sources]]
name = "a"
url = "missing.xml"
schedule = "every minute"
[[sources]]
name = "A"
url = "https://example.com/feed"
"#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 4, "{text}");
        assert!(
            text.contains(
                "defaults.schedul = \"0 * * * * *\": unknown key — did you mean `schedule`?"
            ),
            "{text}"
        );
        assert!(
            text.contains("sources[1].url = \"missing.xml\": file not found"),
            "{text}"
        );
        assert!(
            text.contains("sources[1].schedule = \"every minute\": not a valid cron schedule"),
            "{text}"
        );
        assert!(
            text.contains("sources[2].name = \"A\": duplicate source name"),
            "{text}"
        );
    }

    #[test]
    fn five_field_cron_gets_a_hint() {
        let err = load("[defaults]\nschedule = \"*/5 * * * *\"\n").unwrap_err();
        assert!(err.to_string().contains("try \"0 */5 * * * *\""), "{err}");
    }

    #[test]
    fn unknown_table_is_reported() {
        let err = load("[sorage]\npath = \"x.db\"\n").unwrap_err();
        assert!(err.to_string().contains("did you mean `storage`"), "{err}");
    }

    #[test]
    fn out_of_range_number_names_the_range() {
        let err = load("[fetch]\nconcurrency = 0\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("fetch.concurrency = 0: must be between 1 and 1024"),
            "{err}"
        );
    }

    #[test]
    fn bad_query_is_reported_with_its_key() {
        let err = load("[[subscriptions]]\nuser = \"a\"\nquery = \"\"\n").unwrap_err();
        assert!(
            err.to_string().contains("subscriptions[1].query = \"\""),
            "{err}"
        );
    }

    #[test]
    fn relative_storage_path_resolves_against_config_dir() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_toml(
            "[storage]\npath = \"data/n.db\"\n",
            Path::new("c.toml"),
            dir.path(),
        )
        .unwrap();
        assert_eq!(config.storage_path, dir.path().join("data/n.db"));
    }

    #[test]
    fn unsupported_scheme_is_refused() {
        let err =
            load("[[sources]]\nname = \"a\"\nurl = \"ftp://example.com/feed\"\n").unwrap_err();
        assert!(
            err.to_string().contains("unsupported scheme `ftp`"),
            "{err}"
        );
    }
}
