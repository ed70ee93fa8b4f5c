//! `/preview`: what a query would have matched among the items seen in the last 24 hours.

use serenity::all::CreateCommand;

use super::{
    clean_query, fence_safe, query_option, Caller, CommandError, Options, Reply, UserError,
};
use crate::core::limits::{escape_markdown, MESSAGE_CONTENT_MAX};
use crate::core::matcher::{Document, Matcher};
use crate::core::query::{self, Query};
use crate::store::discord::RecentItem;

/// How far back `/preview` looks.
pub const WINDOW_HOURS: i64 = 24;
/// Most recent items scanned.
pub const SCANNED_ITEMS: usize = 5000;
/// Matches listed (the rest are counted).
pub const LISTED_MATCHES: usize = 10;
/// Room kept in the message for the "…and N more." line.
const MORE_LINE_ROOM: usize = 100;

/// `/preview query:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Canonical.
    pub query: String,
}

pub fn parse(options: Options<'_>) -> Result<Preview, UserError> {
    let raw = options.required_str("query", "/preview query: Meta")?;
    Ok(Preview {
        query: clean_query(&raw)?,
    })
}

/// One item the query matched, with the terms found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'a> {
    pub item: &'a RecentItem,
    pub matched: Vec<String>,
}

/// The items `query` matches, in the order given.
pub fn hits(query: Query, items: &[RecentItem]) -> Vec<Hit<'_>> {
    let matcher = Matcher::new([(0_usize, query)]);
    items
        .iter()
        .filter_map(|item| {
            let doc = Document {
                title: &item.title,
                body: &item.body,
            };
            let first = matcher.match_document(&doc).into_iter().next()?;
            Some(Hit {
                item,
                matched: first.matched,
            })
        })
        .collect()
}

/// The matches (the first [`LISTED_MATCHES`], as many as fit one message) out of `scanned`.
pub fn preview_reply(query: &str, hits: &[Hit<'_>], scanned: usize) -> Reply {
    if hits.is_empty() {
        return Reply::private(format!(
            "`{}` matched nothing among the {scanned} items seen in the last {WINDOW_HOURS} hours.",
            fence_safe(query)
        ));
    }
    let mut text = format!(
        "`{}` matched {} of the {scanned} items seen in the last {WINDOW_HOURS} hours:\n",
        fence_safe(query),
        hits.len()
    );
    for hit in hits.iter().take(LISTED_MATCHES) {
        let line = hit_line(hit);
        if text.chars().count() + line.chars().count() > MESSAGE_CONTENT_MAX - MORE_LINE_ROOM {
            break;
        }
        text.push_str(&line);
    }
    if hits.len() > LISTED_MATCHES {
        text.push_str(&format!("…and {} more.", hits.len() - LISTED_MATCHES));
    }
    Reply::private(text)
}

/// "• [Title](<link>) — Source (matched a, b)".
fn hit_line(hit: &Hit<'_>) -> String {
    let title = escape_markdown(&hit.item.title);
    let shown = match &hit.item.link {
        Some(link) => format!("[{title}](<{link}>)"),
        None => title,
    };
    format!(
        "• {shown} — {} (matched {})\n",
        hit.item.source,
        hit.matched.join(", ")
    )
}

/// Runs `/preview`.
pub async fn run(caller: &Caller<'_>, request: Preview) -> Result<Reply, CommandError> {
    let parsed = query::parse(&request.query).map_err(|e| UserError::Invalid(e.to_string()))?;
    let since = caller.now - chrono::Duration::hours(WINDOW_HOURS);
    let items = caller
        .store()
        .recent_items(&caller.guild, since, SCANNED_ITEMS)
        .await?;
    Ok(preview_reply(
        &request.query,
        &hits(parsed, &items),
        items.len(),
    ))
}

pub fn definition() -> CreateCommand {
    CreateCommand::new("preview")
        .description("See what a query would have matched in the last 24 hours")
        .dm_permission(false)
        .add_option(query_option("The query to try, e.g. Meta -metaverse"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::commands::tests::s;

    fn item(title: &str, link: Option<&str>) -> RecentItem {
        RecentItem {
            source: "Wire".into(),
            title: title.into(),
            link: link.map(Into::into),
            body: String::new(),
            fetched_at: None,
        }
    }

    fn run_preview(query: &str, items: &[RecentItem]) -> Reply {
        let found = hits(query::parse(query).unwrap(), items);
        preview_reply(query, &found, items.len())
    }

    #[test]
    fn query_is_cleaned_before_the_preview() {
        let options = vec![("query".to_string(), s(" Meta "))];
        assert_eq!(parse(Options(&options)).unwrap().query, "Meta");
        assert_eq!(
            parse(Options(&[])).unwrap_err().to_string(),
            "Missing `query`. Try `/preview query: Meta`."
        );
    }

    #[test]
    fn nothing_matched_says_how_many_were_scanned() {
        let reply = run_preview("Meta", &[item("Gemini ships", None)]);
        assert_eq!(
            reply.content,
            "`Meta` matched nothing among the 1 items seen in the last 24 hours."
        );
    }

    #[test]
    fn matches_are_listed_with_links_and_terms() {
        let items = [
            item("Meta buys a_thing", Some("https://x.test/1")),
            item("Gemini ships", None),
            item("Meta again", None),
        ];
        let reply = run_preview("Meta", &items);
        assert_eq!(
            reply.content,
            "`Meta` matched 2 of the 3 items seen in the last 24 hours:\n• [Meta buys a\\_thing](<https://x.test/1>) — Wire (matched Meta)\n• Meta again — Wire (matched Meta)\n"
        );
    }

    #[test]
    fn many_matches_are_capped_and_counted() {
        let items: Vec<RecentItem> = (0..13).map(|i| item(&format!("Meta {i}"), None)).collect();
        let reply = run_preview("Meta", &items);
        assert_eq!(reply.content.matches("\n• ").count(), LISTED_MATCHES);
        assert!(reply.content.ends_with("…and 3 more."), "{}", reply.content);
    }

    #[test]
    fn long_titles_keep_the_reply_in_one_message() {
        let long = format!("Meta {}", "word ".repeat(150));
        let items: Vec<RecentItem> = (0..10).map(|_| item(&long, None)).collect();
        let reply = run_preview("Meta", &items);
        assert!(reply.content.chars().count() <= MESSAGE_CONTENT_MAX);
        assert!(reply.content.matches("\n• ").count() < LISTED_MATCHES);
    }
}
