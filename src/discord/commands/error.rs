//! What can stop a command: a [`UserError`] — the member typed something we cannot do, and its
//! `Display` is exactly the ephemeral reply they read, saying what to type instead — or an
//! internal failure (the store, a reload), logged and answered with a generic apology.

use super::{
    fence_safe, MAX_HOURLY_CAP, MAX_QUERIES_PER_COMMAND, MAX_QUERY_INPUT, MAX_SOURCE_NAME, MAX_URL,
};
use crate::store::StoreError;

/// A refusal the member can fix. Values are kept raw; `Display` makes them safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    // ---- typing the command ----
    /// A required option was left out.
    #[error("Missing `{what}`. Try `{example}`.")]
    Missing {
        what: &'static str,
        example: &'static str,
    },
    /// A value a core parser refused (time zone, clock time, snooze length...), with the
    /// parser's own member-facing message.
    #[error("{0}")]
    Invalid(String),
    /// `/sources import` with a file that is not acceptable OPML; nothing was added.
    #[error("`{filename}` was not imported: {reason}. Nothing was added. Export your feeds from your feed reader as OPML (.opml) and try `/sources import file:` again.")]
    OpmlRefused { filename: String, reason: String },
    /// The uploaded file could not be downloaded from Discord.
    #[error(
        "Cannot read the uploaded file ({reason}). Upload it again with `/sources import file:`."
    )]
    AttachmentUnreadable { reason: String },
    #[error("The query is empty. Type the words to watch for, e.g. `/subscribe query: Meta` or `/subscribe query: \"Google Cloud\" Gemini -horoscope`.")]
    EmptyQuery,
    #[error("The query contains control characters (line breaks, tabs...). Type it on one line, e.g. `/subscribe query: Meta`.")]
    ControlCharacters,
    #[error("The query is {length} characters long; the limit is {MAX_QUERY_INPUT}. Split it into several subscriptions separated by commas.")]
    QueryTooLong { length: usize },
    #[error("Queries cannot contain mentions (`@everyone`, `@here`, `<@…>`). Type the words to watch for, e.g. `Meta`.")]
    Mentions,
    /// The query syntax is wrong (`problem` says where).
    #[error("`{}`: {problem}. See `/help` for the query syntax.", fence_safe(.query))]
    QuerySyntax { query: String, problem: String },
    /// `/subscribe` with only commas.
    #[error("The query is empty. Try `/subscribe query: Meta` or several at once: `/subscribe query: Meta, Gemini`.")]
    NoQueries,
    #[error(
        "That is {count} subscriptions at once; add at most {MAX_QUERIES_PER_COMMAND} per command."
    )]
    TooManyQueries { count: usize },
    #[error(
        "`at:` is the time of a daily digest. Use `mode: daily at: 08:00`, or leave `at:` out."
    )]
    AtWithoutDaily,
    #[error("`max_per_hour` is a number from 1 to {MAX_HOURLY_CAP}, or 0 for no limit.")]
    HourlyCapRange,
    #[error("Pick a sub-command, e.g. `/{group} list`.")]
    NoSubcommand { group: String },
    #[error("Unknown command `/{name}`. Type `/help` for the list.")]
    UnknownCommand { name: String },
    #[error("Unknown sub-command `/{group} {sub}`. Type `/help`.")]
    UnknownSubcommand { group: String, sub: String },
    #[error(
        "Give the source a name of 1 to {MAX_SOURCE_NAME} characters, e.g. `name: Tech wire`."
    )]
    SourceNameLength,
    #[error("Source names cannot contain `@` or `<`; use plain words, e.g. `name: Tech wire`.")]
    SourceNameMarkup,
    #[error("The URL is longer than {MAX_URL} characters.")]
    UrlTooLong,
    /// `schedule:` is not a cron expression we accept.
    #[error("`{}`: {problem}", fence_safe(.schedule))]
    BadSchedule { schedule: String, problem: String },

    // ---- who and where ----
    #[error("newshound commands work inside a server. Run them in a channel of the server you want alerts from.")]
    NotInServer,
    #[error("Only members with the Manage Server permission can do that. Ask a server admin, or use `/subscribe` for your own alerts.")]
    NeedsManageServer,
    /// The bot lacks permissions in the channel the command was used in.
    #[error("I can't post alerts in <#{channel}>: I need View Channel, Send Messages and Embed Links there. Ask an admin to grant them, or pick another channel with `channel:`.")]
    CannotPost { channel: u64 },
    #[error("Only admins (Manage Server) can remove another member's subscriptions. Use `/unsubscribe query:` for your own.")]
    NotYourSubscription,
    #[error(
        "You can only list your own subscriptions. Admins (Manage Server) may pass `member:`."
    )]
    NotYourList,

    // ---- what the server holds ----
    /// `source:` names no source this server sees; `known` are the names it does see.
    #[error("No source named `{}` feeds this server. Pick one from the suggestions: {}.", fence_safe(.name), known_sources(.known))]
    UnknownSource { name: String, known: Vec<String> },
    #[error("You have {held} subscriptions; the limit is {limit} per member. Remove some with `/unsubscribe` first.")]
    MemberQuota { held: usize, limit: usize },
    #[error("This server has reached its limit of {limit} subscriptions. Ask an admin to clean up with `/subscriptions member:`.")]
    ServerQuota { limit: usize },
    /// `/alerts add` on a full server (admins clean up themselves).
    #[error("This server has reached its limit of {limit} subscriptions.")]
    ServerAlertQuota { limit: usize },
    #[error("No subscription with that query. `/subscriptions` lists them; pick one from the suggestions as you type.")]
    NoSuchSubscription,
    #[error("No channel-wide alert with that query. `/alerts list` shows them.")]
    NoSuchAlert,
    #[error("This server has {count} sources; the limit is {limit}. Remove one with `/sources remove` first.")]
    SourceQuota { count: usize, limit: usize },
    /// The URL could not be fetched (unreachable, HTTP error, internal address).
    #[error("Could not add `{}`: {reason}", fence_safe(.url))]
    Unreachable { url: String, reason: String },
    #[error("The server answered 304 Not Modified to a first request; that is not a feed.")]
    NotModified,
    /// Fetched, but not a feed.
    #[error("Not added: {reason}")]
    NotAFeed { reason: String },
    #[error("A source named `{}` already exists here. Pick another name.", fence_safe(.name))]
    SourceNameTaken { name: String },
    #[error("`{}` comes from the bot's config file and feeds every server; only the bot's operator can remove it.", fence_safe(.name))]
    ConfigSource { name: String },
    #[error("No source named `{}` in this server. `/sources list` shows them.", fence_safe(.name))]
    NoSuchSource { name: String },
}

