//! OPML, the subscription-list format feed readers import and export: a bounded parser
//! (size and outline caps, no DOCTYPE, no entity expansion), the import decision (what to
//! add, skip, refuse, and why) and an OPML 2.0 writer. Pure: bytes in, values out.

use std::collections::HashSet;
use std::fmt::Write as _;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use url::Url;

/// Largest OPML document accepted, checked before parsing. A reader's export of 2,000 feeds
/// is about 400 KB.
pub const MAX_OPML_BYTES: usize = 2 * 1024 * 1024;
/// Most `<outline>` elements (folders and feeds) accepted in one document.
pub const MAX_OUTLINES: usize = 5_000;
/// Deepest folder nesting accepted.
pub const MAX_DEPTH: usize = 32;
/// Longest source name newshound stores (the same cap as `/sources add`).
pub const MAX_NAME: usize = 100;
/// Longest source URL newshound stores (the same cap as `/sources add`).
pub const MAX_URL: usize = 2000;

/// Why an OPML document was refused as a whole. Nothing from it is added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpmlError {
    /// Past [`MAX_OPML_BYTES`].
    #[error("the OPML file is {bytes} bytes; at most {limit} bytes are accepted (split it into smaller files)")]
    TooLarge { bytes: usize, limit: usize },
    /// Not UTF-8 (OPML exports are UTF-8 in practice).
    #[error("the OPML file is not UTF-8 text; save it as UTF-8 and try again")]
    NotUtf8,
    /// The XML does not parse.
    #[error("the file is not well-formed XML ({reason}); export it again from your feed reader")]
    NotXml { reason: String },
    /// A DOCTYPE: entity definitions are how "billion laughs" files expand, so none are read.
    #[error("the OPML file has a <!DOCTYPE> declaration, which newshound never reads (entity definitions can expand without bound); remove it and try again")]
    Doctype,
    /// An entity reference other than the five XML ones and character references.
    #[error("the OPML file uses the undefined entity `&{name};`; only &amp; &lt; &gt; &quot; &apos; and numeric references are allowed")]
    Entity { name: String },
    /// The root element is not `<opml>`.
    #[error("the file is XML but not OPML (its root element is <{root}>, not <opml>)")]
    NotOpml { root: String },
    /// Past [`MAX_OUTLINES`].
    #[error("the OPML file has more than {limit} outlines; split it into smaller files")]
    TooManyOutlines { limit: usize },
    /// Past [`MAX_DEPTH`].
    #[error("the OPML file nests folders more than {limit} deep")]
    TooDeep { limit: usize },
}

/// One feed outline (an `<outline>` with an `xmlUrl`), folders flattened away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    /// `title`, else `text`, as written (may be empty).
    pub title: String,
    /// `xmlUrl`, trimmed, as written.
    pub url: String,
    /// The enclosing folders' names, outermost first.
    pub folders: Vec<String>,
}

