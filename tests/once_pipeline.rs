//! Black-box: the real binary's `once` against feeds served by a local HTTP server.

mod common;

use common::{item, once_json, rss, titles, RssItem, Setup};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HEADLINES: [&str; 4] = [
    "Meta in talks to use Google's Gemini models for ad targeting",
    "EU prepares antitrust probe into Meta’s AI integration on WhatsApp",
    "Amazon and Google launch a multicloud networking service",
    "Coupang apologizes after data breach affecting 33.7 million users",
];

async fn serve(server: &MockServer, route: &str, body: String) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(body)
                .insert_header("content-type", "application/rss+xml"),
        )
        .mount(server)
        .await;
}

fn wire_config(setup: &Setup, server: &MockServer, subs: &str) -> std::path::PathBuf {
    setup.write_config(&format!(
        "[[sources]]\nname = \"Wire\"\nurl = \"{}/feed.xml\"\n\n{subs}",
        server.uri()
    ))
}

const META_GEMINI_SUBS: &str = r#"
[[subscriptions]]
user = "alice"
query = "Meta"
channel = "news"

[[subscriptions]]
user = "alice"
query = "Gemini"
channel = "news"

[[subscriptions]]
user = "bob"
query = "Gemini"
channel = "ai"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_items_alert_once_and_never_again() {
    let server = MockServer::start().await;
    let setup = Setup::new();
    let config = wire_config(&setup, &server, META_GEMINI_SUBS);
    let old = [item(
        "old-1",
        "Markets open higher on Monday",
        "https://wire.example/old-1",
    )];
    serve(&server, "/feed.xml", rss(&old)).await;

    // First poll: everything is recorded, nothing alerts.
    let first = once_json(&config);
    assert!(
        first.alerts.is_empty(),
        "first poll must not alert: {:?}",
        first.alerts
    );
    assert!(first.stderr.contains("first poll"), "{}", first.stderr);

    let mut items: Vec<RssItem<'_>> = HEADLINES
        .iter()
        .enumerate()
        .map(|(i, t)| RssItem {
            guid: Some(["h0", "h1", "h2", "h3"][i]),
            title: t,
            link: [
                "https://wire.example/a",
                "https://wire.example/b",
                "https://wire.example/c",
                "https://wire.example/d",
            ][i],
            date: "Sun, 29 Nov 2026 09:00:00 GMT",
            description: "",
        })
        .collect();
    items.push(RssItem {
        guid: Some("n1"),
        title: "New metadata standard for photo archives",
        link: "https://wire.example/meta/photo-metadata",
        date: "Sun, 29 Nov 2026 09:00:00 GMT",
        description: "A metaverse of metadata, says a meta-analysis. See https://wire.example/meta/ for more.",
    });
    items.extend(old);
    server.reset().await;
    serve(&server, "/feed.xml", rss(&items)).await;

    let second = once_json(&config);
    let alerts = second.alerts;
    // Item 0 matches Meta and Gemini for alice (one alert in #news listing both) and Gemini for
    // bob (#ai); item 1 matches Meta for alice. Nothing else.
    assert_eq!(alerts.len(), 3, "{alerts:#?}");
    let news_0 = alerts
        .iter()
        .find(|a| a["target"] == "news" && a["title"] == HEADLINES[0])
        .expect("item 0 to #news");
    assert_eq!(news_0["subscribers"], serde_json::json!(["alice"]));
    assert_eq!(news_0["matched"], serde_json::json!(["Meta", "Gemini"]));
    assert_eq!(news_0["source"], "Wire");
    assert_eq!(news_0["link"], "https://wire.example/a");
    assert_eq!(news_0["published"], "2026-11-29T09:00:00Z");
    let ai_0 = alerts
        .iter()
        .find(|a| a["target"] == "ai")
        .expect("item 0 to #ai");
    assert_eq!(ai_0["title"], HEADLINES[0]);
    assert_eq!(ai_0["subscribers"], serde_json::json!(["bob"]));
    let news_1 = alerts
        .iter()
        .find(|a| a["title"] == HEADLINES[1])
        .expect("item 1");
    assert_eq!(news_1["matched"], serde_json::json!(["Meta"]));
    for a in &alerts {
        assert!(a.get("summary").is_some());
    }

    // Third run (a new process: also a restart): nothing.
    let third = once_json(&config);
    assert!(third.alerts.is_empty(), "{:?}", titles(&third.alerts));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "split in issue 11 by the lead")]
