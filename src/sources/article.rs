//! What an article page says when its feed says too little: the main text (readability-style:
//! the densest block of paragraphs, not menus, footers, cookie banners or related links), the
//! page's description and its lead image; and the first real image of an item's content.
//!
//! Pure: HTML and the page's URL in, text and absolute http(s) URLs out. Fetching the page
//! (limits, address checks, politeness, caching) is the caller's job.

use scraper::node::Element;
use scraper::{ElementRef, Html, Node, Selector};
use url::Url;

use crate::core::summary::{collapse_whitespace, summary_text};

/// What newshound takes from an article page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Article {
    /// The main text, one paragraph per line; empty when no block looked like an article.
    pub text: String,
    /// `og:description`, else `description`, else `twitter:description`, cleaned.
    pub og_description: Option<String>,
    /// `og:image` (or `twitter:image`, or `link rel=image_src`) as an absolute http(s) URL.
    pub image: Option<String>,
}

/// Elements that never hold article text.
const NEVER_TEXT: &[&str] = &[
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "script",
    "style",
    "noscript",
    "iframe",
    "button",
    "select",
    "textarea",
    "svg",
    "template",
    "figcaption",
    "dialog",
];

/// Class/id fragments of blocks that are not the article (menus, banners, related links, …).
const NEGATIVE_MARKS: &[&str] = &[
    "nav",
    "menu",
    "footer",
    "sidebar",
    "comment",
    "related",
    "share",
    "social",
    "cookie",
    "consent",
    "gdpr",
    "banner",
    "promo",
    "advert",
    "sponsor",
    "newsletter",
    "subscribe",
    "signup",
    "breadcrumb",
    "popup",
    "modal",
    "masthead",
    "widget",
    "recommend",
    "trending",
    "most-read",
    "most-popular",
    "more-stories",
    "outbrain",
    "taboola",
    "paywall",
];

/// Class/id fragments of blocks that usually are the article; they outweigh a negative mark
/// ("content has-share-bar" is still content).
const POSITIVE_MARKS: &[&str] = &[
    "article", "content", "entry", "post", "story", "body", "main", "text", "prose",
];

/// Elements whose text is a paragraph of the article.
const PARAGRAPHS: &[&str] = &["p", "pre", "blockquote", "h2", "h3", "li"];

/// Paragraphs shorter than this many characters (captions, datelines, "Advertisement") do not
/// count toward a block's score.
const MIN_PARAGRAPH_CHARS: usize = 25;

/// Paragraphs whose text is more than this share links are navigation, not prose.
const MAX_PARAGRAPH_LINK_DENSITY: f64 = 0.5;

/// The main text, description and lead image of the article page `html` found at `page_url`.
pub fn extract_article(html: &str, page_url: &Url) -> Article {
    let document = Html::parse_document(html);
    let base = base_url(&document, page_url);
    Article {
        text: main_text(&document),
        og_description: description(&document),
        image: lead_image(&document, &base),
    }
}

/// The first image of an item's content HTML that a member would see, as an absolute http(s)
/// URL: tracking pixels (1x1, known counters), emoji and avatars are skipped; relative sources
/// resolve against `base` (the item's link) and are skipped without one.
pub fn feed_image(content_html: &str, base: Option<&Url>) -> Option<String> {
    if !content_html.contains("<img") && !content_html.contains("<IMG") {
        return None;
    }
    let fragment = Html::parse_fragment(content_html);
    let images = selector("img");
    fragment
        .select(&images)
        .filter(|img| !is_decorative_image(img.value()))
        .filter_map(|img| image_source(img.value()))
        .filter(|src| !is_tracker(src))
        .find_map(|src| absolute_http(src, base))
}

fn selector(css: &str) -> Selector {
    // Only called with constant, valid selectors.
    Selector::parse(css).unwrap_or_else(|_| unreachable!("invalid built-in selector {css}"))
}

