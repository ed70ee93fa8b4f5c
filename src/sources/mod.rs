//! News sources: fetching bytes (HTTP with limits, local files) and turning them into items.

pub mod address;
pub mod article;
pub mod cleanup;
pub mod discover;
pub mod fetch;
mod hn;
pub mod html_list;
mod img_scan;
pub mod parse;
pub mod probe;
mod reddit;
pub mod reddit_auth;
mod rss_json;
mod salvage;
pub mod shorthand;
pub mod sitemap;
mod text_construct;
pub mod timestamp;
pub mod websub;

/// How a config source's document is read when it is not a feed (`kind` in `[[sources]]`).
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// `kind = "html"`: a page read with `[sources.select]`.
    Html(std::sync::Arc<html_list::PageSelectors>),
    /// `kind = "sitemap"`: a (news) sitemap or sitemap index, entries of the last
    /// `max_age_days` only.
    Sitemap { max_age_days: u32 },
}
