//! `kind = "sitemap"`: Google News sitemaps (`news:title`, `news:publication_date`), plain
//! sitemaps (`lastmod`) and sitemap indexes. Parsing a document and choosing the recent entries
//! are pure; [`read`] fetches an index's children (bounded depth and count, each through the
//! same fetcher, limits and address policy).

use chrono::{DateTime, Duration, Utc};
use quick_xml::events::Event;
use quick_xml::Reader;
use url::Url;

use crate::core::model::{Feed, Item};
use crate::sources::fetch::{AddressPolicy, FetchOutcome, Fetcher, Validators};
use crate::sources::html_list::page_date;

/// At most this many child sitemaps are read per poll (the newest by `lastmod` first).
pub const MAX_CHILDREN: usize = 10;
/// An index inside an index is followed; one more level is not.
pub const MAX_DEPTH: u8 = 2;

/// One `<url>` of a sitemap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub loc: String,
    pub lastmod: Option<DateTime<Utc>>,
    /// `<news:title>`.
    pub title: Option<String>,
    /// `<news:publication_date>`.
    pub published: Option<DateTime<Utc>>,
    /// `<image:loc>`.
    pub image: Option<String>,
}

/// A parsed sitemap document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sitemap {
    /// `<sitemapindex>`: child sitemaps with their `lastmod`.
    Index(Vec<(String, Option<DateTime<Utc>>)>),
    /// `<urlset>`.
    Urls(Vec<Entry>),
}

/// Why a document is not a sitemap. The `Display` is shown to people as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SitemapError {
    #[error("not a sitemap: malformed XML ({0}) — check the URL")]
    Malformed(String),
    #[error("not a sitemap: the document is a <{0}>, not <urlset> or <sitemapindex> — check the URL, or use kind = \"feed\" or \"html\"")]
    UnknownRoot(String),
    #[error("not a sitemap: the document has no root element — check the URL")]
    Empty,
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

