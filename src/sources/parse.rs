//! (stub: being written on branch `parse`)
#![allow(dead_code, clippy::pedantic)]
use crate::core::model::{Feed, Item};

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
}

pub fn parse_feed(
    bytes: &[u8],
    _content_type: Option<&str>,
    _base_url: Option<&str>,
) -> Result<Feed, ParseError> {
    let feed = feed_rs::parser::parse(bytes).map_err(|e| ParseError::NotAFeed(e.to_string()))?;
    Ok(Feed {
        title: feed.title.map(|t| t.content).unwrap_or_default(),
        ttl_minutes: None,
        items: feed
            .entries
            .into_iter()
            .map(|e| Item {
                guid: Some(e.id),
                title: e.title.map(|t| t.content).unwrap_or_default(),
                link: e.links.first().map(|l| l.href.clone()),
                published: e.published.or(e.updated),
                summary_html: e.summary.map(|t| t.content).unwrap_or_default(),
                content_html: e.content.and_then(|c| c.body).unwrap_or_default(),
                categories: vec![],
                image: None,
            })
            .collect(),
    })
}