/// Parses an OPML document into its feeds, in document order.
pub fn parse(bytes: &[u8]) -> Result<Vec<OpmlFeed>, OpmlError> {
    if bytes.len() > MAX_OPML_BYTES {
        return Err(OpmlError::TooLarge {
            bytes: bytes.len(),
            limit: MAX_OPML_BYTES,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| OpmlError::NotUtf8)?;
    let mut reader = Reader::from_str(text);
    let mut feeds = Vec::new();
    // The open elements: `Some(name)` for an outline (its folder name), `None` for others.
    let mut open: Vec<Option<String>> = Vec::new();
    let mut outlines = 0usize;
    let mut seen_root = false;
    loop {
        let event = reader.read_event().map_err(|e| OpmlError::NotXml {
            reason: format!("at byte {}: {e}", reader.error_position()),
        })?;
        match event {
            Event::DocType(_) => return Err(OpmlError::Doctype),
            Event::GeneralRef(r) => {
                let name = r.xml_content(XmlVersion::Implicit1_0).into_owned();
                if !name.starts_with('#') && !is_predefined(&name) {
                    return Err(OpmlError::Entity { name });
                }
            }
            Event::Start(e) | Event::Empty(e) if !seen_root => {
                seen_root = true;
                let root = local_name(&e);
                if root != "opml" {
                    return Err(OpmlError::NotOpml { root });
                }
                open.push(None);
            }
            Event::Start(e) => {
                let outline = read_outline(&e, &open, &mut outlines)?;
                if let Some(feed) = outline.feed {
                    feeds.push(feed);
                }
                open.push(outline.folder);
                if open.len() > MAX_DEPTH + 3 {
                    return Err(OpmlError::TooDeep { limit: MAX_DEPTH });
                }
            }
            Event::Empty(e) => {
                if let Some(feed) = read_outline(&e, &open, &mut outlines)?.feed {
                    feeds.push(feed);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(OpmlError::NotXml {
            reason: "there is no root element".into(),
        });
    }
    Ok(feeds)
}

fn is_predefined(name: &str) -> bool {
    matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
}

fn local_name(e: &BytesStart<'_>) -> String {
    e.local_name().as_ref().to_string()
}

struct Outline {
    /// `None` for elements other than `<outline>`.
    folder: Option<String>,
    feed: Option<OpmlFeed>,
}

fn read_outline(
    e: &BytesStart<'_>,
    open: &[Option<String>],
    outlines: &mut usize,
) -> Result<Outline, OpmlError> {
    if local_name(e) != "outline" {
        return Ok(Outline {
            folder: None,
            feed: None,
        });
    }
    *outlines += 1;
    if *outlines > MAX_OUTLINES {
        return Err(OpmlError::TooManyOutlines {
            limit: MAX_OUTLINES,
        });
    }
    let (mut text, mut title, mut xml_url) = (None, None, None);
    for attr in e.attributes().with_checks(false) {
        let attr = attr.map_err(|err| OpmlError::NotXml {
            reason: err.to_string(),
        })?;
        let value =
            attr.normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| match err {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                    ) => OpmlError::Entity { name },
                    other => OpmlError::NotXml {
                        reason: other.to_string(),
                    },
                })?
                .into_owned();
        match attr.key.local_name().as_ref() {
            "text" => text = Some(value),
            "title" => title = Some(value),
            // Some exporters write `xmlurl`.
            k if k.eq_ignore_ascii_case("xmlUrl") => xml_url = Some(value),
            _ => {}
        }
    }
    let label = title
        .filter(|t| !t.trim().is_empty())
        .or(text)
        .unwrap_or_default()
        .trim()
        .to_string();
    let feed = xml_url
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .map(|url| OpmlFeed {
            title: label.clone(),
            url,
            folders: open.iter().flatten().cloned().collect(),
        });
    Ok(Outline {
        folder: Some(label),
        feed,
    })
}

/// A source an import will add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSource {
    pub name: String,
    pub url: String,
}

/// One feed not added, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAdded {
    pub title: String,
    pub url: String,
    pub reason: String,
}

/// What an import does: added, skipped (already there), refused (not allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportPlan {
    pub add: Vec<NewSource>,
    pub skipped: Vec<NotAdded>,
    pub refused: Vec<NotAdded>,
}

/// What the importer already has, and how many more sources fit.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    /// URLs of the sources already visible to the importer, any form.
    pub urls: Vec<String>,
    /// Names already taken where the new sources will live.
    pub names: Vec<String>,
    /// How many more sources may be added (`None`: no quota).
    pub room: Option<usize>,
}

/// Decides, for every parsed feed, whether it is added, skipped or refused. `check` applies
/// the address rules of whoever imports (it has already been given an http(s) URL).
pub fn plan_import(
    feeds: &[OpmlFeed],
    existing: &Existing,
    check: impl Fn(&Url) -> Result<(), String>,
) -> ImportPlan {
    let mut plan = ImportPlan::default();
    let mut urls: HashSet<String> = existing.urls.iter().map(|u| url_key(u)).collect();
    let mut names: HashSet<String> = existing.names.iter().map(|n| n.to_lowercase()).collect();
    let mut room = existing.room;
    for feed in feeds {
        let not_added = |reason: String| NotAdded {
            title: feed.title.clone(),
            url: feed.url.clone(),
            reason,
        };
        let parsed = match check_feed_url(&feed.url) {
            Ok(u) => u,
            Err(reason) => {
                plan.refused.push(not_added(reason));
                continue;
            }
        };
        if let Err(reason) = check(&parsed) {
            plan.refused.push(not_added(reason));
            continue;
        }
        let key = url_key(parsed.as_str());
        if urls.contains(&key) {
            plan.skipped.push(not_added("already a source".into()));
            continue;
        }
        if room == Some(0) {
            plan.refused.push(not_added(format!(
                "the server's source limit is reached ({} added here)",
                plan.add.len()
            )));
            continue;
        }
        let name = unique_name(&source_name(&feed.title, &parsed), &names);
        urls.insert(key);
        names.insert(name.to_lowercase());
        room = room.map(|r| r - 1);
        plan.add.push(NewSource {
            name,
            url: parsed.to_string(),
        });
    }
    plan
}

fn check_feed_url(raw: &str) -> Result<Url, String> {
    if raw.chars().count() > MAX_URL {
        return Err(format!("the URL is longer than {MAX_URL} characters"));
    }
    let url = Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!(
            "only http and https URLs can be sources, not `{other}:`"
        )),
    }
}

