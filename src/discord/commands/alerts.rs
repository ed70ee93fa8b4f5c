//! `/alerts default|add|list|remove|log` (Manage Server): the server's default alert channel,
//! its channel-wide alerts (every match posted in a channel, pinging nobody) and its log
//! channel for source-health notices (`core::health`).

use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption, Permissions};

use super::{
    canonical, clean_query, describe, fence_safe, plural, query_option, target_of,
    text_channel_option, Caller, CommandError, Options, Reply, UserError,
};
use crate::core::model::Target;
use crate::store::commands::ChannelAlertAdded;
use crate::store::SubscriptionRow;

/// An `/alerts` sub-command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alerts {
    /// Where members' alerts go unless they pick a channel or DMs.
    Default {
        channel: u64,
    },
    /// A channel-wide alert; `query` is canonical.
    Add {
        query: String,
        channel: u64,
    },
    List,
    /// `query` as typed (trimmed); `channel: None` removes it everywhere.
    Remove {
        query: String,
        channel: Option<u64>,
    },
    /// The log channel for source-health notices: set it, turn it off, or (neither) show it.
    Log(LogChange),
}

/// What `/alerts log` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogChange {
    Show,
    Set(u64),
    Off,
}

pub fn parse(sub: &str, options: Options<'_>) -> Result<Alerts, UserError> {
    match sub {
        "default" => Ok(Alerts::Default {
            channel: options.required_channel("channel", "/alerts default channel: #news")?,
        }),
        "add" => {
            const EXAMPLE: &str = "/alerts add query: Gemini channel: #ai-news";
            let raw = options.required_str("query", EXAMPLE)?;
            let channel = options.required_channel("channel", EXAMPLE)?;
            Ok(Alerts::Add {
                query: clean_query(&raw)?,
                channel,
            })
        }
        "list" => Ok(Alerts::List),
        "remove" => {
            let query = options.required_str("query", "/alerts remove query: Gemini")?;
            Ok(Alerts::Remove {
                query: query.trim().to_string(),
                channel: options.channel("channel"),
            })
        }
        "log" => match (options.channel("channel"), options.flag("off")) {
            (Some(_), true) => Err(UserError::Invalid(
                "Pick one: `/alerts log channel: #bot-log` to set the log channel, or `/alerts log off: true` to stop the notices.".into(),
            )),
            (Some(channel), false) => Ok(Alerts::Log(LogChange::Set(channel))),
            (None, true) => Ok(Alerts::Log(LogChange::Off)),
            (None, false) => Ok(Alerts::Log(LogChange::Show)),
        },
        other => Err(UserError::UnknownSubcommand {
            group: "alerts".into(),
            sub: other.to_string(),
        }),
    }
}

pub fn default_reply(channel: u64) -> Reply {
    Reply::private(format!("Members' alerts now go to <#{channel}> unless they pick a channel or DMs. (Existing subscriptions keep their channel.)"))
}

/// What `/alerts add` did; a full server is refused.
pub fn added_reply(
    outcome: ChannelAlertAdded,
    query: &str,
    channel: u64,
    per_server: usize,
) -> Result<Reply, UserError> {
    match outcome {
        ChannelAlertAdded::ServerFull => Err(UserError::ServerAlertQuota { limit: per_server }),
        ChannelAlertAdded::Exists => Ok(Reply::private(format!(
            "`{}` already posts to <#{channel}>.",
            fence_safe(query)
        ))),
        ChannelAlertAdded::Added => Ok(Reply::private(format!(
            "Every item matching `{}` will be posted in <#{channel}> (without pinging anyone).",
            fence_safe(query)
        ))),
    }
}

/// The default channel, the log channel when set, then every channel-wide alert.
pub fn list_reply(
    rows: &[SubscriptionRow],
    default: Option<&Target>,
    log: Option<&Target>,
) -> Reply {
    let default = default.map_or_else(
        || "not set (members' alerts go where they subscribed)".to_string(),
        describe,
    );
    let mut text = format!("Default alert channel: {default}\n");
    if let Some(log) = log {
        text.push_str(&format!("Health notices: {}\n", describe(log)));
    }
    if rows.is_empty() {
        text.push_str(
            "No channel-wide alerts. Add one with `/alerts add query: Gemini channel: #ai-news`.",
        );
    }
    for row in rows {
        text.push_str(&format!(
            "• `{}` → {}\n",
            fence_safe(&row.query),
            describe(&target_of(row))
        ));
    }
    Reply::private(text)
}

pub fn removed_reply(removed: usize) -> Result<Reply, UserError> {
    if removed == 0 {
        return Err(UserError::NoSuchAlert);
    }
    Ok(Reply::private(format!(
        "Removed {removed} channel-wide alert{}.",
        plural(removed)
    )))
}

