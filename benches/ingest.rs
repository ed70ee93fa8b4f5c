//! Ingest cycle (issue #6, target 3): `newshound once --force` over N sources served by one
//! local HTTP server, a cold cycle (every source answers 200 with an ETag; first poll) and a
//! warm cycle (every source answers 304 to the conditional request), with M subscriptions in
//! the database. Reports wall time, CPU time (user + sys of the child) and peak RSS, and the
//! server's own ceiling (a Rust load generator in this process, same concurrency) as the limit.
//!
//! `cargo bench --bench ingest`. Environment (defaults are the sizes):
//! `NEWSHOUND_BENCH_SOURCES` (10000), `NEWSHOUND_BENCH_ITEMS` (50 per feed),
//! `NEWSHOUND_BENCH_SUBSCRIPTIONS` (1000000), `NEWSHOUND_BENCH_HOSTS` (1000: distinct loopback
//! addresses 127.1.x.y, source i on host i mod HOSTS, so neighbouring sources are on different
//! hosts as a real list mostly is; newshound's politeness limit is per `host:port`),
//! `NEWSHOUND_BENCH_PERF=1` (profile each cycle with `perf record`; figures then not valid).

#[path = "gen/mod.rs"]
mod gen;
#[path = "macro/mod.rs"]
mod harness;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use hyper::body::Bytes;

use harness::{mib, secs, table, FeedServer, Measured, Usage};

