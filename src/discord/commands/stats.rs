//! `/stats` (Manage Server): the server's sources and their health, alerts over the last day
//! and week, the terms matched most, and how many subscriptions and subscribed members it has.

use std::collections::HashMap;

use serenity::all::{CreateCommand, Permissions};

use super::sources::source_line;
use super::{Caller, CommandError, Reply};
use crate::core::limits::{escape_markdown, MESSAGE_CONTENT_MAX};
use crate::store::stats::ServerStats;

/// How many terms the reply lists.
pub const TOP_TERMS: usize = 10;

/// The most-matched terms, most first (ties by name), each counted once per alert.
pub fn top_terms(matched: &[Vec<String>], n: usize) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for alert in matched {
        let mut seen: Vec<String> = alert.iter().map(|t| t.to_lowercase()).collect();
        seen.sort();
        seen.dedup();
        for term in seen {
            *counts.entry(term).or_default() += 1;
        }
    }
    let mut terms: Vec<_> = counts.into_iter().collect();
    terms.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    terms.truncate(n);
    terms
}

/// The reply, always within one message: the summary first, then as many source lines as fit
/// (the rest counted).
pub fn stats_reply(stats: &ServerStats) -> Reply {
    let mut head = format!(
        "**Alerts**: {} in the last 24 h · {} in the last 7 days\n**Subscriptions**: {} ({} members with subscriptions)\n",
        stats.alerts_day, stats.alerts_week, stats.subscriptions, stats.members
    );
    let terms = top_terms(&stats.matched_week, TOP_TERMS);
    if terms.is_empty() {
        head.push_str("**Most matched (7 days)**: nothing yet\n");
    } else {
        let list: Vec<String> = terms
            .iter()
            .map(|(term, n)| format!("{} ({n})", escape_markdown(term)))
            .collect();
        head.push_str(&format!("**Most matched (7 days)**: {}\n", list.join(", ")));
    }
    head.push_str(&format!("**Sources** ({}):\n", stats.sources.len()));
    let mut text = head;
    for (i, source) in stats.sources.iter().enumerate() {
        let line = source_line(source);
        let rest = stats.sources.len() - i;
        let more = format!("… and {rest} more (`/sources list`)\n");
        if text.chars().count() + line.chars().count() + more.chars().count() > MESSAGE_CONTENT_MAX
        {
            text.push_str(&more);
            break;
        }
        text.push_str(&line);
    }
    Reply::private(text)
}

pub async fn run(caller: &Caller<'_>) -> Result<Reply, CommandError> {
    let stats = caller
        .store()
        .server_stats(&caller.guild, caller.now)
        .await?;
    Ok(stats_reply(&stats))
}

pub fn definition() -> CreateCommand {
    CreateCommand::new("stats")
        .description("This server's sources, alerts and most-matched terms")
        .dm_permission(false)
        .default_member_permissions(Permissions::MANAGE_GUILD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::SourceId;
    use crate::store::SourceRow;

    fn source(i: usize) -> SourceRow {
        SourceRow {
            id: SourceId(i as i64),
            url: format!("https://s{i}.example/feed"),
            guild_id: Some("1".into()),
            ..SourceRow::sample(&format!(
                "Source number {i} with a fairly long name to fill the message"
            ))
        }
    }

    #[test]
    fn terms_are_counted_once_per_alert_most_first() {
        let matched = vec![
            vec!["Meta".to_string(), "meta".to_string()],
            vec!["Gemini".to_string(), "Meta".to_string()],
            vec!["Apple".to_string()],
        ];
        assert_eq!(
            top_terms(&matched, 2),
            [("meta".to_string(), 2), ("apple".to_string(), 1)]
        );
    }

    #[test]
    fn reply_shows_the_numbers() {
        let stats = ServerStats {
            sources: vec![source(1)],
            alerts_day: 3,
            alerts_week: 7,
            matched_week: vec![vec!["Meta".into()]],
            subscriptions: 4,
            members: 2,
        };
        let text = stats_reply(&stats).content;
        assert!(
            text.contains("3 in the last 24 h · 7 in the last 7 days"),
            "{text}"
        );
        assert!(text.contains("4 (2 members with subscriptions)"), "{text}");
        assert!(text.contains("meta (1)"), "{text}");
        assert!(text.contains("Source number 1"), "{text}");
    }

    #[test]
    fn many_sources_fit_one_message() {
        let stats = ServerStats {
            sources: (0..200).map(source).collect(),
            ..ServerStats::default()
        };
        let reply = stats_reply(&stats);
        assert!(reply.content.chars().count() <= MESSAGE_CONTENT_MAX);
        assert!(
            reply.content.contains("more (`/sources list`)"),
            "{}",
            reply.content
        );
        assert!(reply.ephemeral);
    }
}
