//! `/subscribe` and `/unsubscribe`: a member's own subscriptions — where they deliver, how
//! (instantly or as a digest), from which source, within the member's and the server's quota.

use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption};

use super::{
    code_list, describe, option_length, plural, query_option, query_spellings, split_queries,
    text_channel_option, Caller, Choice, CommandError, Invocation, Options, Reply, UserError,
    MAX_QUERIES_PER_COMMAND, MAX_SOURCE_NAME,
};
use crate::core::digest::Cadence;
use crate::core::limits::{escape_markdown, AUTOCOMPLETE_CHOICES_MAX, CHOICE_TEXT_MAX};
use crate::core::model::Target;
use crate::store::commands::{NewSubscriptions, Quota, QuotaExceeded, Subscribed};
use crate::store::SourceRow;

/// `/subscribe query: [channel:] [dm:] [mode:] [at:] [source:]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscribe {
    /// Canonical queries, at most [`MAX_QUERIES_PER_COMMAND`].
    pub queries: Vec<String>,
    pub channel: Option<u64>,
    pub dm: bool,
    /// `mode:`/`at:` given: set (or change) how these subscriptions deliver.
    pub cadence: Option<Cadence>,
    /// `source:` given: `Some(None)` = every source, `Some(Some(name))` = only that one.
    pub source: Option<Option<String>>,
}

/// `/unsubscribe query: [member:]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// As typed (trimmed); looked up by its canonical form first.
    pub query: String,
    /// Admins: another member's subscription.
    pub member: Option<u64>,
}

pub fn parse_subscribe(options: Options<'_>) -> Result<Subscribe, UserError> {
    let raw = options.required_str("query", "/subscribe query: Meta")?;
    let parts = split_queries(&raw);
    if parts.is_empty() {
        return Err(UserError::NoQueries);
    }
    if parts.len() > MAX_QUERIES_PER_COMMAND {
        return Err(UserError::TooManyQueries { count: parts.len() });
    }
    let queries = parts
        .iter()
        .map(|part| super::clean_query(part))
        .collect::<Result<Vec<_>, _>>()?;
    let at = options.str("at");
    let cadence = match (options.str("mode"), &at) {
        (None, None) => None,
        // A time alone means a daily digest at that time.
        (mode, at) => Some(
            Cadence::parse(mode.as_deref().unwrap_or("daily"), at.as_deref())
                .map_err(UserError::Invalid)?,
        ),
    };
    if matches!(cadence, Some(Cadence::Instant | Cadence::Hourly)) && at.is_some() {
        return Err(UserError::AtWithoutDaily);
    }
    let source = options.str("source").map(|s| {
        let s = s.trim().to_string();
        let every =
            s.is_empty() || matches!(s.to_ascii_lowercase().as_str(), "any" | "all" | "every");
        (!every).then_some(s)
    });
    Ok(Subscribe {
        queries,
        channel: options.channel("channel"),
        dm: options.flag("dm"),
        cadence,
        source,
    })
}

pub fn parse_unsubscribe(options: Options<'_>) -> Result<Unsubscribe, UserError> {
    let query = options.required_str("query", "/unsubscribe query: Meta")?;
    Ok(Unsubscribe {
        query: query.trim().to_string(),
        member: options.user("member"),
    })
}

/// Where the alerts go: DMs when asked, else the channel given, else the server's alert
/// channel, else the channel the command was typed in.
pub fn choose_target(
    inv: &Invocation,
    request: &Subscribe,
    alert_channel: Option<Target>,
) -> Target {
    if request.dm {
        Target::Dm(inv.user_id)
    } else if let Some(channel) = request.channel {
        Target::Channel(channel)
    } else {
        alert_channel.unwrap_or(Target::Channel(inv.channel_id))
    }
}

/// `source:` as this server's sources spell it (any case), or the names it could have been.
pub fn resolve_source(
    requested: Option<Option<String>>,
    visible: &[String],
) -> Result<Option<Option<String>>, UserError> {
    match requested {
        Some(Some(name)) => match visible.iter().find(|v| v.eq_ignore_ascii_case(&name)) {
            Some(spelled) => Ok(Some(Some(spelled.clone()))),
            None => Err(UserError::UnknownSource {
                name,
                known: visible.to_vec(),
            }),
        },
        other => Ok(other),
    }
}

/// The member-facing refusal for a full quota.
pub fn quota_error(refused: QuotaExceeded, quota: Quota) -> UserError {
    match refused {
        QuotaExceeded::Member { held } => UserError::MemberQuota {
            held,
            limit: quota.per_member,
        },
        QuotaExceeded::Server => UserError::ServerQuota {
            limit: quota.per_server,
        },
    }
}