/// The form two URLs are compared in: parsed (host lower-cased, default port dropped), with
/// the fragment and a trailing slash ignored.
pub fn url_key(raw: &str) -> String {
    match Url::parse(raw.trim()) {
        Ok(mut u) => {
            u.set_fragment(None);
            u.as_str().trim_end_matches('/').to_string()
        }
        Err(_) => raw.trim().to_string(),
    }
}

/// A clean source name from an outline's title: no control, invisible or mention
/// characters, at most [`MAX_NAME`] characters; the host when the title is empty.
fn source_name(title: &str, url: &Url) -> String {
    let cleaned: String = title
        .chars()
        .filter(|c| !c.is_control() && !is_invisible(*c) && *c != '@' && *c != '<')
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let name = if cleaned.is_empty() {
        url.host_str().unwrap_or("feed").to_string()
    } else {
        cleaned
    };
    name.chars().take(MAX_NAME).collect()
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// `name`, or `name (2)`, `name (3)`, ... whichever is free.
fn unique_name(name: &str, taken: &HashSet<String>) -> String {
    if !taken.contains(&name.to_lowercase()) {
        return name.to_string();
    }
    (2..=taken.len() + 2)
        .map(|n| {
            let suffix = format!(" ({n})");
            let base: String = name
                .chars()
                .take(MAX_NAME - suffix.chars().count())
                .collect();
            format!("{base}{suffix}")
        })
        .find(|candidate| !taken.contains(&candidate.to_lowercase()))
        .unwrap_or_else(|| name.to_string())
}

/// The import report as plain lines: counts, then one line per feed not added with why.
pub fn report(plan: &ImportPlan) -> String {
    let mut text = format!(
        "{} added, {} skipped, {} refused\n",
        plan.add.len(),
        plan.skipped.len(),
        plan.refused.len()
    );
    for s in &plan.add {
        let _ = writeln!(text, "added: {} <{}>", s.name, s.url);
    }
    for s in &plan.skipped {
        let _ = writeln!(text, "skipped: {} <{}>: {}", s.title, s.url, s.reason);
    }
    for s in &plan.refused {
        let _ = writeln!(text, "refused: {} <{}>: {}", s.title, s.url, s.reason);
    }
    text
}

/// A source to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSource {
    pub name: String,
    pub url: String,
}

