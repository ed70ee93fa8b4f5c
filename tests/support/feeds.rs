//! Feeds as the tests publish them: RSS items and documents, and the local HTTP routes that
//! serve them.

use std::borrow::Cow;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The `pubDate` of an item unless a test sets another.
pub const DATE: &str = "Sun, 29 Nov 2026 09:00:00 GMT";

/// One RSS 2.0 item.
#[derive(Clone, Debug)]
pub struct RssItem<'a> {
    pub guid: Option<&'a str>,
    pub title: &'a str,
    pub link: Cow<'a, str>,
    pub date: &'a str,
    pub description: &'a str,
}

/// An item whose link is unique to its guid (items sharing a link are one item), published
/// at [`DATE`] with no description.
pub fn item<'a>(guid: &'a str, title: &'a str) -> RssItem<'a> {
    RssItem {
        guid: Some(guid),
        title,
        link: Cow::Owned(format!("https://wire.example/story/{guid}")),
        date: DATE,
        description: "",
    }
}

impl<'a> RssItem<'a> {
    #[must_use]
    pub fn link(mut self, link: impl Into<Cow<'a, str>>) -> Self {
        self.link = link.into();
        self
    }

    #[must_use]
    pub fn date(mut self, date: &'a str) -> Self {
        self.date = date;
        self
    }

    #[must_use]
    pub fn description(mut self, description: &'a str) -> Self {
        self.description = description;
        self
    }

    /// The same item without a `<guid>` (identified by its link, or its title).
    #[must_use]
    pub fn without_guid(mut self) -> Self {
        self.guid = None;
        self
    }
}

/// An RSS 2.0 document with `items` in order.
pub fn rss(items: &[RssItem<'_>]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Test wire</title><link>https://wire.example/</link><description>t</description>\n",
    );
    for i in items {
        out.push_str("<item>");
        if let Some(g) = i.guid {
            out.push_str(&format!("<guid isPermaLink=\"false\">{g}</guid>"));
        }
        out.push_str(&format!(
            "<title>{}</title><link>{}</link><pubDate>{}</pubDate><description>{}</description></item>\n",
            xml_escape(i.title),
            xml_escape(&i.link),
            i.date,
            xml_escape(i.description)
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `200 OK` with the feed document `body`. wiremock's `set_body_string` labels it
/// `text/plain` (whatever `content-type` was set before), as every served feed here always
/// was: the bot knows a feed by its body. Tests of content types build their own response.
pub fn rss_response(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(body)
}

/// Answers `GET route` on `server` with `template` (in addition to what is mounted).
pub async fn respond(server: &MockServer, route: &str, template: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(template)
        .mount(server)
        .await;
}

/// Serves the feed document `body` at `route` on `server` (in addition to what is mounted).
pub async fn serve(server: &MockServer, route: &str, body: String) {
    respond(server, route, rss_response(body)).await;
}

/// Serves `items` at `/feed.xml` on `server`, replacing every mounted route.
pub async fn publish(server: &MockServer, items: &[RssItem<'_>]) {
    server.reset().await;
    serve(server, "/feed.xml", rss(items)).await;
}

/// A publisher's web page (not a feed) titled `title`, whose `<head>` has one
/// `<link rel="alternate">` per `(type, href)` in `feed_links`, as blogs and news sites write
/// them.
pub fn web_page(title: &str, feed_links: &[(&str, &str)]) -> String {
    let mut head = String::new();
    for (kind, href) in feed_links {
        head.push_str(&format!(
            "  <link rel=\"alternate\" type=\"{kind}\" title=\"{title} feed\" href=\"{href}\">\n"
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head>\n  <meta charset=\"utf-8\">\n  <title>{title}</title>\n  <link rel=\"stylesheet\" href=\"/assets/site.css\">\n  <link rel=\"icon\" href=\"/favicon.ico\">\n{head}</head>\n<body><header><a href=\"/\">{title}</a></header>\n<main><article><h2><a href=\"/2026/11/29/launch\">We launched</a></h2><p>Read all about it.</p></article></main>\n</body></html>\n"
    )
}

/// `200 OK` with the HTML page `body`, labelled `text/html` as web servers do.
pub fn html_response(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html; charset=utf-8")
}