/// What `/subscribe` did: added and existing queries, where they go, from which source, how
/// they deliver, and a reminder when alerts are paused.
pub fn subscribed_reply(
    outcome: &Subscribed,
    target: &Target,
    cadence: Option<Cadence>,
    source: Option<&Option<String>>,
) -> Reply {
    let mut text = String::new();
    if !outcome.added.is_empty() {
        text.push_str(&format!(
            "Subscribed to {} — alerts go to {}.",
            code_list(&outcome.added),
            describe(target)
        ));
    }
    if !outcome.existing.is_empty() {
        let verb = if cadence.is_some() || source.is_some() {
            "Updated"
        } else {
            "Already subscribed"
        };
        text.push_str(&format!(" {verb}: {}.", code_list(&outcome.existing)));
    }
    match source {
        Some(Some(name)) => {
            text.push_str(&format!(" Only items from **{}**.", escape_markdown(name)));
        }
        Some(None) => text.push_str(" From every source."),
        None => {}
    }
    match cadence {
        Some(Cadence::Hourly) => {
            text.push_str(" They arrive as one **hourly digest** instead of a ping per item.");
        }
        Some(Cadence::Daily(at)) => {
            let timezone = outcome.settings.timezone.as_deref();
            text.push_str(&format!(
                " They arrive as one **daily digest** at {} ({}).",
                at.format("%H:%M"),
                timezone.unwrap_or("UTC")
            ));
            if timezone.is_none() {
                text.push_str(" Set your time zone with `/settings timezone:`.");
            }
        }
        Some(Cadence::Instant) => text.push_str(" You'll be pinged for each item as it is found."),
        None => {}
    }
    if outcome.paused {
        text.push_str(" Your alerts are paused; `/resume` to get them.");
    }
    Reply::private(text.trim())
}

/// "Removed N subscription(s)."
pub fn unsubscribed_reply(removed: usize) -> Reply {
    Reply::private(format!(
        "Removed {removed} subscription{}.",
        plural(removed)
    ))
}

/// Runs `/subscribe`.
pub async fn subscribe(caller: &Caller<'_>, request: Subscribe) -> Result<Reply, CommandError> {
    let store = caller.store();
    let alert_channel = store.alert_channel(&caller.guild).await?;
    let target = choose_target(caller.inv, &request, alert_channel);
    if let Target::Channel(id) = target {
        caller.inv.check_can_post(id)?;
    }
    let source = if matches!(request.source, Some(Some(_))) {
        let visible: Vec<String> = store
            .visible_sources(&caller.guild)
            .await?
            .into_iter()
            .map(|s| s.name)
            .collect();
        resolve_source(request.source, &visible)?
    } else {
        request.source
    };
    let quota = Quota {
        per_member: caller.state.discord.max_subscriptions_per_member,
        per_server: caller.state.discord.max_subscriptions_per_server,
    };
    let new = NewSubscriptions {
        guild: caller.guild.clone(),
        user: caller.user.clone(),
        queries: request.queries,
        target: target.clone(),
        cadence: request.cadence,
        source: source.clone(),
    };
    let outcome = store
        .add_member_subscriptions(new, quota, caller.now)
        .await?
        .map_err(|refused| quota_error(refused, quota))?;
    caller
        .app()
        .reload_member(&caller.guild, &caller.user)
        .await?;
    Ok(subscribed_reply(
        &outcome,
        &target,
        request.cadence,
        source.as_ref(),
    ))
}

/// Runs `/unsubscribe`.
pub async fn unsubscribe(caller: &Caller<'_>, request: Unsubscribe) -> Result<Reply, CommandError> {
    let whose = caller
        .inv
        .whose(request.member, UserError::NotYourSubscription)?
        .to_string();
    let removed = caller
        .store()
        .remove_member_subscription(&caller.guild, &whose, query_spellings(&request.query))
        .await?;
    if removed == 0 {
        return Err(UserError::NoSuchSubscription.into());
    }
    caller.app().reload_member(&caller.guild, &whose).await?;
    Ok(unsubscribed_reply(removed))
}

/// Source names containing `typed` (lower-case), for `source:`.
pub fn source_choices(sources: &[SourceRow], typed: &str) -> Vec<Choice> {
    sources
        .iter()
        .map(|s| s.name.chars().take(CHOICE_TEXT_MAX).collect::<String>())
        .filter(|name| name.to_lowercase().contains(typed))
        .take(AUTOCOMPLETE_CHOICES_MAX)
        .map(|name| Choice::new(&name, &name))
        .collect()
}

pub fn subscribe_definition() -> CreateCommand {
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
        .add_option(CreateCommandOption::new(CommandOptionType::String, "source", "Only items from this source (or: any)").set_autocomplete(true).max_length(option_length(MAX_SOURCE_NAME)))
}

