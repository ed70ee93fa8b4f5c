//! Slash commands, one module per group. Each *decides* — parses its options into a typed
//! request, validates it, and builds its reply text in plain functions tested here — then
//! *acts*: a short async function calling typed [`Store`] operations and the live app.
//!
//! This module holds what every group shares: who invoked ([`Invocation`]), option values
//! ([`OptValue`]), the parsed [`Command`], the [`Reply`], query cleaning, and the dispatch from
//! a command to its handler ([`execute`]) and from a focused option to its suggestions
//! ([`autocomplete`]). No serenity types beyond the registration builders.

pub mod alerts;
mod error;
pub mod help;
pub mod preview;
pub mod settings;
pub mod sources;
pub mod stats;
pub mod subscribe;
pub mod subscriptions;
pub mod trend;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serenity::all::{ChannelType, CommandOptionType, CreateCommand, CreateCommandOption};

pub use self::error::{CommandError, UserError};
use crate::app::App;
use crate::config::DiscordConfig;
use crate::core::limits::{AUTOCOMPLETE_CHOICES_MAX, CHOICE_TEXT_MAX};
use crate::core::model::Target;
use crate::core::query;
use crate::store::{Store, SubscriptionRow};

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
/// Longest source URL: newshound's own cap (browsers' and CDNs' usual one), not a Discord limit.
pub const MAX_URL: usize = 2000;
/// Subscriptions one `/subscribe` may add (comma-separated queries).
pub const MAX_QUERIES_PER_COMMAND: usize = 10;
/// Highest `max_per_hour` a member may set.
pub const MAX_HOURLY_CAP: u32 = 1000;

/// Everything the command handlers need: the running app and the `[discord]` settings.
pub struct BotState {
    pub app: Arc<App>,
    pub discord: DiscordConfig,
}

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

    /// Refuses a channel the bot cannot post alerts in.
    ///
    /// `app_permissions` describe the channel the command was used in; for another channel
    /// the first delivery tells (and suspends the target with a notice if it fails).
    pub fn check_can_post(&self, channel: u64) -> Result<(), UserError> {
        let Some(p) = self.app_permissions.filter(|_| channel == self.channel_id) else {
            return Ok(());
        };
        if p & perms::POST_ALERTS != perms::POST_ALERTS && p & perms::ADMINISTRATOR == 0 {
            return Err(UserError::CannotPost { channel });
        }
        Ok(())
    }

    /// The member a command is about: `member:` when given and someone else (admins only,
    /// else `refusal`), otherwise the invoker.
    pub fn whose(&self, member: Option<u64>, refusal: UserError) -> Result<u64, UserError> {
        match member {
            Some(m) if m != self.user_id => {
                if self.is_admin() {
                    Ok(m)
                } else {
                    Err(refusal)
                }
            }
            _ => Ok(self.user_id),
        }
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
    Attachment(AttachmentRef),
    Sub(String, Vec<(String, OptValue)>),
}

/// An uploaded file option: where Discord keeps it and what it says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    pub url: String,
    pub filename: String,
    /// Bytes, as Discord reports them.
    pub size: u64,
}

/// A file sent with a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyFile {
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// A parsed command, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Subscribe(subscribe::Subscribe),
    Unsubscribe(subscribe::Unsubscribe),
    Subscriptions(subscriptions::Subscriptions),
    Preview(preview::Preview),
    Sources(sources::Sources),
    Alerts(alerts::Alerts),
    Snooze(settings::Snooze),
    Settings(settings::Settings),
    Stats,
    Trend(trend::Trend),
    Pause,
    Resume,
    Help,
}

impl Command {
    /// Commands only Manage Server may run.
    pub fn needs_admin(&self) -> bool {
        matches!(
            self,
            Command::Sources(_) | Command::Alerts(_) | Command::Stats
        )
    }

    /// Commands that may take longer than Discord's 3 s: answer with a deferral first.
    pub fn is_slow(&self) -> bool {
        matches!(
            self,
            Command::Preview(_)
                | Command::Trend(_)
                | Command::Sources(
                    sources::Sources::Add(_)
                        | sources::Sources::Import(_)
                        | sources::Sources::Export
                )
        )
    }
}

