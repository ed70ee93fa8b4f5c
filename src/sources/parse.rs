//! Turning a fetched document (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.x, CDF,
//! RSS-in-JSON) into our `Feed`: sniff, clean up, parse with feed-rs (panics contained; a
//! damaged document is cut back to its complete items), map entries to `Item`s.

use std::panic::{self, AssertUnwindSafe};

use feed_rs::model::{Entry, Link, Text};
use feed_rs::parser::{Builder, ParseErrorKind, ParseFeedError};
use scraper::{Html, Selector};
use url::Url;

use crate::core::model::{Feed, Item};
use crate::core::summary::{collapse_whitespace, html_to_text, truncate_at_boundary};
use crate::sources::{cleanup, img_scan, rss_json, salvage};

/// How much of an HTML page's `<title>` an error message quotes.
const MAX_QUOTED_TITLE: usize = 80;
/// How many bytes of stray text before a feed's first tag are skipped.
const MAX_LEADING_JUNK: usize = 1024;
/// How much of a body that is neither XML nor JSON an error message quotes.
const MAX_QUOTED_START: usize = 40;

/// Why a fetched document could not be read as a feed. `Display` is what a user is shown.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// A JSON Feed version we do not understand (1.0 and 1.1, as URLs or bare, are read).
    #[error(
        "unsupported JSON Feed version \"{version}\": newshound reads JSON Feed 1.0 and 1.1 \
         (\"version\": \"https://jsonfeed.org/version/1.1\") — check the URL, or tell the \
         site's owner"
    )]
    UnsupportedJsonFeedVersion { version: String },
    /// A feed with content feed-rs refused for another reason.
    #[error("the feed could not be read: {detail} — if it persists, tell the site's owner")]
    Invalid { detail: String },
    /// feed-rs panicked; only this document fails.
    #[error("the feed parser crashed on this document — the feed is probably malformed")]
    Crashed,
}

/// A damaged document that was cut back to its complete items: what `Feed::damaged` says.
#[derive(Debug, thiserror::Error)]
#[error(
    "the feed is damaged ({detail}): read the {kept} complete item(s) before the damage and \
     dropped the rest — if it persists, tell the site's owner"
)]
pub struct Damaged {
    /// Where and how the document breaks.
    pub detail: String,
    /// How many items were read.
    pub kept: usize,
}

impl ParseError {
    /// What went wrong, without the advice around it (for [`Damaged`]).
    fn detail(&self) -> String {
        match self {
            ParseError::MalformedXml { detail } | ParseError::Invalid { detail } => detail.clone(),
            other => other.to_string(),
        }
    }
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
    let trimmed = skip_leading_junk(trimmed);
    let base_url = base_url.and_then(|u| Url::parse(u).ok());
    match sniff(trimmed)? {
        Kind::Json => parse_json(trimmed, base_url.as_ref()),
        Kind::Xml => parse_xml(trimmed, base_url.as_ref()),
    }
}

/// Cleans up and parses an XML document; a damaged one is cut back to its complete items
/// (see [`salvage`]) and says so in `Feed::damaged`.
fn parse_xml(text: &str, base_url: Option<&Url>) -> Result<Feed, ParseError> {
    let repaired = cleanup::repair_xml(text);
    let (feed, document, damaged) = match run_feed_rs(repaired.as_bytes()) {
        Ok(feed) => (feed, repaired, None),
        Err(error) => {
            let salvaged =
                salvage::salvage(&repaired, |document| run_feed_rs(document.as_bytes()).ok())
                    .ok_or_else(|| error.clone())?;
            let damaged = Damaged {
                detail: error.detail(),
                kept: salvaged.kept,
            };
            (salvaged.value, salvaged.document, Some(damaged.to_string()))
        }
    };
    // Read outside feed-rs, by item position; dropped when our count of items disagrees with
    // feed-rs's (then we cannot tell which is which).
    let by_position = |mut found: Vec<Option<String>>| {
        if found.len() != feed.entries.len() {
            found.clear();
        }
        found
    };
    let thumbnails = by_position(cleanup::media_thumbnails_by_item(&document));
    let ids = by_position(cleanup::rdf_item_ids(&document));
    let mut feed = to_feed(feed, base_url, &thumbnails, &ids);
    feed.damaged = damaged;
    Ok(feed)
}

