//! `kind = "sitemap"` (issue 14): a sitemap index with two Google News sitemaps, served from
//! 127.0.0.1: only recent entries become items, and each alerts once.

mod support;

use chrono::{Duration, SecondsFormat, Utc};
use support::binary::{newshound, once_json, once_json_with};
use support::config::Setup;
use support::feeds::respond;
use wiremock::{MockServer, ResponseTemplate};

/// `hours_ago` as a sitemap writes a date.
fn ago(hours: i64) -> String {
    (Utc::now() - Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn index(base: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{base}/sitemaps/news-business.xml</loc><lastmod>{}</lastmod></sitemap>
  <sitemap><loc>{base}/sitemaps/news-world.xml</loc><lastmod>{}</lastmod></sitemap>
</sitemapindex>"#,
        ago(1),
        ago(2)
    )
}

/// A Google News sitemap of `(slug, title, hours ago)`.
fn news(base: &str, entries: &[(&str, &str, i64)]) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
"#,
    );
    for (slug, title, hours) in entries {
        out.push_str(&format!(
            "  <url><loc>{base}/{slug}</loc><news:news><news:publication><news:name>The Paper</news:name><news:language>en</news:language></news:publication><news:publication_date>{}</news:publication_date><news:title>{title}</news:title></news:news></url>\n",
            ago(*hours)
        ));
    }
    out.push_str("</urlset>\n");
    out
}

async fn serve_xml(server: &MockServer, route: &str, body: String) {
    respond(
        server,
        route,
        ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "application/xml"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_news_sitemap_index_alerts_each_recent_article_once() {
    let site = MockServer::start().await;
    let base = site.uri();
    let publish = |business: Vec<(&'static str, &'static str, i64)>,
                   world: Vec<(&'static str, &'static str, i64)>| {
        let site = &site;
        let base = base.clone();
        async move {
            site.reset().await;
            serve_xml(site, "/sitemap_index.xml", index(&base)).await;
            serve_xml(site, "/sitemaps/news-business.xml", news(&base, &business)).await;
            serve_xml(site, "/sitemaps/news-world.xml", news(&base, &world)).await;
        }
    };
    publish(
        vec![("business/acme-results", "Acme results beat forecasts", 3)],
        vec![("world/old-summit", "Acme at the 2025 summit", 24 * 30)],
    )
    .await;
    let setup = Setup::new();
    let config = setup.write_config(&format!(
        "[[sources]]\nname = \"The Paper\"\nurl = \"{base}/sitemap_index.xml\"\nkind = \"sitemap\"\nmax_age_days = 2\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"Acme\"\nchannel = \"news\"\n"
    ));
    let first = once_json(&config);
    assert!(first.alerts.is_empty(), "the first poll only records");
    assert!(
        first.line("The Paper").contains("1 item"),
        "{}",
        first.stderr
    );

    publish(
        vec![
            ("business/acme-ceo", "Acme names a new chief executive", 1),
            ("business/acme-results", "Acme results beat forecasts", 3),
        ],
        vec![
            ("world/acme-lyon", "Acme opens a lab in Lyon", 2),
            (
                "world/acme-archive",
                "Acme's founding, from the archive",
                24 * 10,
            ),
            ("world/old-summit", "Acme at the 2025 summit", 24 * 30),
        ],
    )
    .await;
    let second = once_json_with(&config, &["--force"]);
    let mut titles = second.titles();
    titles.sort();
    assert_eq!(
        titles,
        [
            "Acme names a new chief executive",
            "Acme opens a lab in Lyon"
        ],
        "only articles of the last 2 days, from both sitemaps"
    );
    assert!(second
        .alerts
        .iter()
        .any(|a| a["link"] == format!("{base}/world/acme-lyon")));

    let third = once_json_with(&config, &["--force"]);
    assert!(third.alerts.is_empty(), "{:?}", third.titles());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_that_is_not_a_sitemap_is_a_visible_error() {
    let site = MockServer::start().await;
    serve_xml(
        &site,
        "/sitemap.xml",
        "<rss version=\"2.0\"><channel><title>x</title></channel></rss>".into(),
    )
    .await;
    let setup = Setup::new();
    let config = setup.write_config(&format!(
        "[[sources]]\nname = \"Paper\"\nurl = \"{}/sitemap.xml\"\nkind = \"sitemap\"\n",
        site.uri()
    ));
    let _ = once_json(&config);
    let out = newshound(&["sources", "--config", config.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("not a sitemap: the document is a <rss>"),
        "{table}"
    );
}