/// What the member reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub content: String,
    pub ephemeral: bool,
    /// An attachment (`/sources export`).
    pub file: Option<ReplyFile>,
}

impl Reply {
    pub fn private(content: impl Into<String>) -> Reply {
        Reply {
            content: content.into(),
            ephemeral: true,
            file: None,
        }
    }

    /// The reply with `file` attached.
    #[must_use]
    pub fn with_file(mut self, filename: impl Into<String>, bytes: Vec<u8>) -> Reply {
        self.file = Some(ReplyFile {
            filename: filename.into(),
            bytes,
        });
        self
    }
}

impl From<UserError> for Reply {
    fn from(e: UserError) -> Reply {
        Reply::private(e.to_string())
    }
}

/// A command's options, read by name.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a>(pub &'a [(String, OptValue)]);

impl<'a> Options<'a> {
    fn get(self, name: &str) -> Option<&'a OptValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn str(self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(OptValue::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// A required string option; `example` is a whole command that shows it.
    pub fn required_str(
        self,
        name: &'static str,
        example: &'static str,
    ) -> Result<String, UserError> {
        self.str(name).ok_or(UserError::Missing {
            what: name,
            example,
        })
    }

    pub fn attachment(self, name: &str) -> Option<AttachmentRef> {
        match self.get(name) {
            Some(OptValue::Attachment(a)) => Some(a.clone()),
            _ => None,
        }
    }

    pub fn channel(self, name: &str) -> Option<u64> {
        match self.get(name) {
            Some(OptValue::Channel(id)) => Some(*id),
            _ => None,
        }
    }

    /// A required channel option; `example` is a whole command that shows it.
    pub fn required_channel(
        self,
        name: &'static str,
        example: &'static str,
    ) -> Result<u64, UserError> {
        self.channel(name).ok_or(UserError::Missing {
            what: name,
            example,
        })
    }

