//! Black-box: the real binary's `once` against feeds served by a local HTTP server.

mod support;

use support::binary::{command, newshound, once_json, titles};
use support::config::Setup;
use support::feeds::{item, respond, rss, RssItem};
use support::world::OnceWorld;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HEADLINES: [&str; 4] = [
    "Meta in talks to use Google's Gemini models for ad targeting",
    "EU prepares antitrust probe into Meta’s AI integration on WhatsApp",
    "Amazon and Google launch a multicloud networking service",
    "Coupang apologizes after data breach affecting 33.7 million users",
];

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
    let world = OnceWorld::new(META_GEMINI_SUBS).await;
    let old = [item("old-1", "Markets open higher on Monday").link("https://wire.example/old-1")];
    world.publish(&old).await;

    // First poll: everything is recorded, nothing alerts.
    let first = world.once_json();
    assert!(
        first.alerts.is_empty(),
        "first poll must not alert: {:?}",
        first.alerts
    );
    assert!(first.stderr.contains("first poll"), "{}", first.stderr);

    let mut items: Vec<RssItem<'_>> = HEADLINES
        .iter()
        .enumerate()
        .zip(["a", "b", "c", "d"])
        .map(|((i, t), path)| {
            item(["h0", "h1", "h2", "h3"][i], t).link(format!("https://wire.example/{path}"))
        })
        .collect();
    items.push(
        item("n1", "New metadata standard for photo archives")
            .link("https://wire.example/meta/photo-metadata")
            .description(
                "A metaverse of metadata, says a meta-analysis. See https://wire.example/meta/ for more.",
            ),
    );
    items.extend(old);
    world.publish(&items).await;

    let second = world.once_json();
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
    let third = world.once_json();
    assert!(third.alerts.is_empty(), "{:?}", titles(&third.alerts));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewritten_feed_does_not_realert() {
    let world = OnceWorld::started("[[subscriptions]]\nuser = \"alice\"\nquery = \"Meta\"\n").await;
    let a = item("g-a", "Meta signs Gemini deal with Google").link("https://wire.example/a");
    let b = item("g-b", "Meta faces EU probe over WhatsApp AI")
        .link("https://wire.example/b")
        .date("Sun, 29 Nov 2026 08:00:00 GMT");
    world.publish(&[a, b]).await;
    assert_eq!(world.once_json().alerts.len(), 2);

    let variants: Vec<(&str, Vec<RssItem<'_>>)> = vec![
        (
            "reordered",
            vec![
                item("g-b", "Meta faces EU probe over WhatsApp AI")
                    .link("https://wire.example/b")
                    .date("Sun, 29 Nov 2026 08:00:00 GMT"),
                item("g-a", "Meta signs Gemini deal with Google").link("https://wire.example/a"),
            ],
        ),
        (
            "pubDate rewritten",
            vec![item("g-a", "Meta signs Gemini deal with Google")
                .link("https://wire.example/a")
                .date("Mon, 30 Nov 2026 11:00:00 GMT")],
        ),
        (
            "guid changed, link kept",
            vec![
                item("g-a-v2", "Meta signs Gemini deal with Google (updated)")
                    .link("https://wire.example/a"),
            ],
        ),
        (
            "guid and link changed, title kept",
            vec![item("g-b-v3", "Meta faces EU probe over WhatsApp AI")
                .link("https://wire.example/b-amp")
                .date("Sun, 29 Nov 2026 08:00:00 GMT")],
        ),
        (
            "tracking parameters added",
            vec![item("", "Meta signs a Gemini deal")
                .without_guid()
                .link("https://wire.example/a?utm_source=rss&utm_campaign=x&fbclid=123#comments")],
        ),
        (
            "old item slides back",
            vec![
                item("g-b", "Meta faces EU probe over WhatsApp AI")
                    .link("https://wire.example/b")
                    .date("Sun, 29 Nov 2026 08:00:00 GMT"),
                item("g-a", "Meta signs Gemini deal with Google").link("https://wire.example/a"),
            ],
        ),
    ];
    for (what, items) in variants {
        world.publish(&items).await;
        let run = world.once_json();
        assert!(
            run.alerts.is_empty(),
            "{what}: re-alerted {:?}",
            titles(&run.alerts)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_is_sent_back_and_304_means_unchanged() {
    let world = OnceWorld::new("").await;
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .expect(1)
        .mount(&world.feeds)
        .await;
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .set_body_string(rss(&[
                    item("x", "Quiet day for markets in Asia").link("https://wire.example/x")
                ])),
        )
        .with_priority(2)
        .expect(1)
        .mount(&world.feeds)
        .await;
    world.once_json();
    let second = world.once_json();
    assert!(
        second.stderr.contains("Wire: unchanged"),
        "{}",
        second.stderr
    );
    world.feeds.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::too_many_lines,
    reason = "one end-to-end scenario told step by step; the steps share one running world"
)]
async fn failing_sources_fail_alone_and_back_off() {
    let sources = ["500", "slow", "loop", "huge", "broken", "gone", "good"];
    let world = OnceWorld::custom(|feeds| {
        let mut body = String::new();
        for s in sources {
            body.push_str(&format!(
                "[[sources]]\nname = \"{s}\"\nurl = \"{feeds}/{s}.xml\"\nbackfill = 5\n\n"
            ));
        }
        body + "[[subscriptions]]\nuser = \"alice\"\nquery = \"Meta\"\n"
    })
    .await;
    let config = &world.config;
    let text = std::fs::read_to_string(config)
        .unwrap()
        .replace("[fetch]\n", "[fetch]\nmax_body_bytes = 16384\n");
    std::fs::write(config, text).unwrap();
    world.respond("/500.xml", ResponseTemplate::new(503)).await;
    world
        .respond(
            "/slow.xml",
            ResponseTemplate::new(200)
                .set_body_string(rss(&[]))
                .set_delay(std::time::Duration::from_secs(8)),
        )
        .await;
    world
        .respond(
            "/loop.xml",
            ResponseTemplate::new(302).insert_header("location", "/loop.xml"),
        )
        .await;
    world
        .respond(
            "/huge.xml",
            ResponseTemplate::new(200).set_body_string(format!(
                "<rss version=\"2.0\"><channel><title>{}</title></channel></rss>",
                "x".repeat(64 * 1024)
            )),
        )
        .await;
    world
        .respond(
            "/broken.xml",
            ResponseTemplate::new(200).set_body_string(
                "<rss version=\"2.0\"><channel><title>Half</title><item><title>Cut off",
            ),
        )
        .await;
    world.respond("/gone.xml", ResponseTemplate::new(410)).await;
    world
        .serve(
            "/good.xml",
            rss(&[
                item("g", "Meta opens a new data centre in Denmark").link("https://wire.example/g")
            ]),
        )
        .await;

    let run = world.once_json();
    assert_eq!(
        titles(&run.alerts),
        vec!["Meta opens a new data centre in Denmark"],
        "{}",
        run.stderr
    );
    let line = |name: &str| run.line(name);
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
    let again = world.once_json();
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
    let out = newshound(&["sources", "--config", config.to_str().unwrap()]);
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
    let out = newshound(&["check-config", "--config", config.to_str().unwrap()]);
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
        let out = newshound(&["check-config", "--config", &path]);
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
        respond(
            &server,
            &format!("/{name}"),
            ResponseTemplate::new(200).set_body_bytes(body),
        )
        .await;
    }
    for name in quirky {
        let out = newshound(&[
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
        run.stderr.contains("truncated.xml: 1 items")
            && run.stderr.contains("DAMAGED")
            && run.stderr.contains("cut off"),
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
    let world = OnceWorld::custom(|feeds| {
        format!(
            "[defaults]\nschedule = \"* * * * * *\"\nbackfill = 1\n\n[[sources]]\nname = \"Wire\"\nurl = \"{feeds}/feed.xml\"\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"Meta\"\n"
        )
    })
    .await;
    world
        .publish(&[item("a", "Meta opens a new office in Lisbon").link("https://wire.example/a")])
        .await;
    let (setup, config) = (&world.setup, &world.config);
    let stdout_path = setup.path("stdout.txt");
    let stdout = std::fs::File::create(&stdout_path).unwrap();
    let stderr = std::fs::File::create(setup.path("stderr.txt")).unwrap();
    let mut child = command(&["run", "--config", config.to_str().unwrap()])
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
    assert!(world.once_json().alerts.is_empty());
}

/// When the matched word is deep in the text, the alert's summary shows the sentence with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_shows_why_an_item_matched() {
    let world =
        OnceWorld::started("[[subscriptions]]\nuser = \"alice\"\nquery = \"Gemini\"\n").await;
    let description = "<p>Smartphone makers gathered in Barcelona this week for the annual trade show.</p>\
        <p>Foldable screens dominated the floor, with five new models on display.</p>\
        <p>Battery life remained the main complaint among reviewers who tested them.</p>\
        <p>One vendor said its assistant now runs on Google's Gemini models entirely on the device.</p>\
        <p>The post Phones at the show appeared first on Wire.</p>";
    world
        .publish(&[item("deep", "What we saw at the phone show")
            .link("https://wire.example/deep")
            .description(description)])
        .await;
    let run = world.once_json();
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
    let world =
        OnceWorld::started("[[subscriptions]]\nuser = \"alice\"\nquery = \"Gemini\"\n").await;
    let page = r#"<!doctype html><html><head><title>Gemini on watches</title>
        <meta property="og:description" content="Google brings its Gemini assistant to smart watches, starting with two models sold in Europe.">
        <meta property="og:image" content="/img/watch.jpg"></head>
        <body><nav>Home | World | Tech</nav><article><p>Google said on Sunday that Gemini will run on watches.</p></article><footer>© Wire</footer></body></html>"#;
    let watch_link = format!("{}/articles/watch", world.uri());
    let missing_link = format!("{}/articles/missing", world.uri());
    world
        .publish(&[
            item("w", "Gemini comes to smart watches").link(&watch_link),
            item("m", "Gemini update delayed")
                .link(&missing_link)
                .date("Sun, 29 Nov 2026 08:00:00 GMT"),
        ])
        .await;
    world
        .respond(
            "/articles/watch",
            ResponseTemplate::new(200)
                .set_body_string(page)
                .insert_header("content-type", "text/html"),
        )
        .await;
    world
        .respond("/articles/missing", ResponseTemplate::new(404))
        .await;
    let run = world.once_json();
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
    assert_eq!(
        watch["image"],
        format!("{}/img/watch.jpg", world.feeds.uri())
    );
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
#[expect(
    clippy::too_many_lines,
    reason = "one end-to-end scenario told step by step; the steps share one running world"
)]
async fn ai_summaries_fall_back_to_extractive_on_any_trouble() {
    use wiremock::matchers::body_string_contains;
    let world = OnceWorld::custom(|feeds| {
        format!(
            "[defaults]\narticle_min_chars = 0\n\n[summarizer]\nkind = \"openai\"\nbase_url = \"{feeds}/v1\"\nmodel = \"test-model\"\ntimeout_secs = 1\nmax_per_hour = 3\n\n[[sources]]\nname = \"Wire\"\nurl = \"{feeds}/feed.xml\"\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"Gemini\"\n"
        )
    })
    .await;
    world.baseline().await;
    world.feeds.reset().await;
    let answer = |text: &str| serde_json::json!({"choices": [{"message": {"role": "assistant", "content": text}}]});
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("Title: Gemini A"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer(
            "Google released Gemini A to developers. It is faster than the last model.",
        )))
        .mount(&world.feeds)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("Title: Gemini B"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(answer("Too late to matter, this answer."))
                .set_delay(std::time::Duration::from_secs(3)),
        )
        .mount(&world.feeds)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("Title: Gemini C"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"unexpected": true})),
        )
        .mount(&world.feeds)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("Title: Gemini D"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(answer("Should never be asked: the budget is spent.")),
        )
        .expect(0)
        .mount(&world.feeds)
        .await;
    let items: Vec<RssItem<'_>> = [
        (
            "a",
            "Gemini A ships",
            "Sun, 29 Nov 2026 09:00:00 GMT",
            "Feed text about model A.",
        ),
        (
            "b",
            "Gemini B ships",
            "Sun, 29 Nov 2026 09:01:00 GMT",
            "Feed text about model B.",
        ),
        (
            "c",
            "Gemini C ships",
            "Sun, 29 Nov 2026 09:02:00 GMT",
            "Feed text about model C.",
        ),
        (
            "d",
            "Gemini D ships",
            "Sun, 29 Nov 2026 09:03:00 GMT",
            "Feed text about model D.",
        ),
    ]
    .into_iter()
    .map(|(guid, title, date, text)| {
        item(guid, title)
            .link(format!("https://wire.example/{guid}"))
            .date(date)
            .description(text)
    })
    .collect();
    // In addition to the summarizer mocks: no reset.
    world.serve("/feed.xml", rss(&items)).await;
    let run = world.once_json();
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
    world.feeds.verify().await;
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
        let out = command(&["once", "--config", config.to_str().unwrap()])
            .args(["--output", "json"])
            .env("NEWSHOUND_LOG", "info")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let old = || item("old-1", "Markets open higher").link("https://wire.example/old-1");
    std::fs::write(&feed, rss(&[old()])).unwrap();
    let (_, first) = once_logged();
    assert!(first.contains("first poll"), "{first}");
    assert!(!first.contains("subscriptions compiled"), "{first}");

    let new = item("g-1", HEADLINES[0]).link("https://wire.example/g-1");
    std::fs::write(&feed, rss(&[new, old()])).unwrap();
    let (alerts, second) = once_logged();
    assert!(second.contains("subscriptions compiled"), "{second}");
    assert!(alerts.contains("ad targeting"), "{alerts}\n{second}");

    let (alerts, third) = once_logged();
    assert!(alerts.trim().is_empty(), "{alerts}");
    assert!(!third.contains("subscriptions compiled"), "{third}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_and_sentence_subscriptions_alert_only_on_close_terms() {
    let world = OnceWorld::started(
        r#"
[[subscriptions]]
user = "alice"
query = "Meta NEAR/3 AI"
channel = "news"

[[subscriptions]]
user = "bob"
query = "Meta SENTENCE AI"
channel = "ai"
"#,
    )
    .await;
    // Three words between: near. Five between: not near, but one sentence (the title).
    // In the body across a sentence break: near (two words between) but not one sentence.
    let near = "Meta bets billions on AI chips";
    let far = "Meta posts a record quarter as AI spending climbs";
    let body = "Quarterly results";
    world
        .publish(&[
            item("p-near", near).link("https://wire.example/near"),
            item("p-far", far).link("https://wire.example/far"),
            item("p-body", body)
                .link("https://wire.example/body")
                .description("Meta shares rose. AI chips were not mentioned."),
        ])
        .await;
    let alerts = world.once_json().alerts;
    let mut got: Vec<(String, String)> = alerts
        .iter()
        .map(|a| {
            (
                a["target"].as_str().unwrap_or_default().to_string(),
                a["title"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> =
        [("ai", near), ("ai", far), ("news", body), ("news", near)]
            .iter()
            .map(|(t, title)| ((*t).to_string(), (*title).to_string()))
            .collect();
    want.sort();
    assert_eq!(got, want, "{alerts:#?}");
    let alice_near = alerts
        .iter()
        .find(|a| a["target"] == "news" && a["title"] == near)
        .expect("the near item to #news");
    assert_eq!(alice_near["matched"], serde_json::json!(["Meta", "AI"]));
}
