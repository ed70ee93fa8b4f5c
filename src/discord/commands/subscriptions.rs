//! `/subscriptions`: a member's subscriptions with where each delivers, its mode, source,
//! snooze and health, then their settings, held items and pause state.

use chrono::{DateTime, Utc};
use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption};

use super::settings::settings_line;
use super::{
    describe, fence_safe, plural, target_of, Caller, CommandError, Options, Reply, UserError,
};
use crate::core::digest::Cadence;
use crate::core::limits::escape_markdown;
use crate::store::commands::MemberOverview;
use crate::store::SubscriptionRow;

/// `/subscriptions [member:]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriptions {
    /// Admins: another member's list.
    pub member: Option<u64>,
}

pub fn parse(options: Options<'_>) -> Subscriptions {
    Subscriptions {
        member: options.user("member"),
    }
}

/// The list, for the member themself (`own`) or, for an admin, for `whose`.
pub fn overview_reply(
    overview: &MemberOverview,
    whose: u64,
    own: bool,
    now: DateTime<Utc>,
) -> Reply {
    if overview.subscriptions.is_empty() {
        return Reply::private(if own {
            "You have no subscriptions yet. Try `/subscribe query: Meta`.".to_string()
        } else {
            format!("<@{whose}> has no subscriptions in this server.")
        });
    }
    let mut text = if own {
        "Your subscriptions:\n".to_string()
    } else {
        format!("<@{whose}>'s subscriptions:\n")
    };
    for row in &overview.subscriptions {
        text.push_str(&subscription_line(row, overview, now));
        text.push('\n');
    }
    text.push_str(&settings_line(&overview.settings));
    if overview.held > 0 {
        text.push_str(&format!(
            "\n{} item{} waiting for the next digest.",
            overview.held,
            plural(overview.held)
        ));
    }
    if overview.paused {
        text.push_str("\nAlerts are **paused**; `/resume` to get them again.");
    }
    Reply::private(text)
}

/// "• `query` → #channel · daily at 08:00 · only from X · 💤 snoozed until … ⚠ not delivering: …"
fn subscription_line(
    row: &SubscriptionRow,
    overview: &MemberOverview,
    now: DateTime<Utc>,
) -> String {
    let mut line = format!(
        "• `{}` → {}",
        fence_safe(&row.query),
        describe(&target_of(row))
    );
    match Cadence::parse(&row.mode, row.digest_at.as_deref()) {
        Ok(Cadence::Instant) | Err(_) => {}
        Ok(cadence) => line.push_str(&format!(" · {cadence}")),
    }
    if let Some(only) = &row.source {
        line.push_str(&format!(" · only from {}", escape_markdown(only)));
    }
    if let Some(until) = row.snoozed_until.filter(|u| *u > now) {
        line.push_str(&format!(
            " · 💤 snoozed until <t:{0}:f> (<t:{0}:R>)",
            until.timestamp()
        ));
    }
    if let Some(broken) = overview.suspended.iter().find(|b| b.target == row.target) {
        line.push_str(&format!(
            " ⚠ not delivering: {} (alerts are kept)",
            broken.reason
        ));
    }
    line
}

/// Runs `/subscriptions`.
pub async fn run(caller: &Caller<'_>, request: Subscriptions) -> Result<Reply, CommandError> {
    let whose = caller.inv.whose(request.member, UserError::NotYourList)?;
    let overview = caller
        .store()
        .member_overview(&caller.guild, &whose.to_string())
        .await?;
    Ok(overview_reply(
        &overview,
        whose,
        whose == caller.inv.user_id,
        caller.now,
    ))
}

pub fn definition() -> CreateCommand {
    CreateCommand::new("subscriptions")
        .description("List your subscriptions and where they deliver")
        .dm_permission(false)
        .add_option(CreateCommandOption::new(
            CommandOptionType::User,
            "member",
            "Admins: list another member's subscriptions",
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::commands::tests::row;
    use crate::store::digest::MemberSettings;
    use crate::store::BrokenTarget;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    fn overview(rows: Vec<SubscriptionRow>) -> MemberOverview {
        MemberOverview {
            subscriptions: rows,
            paused: false,
            suspended: Vec::new(),
            settings: MemberSettings::default(),
            held: 0,
        }
    }

    #[test]
    fn no_subscriptions_suggests_a_first_one() {
        let empty = overview(Vec::new());
        assert_eq!(
            overview_reply(&empty, 3, true, now()).content,
            "You have no subscriptions yet. Try `/subscribe query: Meta`."
        );
        assert_eq!(
            overview_reply(&empty, 9, false, now()).content,
            "<@9> has no subscriptions in this server."
        );
    }

    #[test]
    fn each_subscription_shows_target_then_settings() {
        let reply = overview_reply(
            &overview(vec![row("Meta", "channel:5"), row("Gemini", "dm:3")]),
            3,
            true,
            now(),
        );
        assert_eq!(
            reply.content,
            "Your subscriptions:\n• `Meta` → <#5>\n• `Gemini` → direct message\n\nTime zone: **UTC** · Quiet hours: **off** · Pings per hour: **no limit**"
        );
    }

    #[test]
    fn mode_source_snooze_and_suspension_are_shown() {
        let mut meta = row("Meta", "channel:5");
        meta.mode = "daily".into();
        meta.digest_at = Some("08:00".into());
        meta.source = Some("Tech Wire".into());
        meta.snoozed_until = Some(now() + chrono::Duration::hours(1));
        let mut view = overview(vec![meta]);
        view.suspended.push(BrokenTarget {
            target: "channel:5".into(),
            reason: "missing permissions".into(),
            since: None,
            probed_at: None,
        });
        let text = overview_reply(&view, 9, false, now()).content;
        let ts = (now() + chrono::Duration::hours(1)).timestamp();
        assert!(
            text.starts_with("<@9>'s subscriptions:\n• `Meta` → <#5> · "),
            "{text}"
        );
        assert!(text.contains(" · only from Tech Wire"), "{text}");
        assert!(
            text.contains(&format!(" · 💤 snoozed until <t:{ts}:f> (<t:{ts}:R>)")),
            "{text}"
        );
        assert!(
            text.contains(" ⚠ not delivering: missing permissions (alerts are kept)"),
            "{text}"
        );
    }

    #[test]
    fn held_items_and_pause_close_the_list() {
        let mut view = overview(vec![row("Meta", "dm:3")]);
        view.held = 2;
        view.paused = true;
        let text = overview_reply(&view, 3, true, now()).content;
        assert!(
            text.ends_with("\n2 items waiting for the next digest.\nAlerts are **paused**; `/resume` to get them again."),
            "{text}"
        );
        view.held = 1;
        assert!(overview_reply(&view, 3, true, now())
            .content
            .contains("\n1 item waiting"));
    }

    #[test]
    fn listing_another_member_needs_admin() {
        assert_eq!(
            UserError::NotYourList.to_string(),
            "You can only list your own subscriptions. Admins (Manage Server) may pass `member:`."
        );
    }
}