    pub fn int(self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(OptValue::Int(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn user(self, name: &str) -> Option<u64> {
        match self.get(name) {
            Some(OptValue::User(id)) => Some(*id),
            _ => None,
        }
    }

    /// `true` only when the option was given as true.
    pub fn flag(self, name: &str) -> bool {
        matches!(self.get(name), Some(OptValue::Bool(true)))
    }

    /// The chosen sub-command of a group (`/sources add ...`) and its options.
    fn subcommand(self, group: &str) -> Result<(&'a str, Options<'a>), UserError> {
        self.0
            .iter()
            .find_map(|(_, v)| match v {
                OptValue::Sub(name, opts) => Some((name.as_str(), Options(opts.as_slice()))),
                _ => None,
            })
            .ok_or_else(|| UserError::NoSubcommand {
                group: group.to_string(),
            })
    }
}

/// Words that turn a setting off.
pub fn is_off(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "off" | "none" | "no" | "0" | "stop" | "end"
    )
}

/// Invisible and direction-changing characters that make a query look like something else.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// Cleans and checks a query typed in Discord: invisible characters removed, control
/// characters and mentions refused, length capped, and the core syntax checked. Returns the
/// canonical form.
pub fn clean_query(raw: &str) -> Result<String, UserError> {
    let text: String = raw.chars().filter(|c| !is_invisible(*c)).collect();
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(UserError::EmptyQuery);
    }
    if text.chars().any(char::is_control) {
        return Err(UserError::ControlCharacters);
    }
    let length = text.chars().count();
    if length > MAX_QUERY_INPUT {
        return Err(UserError::QueryTooLong { length });
    }
    if ["@everyone", "@here", "<@", "<#"]
        .iter()
        .any(|m| text.contains(m))
    {
        return Err(UserError::Mentions);
    }
    query::parse(&text)
        .map(|q| q.to_string())
        .map_err(|e| UserError::QuerySyntax {
            query: text,
            problem: e.to_string(),
        })
}

/// The canonical form of a typed query, or the text itself when it does not parse.
pub fn canonical(typed: &str) -> String {
    let typed = typed.trim();
    query::parse(typed).map_or_else(|_| typed.to_string(), |q| q.to_string())
}

/// The spellings to look a stored query up by: its canonical form, then the text as typed
/// (a query stored before the canonical form changed).
pub fn query_spellings(typed: &str) -> Vec<String> {
    let (canonical, typed) = (canonical(typed), typed.trim().to_string());
    if canonical == typed {
        vec![typed]
    } else {
        vec![canonical, typed]
    }
}

/// Text safe to put inside `code` in a reply.
pub fn fence_safe(text: &str) -> String {
    text.chars().filter(|c| *c != '`').take(120).collect()
}

/// "`a`, `b`" for a reply.
pub fn code_list(items: &[String]) -> String {
    items
        .iter()
        .map(|q| format!("`{}`", fence_safe(q)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "s" unless there is exactly one.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
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
            ',' if !in_quote => parts.push(std::mem::take(&mut current)),
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

/// How a target reads in a reply.
pub fn describe(target: &Target) -> String {
    match target {
        Target::Channel(id) => format!("<#{id}>"),
        Target::Dm(_) => "direct message".to_string(),
        other => format!("`{}`", fence_safe(&other.to_string())),
    }
}

/// A stored subscription's target, read at the store's edge.
pub fn target_of(row: &SubscriptionRow) -> Target {
    Target::parse(&row.target)
}

/// Turns a command name and its options into a [`Command`], or says what to type instead.
pub fn parse_command(name: &str, options: &[(String, OptValue)]) -> Result<Command, UserError> {
    let options = Options(options);
    match name {
        "subscribe" => subscribe::parse_subscribe(options).map(Command::Subscribe),
        "unsubscribe" => subscribe::parse_unsubscribe(options).map(Command::Unsubscribe),
        "subscriptions" => Ok(Command::Subscriptions(subscriptions::parse(options))),
        "preview" => preview::parse(options).map(Command::Preview),
        "snooze" => settings::parse_snooze(options).map(Command::Snooze),
        "settings" => settings::parse_settings(options).map(Command::Settings),
        "pause" => Ok(Command::Pause),
        "resume" => Ok(Command::Resume),
        "help" => Ok(Command::Help),
        "stats" => Ok(Command::Stats),
        "trend" => trend::parse(options).map(Command::Trend),
        "sources" => {
            let (sub, sub_options) = options.subcommand(name)?;
            sources::parse(sub, sub_options).map(Command::Sources)
        }
        "alerts" => {
            let (sub, sub_options) = options.subcommand(name)?;
            alerts::parse(sub, sub_options).map(Command::Alerts)
        }
        other => Err(UserError::UnknownCommand {
            name: other.to_string(),
        }),
    }
}

/// The `query` option most commands take.
pub(crate) fn query_option(description: &str) -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::String, "query", description)
        .required(true)
        .max_length(option_length(MAX_QUERY_INPUT))
}

/// A channel option limited to channels alerts can go to.
pub(crate) fn text_channel_option(
    name: &str,
    description: &str,
    required: bool,
) -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::Channel, name, description)
        .required(required)
        .channel_types(vec![ChannelType::Text, ChannelType::News])
}

/// A length for a string option's `max_length` (our limits are far below `u16::MAX`).
pub(crate) fn option_length(chars: usize) -> u16 {
    u16::try_from(chars).unwrap_or(u16::MAX)
}

/// Every slash command newshound registers (names and options are an interface).
pub fn definitions() -> Vec<CreateCommand> {
    vec![
        subscribe::subscribe_definition(),
        settings::snooze_definition(),
        settings::settings_definition(),
        subscribe::unsubscribe_definition(),
        subscriptions::definition(),
        preview::definition(),
        sources::definition(),
        alerts::definition(),
        stats::definition(),
        trend::definition(),
        settings::pause_definition(),
        settings::resume_definition(),
        help::definition(),
    ]
}

/// One run of a command: who, in which server, when, and what it may use.
pub struct Caller<'a> {
    pub state: &'a BotState,
    pub inv: &'a Invocation,
    /// The server's id as stored.
    pub guild: String,
    /// The invoker's id as stored.
    pub user: String,
    pub now: DateTime<Utc>,
}

impl Caller<'_> {
    pub fn store(&self) -> &Store {
        self.state.app.store()
    }

    pub fn app(&self) -> &App {
        &self.state.app
    }
}