/// What `/alerts log` did (`current`: the log channel after it).
pub fn log_reply(change: LogChange, current: Option<&Target>) -> Reply {
    let text = match (change, current) {
        (LogChange::Set(channel), _) => format!(
            "Source-health notices (a source paused, failing, moved, silent, or back to normal) now go to <#{channel}>. Turn them off with `/alerts log off: true`."
        ),
        (LogChange::Off, _) => {
            "Source-health notices are off. Turn them on with `/alerts log channel: #bot-log`.".to_string()
        }
        (LogChange::Show, Some(target)) => format!(
            "Source-health notices go to {}. Change it with `/alerts log channel:`, or turn them off with `/alerts log off: true`.",
            describe(target)
        ),
        (LogChange::Show, None) => {
            "No log channel: source-health notices are off. Turn them on with `/alerts log channel: #bot-log`.".to_string()
        }
    };
    Reply::private(text)
}

/// Runs an `/alerts` sub-command.
pub async fn run(caller: &Caller<'_>, request: Alerts) -> Result<Reply, CommandError> {
    let (store, app, guild) = (caller.store(), caller.app(), caller.guild.as_str());
    match request {
        Alerts::Default { channel } => {
            caller.inv.check_can_post(channel)?;
            store
                .set_alert_channel(guild, &Target::Channel(channel))
                .await?;
            app.wake_deliverer();
            Ok(default_reply(channel))
        }
        Alerts::Add { query, channel } => {
            caller.inv.check_can_post(channel)?;
            let per_server = caller.state.discord.max_subscriptions_per_server;
            let outcome = store
                .add_channel_alert(
                    guild,
                    &query,
                    &Target::Channel(channel),
                    per_server,
                    caller.now,
                )
                .await?;
            if outcome == ChannelAlertAdded::Added {
                app.reload_channel_subscriptions(guild).await?;
            }
            Ok(added_reply(outcome, &query, channel, per_server)?)
        }
        Alerts::List => {
            let rows = store.channel_alerts(guild).await?;
            let default = store.alert_channel(guild).await?;
            let log = store.log_channel(guild).await?;
            Ok(list_reply(&rows, default.as_ref(), log.as_ref()))
        }
        Alerts::Remove { query, channel } => {
            let target = channel.map(Target::Channel);
            let removed = store
                .remove_channel_alert(guild, &canonical(&query), target.as_ref())
                .await?;
            let reply = removed_reply(removed)?;
            app.reload_channel_subscriptions(guild).await?;
            Ok(reply)
        }
        Alerts::Log(change) => {
            match change {
                LogChange::Set(channel) => {
                    caller.inv.check_can_post(channel)?;
                    store
                        .set_log_channel(guild, Some(&Target::Channel(channel)))
                        .await?;
                }
                LogChange::Off => store.set_log_channel(guild, None).await?,
                LogChange::Show => {}
            }
            let current = store.log_channel(guild).await?;
            Ok(log_reply(change, current.as_ref()))
        }
    }
}

