//! A member's noise controls: `/settings` (time zone, quiet hours, hourly cap), `/snooze` (one
//! subscription for a while) and `/pause` / `/resume` (every alert, subscriptions kept).

use chrono::{DateTime, Utc};
use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption};

use super::{
    is_off, query_option, query_spellings, Caller, Choice, CommandError, Options, Reply, UserError,
    MAX_HOURLY_CAP,
};
use crate::core::digest::{self, parse_timezone, QuietHours};
use crate::core::limits::AUTOCOMPLETE_CHOICES_MAX;
use crate::store::commands::SettingsChange;
use crate::store::digest::MemberSettings;

/// `/settings [timezone:] [quiet_hours:] [max_per_hour:]`; nothing given shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// IANA name, as the tz database spells it.
    pub timezone: Option<String>,
    /// `Some(None)`: turn quiet hours off.
    pub quiet_hours: Option<Option<QuietHours>>,
    /// `Some(None)`: no cap.
    pub max_per_hour: Option<Option<u32>>,
}

impl Settings {
    /// The change to store (quiet hours in their stored `HH:MM-HH:MM` form).
    pub fn change(self) -> SettingsChange {
        SettingsChange {
            timezone: self.timezone,
            quiet_hours: self.quiet_hours.map(|quiet| {
                quiet.map(|q| format!("{}-{}", q.start.format("%H:%M"), q.end.format("%H:%M")))
            }),
            hourly_cap: self.max_per_hour,
        }
    }
}

/// `/snooze query: for:`; `duration: None` ends a snooze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snooze {
    pub query: String,
    pub duration: Option<chrono::Duration>,
}

pub fn parse_settings(options: Options<'_>) -> Result<Settings, UserError> {
    let timezone = match options.str("timezone") {
        Some(tz) => Some(
            parse_timezone(&tz)
                .map_err(UserError::Invalid)?
                .name()
                .to_string(),
        ),
        None => None,
    };
    let quiet_hours = match options.str("quiet_hours") {
        Some(text) if is_off(&text) => Some(None),
        Some(text) => Some(Some(QuietHours::parse(&text).map_err(UserError::Invalid)?)),
        None => None,
    };
    let max_per_hour = match options.int("max_per_hour") {
        Some(0) => Some(None),
        Some(n) => Some(Some(
            u32::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_HOURLY_CAP)
                .ok_or(UserError::HourlyCapRange)?,
        )),
        None => None,
    };
    Ok(Settings {
        timezone,
        quiet_hours,
        max_per_hour,
    })
}

pub fn parse_snooze(options: Options<'_>) -> Result<Snooze, UserError> {
    const EXAMPLE: &str = "/snooze query: Meta for: 3d";
    let query = options.required_str("query", EXAMPLE)?;
    let length = options.required_str("for", EXAMPLE)?;
    let duration = if is_off(&length) {
        None
    } else {
        Some(digest::parse_snooze(&length).map_err(UserError::Invalid)?)
    };
    Ok(Snooze {
        query: query.trim().to_string(),
        duration,
    })
}

/// "Time zone: … · Quiet hours: … · Pings per hour: …", on its own line.
pub fn settings_line(settings: &MemberSettings) -> String {
    let prefs = settings.prefs();
    format!(
        "\nTime zone: **{}** · Quiet hours: **{}** · Pings per hour: **{}**",
        prefs.timezone.name(),
        prefs
            .quiet
            .map_or_else(|| "off".to_string(), |q| q.to_string()),
        prefs
            .hourly_cap
            .map_or_else(|| "no limit".to_string(), |n| n.to_string())
    )
}

/// The member's settings (`saved`: just changed) and their local time, to catch a wrong zone.
pub fn settings_reply(settings: &MemberSettings, saved: bool, now: DateTime<Utc>) -> Reply {
    let mut text = if saved {
        "Saved. Your settings:".to_string()
    } else {
        "Your settings:".to_string()
    };
    text.push_str(&settings_line(settings));
    let local = now.with_timezone(&settings.prefs().timezone);
    text.push_str(&format!(
        "\nYour local time is {} — if that is wrong, set `timezone:`.",
        local.format("%H:%M")
    ));
    Reply::private(text)
}

