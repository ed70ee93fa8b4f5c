//! Turning a fetched document (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.x) into our `Feed`:
//! sniff, clean up, parse with feed-rs (panics contained), map entries to `Item`s.

use std::panic::{self, AssertUnwindSafe};

use feed_rs::model::{Entry, Link, Text};
use feed_rs::parser::{Builder, ParseErrorKind, ParseFeedError};
use scraper::{Html, Selector};
use url::Url;

use crate::core::model::{Feed, Item};
use crate::core::summary::{collapse_whitespace, html_to_text, truncate_at_boundary};
use crate::sources::cleanup;

/// How much of an HTML page's `<title>` an error message quotes.
const MAX_QUOTED_TITLE: usize = 80;
/// How much of a body that is neither XML nor JSON an error message quotes.
const MAX_QUOTED_START: usize = 40;

/// Why a fetched document could not be read as a feed. `Display` is what a user is shown.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The body was empty or only whitespace.
    #[error("empty body: the server sent no content — check the URL")]
    Empty,
    /// An HTML page rather than a feed (wrong URL, or a bot-challenge page such as Cloudflare's).
    #[error(
        "not a feed: the server sent an HTML page{} — check the URL (the page may link to its \
         feed), or the site may block bots",
        .title.as_ref().map(|t| format!(" (title: \"{t}\")")).unwrap_or_default()
    )]
    HtmlPage { title: Option<String> },
    /// Neither markup nor JSON, e.g. binary data or plain text.
    #[error(
        "not a feed: the body is neither XML nor JSON (it starts with \"{start}\") — check the URL"
    )]
    Unrecognised { start: String },
    /// Well-formed enough XML, but not RSS, Atom or RDF.
    #[error(
        "not a feed: the XML document is a <{root}>, not <rss>, <feed> or <rdf:RDF> — check the URL"
    )]
    UnknownRoot { root: String },
    /// XML that no amount of repair made parseable.
    #[error(
        "not a feed: malformed XML ({detail}) — the feed is broken or was cut off in transit; \
         if it persists, tell the site's owner"
    )]
    MalformedXml { detail: String },
    /// JSON that is not valid JSON.
    #[error("not a feed: invalid JSON ({detail})")]
    InvalidJson { detail: String },
    /// Valid JSON, but not a JSON Feed.
    #[error("not a feed: JSON, but not a JSON Feed (it has no \"items\" list) — check the URL")]
    NotJsonFeed,
    /// A JSON Feed version we do not understand.
    #[error("unsupported JSON Feed version \"{version}\" (only 1.0 and 1.1 are supported)")]
    UnsupportedJsonFeedVersion { version: String },
    /// A feed with content feed-rs refused for another reason.
    #[error("the feed could not be read: {detail}")]
    Invalid { detail: String },
    /// feed-rs panicked; only this document fails.
    #[error("the feed parser crashed on this document — the feed is probably malformed")]
    Crashed,
}

/// What the first bytes say a document is.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Xml,
    Json,
}

/// Parses a fetched body into a [`Feed`].
///
/// `content_type` is the HTTP `Content-Type` (only its `charset` is used: servers often label
/// feeds wrongly); `base_url` is the final URL after redirects, used to resolve relative links
/// when the feed gives no better base.
pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    base_url: Option<&str>,
) -> Result<Feed, ParseError> {
    let text = cleanup::to_utf8(bytes, content_type.and_then(charset_of));
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    let base_url = base_url.and_then(|u| Url::parse(u).ok());
    match sniff(trimmed)? {
        Kind::Json => parse_json(trimmed, base_url.as_ref()),
        Kind::Xml => {
            let repaired = cleanup::repair_xml(trimmed);
            let feed = run_feed_rs(&repaired)?;
            Ok(to_feed(feed, base_url.as_ref(), &[]))
        }
    }
}

/// The `charset` parameter of a `Content-Type` header value.
fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']))
    })
}

/// Decides XML or JSON, and rejects HTML pages and anything else before feed-rs sees them.
fn sniff(text: &str) -> Result<Kind, ParseError> {
    if text.starts_with('{') {
        return Ok(Kind::Json);
    }
    if !text.starts_with('<') {
        return Err(ParseError::Unrecognised {
            start: quote_start(text),
        });
    }
    let root = root_element(text);
    let lower_root = root.as_deref().map(str::to_ascii_lowercase);
    if matches!(lower_root.as_deref(), Some("html" | "head" | "body")) {
        return Err(ParseError::HtmlPage {
            title: html_title(text),
        });
    }
    match root {
        Some(name) if matches!(local(&name), "rss" | "feed" | "RDF" | "entry") => Ok(Kind::Xml),
        Some(name) => Err(ParseError::UnknownRoot { root: name }),
        // No element at all: let feed-rs report what it finds (e.g. a cut-off prolog).
        None => Ok(Kind::Xml),
    }
}

