//! `kind = "html"`: a web page without a feed, read as a list of items with CSS selectors
//! (`[sources.select]`: `items`, `title`, `link`, `summary`, `date`, `image`). Pure: compiling
//! the selectors (config validation) and reading one fetched page into a [`Feed`].

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use scraper::{ElementRef, Html, Selector};
use url::Url;

use crate::core::model::{Feed, Item};

/// The selectors as written in `[sources.select]` (or given to `newshound fetch --selector`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectText {
    pub items: String,
    pub title: Option<String>,
    pub link: Option<String>,
    pub summary: Option<String>,
    pub date: Option<String>,
    pub image: Option<String>,
}

/// One compiled selector and the text it was compiled from (for messages).
#[derive(Debug, Clone)]
struct Compiled {
    text: String,
    selector: Selector,
}

/// Compiled `[sources.select]`.
#[derive(Debug, Clone)]
pub struct PageSelectors {
    items: Compiled,
    title: Option<Compiled>,
    link: Option<Compiled>,
    summary: Option<Compiled>,
    date: Option<Compiled>,
    image: Option<Compiled>,
}

/// A selector that does not compile: which key, its value, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSelector {
    /// `items`, `title`, ...
    pub key: &'static str,
    pub value: String,
    pub problem: String,
}

fn compile_one(key: &'static str, text: &str) -> Result<Compiled, BadSelector> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(BadSelector {
            key,
            value: text.to_string(),
            problem: "is empty; give a CSS selector such as \"article\" or \"h2 a\"".into(),
        });
    }
    Selector::parse(trimmed)
        .map(|selector| Compiled {
            text: trimmed.to_string(),
            selector,
        })
        .map_err(|e| BadSelector {
            key,
            value: text.to_string(),
            problem: format!(
                "not a valid CSS selector ({e}); write one as in a style sheet, e.g. \"article\", \"h2 a\" or \"li.news-item\""
            ),
        })
}

/// Compiles every selector; every one that fails is reported.
pub fn compile(text: &SelectText) -> Result<PageSelectors, Vec<BadSelector>> {
    let mut problems = Vec::new();
    let mut optional = |key: &'static str, value: &Option<String>| match value {
        None => None,
        Some(v) => compile_one(key, v).map_err(|e| problems.push(e)).ok(),
    };
    let title = optional("title", &text.title);
    let link = optional("link", &text.link);
    let summary = optional("summary", &text.summary);
    let date = optional("date", &text.date);
    let image = optional("image", &text.image);
    let items = compile_one("items", &text.items)
        .map_err(|e| problems.push(e))
        .ok();
    match items {
        Some(items) if problems.is_empty() => Ok(PageSelectors {
            items,
            title,
            link,
            summary,
            date,
            image,
        }),
        _ => Err(problems),
    }
}

/// Why a page gave no items. The `Display` is shown to people as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// The `items` selector found no element: the page's layout changed, or it is wrong.
    #[error(
        "selector `{items}` matched nothing on the page — its layout may have changed; check \
         `[sources.select] items` against the page (try `newshound fetch URL --selector ...`)"
    )]
    NothingMatched { items: String },
    /// Elements matched, but none had a link to identify it by.
    #[error(
        "selector `{items}` matched {matched} element(s) but none had a link — set \
         `[sources.select] link` to the element holding each item's `<a href>`"
    )]
    NoLinks { items: String, matched: usize },
}

impl PageSelectors {
    /// The `items` selector as written.
    pub fn items_text(&self) -> &str {
        &self.items.text
    }
}

fn text_of(element: ElementRef<'_>) -> String {
    element
        .text()
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

fn first<'a>(item: ElementRef<'a>, selector: &Selector) -> Option<ElementRef<'a>> {
    item.select(selector).next()
}

fn resolve(href: &str, base: Option<&Url>) -> Option<String> {
    let href = href.trim();
    let url = match base {
        Some(base) => base.join(href).ok()?,
        None => Url::parse(href).ok()?,
    };
    matches!(url.scheme(), "http" | "https").then(|| {
        let mut url = url;
        url.set_fragment(None);
        url.to_string()
    })
}

/// The `href` of `element`, else of the first `<a href>` inside it.
fn href_in(element: ElementRef<'_>, anchors: &Selector) -> Option<String> {
    element
        .value()
        .attr("href")
        .map(str::to_string)
        .or_else(|| {
            first(element, anchors).and_then(|a| a.value().attr("href").map(str::to_string))
        })
}

/// A date as pages write them: RFC 3339 (`datetime="2026-11-29T09:00:00Z"`), RFC 2822,
/// `2026-11-29 09:00`, or a bare `2026-11-29` (midnight UTC).
pub fn page_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(text) {
        return Some(d.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(text, format) {
            return Some(d.and_utc());
        }
    }
    for format in ["%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(text, format) {
            return d.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
        }
    }
    None
}