/// Until when a subscription is snoozed, or that it is awake again.
pub fn snoozed_reply(until: Option<DateTime<Utc>>) -> Reply {
    Reply::private(match until {
        Some(until) => format!(
            "Snoozed until <t:{0}:f> (<t:{0}:R>). Items it matches meanwhile are skipped; `/snooze for: off` wakes it early.",
            until.timestamp()
        ),
        None => "Snooze ended: this subscription alerts again.".to_string(),
    })
}

pub fn paused_reply(paused: bool) -> Reply {
    Reply::private(if paused {
        "Your alerts are paused; your subscriptions are kept. `/resume` to get alerts again."
    } else {
        "Your alerts are back on."
    })
}

/// Runs `/settings`.
pub async fn settings(caller: &Caller<'_>, request: Settings) -> Result<Reply, CommandError> {
    let change = request.change();
    let saved = !change.is_empty();
    let settings = caller
        .store()
        .change_member_settings(&caller.guild, &caller.user, change)
        .await?;
    Ok(settings_reply(&settings, saved, caller.now))
}

/// Runs `/snooze`.
pub async fn snooze(caller: &Caller<'_>, request: Snooze) -> Result<Reply, CommandError> {
    let until = request.duration.map(|d| caller.now + d);
    let changed = caller
        .store()
        .snooze_member_subscription(
            &caller.guild,
            &caller.user,
            query_spellings(&request.query),
            until,
        )
        .await?;
    if changed == 0 {
        return Err(UserError::NoSuchSubscription.into());
    }
    caller
        .app()
        .reload_member(&caller.guild, &caller.user)
        .await?;
    Ok(snoozed_reply(until))
}

/// Runs `/pause` (`paused`) or `/resume`.
pub async fn pause(caller: &Caller<'_>, paused: bool) -> Result<Reply, CommandError> {
    caller
        .store()
        .set_member_paused(&caller.guild, &caller.user, paused)
        .await?;
    caller
        .app()
        .reload_member(&caller.guild, &caller.user)
        .await?;
    Ok(paused_reply(paused))
}

/// IANA time zone names containing `typed` (lower-case).
pub fn timezone_choices(typed: &str) -> Vec<Choice> {
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .filter(|name| name.to_lowercase().contains(typed))
        .take(AUTOCOMPLETE_CHOICES_MAX)
        .map(|name| Choice::new(name, name))
        .collect()
}

pub fn snooze_definition() -> CreateCommand {
    CreateCommand::new("snooze")
        .description("Silence one of your subscriptions for a while")
        .dm_permission(false)
        .add_option(query_option("The subscription to snooze").set_autocomplete(true))
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                "for",
                "How long: 30m, 2h, 3d, 1w (max 90 days), or off",
            )
            .required(true)
            .max_length(20),
        )
}

pub fn settings_definition() -> CreateCommand {
    CreateCommand::new("settings")
        .description("Your time zone, quiet hours and alert limit (no options: show them)")
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                "timezone",
                "Your time zone, e.g. Europe/Paris",
            )
            .set_autocomplete(true)
            .max_length(64),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                "quiet_hours",
                "No pings between, e.g. 22:00-07:00 (held for a digest), or off",
            )
            .max_length(20),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::Integer,
                "max_per_hour",
                "At most this many pings an hour, the rest in a digest (0: no limit)",
            )
            .min_int_value(0)
            .max_int_value(u64::from(MAX_HOURLY_CAP)),
        )
}

pub fn pause_definition() -> CreateCommand {
    CreateCommand::new("pause")
        .description("Pause your alerts (subscriptions are kept)")
        .dm_permission(false)
}

