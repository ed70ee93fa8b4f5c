//! The operations listener (`[http]`) of a running `newshound run`, from outside: metrics
//! after a known scenario, readiness following the database and the gateway, the status page
//! rendered by headless Chromium, the token gate, bounded connections, and JSON logs.

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use support::binary::{command, Bot, TOKEN};
use support::commands::ALICE;
use support::config::Setup;
use support::fake_discord::{FakeConfig, Fault, Route};
use support::feeds::{item, respond, rss, rss_response};
use support::ops::{chromium, get, parse_exposition, rendered_dom, wait_for_listener};
use support::world::{seed, World, WAIT};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HTTP_TOKEN: &str = "status-page-token-0123456789";

/// A world whose bot also listens on a free loopback port.
async fn world_with_http() -> World {
    World::custom(
        FakeConfig::default(),
        |feeds| {
            format!(
                "[http]\nlisten = \"127.0.0.1:0\"\n\n[[sources]]\nname = \"Wire\"\nurl = \"{feeds}/feed.xml\"\n"
            )
        },
        "",
    )
    .await
}

async fn wait_state(world: &World, state: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = world.query_string("SELECT state FROM sources WHERE name = 'Wire'");
        if now.as_deref() == Some(state) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "source never became {state}: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::too_many_lines,
    reason = "one scenario, then every counter it should move"
)]
async fn metrics_count_exactly_what_happened() {
    let world = world_with_http().await;
    world.publish(&[seed()]).await;
    let bot = world.start_bot();
    world.ready(&bot).await;
    let addr = wait_for_listener(|| bot.log()).await;
    world.subscribed(ALICE, "Gemini", None).await;

    // Two matching items and one that matches nothing; Discord rate-limits the first post.
    world.fake.fail_next(
        Route::CreateMessage,
        Fault::RateLimited {
            retry_after: 0.3,
            global: false,
        },
    );
    // Mounted above the seed's route: a reset would forget the requests counted below.
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(rss_response(rss(&[
            item("g1", "Gemini 3 ships to developers"),
            item("g2", "Gemini tops the benchmark tables"),
            item("r1", "Rain expected on Tuesday"),
            seed(),
        ])))
        .with_priority(2)
        .mount(&world.feeds)
        .await;
    world.wait_for_title("Gemini 3 ships to developers").await;
    world
        .wait_for_title("Gemini tops the benchmark tables")
        .await;
    world.wait_no_pending().await;
    // Then the feed is gone for good: one failed poll, and the source pauses (polls stop, so
    // the counts below are final).
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(ResponseTemplate::new(410))
        .with_priority(1)
        .mount(&world.feeds)
        .await;
    wait_state(&world, "paused").await;

    let (status, text) = get(&addr, "/metrics", &[]).await;
    assert_eq!(status, 200);
    let m = parse_exposition(&text);
    let polls = world.asked_paths().await.len() as u64;
    // Counts, read as whole numbers (a missing sample is 0).
    let value = |name: &str, labels: &[(&str, &str)]| {
        let v = m.value(name, labels).unwrap_or_default();
        assert!(
            v.fract().abs() < f64::EPSILON && v >= 0.0,
            "{name} {labels:?} = {v}"
        );
        v as u64
    };
    let ok = value(
        "newshound_polls_total",
        &[("outcome", "ok"), ("kind", "none")],
    );
    let unchanged = value(
        "newshound_polls_total",
        &[("outcome", "unchanged"), ("kind", "none")],
    );
    let gone = value(
        "newshound_polls_total",
        &[("outcome", "error"), ("kind", "http")],
    );
    assert_eq!(
        ok, 2,
        "the baseline poll and the one with new items\n{text}"
    );
    assert_eq!(gone, 1, "the 410\n{text}");
    assert_eq!(
        ok + unchanged + gone,
        polls,
        "every request the feed server saw\n{text}"
    );
    let all_polls = m
        .all("newshound_polls_total")
        .iter()
        .map(|(_, v)| *v as u64)
        .sum::<u64>();
    assert_eq!(all_polls, polls, "no other poll outcome\n{text}");
    assert_eq!(value("newshound_poll_duration_seconds_count", &[]), polls);

    assert_eq!(
        value("newshound_items_seen_total", &[]),
        5,
        "1 at baseline + 4"
    );
    assert_eq!(
        value("newshound_items_new_total", &[]),
        4,
        "the seed + 3 new"
    );
    assert_eq!(value("newshound_alerts_written_total", &[]), 2);
    assert_eq!(
        value("newshound_alerts_total", &[("outcome", "delivered")]),
        2
    );
    assert_eq!(value("newshound_alerts_total", &[("outcome", "failed")]), 0);
    assert_eq!(
        value("newshound_alerts_total", &[("outcome", "dropped")]),
        0
    );
    assert_eq!(
        value("newshound_discord_responses_total", &[("status", "429")]),
        1,
        "{text}"
    );
    assert_eq!(
        value("newshound_discord_responses_total", &[("status", "200")]),
        world.message_posts(support::fake_discord::DEFAULT_CHANNEL_ID, Some(200)) as u64,
        "{text}"
    );
    assert_eq!(value("newshound_match_duration_seconds_count", &[]), 3);
    assert_eq!(value("newshound_subscriptions_loaded", &[]), 1);
    assert!(
        value("newshound_matcher_rebuilds_total", &[]) >= 2,
        "start + /subscribe"
    );
    assert_eq!(value("newshound_outbox_pending", &[]), 0);
    assert_eq!(value("newshound_outbox_oldest_pending_age_seconds", &[]), 0);
    assert_eq!(value("newshound_sources", &[("state", "paused")]), 1);
    assert_eq!(value("newshound_sources", &[("state", "ok")]), 0);
    drop(bot);
}