/// Writes an OPML 2.0 document listing `sources` (every attribute escaped; characters XML
/// cannot carry dropped).
pub fn write(title: &str, sources: &[ExportSource]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n",
    );
    let _ = writeln!(out, "    <title>{}</title>", escape(title));
    out.push_str("  </head>\n  <body>\n");
    for s in sources {
        let _ = writeln!(
            out,
            "    <outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\"/>",
            escape(&s.name),
            escape(&s.url)
        );
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

fn escape(text: &str) -> String {
    let legal: String = text
        .chars()
        .filter(|c| matches!(c, '\t' | '\n' | '\r') || !c.is_control())
        .collect();
    quick_xml::escape::escape(legal.as_str())
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(
        clippy::unnecessary_wraps,
        reason = "the shape plan_import's address check takes"
    )]
    fn allow_all(_: &Url) -> Result<(), String> {
        Ok(())
    }

    const NESTED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>mine</title></head><body>
  <outline text="Tech" title="Tech">
    <outline text="AI">
      <outline type="rss" text="AI Wire" xmlUrl="https://ai.example/feed"/>
    </outline>
    <outline type="rss" text="Tom &amp; Jerry&#39;s" title="" xmlUrl=" https://tj.example/rss "/>
  </outline>
  <outline type="rss" title="Top" text="ignored" xmlUrl="https://top.example/"></outline>
</body></opml>"#;

    #[test]
    fn nested_folders_are_flattened_in_document_order() {
        let feeds = parse(NESTED.as_bytes()).expect("parses");
        let urls: Vec<_> = feeds.iter().map(|f| f.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://ai.example/feed",
                "https://tj.example/rss",
                "https://top.example/"
            ]
        );
        assert_eq!(feeds[0].folders, ["Tech", "AI"]);
        assert_eq!(feeds[1].title, "Tom & Jerry's");
        assert_eq!(feeds[2].title, "Top");
        assert!(feeds[2].folders.is_empty());
    }

    #[test]
    fn doctype_with_entities_is_refused() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<opml version="2.0"><body><outline text="&lol2;" xmlUrl="https://x.example/"/></body></opml>"#;
        assert_eq!(parse(laughs.as_bytes()), Err(OpmlError::Doctype));
    }

    #[test]
    fn undefined_entity_is_refused() {
        let doc = r#"<opml version="2.0"><body><outline text="&lol;" xmlUrl="https://x.example/"/></body></opml>"#;
        assert!(matches!(
            parse(doc.as_bytes()),
            Err(OpmlError::Entity { name }) if name == "lol"
        ));
    }

    #[test]
    fn oversized_document_is_refused_before_parsing() {
        let big = vec![b'<'; MAX_OPML_BYTES + 1];
        assert!(matches!(
            parse(&big),
            Err(OpmlError::TooLarge { bytes, .. }) if bytes == MAX_OPML_BYTES + 1
        ));
    }

    #[test]
    fn too_many_outlines_are_refused() {
        let mut doc = String::from("<opml version=\"2.0\"><body>");
        for i in 0..=MAX_OUTLINES {
            doc.push_str(&format!("<outline xmlUrl=\"https://e.example/{i}\"/>"));
        }
        doc.push_str("</body></opml>");
        assert_eq!(
            parse(doc.as_bytes()),
            Err(OpmlError::TooManyOutlines {
                limit: MAX_OUTLINES
            })
        );
    }

    #[test]
    fn not_xml_and_not_opml_are_told_apart() {
        assert!(matches!(
            parse(b"name,url\nA,https://a.example/"),
            Err(OpmlError::NotXml { .. })
        ));
        assert!(matches!(
            parse(b"<rss version=\"2.0\"><channel/></rss>"),
            Err(OpmlError::NotOpml { root }) if root == "rss"
        ));
        assert!(matches!(
            parse(b"<opml><body><outline></body></opml>"),
            Err(OpmlError::NotXml { .. })
        ));
    }

    #[test]
    fn import_skips_duplicates_and_refuses_bad_urls() {
        let feeds = [
            OpmlFeed {
                title: "A".into(),
                url: "https://A.example/feed#x".into(),
                folders: vec![],
            },
            OpmlFeed {
                title: "A again".into(),
                url: "https://a.example/feed".into(),
                folders: vec![],
            },
            OpmlFeed {
                title: "Known".into(),
                url: "https://known.example/rss/".into(),
                folders: vec![],
            },
            OpmlFeed {
                title: "File".into(),
                url: "file:///etc/passwd".into(),
                folders: vec![],
            },
            OpmlFeed {
                title: "Local".into(),
                url: "http://127.0.0.1/feed".into(),
                folders: vec![],
            },
        ];
        let existing = Existing {
            urls: vec!["https://known.example/rss".into()],
            names: vec!["a".into()],
            room: None,
        };
        let plan = plan_import(&feeds, &existing, |u| {
            if u.host_str() == Some("127.0.0.1") {
                Err("blocked: loopback".into())
            } else {
                Ok(())
            }
        });
        assert_eq!(
            plan.add,
            [NewSource {
                name: "A (2)".into(),
                url: "https://a.example/feed#x".into()
            }]
        );
        assert_eq!(plan.skipped.len(), 2, "{plan:?}");
        let reasons: Vec<_> = plan.refused.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons.len(), 2);
        assert!(reasons[0].contains("`file:`"), "{reasons:?}");
        assert_eq!(reasons[1], "blocked: loopback");
        assert!(report(&plan).starts_with("1 added, 2 skipped, 2 refused\n"));
    }

    #[test]
    fn quota_refuses_the_rest() {
        let feeds: Vec<_> = (0..3)
            .map(|i| OpmlFeed {
                title: format!("F{i}"),
                url: format!("https://f.example/{i}"),
                folders: vec![],
            })
            .collect();
        let plan = plan_import(
            &feeds,
            &Existing {
                room: Some(2),
                ..Existing::default()
            },
            allow_all,
        );
        assert_eq!(plan.add.len(), 2);
        assert_eq!(plan.refused.len(), 1);
        assert!(plan.refused[0].reason.contains("limit"));
    }

    #[test]
    fn names_lose_mentions_and_fall_back_to_the_host() {
        let feeds = [
            OpmlFeed {
                title: "@everyone <b>hi</b>".into(),
                url: "https://one.example/".into(),
                folders: vec![],
            },
            OpmlFeed {
                title: "  ".into(),
                url: "https://two.example/rss".into(),
                folders: vec![],
            },
        ];
        let plan = plan_import(&feeds, &Existing::default(), allow_all);
        assert_eq!(plan.add[0].name, "everyone b>hi/b>");
        assert_eq!(plan.add[1].name, "two.example");
    }

    #[test]
    fn export_escapes_and_parses_back() {
        let sources = [
            ExportSource {
                name: "Tom & \"Jerry\" <news>\u{1}".into(),
                url: "https://e.example/feed?a=1&b='2'".into(),
            },
            ExportSource {
                name: "Plain".into(),
                url: "https://p.example/".into(),
            },
        ];
        let doc = write("newshound <sources>", &sources);
        assert!(doc.contains("<opml version=\"2.0\">"));
        let back = parse(doc.as_bytes()).expect("own output parses");
        assert_eq!(back[0].title, "Tom & \"Jerry\" <news>");
        assert_eq!(back[0].url, "https://e.example/feed?a=1&b='2'");
        assert_eq!(back[1].title, "Plain");
    }
}
