//! Feed discovery on a web page: which feeds an HTML page announces
//! (`<link rel="alternate" type="application/rss+xml|atom+xml|feed+json">`, resolved against
//! the page), and the common feed paths to try when it announces none. Pure: the fetching is
//! `probe.rs`'s.

use scraper::{Html, Selector};
use url::Url;

/// Paths many sites serve their feed at, tried (in this order) on a page that links to none.
pub const COMMON_PATHS: [&str; 5] = ["/feed", "/rss", "/atom.xml", "/feed.json", "/index.xml"];

/// The `type`s of `<link rel="alternate">` that announce a feed.
const FEED_TYPES: [&str; 3] = [
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
];

/// The feeds `html` (a page fetched from `page`) links to, in document order, resolved against
/// the page (or its `<base href>`), http(s) only, without repeats.
pub fn linked_feeds(html: &str, page: &Url) -> Vec<Url> {
    let document = Html::parse_document(html);
    let base = Selector::parse("base[href]")
        .ok()
        .and_then(|s| document.select(&s).next())
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| page.join(href.trim()).ok())
        .unwrap_or_else(|| page.clone());
    let Ok(links) = Selector::parse("link[href]") else {
        return Vec::new();
    };
    let mut found: Vec<Url> = Vec::new();
    for link in document.select(&links) {
        let element = link.value();
        let alternate = element.attr("rel").is_some_and(|rel| {
            rel.split_ascii_whitespace()
                .any(|token| token.eq_ignore_ascii_case("alternate"))
        });
        let feed_type = element.attr("type").is_some_and(|t| {
            let t = t.split(';').next().unwrap_or_default().trim();
            FEED_TYPES.iter().any(|f| t.eq_ignore_ascii_case(f))
        });
        if !alternate || !feed_type {
            continue;
        }
        let Some(mut url) = element.attr("href").and_then(|h| base.join(h.trim()).ok()) else {
            continue;
        };
        url.set_fragment(None);
        if matches!(url.scheme(), "http" | "https") && !found.contains(&url) {
            found.push(url);
        }
    }
    found
}

/// [`COMMON_PATHS`] on the page's own host, minus the page itself.
pub fn common_feed_urls(page: &Url) -> Vec<Url> {
    COMMON_PATHS
        .iter()
        .filter_map(|path| page.join(path).ok())
        .filter(|url| url != page)
        .collect()
}

/// Why a web page gave no single feed. The `Display` is shown to people as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// The page announces (or serves at the common paths) more than one feed.
    #[error("this page has {} feeds: {}; add one of them", .feeds.len(), list(.feeds))]
    Several { feeds: Vec<Url> },
    /// An HTML page with no feed link, and nothing at the common paths.
    #[error(
        "not a feed: {page} is a web page that links to no feed, and there is none at {} — \
         use the site's feed URL, or watch the page itself with `kind = \"html\"` and CSS \
         selectors in the config",
        COMMON_PATHS.join(", ")
    )]
    NoFeed { page: Url },
    /// The page links to exactly one feed, and that feed does not work.
    #[error("this page links to the feed {feed}, but it is not usable: {reason}")]
    BrokenLink { feed: Url, reason: String },
}

fn list(feeds: &[Url]) -> String {
    feeds
        .iter()
        .map(|u| format!("<{u}>"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://news.example/blog/post.html").unwrap()
    }

    #[test]
    fn a_relative_feed_link_resolves_against_the_page() {
        let html = r#"<!doctype html><html><head><title>Blog</title>
            <link rel="stylesheet" href="/style.css">
            <link rel="alternate" type="application/rss+xml" title="RSS" href="../feed.xml">
            </head><body></body></html>"#;
        assert_eq!(
            linked_feeds(html, &page()),
            vec![Url::parse("https://news.example/feed.xml").unwrap()]
        );
    }

    #[test]
    fn rss_atom_and_json_feed_links_are_all_found_in_order_without_repeats() {
        let html = r#"<html><head>
            <link rel="alternate" type="application/atom+xml" href="https://news.example/atom.xml">
            <link rel="Alternate" type="Application/RSS+XML; charset=utf-8" href="/rss">
            <link rel="alternate" type="application/feed+json" href="/feed.json">
            <link rel="alternate" type="application/rss+xml" href="/rss#top">
            <link rel="alternate" hreflang="fr" href="/fr/">
            <link rel="alternate" type="text/html" href="/amp">
            <link rel="icon" type="application/rss+xml" href="/not-a-feed">
            </head></html>"#;
        let found: Vec<String> = linked_feeds(html, &page())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "https://news.example/atom.xml",
                "https://news.example/rss",
                "https://news.example/feed.json"
            ]
        );
    }

    #[test]
    fn a_base_href_is_honoured_and_non_http_links_are_dropped() {
        let html = r#"<html><head><base href="https://cdn.example/site/">
            <link rel="alternate" type="application/rss+xml" href="feed.xml">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            <link rel="alternate" type="application/rss+xml" href="file:///etc/passwd">
            </head></html>"#;
        assert_eq!(
            linked_feeds(html, &page()),
            vec![Url::parse("https://cdn.example/site/feed.xml").unwrap()]
        );
    }

    #[test]
    fn a_page_without_feed_links_has_no_candidates() {
        let html =
            "<html><head><title>x</title></head><body><a href=\"/feed\">feed</a></body></html>";
        assert!(linked_feeds(html, &page()).is_empty());
        assert!(linked_feeds("not html at all <<<", &page()).is_empty());
    }

    #[test]
    fn common_paths_are_on_the_pages_host() {
        let urls: Vec<String> = common_feed_urls(&page())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            urls,
            [
                "https://news.example/feed",
                "https://news.example/rss",
                "https://news.example/atom.xml",
                "https://news.example/feed.json",
                "https://news.example/index.xml"
            ]
        );
    }

    #[test]
    fn several_feeds_are_listed_and_none_suggests_html_kind() {
        let several = DiscoveryError::Several {
            feeds: vec![
                Url::parse("https://a.example/rss").unwrap(),
                Url::parse("https://a.example/atom.xml").unwrap(),
            ],
        };
        assert_eq!(
            several.to_string(),
            "this page has 2 feeds: <https://a.example/rss>, <https://a.example/atom.xml>; add one of them"
        );
        let none = DiscoveryError::NoFeed { page: page() }.to_string();
        assert!(none.contains("links to no feed"), "{none}");
        assert!(none.contains("kind = \"html\""), "{none}");
    }
}