pub fn definition() -> CreateCommand {
    CreateCommand::new("alerts")
        .description("Manage this server's alert channels")
        .dm_permission(false)
        .default_member_permissions(Permissions::MANAGE_GUILD)
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "default",
                "Set where members' alerts go by default",
            )
            .add_sub_option(text_channel_option(
                "channel",
                "The default alert channel",
                true,
            )),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "add",
                "Post every item matching a query in a channel (no pings)",
            )
            .add_sub_option(query_option("Words to watch for"))
            .add_sub_option(text_channel_option("channel", "Where to post", true)),
        )
        .add_option(CreateCommandOption::new(
            CommandOptionType::SubCommand,
            "list",
            "List channel-wide alerts and the default channel",
        ))
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "remove",
                "Remove a channel-wide alert",
            )
            .add_sub_option(query_option("The query to remove"))
            .add_sub_option(text_channel_option(
                "channel",
                "Only in this channel",
                false,
            )),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "log",
                "Where source-health notices go (paused, moved, silent, back to normal)",
            )
            .add_sub_option(text_channel_option(
                "channel",
                "The log channel (leave out to see the current one)",
                false,
            ))
            .add_sub_option(
                CreateCommandOption::new(CommandOptionType::Boolean, "off", "Stop the notices")
                    .required(false),
            ),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::commands::tests::{options, row, s};
    use crate::discord::commands::OptValue;

    #[test]
    fn add_needs_query_then_channel_and_cleans_the_query() {
        assert_eq!(
            parse(
                "add",
                Options(&options(&[("channel", OptValue::Channel(4))]))
            )
            .unwrap_err()
            .to_string(),
            "Missing `query`. Try `/alerts add query: Gemini channel: #ai-news`."
        );
        assert_eq!(
            parse("add", Options(&options(&[("query", s("Gemini"))])))
                .unwrap_err()
                .to_string(),
            "Missing `channel`. Try `/alerts add query: Gemini channel: #ai-news`."
        );
        let parsed = parse(
            "add",
            Options(&options(&[
                ("query", s(" Gemini\u{200B} ")),
                ("channel", OptValue::Channel(4)),
            ])),
        );
        assert_eq!(
            parsed,
            Ok(Alerts::Add {
                query: "Gemini".into(),
                channel: 4
            })
        );
        let bad = parse(
            "add",
            Options(&options(&[
                ("query", s("@here")),
                ("channel", OptValue::Channel(4)),
            ])),
        );
        assert_eq!(bad, Err(UserError::Mentions));
    }

    #[test]
    fn default_and_remove_options() {
        assert_eq!(
            parse("default", Options(&[])).unwrap_err().to_string(),
            "Missing `channel`. Try `/alerts default channel: #news`."
        );
        assert_eq!(
            parse("remove", Options(&options(&[("query", s(" Gemini "))]))),
            Ok(Alerts::Remove {
                query: "Gemini".into(),
                channel: None
            })
        );
        assert_eq!(parse("list", Options(&[])), Ok(Alerts::List));
    }

    #[test]
    fn log_sets_shows_or_turns_off() {
        assert_eq!(
            parse(
                "log",
                Options(&options(&[("channel", OptValue::Channel(4))]))
            ),
            Ok(Alerts::Log(LogChange::Set(4)))
        );
        assert_eq!(parse("log", Options(&[])), Ok(Alerts::Log(LogChange::Show)));
        assert_eq!(
            parse("log", Options(&options(&[("off", OptValue::Bool(true))]))),
            Ok(Alerts::Log(LogChange::Off))
        );
        let both = parse(
            "log",
            Options(&options(&[
                ("channel", OptValue::Channel(4)),
                ("off", OptValue::Bool(true)),
            ])),
        );
        assert!(both.unwrap_err().to_string().contains("Pick one"));
    }

    #[test]
    fn log_reply_says_where_and_how_to_change_it() {
        assert!(log_reply(LogChange::Set(4), None).content.contains("<#4>"));
        assert!(log_reply(LogChange::Show, Some(&Target::Channel(9)))
            .content
            .contains("<#9>"));
        assert!(log_reply(LogChange::Show, None)
            .content
            .contains("/alerts log channel:"));
        assert!(log_reply(LogChange::Off, None).content.contains("off"));
    }

    #[test]
    fn default_reply_names_the_channel() {
        assert_eq!(
            default_reply(7).content,
            "Members' alerts now go to <#7> unless they pick a channel or DMs. (Existing subscriptions keep their channel.)"
        );
    }

    #[test]
    fn add_replies_for_each_outcome() {
        assert_eq!(
            added_reply(ChannelAlertAdded::Added, "Gemini", 4, 10)
                .unwrap()
                .content,
            "Every item matching `Gemini` will be posted in <#4> (without pinging anyone)."
        );
        assert_eq!(
            added_reply(ChannelAlertAdded::Exists, "Gemini", 4, 10)
                .unwrap()
                .content,
            "`Gemini` already posts to <#4>."
        );
        assert_eq!(
            added_reply(ChannelAlertAdded::ServerFull, "Gemini", 4, 10)
                .unwrap_err()
                .to_string(),
            "This server has reached its limit of 10 subscriptions."
        );
    }

    #[test]
    fn list_shows_the_default_then_each_alert() {
        assert_eq!(
            list_reply(&[], None, None).content,
            "Default alert channel: not set (members' alerts go where they subscribed)\nNo channel-wide alerts. Add one with `/alerts add query: Gemini channel: #ai-news`."
        );
        let rows = [row("Gemini", "channel:4")];
        assert_eq!(
            list_reply(&rows, Some(&Target::Channel(9)), None).content,
            "Default alert channel: <#9>\n• `Gemini` → <#4>\n"
        );
        assert_eq!(
            list_reply(&rows, None, Some(&Target::Channel(7))).content,
            "Default alert channel: not set (members' alerts go where they subscribed)\nHealth notices: <#7>\n• `Gemini` → <#4>\n"
        );
    }

    #[test]
    fn remove_counts_or_says_none_matched() {
        assert_eq!(
            removed_reply(1).unwrap().content,
            "Removed 1 channel-wide alert."
        );
        assert_eq!(
            removed_reply(3).unwrap().content,
            "Removed 3 channel-wide alerts."
        );
        assert_eq!(
            removed_reply(0).unwrap_err().to_string(),
            "No channel-wide alert with that query. `/alerts list` shows them."
        );
    }
}
