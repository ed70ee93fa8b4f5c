//! Hacker News through the Algolia HN Search API (`hn:` shorthands): its JSON answer mapped
//! to items. Pure.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::core::model::{Feed, Item};

/// The page of a Hacker News item.
fn item_page(id: &str) -> String {
    format!("https://news.ycombinator.com/item?id={id}")
}

/// The items of an Algolia HN Search answer (`{"hits": [...], "nbHits": …}`), or `None` when
/// `value` is not one. Each hit: its `title` (a comment's `story_title`), its `url` (else the
/// HN discussion page), `created_at`, and points, author and comments as the summary; the
/// `objectID` is the guid.
pub fn algolia_feed(value: &Value) -> Option<Feed> {
    let hits = value.get("hits")?.as_array()?;
    if value.get("nbHits").is_none() && value.get("hitsPerPage").is_none() {
        return None;
    }
    let items = hits.iter().filter_map(algolia_item).collect();
    Some(Feed {
        title: "Hacker News".to_string(),
        items,
        ttl_minutes: None,
        damaged: None,
    })
}

/// `key`'s string value in a JSON object, trimmed; `None` when absent or blank.
pub(super) fn text<'a>(hit: &'a Value, key: &str) -> Option<&'a str> {
    hit.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn algolia_item(hit: &Value) -> Option<Item> {
    let id = match hit.get("objectID") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return None,
    };
    let title = text(hit, "title").or_else(|| text(hit, "story_title"))?;
    let discussion = item_page(&id);
    let link = text(hit, "url")
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map_or_else(|| discussion.clone(), str::to_string);
    let published = text(hit, "created_at")
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| {
            hit.get("created_at_i")
                .and_then(Value::as_i64)
                .and_then(|secs| DateTime::from_timestamp(secs, 0))
        });
    let points = hit.get("points").and_then(Value::as_i64).unwrap_or(0);
    let comments = hit.get("num_comments").and_then(Value::as_i64).unwrap_or(0);
    let author = text(hit, "author").unwrap_or("unknown");
    let mut summary = format!(
        "{points} point{} by {} · {comments} comment{} · <a href=\"{discussion}\">discussion on Hacker News</a>",
        if points == 1 { "" } else { "s" },
        html_escape::encode_text(author),
        if comments == 1 { "" } else { "s" },
    );
    if let Some(story) = text(hit, "story_text") {
        summary.push_str("<p>");
        summary.push_str(story);
        summary.push_str("</p>");
    }
    Some(Item {
        guid: Some(format!("hn:{id}")),
        title: title.to_string(),
        link: Some(link),
        published,
        summary_html: summary,
        content_html: String::new(),
        categories: Vec::new(),
        image: None,
        points: Some(u32::try_from(points.max(0)).unwrap_or(u32::MAX)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"{
      "exhaustive": {"nbHits": false, "typo": false},
      "hits": [
        {"_highlightResult": {}, "_tags": ["story", "author_pg", "story_41234567", "front_page"],
         "author": "pg", "children": [41234999], "created_at": "2026-11-29T08:15:00Z",
         "created_at_i": 1795853700, "num_comments": 212, "objectID": "41234567", "points": 843,
         "story_id": 41234567, "title": "Rust 2027 edition announced",
         "updated_at": "2026-11-29T10:00:00Z", "url": "https://blog.rust-lang.org/2026/11/29/edition.html"},
        {"author": "dang", "created_at": "2026-11-29T07:00:00Z", "num_comments": 1,
         "objectID": "41234000", "points": 1, "title": "Ask HN: What are you working on?",
         "story_text": "Tell us about it.", "url": null},
        {"author": "x", "created_at": "2026-11-29T07:00:00Z", "objectID": "41230000"}
      ],
      "hitsPerPage": 20, "nbHits": 3, "nbPages": 1, "page": 0, "params": "tags=front_page",
      "processingTimeMS": 1, "query": ""
    }"#;

    #[test]
    fn hits_become_items_with_link_date_points_and_author() {
        let feed = algolia_feed(&serde_json::from_str(ANSWER).unwrap()).unwrap();
        assert_eq!(feed.title, "Hacker News");
        assert_eq!(feed.items.len(), 2, "a hit without a title is no item");
        let story = &feed.items[0];
        assert_eq!(story.title, "Rust 2027 edition announced");
        assert_eq!(
            story.link.as_deref(),
            Some("https://blog.rust-lang.org/2026/11/29/edition.html")
        );
        assert_eq!(story.guid.as_deref(), Some("hn:41234567"));
        assert_eq!(
            story.published.map(|d| d.to_rfc3339()),
            Some("2026-11-29T08:15:00+00:00".to_string())
        );
        assert!(
            story
                .summary_html
                .starts_with("843 points by pg · 212 comments"),
            "{}",
            story.summary_html
        );
        assert!(story
            .summary_html
            .contains("https://news.ycombinator.com/item?id=41234567"));
    }

    #[test]
    fn a_text_post_links_to_its_discussion() {
        let feed = algolia_feed(&serde_json::from_str(ANSWER).unwrap()).unwrap();
        let ask = &feed.items[1];
        assert_eq!(
            ask.link.as_deref(),
            Some("https://news.ycombinator.com/item?id=41234000")
        );
        assert!(ask.summary_html.starts_with("1 point by dang · 1 comment"));
        assert!(ask.summary_html.contains("Tell us about it."));
    }

    #[test]
    fn other_json_is_not_an_hn_answer() {
        assert_eq!(algolia_feed(&serde_json::json!({"items": []})), None);
        assert_eq!(algolia_feed(&serde_json::json!({"hits": "no"})), None);
        assert_eq!(algolia_feed(&serde_json::json!({"hits": []})), None);
    }
}