/// The items of `html` (fetched from `page`) under `selectors`, in page order, one per
/// distinct resolved link (identity comes from the link; an element without one is skipped).
pub fn read_page(
    html: &str,
    page: Option<&Url>,
    selectors: &PageSelectors,
) -> Result<Feed, PageError> {
    let document = Html::parse_document(html);
    let parse = |s: &str| Selector::parse(s).ok();
    let (Some(anchors), Some(headings), Some(base_sel), Some(title_sel)) = (
        parse("a[href]"),
        parse("h1, h2, h3, h4, h5, h6"),
        parse("base[href]"),
        parse("title"),
    ) else {
        return Ok(Feed::default());
    };
    let base = document
        .select(&base_sel)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| match page {
            Some(p) => p.join(href).ok(),
            None => Url::parse(href).ok(),
        })
        .or_else(|| page.cloned());
    let base = base.as_ref();
    let mut matched = 0;
    let mut items: Vec<Item> = Vec::new();
    for element in document.select(&selectors.items.selector) {
        matched += 1;
        let link = match &selectors.link {
            Some(link) => first(element, &link.selector).and_then(|e| href_in(e, &anchors)),
            None => href_in(element, &anchors),
        }
        .and_then(|href| resolve(&href, base));
        let Some(link) = link else { continue };
        if items
            .iter()
            .any(|i| i.link.as_deref() == Some(link.as_str()))
        {
            continue;
        }
        let title = match &selectors.title {
            Some(title) => first(element, &title.selector).map(text_of),
            None => first(element, &headings)
                .or_else(|| first(element, &anchors))
                .map(text_of),
        }
        .unwrap_or_default();
        let summary = selectors
            .summary
            .as_ref()
            .and_then(|s| first(element, &s.selector))
            .map(|e| html_escape::encode_text(&text_of(e)).into_owned())
            .unwrap_or_default();
        let published = selectors
            .date
            .as_ref()
            .and_then(|s| first(element, &s.selector))
            .and_then(|e| {
                e.value()
                    .attr("datetime")
                    .and_then(page_date)
                    .or_else(|| page_date(&text_of(e)))
            });
        let image = selectors
            .image
            .as_ref()
            .and_then(|s| first(element, &s.selector))
            .and_then(|e| e.value().attr("src").or_else(|| e.value().attr("data-src")))
            .and_then(|src| resolve(src, base));
        items.push(Item {
            guid: None,
            title,
            link: Some(link),
            published,
            summary_html: summary,
            content_html: String::new(),
            categories: Vec::new(),
            image,
            points: None,
        });
    }
    if matched == 0 {
        return Err(PageError::NothingMatched {
            items: selectors.items.text.clone(),
        });
    }
    if items.is_empty() {
        return Err(PageError::NoLinks {
            items: selectors.items.text.clone(),
            matched,
        });
    }
    let title = document
        .select(&title_sel)
        .next()
        .map(text_of)
        .unwrap_or_default();
    Ok(Feed {
        title,
        items,
        ttl_minutes: None,
        damaged: None,
    })
}

/// "on the last poll" / "on the last N polls": how long the `items` selector has found
/// nothing, from the source's previous error and its failure count.
pub fn nothing_matched_streak(items: &str, last_error: Option<&str>, failures: u32) -> String {
    let marker = format!("selector `{items}` matched nothing");
    let polls = if last_error.is_some_and(|e| e.starts_with(&marker)) {
        failures + 1
    } else {
        1
    };
    if polls == 1 {
        format!("{marker} on the last poll")
    } else {
        format!("{marker} on the last {polls} polls")
    }
}

