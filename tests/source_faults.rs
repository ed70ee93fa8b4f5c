//! Source faults, black-box: the real binary (`once --output json`, `sources`) against local
//! servers that misbehave in every way a feed host does.
//!
//! Every fault test follows one script, [`Bench`]:
//! 1. healthy: `Flaky` and `Other` are polled once (first poll: recorded, no alert);
//! 2. fault: `Flaky` misbehaves while `Other` publishes a new item. The pass exits 0, `Other`
//!    alerts exactly its new item, `Flaky` is reported FAILED with a clear error, and
//!    `newshound sources` shows its state, next check and last error;
//! 3. recovery: `Flaky` serves its feed again with one item published during the outage and
//!    one after; `once --force` alerts exactly those two (nothing lost);
//! 4. one more pass alerts nothing (nothing twice).

mod support;

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use support::binary::{newshound, once_json, once_json_with, titles, OnceRun};
use support::config::Setup;
use support::feeds::{item, respond, rss, rss_response, serve, RssItem};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ---- the script ---------------------------------------------------------------------------

/// One row of `newshound sources`.
#[derive(Debug)]
struct Health {
    state: String,
    next_check: Option<DateTime<Utc>>,
    failures: u32,
    last_error: String,
}

/// A config with two sources, `Flaky` (the one that misbehaves) and `Other` (healthy, on its own
/// server), and one subscription, `Meta`.
struct Bench {
    setup: Setup,
    config: PathBuf,
    other: MockServer,
    flaky_url: String,
}

/// `n` items, newest first, each matching `Meta`.
fn stories(prefix: &str, n: usize) -> String {
    let titles: Vec<String> = (0..n).map(|i| format!("Meta {prefix} story {i}")).collect();
    let links: Vec<String> = (0..n)
        .map(|i| format!("https://{prefix}.example/{i}"))
        .collect();
    let guids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let items: Vec<RssItem<'_>> = (0..n)
        .rev()
        .map(|i| item(&guids[i], &titles[i]).link(&links[i]))
        .collect();
    rss(&items)
}

fn flaky_feed(n: usize) -> String {
    stories("flaky", n)
}

impl Bench {
    async fn new(flaky_url: &str) -> Bench {
        let other = MockServer::start().await;
        let setup = Setup::new();
        let mut bench = Bench {
            config: PathBuf::new(),
            setup,
            other,
            flaky_url: String::new(),
        };
        bench.set_flaky_url(flaky_url);
        bench.set_other(1).await;
        bench
    }

    /// Points `Flaky` at `url` (its name, and so its memory, stays).
    fn set_flaky_url(&mut self, url: &str) {
        url.clone_into(&mut self.flaky_url);
        self.config = self.setup.write_config(&format!(
            "[[sources]]\nname = \"Flaky\"\nurl = \"{url}\"\n\n\
             [[sources]]\nname = \"Other\"\nurl = \"{}/feed.xml\"\n\n\
             [[subscriptions]]\nuser = \"alice\"\nquery = \"Meta\"\n",
            self.other.uri()
        ));
    }

    async fn set_other(&self, n: usize) {
        self.other.reset().await;
        serve(&self.other, "/feed.xml", stories("other", n)).await;
    }

    fn pass(&self, force: bool) -> OnceRun {
        once_json_with(&self.config, if force { &["--force"] } else { &[] })
    }

    /// `newshound sources`, parsed.
    fn sources(&self) -> HashMap<String, Health> {
        let out = newshound(&["sources", "--config", self.config.to_str().unwrap()]);
        let table = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "sources: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        table
            .lines()
            .skip(1)
            .map(|line| {
                let cols: Vec<&str> = line.splitn(6, " | ").collect();
                assert_eq!(cols.len(), 6, "bad sources row: {line}");
                let next_check = (cols[3] != "-").then(|| {
                    chrono::NaiveDateTime::parse_from_str(cols[3], "%Y-%m-%d %H:%M:%S UTC")
                        .unwrap_or_else(|e| panic!("NEXT CHECK {:?}: {e}", cols[3]))
                        .and_utc()
                });
                (
                    cols[0].to_string(),
                    Health {
                        state: cols[1].to_string(),
                        next_check,
                        failures: cols[4].parse().unwrap(),
                        last_error: cols[5].to_string(),
                    },
                )
            })
            .collect()
    }