/// Server-side scripts sometimes print a warning before the feed ("<b>Notice</b>: Undefined
/// index ... <?xml ..."); if a feed starts soon after such text, start there. An HTML page is
/// left whole so it is reported as one.
fn skip_leading_junk(text: &str) -> &str {
    if text.starts_with('{') || text.starts_with("<?xml") {
        return text;
    }
    let Some(position) = ["<?xml", "<rss", "<feed", "<rdf:RDF"]
        .iter()
        .filter_map(|marker| {
            let position = text.find(marker)?;
            let after = text[position + marker.len()..].chars().next()?;
            (after.is_whitespace() || after == '>').then_some(position)
        })
        .filter(|&position| position <= MAX_LEADING_JUNK)
        .min()
    else {
        return text;
    };
    let junk = text[..position].to_ascii_lowercase();
    if ["<html", "<!doctype", "<head", "<body"]
        .iter()
        .any(|tag| junk.contains(tag))
    {
        return text;
    }
    &text[position..]
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
    let Prolog { html_doctype, root } = prolog(text);
    let is_feed_root = |name: &str| {
        matches!(local(name), "rss" | "feed" | "RDF" | "entry")
            // CDF (Channel Definition Format) is case-insensitive; it is rewritten to RSS.
            || name.eq_ignore_ascii_case("channel")
    };
    match root {
        // An XHTML DOCTYPE in front of a feed (seen in the wild) does not make it a page.
        Some(name) if is_feed_root(&name) => Ok(Kind::Xml),
        Some(name)
            if html_doctype
                || matches!(name.to_ascii_lowercase().as_str(), "html" | "head" | "body") =>
        {
            Err(ParseError::HtmlPage {
                title: html_title(text),
            })
        }
        Some(name) => Err(ParseError::UnknownRoot { root: name }),
        None if html_doctype => Err(ParseError::HtmlPage {
            title: html_title(text),
        }),
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

/// What comes before a document's first element, and that element.
struct Prolog {
    /// The DOCTYPE names `html` (HTML5's `<!DOCTYPE html>`, or XHTML's).
    html_doctype: bool,
    /// Name of the root element, if the document has one.
    root: Option<String>,
}

/// Reads past the XML declaration, processing instructions, comments and DOCTYPE to the root.
fn prolog(text: &str) -> Prolog {
    let mut html_doctype = false;
    let mut rest = text;
    let name_at = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'))
            .collect()
    };
    let skip_past = |s: &str, end: &str| s.find(end).map(|p| p + end.len());
    loop {
        rest = rest.trim_start();
        let consumed = if rest.starts_with("<?") {
            skip_past(rest, "?>")
        } else if rest.starts_with("<!--") {
            skip_past(rest, "-->")
        } else if rest
            .get(..9)
            .is_some_and(|p| p.eq_ignore_ascii_case("<!doctype"))
        {
            html_doctype |= name_at(rest[9..].trim_start()).eq_ignore_ascii_case("html");
            skip_past(rest, ">")
        } else {
            let root = rest
                .strip_prefix('<')
                .map(name_at)
                .filter(|name| !name.is_empty());
            return Prolog { html_doctype, root };
        };
        let Some(consumed) = consumed else {
            return Prolog {
                html_doctype,
                root: None,
            };
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
    if let Some(xml) = rss_json::to_rss_xml(&value) {
        return parse_xml(&xml, base_url);
    }
    if let Some(feed) = super::hn::algolia_feed(&value) {
        return Ok(feed);
    }
    if let Some(feed) = super::reddit::listing_feed(&value) {
        return Ok(feed);
    }
    // An error names the version as the feed wrote it, not as the repair rewrote it.
    let declared_version = value
        .get("version")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let needs_repair = cleanup::json_needs_repair(&value);
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
    // A feed the repair leaves alone goes to feed-rs as it came. If feed-rs refuses it so (a
    // duplicated key, which the parsed value no longer has), the value written out is tried,
    // as for a repaired feed, so the outcome is the same as writing it out every time.
    let as_it_came = (!needs_repair)
        .then(|| run_feed_rs(text.as_bytes()).ok())
        .flatten();
    let feed = match as_it_came {
        Some(feed) => feed,
        None => run_feed_rs(value.to_string().as_bytes()).map_err(|error| match error {
            ParseError::UnsupportedJsonFeedVersion { version } => {
                ParseError::UnsupportedJsonFeedVersion {
                    version: declared_version.unwrap_or(version),
                }
            }
            other => other,
        })?,
    };
    Ok(to_feed(feed, base_url, &images, &[]))
}

/// Runs feed-rs on a cleaned-up document, containing any panic to this document.
fn run_feed_rs(document: &[u8]) -> Result<feed_rs::model::Feed, ParseError> {
    // An empty id marks "the feed gave none": feed-rs's default would invent one (random when
    // there is no link) that changes on every poll and defeats de-duplication.
    let parser = Builder::new()
        .id_generator(|_links, _title, _base| String::new())
        .sanitize_content(false)
        .timestamp_parser(crate::sources::timestamp::parse)
        .build();
    // Relative links are resolved by us (feed link before fetch URL), so no `base_uri` here.
    match panic::catch_unwind(AssertUnwindSafe(|| parser.parse(document))) {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(error)) => Err(explain(error, document)),
        Err(_) => Err(ParseError::Crashed),
    }
}

fn explain(error: ParseFeedError, document: &[u8]) -> ParseError {
    let structure_error = || {
        std::str::from_utf8(document)
            .ok()
            .and_then(cleanup::first_structure_error)
    };
    match error {
        ParseFeedError::XmlReader(e) => ParseError::MalformedXml {
            detail: structure_error().unwrap_or_else(|| e.to_string()),
        },
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => match structure_error() {
            Some(detail) => ParseError::MalformedXml { detail },
            None => ParseError::Invalid {
                detail: "no <channel> or entries found in the document".to_string(),
            },
        },
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

/// Maps feed-rs's model to ours. `declared_images[i]` is entry i's image as read outside feed-rs
/// (JSON Feed `image`, Media RSS thumbnail), if any; `declared_ids[i]` its id (an RSS 1.0
/// item's `rdf:about`) when feed-rs found none.
fn to_feed(
    feed: feed_rs::model::Feed,
    base_url: Option<&Url>,
    declared_images: &[Option<String>],
    declared_ids: &[Option<String>],
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
            let declared_image = declared_images.get(index).cloned().flatten();
            let mut item = to_item(entry, base, declared_image);
            if item.guid.is_none() {
                item.guid = declared_ids.get(index).cloned().flatten();
            }
            item
        })
        .collect();
    Feed {
        title: feed
            .title
            .map(|t| collapse_whitespace(&html_to_text(&t.content)))
            .unwrap_or_default(),
        items,
        ttl_minutes: feed.ttl,
        damaged: None,
    }
}

fn to_item(mut entry: Entry, base: Option<&Url>, declared_image: Option<String>) -> Item {
    // RSS 2.0: a guid is a permalink unless it says otherwise, and many feeds put the page
    // URL only there. feed-rs hides `isPermaLink`, so any absolute http(s) guid will do.
    let picked = pick_link(&entry.links);
    let link_url = picked
        .and_then(|href| absolute_http(href, base))
        .or_else(|| absolute_http(&entry.id, None));
    // Alert feeds (Google Alerts, Talkwalker) wrap every link in a redirect: keep the
    // publisher's URL, for dedup and for the reader.
    let link_url = link_url.map(|u| {
        super::shorthand::unwrap_redirect_url(&u)
            .and_then(|target| Url::parse(&target).ok())
            .unwrap_or(u)
    });
    // With nothing to resolve against (a local file without a channel link or xml:base), a
    // relative link is kept as the feed wrote it rather than lost.
    let link = link_url.as_ref().map(Url::to_string).or_else(|| {
        picked
            .filter(|_| base.is_none())
            .and_then(relative_reference)
    });
    let summary_html = entry.summary.take().map(text_as_html).unwrap_or_default();
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
    let image = declared_image
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
        link,
        published: entry.published.or(entry.updated),
        summary_html,
        content_html,
        categories,
        image,
        points: None,
    }
}

/// Text as HTML: plain-text constructs are escaped so they read the same when rendered.
fn text_as_html(text: Text) -> String {
    if text.content_type.essence().to_string() == "text/plain" {
        html_escape::encode_text(&text.content).into_owned()
    } else {
        text.content
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

/// `href` as it is, if it is a relative reference (a path, `?query`, `//host/path`).
fn relative_reference(href: &str) -> Option<String> {
    let href = href.trim();
    matches!(
        Url::parse(href),
        Err(url::ParseError::RelativeUrlWithoutBase)
    )
    .then(|| href.to_string())
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
    // Most fragments are read without a DOM; the others are parsed (see `img_scan`).
    let Ok(tags) = img_scan::img_tags(html) else {
        return first_img_src_parsed(html, base);
    };
    let tiny = |value: Option<&str>| value.is_some_and(|v| v.trim() == "1");
    tags.iter()
        .filter(|img| !(tiny(img.width) || tiny(img.height)))
        .filter_map(|img| img.src)
        .find_map(|src| absolute_http(src, base))
        .map(String::from)
}

/// [`first_img_src`] by html5ever and scraper, for fragments `img_scan` is unsure of.
fn first_img_src_parsed(html: &str, base: Option<&Url>) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/feeds/",
                $name
            ))
        };
    }

    fn parse(bytes: &[u8]) -> Feed {
        parse_feed(bytes, None, None).expect("fixture should parse")
    }

    fn titles(feed: &Feed) -> Vec<&str> {
        feed.items.iter().map(|i| i.title.as_str()).collect()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Option<chrono::DateTime<Utc>> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single()
    }

    #[test]
    fn rss2_maps_every_field_a_user_sees() {
        let feed = parse(fixture!("rss2.xml"));
        assert_eq!(feed.title, "Harbour City Gazette");
        assert_eq!(feed.ttl_minutes, Some(30));
        let first = &feed.items[0];
        assert_eq!(first.guid.as_deref(), Some("gazette-2024-0514-ferry"));
        assert_eq!(
            first.title,
            "Council approves new ferry terminal after six-hour debate"
        );
        // The item page, not the `<comments>` link.
        assert_eq!(
            first.link.as_deref(),
            Some("https://gazette.example.com/2024/05/14/ferry-terminal-approved")
        );
        assert_eq!(first.published, utc(2024, 5, 14, 17, 30));
        assert_eq!(first.categories, ["Transport", "Council"]);
        assert!(first
            .summary_html
            .contains("<b>£42m</b> terminal will open in 2026 & replace"));
        assert!(first
            .content_html
            .starts_with("<p>Councillors voted 31 to 12"));
        assert_eq!(
            first.image.as_deref(),
            Some("https://cdn.gazette.example.com/img/ferry-terminal.jpg")
        );
        assert_eq!(
            feed.items[1].guid.as_deref(),
            Some("https://gazette.example.com/?p=5512")
        );
        assert_eq!(feed.items[1].image, None);
    }

    #[test]
    fn rss091_and_092_parse_and_lack_of_guid_stays_none() {
        let feed = parse(fixture!("rss091.xml"));
        assert_eq!(
            titles(&feed),
            [
                "Dam inspection finds no structural damage",
                "Library extends weekend opening hours"
            ]
        );
        assert_eq!(feed.items[0].guid, None);
        assert_eq!(
            feed.items[1].link.as_deref(),
            Some("http://www.valleytribune.example/news/library-hours.html")
        );

        let feed = parse(fixture!("rss092.xml"));
        let item = &feed.items[0];
        assert_eq!(item.title, "Rail strike called off after late-night talks");
        assert_eq!(item.categories, ["Business"]);
        // The audio enclosure is neither the link nor a thumbnail.
        assert_eq!(
            item.link.as_deref(),
            Some("http://radio.northfield.example/bulletins/rail-strike-off")
        );
        assert_eq!(item.image, None);
    }

    #[test]
    fn rss1_rdf_items_are_found_and_dated() {
        let feed = parse(fixture!("rss1_rdf.xml"));
        assert_eq!(feed.title, "Science Desk");
        assert_eq!(
            titles(&feed),
            ["Telescope spots comet fragment heading for Jupiter"]
        );
        assert_eq!(feed.items[0].published, utc(2024, 3, 2, 8, 15));
        assert_eq!(
            feed.items[0].link.as_deref(),
            Some("https://science.example.org/articles/comet-fragment")
        );
    }

    #[test]
    fn atom1_picks_alternate_link_resolved_against_xml_base() {
        let feed = parse(fixture!("atom1.xml"));
        let first = &feed.items[0];
        // Listed after an enclosure and a replies link, and relative to xml:base.
        assert_eq!(
            first.link.as_deref(),
            Some("https://techwire.example.net/2024/06/chipmaker-delays-factory")
        );
        // type="html" title: tags stripped for the plain-text title.
        assert_eq!(first.title, "Chipmaker delays new factory");
        assert_eq!(
            first.guid.as_deref(),
            Some("tag:techwire.example.net,2024:1201")
        );
        assert_eq!(first.published, utc(2024, 6, 1, 9, 30));
        assert_eq!(first.categories, ["Semiconductors", "manufacturing"]);
        assert_eq!(
            first.content_html,
            "<p>The company blamed equipment shortages.</p>"
        );
        // No published date: fall back to updated.
        assert_eq!(feed.items[1].published, utc(2024, 5, 30, 16, 45));
    }

    #[test]
    fn atom03_entries_are_found_with_dates_and_content() {
        let feed = parse(fixture!("atom03.xml"));
        assert_eq!(feed.title, "Old Town Blog");
        assert_eq!(
            titles(&feed),
            [
                "Market square to be pedestrianised",
                "Bakery wins regional prize"
            ]
        );
        let first = &feed.items[0];
        assert_eq!(
            first.guid.as_deref(),
            Some("tag:oldtown.example.org,2005:entry-77")
        );
        // `issued` is the publication date, ahead of `modified`.
        assert_eq!(first.published, utc(2005, 11, 9, 9, 0));
        assert_eq!(
            first.link.as_deref(),
            Some("http://oldtown.example.org/2005/11/market-square.html")
        );
        assert_eq!(
            first.content_html,
            "<p>The council <b>voted</b> on Tuesday.</p>"
        );
        assert_eq!(
            first.summary_html,
            "Cars will be banned from the square from March."
        );
        // Only `modified`: used as the date. mode="xml" content is kept as markup.
        assert_eq!(feed.items[1].published, utc(2005, 11, 8, 17, 20));
        assert!(feed.items[1].content_html.contains("Sourdough, of course."));
    }

    #[test]
    fn json_feed_1_maps_items_and_escapes_plain_text_content() {
        let feed = parse(fixture!("jsonfeed1.json"));
        assert_eq!(feed.title, "Mountain Weather Service");
        let first = &feed.items[0];
        assert_eq!(first.title, "Heavy snow expected above 800 metres");
        assert_eq!(
            first.guid.as_deref(),
            Some("https://weather.example.com/warnings/2024-01-18-snow")
        );
        assert_eq!(first.published, utc(2024, 1, 18, 5, 0));
        assert_eq!(first.categories, ["snow", "warning"]);
        // content_text is plain text: it must not be read as markup later.
        assert_eq!(
            feed.items[1].content_html,
            "Clear skies &amp; light winds. Temperatures &lt; -5 °C overnight."
        );
    }

    #[test]
    fn json_feed_1_1_uses_image_external_url_and_modified_date() {
        let feed = parse(fixture!("jsonfeed11.json"));
        let first = &feed.items[0];
        assert_eq!(
            first.link.as_deref(),
            Some("https://ledger.example.io/markets/central-bank-holds-rates")
        );
        assert_eq!(
            first.image.as_deref(),
            Some("https://img.ledger.example.io/2024/rates-decision.jpg")
        );
        assert_eq!(
            first.summary_html,
            "Policy makers voted 7-2 to keep rates unchanged."
        );
        let second = &feed.items[1];
        assert_eq!(
            second.link.as_deref(),
            Some("https://wire.example.org/energy/oil-prices-slide")
        );
        assert_eq!(second.published, utc(2024, 1, 31, 17, 10));
    }

    #[test]
    fn json_feed_with_http_version_url_is_accepted() {
        let feed = parse(fixture!("jsonfeed1_http_version.json"));
        assert_eq!(titles(&feed), ["Footbridge reopens after repairs"]);
    }

    #[test]
    fn json_feed_numeric_ids_become_strings_and_string_tags_a_list() {
        let feed = parse(fixture!("jsonfeed_numeric_ids.json"));
        let ids: Vec<_> = feed.items.iter().map(|i| i.guid.as_deref()).collect();
        assert_eq!(ids, [Some("20240412"), Some("20240411")]);
        assert_eq!(feed.items[0].categories, ["student union"]);
    }

    #[test]
    fn rss_without_version_is_read_as_rss2() {
        let feed = parse(fixture!("rss_no_version.xml"));
        assert_eq!(titles(&feed), ["Church roof appeal passes its target"]);
        assert_eq!(feed.items[0].published, utc(2024, 3, 3, 12, 0));
    }

    #[test]
    fn bare_ampersands_survive_in_titles_and_links() {
        let feed = parse(fixture!("rss_bare_ampersand.xml"));
        let item = &feed.items[0];
        assert_eq!(item.title, "AT&T and Verizon bid for spectrum");
        assert_eq!(
            item.link.as_deref(),
            Some("https://telecomweekly.example.com/article?id=4411&section=spectrum")
        );
    }

    #[test]
    fn html_entities_become_real_characters() {
        let feed = parse(fixture!("rss_html_entities.xml"));
        assert_eq!(feed.title, "Le Petit Journal de Québec");
        assert_eq!(
            feed.items[0].title,
            "Café owners protest new terrace rules — again"
        );
        assert_eq!(
            feed.items[0].summary_html,
            "<p>Les propriétaires demandent un délai…</p>"
        );
    }

    #[test]
    fn cp1252_bytes_in_a_utf8_feed_read_as_smart_quotes() {
        let feed = parse(fixture!("rss_cp1252_declared_utf8.xml"));
        assert_eq!(
            feed.items[0].title,
            "Mayor says “no new taxes” – critics doubt it"
        );
        assert_eq!(
            feed.items[0].summary_html,
            "The mayor’s budget leaves the café tax unchanged."
        );
    }

    #[test]
    fn utf16_feeds_in_both_byte_orders_parse() {
        for bytes in [
            &fixture!("rss_utf16le.xml")[..],
            &fixture!("rss_utf16be.xml")[..],
        ] {
            let feed = parse(bytes);
            assert_eq!(titles(&feed), ["Tromsø harbour expansion approved"]);
            assert_eq!(
                feed.items[0].summary_html,
                "Work starts in the autumn – at a cost of 1.2bn kroner."
            );
        }
    }

    #[test]
    fn utf32_feeds_parse() {
        // The UTF-16 fixture (it declares UTF-16), re-encoded as UTF-32 and declared so.
        let (text, _) = encoding_rs::UTF_16LE.decode_with_bom_removal(fixture!("rss_utf16le.xml"));
        let text = text.replacen("UTF-16", "UTF-32", 1);
        let le: Vec<u8> = text
            .chars()
            .flat_map(|c| u32::from(c).to_le_bytes())
            .collect();
        let be: Vec<u8> = text
            .chars()
            .flat_map(|c| u32::from(c).to_be_bytes())
            .collect();
        for bytes in [[&[0xFF, 0xFE, 0, 0][..], &le].concat(), be] {
            let feed = parse(&bytes);
            assert_eq!(titles(&feed), ["Tromsø harbour expansion approved"]);
            assert_eq!(
                feed.items[0].summary_html,
                "Work starts in the autumn – at a cost of 1.2bn kroner."
            );
        }
    }

    #[test]
    fn a_second_xml_declaration_inside_the_feed_does_not_crash_the_parser() {
        // quick-xml (inside feed-rs) panicked on an encoding switch after its first 64 bytes.
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
                   <title>Wire</title><?xml version=\"1.0\" encoding=\"UTF-16\"?>\
                   <item><title>Harbour expansion approved</title></item></channel></rss>";
        assert_eq!(
            titles(&parse(xml.as_bytes())),
            ["Harbour expansion approved"]
        );
    }

    #[test]
    fn a_legacy_declaration_after_a_php_warning_does_not_garble_the_text() {
        let body = b"Notice: Undefined index: page in /var/www/feed.php on line 3\n\
                     <?xml version=\"1.0\" encoding=\"windows-1252\"?><rss version=\"2.0\">\
                     <channel><title>Z\xfcrcher Blatt</title><item><title>Gr\xfcnes Licht \x96 \
                     neue Tramlinie</title></item></channel></rss>";
        let feed = parse(body);
        assert_eq!(feed.title, "Zürcher Blatt");
        assert_eq!(titles(&feed), ["Grünes Licht – neue Tramlinie"]);
    }

    #[test]
    fn a_podcast_duration_feed_rs_cannot_read_does_not_fail_the_feed() {
        // feed-rs 3.0.0 panicked on each of these (`parse::<u64>().unwrap()` on `\d+`).
        for duration in ["١٢:٣٠", "99999999999999999999", "5124095576030431:59:59.9"] {
            let xml = format!(
                "<rss version=\"2.0\" xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" \
                 xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>Pod</title>\
                 <item><title>Episode one</title><link>https://pod.example/1</link>\
                 <itunes:duration>{duration}</itunes:duration>\
                 <media:thumbnail url=\"https://pod.example/1.jpg\" time=\"{duration}\"/>\
                 </item></channel></rss>"
            );
            let feed = parse(xml.as_bytes());
            assert_eq!(titles(&feed), ["Episode one"], "{duration}");
            assert_eq!(
                feed.items[0].image.as_deref(),
                Some("https://pod.example/1.jpg"),
                "{duration}"
            );
        }
    }

    #[test]
    fn legacy_encodings_decode_with_or_without_declaration() {
        let feed = parse(fixture!("rss_latin1_no_declaration.xml"));
        assert_eq!(feed.items[0].title, "Ponte de São João reabre ao trânsito");
        let feed = parse(fixture!("rss_iso8859_declared.xml"));
        assert_eq!(feed.title, "Zürcher Lokalblatt");
        assert_eq!(feed.items[0].title, "Grünes Licht für neue Tramlinie");
    }

    #[test]
    fn http_charset_decodes_a_feed_without_declaration() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(
            "<rss version=\"2.0\"><channel><title>Новости</title>\
             <item><title>Мост открыт</title></item></channel></rss>",
        );
        let feed = parse_feed(
            &bytes,
            Some("application/rss+xml; charset=windows-1251"),
            None,
        )
        .expect("parses");
        assert_eq!(feed.title, "Новости");
        assert_eq!(feed.items[0].title, "Мост открыт");
    }

    #[test]
    fn control_characters_are_dropped() {
        let feed = parse(fixture!("rss_control_chars.xml"));
        assert_eq!(feed.items[0].title, "Port strike ends after three days");
    }

    #[test]
    fn relative_links_resolve_against_the_channel_link() {
        let feed = parse_feed(
            fixture!("rss_relative_links.xml"),
            None,
            Some("https://feeds.example.net/hillside/rss"),
        )
        .expect("parses");
        let links: Vec<_> = feed.items.iter().map(|i| i.link.as_deref()).collect();
        assert_eq!(
            links,
            [
                Some("https://www.hillside-echo.example.com/news/2024/quarry-plans-withdrawn"),
                Some("https://www.hillside-echo.example.com/sport/chess-title"),
                None, // javascript: is not a web page
            ]
        );
        assert_eq!(
            feed.items[0].image.as_deref(),
            Some("https://www.hillside-echo.example.com/images/quarry.jpg")
        );
    }

    #[test]
    fn relative_links_fall_back_to_the_fetch_url() {
        let bytes = fixture!("rss_relative_no_channel_link.xml");
        let feed = parse_feed(
            bytes,
            None,
            Some("https://allotments.example.org/feeds/rss.xml"),
        )
        .expect("parses");
        assert_eq!(
            feed.items[0].link.as_deref(),
            Some("https://allotments.example.org/feeds/allotments/waiting-list")
        );
        // With nothing to resolve against (a local file), the relative link is kept as it is.
        assert_eq!(
            parse(bytes).items[0].link.as_deref(),
            Some("allotments/waiting-list")
        );
    }

    #[test]
    fn permalink_guid_is_the_link_when_there_is_no_link() {
        let body = b"<rss version=\"2.0\"><channel><title>T</title>\
            <item><title>A</title><guid>https://news.example.com/a</guid></item>\
            <item><title>B</title><guid isPermaLink=\"false\">b-77</guid></item>\
            </channel></rss>";
        let feed = parse(body);
        assert_eq!(
            feed.items[0].link.as_deref(),
            Some("https://news.example.com/a")
        );
        assert_eq!(feed.items[1].link, None);
    }

    #[test]
    fn image_enclosure_is_the_thumbnail_and_tracking_pixels_are_not() {
        let feed = parse(fixture!("rss_enclosure_image.xml"));
        assert_eq!(
            feed.items[0].image.as_deref(),
            Some("https://photonews.example.com/media/seals.jpg")
        );
        assert_eq!(
            feed.items[1].image.as_deref(),
            Some("https://photonews.example.com/media/lifeboat-crew.png")
        );
    }

    #[test]
    fn media_rss_thumbnail_and_image_content_are_thumbnails() {
        let feed = parse(fixture!("rss_media_thumbnail.xml"));
        assert_eq!(
            feed.items[0].image.as_deref(),
            Some("https://ichef.worldservice.example.org/240/polling-station.jpg")
        );
        assert_eq!(
            feed.items[1].image.as_deref(),
            Some("https://ichef.worldservice.example.org/976/heatwave.jpg")
        );
    }

    #[test]
    fn items_without_guid_get_none_not_an_invented_id() {
        let bytes = fixture!("rss_no_guid.xml");
        let feed = parse(bytes);
        assert!(feed.items.iter().all(|i| i.guid.is_none()));
        // Parsing again yields identical items: nothing random leaks in.
        assert_eq!(parse(bytes), feed);
        assert_eq!(
            feed.items[1].summary_html,
            "Bin collections move to Tuesday next week."
        );
    }

    #[test]
    fn html_page_is_reported_with_its_title() {
        let error = parse_feed(fixture!("html_page.html"), Some("text/html"), None).unwrap_err();
        assert!(matches!(error, ParseError::HtmlPage { .. }));
        assert_eq!(
            error.to_string(),
            "not a feed: the server sent an HTML page (title: \"Just a moment...\") — check the \
             URL (the page may link to its feed), or the site may block bots"
        );
    }

    #[test]
    fn truncated_xml_keeps_the_complete_items_and_names_the_line_of_the_cut() {
        let feed = parse(fixture!("truncated.xml"));
        // The second item was cut inside its link: it is dropped, not half-read.
        assert_eq!(titles(&feed), ["Bus fares to rise by 5p in April"]);
        let message = feed.damaged.expect("the feed says it is damaged");
        assert!(message.contains("line 14"), "{message}");
        assert!(message.contains("cut off"), "{message}");
        assert!(message.contains("read the 1 complete item(s)"), "{message}");
    }

    #[test]
    fn a_document_cut_inside_its_first_item_is_an_error() {
        let error = parse_feed(
            b"<rss version=\"2.0\"><channel><title>T</title><item><title>Half a ti",
            None,
            None,
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, ParseError::MalformedXml { .. }),
            "{message}"
        );
        assert!(message.contains("cut off"), "{message}");
    }

    #[test]
    fn a_document_broken_midway_keeps_the_items_before_the_break() {
        let body = b"<rss version=\"2.0\"><channel><title>T</title>\
            <item><title>One</title><guid>1</guid></item>\
            <item><title>Two</title><guid>2</guid></item>\
            <item><title>Three<guid>3</guid></item>\
            <item><title>Four</title><guid>4</guid></item></channel></rss>";
        let feed = parse(body);
        assert_eq!(titles(&feed), ["One", "Two"]);
        assert!(feed
            .damaged
            .is_some_and(|m| m.contains("`</item>` found where `<title>`")));
    }

    #[test]
    fn json_feed_bare_versions_are_read() {
        for version in ["1.0", "1.1", "1"] {
            let body = format!(
                r#"{{"version":"{version}","title":"T","items":[{{"id":"a","title":"Ferry back"}}]}}"#
            );
            assert_eq!(titles(&parse(body.as_bytes())), ["Ferry back"], "{version}");
        }
    }

    #[test]
    fn unknown_json_feed_version_is_named_as_written_and_not_contradicted() {
        let body = br#"{"version":"http://jsonfeed.org/version/2","items":[]}"#;
        let message = parse_feed(body, None, None).unwrap_err().to_string();
        assert!(
            message.starts_with(
                "unsupported JSON Feed version \"http://jsonfeed.org/version/2\": newshound \
                 reads JSON Feed 1.0 and 1.1"
            ),
            "{message}"
        );
    }

    #[test]
    fn rss_in_json_items_are_read() {
        let body = br#"{"rss":{"version":"2.0","channel":{"title":"Scripting News",
            "link":"http://scripting.example/","item":[{"title":"Podcasting again",
            "link":"http://scripting.example/2024/podcast","pubDate":"Mon, 10 Sep 2012 17:12:33 GMT",
            "guid":{"isPermaLink":"false","value":"sn-1"}}]}}}"#;
        let feed = parse(body);
        assert_eq!(feed.title, "Scripting News");
        assert_eq!(titles(&feed), ["Podcasting again"]);
        assert_eq!(feed.items[0].guid.as_deref(), Some("sn-1"));
        assert_eq!(
            feed.items[0].published,
            utc(2012, 9, 10, 17, 12).map(|d| d + chrono::Duration::seconds(33))
        );
    }

    #[test]
    fn rss_behind_an_xhtml_doctype_is_a_feed_and_an_html5_page_is_not() {
        let rss = b"<?xml version=\"1.0\"?><!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 \
            Transitional//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\
            <rss><channel><title>T</title><item><title>Found</title></item></channel></rss>";
        assert_eq!(titles(&parse(rss)), ["Found"]);
        let page = b"<!DOCTYPE html><title>Shop</title><p>Hello";
        assert!(matches!(
            parse_feed(page, None, None),
            Err(ParseError::HtmlPage { .. })
        ));
    }

    #[test]
    fn rdf_item_without_link_is_an_item_identified_by_rdf_about() {
        let body = b"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" \
            xmlns=\"http://purl.org/rss/1.0/\"><channel rdf:about=\"http://s.example/rss\">\
            <title>S</title><link>http://s.example/</link></channel>\
            <item rdf:about=\"http://s.example/a\"><title>Linkless</title></item>\
            <item rdf:about=\"http://s.example/b\"><title>Linked</title>\
            <link>http://s.example/b.html</link></item></rdf:RDF>";
        let feed = parse(body);
        assert_eq!(titles(&feed), ["Linkless", "Linked"]);
        assert_eq!(feed.items[0].guid.as_deref(), Some("http://s.example/a"));
        assert_eq!(feed.items[0].link, None);
        assert_eq!(feed.items[1].guid, None);
        assert_eq!(
            feed.items[1].link.as_deref(),
            Some("http://s.example/b.html")
        );
    }

    #[test]
    fn empty_rss_is_an_empty_feed() {
        for body in [&b"<rss></rss>"[..], b"<rss version=\"2.0\"/>"] {
            let feed = parse(body);
            assert!(feed.items.is_empty());
            assert_eq!(feed.damaged, None);
        }
    }

    #[test]
    fn a_whole_document_is_not_damaged() {
        assert_eq!(parse(fixture!("rss2.xml")).damaged, None);
    }

    #[test]
    fn empty_and_whitespace_bodies_are_empty() {
        for body in [&b""[..], b"  \r\n\t ", b"\xEF\xBB\xBF\n"] {
            assert!(matches!(
                parse_feed(body, None, None),
                Err(ParseError::Empty)
            ));
        }
    }

    #[test]
    fn random_bytes_fail_cleanly() {
        // A fixed pseudo-random sequence (no rand seed needed): an LCG over all byte values.
        let mut state: u32 = 0x2545_F491;
        let mut noise: Vec<u8> = (0..4096)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 16) as u8
            })
            .collect();
        noise[0] = b'#';
        assert!(matches!(
            parse_feed(&noise, None, None),
            Err(ParseError::Unrecognised { .. })
        ));
        // Starting like markup or JSON still only yields an error.
        noise[0] = b'<';
        assert!(parse_feed(&noise, None, None).is_err());
        noise[0] = b'{';
        assert!(matches!(
            parse_feed(&noise, None, None),
            Err(ParseError::InvalidJson { .. })
        ));
    }

    #[test]
    fn php_warning_before_the_feed_is_skipped() {
        let mut body =
            b"<br />\n<b>Warning</b>: Undefined variable $x in /var/www/feed.php on line 3\n"
                .to_vec();
        body.extend_from_slice(fixture!("rss_no_version.xml"));
        let feed = parse_feed(&body, None, None).expect("parses after the warning");
        assert_eq!(titles(&feed), ["Church roof appeal passes its target"]);
        let mut body = b"Notice: Undefined index: page in /var/www/feed.php on line 3\n".to_vec();
        body.extend_from_slice(fixture!("rss_no_version.xml"));
        let feed = parse_feed(&body, None, None).expect("parses after the notice");
        assert_eq!(titles(&feed), ["Church roof appeal passes its target"]);
    }

    #[test]
    fn json_that_is_not_a_json_feed_is_refused() {
        let error = parse_feed(br#"{"error": "rate limited"}"#, None, None).unwrap_err();
        assert!(matches!(error, ParseError::NotJsonFeed), "{error}");
    }

    #[test]
    fn xml_that_is_not_a_feed_names_its_root() {
        let sitemap = b"<?xml version=\"1.0\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><url/></urlset>";
        let error = parse_feed(sitemap, None, None).unwrap_err();
        assert!(error.to_string().contains("<urlset>"), "{error}");
    }

    #[test]
    fn first_img_src_without_a_dom_agrees_with_html5ever() {
        // Pieces joined in every order of three: wherever `img_scan` answers, its answer must
        // be html5ever's; where it is unsure the fragment is parsed anyway.
        let pieces = [
            "<p>Text &amp; more</p>",
            "<img src=\"https://a.example/1.jpg\">",
            "<IMG SRC='https://a.example/2.png' width=\"1\">",
            "<img height=\" 1 \" src=\"https://a.example/3.gif\"/>",
            "<img src=\"/relative.jpg\" hidden>",
            "<img src=\"javascript:x\">",
            "<a href=\"x\" title=\"a > b\"><b>bold</a></b>",
            "<table><tr><td>",
            "<img src=https://a.example/4.jpg>",
            "<script>document.write('<img src=\"https://a.example/5.jpg\">')</script>",
            "<!-- <img src=\"https://a.example/6.jpg\"> -->",
            "<select><img src=\"https://a.example/7.jpg\"></select>",
            "<svg><image href=\"https://a.example/8.jpg\"/></svg>",
            "<image src=\"https://a.example/9.jpg\">",
            "1 < 2 <3",
            "<img src=\"https://a.example/a.jpg?x=1&amp;y=2\">",
            "<p class=\"x\"id=\"y\">",
            "</p>",
            "<img src=\"https://a.example/cut.jpg\"",
        ];
        let base = Url::parse("https://base.example/dir/page").ok();
        let mut checked = 0;
        // What `first_img_src` was before `img_scan`: the same pre-check, then html5ever.
        let parsed = |html: &str| {
            (html.contains("<img") || html.contains("<IMG"))
                .then(|| first_img_src_parsed(html, base.as_ref()))
                .flatten()
        };
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let html = format!("{a}{b}{c}");
                    assert_eq!(first_img_src(&html, base.as_ref()), parsed(&html), "{html}");
                    checked += usize::from(img_scan::img_tags(&html).is_ok());
                }
            }
        }
        assert!(checked > 500, "the scan answered only {checked} times");
    }

    #[test]
    fn first_img_src_without_a_dom_agrees_on_every_fixture() {
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures"
        ))];
        let mut fragments = 0;
        while let Some(dir) = dirs.pop() {
            let entries = std::fs::read_dir(&dir).expect("a fixture directory");
            for path in entries.filter_map(Result::ok).map(|e| e.path()) {
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                let Ok(feed) = parse_feed(&bytes, None, None) else {
                    continue;
                };
                for item in &feed.items {
                    for html in [&item.summary_html, &item.content_html] {
                        fragments += 1;
                        let parsed = (html.contains("<img") || html.contains("<IMG"))
                            .then(|| first_img_src_parsed(html, None))
                            .flatten();
                        assert_eq!(
                            first_img_src(html, None),
                            parsed,
                            "{}: {html}",
                            path.display()
                        );
                    }
                }
            }
        }
        assert!(fragments > 100, "only {fragments} fragments");
    }

    #[test]
    fn feed_rs_panic_fails_only_this_document() {
        // feed-rs 3.0.0 panics inside quick-xml on UTF-16 BE without a BOM; parse_feed never
        // hands it such bytes, but if another input panics it must come back as an error.
        let bytes = fixture!("rss_utf16be.xml");
        assert!(matches!(run_feed_rs(&bytes[2..]), Err(ParseError::Crashed)));
        // The same bytes through the front door parse.
        assert_eq!(parse(&bytes[2..]).items.len(), 1);
    }

    #[test]
    fn charset_parameter_is_read_from_content_type() {
        assert_eq!(
            charset_of("text/xml; charset=\"ISO-8859-1\""),
            Some("ISO-8859-1")
        );
        assert_eq!(
            charset_of("application/rss+xml;Charset=utf-8"),
            Some("utf-8")
        );
        assert_eq!(charset_of("application/json"), None);
    }
}