async fn wait_ready(addr: &str, want: u16, reason: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = get(addr, "/readyz", &[]).await;
        if status == want && body.contains(reason) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never said {want} {reason:?}; last: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_database_and_the_gateway() {
    let world = world_with_http().await;
    world.publish(&[seed()]).await;
    let bot = world.start_bot();
    world.ready(&bot).await;
    let addr = wait_for_listener(|| bot.log()).await;
    wait_ready(&addr, 200, "ready").await;
    assert_eq!(get(&addr, "/healthz", &[]).await, (200, "ok\n".to_string()));

    // The database file goes away: not ready, and healthz still says the process lives.
    let db = world.db_path();
    let aside = db.with_extension("aside");
    std::fs::rename(&db, &aside).expect("move the database away");
    let body = wait_ready(&addr, 503, "database").await;
    assert!(body.contains("not ready"), "{body}");
    assert_eq!(get(&addr, "/healthz", &[]).await.0, 200);
    std::fs::rename(&aside, &db).expect("put it back");
    wait_ready(&addr, 200, "ready").await;

    // Discord drops the gateway and stays unreachable: not ready, until it reconnects.
    world.fake.refuse_gateway(true);
    world.fake.drop_gateway();
    let body = wait_ready(&addr, 503, "gateway").await;
    assert!(body.contains("Discord gateway"), "{body}");
    world.fake.refuse_gateway(false);
    wait_ready(&addr, 200, "ready").await;
    drop(bot);
}

/// A console-mode `newshound run` (no Discord) with `[http]` and a token, over a healthy and
/// a failing source; its listener address once both were polled.
struct Console {
    _setup: Setup,
    _feeds: MockServer,
    child: std::process::Child,
    addr: String,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn console_with_failing_source() -> Console {
    let feeds = MockServer::start().await;
    respond(
        &feeds,
        "/good.xml",
        rss_response(rss(&[item("a", "Markets steady")])),
    )
    .await;
    respond(
        &feeds,
        "/broken.xml",
        ResponseTemplate::new(500).set_body_string("boom"),
    )
    .await;
    let setup = Setup::new();
    let config = setup.write_config(&format!(
        "[http]\nlisten = \"127.0.0.1:0\"\ntoken = \"{HTTP_TOKEN}\"\n\n\
         [[sources]]\nname = \"Good\"\nurl = \"{0}/good.xml\"\n\n\
         [[sources]]\nname = \"Broken <b>\"\nurl = \"{0}/broken.xml\"\n\n\
         [[subscriptions]]\nuser = \"alice\"\nquery = \"Markets\"\nchannel = \"news\"\n",
        feeds.uri()
    ));
    let log = setup.path("run.log");
    let child = command(&["run", "--config", config.to_str().expect("utf-8")])
        .env("NEWSHOUND_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start newshound run");
    let addr = wait_for_listener(|| std::fs::read_to_string(&log).unwrap_or_default()).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, page) = get(
            &addr,
            "/",
            &[("authorization", &format!("Bearer {HTTP_TOKEN}"))],
        )
        .await;
        if page.contains("backoff") && page.contains("ok</td>") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "both sources never polled: {page}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Console {
        _setup: setup,
        _feeds: feeds,
        child,
        addr,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_chromium_shows_a_failing_source() {
    let console = console_with_failing_source().await;
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("NEWSHOUND_REQUIRE_CHROMIUM").is_none(),
            "chromium is required here (NEWSHOUND_REQUIRE_CHROMIUM is set) but not installed"
        );
        eprintln!(
            "SKIPPED: chromium is not installed (apt-get install chromium); .ci/run installs it"
        );
        return;
    };
    let url = format!("http://{}/?token={HTTP_TOKEN}", console.addr);
    let dom = tokio::task::spawn_blocking({
        let browser = browser.to_path_buf();
        move || rendered_dom(&browser, &url)
    })
    .await
    .expect("chromium task");
    // The rendered table: the failing source's row carries its state and last error; its
    // hostile name was rendered as text, not markup.
    let table = dom
        .split("<table id=\"sources\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no sources table in the rendered page:\n{dom}"));
    let rows: Vec<&str> = table.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 2, "two sources: {table}");
    let broken = rows
        .iter()
        .find(|r| r.contains("Broken &lt;b&gt;"))
        .unwrap_or_else(|| panic!("the failing source is listed by its (escaped) name: {table}"));
    assert!(broken.contains("backoff"), "{broken}");
    assert!(
        broken.contains("500"),
        "its last error names the status: {broken}"
    );
    let good = rows
        .iter()
        .find(|r| r.contains("Good"))
        .expect("the healthy source");
    assert!(good.contains(">ok<"), "{good}");
    assert!(
        !dom.contains("<b>"),
        "feed-controlled text never became markup"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_gate() {
    let console = console_with_failing_source().await;
    let addr = &console.addr;
    assert_eq!(get(addr, "/", &[]).await.0, 401);
    assert_eq!(get(addr, "/metrics", &[]).await.0, 401);
    assert_eq!(
        get(addr, "/?token=wrong-token-wrong-token", &[]).await.0,
        401
    );
    assert_eq!(
        get(
            addr,
            "/",
            &[("authorization", "Bearer wrong-token-wrong-token")]
        )
        .await
        .0,
        401
    );
    let bearer = format!("Bearer {HTTP_TOKEN}");
    let (status, page) = get(addr, "/", &[("authorization", &bearer)]).await;
    assert_eq!(status, 200);
    assert!(page.contains("newshound status"));
    assert_eq!(
        get(addr, &format!("/?token={HTTP_TOKEN}"), &[]).await.0,
        200
    );
    assert_eq!(
        get(addr, "/metrics", &[("authorization", &bearer)]).await.0,
        200
    );
    // Health checks need no token (load balancers and systemd do not have it).
    assert_eq!(get(addr, "/healthz", &[]).await.0, 200);
    assert_eq!(get(addr, "/readyz", &[]).await.0, 200);
    assert_eq!(get(addr, "/nope", &[]).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_oversized_and_wrong_requests_are_cut_off() {
    let console = console_with_failing_source().await;
    let addr = console.addr.clone();
    let (slow, huge, post) = tokio::task::spawn_blocking(move || {
        // Headers that never finish: the connection is closed (with 408 or silently).
        let mut slow = TcpStream::connect(&addr).expect("connect");
        slow.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .expect("write");
        let mut answer = Vec::new();
        let slow_result = slow.read_to_end(&mut answer).map(|_| answer);
        // A request head past the limit.
        let mut huge = TcpStream::connect(&addr).expect("connect");
        huge.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ".to_vec();
        request.extend(std::iter::repeat_n(b'a', 64 * 1024));
        request.extend_from_slice(b"\r\n\r\n");
        let _ = huge.write_all(&request);
        let mut answer = Vec::new();
        let _ = huge.read_to_end(&mut answer);
        // A POST with a body.
        let mut post = TcpStream::connect(&addr).expect("connect");
        post.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        post.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            .expect("write");
        let mut post_answer = Vec::new();
        let _ = post.read_to_end(&mut post_answer);
        (slow_result, answer, post_answer)
    })
    .await
    .expect("client task");
    let slow = slow.expect("the server closed the slow connection instead of waiting forever");
    let slow = String::from_utf8_lossy(&slow);
    assert!(
        slow.is_empty() || slow.starts_with("HTTP/1.1 408"),
        "a request that never finished its headers got: {slow}"
    );
    let huge = String::from_utf8_lossy(&huge);
    assert!(
        huge.is_empty() || huge.starts_with("HTTP/1.1 431") || huge.starts_with("HTTP/1.1 400"),
        "a 64 KiB header got: {huge}"
    );
    assert!(
        String::from_utf8_lossy(&post).starts_with("HTTP/1.1 405"),
        "POST: {}",
        String::from_utf8_lossy(&post)
    );
    // The listener still serves.
    assert_eq!(get(&console.addr, "/healthz", &[]).await.0, 200);
}

#[test]
fn a_public_listener_without_a_token_refuses_to_start() {
    let setup = Setup::new();
    let config = setup.write_config("[http]\nlisten = \"0.0.0.0:0\"\n");
    let out = command(&["run", "--config", config.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("http.listen") && stderr.contains("NEWSHOUND_HTTP_TOKEN"),
        "{stderr}"
    );
    assert!(!setup.db_path().exists(), "refused before anything started");

    // A bad address is a config error with the key, the value and the fix.
    let config = setup.write_config("[http]\nlisten = \"localhost\"\n");
    let out = command(&["check-config", "--config", config.to_str().expect("utf-8")])
        .output()
        .expect("check-config");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("http.listen")
            && stderr.contains("\"localhost\"")
            && stderr.contains("127.0.0.1:9464"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_without_the_token() {
    let world = World::new(FakeConfig::default()).await;
    world.publish(&[seed()]).await;
    let bot = Bot::start_with_env(
        &world.config,
        world.setup.path("bot.log"),
        &[("NEWSHOUND_LOG_FORMAT", "json")],
    );
    world.ready(&bot).await;
    drop(bot);
    let log = std::fs::read_to_string(world.setup.path("bot.log")).expect("log");
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "{log}");
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(value["level"].is_string(), "{line}");
        assert!(value["timestamp"].is_string(), "{line}");
    }
    assert!(
        lines.iter().any(|l| l.contains("\"polled\"")),
        "the poll is logged: {log}"
    );
    assert!(!log.contains(TOKEN), "the token never appears in logs");
}
