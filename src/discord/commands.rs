//! Slash commands, pure: their definitions, and turning an invocation's options into a typed
//! [`Command`] or a reply that says what to type instead. No I/O here.

use serenity::all::{
    ChannelType, CommandOptionType, CreateCommand, CreateCommandOption, Permissions,
};

use crate::core::digest::{self, Cadence, QuietHours};
use crate::core::query;

/// Discord permission bits newshound checks.
pub mod perms {
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const EMBED_LINKS: u64 = 1 << 14;
    /// What the bot needs in an alert channel.
    pub const POST_ALERTS: u64 = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS;
}

/// Longest query accepted from Discord (the core parser has its own, larger, cap).
pub const MAX_QUERY_INPUT: usize = 300;
/// Longest source name.
pub const MAX_SOURCE_NAME: usize = 100;
/// Longest source URL.
pub const MAX_URL: usize = 2000;

/// Who ran a command, where, with which permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    pub user_id: u64,
    /// The member's permissions in this channel (guild invocations only).
    pub member_permissions: Option<u64>,
    /// The bot's own permissions in this channel.
    pub app_permissions: Option<u64>,
}

impl Invocation {
    /// Manage Server (or Administrator).
    pub fn is_admin(&self) -> bool {
        self.member_permissions
            .is_some_and(|p| p & (perms::MANAGE_GUILD | perms::ADMINISTRATOR) != 0)
    }
}

/// An option value, independent of serenity's types.
#[derive(Debug, Clone, PartialEq)]
pub enum OptValue {
    Str(String),
    Bool(bool),
    Int(i64),
    Channel(u64),
    User(u64),
    Sub(String, Vec<(String, OptValue)>),
}

/// A parsed command, ready to execute.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Subscribe {
        queries: Vec<String>,
        channel: Option<u64>,
        dm: bool,
        /// `mode:`/`at:` given: set (or change) how these subscriptions deliver.
        cadence: Option<Cadence>,
        /// `source:` given: `Some(None)` = every source, `Some(Some(name))` = only that one.
        source: Option<Option<String>>,
    },
    /// Snooze one of the member's subscriptions; `None` ends a snooze.
    Snooze {
        query: String,
        duration: Option<chrono::Duration>,
    },
    /// Change the member's settings; all `None` shows them.
    Settings {
        /// IANA name, as the tz database spells it.
        timezone: Option<String>,
        /// `Some(None)`: turn quiet hours off.
        quiet_hours: Option<Option<QuietHours>>,
        /// `Some(None)`: no cap.
        max_per_hour: Option<Option<u32>>,
    },
    Unsubscribe {
        query: String,
        member: Option<u64>,
    },
    Subscriptions {
        member: Option<u64>,
    },
    Preview {
        query: String,
    },
    SourcesList,
    SourcesAdd {
        url: String,
        name: String,
        schedule: Option<String>,
    },
    SourcesRemove {
        name: String,
    },
    AlertsDefault {
        channel: u64,
    },
    AlertsAdd {
        query: String,
        channel: u64,
    },
    AlertsList,
    AlertsRemove {
        query: String,
        channel: Option<u64>,
    },
    Pause,
    Resume,
    Help,
}

impl Command {
    /// Commands only Manage Server may run.
    pub fn needs_admin(&self) -> bool {
        matches!(
            self,
            Command::SourcesList
                | Command::SourcesAdd { .. }
                | Command::SourcesRemove { .. }
                | Command::AlertsDefault { .. }
                | Command::AlertsAdd { .. }
                | Command::AlertsList
                | Command::AlertsRemove { .. }
        )
    }

    /// Commands that may take longer than Discord's 3 s: answer with a deferral first.
    pub fn is_slow(&self) -> bool {
        matches!(self, Command::Preview { .. } | Command::SourcesAdd { .. })
    }
}

/// What the member reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub content: String,
    pub ephemeral: bool,
}

impl Reply {
    pub fn private(content: impl Into<String>) -> Reply {
        Reply {
            content: content.into(),
            ephemeral: true,
        }
    }
}

fn get<'a>(options: &'a [(String, OptValue)], name: &str) -> Option<&'a OptValue> {
    options.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