#[expect(clippy::too_many_lines, reason = "split in issue 11 by the lead")]
fn main() {
    let sources = harness::env_usize("NEWSHOUND_BENCH_SOURCES", 10_000);
    let items = harness::env_usize("NEWSHOUND_BENCH_ITEMS", 50);
    let subscriptions = harness::env_usize("NEWSHOUND_BENCH_SUBSCRIPTIONS", 1_000_000);
    let hosts = harness::env_usize("NEWSHOUND_BENCH_HOSTS", 1_000).clamp(1, sources.max(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");

    println!("# Ingest cycle: {sources} sources x {items} items, {subscriptions} subscriptions, {hosts} hosts\n");
    println!("machine at start: {}\n", harness::machine_note());

    let vocab = gen::Vocabulary::new(200_000, 42);
    let pool = Arc::new(harness::ItemPool::new(&vocab, 2_000, 11));
    let sample = pool.rss(0, items);
    println!(
        "feed size: {} bytes for {items} items (RSS 2.0, 1-2 KB description per item); ~{:.0} MB per cold cycle\n",
        sample.len(),
        sample.len() as f64 * sources as f64 / 1e6
    );
    let catalog_pool = Arc::clone(&pool);
    // Version 1: the feeds as generated. Version 2 (the "changed" cycle): every feed has one
    // more item at the top, a routine update that names no topic, so the cycle matches 10,000
    // new items against the loaded subscriptions without an avalanche of alerts. Its text is
    // longer than `article_min_chars`, so no article page is fetched (the bench's hosts have
    // no DNS).
    let version = Arc::new(AtomicUsize::new(1));
    let catalog_version = Arc::clone(&version);
    let catalog: Arc<harness::Catalog> = Arc::new(move |path: &str| {
        let id: usize = path
            .strip_prefix("/feeds/")?
            .strip_suffix(".xml")?
            .parse()
            .ok()?;
        let v = catalog_version.load(Ordering::Relaxed);
        (id < sources).then(|| {
            let mut body = catalog_pool.rss(id, items);
            if v > 1 {
                // Digits and English function words only: never a vocabulary term, so no
                // subscription matches (an alert avalanche would measure delivery instead).
                let extra = format!(
                    "<item><title>{id}-{v}: it is as it was, and that is that</title>\
                     <link>https://site{id}.example.com/update/{v}</link>\
                     <guid isPermaLink=\"false\">s{id}-update-{v}</guid>\
                     <description>It is not that it was, but that it is as it is; and it is with \
                     this that he is at it, for it is not for this or that, but for it, which is \
                     as it was and as it is.</description></item>"
                );
                body = body.replacen("<item>", &format!("{extra}<item>"), 1);
            }
            (format!("s{id}-v{v}"), Bytes::from(body))
        })
    });
    let server = runtime.block_on(FeedServer::start(hosts, catalog));
    let urls: Vec<String> = (0..sources)
        .map(|i| server.url(i, &format!("/feeds/{i}.xml")))
        .collect();

    // The limit: the same server driven by a plain client at newshound's default concurrency.
    let ceiling_cold = runtime.block_on(load(&urls, 16, false));
    let ceiling_warm = runtime.block_on(load(&urls, 16, true));
    server.stats.reset();

    let dir = harness::work_dir("ingest");
    let db = dir.join("state/newshound.db");
    let seeded = harness::seed_subscriptions(&db, subscriptions, 7);
    println!(
        "seeded {subscriptions} subscriptions into {} in {}\n",
        db.display(),
        secs(seeded)
    );
    let named: Vec<(String, String)> = urls
        .iter()
        .enumerate()
        .map(|(i, u)| (format!("src-{i:05}"), u.clone()))
        .collect();
    let config = harness::write_config(&dir, &named, "");

    let mut rows = Vec::new();
    let cold = cycle(&config, &dir, "cold", &server);
    check(&cold, sources, 0, "cold");
    rows.push(row("cold (all 200, first poll)", &cold, &ceiling_cold));
    let db_bytes = std::fs::metadata(&db).map_or(0, |m| m.len());
    let warm = cycle(&config, &dir, "warm", &server);
    check(&warm, 0, sources, "warm");
    rows.push(row("warm (all 304)", &warm, &ceiling_warm));
    // Every source changed: one new item each, so every poll matches against the 1M loaded
    // subscriptions (the cold cycle is every source's first poll, which alerts nothing and
    // so does not load them).
    version.store(2, Ordering::Relaxed);
    let changed = cycle(&config, &dir, "changed", &server);
    check(&changed, sources, 0, "changed");
    rows.push(row(
        "changed (all 200, 1 new item each; subscriptions loaded)",
        &changed,
        &ceiling_cold,
    ));

    // Side by side: the same warm cycle with no subscriptions, to show what loading them costs.
    rusqlite::Connection::open(&db)
        .and_then(|c| c.execute("DELETE FROM subscriptions", []))
        .expect("empty the subscriptions table");
    let bare = cycle(&config, &dir, "warm-nosubs", &server);
    check(&bare, 0, sources, "warm, no subscriptions");
    rows.push(row("warm, 0 subscriptions", &bare, &ceiling_warm));

    println!(
        "{}",
        table(
            &[
                "cycle",
                "wall",
                "CPU (user+sys)",
                "user",
                "sys",
                "peak RSS",
                "start -> first request",
                "first -> last request",
                "200 / 304",
                "server ceiling (same requests)",
            ],
            &rows
        )
    );
    println!(
        "database after the cold cycle: {:.0} MB (items, seen fingerprints, subscriptions)\n",
        db_bytes as f64 / 1e6
    );
    println!(
        "server ceiling: {} requests, 16 at a time, reqwest in this process: cold {} ({:.0} req/s, {:.0} MB/s), warm {} ({:.0} req/s)",
        sources,
        secs(ceiling_cold),
        sources as f64 / ceiling_cold.as_secs_f64(),
        sample.len() as f64 * sources as f64 / 1e6 / ceiling_cold.as_secs_f64(),
        secs(ceiling_warm),
        sources as f64 / ceiling_warm.as_secs_f64()
    );
    println!("targets: warm < 10 s, cold < 60 s, peak memory < 300 MB (with 1M subscriptions loaded: the changed cycle)");
    println!("machine at end: {}", harness::machine_note());
}

struct Cycle {
    usage: Usage,
    to_first_request: Option<Duration>,
    first_to_last: Option<Duration>,
    ok: u64,
    not_modified: u64,
    failed_lines: usize,
}

fn cycle(
    config: &std::path::Path,
    dir: &std::path::Path,
    name: &str,
    server: &FeedServer,
) -> Cycle {
    server.stats.reset();
    let last = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let log = dir.join(format!("{name}.log"));
    // NEWSHOUND_BENCH_PERF=1: run the child under `perf record` (profile in the work
    // directory; the usage figures are then perf's, not newshound's: for profiling only).
    let mut command = if std::env::var_os("NEWSHOUND_BENCH_PERF").is_some() {
        let mut c = Command::new("perf");
        c.args(["record", "-F", "499", "-g", "-o"])
            .arg(dir.join(format!("{name}.perf.data")))
            .arg("--")
            .arg(harness::binary());
        c
    } else {
        Command::new(harness::binary())
    };
    command
        .args(["once", "--force", "--config"])
        .arg(config)
        .env_remove("DISCORD_TOKEN")
        .env_remove("NEWSHOUND_CONFIG")
        .env("NEWSHOUND_LOG", "warn");
    let child = Measured::spawn(command, &log);
    let started = child.started();
    // Watch the request counter to find the time of the last request.
    let stats = Arc::clone(&server.stats);
    let watcher_last = Arc::clone(&last);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher_done = Arc::clone(&done);
    let watcher = std::thread::spawn(move || {
        let mut seen = 0;
        while !watcher_done.load(std::sync::atomic::Ordering::Relaxed) {
            let (ok, nm, nf, _) = stats.counts();
            let total = ok + nm + nf;
            if total != seen {
                seen = total;
                *watcher_last.lock().expect("watcher lock") = Some(Instant::now());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let (status, usage) = child.wait(Duration::from_secs(3_600));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = watcher.join();
    assert!(
        status.success(),
        "`once` ({name}) failed with {status}; log: {}",
        log.display()
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let failed_lines = text.lines().filter(|l| l.contains(": FAILED:")).count();
    let first = server.stats.first_request();
    let last = *last.lock().expect("lock");
    let (ok, not_modified, _, _) = server.stats.counts();
    Cycle {
        usage,
        to_first_request: first.map(|f| f.duration_since(started)),
        first_to_last: first.zip(last).map(|(f, l)| l.duration_since(f)),
        ok,
        not_modified,
        failed_lines,
    }
}

fn check(cycle: &Cycle, ok: usize, not_modified: usize, name: &str) {
    assert_eq!(
        (cycle.ok, cycle.not_modified, cycle.failed_lines),
        (ok as u64, not_modified as u64, 0),
        "{name} cycle: expected {ok} 200s, {not_modified} 304s and no failed source"
    );
}

fn row(name: &str, c: &Cycle, ceiling: &Duration) -> Vec<String> {
    let opt = |d: Option<Duration>| d.map_or_else(|| "-".to_string(), secs);
    vec![
        name.to_string(),
        secs(c.usage.wall),
        secs(c.usage.cpu()),
        secs(c.usage.user),
        secs(c.usage.sys),
        mib(c.usage.peak_rss_kib),
        opt(c.to_first_request),
        opt(c.first_to_last),
        format!("{} / {}", c.ok, c.not_modified),
        secs(*ceiling),
    ]
}

/// Fetches every URL once, `concurrency` at a time (conditional with the server's ETag when
/// `warm`); returns the wall time. Panics on an unexpected status.
async fn load(urls: &[String], concurrency: usize, warm: bool) -> Duration {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client");
    let started = Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(urls.iter().enumerate())
        .map(|(i, url)| {
            let client = client.clone();
            async move {
                let mut request = client.get(url);
                if warm {
                    request = request.header("If-None-Match", format!("\"s{i}-v1\""));
                }
                let response = request.send().await.expect("load request");
                let status = response.status().as_u16();
                let _ = response.bytes().await.expect("load body");
                status
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let expected = if warm { 304 } else { 200 };
    assert!(
        statuses.iter().all(|s| *s == expected),
        "the load generator expected only {expected}s: {:?}",
        harness::count_by(statuses)
    );
    started.elapsed()
}