pub fn resume_definition() -> CreateCommand {
    CreateCommand::new("resume")
        .description("Resume your alerts")
        .dm_permission(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::commands::tests::s;
    use crate::discord::commands::OptValue;

    fn options(pairs: &[(&str, OptValue)]) -> Vec<(String, OptValue)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_string(), v.clone()))
            .collect()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn no_options_changes_nothing() {
        let request = parse_settings(Options(&[])).unwrap();
        assert!(request.change().is_empty());
    }

    #[test]
    fn settings_are_read_into_a_change() {
        let opts = options(&[
            ("timezone", s("europe/paris")),
            ("quiet_hours", s("22:00-07:00")),
            ("max_per_hour", OptValue::Int(5)),
        ]);
        let change = parse_settings(Options(&opts)).unwrap().change();
        assert_eq!(change.timezone.as_deref(), Some("Europe/Paris"));
        assert_eq!(change.quiet_hours, Some(Some("22:00-07:00".into())));
        assert_eq!(change.hourly_cap, Some(Some(5)));
    }

    #[test]
    fn off_and_zero_turn_settings_off() {
        let opts = options(&[
            ("quiet_hours", s("off")),
            ("max_per_hour", OptValue::Int(0)),
        ]);
        let change = parse_settings(Options(&opts)).unwrap().change();
        assert_eq!(change.quiet_hours, Some(None));
        assert_eq!(change.hourly_cap, Some(None));
    }

    #[test]
    fn bad_settings_say_what_to_type() {
        let tz = parse_settings(Options(&options(&[("timezone", s("Mars/Olympus"))]))).unwrap_err();
        assert!(
            tz.to_string()
                .starts_with("`Mars/Olympus` is not a time zone name."),
            "{tz}"
        );
        let quiet = parse_settings(Options(&options(&[("quiet_hours", s("late"))]))).unwrap_err();
        assert!(quiet.to_string().contains("e.g. `22:00-07:00`"), "{quiet}");
        let cap = parse_settings(Options(&options(&[("max_per_hour", OptValue::Int(1001))])))
            .unwrap_err();
        assert_eq!(
            cap.to_string(),
            "`max_per_hour` is a number from 1 to 1000, or 0 for no limit."
        );
    }

    #[test]
    fn settings_reply_shows_values_and_local_time() {
        let settings = MemberSettings {
            timezone: Some("Europe/Paris".into()),
            quiet_hours: Some("22:00-07:00".into()),
            hourly_cap: Some(5),
        };
        // 1_700_000_000 is 22:13 UTC, 23:13 in Paris.
        assert_eq!(
            settings_reply(&settings, true, now()).content,
            "Saved. Your settings:\nTime zone: **Europe/Paris** · Quiet hours: **22:00–07:00** · Pings per hour: **5**\nYour local time is 23:13 — if that is wrong, set `timezone:`."
        );
        let shown = settings_reply(&MemberSettings::default(), false, now()).content;
        assert!(shown.starts_with("Your settings:\nTime zone: **UTC** · Quiet hours: **off** · Pings per hour: **no limit**"), "{shown}");
    }

    #[test]
    fn snooze_needs_query_and_length() {
        assert_eq!(
            parse_snooze(Options(&options(&[("query", s("Meta"))])))
                .unwrap_err()
                .to_string(),
            "Missing `for`. Try `/snooze query: Meta for: 3d`."
        );
        let request = parse_snooze(Options(&options(&[
            ("query", s(" Meta ")),
            ("for", s("3d")),
        ])))
        .unwrap();
        assert_eq!(request.query, "Meta");
        assert_eq!(request.duration, Some(chrono::Duration::days(3)));
        let off = parse_snooze(Options(&options(&[
            ("query", s("Meta")),
            ("for", s("off")),
        ])))
        .unwrap();
        assert_eq!(off.duration, None);
        assert!(parse_snooze(Options(&options(&[
            ("query", s("Meta")),
            ("for", s("forever"))
        ])))
        .is_err());
    }

    #[test]
    fn snooze_reply_gives_the_end_or_says_it_ended() {
        let until = now() + chrono::Duration::days(3);
        let ts = until.timestamp();
        assert_eq!(
            snoozed_reply(Some(until)).content,
            format!("Snoozed until <t:{ts}:f> (<t:{ts}:R>). Items it matches meanwhile are skipped; `/snooze for: off` wakes it early.")
        );
        assert_eq!(
            snoozed_reply(None).content,
            "Snooze ended: this subscription alerts again."
        );
    }

    #[test]
    fn pause_and_resume_replies() {
        assert_eq!(
            paused_reply(true).content,
            "Your alerts are paused; your subscriptions are kept. `/resume` to get alerts again."
        );
        assert_eq!(paused_reply(false).content, "Your alerts are back on.");
    }

    #[test]
    fn timezone_suggestions_match_what_is_typed() {
        let choices = timezone_choices("paris");
        assert_eq!(choices, vec![Choice::new("Europe/Paris", "Europe/Paris")]);
        assert_eq!(timezone_choices("").len(), AUTOCOMPLETE_CHOICES_MAX);
    }
}