/// "`A`, `B`" — the first 15 names, or a hint when there are none.
fn known_sources(names: &[String]) -> String {
    if names.is_empty() {
        return "none yet — ask an admin to `/sources add`".to_string();
    }
    names
        .iter()
        .take(15)
        .map(|n| format!("`{}`", fence_safe(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a command did not complete.
#[derive(Debug)]
pub enum CommandError {
    /// Shown to the member as it is.
    User(UserError),
    /// Our fault: logged, and the member reads [`CommandError::APOLOGY`].
    Internal(anyhow::Error),
}

impl CommandError {
    /// What the member reads when newshound itself failed.
    pub const APOLOGY: &'static str =
        "Something went wrong on newshound's side and nothing was changed. Try again in a minute.";
}

impl From<UserError> for CommandError {
    fn from(e: UserError) -> Self {
        CommandError::User(e)
    }
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        CommandError::Internal(e.into())
    }
}

impl From<anyhow::Error> for CommandError {
    fn from(e: anyhow::Error) -> Self {
        CommandError::Internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_fenced_in_messages() {
        let err = UserError::NoSuchSource {
            name: "`evil` name".into(),
        };
        assert_eq!(
            err.to_string(),
            "No source named `evil name` in this server. `/sources list` shows them."
        );
    }

    #[test]
    fn unknown_source_lists_what_this_server_sees() {
        let err = UserError::UnknownSource {
            name: "Wire".into(),
            known: vec!["Tech Wire".into(), "Daily".into()],
        };
        assert_eq!(
            err.to_string(),
            "No source named `Wire` feeds this server. Pick one from the suggestions: `Tech Wire`, `Daily`."
        );
        let none = UserError::UnknownSource {
            name: "Wire".into(),
            known: Vec::new(),
        };
        assert!(
            none.to_string()
                .ends_with("none yet — ask an admin to `/sources add`."),
            "{none}"
        );
    }

    #[test]
    fn missing_option_shows_an_example() {
        let err = UserError::Missing {
            what: "query",
            example: "/preview query: Meta",
        };
        assert_eq!(
            err.to_string(),
            "Missing `query`. Try `/preview query: Meta`."
        );
    }

    #[test]
    fn store_failures_are_internal() {
        let err = CommandError::from(StoreError::Task("boom".into()));
        assert!(matches!(err, CommandError::Internal(_)));
    }
}
