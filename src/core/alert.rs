//! From matches to alerts: one alert per item per delivery target, listing every member it is
//! for and every term that matched across their queries.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::matcher::Match;
use crate::core::model::Item;
use crate::core::summary;

/// Who a subscription belongs to and where its alerts go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user: String,
    pub target: String,
}

/// An alert to be written to the outbox: the item is known by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAlert {
    pub target: String,
    /// Members to notify, deduplicated, in first-match order.
    pub subscribers: Vec<String>,
    /// Matched terms across all those members' queries, deduplicated, in first-match order.
    pub matched: Vec<String>,
    /// A summary made for these matched terms, when it differs from the item's.
    pub summary: Option<String>,
}

/// Groups matches by target. `recipient(key)` looks a match's subscription up.
pub fn plan_alerts<K: Copy>(
    matches: &[Match<K>],
    recipient: impl Fn(K) -> Option<Recipient>,
) -> Vec<PlannedAlert> {
    let mut by_target: BTreeMap<String, PlannedAlert> = BTreeMap::new();
    for m in matches {
        let Some(r) = recipient(m.key) else { continue };
        let alert = by_target
            .entry(r.target.clone())
            .or_insert_with(|| PlannedAlert {
                target: r.target.clone(),
                subscribers: Vec::new(),
                matched: Vec::new(),
                summary: None,
            });
        // Channel-wide subscriptions have no user: the alert goes out without mentions.
        if !r.user.is_empty() && !alert.subscribers.contains(&r.user) {
            alert.subscribers.push(r.user);
        }
        for term in &m.matched {
            if !alert.matched.contains(term) {
                alert.matched.push(term.clone());
            }
        }
    }
    by_target.into_values().collect()
}

/// The plain text of an item that queries search: description, content and categories
/// (the title is searched separately), each on its own line so no phrase runs from one into
/// the next. Each is [`summary::html_to_text`]: a line wrap in the feed's text is a space, so
/// a phrase wrapped across lines still matches; blocks and blank lines stay breaks.
pub fn searchable_body(item: &Item) -> String {
    let mut body = summary::html_to_text(&item.summary_html);
    let content = summary::html_to_text(&item.content_html);
    if !content.is_empty() && content != body {
        body.push('\n');
        body.push_str(&content);
    }
    for category in &item.categories {
        body.push('\n');
        body.push_str(category);
    }
    body
}

/// An alert ready for a sink: what the member reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Outbox row id (not part of the JSON output).
    #[serde(skip)]
    pub id: i64,
    pub source: String,
    pub title: String,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub summary: String,
    pub matched: Vec<String>,
    pub subscribers: Vec<String>,
    pub target: String,
    pub image: Option<String>,
    /// Set when this alert is another source's report of a story already alerted in the same
    /// target: the id of that first alert (not part of the JSON output).
    #[serde(skip)]
    pub also_of: Option<i64>,
    /// Other sources' reports of the same story sent with this alert (they were still pending
    /// when it went out), oldest first.
    #[serde(skip)]
    pub also_covered: Vec<Report>,
}

/// Another source's report of an alert's story.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub source: String,
    pub link: Option<String>,
}

impl From<&Alert> for Report {
    fn from(alert: &Alert) -> Report {
        Report {
            source: alert.source.clone(),
            link: alert.link.clone(),
        }
    }
}

/// What a console alert says in place of the link when the feed gave the item none (an RSS
/// 1.0 item without `<link>`, say).
pub const NO_LINK: &str = "(no link: the feed gives none for this item)";

/// "Also covered by: Source (link), Source (link)".
pub fn also_covered_line(reports: &[Report]) -> String {
    let parts: Vec<String> = reports
        .iter()
        .map(|r| match &r.link {
            Some(link) => format!("{} ({link})", r.source),
            None => r.source.clone(),
        })
        .collect();
    format!("Also covered by: {}", parts.join(", "))
}

impl Alert {
    /// The alert as one JSON object on one line (`once --output json`).
    pub fn to_json_line(&self) -> String {
        let value = serde_json::json!({
            "source": self.source,
            "title": self.title,
            "link": self.link,
            "published": self.published.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "summary": self.summary,
            "matched": self.matched,
            "subscribers": self.subscribers,
            "target": self.target,
            "image": self.image,
        });
        let mut value = value;
        if !self.also_covered.is_empty() {
            value["also_covered_by"] = self
                .also_covered
                .iter()
                .map(|r| serde_json::json!({"source": r.source, "link": r.link}))
                .collect();
        }
        value.to_string()
    }

