//! Feed discovery (issue 14): `newshound fetch` given a web page instead of a feed finds the
//! feed the page links to (or the one at a common feed path), lists several, or says there is
//! none and suggests `kind = "html"`. Real binary, pages and feeds on 127.0.0.1.

mod support;

use std::process::Output;

use support::binary::newshound;
use support::feeds::{html_response, item, respond, rss, serve, web_page};
use wiremock::MockServer;

fn fetch(url: &str) -> Output {
    newshound(&["fetch", url, "--output", "json"])
}

fn titles(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("one JSON object per line");
            v["title"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_page_linking_to_one_feed_is_read_as_that_feed() {
    let server = MockServer::start().await;
    let page = web_page(
        "Harbour Times",
        &[("application/rss+xml", "../feeds/latest.xml")],
    );
    respond(&server, "/news/index.html", html_response(page)).await;
    serve(
        &server,
        "/feeds/latest.xml",
        rss(&[
            item("h1", "Harbour dredging starts in spring"),
            item("h2", "Ferry timetable changes"),
        ]),
    )
    .await;

    let out = fetch(&format!("{}/news/index.html", server.uri()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        titles(&out),
        [
            "Harbour dredging starts in spring",
            "Ferry timetable changes"
        ]
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("its feed is {}/feeds/latest.xml", server.uri())),
        "{err}"
    );
}

#[tokio::test]
async fn a_page_with_three_feeds_lists_them_instead_of_guessing() {
    let server = MockServer::start().await;
    let page = web_page(
        "Daily Ledger",
        &[
            ("application/rss+xml", "/rss/world.xml"),
            ("application/atom+xml", "/atom/business.xml"),
            (
                "application/feed+json",
                "https://ledger-cdn.example/feed.json",
            ),
        ],
    );
    respond(&server, "/", html_response(page)).await;

    let out = fetch(&format!("{}/", server.uri()));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("this page has 3 feeds"), "{err}");
    for feed in [
        format!("{}/rss/world.xml", server.uri()),
        format!("{}/atom/business.xml", server.uri()),
        "https://ledger-cdn.example/feed.json".to_string(),
    ] {
        assert!(err.contains(&feed), "{feed} missing: {err}");
    }
    assert!(err.contains("add one of them"), "{err}");
}

#[tokio::test]
async fn a_page_with_no_feed_says_so_and_suggests_watching_the_page() {
    let server = MockServer::start().await;
    respond(
        &server,
        "/newsroom",
        html_response(web_page("Acme Newsroom", &[])),
    )
    .await;

    let out = fetch(&format!("{}/newsroom", server.uri()));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("links to no feed"), "{err}");
    assert!(err.contains("/feed, /rss, /atom.xml"), "{err}");
    assert!(err.contains("kind = \"html\""), "{err}");
}

#[tokio::test]
async fn a_page_without_links_uses_the_feed_at_a_common_path() {
    let server = MockServer::start().await;
    respond(
        &server,
        "/about",
        html_response(web_page("Quiet Blog", &[])),
    )
    .await;
    serve(
        &server,
        "/index.xml",
        rss(&[item("q1", "Notes on gardening")]),
    )
    .await;

    let out = fetch(&format!("{}/about", server.uri()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(titles(&out), ["Notes on gardening"]);
    assert!(
        stderr(&out).contains(&format!("its feed is {}/index.xml", server.uri())),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_linked_feed_that_is_broken_is_named_with_the_reason() {
    let server = MockServer::start().await;
    respond(
        &server,
        "/",
        html_response(web_page(
            "Gone Gazette",
            &[("application/rss+xml", "/gone.xml")],
        )),
    )
    .await;

    let out = fetch(&format!("{}/", server.uri()));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("links to the feed {}/gone.xml", server.uri()))
            && err.contains("404"),
        "{err}"
    );
}