/// The first characters of a body, printable, for an error message.
fn quote_start(text: &str) -> String {
    let start: String = text
        .chars()
        .take(MAX_QUOTED_START)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    collapse_whitespace(&start)
}

fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// Name of the root element, skipping the prolog; `html` for an HTML5 doctype.
fn root_element(text: &str) -> Option<String> {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        let skip_past = |s: &str, end: &str| s.find(end).map(|p| p + end.len());
        let consumed = if rest.starts_with("<?") {
            skip_past(rest, "?>")?
        } else if rest.starts_with("<!--") {
            skip_past(rest, "-->")?
        } else if rest.len() >= 9 && rest[..9].eq_ignore_ascii_case("<!doctype") {
            let name: String = rest[9..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'))
                .collect();
            if name.eq_ignore_ascii_case("html") {
                return Some(name);
            }
            skip_past(rest, ">")?
        } else {
            let name: String = rest
                .strip_prefix('<')?
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'))
                .collect();
            return (!name.is_empty()).then_some(name);
        };
        rest = &rest[consumed..];
    }
}

/// The text of an HTML page's `<title>`, shortened for an error message.
fn html_title(html: &str) -> Option<String> {
    // Lower-casing ASCII keeps byte offsets, so positions found in `lower` index `html`.
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = collapse_whitespace(&html_to_text(&html[start..end]));
    (!title.is_empty()).then(|| truncate_at_boundary(&title, MAX_QUOTED_TITLE))
}

fn parse_json(text: &str, base_url: Option<&Url>) -> Result<Feed, ParseError> {
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ParseError::InvalidJson {
            detail: e.to_string(),
        })?;
    if cleanup::repair_json_value(&mut value).is_none() {
        return Err(ParseError::NotJsonFeed);
    }
    if !value.get("items").is_some_and(serde_json::Value::is_array) {
        return Err(ParseError::NotJsonFeed);
    }
    // feed-rs ignores JSON Feed's `image` / `banner_image`; read them here, by item position.
    let images: Vec<Option<String>> = value["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    ["image", "banner_image"]
                        .iter()
                        .find_map(|key| item.get(*key).and_then(serde_json::Value::as_str))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let repaired = value.to_string();
    let feed = run_feed_rs(&repaired)?;
    Ok(to_feed(feed, base_url, &images))
}

/// Runs feed-rs on a cleaned-up document, containing any panic to this document.
fn run_feed_rs(document: &str) -> Result<feed_rs::model::Feed, ParseError> {
    // An empty id marks "the feed gave none": feed-rs's default would invent one (random when
    // there is no link) that changes on every poll and defeats de-duplication.
    let parser = Builder::new()
        .id_generator(|_links, _title, _base| String::new())
        .sanitize_content(false)
        .build();
    // Relative links are resolved by us (feed link before fetch URL), so no `base_uri` here.
    match panic::catch_unwind(AssertUnwindSafe(|| parser.parse(document.as_bytes()))) {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(error)) => Err(explain(error, document)),
        Err(_) => Err(ParseError::Crashed),
    }
}

fn explain(error: ParseFeedError, document: &str) -> ParseError {
    match error {
        ParseFeedError::XmlReader(e) => ParseError::MalformedXml {
            detail: cleanup::first_structure_error(document).unwrap_or_else(|| e.to_string()),
        },
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => {
            match cleanup::first_structure_error(document) {
                Some(detail) => ParseError::MalformedXml { detail },
                None => ParseError::Invalid {
                    detail: "no <channel> or entries found in the document".to_string(),
                },
            }
        }
        ParseFeedError::JsonSerde(e) => ParseError::InvalidJson {
            detail: e.to_string(),
        },
        ParseFeedError::JsonUnsupportedVersion(version) => {
            ParseError::UnsupportedJsonFeedVersion { version }
        }
        other => ParseError::Invalid {
            detail: other.to_string(),
        },
    }
}

/// Maps feed-rs's model to ours. `json_images[i]` is JSON Feed item i's `image`, if any.
fn to_feed(
    feed: feed_rs::model::Feed,
    base_url: Option<&Url>,
    json_images: &[Option<String>],
) -> Feed {
    // Relative item links resolve against the feed's own web page first: it names the site,
    // while the fetch URL is often a feed host or proxy.
    let feed_link = pick_link(&feed.links).and_then(|href| absolute_http(href, base_url));
    let base = feed_link.as_ref().or(base_url);
    let items = feed
        .entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let json_image = json_images.get(index).cloned().flatten();
            to_item(entry, base, json_image)
        })
        .collect();
    Feed {
        title: feed
            .title
            .map(|t| collapse_whitespace(&html_to_text(&t.content)))
            .unwrap_or_default(),
        items,
        ttl_minutes: feed.ttl,
    }
}