fn get_str(options: &[(String, OptValue)], name: &str) -> Option<String> {
    match get(options, name) {
        Some(OptValue::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

fn get_channel(options: &[(String, OptValue)], name: &str) -> Option<u64> {
    match get(options, name) {
        Some(OptValue::Channel(id)) => Some(*id),
        _ => None,
    }
}

fn get_int(options: &[(String, OptValue)], name: &str) -> Option<i64> {
    match get(options, name) {
        Some(OptValue::Int(n)) => Some(*n),
        _ => None,
    }
}

/// Words that turn a setting off.
fn is_off(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "off" | "none" | "no" | "0" | "stop" | "end"
    )
}

fn get_user(options: &[(String, OptValue)], name: &str) -> Option<u64> {
    match get(options, name) {
        Some(OptValue::User(id)) => Some(*id),
        _ => None,
    }
}

/// Invisible and direction-changing characters that make a query look like something else.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// Cleans and checks a query typed in Discord: invisible characters removed, control
/// characters and mentions refused, length capped, and the core syntax checked.
pub fn clean_query(raw: &str) -> Result<String, String> {
    let text: String = raw.chars().filter(|c| !is_invisible(*c)).collect();
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err("The query is empty. Type the words to watch for, e.g. `/subscribe query: Meta` or `/subscribe query: \"Google Cloud\" Gemini -horoscope`.".into());
    }
    if text.chars().any(char::is_control) {
        return Err("The query contains control characters (line breaks, tabs...). Type it on one line, e.g. `/subscribe query: Meta`.".into());
    }
    let count = text.chars().count();
    if count > MAX_QUERY_INPUT {
        return Err(format!(
            "The query is {count} characters long; the limit is {MAX_QUERY_INPUT}. Split it into several subscriptions separated by commas."
        ));
    }
    if text.contains("@everyone")
        || text.contains("@here")
        || text.contains("<@")
        || text.contains("<#")
    {
        return Err("Queries cannot contain mentions (`@everyone`, `@here`, `<@…>`). Type the words to watch for, e.g. `Meta`.".into());
    }
    match query::parse(&text) {
        Ok(q) => Ok(q.to_string()),
        Err(e) => Err(format!(
            "`{}`: {e}. See `/help` for the query syntax.",
            fence_safe(&text)
        )),
    }
}

/// Text safe to put inside `code` in a reply.
pub fn fence_safe(text: &str) -> String {
    let cleaned: String = text.chars().filter(|c| *c != '`').take(120).collect();
    cleaned
}

/// Splits `a, "b, c" d, e` at commas outside quotes.
pub fn split_queries(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_quote = false;
    for c in text.chars() {
        match c {
            '"' | '“' | '”' => {
                in_quote = !in_quote;
                current.push(c);
            }
            ',' if !in_quote => {
                parts.push(std::mem::take(&mut current));
            }
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Turns a command name and its options into a [`Command`], or an error reply.
pub fn parse_command(name: &str, options: &[(String, OptValue)]) -> Result<Command, Reply> {
    let missing =
        |what: &str, example: &str| Reply::private(format!("Missing `{what}`. Try `{example}`."));
    match name {
        "subscribe" => {
            let raw = get_str(options, "query")
                .ok_or_else(|| missing("query", "/subscribe query: Meta"))?;
            let parts = split_queries(&raw);
            if parts.is_empty() {
                return Err(Reply::private("The query is empty. Try `/subscribe query: Meta` or several at once: `/subscribe query: Meta, Gemini`."));
            }
            if parts.len() > 10 {
                return Err(Reply::private(format!(
                    "That is {} subscriptions at once; add at most 10 per command.",
                    parts.len()
                )));
            }
            let mut queries = Vec::with_capacity(parts.len());
            for part in parts {
                queries.push(clean_query(&part).map_err(Reply::private)?);
            }
            let dm = matches!(get(options, "dm"), Some(OptValue::Bool(true)));
            let mode = get_str(options, "mode");
            let at = get_str(options, "at");
            let cadence = match (mode, at) {
                (None, None) => None,
                // A time alone means a daily digest at that time.
                (mode, at) => Some(
                    Cadence::parse(mode.as_deref().unwrap_or("daily"), at.as_deref())
                        .map_err(Reply::private)?,
                ),
            };
            if let (Some(Cadence::Instant | Cadence::Hourly), Some(_)) =
                (cadence, get_str(options, "at"))
            {
                return Err(Reply::private("`at:` is the time of a daily digest. Use `mode: daily at: 08:00`, or leave `at:` out."));
            }
            let source = get_str(options, "source").map(|s| {
                let s = s.trim().to_string();
                if s.is_empty()
                    || matches!(s.to_ascii_lowercase().as_str(), "any" | "all" | "every")
                {
                    None
                } else {
                    Some(s)
                }
            });
            Ok(Command::Subscribe {
                queries,
                channel: get_channel(options, "channel"),
                dm,
                cadence,
                source,
            })
        }
        "snooze" => {
            let query = get_str(options, "query")
                .ok_or_else(|| missing("query", "/snooze query: Meta for: 3d"))?;
            let length = get_str(options, "for")
                .ok_or_else(|| missing("for", "/snooze query: Meta for: 3d"))?;
            let duration = if is_off(&length) {
                None
            } else {
                Some(digest::parse_snooze(&length).map_err(Reply::private)?)
            };
            Ok(Command::Snooze {
                query: query.trim().to_string(),
                duration,
            })
        }
        "settings" => {
            let timezone = match get_str(options, "timezone") {
                Some(tz) => Some(
                    digest::parse_timezone(&tz)
                        .map_err(Reply::private)?
                        .name()
                        .to_string(),
                ),
                None => None,
            };
            let quiet_hours = match get_str(options, "quiet_hours") {
                Some(text) if is_off(&text) => Some(None),
                Some(text) => Some(Some(QuietHours::parse(&text).map_err(Reply::private)?)),
                None => None,
            };
            let max_per_hour = match get_int(options, "max_per_hour") {
                Some(0) => Some(None),
                Some(n) => Some(Some(
                    u32::try_from(n)
                        .ok()
                        .filter(|n| *n <= 1000)
                        .ok_or_else(|| {
                            Reply::private(
                                "`max_per_hour` is a number from 1 to 1000, or 0 for no limit.",
                            )
                        })?,
                )),
                None => None,
            };
            Ok(Command::Settings {
                timezone,
                quiet_hours,
                max_per_hour,
            })
        }
        "unsubscribe" => {
            let query = get_str(options, "query")
                .ok_or_else(|| missing("query", "/unsubscribe query: Meta"))?;
            Ok(Command::Unsubscribe {
                query: query.trim().to_string(),
                member: get_user(options, "member"),
            })
        }
        "subscriptions" => Ok(Command::Subscriptions {
            member: get_user(options, "member"),
        }),
        "preview" => {
            let raw = get_str(options, "query")
                .ok_or_else(|| missing("query", "/preview query: Meta"))?;
            Ok(Command::Preview {
                query: clean_query(&raw).map_err(Reply::private)?,
            })
        }
        "pause" => Ok(Command::Pause),
        "resume" => Ok(Command::Resume),
        "help" => Ok(Command::Help),
        "sources" | "alerts" => {
            let Some((sub, sub_options)) = options.iter().find_map(|(_, v)| match v {
                OptValue::Sub(name, opts) => Some((name.as_str(), opts.as_slice())),
                _ => None,
            }) else {
                return Err(Reply::private(format!(
                    "Pick a sub-command, e.g. `/{name} list`."
                )));
            };
            parse_group(name, sub, sub_options)
        }
        other => Err(Reply::private(format!(
            "Unknown command `/{other}`. Type `/help` for the list."
        ))),
    }
}

fn parse_group(group: &str, sub: &str, options: &[(String, OptValue)]) -> Result<Command, Reply> {
    let missing =
        |what: &str, example: &str| Reply::private(format!("Missing `{what}`. Try `{example}`."));
    match (group, sub) {
        ("sources", "list") => Ok(Command::SourcesList),
        ("sources", "add") => {
            let url = get_str(options, "url").ok_or_else(|| {
                missing(
                    "url",
                    "/sources add url: https://example.com/feed.xml name: Example",
                )
            })?;
            let name = get_str(options, "name").ok_or_else(|| {
                missing(
                    "name",
                    "/sources add url: https://example.com/feed.xml name: Example",
                )
            })?;
            let url = url.trim().to_string();
            let name: String = name
                .chars()
                .filter(|c| !is_invisible(*c) && !c.is_control())
                .collect::<String>()
                .trim()
                .to_string();
            if name.is_empty() || name.chars().count() > MAX_SOURCE_NAME {
                return Err(Reply::private(format!("Give the source a name of 1 to {MAX_SOURCE_NAME} characters, e.g. `name: Tech wire`.")));
            }
            if name.contains('@') || name.contains('<') {
                return Err(Reply::private("Source names cannot contain `@` or `<`; use plain words, e.g. `name: Tech wire`."));
            }
            if url.chars().count() > MAX_URL {
                return Err(Reply::private(format!(
                    "The URL is longer than {MAX_URL} characters."
                )));
            }
            let schedule = get_str(options, "schedule")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            if let Some(s) = &schedule {
                crate::config::parse_schedule(s)
                    .map_err(|e| Reply::private(format!("`{}`: {e}", fence_safe(s))))?;
            }
            Ok(Command::SourcesAdd {
                url,
                name,
                schedule,
            })
        }
        ("sources", "remove") => {
            let name = get_str(options, "name")
                .ok_or_else(|| missing("name", "/sources remove name: Tech wire"))?;
            Ok(Command::SourcesRemove {
                name: name.trim().to_string(),
            })
        }
        ("alerts", "default") => {
            let channel = get_channel(options, "channel")
                .ok_or_else(|| missing("channel", "/alerts default channel: #news"))?;
            Ok(Command::AlertsDefault { channel })
        }
        ("alerts", "add") => {
            let raw = get_str(options, "query")
                .ok_or_else(|| missing("query", "/alerts add query: Gemini channel: #ai-news"))?;
            let channel = get_channel(options, "channel")
                .ok_or_else(|| missing("channel", "/alerts add query: Gemini channel: #ai-news"))?;
            Ok(Command::AlertsAdd {
                query: clean_query(&raw).map_err(Reply::private)?,
                channel,
            })
        }
        ("alerts", "list") => Ok(Command::AlertsList),
        ("alerts", "remove") => {
            let query = get_str(options, "query")
                .ok_or_else(|| missing("query", "/alerts remove query: Gemini"))?;
            Ok(Command::AlertsRemove {
                query: query.trim().to_string(),
                channel: get_channel(options, "channel"),
            })
        }
        _ => Err(Reply::private(format!(
            "Unknown sub-command `/{group} {sub}`. Type `/help`."
        ))),
    }
}

/// The `/help` text.
pub fn help_text() -> String {
    "**newshound** pings you when news matching your keywords is published.\n\
**Your subscriptions**\n\
`/subscribe query: Meta` — alerts for items mentioning Meta (commas add several: `Meta, Gemini`)\n\
`/subscribe query: Gemini channel: #ai dm: true` — pick where alerts go (a channel, or a DM)\n\
`/subscribe query: Gemini source: Tech Wire` — only that source's items (`source: any` to undo)\n\
`/unsubscribe query: Meta` · `/subscriptions` · `/preview query: Meta` (what it matched in the last 24 h)\n\
`/pause` · `/resume` — stop and restart your alerts without losing subscriptions\n\
**Less noise**\n\
`/subscribe query: Meta mode: daily at: 08:00` — one digest a day instead of a ping per item (`hourly` too; run it again to change)\n\
`/snooze query: Meta for: 3d` — silence one subscription for a while (`for: off` to wake it)\n\
`/settings timezone: Europe/Paris quiet_hours: 22:00-07:00 max_per_hour: 5` — held alerts arrive as a digest afterwards\n\
**Query syntax**\n\
`Meta Gemini` — both words · `Meta OR Facebook` — either · `\"Google Cloud\"` — exact phrase\n\
`-horoscope` / `-\"star sign\"` — exclude · `title:Gemini` — only in titles · `gem*` — words starting with gem\n\
Whole words only: `Meta` never matches \"metadata\". Lower-case words match any case; a capitalised word is a name (`Meta` matches \"Meta\" and \"META\", not \"meta-analysis\"). Accents are ignored.\n\
**Server admins** (Manage Server): `/sources list|add|remove`, `/alerts default|add|list|remove`"
        .to_string()
}

fn query_option(description: &str) -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::String, "query", description)
        .required(true)
        .max_length(MAX_QUERY_INPUT as u16)
}

fn text_channel_option(name: &str, description: &str, required: bool) -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::Channel, name, description)
        .required(required)
        .channel_types(vec![ChannelType::Text, ChannelType::News])
}