pub fn unsubscribe_definition() -> CreateCommand {
    CreateCommand::new("unsubscribe")
        .description("Stop one of your subscriptions")
        .dm_permission(false)
        .add_option(query_option("The subscription to remove").set_autocomplete(true))
        .add_option(CreateCommandOption::new(
            CommandOptionType::User,
            "member",
            "Admins: remove another member's subscription",
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::commands::tests::{invocation, s};
    use crate::discord::commands::OptValue;
    use crate::store::digest::MemberSettings;

    fn parse(options: &[(&str, OptValue)]) -> Result<Subscribe, UserError> {
        let options: Vec<(String, OptValue)> = options
            .iter()
            .map(|(n, v)| ((*n).to_string(), v.clone()))
            .collect();
        parse_subscribe(Options(&options))
    }

    fn request(queries: &[&str]) -> Subscribe {
        Subscribe {
            queries: queries.iter().map(ToString::to_string).collect(),
            channel: None,
            dm: false,
            cadence: None,
            source: None,
        }
    }

    fn outcome(added: &[&str], existing: &[&str]) -> Subscribed {
        Subscribed {
            added: added.iter().map(ToString::to_string).collect(),
            existing: existing.iter().map(ToString::to_string).collect(),
            settings: MemberSettings::default(),
            paused: false,
        }
    }

    #[test]
    fn commas_outside_quotes_make_several_subscriptions() {
        let request = parse(&[("query", s("Meta, \"Google, Cloud\" Gemini"))]).unwrap();
        assert_eq!(request.queries, vec!["Meta", "\"Google, Cloud\" Gemini"]);
        assert_eq!(request.cadence, None);
    }

    #[test]
    fn missing_query_shows_an_example() {
        assert_eq!(
            parse(&[]).unwrap_err().to_string(),
            "Missing `query`. Try `/subscribe query: Meta`."
        );
    }

    #[test]
    fn only_commas_is_an_empty_query() {
        let err = parse(&[("query", s(" , ,"))]).unwrap_err();
        assert_eq!(err, UserError::NoQueries);
        assert_eq!(err.to_string(), "The query is empty. Try `/subscribe query: Meta` or several at once: `/subscribe query: Meta, Gemini`.");
    }

    #[test]
    fn whitespace_query_says_what_to_type() {
        let err = parse(&[("query", s("   "))]).unwrap_err();
        assert!(err.to_string().contains("/subscribe query: Meta"), "{err}");
    }

    #[test]
    fn more_than_ten_at_once_is_refused() {
        let many = (0..11)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(
            parse(&[("query", s(&many))]).unwrap_err().to_string(),
            "That is 11 subscriptions at once; add at most 10 per command."
        );
    }

    #[test]
    fn one_bad_query_refuses_the_command() {
        let err = parse(&[("query", s("Meta, \"Google Cloud"))]).unwrap_err();
        assert!(err.to_string().contains("never closed"), "{err}");
    }

    #[test]
    fn a_time_alone_means_a_daily_digest() {
        let request = parse(&[("query", s("Meta")), ("at", s("18:30"))]).unwrap();
        assert_eq!(request.cadence.map(Cadence::mode), Some("daily"));
        assert_eq!(
            request.cadence.and_then(Cadence::at).as_deref(),
            Some("18:30")
        );
    }

    #[test]
    fn at_with_hourly_is_refused() {
        let err = parse(&[
            ("query", s("Meta")),
            ("mode", s("hourly")),
            ("at", s("08:00")),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`at:` is the time of a daily digest. Use `mode: daily at: 08:00`, or leave `at:` out."
        );
    }

    #[test]
    fn unknown_mode_passes_the_parsers_message() {
        let err = parse(&[("query", s("Meta")), ("mode", s("weekly"))]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`weekly` is not a delivery mode."),
            "{err}"
        );
    }

    #[test]
    fn source_any_means_every_source() {
        let any = parse(&[("query", s("Meta")), ("source", s(" Any "))]).unwrap();
        assert_eq!(any.source, Some(None));
        let one = parse(&[("query", s("Meta")), ("source", s(" Tech Wire "))]).unwrap();
        assert_eq!(one.source, Some(Some("Tech Wire".into())));
    }

    #[test]
    fn target_is_dm_then_channel_then_server_default_then_here() {
        let inv = invocation();
        let mut req = request(&["Meta"]);
        assert_eq!(
            choose_target(&inv, &req, None),
            Target::Channel(inv.channel_id)
        );
        assert_eq!(
            choose_target(&inv, &req, Some(Target::Channel(8))),
            Target::Channel(8)
        );
        req.channel = Some(5);
        assert_eq!(
            choose_target(&inv, &req, Some(Target::Channel(8))),
            Target::Channel(5)
        );
        req.dm = true;
        assert_eq!(
            choose_target(&inv, &req, Some(Target::Channel(8))),
            Target::Dm(inv.user_id)
        );
    }

    #[test]
    fn source_is_stored_as_the_server_spells_it() {
        let visible = vec!["Tech Wire".to_string()];
        assert_eq!(
            resolve_source(Some(Some("tech wire".into())), &visible),
            Ok(Some(Some("Tech Wire".into())))
        );
        assert_eq!(resolve_source(Some(None), &visible), Ok(Some(None)));
        let err = resolve_source(Some(Some("Wire".into())), &visible).unwrap_err();
        assert_eq!(
            err.to_string(),
            "No source named `Wire` feeds this server. Pick one from the suggestions: `Tech Wire`."
        );
    }

    #[test]
    fn quota_errors_name_the_limit() {
        let quota = Quota {
            per_member: 25,
            per_server: 1000,
        };
        assert_eq!(
            quota_error(QuotaExceeded::Member { held: 25 }, quota).to_string(),
            "You have 25 subscriptions; the limit is 25 per member. Remove some with `/unsubscribe` first."
        );
        assert_eq!(
            quota_error(QuotaExceeded::Server, quota).to_string(),
            "This server has reached its limit of 1000 subscriptions. Ask an admin to clean up with `/subscriptions member:`."
        );
    }

    #[test]
    fn subscribed_reply_says_where_alerts_go() {
        let reply = subscribed_reply(
            &outcome(&["Meta", "Gemini"], &[]),
            &Target::Channel(9),
            None,
            None,
        );
        assert!(reply.ephemeral);
        assert_eq!(
            reply.content,
            "Subscribed to `Meta`, `Gemini` — alerts go to <#9>."
        );
    }

    #[test]
    fn existing_subscriptions_are_already_there_or_updated() {
        let again = subscribed_reply(&outcome(&[], &["Meta"]), &Target::Dm(3), None, None);
        assert_eq!(again.content, "Already subscribed: `Meta`.");
        let updated = subscribed_reply(
            &outcome(&[], &["Meta"]),
            &Target::Dm(3),
            Some(Cadence::Hourly),
            None,
        );
        assert_eq!(
            updated.content,
            "Updated: `Meta`. They arrive as one **hourly digest** instead of a ping per item."
        );
    }

    #[test]
    fn daily_digest_reply_names_the_time_zone_or_asks_for_one() {
        let daily = Cadence::parse("daily", Some("08:00")).unwrap();
        let reply = subscribed_reply(
            &outcome(&["Meta"], &[]),
            &Target::Dm(3),
            Some(daily),
            Some(&None),
        );
        assert_eq!(
            reply.content,
            "Subscribed to `Meta` — alerts go to direct message. From every source. They arrive as one **daily digest** at 08:00 (UTC). Set your time zone with `/settings timezone:`."
        );
        let mut paris = outcome(&["Meta"], &[]);
        paris.settings.timezone = Some("Europe/Paris".into());
        let reply = subscribed_reply(&paris, &Target::Dm(3), Some(daily), None);
        assert!(
            reply.content.ends_with("at 08:00 (Europe/Paris)."),
            "{}",
            reply.content
        );
    }

    #[test]
    fn subscribed_reply_mentions_source_instant_mode_and_pause() {
        let mut paused = outcome(&["Meta"], &[]);
        paused.paused = true;
        let only = Some("Tech_Wire".to_string());
        let reply = subscribed_reply(
            &paused,
            &Target::Channel(9),
            Some(Cadence::Instant),
            Some(&only),
        );
        assert_eq!(
            reply.content,
            "Subscribed to `Meta` — alerts go to <#9>. Only items from **Tech\\_Wire**. You'll be pinged for each item as it is found. Your alerts are paused; `/resume` to get them."
        );
    }

    #[test]
    fn unsubscribe_trims_and_counts() {
        let options = vec![("query".to_string(), s("  Meta "))];
        assert_eq!(
            parse_unsubscribe(Options(&options)),
            Ok(Unsubscribe {
                query: "Meta".into(),
                member: None
            })
        );
        assert_eq!(
            parse_unsubscribe(Options(&[])).unwrap_err().to_string(),
            "Missing `query`. Try `/unsubscribe query: Meta`."
        );
        assert_eq!(unsubscribed_reply(1).content, "Removed 1 subscription.");
        assert_eq!(unsubscribed_reply(2).content, "Removed 2 subscriptions.");
        assert_eq!(
            UserError::NoSuchSubscription.to_string(),
            "No subscription with that query. `/subscriptions` lists them; pick one from the suggestions as you type."
        );
        assert_eq!(
            UserError::NotYourSubscription.to_string(),
            "Only admins (Manage Server) can remove another member's subscriptions. Use `/unsubscribe query:` for your own."
        );
    }
}