    /// Step 1: both sources polled once while healthy. The caller serves `flaky_feed(1)`.
    fn healthy(&self) {
        let pass = self.pass(false);
        assert!(
            pass.alerts.is_empty(),
            "first poll alerts nothing: {:?}",
            titles(&pass.alerts)
        );
        assert!(pass.line("Flaky").contains("first poll"), "{}", pass.stderr);
    }

    /// Step 2: the caller has made `Flaky` misbehave. `Other` publishes a new item and must
    /// alert it; `Flaky` must fail with every one of `error` in its summary line and its
    /// `sources` row, and be `state` with a next check `wait` after the pass (`None`: no next
    /// check, i.e. paused).
    async fn fault(&self, state: &str, wait: Option<Duration>, error: &[&str]) {
        self.set_other(2).await;
        let before = Utc::now();
        let pass = self.pass(false);
        let after = Utc::now();
        assert_eq!(
            titles(&pass.alerts),
            vec!["Meta other story 1"],
            "the healthy source alerts its new item in the same pass: {}",
            pass.stderr
        );
        let line = pass.line("Flaky");
        assert!(line.starts_with("Flaky: FAILED: "), "{}", pass.stderr);
        for e in error {
            assert!(
                line.to_lowercase().contains(&e.to_lowercase()),
                "summary must say {e:?}: {line}"
            );
        }
        assert!(
            pass.line("Other").contains("1 new, 1 alerts"),
            "{}",
            pass.stderr
        );

        let health = self.sources();
        let other = &health["Other"];
        assert_eq!(other.state, "ok", "{other:?}");
        let flaky = health.get("Flaky").expect("Flaky in sources");
        assert!(
            flaky.state.starts_with(state),
            "state {state:?} expected: {flaky:?}"
        );
        assert_eq!(flaky.failures, 1, "{flaky:?}");
        for e in error {
            assert!(
                flaky.last_error.to_lowercase().contains(&e.to_lowercase()),
                "last error must say {e:?}: {flaky:?}"
            );
        }
        match wait {
            Some(wait) => {
                let wait = TimeDelta::from_std(wait).unwrap();
                let slack = TimeDelta::seconds(2);
                let next = flaky.next_check.expect("a next check time");
                assert!(
                    next >= before + wait - slack && next <= after + wait + slack,
                    "next check {next} should be {wait} after the pass ({before} .. {after})"
                );
            }
            None => assert!(flaky.next_check.is_none(), "{flaky:?}"),
        }
    }

    /// Step 3 and 4: the caller has made `Flaky` serve `flaky_feed(3)` again. Item 1 came out
    /// during the outage, item 2 after: both alert exactly once.
    fn recovered(&self) {
        let pass = self.pass(true);
        let mut got = titles(&pass.alerts);
        got.sort();
        assert_eq!(
            got,
            vec!["Meta flaky story 1", "Meta flaky story 2"],
            "after recovery every missed item alerts, and nothing else: {}",
            pass.stderr
        );
        let flaky = &self.sources()["Flaky"];
        assert_eq!(flaky.state, "ok", "{flaky:?}");
        assert_eq!(flaky.failures, 0, "{flaky:?}");
        assert_eq!(flaky.last_error, "-", "{flaky:?}");
        let again = self.pass(true);
        assert!(
            again.alerts.is_empty(),
            "nothing twice: {:?}",
            titles(&again.alerts)
        );
    }
}