/// Every slash command newshound registers (names and options are an interface).
pub fn definitions() -> Vec<CreateCommand> {
    let admin = Permissions::MANAGE_GUILD;
    vec![
        CreateCommand::new("subscribe")
            .description("Get pinged when news matches your keywords")
            .dm_permission(false)
            .add_option(query_option("Words to watch for, e.g. Meta or \"Google Cloud\" Gemini -horoscope; commas add several"))
            .add_option(text_channel_option("channel", "Where to post your alerts (default: the server's alert channel, else here)", false))
            .add_option(CreateCommandOption::new(CommandOptionType::Boolean, "dm", "Send these alerts as direct messages instead"))
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "mode", "Ping per item (instant), or one digest an hour or a day")
                    .add_string_choice("instant", "instant")
                    .add_string_choice("hourly digest", "hourly")
                    .add_string_choice("daily digest", "daily"),
            )
            .add_option(CreateCommandOption::new(CommandOptionType::String, "at", "Daily digest time, HH:MM in your time zone (default 08:00)").max_length(5))
            .add_option(CreateCommandOption::new(CommandOptionType::String, "source", "Only items from this source (or: any)").set_autocomplete(true).max_length(MAX_SOURCE_NAME as u16)),
        CreateCommand::new("snooze")
            .description("Silence one of your subscriptions for a while")
            .dm_permission(false)
            .add_option(query_option("The subscription to snooze").set_autocomplete(true))
            .add_option(CreateCommandOption::new(CommandOptionType::String, "for", "How long: 30m, 2h, 3d, 1w (max 90 days), or off").required(true).max_length(20)),
        CreateCommand::new("settings")
            .description("Your time zone, quiet hours and alert limit (no options: show them)")
            .dm_permission(false)
            .add_option(CreateCommandOption::new(CommandOptionType::String, "timezone", "Your time zone, e.g. Europe/Paris").set_autocomplete(true).max_length(64))
            .add_option(CreateCommandOption::new(CommandOptionType::String, "quiet_hours", "No pings between, e.g. 22:00-07:00 (held for a digest), or off").max_length(20))
            .add_option(CreateCommandOption::new(CommandOptionType::Integer, "max_per_hour", "At most this many pings an hour, the rest in a digest (0: no limit)").min_int_value(0).max_int_value(1000)),
        CreateCommand::new("unsubscribe")
            .description("Stop one of your subscriptions")
            .dm_permission(false)
            .add_option(query_option("The subscription to remove").set_autocomplete(true))
            .add_option(CreateCommandOption::new(CommandOptionType::User, "member", "Admins: remove another member's subscription")),
        CreateCommand::new("subscriptions")
            .description("List your subscriptions and where they deliver")
            .dm_permission(false)
            .add_option(CreateCommandOption::new(CommandOptionType::User, "member", "Admins: list another member's subscriptions")),
        CreateCommand::new("preview")
            .description("See what a query would have matched in the last 24 hours")
            .dm_permission(false)
            .add_option(query_option("The query to try, e.g. Meta -metaverse")),
        CreateCommand::new("sources")
            .description("Manage this server's news sources")
            .dm_permission(false)
            .default_member_permissions(admin)
            .add_option(CreateCommandOption::new(CommandOptionType::SubCommand, "list", "List sources and their health"))
            .add_option(
                CreateCommandOption::new(CommandOptionType::SubCommand, "add", "Add an RSS, Atom or JSON feed")
                    .add_sub_option(CreateCommandOption::new(CommandOptionType::String, "url", "The feed's URL (http or https)").required(true).max_length(MAX_URL as u16))
                    .add_sub_option(CreateCommandOption::new(CommandOptionType::String, "name", "A short name shown in alerts").required(true).max_length(MAX_SOURCE_NAME as u16))
                    .add_sub_option(CreateCommandOption::new(CommandOptionType::String, "schedule", "Cron schedule with seconds, e.g. 0 */10 * * * * (default: every 5 minutes)").max_length(100)),
            )
            .add_option(
                CreateCommandOption::new(CommandOptionType::SubCommand, "remove", "Remove a source added in this server")
                    .add_sub_option(CreateCommandOption::new(CommandOptionType::String, "name", "The source's name").required(true).max_length(MAX_SOURCE_NAME as u16)),
            ),
        CreateCommand::new("alerts")
            .description("Manage this server's alert channels")
            .dm_permission(false)
            .default_member_permissions(admin)
            .add_option(
                CreateCommandOption::new(CommandOptionType::SubCommand, "default", "Set where members' alerts go by default")
                    .add_sub_option(text_channel_option("channel", "The default alert channel", true)),
            )
            .add_option(
                CreateCommandOption::new(CommandOptionType::SubCommand, "add", "Post every item matching a query in a channel (no pings)")
                    .add_sub_option(query_option("Words to watch for"))
                    .add_sub_option(text_channel_option("channel", "Where to post", true)),
            )
            .add_option(CreateCommandOption::new(CommandOptionType::SubCommand, "list", "List channel-wide alerts and the default channel"))
            .add_option(
                CreateCommandOption::new(CommandOptionType::SubCommand, "remove", "Remove a channel-wide alert")
                    .add_sub_option(query_option("The query to remove"))
                    .add_sub_option(text_channel_option("channel", "Only in this channel", false)),
            ),
        CreateCommand::new("pause").description("Pause your alerts (subscriptions are kept)").dm_permission(false),
        CreateCommand::new("resume").description("Resume your alerts").dm_permission(false),
        CreateCommand::new("help").description("How newshound works and the query syntax"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> OptValue {
        OptValue::Str(v.to_string())
    }

    #[test]
    fn subscribe_splits_commas_outside_quotes() {
        let cmd = parse_command(
            "subscribe",
            &[("query".into(), s("Meta, \"Google, Cloud\" Gemini"))],
        )
        .unwrap();
        let Command::Subscribe { queries, .. } = cmd else {
            panic!()
        };
        assert_eq!(queries, vec!["Meta", "\"Google, Cloud\" Gemini"]);
    }

    #[test]
    fn bad_query_says_what_to_type() {
        let err = parse_command("subscribe", &[("query".into(), s("\"Google Cloud"))]).unwrap_err();
        assert!(err.ephemeral);
        assert!(err.content.contains("never closed"), "{}", err.content);
        let err = parse_command("subscribe", &[("query".into(), s("   "))]).unwrap_err();
        assert!(
            err.content.contains("/subscribe query: Meta"),
            "{}",
            err.content
        );
    }

    #[test]
    fn mentions_and_control_characters_are_refused() {
        for q in ["@everyone", "news <@123>", "<@&42> Meta", "Meta\nGemini"] {
            assert!(clean_query(q).is_err(), "{q:?} accepted");
        }
    }

    #[test]
    fn invisible_characters_are_stripped() {
        assert_eq!(clean_query("Me\u{200B}ta\u{202E}").unwrap(), "Meta");
    }

    #[test]
    fn overlong_query_names_the_limit() {
        let err = clean_query(&"word ".repeat(200)).unwrap_err();
        assert!(err.contains("limit is 300"), "{err}");
    }

    #[test]
    fn admin_commands_are_marked() {
        let cmd = parse_command(
            "sources",
            &[("list".into(), OptValue::Sub("list".into(), vec![]))],
        )
        .unwrap();
        assert!(cmd.needs_admin());
        assert!(!Command::Pause.needs_admin());
    }

    #[test]
    fn admin_check_reads_manage_guild_or_administrator() {
        let mut inv = Invocation {
            guild_id: Some(1),
            channel_id: 2,
            user_id: 3,
            member_permissions: Some(0),
            app_permissions: None,
        };
        assert!(!inv.is_admin());
        inv.member_permissions = Some(perms::MANAGE_GUILD);
        assert!(inv.is_admin());
        inv.member_permissions = Some(perms::ADMINISTRATOR);
        assert!(inv.is_admin());
    }

    #[test]
    fn sources_add_checks_schedule() {
        let opts = vec![(
            "add".into(),
            OptValue::Sub(
                "add".into(),
                vec![
                    ("url".into(), s("https://x.test/f")),
                    ("name".into(), s("X")),
                    ("schedule".into(), s("*/5 * * * *")),
                ],
            ),
        )];
        let err = parse_command("sources", &opts).unwrap_err();
        assert!(
            err.content.contains("try \"0 */5 * * * *\""),
            "{}",
            err.content
        );
    }

    #[test]
    fn definitions_respect_discord_limits() {
        let json = serde_json::to_value(definitions()).unwrap();
        for cmd in json.as_array().unwrap() {
            let name = cmd["name"].as_str().unwrap();
            assert!(
                name.len() <= 32
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
            );
            let desc = cmd["description"].as_str().unwrap();
            assert!((1..=100).contains(&desc.chars().count()), "{name}: {desc}");
            for opt in cmd["options"].as_array().into_iter().flatten() {
                assert!(
                    opt["description"].as_str().unwrap().chars().count() <= 100,
                    "{name}: {opt}"
                );
                for sub in opt["options"].as_array().into_iter().flatten() {
                    assert!(
                        sub["description"].as_str().unwrap().chars().count() <= 100,
                        "{name}: {sub}"
                    );
                }
            }
        }
        let sources = json
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "sources")
            .unwrap();
        assert_eq!(sources["default_member_permissions"], "32");
    }
}
