//! The domain types every layer shares: a feed item as newshound sees it, and small typed ids.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One entry of a feed, already decoded to UTF-8 and with relative links resolved.
///
/// Text fields may still hold HTML (`summary_html`, `content_html`); `title` is plain text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The id the feed gave (RSS `guid`, Atom `id`, JSON Feed `id`), if it gave one.
    pub guid: Option<String>,
    /// Plain-text title (tags stripped, entities decoded, whitespace collapsed).
    pub title: String,
    /// The item's web page: an absolute http(s) URL, if the feed had one.
    pub link: Option<String>,
    /// `published`, else `updated`, if the feed dated the item.
    pub published: Option<DateTime<Utc>>,
    /// Description / summary as the feed gave it (may be HTML).
    pub summary_html: String,
    /// Full content as the feed gave it (may be HTML); empty when absent.
    pub content_html: String,
    /// Category / tag labels.
    pub categories: Vec<String>,
    /// An absolute http(s) image URL for a thumbnail, if the feed offered one.
    pub image: Option<String>,
}

/// A parsed feed: its title and items in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Feed {
    pub title: String,
    pub items: Vec<Item>,
    /// RSS `<ttl>` in minutes, a server hint for how often to poll.
    pub ttl_minutes: Option<u32>,
}