    /// A readable block for a terminal.
    pub fn to_text_block(&self) -> String {
        let when = self.published.map_or_else(
            || "undated".to_string(),
            |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
        );
        let mut out = format!("== {} | {when}\n{}\n", self.source, self.title);
        match &self.link {
            Some(link) => out.push_str(link),
            None => out.push_str(NO_LINK),
        }
        out.push('\n');
        if !self.summary.is_empty() {
            out.push_str(&self.summary);
            out.push('\n');
        }
        if !self.also_covered.is_empty() {
            out.push_str(&also_covered_line(&self.also_covered));
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "matched: {} | for: {} | to: {}",
            self.matched.join(", "),
            self.subscribers.join(", "),
            self.target
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(key: usize, terms: &[&str]) -> Match<usize> {
        Match {
            key,
            matched: terms.iter().map(|t| (*t).to_string()).collect(),
        }
    }

    #[test]
    fn one_alert_per_target_listing_every_member_and_term() {
        let recipients = [
            Recipient {
                user: "alice".into(),
                target: "alerts".into(),
            },
            Recipient {
                user: "alice".into(),
                target: "alerts".into(),
            },
            Recipient {
                user: "bob".into(),
                target: "alerts".into(),
            },
            Recipient {
                user: "carol".into(),
                target: "ai-news".into(),
            },
        ];
        let matches = [
            m(0, &["Meta"]),
            m(1, &["Gemini"]),
            m(2, &["Meta"]),
            m(3, &["Gemini"]),
        ];
        let alerts = plan_alerts(&matches, |k| recipients.get(k).cloned());
        assert_eq!(alerts.len(), 2);
        let alerts_channel = alerts.iter().find(|a| a.target == "alerts").unwrap();
        assert_eq!(alerts_channel.subscribers, vec!["alice", "bob"]);
        assert_eq!(alerts_channel.matched, vec!["Meta", "Gemini"]);
        let ai = alerts.iter().find(|a| a.target == "ai-news").unwrap();
        assert_eq!(ai.subscribers, vec!["carol"]);
    }

    #[test]
    fn body_includes_categories_but_not_duplicate_content() {
        let item = Item {
            summary_html: "<p>Same text</p>".into(),
            content_html: "Same text".into(),
            categories: vec!["Cloud".into()],
            ..Item::default()
        };
        assert_eq!(searchable_body(&item), "Same text\nCloud");
    }

    #[test]
    fn a_phrase_wrapped_across_lines_reads_as_one_but_paragraphs_stay_apart() {
        let item = Item {
            summary_html: "<p>Moving to Google\n      Cloud.</p><p>Google</p><p>Cloud</p>".into(),
            content_html: "Plain Google\nCloud.\n\nGoogle\n\nCloud".into(),
            ..Item::default()
        };
        assert_eq!(
            searchable_body(&item),
            "Moving to Google Cloud.\nGoogle\nCloud\nPlain Google Cloud.\nGoogle\nCloud"
        );
    }

    #[test]
    fn json_line_has_the_documented_keys() {
        let alert = Alert {
            id: 1,
            source: "Wire".into(),
            title: "T".into(),
            link: None,
            published: None,
            summary: String::new(),
            matched: vec!["Meta".into()],
            subscribers: vec!["alice".into()],
            target: "console".into(),
            image: None,
            also_of: None,
            also_covered: Vec::new(),
        };
        let value: serde_json::Value = serde_json::from_str(&alert.to_json_line()).unwrap();
        for key in [
            "source",
            "title",
            "link",
            "published",
            "summary",
            "matched",
            "subscribers",
            "target",
        ] {
            assert!(value.get(key).is_some(), "missing {key}");
        }
        assert!(value["published"].is_null());
    }

    #[test]
    fn a_console_alert_without_a_link_says_so() {
        let mut alert = Alert {
            id: 1,
            source: "Notes".into(),
            title: "Open night moved to Friday".into(),
            link: None,
            published: None,
            summary: "Clouds forecast.".into(),
            matched: vec!["night".into()],
            subscribers: vec!["alice".into()],
            target: "console".into(),
            image: None,
            also_of: None,
            also_covered: Vec::new(),
        };
        let block = alert.to_text_block();
        assert!(
            block.contains(&format!("Open night moved to Friday\n{NO_LINK}\n")),
            "{block}"
        );
        alert.link = Some("https://notes.example/open-night".into());
        let block = alert.to_text_block();
        assert!(!block.contains(NO_LINK), "{block}");
        assert!(
            block.contains("Friday\nhttps://notes.example/open-night\n"),
            "{block}"
        );
    }
}