fn to_item(entry: Entry, base: Option<&Url>, json_image: Option<String>) -> Item {
    let link_url = pick_link(&entry.links).and_then(|href| absolute_http(href, base));
    let summary_html = entry.summary.as_ref().map(text_as_html).unwrap_or_default();
    let content_html = entry
        .content
        .as_ref()
        .and_then(|c| {
            let body = c.body.as_deref()?;
            Some(if c.content_type.essence().to_string() == "text/plain" {
                html_escape::encode_text(body).into_owned()
            } else {
                body.to_string()
            })
        })
        .unwrap_or_default();
    let image_base = link_url.as_ref().or(base);
    let image = json_image
        .and_then(|src| absolute_http(&src, image_base))
        .map(String::from)
        .or_else(|| media_image(&entry, image_base))
        .or_else(|| first_img_src(&content_html, image_base))
        .or_else(|| first_img_src(&summary_html, image_base));
    let mut categories: Vec<String> = Vec::new();
    for category in &entry.categories {
        let label = category.label.as_deref().unwrap_or(&category.term).trim();
        if !label.is_empty() && !categories.iter().any(|c| c == label) {
            categories.push(label.to_string());
        }
    }
    let guid = entry.id.trim();
    Item {
        guid: (!guid.is_empty()).then(|| guid.to_string()),
        title: entry
            .title
            .map(|t| collapse_whitespace(&html_to_text(&t.content)))
            .unwrap_or_default(),
        link: link_url.map(String::from),
        published: entry.published.or(entry.updated),
        summary_html,
        content_html,
        categories,
        image,
    }
}

/// Text as HTML: plain-text constructs are escaped so they read the same when rendered.
fn text_as_html(text: &Text) -> String {
    if text.content_type.essence().to_string() == "text/plain" {
        html_escape::encode_text(&text.content).into_owned()
    } else {
        text.content.clone()
    }
}

/// The item's web page: a link with `rel` absent or `alternate`, preferring an HTML type; never
/// an enclosure, a comments link or a media attachment.
fn pick_link(links: &[Link]) -> Option<&str> {
    links
        .iter()
        .filter(|l| l.target.is_none() && l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .filter_map(|l| {
            let rank = match l
                .media_type
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("text/html" | "application/xhtml+xml") => 0,
                None | Some("") => 1,
                Some(t)
                    if t.starts_with("audio/")
                        || t.starts_with("video/")
                        || t.starts_with("image/") =>
                {
                    return None
                }
                Some(_) => 2,
            };
            Some((rank, l.href.as_str()))
        })
        .filter(|(_, href)| !href.trim().is_empty())
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, href)| href)
}

/// `href` made absolute against `base`, if the result is http(s).
fn absolute_http(href: &str, base: Option<&Url>) -> Option<Url> {
    let href = href.trim();
    let url = match Url::parse(href) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(href).ok()?,
        Err(_) => return None,
    };
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// A thumbnail from Media RSS or an enclosure: `media:thumbnail`, then `media:content` /
/// `<enclosure>` of an image type, then an Atom / JSON Feed attachment of an image type.
fn media_image(entry: &Entry, base: Option<&Url>) -> Option<String> {
    let thumbnails = entry
        .media
        .iter()
        .flat_map(|m| &m.thumbnails)
        .map(|t| t.image.uri.as_str());
    let contents = entry
        .media
        .iter()
        .flat_map(|m| &m.content)
        .filter(|c| match &c.content_type {
            Some(mime) => mime.ty().as_str() == "image",
            None => c
                .url
                .as_ref()
                .is_some_and(|u| has_image_extension(u.path())),
        })
        .filter_map(|c| c.url.as_ref().map(Url::as_str));
    let attachments = entry
        .links
        .iter()
        .filter(|l| {
            l.media_type
                .as_deref()
                .is_some_and(|t| t.to_ascii_lowercase().starts_with("image/"))
        })
        .map(|l| l.href.as_str());
    thumbnails
        .chain(contents)
        .chain(attachments)
        .find_map(|src| absolute_http(src, base))
        .map(String::from)
}

fn has_image_extension(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// The first `<img src>` in an HTML fragment that is not a 1x1 tracking pixel.
fn first_img_src(html: &str, base: Option<&Url>) -> Option<String> {
    if !html.contains("<img") && !html.contains("<IMG") {
        return None;
    }
    let selector = Selector::parse("img[src]").ok()?;
    let fragment = Html::parse_fragment(html);
    fragment
        .select(&selector)
        .filter(|img| {
            let tiny = |attr| img.value().attr(attr).is_some_and(|v| v.trim() == "1");
            !(tiny("width") || tiny("height"))
        })
        .filter_map(|img| img.value().attr("src"))
        .find_map(|src| absolute_http(src, base))
        .map(String::from)
}
