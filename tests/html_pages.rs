//! `kind = "html"` (issue 14): a newsroom page without a feed, read with CSS selectors. Real
//! binary, real SQLite, the page served from 127.0.0.1.

mod support;

use support::binary::{newshound, once_json, once_json_with};
use support::config::Setup;
use support::feeds::{html_response, respond};
use wiremock::MockServer;

/// A corporate newsroom page listing `articles` (slug, headline, date) as cards.
fn newsroom(articles: &[(&str, &str, &str)]) -> String {
    let mut cards = String::new();
    for (slug, headline, date) in articles {
        cards.push_str(&format!(
            "<article class=\"card\">\n  <a class=\"thumb\" href=\"/news/{slug}\"><img src=\"/img/{slug}.jpg\" alt=\"\"></a>\n  <h2><a href=\"/news/{slug}?utm_source=newsroom\">{headline}</a></h2>\n  <p class=\"lede\">{headline}. Read the full release.</p>\n  <time datetime=\"{date}\">{date}</time>\n</article>\n"
        ));
    }
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Acme Newsroom</title></head>\n<body><header><nav><a href=\"/\">Acme</a> <a href=\"/careers\">Careers</a></nav></header>\n<main><h1>Press releases</h1>\n{cards}</main><footer><a href=\"/privacy\">Privacy</a></footer></body></html>\n"
    )
}

/// The same news after a redesign: cards are `<div class="story">` now.
fn redesigned(articles: &[(&str, &str)]) -> String {
    let mut cards = String::new();
    for (slug, headline) in articles {
        cards.push_str(&format!(
            "<div class=\"story\"><h3><a href=\"/stories/{slug}\">{headline}</a></h3></div>\n"
        ));
    }
    format!("<!DOCTYPE html><html><head><title>Acme Newsroom</title></head><body><main>{cards}</main></body></html>")
}

fn config(setup: &Setup, page: &str) -> std::path::PathBuf {
    setup.write_config(&format!(
        "[[sources]]\nname = \"Acme\"\nurl = \"{page}\"\nkind = \"html\"\n[sources.select]\nitems = \"article\"\nlink = \"h2 a\"\nsummary = \"p.lede\"\ndate = \"time\"\nimage = \"img\"\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"Acme\"\nchannel = \"news\"\n"
    ))
}

fn sources_table(config: &std::path::Path) -> String {
    let out = newshound(&["sources", "--config", config.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_article_on_the_newsroom_page_alerts_once() {
    let site = MockServer::start().await;
    let first_day = [
        (
            "acme-q3",
            "Acme reports third-quarter results",
            "2026-11-27T08:00:00Z",
        ),
        (
            "acme-lyon",
            "Acme opens a lab in Lyon",
            "2026-11-26T08:00:00Z",
        ),
    ];
    respond(&site, "/newsroom", html_response(newsroom(&first_day))).await;
    let setup = Setup::new();
    let config = config(&setup, &format!("{}/newsroom", site.uri()));

    let first = once_json(&config);
    assert!(
        first.alerts.is_empty(),
        "the first poll only records: {:?}",
        first.titles()
    );

    site.reset().await;
    let next_day = [
        (
            "acme-ceo",
            "Acme names a new chief executive",
            "2026-11-29T07:30:00Z",
        ),
        first_day[0],
        first_day[1],
    ];
    respond(&site, "/newsroom", html_response(newsroom(&next_day))).await;
    let second = once_json(&config);
    assert_eq!(second.titles(), ["Acme names a new chief executive"]);
    let alert = &second.alerts[0];
    assert_eq!(
        alert["link"],
        format!("{}/news/acme-ceo?utm_source=newsroom", site.uri())
    );
    assert_eq!(alert["published"], "2026-11-29T07:30:00Z");
    assert_eq!(alert["image"], format!("{}/img/acme-ceo.jpg", site.uri()));
    assert!(
        alert["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("Read the full release"),
        "{alert}"
    );

    let third = once_json_with(&config, &["--force"]);
    assert!(third.alerts.is_empty(), "{:?}", third.titles());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layout_change_is_a_visible_source_error() {
    let site = MockServer::start().await;
    respond(
        &site,
        "/newsroom",
        html_response(newsroom(&[(
            "acme-q3",
            "Acme reports results",
            "2026-11-27T08:00:00Z",
        )])),
    )
    .await;
    let setup = Setup::new();
    let config = config(&setup, &format!("{}/newsroom", site.uri()));
    let _ = once_json(&config);
    assert!(
        sources_table(&config).contains("Acme | ok"),
        "{}",
        sources_table(&config)
    );

    site.reset().await;
    respond(
        &site,
        "/newsroom",
        html_response(redesigned(&[(
            "acme-ceo",
            "Acme names a new chief executive",
        )])),
    )
    .await;
    let run = once_json_with(&config, &["--force"]);
    assert!(run.alerts.is_empty());
    let table = sources_table(&config);
    assert!(
        table.contains("selector `article` matched nothing on the last poll"),
        "{table}"
    );
    for _ in 0..2 {
        let _ = once_json_with(&config, &["--force"]);
    }
    let table = sources_table(&config);
    assert!(
        table.contains("selector `article` matched nothing on the last 3 polls")
            && table.contains("layout may have changed"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_with_a_selector_previews_the_page() {
    let site = MockServer::start().await;
    respond(
        &site,
        "/newsroom",
        html_response(newsroom(&[
            (
                "acme-ceo",
                "Acme names a new chief executive",
                "2026-11-29T07:30:00Z",
            ),
            ("acme-q3", "Acme reports results", "2026-11-27T08:00:00Z"),
        ])),
    )
    .await;
    let url = format!("{}/newsroom", site.uri());
    let out = newshound(&[
        "fetch",
        &url,
        "--selector",
        "article",
        "--title",
        "h2",
        "--output",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let links: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["title"].as_str().unwrap().to_string(),
                v["link"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        links,
        [
            (
                "Acme names a new chief executive".to_string(),
                format!("{}/news/acme-ceo", site.uri())
            ),
            (
                "Acme reports results".to_string(),
                format!("{}/news/acme-q3", site.uri())
            ),
        ],
        "without --link, the first <a href> of each item (the thumbnail's)"
    );
    let out = newshound(&["fetch", &url, "--selector", "div.story"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("selector `div.story` matched nothing"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn invalid_selectors_and_kinds_are_config_errors_with_the_key() {
    let setup = Setup::new();
    let config = setup.write_config(
        "[[sources]]\nname = \"A\"\nurl = \"https://a.example/news\"\nkind = \"html\"\n[sources.select]\nitems = \"article[\"\ntitle = \"h2 >\"\n\n[[sources]]\nname = \"B\"\nurl = \"https://b.example/news\"\nkind = \"html\"\n\n[[sources]]\nname = \"C\"\nurl = \"https://c.example/news\"\nkind = \"webpage\"\n",
    );
    let out = newshound(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("sources[1].select.items = \"article[\": not a valid CSS selector"),
        "{all}"
    );
    assert!(all.contains("sources[1].select.title = \"h2 >\""), "{all}");
    assert!(all.contains("sources[2].select: missing"), "{all}");
    assert!(
        all.contains("sources[3].kind = \"webpage\": unknown kind"),
        "{all}"
    );
}