/// Runs a parsed command. Every failure becomes an ephemeral reply: a [`UserError`] as it
/// reads, anything else logged and answered with [`CommandError::APOLOGY`].
pub async fn execute(state: &BotState, inv: &Invocation, command: Command) -> Reply {
    match run(state, inv, command).await {
        Ok(reply) => reply,
        Err(CommandError::User(e)) => e.into(),
        Err(CommandError::Internal(e)) => {
            let error = format!("{e:#}");
            tracing::error!(%error, "command failed");
            Reply::private(CommandError::APOLOGY)
        }
    }
}

async fn run(state: &BotState, inv: &Invocation, command: Command) -> Result<Reply, CommandError> {
    let Some(guild) = inv.guild_id else {
        if command == Command::Help {
            return Ok(help::reply());
        }
        return Err(UserError::NotInServer.into());
    };
    if command.needs_admin() && !inv.is_admin() {
        return Err(UserError::NeedsManageServer.into());
    }
    let caller = Caller {
        state,
        inv,
        guild: guild.to_string(),
        user: inv.user_id.to_string(),
        now: Utc::now(),
    };
    match command {
        Command::Help => Ok(help::reply()),
        Command::Subscribe(request) => subscribe::subscribe(&caller, request).await,
        Command::Unsubscribe(request) => subscribe::unsubscribe(&caller, request).await,
        Command::Subscriptions(request) => subscriptions::run(&caller, request).await,
        Command::Preview(request) => preview::run(&caller, request).await,
        Command::Sources(request) => sources::run(&caller, request).await,
        Command::Alerts(request) => alerts::run(&caller, request).await,
        Command::Snooze(request) => settings::snooze(&caller, request).await,
        Command::Settings(request) => settings::settings(&caller, request).await,
        Command::Stats => stats::run(&caller).await,
        Command::Trend(request) => trend::run(&caller, request).await,
        Command::Pause => settings::pause(&caller, true).await,
        Command::Resume => settings::pause(&caller, false).await,
    }
}

/// One autocomplete suggestion: what the member sees, and the value it fills in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub label: String,
    pub value: String,
}

impl Choice {
    /// A choice within Discord's lengths.
    pub fn new(label: &str, value: &str) -> Choice {
        Choice {
            label: label.chars().take(CHOICE_TEXT_MAX).collect(),
            value: value.chars().take(CHOICE_TEXT_MAX).collect(),
        }
    }
}

/// Suggestions for the option being typed in `command`. Failures suggest nothing (a
/// suggestion list is never worth an error).
pub async fn autocomplete(
    state: &BotState,
    guild: u64,
    user: u64,
    command: &str,
    typed: &str,
) -> Vec<Choice> {
    let store = state.app.store();
    let (guild, user) = (guild.to_string(), user.to_string());
    let typed = typed.to_lowercase();
    match command {
        "subscribe" => {
            let sources = store.visible_sources(&guild).await.unwrap_or_default();
            subscribe::source_choices(&sources, &typed)
        }
        "settings" => settings::timezone_choices(&typed),
        "unsubscribe" | "snooze" => {
            let rows = store
                .member_subscriptions(&guild, &user)
                .await
                .unwrap_or_default();
            subscription_choices(&rows, &typed)
        }
        "alerts" => {
            let rows = store.channel_alerts(&guild).await.unwrap_or_default();
            subscription_choices(&rows, &typed)
        }
        _ => Vec::new(),
    }
}