/// Parses a sitemap or sitemap index.
pub fn parse(xml: &str) -> Result<Sitemap, SitemapError> {
    let mut reader = Reader::from_str(xml);
    let mut root: Option<String> = None;
    // The path of local names from the root to the current element.
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut children: Vec<(String, Option<DateTime<Utc>>)> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut current = Entry::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| SitemapError::Malformed(e.to_string()))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_ascii_lowercase();
                if root.is_none() {
                    root = Some(name.clone());
                }
                if matches!(name.as_str(), "url" | "sitemap") {
                    current = Entry::default();
                }
                path.push(name);
                text.clear();
            }
            Event::Text(e) => text.push_str(&e.into_inner()),
            Event::CData(e) => text.push_str(&e.into_inner()),
            Event::GeneralRef(e) => {
                if let Ok(Some(c)) = e.resolve_char_ref() {
                    text.push(c);
                } else if let Some(c) = entity(&e.into_inner()) {
                    text.push(c);
                }
            }
            Event::End(_) => {
                let value = text.trim().to_string();
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or_default();
                match (parent, name.as_str()) {
                    ("url" | "sitemap", "loc") => current.loc = value,
                    ("url" | "sitemap", "lastmod") => current.lastmod = page_date(&value),
                    ("news", "title") => current.title = Some(value).filter(|t| !t.is_empty()),
                    ("news", "publication_date") => current.published = page_date(&value),
                    ("image", "loc") => current.image = Some(value),
                    (_, "url") if !current.loc.is_empty() => {
                        entries.push(std::mem::take(&mut current));
                    }
                    (_, "sitemap") if !current.loc.is_empty() => {
                        let child = std::mem::take(&mut current);
                        children.push((child.loc, child.lastmod));
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match root.as_deref() {
        Some("sitemapindex") => Ok(Sitemap::Index(children)),
        Some("urlset") => Ok(Sitemap::Urls(entries)),
        Some(other) => Err(SitemapError::UnknownRoot(other.to_string())),
        None => Err(SitemapError::Empty),
    }
}

/// A readable title from a URL's last path segment (`/2026/11/acme-opens-lab.html` →
/// "Acme opens lab"), for plain sitemaps, which give none.
fn title_from_url(loc: &Url) -> String {
    let segment = loc
        .path_segments()
        .and_then(|mut s| s.rfind(|seg| !seg.is_empty()).map(str::to_string))
        .unwrap_or_default();
    let stem = segment.split('.').next().unwrap_or_default();
    let words: String = stem
        .split(['-', '_'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => loc.to_string(),
    }
}

/// The entries dated within `max_age_days` of `now` (the news publication date, else
/// `lastmod`; undated entries are left out: a sitemap lists a whole site), as items, in order.
pub fn recent_items(
    entries: &[Entry],
    base: Option<&Url>,
    now: DateTime<Utc>,
    max_age_days: u32,
) -> Vec<Item> {
    let oldest = now - Duration::days(i64::from(max_age_days));
    let mut items: Vec<Item> = Vec::new();
    for entry in entries {
        let Some(date) = entry.published.or(entry.lastmod) else {
            continue;
        };
        if date < oldest {
            continue;
        }
        let loc = match base {
            Some(b) => b.join(&entry.loc).ok(),
            None => Url::parse(&entry.loc).ok(),
        };
        let Some(loc) = loc.filter(|u| matches!(u.scheme(), "http" | "https")) else {
            continue;
        };
        let link = loc.to_string();
        if items
            .iter()
            .any(|i| i.link.as_deref() == Some(link.as_str()))
        {
            continue;
        }
        items.push(Item {
            guid: None,
            title: entry.title.clone().unwrap_or_else(|| title_from_url(&loc)),
            link: Some(link),
            published: Some(date),
            summary_html: String::new(),
            content_html: String::new(),
            categories: Vec::new(),
            image: entry.image.clone(),
            points: None,
        });
    }
    items
}

/// Reads the sitemap `body` fetched from `url`: its recent entries, and, for an index, those of
/// its newest children (at most [`MAX_CHILDREN`], [`MAX_DEPTH`] levels), each fetched
/// unconditionally through `fetcher` under `policy`. A child that fails is skipped and named
/// in `Feed::damaged`; only a top document that is no sitemap fails the poll.
pub async fn read(
    fetcher: &Fetcher,
    body: Vec<u8>,
    url: Option<Url>,
    policy: AddressPolicy,
    now: DateTime<Utc>,
    max_age_days: u32,
) -> Result<Feed, String> {
    let mut pending: Vec<(Vec<u8>, Option<Url>, u8)> = vec![(body, url.clone(), 1)];
    let mut items: Vec<Item> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut fetched_children = 0;
    let mut top = true;
    while let Some((body, at, depth)) = pending.pop() {
        let text = crate::sources::cleanup::to_utf8(&body, None);
        let parsed = tokio::task::spawn_blocking(move || parse(&text))
            .await
            .map_err(|_| "the sitemap reader crashed on that document".to_string())?;
        let sitemap = match parsed {
            Ok(s) => s,
            Err(e) if top => return Err(e.to_string()),
            Err(e) => {
                skipped.push(format!(
                    "{}: {e}",
                    at.as_ref().map_or("?".into(), ToString::to_string)
                ));
                continue;
            }
        };
        top = false;
        match sitemap {
            Sitemap::Urls(entries) => {
                for item in recent_items(&entries, at.as_ref(), now, max_age_days) {
                    if !items.iter().any(|i| i.link == item.link) {
                        items.push(item);
                    }
                }
            }
            Sitemap::Index(mut children) if depth < MAX_DEPTH => {
                // Newest first: news sitemaps are usually the most recently modified.
                children.sort_by_key(|c| std::cmp::Reverse(c.1));
                for (loc, _) in children {
                    if fetched_children >= MAX_CHILDREN {
                        break;
                    }
                    let Some(child) = at
                        .as_ref()
                        .map_or_else(|| Url::parse(&loc).ok(), |b| b.join(&loc).ok())
                    else {
                        continue;
                    };
                    fetched_children += 1;
                    match fetcher
                        .fetch(child.as_str(), &Validators::default(), policy, now)
                        .await
                    {
                        Ok(FetchOutcome::Fetched(f)) => {
                            pending.push((f.body, f.final_url.or(Some(child)), depth + 1));
                        }
                        Ok(FetchOutcome::NotModified { .. }) => {}
                        Err(e) => skipped.push(format!("{child}: {e}")),
                    }
                }
            }
            Sitemap::Index(_) => skipped.push(format!(
                "{}: an index nested deeper than {MAX_DEPTH} levels is not followed",
                at.as_ref().map_or("?".into(), ToString::to_string)
            )),
        }
    }
    let damaged = (!skipped.is_empty()).then(|| {
        format!(
            "{} child sitemap(s) not read: {}",
            skipped.len(),
            skipped.join("; ")
        )
    });
    Ok(Feed {
        title: url.as_ref().map(ToString::to_string).unwrap_or_default(),
        items,
        ttl_minutes: None,
        damaged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEWS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://paper.example/business/2026/11/29/acme-merger?src=sm&amp;x=1</loc>
    <news:news>
      <news:publication><news:name>The Paper</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2026-11-29T08:00:00+01:00</news:publication_date>
      <news:title>Acme &amp; Globex agree to merge</news:title>
    </news:news>
    <image:image><image:loc>https://paper.example/img/merger.jpg</image:loc></image:image>
  </url>
  <url>
    <loc>https://paper.example/world/2026/11/01/old-news</loc>
    <news:news><news:publication_date>2026-11-01</news:publication_date><news:title>Old news</news:title></news:news>
  </url>
  <url><loc>https://paper.example/about</loc></url>
  <url><loc>https://paper.example/2026/11/28/city-council-votes-budget.html</loc><lastmod>2026-11-28T18:00:00Z</lastmod></url>
</urlset>"#;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_news_sitemap_gives_its_recent_entries_as_items() {
        let Ok(Sitemap::Urls(entries)) = parse(NEWS) else {
            panic!("not a urlset")
        };
        assert_eq!(entries.len(), 4);
        let items = recent_items(&entries, None, now(), 2);
        let got: Vec<(&str, &str)> = items
            .iter()
            .map(|i| (i.title.as_str(), i.link.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Acme & Globex agree to merge",
                    "https://paper.example/business/2026/11/29/acme-merger?src=sm&x=1"
                ),
                (
                    "City council votes budget",
                    "https://paper.example/2026/11/28/city-council-votes-budget.html"
                ),
            ],
            "old and undated entries are left out"
        );
        assert_eq!(
            items[0].published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-11-29T07:00:00+00:00")
        );
        assert_eq!(
            items[0].image.as_deref(),
            Some("https://paper.example/img/merger.jpg")
        );
        assert_eq!(recent_items(&entries, None, now(), 40).len(), 3);
    }

    #[test]
    fn an_index_lists_its_children() {
        let index = r#"<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
          <sitemap><loc>https://paper.example/sitemap-news.xml</loc><lastmod>2026-11-29T09:00:00Z</lastmod></sitemap>
          <sitemap><loc>/sitemap-2025.xml</loc></sitemap></sitemapindex>"#;
        assert_eq!(
            parse(index),
            Ok(Sitemap::Index(vec![
                (
                    "https://paper.example/sitemap-news.xml".into(),
                    page_date("2026-11-29T09:00:00Z")
                ),
                ("/sitemap-2025.xml".into(), None),
            ]))
        );
    }

    #[test]
    fn other_documents_are_not_sitemaps() {
        assert_eq!(
            parse("<rss version=\"2.0\"><channel/></rss>"),
            Err(SitemapError::UnknownRoot("rss".into()))
        );
        assert_eq!(parse("   "), Err(SitemapError::Empty));
        assert!(matches!(
            parse("<urlset><url></urlset>"),
            Err(SitemapError::Malformed(_))
        ));
    }
}