/// Reads a fetched page under `selectors` off the async runtime (selector matching is CPU
/// work): the items, or the error to record for the source, which counts the polls in a row
/// whose `items` selector matched nothing (`last_error`, `failures`: the source's so far).
pub async fn read_fetched(
    body: Vec<u8>,
    content_type: Option<String>,
    final_url: Option<Url>,
    selectors: std::sync::Arc<PageSelectors>,
    last_error: Option<&str>,
    failures: u32,
) -> Result<Feed, String> {
    let items = selectors.items_text().to_string();
    let result = tokio::task::spawn_blocking(move || {
        let charset = content_type.as_deref().and_then(|ct| {
            ct.split(';')
                .find_map(|p| p.trim().strip_prefix("charset=").map(str::to_string))
        });
        let html = crate::sources::cleanup::to_utf8(&body, charset.as_deref());
        read_page(&html, final_url.as_ref(), &selectors)
    })
    .await
    .map_err(|_| "the page reader crashed on that page".to_string())?;
    result.map_err(|e| match e {
        PageError::NothingMatched { .. } => format!(
            "{} — the page's layout may have changed; check `[sources.select] items` (try `newshound fetch URL --selector ...`)",
            nothing_matched_streak(&items, last_error, failures)
        ),
        other @ PageError::NoLinks { .. } => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEWSROOM: &str = r#"<!doctype html><html><head><title>Acme Newsroom</title></head><body>
      <nav><a href="/">Home</a></nav>
      <main>
        <article class="card"><h2><a href="/news/2026/acme-opens-lab">Acme opens a research lab in Lyon</a></h2>
          <p class="lede">The lab will employ 40 people.</p><time datetime="2026-11-29T09:00:00Z">29 November</time>
          <img src="/img/lab.jpg" alt=""></article>
        <article class="card"><h2><a href="https://acme.example/news/2026/q3#top">Q3 results</a></h2>
          <time>2026-10-30</time></article>
        <article class="card"><h2>No link here</h2></article>
        <article class="card"><h2><a href="/news/2026/acme-opens-lab">Acme opens a research lab in Lyon</a></h2></article>
      </main></body></html>"#;

    fn page() -> Url {
        Url::parse("https://acme.example/newsroom/").unwrap()
    }

    fn select(items: &str) -> SelectText {
        SelectText {
            items: items.into(),
            ..SelectText::default()
        }
    }

    #[test]
    fn defaults_take_the_first_heading_and_link_resolved_against_the_page() {
        let sel = compile(&select("article")).unwrap();
        let feed = read_page(NEWSROOM, Some(&page()), &sel).unwrap();
        assert_eq!(feed.title, "Acme Newsroom");
        let got: Vec<(&str, Option<&str>)> = feed
            .items
            .iter()
            .map(|i| (i.title.as_str(), i.link.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Acme opens a research lab in Lyon",
                    Some("https://acme.example/news/2026/acme-opens-lab")
                ),
                ("Q3 results", Some("https://acme.example/news/2026/q3")),
            ],
            "the element without a link and the repeated link are no items"
        );
        assert_eq!(feed.items[0].image, None, "image only when asked for");
    }

    #[test]
    fn every_selector_is_used_when_given() {
        let sel = compile(&SelectText {
            items: "article.card".into(),
            title: Some("h2".into()),
            link: Some("h2 a".into()),
            summary: Some("p.lede".into()),
            date: Some("time".into()),
            image: Some("img".into()),
        })
        .unwrap();
        let feed = read_page(NEWSROOM, Some(&page()), &sel).unwrap();
        let lab = &feed.items[0];
        assert_eq!(lab.summary_html, "The lab will employ 40 people.");
        assert_eq!(
            lab.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-11-29T09:00:00+00:00"),
            "the datetime attribute wins over the text"
        );
        assert_eq!(
            lab.image.as_deref(),
            Some("https://acme.example/img/lab.jpg")
        );
        assert_eq!(
            feed.items[1].published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-10-30T00:00:00+00:00"),
            "else the text"
        );
    }

    #[test]
    fn a_selector_that_matches_nothing_is_an_error_naming_it() {
        let sel = compile(&select("div.story")).unwrap();
        let err = read_page(NEWSROOM, Some(&page()), &sel).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("selector `div.story` matched nothing"),
            "{err}"
        );
        let sel = compile(&select("time")).unwrap();
        let err = read_page(NEWSROOM, Some(&page()), &sel).unwrap_err();
        assert!(err.to_string().contains("none had a link"), "{err}");
    }

    #[test]
    fn invalid_selectors_are_all_reported_with_their_key() {
        let problems = compile(&SelectText {
            items: "article[".into(),
            title: Some(String::new()),
            link: Some("h2 a".into()),
            summary: Some("p::lede(".into()),
            ..SelectText::default()
        })
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key).collect();
        assert_eq!(keys, ["title", "summary", "items"]);
        assert!(
            problems[2].problem.contains("not a valid CSS selector"),
            "{:?}",
            problems[2]
        );
        assert!(problems[0].problem.contains("is empty"));
    }

    #[test]
    fn an_empty_page_counts_the_polls_in_a_row() {
        assert_eq!(
            nothing_matched_streak("article", Some("HTTP 500 from x"), 4),
            "selector `article` matched nothing on the last poll"
        );
        let once = nothing_matched_streak("article", None, 0);
        assert_eq!(
            nothing_matched_streak("article", Some(&format!("{once} — the layout…")), 2),
            "selector `article` matched nothing on the last 3 polls"
        );
    }

    #[test]
    fn page_dates_in_common_forms() {
        for text in [
            "2026-11-29T09:00:00Z",
            "Sun, 29 Nov 2026 09:00:00 GMT",
            "2026-11-29 09:00",
        ] {
            assert_eq!(
                page_date(text).map(|d| d.to_rfc3339()).as_deref(),
                Some("2026-11-29T09:00:00+00:00"),
                "{text}"
            );
        }
        assert!(page_date("November 29, 2026").is_some());
        assert_eq!(page_date("yesterday"), None);
    }
}