/// `<base href>` when the page has a valid one, else the page's own URL.
fn base_url(document: &Html, page_url: &Url) -> Url {
    document
        .select(&selector("base[href]"))
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| page_url.clone())
}

/// The `content` of the first `<meta>` whose `property` or `name` is one of `keys`, in the
/// order of `keys`.
fn meta_content<'a>(document: &'a Html, keys: &[&str]) -> Vec<&'a str> {
    let metas: Vec<(String, &str)> = document
        .select(&selector("meta[content]"))
        .filter_map(|m| {
            let key = m
                .value()
                .attr("property")
                .or_else(|| m.value().attr("name"))
                .or_else(|| m.value().attr("itemprop"))?;
            Some((key.trim().to_ascii_lowercase(), m.value().attr("content")?))
        })
        .collect();
    keys.iter()
        .filter_map(|key| metas.iter().find(|(k, _)| k == key).map(|(_, v)| *v))
        .collect()
}

fn description(document: &Html) -> Option<String> {
    meta_content(
        document,
        &["og:description", "description", "twitter:description"],
    )
    .into_iter()
    .map(|raw| collapse_whitespace(&summary_text(raw)))
    .find(|text| !text.is_empty())
}

fn lead_image(document: &Html, base: &Url) -> Option<String> {
    let mut candidates = meta_content(
        document,
        &[
            "og:image",
            "og:image:url",
            "og:image:secure_url",
            "twitter:image",
            "twitter:image:src",
            "image",
        ],
    );
    candidates.extend(
        document
            .select(&selector("link[rel=image_src][href]"))
            .filter_map(|l| l.value().attr("href")),
    );
    candidates
        .into_iter()
        .filter(|src| !is_tracker(src))
        .find_map(|src| absolute_http(src, Some(base)))
}

/// `src` as an absolute http(s) URL, resolved against `base` when relative.
fn absolute_http(src: &str, base: Option<&Url>) -> Option<String> {
    let src = src.trim();
    if src.is_empty() {
        return None;
    }
    let url = match Url::parse(src) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(src).ok()?,
        Err(_) => return None,
    };
    (matches!(url.scheme(), "http" | "https") && url.host().is_some()).then(|| url.to_string())
}

/// The address an `<img>` loads: `src`, or a lazy-loading attribute, or the first `srcset`
/// candidate.
fn image_source(img: &Element) -> Option<&str> {
    let lazy = ["data-src", "data-lazy-src", "data-original"];
    let src = img
        .attr("src")
        .filter(|s| !s.trim().is_empty() && !s.starts_with("data:"));
    src.or_else(|| lazy.iter().find_map(|a| img.attr(a)))
        .or_else(|| {
            img.attr("srcset")
                .and_then(|set| set.split(',').next())
                .and_then(|first| first.split_whitespace().next())
        })
        .filter(|s| !s.trim().is_empty())
}

/// Pixels and icons: a declared size of 2 px or less, emoji and avatar classes.
fn is_decorative_image(img: &Element) -> bool {
    let tiny = |attr: &str| {
        img.attr(attr).is_some_and(|v| {
            v.trim()
                .trim_end_matches("px")
                .parse::<u32>()
                .is_ok_and(|px| px <= 2)
        })
    };
    let class = img.attr("class").unwrap_or("").to_ascii_lowercase();
    tiny("width")
        || tiny("height")
        || ["emoji", "wp-smiley", "avatar", "tracking", "pixel"]
            .iter()
            .any(|c| class.contains(c))
}

/// Known tracking-pixel and counter addresses.
fn is_tracker(src: &str) -> bool {
    const TRACKERS: &[&str] = &[
        "feeds.feedburner.com/~r/",
        "feedburner.com/~ff/",
        "stats.wordpress.com",
        "pixel.wp.com",
        "doubleclick.net",
        "google-analytics.com",
        "/pixel.gif",
        "/pixel.png",
        "/1x1.",
        "spacer.gif",
        "/b.gif",
        "gravatar.com/avatar",
        "s.w.org/images/core/emoji",
    ];
    let lower = src.to_ascii_lowercase();
    TRACKERS.iter().any(|t| lower.contains(t))
}