/// `Flaky` on a wiremock server of its own, through step 1 (healthy); the server is then left
/// empty for the test to mount the fault.
async fn healthy_wiremock_bench() -> (MockServer, Bench) {
    let flaky = MockServer::start().await;
    let bench = Bench::new(&format!("{}/feed.xml", flaky.uri())).await;
    serve(&flaky, "/feed.xml", flaky_feed(1)).await;
    bench.healthy();
    flaky.reset().await;
    (flaky, bench)
}

/// `Flaky` serves its feed again, with one item from during the outage and one after.
async fn serve_again(flaky: &MockServer) {
    flaky.reset().await;
    serve(flaky, "/feed.xml", flaky_feed(3)).await;
}

/// A wiremock-served `Flaky` that answers `healthy` for step 1, then `recovered` for steps 3
/// and 4: a quirk that must not count as a fault.
async fn healthy_then_recovered(healthy: ResponseTemplate, recovered: ResponseTemplate) {
    let flaky = MockServer::start().await;
    let bench = Bench::new(&format!("{}/feed.xml", flaky.uri())).await;
    respond(&flaky, "/feed.xml", healthy).await;
    bench.healthy();
    flaky.reset().await;
    respond(&flaky, "/feed.xml", recovered).await;
    bench.recovered();
}

const FIVE_MIN: Duration = Duration::from_secs(5 * 60);
const ONE_HOUR: Duration = Duration::from_secs(60 * 60);

/// A wiremock-served `Flaky` that is healthy, then answers `fault`, then recovers.
async fn wiremock_fault(
    fault: ResponseTemplate,
    state: &str,
    wait: Option<Duration>,
    error: &[&str],
) {
    let (flaky, bench) = healthy_wiremock_bench().await;
    respond(&flaky, "/feed.xml", fault).await;
    bench.fault(state, wait, error).await;
    serve_again(&flaky).await;
    bench.recovered();
}