async fn rewritten_feed_does_not_realert() {
    let server = MockServer::start().await;
    let setup = Setup::new();
    let config = wire_config(
        &setup,
        &server,
        "[[subscriptions]]\nuser = \"alice\"\nquery = \"Meta\"\n",
    );
    let a = RssItem {
        guid: Some("g-a"),
        title: "Meta signs Gemini deal with Google",
        link: "https://wire.example/a",
        date: "Sun, 29 Nov 2026 09:00:00 GMT",
        description: "",
    };
    let b = RssItem {
        guid: Some("g-b"),
        title: "Meta faces EU probe over WhatsApp AI",
        link: "https://wire.example/b",
        date: "Sun, 29 Nov 2026 08:00:00 GMT",
        description: "",
    };
    serve(
        &server,
        "/feed.xml",
        rss(&[item(
            "g-0",
            "Weather calm across the region today",
            "https://wire.example/0",
        )]),
    )
    .await;
    assert!(once_json(&config).alerts.is_empty());
    server.reset().await;
    serve(&server, "/feed.xml", rss(&[a, b])).await;
    assert_eq!(once_json(&config).alerts.len(), 2);

    let variants: Vec<(&str, Vec<RssItem<'_>>)> = vec![
        (
            "reordered",
            vec![
                RssItem {
                    guid: Some("g-b"),
                    title: "Meta faces EU probe over WhatsApp AI",
                    link: "https://wire.example/b",
                    date: "Sun, 29 Nov 2026 08:00:00 GMT",
                    description: "",
                },
                RssItem {
                    guid: Some("g-a"),
                    title: "Meta signs Gemini deal with Google",
                    link: "https://wire.example/a",
                    date: "Sun, 29 Nov 2026 09:00:00 GMT",
                    description: "",
                },
            ],
        ),
        (
            "pubDate rewritten",
            vec![RssItem {
                guid: Some("g-a"),
                title: "Meta signs Gemini deal with Google",
                link: "https://wire.example/a",
                date: "Mon, 30 Nov 2026 11:00:00 GMT",
                description: "",
            }],
        ),
        (
            "guid changed, link kept",
            vec![RssItem {
                guid: Some("g-a-v2"),
                title: "Meta signs Gemini deal with Google (updated)",
                link: "https://wire.example/a",
                date: "Sun, 29 Nov 2026 09:00:00 GMT",
                description: "",
            }],
        ),
        (
            "guid and link changed, title kept",
            vec![RssItem {
                guid: Some("g-b-v3"),
                title: "Meta faces EU probe over WhatsApp AI",
                link: "https://wire.example/b-amp",
                date: "Sun, 29 Nov 2026 08:00:00 GMT",
                description: "",
            }],
        ),
        (
            "tracking parameters added",
            vec![RssItem {
                guid: None,
                title: "Meta signs a Gemini deal",
                link: "https://wire.example/a?utm_source=rss&utm_campaign=x&fbclid=123#comments",
                date: "Sun, 29 Nov 2026 09:00:00 GMT",
                description: "",
            }],
        ),
        (
            "old item slides back",
            vec![
                RssItem {
                    guid: Some("g-b"),
                    title: "Meta faces EU probe over WhatsApp AI",
                    link: "https://wire.example/b",
                    date: "Sun, 29 Nov 2026 08:00:00 GMT",
                    description: "",
                },
                RssItem {
                    guid: Some("g-a"),
                    title: "Meta signs Gemini deal with Google",
                    link: "https://wire.example/a",
                    date: "Sun, 29 Nov 2026 09:00:00 GMT",
                    description: "",
                },
            ],
        ),
    ];
    for (what, items) in variants {
        server.reset().await;
        serve(&server, "/feed.xml", rss(&items)).await;
        let run = once_json(&config);
        assert!(
            run.alerts.is_empty(),
            "{what}: re-alerted {:?}",
            titles(&run.alerts)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_is_sent_back_and_304_means_unchanged() {
    let server = MockServer::start().await;
    let setup = Setup::new();
    let config = wire_config(&setup, &server, "");
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .set_body_string(rss(&[item(
                    "x",
                    "Quiet day for markets in Asia",
                    "https://wire.example/x",
                )])),
        )
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    once_json(&config);
    let second = once_json(&config);
    assert!(
        second.stderr.contains("Wire: unchanged"),
        "{}",
        second.stderr
    );
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "split in issue 11 by the lead")]
async fn failing_sources_fail_alone_and_back_off() {
    let server = MockServer::start().await;
    let setup = Setup::new();
    Mock::given(method("GET"))
        .and(path("/500.xml"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/slow.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(rss(&[]))
                .set_delay(std::time::Duration::from_secs(8)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/loop.xml"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop.xml"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/huge.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            "<rss version=\"2.0\"><channel><title>{}</title></channel></rss>",
            "x".repeat(64 * 1024)
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/broken.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "<rss version=\"2.0\"><channel><title>Half</title><item><title>Cut off",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/gone.xml"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&server)
        .await;
    serve(
        &server,
        "/good.xml",
        rss(&[item(
            "g",
            "Meta opens a new data centre in Denmark",
            "https://wire.example/g",
        )]),
    )
    .await;
    let mut body = String::new();
    let sources = ["500", "slow", "loop", "huge", "broken", "gone", "good"];
    for s in sources {
        body.push_str(&format!(
            "[[sources]]\nname = \"{s}\"\nurl = \"{}/{s}.xml\"\nbackfill = 5\n\n",
            server.uri()
        ));
    }
    body.push_str("[[subscriptions]]\nuser = \"alice\"\nquery = \"Meta\"\n");
    let config = setup.write_config(&body);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[fetch]\n", "[fetch]\nmax_body_bytes = 16384\n");
    std::fs::write(&config, text).unwrap();

    let run = once_json(&config);
    assert_eq!(
        titles(&run.alerts),
        vec!["Meta opens a new data centre in Denmark"],
        "{}",
        run.stderr
    );
    let line = |name: &str| {
        run.stderr
            .lines()
            .find(|l| l.starts_with(&format!("{name}: ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("500").contains("FAILED")
            && line("500").contains("503")
            && line("500").contains("retrying after"),
        "{}",
        line("500")
    );
    assert!(
        line("slow").contains("FAILED") && line("slow").to_lowercase().contains("timed out"),
        "{}",
        line("slow")
    );
    assert!(
        line("loop").contains("FAILED") && line("loop").to_lowercase().contains("redirect"),
        "{}",
        line("loop")
    );
    assert!(
        line("huge").contains("FAILED") && line("huge").contains("larger"),
        "{}",
        line("huge")
    );
    assert!(line("broken").contains("FAILED"), "{}", line("broken"));
    assert!(
        line("gone").contains("FAILED") && line("gone").contains("paused"),
        "{}",
        line("gone")
    );
    assert!(line("good").contains("1 alerts"), "{}", line("good"));

    // The next pass leaves the failing sources alone until their back-off ends.
    let again = once_json(&config);
    assert!(
        again.stderr.contains("500: skipped (backing off until"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("gone: skipped (paused"),
        "{}",
        again.stderr
    );

    // And `sources` shows admins why.
    let out = common::newshound(&["sources", "--config", config.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("500 | backoff") && l.contains("503")),
        "{table}"
    );
    assert!(
        table.lines().any(|l| l.starts_with("gone | paused")),
        "{table}"
    );
}

#[test]
fn check_config_reports_every_problem() {
    let setup = Setup::new();
    let config = setup.write_config(
        r#"
[defaults]
schedul = "0 */5 * * * *"

[[sources]]
name = "Tech wire"
url = "feeds/missing.xml"
schedule = "*/61 * * * * * *"

[[sources]]
name = "Tech wire"
url = "https://example.com/feed.xml"
"#,
    );
    let out = common::newshound(&["check-config", "--config", config.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("defaults.schedul") && stderr.contains("did you mean `schedule`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sources[1].url = \"feeds/missing.xml\": file not found"),
        "{stderr}"
    );
    assert!(stderr.contains("sources[1].schedule"), "{stderr}");
    assert!(
        stderr.contains("sources[2].name = \"Tech wire\": duplicate source name"),
        "{stderr}"
    );
    assert!(stderr.contains("4 problems"), "{stderr}");
}

#[test]
fn shipped_configs_are_valid() {
    for name in ["demo.toml", "example.toml"] {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/").to_string() + name;
        let out = common::newshound(&["check-config", "--config", &path]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every real-world breakage feed-rs has, served over HTTP: `fetch` still lists the items, and
/// a broken document fails only its own source in `once`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quirky_feeds_over_http_still_yield_items() {
    let server = MockServer::start().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/feeds");
    let quirky = [
        "rss_no_version.xml",
        "rss_bare_ampersand.xml",
        "rss_html_entities.xml",
        "rss_cp1252_declared_utf8.xml",
        "rss_utf16le.xml",
        "rss_utf16be.xml",
        "atom03.xml",
        "jsonfeed_numeric_ids.json",
        "jsonfeed1_http_version.json",
        "rss091.xml",
        "rss1_rdf.xml",
        "atom1.xml",
        "jsonfeed11.json",
    ];
    for name in quirky
        .iter()
        .chain(["truncated.xml", "html_page.html"].iter())
    {
        let body = std::fs::read(format!("{dir}/{name}")).unwrap();
        Mock::given(method("GET"))
            .and(path(format!("/{name}")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
            .mount(&server)
            .await;
    }
    for name in quirky {
        let out = common::newshound(&[
            "fetch",
            &format!("{}/{name}", server.uri()),
            "--output",
            "json",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let items: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(!items.is_empty(), "{name}: no items");
        for item in &items {
            let title = item["title"].as_str().unwrap_or_default();
            assert!(!title.is_empty(), "{name}: untitled item {item}");
            assert!(
                !title.contains("&eacute;") && !title.contains('\u{FFFD}'),
                "{name}: mojibake in {title:?}"
            );
            assert!(
                item["id"].as_str().is_some_and(|id| !id.is_empty()),
                "{name}: no id"
            );
        }
    }

    // In a pass, broken documents fail alone.
    let setup = Setup::new();
    let mut body = String::new();
    for name in [
        "rss_utf16be.xml",
        "truncated.xml",
        "html_page.html",
        "atom03.xml",
    ] {
        body.push_str(&format!(
            "[[sources]]\nname = \"{name}\"\nurl = \"{}/{name}\"\nbackfill = 1\n\n",
            server.uri()
        ));
    }
    body.push_str("[[subscriptions]]\nuser = \"alice\"\nquery = \"the OR a OR of\"\n");
    let run = once_json(&setup.write_config(&body));
    assert!(
        run.stderr.contains("truncated.xml: FAILED") && run.stderr.contains("cut off"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("html_page.html: FAILED") && run.stderr.contains("HTML page"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("rss_utf16be.xml: ") && !run.stderr.contains("rss_utf16be.xml: FAILED"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("atom03.xml: ") && !run.stderr.contains("atom03.xml: FAILED"),
        "{}",
        run.stderr
    );
}

/// `run` without a token prints alerts to the console and stops cleanly on SIGTERM.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_prints_to_console_and_stops_cleanly_on_sigterm() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/feed.xml",
        rss(&[item(
            "a",
            "Meta opens a new office in Lisbon",
            "https://wire.example/a",
        )]),
    )
    .await;
    let setup = Setup::new();
    let config = setup.write_config(&format!(
        "[defaults]\nschedule = \"* * * * * *\"\nbackfill = 1\n\n[[sources]]\nname = \"Wire\"\nurl = \"{}/feed.xml\"\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"Meta\"\n",
        server.uri()
    ));
    let stdout_path = setup.path("stdout.txt");
    let stdout = std::fs::File::create(&stdout_path).unwrap();
    let stderr = std::fs::File::create(setup.path("stderr.txt")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_newshound"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env_remove("DISCORD_TOKEN")
        .env("NEWSHOUND_LOG", "info")
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&stdout_path)
        .unwrap_or_default()
        .contains("Meta opens a new office")
    {
        assert!(std::time::Instant::now() < deadline, "no alert printed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not stop on SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
    let log = std::fs::read_to_string(setup.path("stderr.txt")).unwrap();
    assert!(log.contains("stopped cleanly"), "{log}");
    // The alert was printed once, and the next pass finds nothing new.
    let printed = std::fs::read_to_string(&stdout_path).unwrap();
    assert_eq!(
        printed.matches("Meta opens a new office").count(),
        1,
        "{printed}"
    );
    assert!(once_json(&config).alerts.is_empty());
}

/// When the matched word is deep in the text, the alert's summary shows the sentence with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_shows_why_an_item_matched() {
    let server = MockServer::start().await;
    let setup = Setup::new();
    let config = wire_config(
        &setup,
        &server,
        "[[subscriptions]]\nuser = \"alice\"\nquery = \"Gemini\"\n",
    );
    serve(
        &server,
        "/feed.xml",
        rss(&[item(
            "seed",
            "Quiet start for European markets",
            "https://wire.example/seed",
        )]),
    )
    .await;
    once_json(&config);
    let description = "<p>Smartphone makers gathered in Barcelona this week for the annual trade show.</p>\
        <p>Foldable screens dominated the floor, with five new models on display.</p>\
        <p>Battery life remained the main complaint among reviewers who tested them.</p>\
        <p>One vendor said its assistant now runs on Google's Gemini models entirely on the device.</p>\
        <p>The post Phones at the show appeared first on Wire.</p>";
    server.reset().await;
    serve(
        &server,
        "/feed.xml",
        rss(&[RssItem {
            guid: Some("deep"),
            title: "What we saw at the phone show",
            link: "https://wire.example/deep",
            date: "Sun, 29 Nov 2026 09:00:00 GMT",
            description,
        }]),
    )
    .await;
    let run = once_json(&config);
    assert_eq!(run.alerts.len(), 1, "{}", run.stderr);
    let summary = run.alerts[0]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Smartphone makers gathered"),
        "leads with the first sentence: {summary}"
    );
    assert!(
        summary.contains("Gemini models entirely on the device"),
        "shows the matching sentence: {summary}"
    );
    assert!(summary.contains('…'), "marks skipped text: {summary}");
    assert!(
        !summary.contains("appeared first on"),
        "boilerplate tail removed: {summary}"
    );
    assert!(summary.chars().count() <= 300, "{summary}");
}

/// A title-only item: the article page gives the summary and the image; a page that cannot be
/// fetched never blocks the alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn title_only_items_get_their_summary_from_the_article_page() {
    let server = MockServer::start().await;
    let setup = Setup::new();
    let config = wire_config(
        &setup,
        &server,
        "[[subscriptions]]\nuser = \"alice\"\nquery = \"Gemini\"\n",
    );
    serve(
        &server,
        "/feed.xml",
        rss(&[item(
            "seed",
            "Quiet start for European markets",
            "https://wire.example/seed",
        )]),
    )
    .await;
    once_json(&config);
    let page = r#"<!doctype html><html><head><title>Gemini on watches</title>
        <meta property="og:description" content="Google brings its Gemini assistant to smart watches, starting with two models sold in Europe.">
        <meta property="og:image" content="/img/watch.jpg"></head>
        <body><nav>Home | World | Tech</nav><article><p>Google said on Sunday that Gemini will run on watches.</p></article><footer>© Wire</footer></body></html>"#;
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/articles/watch"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(page)
                .insert_header("content-type", "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/articles/missing"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let watch_link = format!("{}/articles/watch", server.uri());
    let missing_link = format!("{}/articles/missing", server.uri());
    serve(
        &server,
        "/feed.xml",
        rss(&[
            RssItem {
                guid: Some("w"),
                title: "Gemini comes to smart watches",
                link: &watch_link,
                date: "Sun, 29 Nov 2026 09:00:00 GMT",
                description: "",
            },
            RssItem {
                guid: Some("m"),
                title: "Gemini update delayed",
                link: &missing_link,
                date: "Sun, 29 Nov 2026 08:00:00 GMT",
                description: "",
            },
        ]),
    )
    .await;
    let run = once_json(&config);
    assert_eq!(run.alerts.len(), 2, "{}", run.stderr);
    let watch = run
        .alerts
        .iter()
        .find(|a| a["title"] == "Gemini comes to smart watches")
        .unwrap();
    assert!(
        watch["summary"]
            .as_str()
            .unwrap()
            .starts_with("Google brings its Gemini assistant"),
        "{watch}"
    );
    assert_eq!(watch["image"], format!("{}/img/watch.jpg", server.uri()));
    let missing = run
        .alerts
        .iter()
        .find(|a| a["title"] == "Gemini update delayed")
        .unwrap();
    assert_eq!(missing["summary"], "");
}

/// `[summarizer] kind = "openai"` against a local mock: a good answer is used; a timeout, a
/// malformed answer and an exhausted hourly budget all fall back to the extractive summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "split in issue 11 by the lead")]
async fn ai_summaries_fall_back_to_extractive_on_any_trouble() {
    use wiremock::matchers::body_string_contains;
    let server = MockServer::start().await;
    let setup = Setup::new();
    let config = setup.write_config(&format!(
        "[defaults]\narticle_min_chars = 0\n\n[summarizer]\nkind = \"openai\"\nbase_url = \"{0}/v1\"\nmodel = \"test-model\"\ntimeout_secs = 1\nmax_per_hour = 3\n\n[[sources]]\nname = \"Wire\"\nurl = \"{0}/feed.xml\"\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"Gemini\"\n",
        server.uri()
    ));
    serve(
        &server,
        "/feed.xml",
        rss(&[item(
            "seed",
            "Quiet start for European markets",
            "https://wire.example/seed",
        )]),
    )
    .await;
    once_json(&config);
    server.reset().await;
    let answer = |text: &str| serde_json::json!({"choices": [{"message": {"role": "assistant", "content": text}}]});
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("Title: Gemini A"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer(
            "Google released Gemini A to developers. It is faster than the last model.",
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("Title: Gemini B"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(answer("Too late to matter, this answer."))
                .set_delay(std::time::Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("Title: Gemini C"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"unexpected": true})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("Title: Gemini D"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(answer("Should never be asked: the budget is spent.")),
        )
        .expect(0)
        .mount(&server)
        .await;
    let items: Vec<RssItem<'_>> = ["A", "B", "C", "D"]
        .iter()
        .enumerate()
        .map(|(i, _)| RssItem {
            guid: Some(["a", "b", "c", "d"][i]),
            title: [
                "Gemini A ships",
                "Gemini B ships",
                "Gemini C ships",
                "Gemini D ships",
            ][i],
            link: [
                "https://wire.example/a",
                "https://wire.example/b",
                "https://wire.example/c",
                "https://wire.example/d",
            ][i],
            date: [
                "Sun, 29 Nov 2026 09:00:00 GMT",
                "Sun, 29 Nov 2026 09:01:00 GMT",
                "Sun, 29 Nov 2026 09:02:00 GMT",
                "Sun, 29 Nov 2026 09:03:00 GMT",
            ][i],
            description: [
                "Feed text about model A.",
                "Feed text about model B.",
                "Feed text about model C.",
                "Feed text about model D.",
            ][i],
        })
        .collect();
    serve(&server, "/feed.xml", rss(&items)).await;
    let run = once_json(&config);
    assert_eq!(run.alerts.len(), 4, "{}", run.stderr);
    let summary = |t: &str| {
        run.alerts.iter().find(|a| a["title"] == t).unwrap()["summary"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        summary("Gemini A ships"),
        "Google released Gemini A to developers. It is faster than the last model."
    );
    assert_eq!(
        summary("Gemini B ships"),
        "Feed text about model B.",
        "timeout falls back"
    );
    assert_eq!(
        summary("Gemini C ships"),
        "Feed text about model C.",
        "malformed answer falls back"
    );
    assert_eq!(
        summary("Gemini D ships"),
        "Feed text about model D.",
        "budget exhausted falls back"
    );
    server.verify().await;
}

/// `once` compiles the subscriptions (a million on a big bot: seconds and ~150 MB) only when a
/// poll has items that can alert: not for a first poll (which records and alerts nothing) and
/// not when nothing changed; but it does when a new item arrives, and the item alerts.
#[test]
fn once_compiles_subscriptions_only_when_an_item_can_alert() {
    let setup = Setup::new();
    let feed = setup.path("feed.xml");
    let config = setup.write_config(&format!(
        "[[sources]]\nname = \"Wire\"\nurl = \"{}\"\n\n{META_GEMINI_SUBS}",
        feed.display()
    ));
    // With info logs, to see whether the subscriptions were compiled.
    let once_logged = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_newshound"))
            .args([
                "once",
                "--config",
                config.to_str().unwrap(),
                "--output",
                "json",
            ])
            .env_remove("DISCORD_TOKEN")
            .env("NEWSHOUND_LOG", "info")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let old = || item("old-1", "Markets open higher", "https://wire.example/old-1");
    std::fs::write(&feed, rss(&[old()])).unwrap();
    let (_, first) = once_logged();
    assert!(first.contains("first poll"), "{first}");
    assert!(!first.contains("subscriptions compiled"), "{first}");

    let new = item("g-1", HEADLINES[0], "https://wire.example/g-1");
    std::fs::write(&feed, rss(&[new, old()])).unwrap();
    let (alerts, second) = once_logged();
    assert!(second.contains("subscriptions compiled"), "{second}");
    assert!(alerts.contains("ad targeting"), "{alerts}\n{second}");

    let (alerts, third) = once_logged();
    assert!(alerts.trim().is_empty(), "{alerts}");
    assert!(!third.contains("subscriptions compiled"), "{third}");
}