/// Subscriptions whose query contains `typed` (lower-case), each query once, labelled with
/// where it delivers.
pub fn subscription_choices(rows: &[SubscriptionRow], typed: &str) -> Vec<Choice> {
    let mut seen = std::collections::HashSet::new();
    rows.iter()
        .filter(|row| row.query.to_lowercase().contains(typed))
        .filter(|row| seen.insert(row.query.clone()))
        .take(AUTOCOMPLETE_CHOICES_MAX)
        .map(|row| {
            let label = format!("{} → {}", row.query, describe(&target_of(row)));
            Choice::new(&label, &row.query)
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn s(v: &str) -> OptValue {
        OptValue::Str(v.to_string())
    }

    /// Named options as the adapter hands them over.
    pub(crate) fn options(pairs: &[(&str, OptValue)]) -> Vec<(String, OptValue)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_string(), v.clone()))
            .collect()
    }

    pub(crate) fn sub(name: &str, options: Vec<(String, OptValue)>) -> Vec<(String, OptValue)> {
        vec![(name.into(), OptValue::Sub(name.into(), options))]
    }

    pub(crate) fn invocation() -> Invocation {
        Invocation {
            guild_id: Some(1),
            channel_id: 2,
            user_id: 3,
            member_permissions: Some(0),
            app_permissions: None,
        }
    }

    pub(crate) fn row(query: &str, target: &str) -> SubscriptionRow {
        SubscriptionRow {
            query: query.into(),
            target: target.into(),
            mode: "instant".into(),
            ..SubscriptionRow::default()
        }
    }

    #[test]
    fn mentions_and_control_characters_are_refused() {
        for q in ["@everyone", "news <@123>", "<@&42> Meta"] {
            assert_eq!(clean_query(q), Err(UserError::Mentions), "{q:?}");
        }
        assert_eq!(
            clean_query("Meta\nGemini"),
            Err(UserError::ControlCharacters)
        );
        assert_eq!(
            UserError::Mentions.to_string(),
            "Queries cannot contain mentions (`@everyone`, `@here`, `<@…>`). Type the words to watch for, e.g. `Meta`."
        );
    }

    #[test]
    fn invisible_characters_are_stripped() {
        assert_eq!(clean_query("Me\u{200B}ta\u{202E}").unwrap(), "Meta");
    }

    #[test]
    fn empty_query_shows_an_example() {
        let err = clean_query(" \u{200B} ").unwrap_err();
        assert_eq!(err, UserError::EmptyQuery);
        assert!(err.to_string().contains("/subscribe query: Meta"), "{err}");
    }

    #[test]
    fn overlong_query_names_the_limit() {
        let err = clean_query(&"word ".repeat(200)).unwrap_err();
        assert!(err.to_string().contains("limit is 300"), "{err}");
    }

    #[test]
    fn syntax_error_quotes_the_query_and_points_to_help() {
        let err = clean_query("\"Google Cloud").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("`\"Google Cloud`: "), "{text}");
        assert!(
            text.contains("never closed") && text.ends_with("See `/help` for the query syntax."),
            "{text}"
        );
    }

    #[test]
    fn proximity_queries_are_stored_canonical_and_bad_ones_say_what_to_type() {
        assert_eq!(
            clean_query("“Google Cloud”  NEAR/3 outage").unwrap(),
            "\"Google Cloud\" NEAR/3 outage"
        );
        assert_eq!(clean_query("Meta SENTENCE AI").unwrap(), "Meta SENTENCE AI");
        let text = clean_query("Meta NEAR/0 AI").unwrap_err().to_string();
        assert!(
            text.starts_with("`Meta NEAR/0 AI`: `NEAR/0` is out of range")
                && text.contains("from 1 to 50")
                && text.ends_with("See `/help` for the query syntax."),
            "{text}"
        );
        let text = clean_query("Meta OR Facebook NEAR/3 AI")
            .unwrap_err()
            .to_string();
        assert!(text.contains("e.g. `Facebook NEAR/3 AI`"), "{text}");
    }

    #[test]
    fn spellings_try_the_canonical_form_first() {
        assert_eq!(query_spellings(" Meta "), vec!["Meta"]);
        let spellings = query_spellings("meta   OR  gemini");
        assert_eq!(
            spellings.last().map(String::as_str),
            Some("meta   OR  gemini")
        );
    }

    #[test]
    fn unknown_command_and_missing_subcommand_say_what_to_type() {
        assert_eq!(
            parse_command("frobnicate", &[]).unwrap_err().to_string(),
            "Unknown command `/frobnicate`. Type `/help` for the list."
        );
        assert_eq!(
            parse_command("alerts", &[]).unwrap_err().to_string(),
            "Pick a sub-command, e.g. `/alerts list`."
        );
        assert_eq!(
            parse_command("sources", &sub("prune", vec![]))
                .unwrap_err()
                .to_string(),
            "Unknown sub-command `/sources prune`. Type `/help`."
        );
    }

    #[test]
    fn admin_commands_are_marked() {
        let cmd = parse_command("sources", &sub("list", vec![])).unwrap();
        assert!(cmd.needs_admin());
        assert!(!cmd.is_slow());
        assert!(!Command::Pause.needs_admin());
    }

    #[test]
    fn admin_check_reads_manage_guild_or_administrator() {
        let mut inv = invocation();
        assert!(!inv.is_admin());
        inv.member_permissions = Some(perms::MANAGE_GUILD);
        assert!(inv.is_admin());
        inv.member_permissions = Some(perms::ADMINISTRATOR);
        assert!(inv.is_admin());
    }

    #[test]
    fn posting_is_checked_only_in_the_invoking_channel() {
        let mut inv = invocation();
        inv.app_permissions = Some(perms::VIEW_CHANNEL);
        assert_eq!(
            inv.check_can_post(2),
            Err(UserError::CannotPost { channel: 2 })
        );
        assert!(UserError::CannotPost { channel: 2 }
            .to_string()
            .starts_with("I can't post alerts in <#2>: I need View Channel, Send Messages and Embed Links there."));
        assert_eq!(inv.check_can_post(99), Ok(()));
        inv.app_permissions = Some(perms::POST_ALERTS);
        assert_eq!(inv.check_can_post(2), Ok(()));
    }

    #[test]
    fn only_admins_act_for_another_member() {
        let mut inv = invocation();
        assert_eq!(inv.whose(None, UserError::NotYourList), Ok(3));
        assert_eq!(inv.whose(Some(3), UserError::NotYourList), Ok(3));
        assert_eq!(
            inv.whose(Some(9), UserError::NotYourList),
            Err(UserError::NotYourList)
        );
        inv.member_permissions = Some(perms::MANAGE_GUILD);
        assert_eq!(inv.whose(Some(9), UserError::NotYourList), Ok(9));
    }

    #[test]
    fn targets_read_as_channel_mentions_or_dms() {
        assert_eq!(describe(&Target::Channel(5)), "<#5>");
        assert_eq!(describe(&Target::Dm(5)), "direct message");
        assert_eq!(describe(&Target::Named("#te`ch".into())), "`#tech`");
    }

    #[test]
    fn subscription_choices_are_unique_filtered_and_labelled() {
        let rows = [
            row("Meta", "channel:9"),
            row("Meta", "dm:3"),
            row("Gemini", "dm:3"),
        ];
        assert_eq!(
            subscription_choices(&rows, ""),
            vec![
                Choice::new("Meta → <#9>", "Meta"),
                Choice::new("Gemini → direct message", "Gemini")
            ]
        );
        assert_eq!(
            subscription_choices(&rows, "gem"),
            vec![Choice::new("Gemini → direct message", "Gemini")]
        );
        let long = [row(&"x".repeat(150), "dm:3")];
        let choice = &subscription_choices(&long, "x")[0];
        assert_eq!(choice.label.chars().count(), CHOICE_TEXT_MAX);
        assert_eq!(choice.value.chars().count(), CHOICE_TEXT_MAX);
    }

    #[test]
    fn definitions_respect_discord_limits() {
        use crate::core::limits::{COMMAND_DESCRIPTION_MAX, COMMAND_NAME_MAX};
        let json = serde_json::to_value(definitions()).unwrap();
        let described = |v: &serde_json::Value| {
            let desc = v["description"].as_str().unwrap_or_default();
            (1..=COMMAND_DESCRIPTION_MAX).contains(&desc.chars().count())
        };
        for cmd in json.as_array().unwrap() {
            let name = cmd["name"].as_str().unwrap();
            assert!(
                name.len() <= COMMAND_NAME_MAX
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
            );
            assert!(described(cmd), "{name}");
            for opt in cmd["options"].as_array().into_iter().flatten() {
                assert!(described(opt), "{name}: {opt}");
                for sub in opt["options"].as_array().into_iter().flatten() {
                    assert!(described(sub), "{name}: {sub}");
                }
            }
        }
        let names: Vec<&str> = json
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "subscribe",
                "snooze",
                "settings",
                "unsubscribe",
                "subscriptions",
                "preview",
                "sources",
                "alerts",
                "stats",
                "trend",
                "pause",
                "resume",
                "help"
            ]
        );
        let sources = &json[6];
        assert_eq!(sources["default_member_permissions"], "32");
    }
}