// ---- HTTP status faults ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_backs_off_five_minutes_then_recovers() {
    wiremock_fault(
        ResponseTemplate::new(503),
        "backoff",
        Some(FIVE_MIN),
        &["HTTP 503"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_backs_off_an_hour_then_recovers() {
    wiremock_fault(
        ResponseTemplate::new(404),
        "backoff",
        Some(ONE_HOUR),
        &["HTTP 404"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_pauses_the_source_until_forced() {
    wiremock_fault(
        ResponseTemplate::new(410),
        "paused",
        None,
        &["410 Gone", "remove the source"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_source_is_skipped_without_force() {
    let (flaky, bench) = healthy_wiremock_bench().await;
    respond(&flaky, "/feed.xml", ResponseTemplate::new(410)).await;
    bench.fault("paused", None, &["410"]).await;
    flaky.reset().await;
    serve(&flaky, "/feed.xml", flaky_feed(3)).await;
    let pass = bench.pass(false);
    assert!(pass.alerts.is_empty(), "{:?}", titles(&pass.alerts));
    assert!(
        pass.line("Flaky").starts_with("Flaky: skipped (paused"),
        "{}",
        pass.stderr
    );
    assert!(
        flaky.received_requests().await.unwrap().is_empty(),
        "a paused source is not contacted"
    );
    bench.recovered();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_with_retry_after_seconds_waits_that_long() {
    wiremock_fault(
        ResponseTemplate::new(429).insert_header("retry-after", "3600"),
        "backoff",
        Some(ONE_HOUR),
        &["HTTP 429", "retry after 3600 s"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_with_retry_after_date_waits_until_then() {
    // Whole seconds, so the date in the header is exactly the time the source must wait for.
    let until = DateTime::from_timestamp(Utc::now().timestamp() + 2 * 3600, 0).unwrap();
    let (flaky, bench) = healthy_wiremock_bench().await;
    respond(
        &flaky,
        "/feed.xml",
        ResponseTemplate::new(429).insert_header(
            "retry-after",
            until.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ),
    )
    .await;
    bench
        .fault(
            "backoff",
            Some(Duration::from_secs(2 * 3600)),
            &["HTTP 429"],
        )
        .await;
    let flaky_health = &bench.sources()["Flaky"];
    assert_eq!(flaky_health.next_check, Some(until), "{flaky_health:?}");
    // Without --force the source is left alone, and says until when.
    let pass = bench.pass(false);
    assert!(
        pass.line("Flaky").contains(&format!(
            "skipped (backing off until {}",
            until.format("%Y-%m-%d %H:%M:%S UTC")
        )),
        "{}",
        pass.stderr
    );
    serve_again(&flaky).await;
    bench.recovered();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudflare_challenge_says_the_site_blocks_bots() {
    let page = "<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title>\
                <meta http-equiv=\"refresh\" content=\"390\"></head><body>\
                <noscript>Enable JavaScript and cookies to continue</noscript>\
                <script src=\"/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1\"></script>\
                </body></html>";
    wiremock_fault(
        ResponseTemplate::new(403)
            .insert_header("server", "cloudflare")
            .insert_header("cf-mitigated", "challenge")
            .insert_header("content-type", "text/html; charset=UTF-8")
            .set_body_string(page),
        "backoff",
        Some(ONE_HOUR),
        &["HTTP 403", "bot"],
    )
    .await;
}

// ---- redirects ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_loop_fails_with_a_clear_error() {
    wiremock_fault(
        ResponseTemplate::new(302).insert_header("location", "/feed.xml"),
        "backoff",
        Some(FIVE_MIN),
        &["redirect loop"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_chain_over_the_limit_fails() {
    let (flaky, bench) = healthy_wiremock_bench().await;
    // /feed.xml -> /hop/1 -> ... -> /hop/6: six redirects, one over the default limit of 5.
    respond(
        &flaky,
        "/feed.xml",
        ResponseTemplate::new(302).insert_header("location", "/hop/1"),
    )
    .await;
    for i in 1..=6 {
        respond(
            &flaky,
            &format!("/hop/{i}"),
            ResponseTemplate::new(302).insert_header("location", format!("/hop/{}", i + 1)),
        )
        .await;
    }
    serve(&flaky, "/hop/7", flaky_feed(3)).await;
    bench
        .fault("backoff", Some(FIVE_MIN), &["more than 5 redirects"])
        .await;
    serve_again(&flaky).await;
    bench.recovered();
}

fn stored_url(bench: &Bench, name: &str) -> String {
    let db = rusqlite::Connection::open(bench.setup.path("state/newshound.db")).unwrap();
    db.query_row("SELECT url FROM sources WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_redirect_updates_the_url_only_once_it_proves_to_be_a_feed() {
    let (flaky, bench) = healthy_wiremock_bench().await;
    let old = format!("{}/feed.xml", flaky.uri());

    // A permanent redirect to an HTML page: not a feed, so the stored URL stays.
    respond(
        &flaky,
        "/feed.xml",
        ResponseTemplate::new(301).insert_header("location", "/landing"),
    )
    .await;
    respond(
        &flaky,
        "/landing",
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/html")
            .set_body_string("<html><head><title>We moved!</title></head><body>Hi</body></html>"),
    )
    .await;
    bench
        .fault("backoff", Some(FIVE_MIN), &["HTML page", "We moved!"])
        .await;
    assert_eq!(stored_url(&bench, "Flaky"), old);

    // A permanent redirect to the feed: followed, and the new URL is kept.
    flaky.reset().await;
    respond(
        &flaky,
        "/feed.xml",
        ResponseTemplate::new(308).insert_header("location", "/v2/feed.xml"),
    )
    .await;
    serve(&flaky, "/v2/feed.xml", flaky_feed(3)).await;
    bench.recovered();
    let new = format!("{}/v2/feed.xml", flaky.uri());
    assert_eq!(stored_url(&bench, "Flaky"), new);

    // The next pass asks the new URL directly, even after a restart.
    flaky.reset().await;
    serve(&flaky, "/v2/feed.xml", flaky_feed(4)).await;
    let pass = bench.pass(true);
    assert_eq!(
        titles(&pass.alerts),
        vec!["Meta flaky story 3"],
        "{}",
        pass.stderr
    );
    let asked: Vec<String> = flaky
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r: &Request| r.url.path().to_string())
        .collect();
    assert_eq!(
        asked,
        vec!["/v2/feed.xml"],
        "the old URL is not asked again"
    );

    // An admin who then changes the URL in the config is obeyed.
    let mut bench = bench;
    bench.set_flaky_url(&format!("{}/v3/feed.xml", flaky.uri()));
    flaky.reset().await;
    serve(&flaky, "/v3/feed.xml", flaky_feed(5)).await;
    let pass = bench.pass(true);
    assert_eq!(
        titles(&pass.alerts),
        vec!["Meta flaky story 4"],
        "{}",
        pass.stderr
    );
    assert_eq!(
        stored_url(&bench, "Flaky"),
        format!("{}/v3/feed.xml", flaky.uri())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_redirect_keeps_the_stored_url() {
    let (flaky, bench) = healthy_wiremock_bench().await;
    let old = format!("{}/feed.xml", flaky.uri());
    respond(
        &flaky,
        "/feed.xml",
        ResponseTemplate::new(302).insert_header("location", "/today.xml"),
    )
    .await;
    serve(&flaky, "/today.xml", flaky_feed(3)).await;
    bench.recovered();
    assert_eq!(stored_url(&bench, "Flaky"), old);
}

// ---- bodies that are not feeds ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_instead_of_a_feed_names_the_page() {
    wiremock_fault(
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/html")
            .set_body_string(
                "<!doctype html><html><head><title>Example News — Home</title></head>\
                 <body><a href=\"/rss\">RSS</a></body></html>",
            ),
        "backoff",
        Some(FIVE_MIN),
        &["not a feed", "HTML page", "Example News — Home"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_body_is_reported_as_empty() {
    wiremock_fault(
        ResponseTemplate::new(200).insert_header("content-type", "application/rss+xml"),
        "backoff",
        Some(FIVE_MIN),
        &["empty body"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_type_is_ignored_when_the_body_is_a_feed() {
    healthy_then_recovered(
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/html; charset=utf-8")
            .set_body_string(flaky_feed(1)),
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/octet-stream")
            .set_body_string(flaky_feed(3)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_still_yields_the_items() {
    let broken = |n: usize| {
        // Stray bytes that are not UTF-8 (a lone continuation byte, a truncated sequence, 0xFF)
        // in a document that says it is UTF-8.
        let feed = flaky_feed(n).replace(
            "<description></description>",
            "<description>caf\u{1}</description>",
        );
        let mut bytes = feed.into_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        for b in bytes.drain(..) {
            if b == 1 {
                out.extend_from_slice(&[0x80, 0xE2, 0x82, b' ', 0xFF]);
            } else {
                out.push(b);
            }
        }
        out
    };
    let utf8_rss = |body: Vec<u8>| {
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/rss+xml; charset=utf-8")
            .set_body_bytes(body)
    };
    healthy_then_recovered(utf8_rss(broken(1)), utf8_rss(broken(3))).await;
}

/// A gzip stream of `n` zero bytes (~1000:1).
fn gzip_zeros(n: usize) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; 1 << 20];
    let mut left = n;
    while left > 0 {
        let take = left.min(block.len());
        enc.write_all(&block[..take]).unwrap();
        left -= take;
    }
    enc.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bomb_fails_on_the_decompressed_cap() {
    // 64 MiB of zeros in ~64 KiB: far past the 15 MiB cap once inflated.
    let bomb = gzip_zeros(64 << 20);
    assert!(bomb.len() < 1 << 20, "the bomb is small on the wire");
    wiremock_fault(
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/rss+xml")
            .insert_header("content-encoding", "gzip")
            .set_body_bytes(bomb),
        "backoff",
        Some(FIVE_MIN),
        &["body larger than 15 MiB", "fetch.max_body_bytes"],
    )
    .await;
}

// ---- feeds that are valid but hostile to dedup ------------------------------------------------

/// A wiremock responder whose answer changes on every request.
struct EveryFetch<F: Fn(usize) -> ResponseTemplate + Send + Sync>(F, AtomicU64);

impl<F: Fn(usize) -> ResponseTemplate + Send + Sync> wiremock::Respond for EveryFetch<F> {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.1.fetch_add(1, Ordering::SeqCst);
        (self.0)(n as usize)
    }
}

/// `n` items (newest first) whose guids carry `salt`: a feed that re-mints ids.
fn salted_feed(n: usize, salt: usize) -> String {
    let feed = flaky_feed(n);
    (0..n).fold(feed, |f, i| {
        f.replace(
            &format!(">flaky-{i}</guid>"),
            &format!(">flaky-{i}-{salt}</guid>"),
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guids_that_change_every_fetch_do_not_realert() {
    let flaky = MockServer::start().await;
    let bench = Bench::new(&format!("{}/feed.xml", flaky.uri())).await;
    Mock::given(method("GET"))
        .respond_with(EveryFetch(
            |n| rss_response(salted_feed(1, n)),
            AtomicU64::new(0),
        ))
        .mount(&flaky)
        .await;
    bench.healthy();
    flaky.reset().await;
    Mock::given(method("GET"))
        .respond_with(EveryFetch(
            |n| rss_response(salted_feed(3, n + 100)),
            AtomicU64::new(0),
        ))
        .mount(&flaky)
        .await;
    bench.recovered();
    for _ in 0..2 {
        let pass = bench.pass(true);
        assert!(pass.alerts.is_empty(), "{:?}", titles(&pass.alerts));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_that_flip_order_every_fetch_do_not_realert() {
    let flaky = MockServer::start().await;
    let bench = Bench::new(&format!("{}/feed.xml", flaky.uri())).await;
    let flipped = |n: usize, flip: bool| {
        let feed = flaky_feed(n);
        if !flip {
            return feed;
        }
        let (head, rest) = feed.split_once("<item>").unwrap();
        let (items, tail) = rest.rsplit_once("</item>").unwrap();
        let mut parts: Vec<&str> = items.split("</item>\n<item>").collect();
        parts.reverse();
        format!("{head}<item>{}</item>{tail}", parts.join("</item>\n<item>"))
    };
    serve(&flaky, "/feed.xml", flaky_feed(1)).await;
    bench.healthy();
    flaky.reset().await;
    Mock::given(method("GET"))
        .respond_with(EveryFetch(
            move |n| rss_response(flipped(3, n % 2 == 1)),
            AtomicU64::new(0),
        ))
        .mount(&flaky)
        .await;
    bench.recovered();
    for _ in 0..3 {
        let pass = bench.pass(true);
        assert!(pass.alerts.is_empty(), "{:?}", titles(&pass.alerts));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_always_answers_304_stays_quiet_and_healthy() {
    let flaky = MockServer::start().await;
    let bench = Bench::new(&format!("{}/feed.xml", flaky.uri())).await;
    respond(
        &flaky,
        "/feed.xml",
        rss_response(flaky_feed(1)).insert_header("etag", "\"v1\""),
    )
    .await;
    bench.healthy();
    flaky.reset().await;
    // Whatever it is asked (here: If-None-Match "v1"), it says "unchanged".
    respond(&flaky, "/feed.xml", ResponseTemplate::new(304)).await;
    bench.set_other(2).await;
    let pass = bench.pass(true);
    assert_eq!(titles(&pass.alerts), vec!["Meta other story 1"]);
    assert_eq!(pass.line("Flaky"), "Flaky: unchanged", "{}", pass.stderr);
    let flaky_health = &bench.sources()["Flaky"];
    assert_eq!(flaky_health.state, "ok", "{flaky_health:?}");
    serve_again(&flaky).await;
    bench.recovered();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_304_to_a_request_for_the_whole_feed_is_an_error() {
    // No ETag or Last-Modified was ever given, so no request is conditional: a 304 can only be
    // a broken server, and a source that never yields an item must not look healthy.
    wiremock_fault(
        ResponseTemplate::new(304),
        "backoff",
        Some(FIVE_MIN),
        &["304 Not Modified", "misconfigured"],
    )
    .await;
}

// ---- network faults, from a raw TCP server --------------------------------------------------

/// What the raw server does with each request.
#[derive(Clone)]
enum Mode {
    /// 200 with this RSS body.
    Feed(String),
    /// Reads the request and never answers.
    Silent,
    /// Answers the headers, then one byte of body every 200 ms.
    Drip,
    /// 200 with no length, then an RSS document that grows to 200 MiB, generated as it is sent.
    Endless,
}

const ENDLESS_BYTES: u64 = 200 << 20;

/// A hand-written HTTP/1.1 server for what wiremock cannot do: never answering, dripping, and
/// bodies too big to hold.
struct RawServer {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    /// Body bytes sent in `Endless` mode.
    sent: Arc<AtomicU64>,
}

impl RawServer {
    async fn start(mode: Mode) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(mode));
        let sent = Arc::new(AtomicU64::new(0));
        let (m, s) = (Arc::clone(&mode), Arc::clone(&sent));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mode = m.lock().unwrap().clone();
                tokio::spawn(answer(stream, mode, Arc::clone(&s)));
            }
        });
        RawServer { addr, mode, sent }
    }

    fn url(&self) -> String {
        format!("http://{}/feed.xml", self.addr)
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

async fn answer(mut stream: TcpStream, mode: Mode, sent: Arc<AtomicU64>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
        if !request[0].is_ascii_uppercase() {
            // Not HTTP (a TLS ClientHello): answer as plain HTTP servers do.
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
                .await;
            return;
        }
    }
    match mode {
        Mode::Feed(body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
        }
        Mode::Silent => tokio::time::sleep(Duration::from_secs(30)).await,
        Mode::Drip => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\ncontent-length: 100000\r\nconnection: close\r\n\r\n<";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..150 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }
        Mode::Endless => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\nconnection: close\r\n\r\n<rss version=\"2.0\"><channel><title>";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b'x'; 64 * 1024];
            while sent.load(Ordering::SeqCst) < ENDLESS_BYTES {
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
                sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
        }
    }
    let _ = stream.shutdown().await;
}

async fn raw_fault(mode: Mode, error: &[&str]) -> RawServer {
    let server = RawServer::start(Mode::Feed(flaky_feed(1))).await;
    let bench = Bench::new(&server.url()).await;
    bench.healthy();
    server.set(mode);
    bench.fault("backoff", Some(FIVE_MIN), error).await;
    server.set(Mode::Feed(flaky_feed(3)));
    bench.recovered();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_before_the_headers_times_out() {
    raw_fault(Mode::Silent, &["timed out after 3 s", "fetch.timeout_secs"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_drips_times_out() {
    raw_fault(Mode::Drip, &["timed out after 3 s", "fetch.timeout_secs"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mib_body_fails_on_the_cap_without_being_read_whole() {
    let server = raw_fault(Mode::Endless, &["body larger than 15 MiB"]).await;
    let sent = server.sent.load(Ordering::SeqCst);
    assert!(
        // The 15 MiB cap plus what loopback socket buffers hold.
        sent < ENDLESS_BYTES / 4,
        "newshound must hang up at the cap; the server sent {sent} bytes of {ENDLESS_BYTES}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_then_the_server_comes_back() {
    // A port nothing listens on (bound, then released), later served again.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}/feed.xml");
    let serve_on = |listener: std::net::TcpListener, body: String| {
        listener.set_nonblocking(true).unwrap();
        let listener = TcpListener::from_std(listener).unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, Mode::Feed(body.clone()), Arc::default()));
            }
        })
    };
    let task = serve_on(listener, flaky_feed(1));
    let bench = Bench::new(&url).await;
    bench.healthy();
    task.abort();
    let _ = task.await;
    bench
        .fault(
            "backoff",
            Some(FIVE_MIN),
            &["connection refused", &addr.to_string()],
        )
        .await;
    let listener = std::net::TcpListener::bind(addr).expect("the port is free again");
    let _task = serve_on(listener, flaky_feed(3));
    bench.recovered();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_failure_fails_fast_and_the_fixed_url_recovers() {
    let server = RawServer::start(Mode::Feed(flaky_feed(1))).await;
    let mut bench = Bench::new(&server.url()).await;
    bench.healthy();
    // `.invalid` never resolves (RFC 6761): the lookup fails at once, well inside the timeout.
    let host = "feeds.newshound-test.invalid";
    bench.set_flaky_url(&format!("http://{host}/feed.xml"));
    bench
        .fault("backoff", Some(FIVE_MIN), &["DNS lookup failed", host])
        .await;
    server.set(Mode::Feed(flaky_feed(3)));
    let url = server.url();
    bench.set_flaky_url(&url);
    bench.recovered();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_a_plain_http_port_is_a_tls_error() {
    let server = RawServer::start(Mode::Feed(flaky_feed(1))).await;
    let mut bench = Bench::new(&server.url()).await;
    bench.healthy();
    let https = format!("https://{}/feed.xml", server.addr);
    bench.set_flaky_url(&https);
    bench
        .fault(
            "backoff",
            Some(FIVE_MIN),
            &["TLS error", &server.addr.to_string()],
        )
        .await;
    server.set(Mode::Feed(flaky_feed(3)));
    let url = server.url();
    bench.set_flaky_url(&url);
    bench.recovered();
}

/// Several faults at once, on one host and on others: each source fails alone, in one pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_faulty_sources_in_one_pass_do_not_disturb_the_healthy_one() {
    let wire = MockServer::start().await;
    let raw = RawServer::start(Mode::Silent).await;
    let setup = Setup::new();
    let faults = [
        ("e500", ResponseTemplate::new(500)),
        ("e404", ResponseTemplate::new(404)),
        (
            "html",
            rss_response("<html><head><title>Home</title></head></html>".into()),
        ),
        ("empty", ResponseTemplate::new(200)),
    ];
    for (name, template) in &faults {
        respond(&wire, &format!("/{name}"), template.clone()).await;
    }
    let good = MockServer::start().await;
    serve(&good, "/feed.xml", stories("good", 1)).await;
    let mut body = String::new();
    for (name, _) in &faults {
        body.push_str(&format!(
            "[[sources]]\nname = \"{name}\"\nurl = \"{}/{name}\"\n\n",
            wire.uri()
        ));
    }
    body.push_str(&format!(
        "[[sources]]\nname = \"silent\"\nurl = \"{}\"\n\n\
         [[sources]]\nname = \"nodns\"\nurl = \"http://nowhere.invalid/feed.xml\"\n\n\
         [[sources]]\nname = \"good\"\nurl = \"{}/feed.xml\"\n\n\
         [[subscriptions]]\nuser = \"alice\"\nquery = \"Meta\"\n",
        raw.url(),
        good.uri()
    ));
    let config = setup.write_config(&body);
    let first = once_json(&config);
    assert!(first.alerts.is_empty());
    let failed = first
        .stderr
        .lines()
        .filter(|l| l.contains(": FAILED: "))
        .count();
    assert_eq!(failed, 6, "{}", first.stderr);
    assert!(first.stderr.contains("good: 1 items"), "{}", first.stderr);
    good.reset().await;
    serve(&good, "/feed.xml", stories("good", 2)).await;
    let run = once_json(&config);
    assert_eq!(
        titles(&run.alerts),
        vec!["Meta good story 1"],
        "{}",
        run.stderr
    );
    let skipped = run
        .stderr
        .lines()
        .filter(|l| l.contains(": skipped (backing off until"))
        .count();
    assert_eq!(skipped, 6, "{}", run.stderr);
}