/// The text of the densest block of paragraphs, one paragraph per line.
///
/// Readability's idea: every paragraph of prose (at least [`MIN_PARAGRAPH_CHARS`]) scores
/// 1 + its commas + 1 per 100 characters (at most 3); a block scores its children paragraphs
/// fully and its grandchildren's at half, times the share of its text that is not links, plus
/// or minus 25 for class/id names that mean article or clutter. Blocks inside navigation,
/// headers, footers, asides, forms or clutter are never considered. The winning block's
/// paragraphs become the text.
fn main_text(document: &Html) -> String {
    let root = document.root_element();
    let mut best: Option<(f64, ElementRef<'_>)> = None;
    for element in root.descendent_elements() {
        if PARAGRAPHS.contains(&element.value().name()) || in_clutter(element) {
            continue;
        }
        let mut score = 0.0;
        for child in element.child_elements() {
            score += paragraph_score(child);
            for grandchild in child.child_elements() {
                score += paragraph_score(grandchild) / 2.0;
            }
        }
        if score <= 0.0 {
            continue;
        }
        score = score * (1.0 - link_density(element)) + class_weight(element.value());
        if best.is_none_or(|(top, _)| score > top) {
            best = Some((score, element));
        }
    }
    let Some((_, block)) = best else {
        return String::new();
    };
    let mut paragraphs = Vec::new();
    collect_paragraphs(block, &mut paragraphs);
    paragraphs.join("\n")
}

fn paragraph_score(element: ElementRef<'_>) -> f64 {
    if !PARAGRAPHS.contains(&element.value().name()) || is_clutter(element.value()) {
        return 0.0;
    }
    let text = collapse_whitespace(&element.text().collect::<String>());
    let chars = text.chars().count();
    if chars < MIN_PARAGRAPH_CHARS || link_density(element) > MAX_PARAGRAPH_LINK_DENSITY {
        return 0.0;
    }
    let commas = text.matches([',', '，', '、']).count();
    1.0 + commas as f64 + (chars / 100).min(3) as f64
}

/// The paragraphs under `block` in document order, skipping clutter and link lists.
fn collect_paragraphs(block: ElementRef<'_>, out: &mut Vec<String>) {
    for child in block.child_elements() {
        let el = child.value();
        if NEVER_TEXT.contains(&el.name()) || is_clutter(el) {
            continue;
        }
        if PARAGRAPHS.contains(&el.name()) {
            if link_density(child) > MAX_PARAGRAPH_LINK_DENSITY {
                continue;
            }
            let text = collapse_whitespace(&summary_text(&child.inner_html()));
            if !text.is_empty() && !is_ad_label(&text) {
                out.push(text);
            }
        } else {
            collect_paragraphs(child, out);
        }
    }
}

/// "Advertisement", "Story continues below advertisement" and other ad slots' labels.
fn is_ad_label(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.chars().count() <= 60
        && (lower.starts_with("advertisement")
            || lower.starts_with("sponsored")
            || lower.starts_with("story continues below"))
}

/// Whether `element` or an ancestor is navigation, a header/footer, an aside or clutter.
fn in_clutter(element: ElementRef<'_>) -> bool {
    let mut node = Some(element);
    while let Some(el) = node {
        if NEVER_TEXT.contains(&el.value().name()) || is_clutter(el.value()) {
            return true;
        }
        node = el.parent().and_then(ElementRef::wrap);
    }
    false
}

/// A class or id that means clutter and not also article.
fn is_clutter(el: &Element) -> bool {
    if matches!(el.name(), "html" | "body") {
        return false;
    }
    let marks = marks(el);
    !marks.is_empty() && has_mark(&marks, NEGATIVE_MARKS) && !has_mark(&marks, POSITIVE_MARKS)
        || marks
            .split_whitespace()
            .any(|t| matches!(t, "ad" | "ads") || t.starts_with("ad-") || t.starts_with("ads-"))
}

fn class_weight(el: &Element) -> f64 {
    let marks = marks(el);
    let mut weight = 0.0;
    if has_mark(&marks, POSITIVE_MARKS) || matches!(el.name(), "article" | "main") {
        weight += 25.0;
    }
    if has_mark(&marks, NEGATIVE_MARKS) {
        weight -= 25.0;
    }
    weight
}

/// Lower-case class and id of an element, space-separated.
fn marks(el: &Element) -> String {
    format!(
        "{} {}",
        el.attr("class").unwrap_or(""),
        el.attr("id").unwrap_or("")
    )
    .trim()
    .to_ascii_lowercase()
}

fn has_mark(marks: &str, list: &[&str]) -> bool {
    marks
        .split_whitespace()
        .any(|token| list.iter().any(|m| token.contains(m)))
}

/// The share of an element's text that is inside links (0 when it has no text).
fn link_density(element: ElementRef<'_>) -> f64 {
    let total: usize = text_len(element);
    if total == 0 {
        return 0.0;
    }
    let links: usize = element
        .descendent_elements()
        .filter(|e| e.value().name() == "a")
        .map(text_len)
        .sum();
    (links as f64 / total as f64).min(1.0)
}

fn text_len(element: ElementRef<'_>) -> usize {
    element
        .descendants()
        .filter_map(|n| match n.value() {
            Node::Text(t) => Some(t.trim().chars().count()),
            _ => None,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_url() -> Url {
        Url::parse("https://news.example.com/tech/2026/03/02/meta-ai-chief").unwrap()
    }

    const NEWS_PAGE: &str = r#"<!doctype html><html><head>
<meta property="og:description" content="Meta hires a Google researcher &amp; plans a lab.">
<meta name="description" content="Fallback description">
<meta property="og:image" content="../../images/lead.jpg">
</head><body class="single-post has-sidebar">
<header><nav class="main-menu"><ul><li><a href="/">Home</a></li><li><a href="/tech">Technology news and analysis</a></li></ul></nav></header>
<div class="cookie-notice"><p>We use cookies, pixels and similar technologies to personalise content, measure audiences and show ads.</p></div>
<div class="layout">
 <div class="col-main">
  <h1>Meta names new chief AI officer</h1>
  <p>Meta has hired a former Google researcher to run its new lab, the company said on Monday, in its latest move to catch up with rivals.</p>
  <p>The appointment follows months of recruiting, in which Meta offered large pay packages to engineers at OpenAI, Google and Anthropic.</p>
  <p>Advertisement</p>
  <p>Mark Zuckerberg said the lab would have more computing power than any other team, and that its first models would ship next year.</p>
 </div>
 <div class="sidebar">
  <h3>Most read</h3>
  <ul><li><a href="/1">Google unveils Gemini 3 with Deep Think reasoning mode for subscribers</a></li>
  <li><a href="/2">Apple faces DOJ antitrust lawsuit over the iPhone App Store, filing shows</a></li></ul>
  <p>Sign up for our newsletter, delivered every weekday morning, with the stories you need.</p>
 </div>
</div>
<section class="related-stories"><p><a href="/3">Meta shares rise after earnings beat expectations, analysts say, in a long related headline</a></p></section>
<footer><p>Copyright 2026 Example News Ltd, registered in England and Wales, all rights reserved.</p></footer>
</body></html>"#;

    #[test]
    fn news_page_keeps_the_article_and_drops_the_clutter() {
        let article = extract_article(NEWS_PAGE, &page_url());
        let lines: Vec<&str> = article.text.lines().collect();
        assert_eq!(lines.len(), 3, "{}", article.text);
        assert!(lines[0].starts_with("Meta has hired a former Google researcher"));
        assert!(lines[2].starts_with("Mark Zuckerberg said"));
        for clutter in [
            "Advertisement",
            "cookies",
            "Gemini 3",
            "newsletter",
            "Copyright",
            "Home",
            "related headline",
        ] {
            assert!(
                !article.text.contains(clutter),
                "{clutter} leaked: {}",
                article.text
            );
        }
        assert_eq!(
            article.og_description.as_deref(),
            Some("Meta hires a Google researcher & plans a lab.")
        );
        assert_eq!(
            article.image.as_deref(),
            Some("https://news.example.com/tech/2026/images/lead.jpg")
        );
    }

    #[test]
    fn page_with_only_meta_tags_gives_description_and_image() {
        let html = r#"<html><head>
            <meta name="twitter:image" content="//cdn.example.com/card.png">
            <meta name="description" content="  A short   description. ">
            </head><body><div id="app"></div></body></html>"#;
        let article = extract_article(html, &page_url());
        assert_eq!(article.text, "");
        assert_eq!(
            article.og_description.as_deref(),
            Some("A short description.")
        );
        assert_eq!(
            article.image.as_deref(),
            Some("https://cdn.example.com/card.png")
        );
    }

    #[test]
    fn unusable_og_images_fall_through_to_the_next_candidate() {
        let html = r#"<html><head>
            <meta property="og:image" content="javascript:alert(1)">
            <meta property="og:image:secure_url" content="data:image/png;base64,AAAA">
            <meta name="twitter:image" content="ftp://files.example.com/x.png">
            <link rel="image_src" href="/thumb.jpg">
            </head><body></body></html>"#;
        let article = extract_article(html, &page_url());
        assert_eq!(
            article.image.as_deref(),
            Some("https://news.example.com/thumb.jpg")
        );
        assert_eq!(article.og_description, None);
    }

    #[test]
    fn base_href_resolves_relative_images() {
        let html = r#"<html><head><base href="https://static.example.net/assets/">
            <meta property="og:image" content="img/og.jpg"></head><body></body></html>"#;
        let article = extract_article(html, &page_url());
        assert_eq!(
            article.image.as_deref(),
            Some("https://static.example.net/assets/img/og.jpg")
        );
    }

    #[test]
    fn feed_image_skips_pixels_emoji_and_trackers() {
        let base = Url::parse("https://blog.example.org/2026/03/post/").unwrap();
        let html = r#"<p><img src="https://s.w.org/images/core/emoji/15/72x72/1f389.png" class="wp-smiley">
            <img src="https://blog.example.org/t.gif" width="1" height="1">
            <img src="http://feeds.feedburner.com/~r/blog/~4/abc">
            <img data-src="../../uploads/photo.jpg" src="data:image/gif;base64,R0lGOD"></p>"#;
        assert_eq!(
            feed_image(html, Some(&base)).as_deref(),
            Some("https://blog.example.org/2026/uploads/photo.jpg")
        );
    }

    #[test]
    fn feed_image_needs_a_base_for_relative_sources() {
        let html = r#"<img src="/uploads/photo.jpg"><img srcset="https://cdn.example.com/a.jpg 1x, https://cdn.example.com/b.jpg 2x">"#;
        assert_eq!(
            feed_image(html, None).as_deref(),
            Some("https://cdn.example.com/a.jpg")
        );
        assert_eq!(feed_image("<p>No images here.</p>", None), None);
    }

    #[test]
    fn table_layout_page_still_finds_the_densest_block() {
        let html = r#"<html><body><table><tr>
            <td><a href="/a">Section one</a><br><a href="/b">Section two</a><br><a href="/c">Section three</a></td>
            <td><font size="2"><p>Residents of the valley woke to floodwater on Sunday, after two days of rain, and roads were closed.</p>
            <p>The council said shelters were open at the school, the church hall and the sports centre until further notice.</p></font></td>
            </tr></table></body></html>"#;
        let article = extract_article(html, &page_url());
        assert!(
            article.text.starts_with("Residents of the valley"),
            "{}",
            article.text
        );
        assert!(!article.text.contains("Section"), "{}", article.text);
        assert_eq!(article.text.lines().count(), 2);
    }
}
