//! News sources: fetching bytes (HTTP with limits, local files) and turning them into items.

pub mod address;
pub mod article;
pub mod cleanup;
pub mod discover;
pub mod fetch;
mod hn;
pub mod html_list;
pub mod parse;
pub mod probe;
mod rss_json;
mod salvage;
pub mod shorthand;
mod text_construct;
