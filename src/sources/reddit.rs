//! Reddit's JSON listings (`/r/NAME/.json`), read when a `reddit:` source has an engagement
//! threshold (`min_points`): the `.rss` feed carries no score, the listing does. Each post
//! becomes an item with its score as `points`; the guid is the post's fullname (`t3_…`), the
//! same id the `.rss` feed gives, so switching between the two alerts nothing twice. Pure.

use chrono::DateTime;
use serde_json::Value;

use super::hn::text;
use crate::core::model::{Feed, Item};

/// The items of a Reddit listing (`{"kind": "Listing", "data": {"children": [...]}}`), or
/// `None` when `value` is not one.
pub fn listing_feed(value: &Value) -> Option<Feed> {
    if value.get("kind")?.as_str()? != "Listing" {
        return None;
    }
    let children = value.get("data")?.get("children")?.as_array()?;
    let items: Vec<Item> = children
        .iter()
        .filter(|c| c.get("kind").and_then(Value::as_str) == Some("t3"))
        .filter_map(|c| post(c.get("data")?))
        .collect();
    let title = children
        .iter()
        .find_map(|c| text(c.get("data")?, "subreddit_name_prefixed"))
        .unwrap_or("Reddit")
        .to_string();
    Some(Feed {
        title,
        items,
        ttl_minutes: None,
        damaged: None,
    })
}

fn http_url(text: Option<&str>) -> Option<String> {
    text.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(str::to_string)
}

fn post(data: &Value) -> Option<Item> {
    let id = text(data, "name")?;
    let title = text(data, "title")?;
    let discussion = text(data, "permalink").map(|p| format!("https://www.reddit.com{p}"));
    let is_self = data.get("is_self").and_then(Value::as_bool) == Some(true);
    let link = if is_self {
        discussion.clone()
    } else {
        http_url(text(data, "url_overridden_by_dest").or_else(|| text(data, "url")))
            .or_else(|| discussion.clone())
    };
    let published = data
        .get("created_utc")
        .and_then(Value::as_f64)
        .and_then(|secs| DateTime::from_timestamp(secs as i64, 0));
    let score = data.get("score").and_then(Value::as_i64).unwrap_or(0);
    let comments = data
        .get("num_comments")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let author = text(data, "author").unwrap_or("[deleted]");
    let mut summary = format!(
        "{score} point{} by u/{} · {comments} comment{}",
        if score == 1 { "" } else { "s" },
        html_escape::encode_text(author),
        if comments == 1 { "" } else { "s" },
    );
    if let Some(discussion) = &discussion {
        summary.push_str(&format!(
            " · <a href=\"{}\">discussion on Reddit</a>",
            html_escape::encode_double_quoted_attribute(discussion)
        ));
    }
    // `raw_json=1` gives the self text's HTML unescaped.
    if let Some(html) = text(data, "selftext_html") {
        summary.push_str(html);
    }
    Some(Item {
        guid: Some(id.to_string()),
        title: title.to_string(),
        link,
        published,
        summary_html: summary,
        content_html: String::new(),
        categories: text(data, "link_flair_text")
            .map(|f| vec![f.to_string()])
            .unwrap_or_default(),
        image: http_url(text(data, "thumbnail")),
        points: Some(u32::try_from(score.max(0)).unwrap_or(u32::MAX)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = r#"{"kind": "Listing", "data": {"after": "t3_1c", "dist": 3, "children": [
      {"kind": "t3", "data": {"subreddit": "rust", "subreddit_name_prefixed": "r/rust",
        "name": "t3_1a", "id": "1a", "title": "Announcing Tokio 2.0", "author": "carllerche",
        "score": 512, "num_comments": 88, "created_utc": 1795939200.0, "is_self": false,
        "url_overridden_by_dest": "https://tokio.rs/blog/2026-11-tokio-2-0",
        "url": "https://tokio.rs/blog/2026-11-tokio-2-0",
        "permalink": "/r/rust/comments/1a/announcing_tokio_20/",
        "thumbnail": "https://b.thumbs.redditmedia.com/x.jpg", "link_flair_text": "announcement"}},
      {"kind": "t3", "data": {"name": "t3_1b", "title": "What's everyone working on this week?",
        "author": "AutoModerator", "score": 1, "num_comments": 0, "created_utc": 1795849200,
        "is_self": true, "url": "https://www.reddit.com/r/rust/comments/1b/whats/",
        "permalink": "/r/rust/comments/1b/whats/", "thumbnail": "self",
        "selftext_html": "<div class=\"md\"><p>Tell us.</p></div>"}},
      {"kind": "t1", "data": {"name": "t1_c", "body": "a comment"}}
    ]}}"#;

    #[test]
    fn posts_become_items_with_points_link_and_date() {
        let feed = listing_feed(&serde_json::from_str(LISTING).unwrap()).unwrap();
        assert_eq!(feed.title, "r/rust");
        assert_eq!(feed.items.len(), 2, "a comment is no post");
        let tokio = &feed.items[0];
        assert_eq!(tokio.guid.as_deref(), Some("t3_1a"), "the .rss feed's id");
        assert_eq!(tokio.title, "Announcing Tokio 2.0");
        assert_eq!(
            tokio.link.as_deref(),
            Some("https://tokio.rs/blog/2026-11-tokio-2-0")
        );
        assert_eq!(tokio.points, Some(512));
        assert_eq!(
            tokio.published.map(|d| d.to_rfc3339()),
            Some("2026-11-29T08:00:00+00:00".to_string())
        );
        assert!(tokio
            .summary_html
            .starts_with("512 points by u/carllerche · 88 comments"));
        assert_eq!(tokio.categories, ["announcement"]);
        let own = &feed.items[1];
        assert_eq!(
            own.link.as_deref(),
            Some("https://www.reddit.com/r/rust/comments/1b/whats/"),
            "a self post links to its discussion"
        );
        assert_eq!(own.points, Some(1));
        assert_eq!(own.image, None, "`self` is no thumbnail");
        assert!(own.summary_html.contains("<p>Tell us.</p>"));
    }

    #[test]
    fn other_json_is_not_a_listing() {
        assert!(listing_feed(&serde_json::json!({"kind": "t3"})).is_none());
        assert!(listing_feed(&serde_json::json!({"items": []})).is_none());
        assert!(listing_feed(&serde_json::json!({"kind": "Listing"})).is_none());
    }
}
