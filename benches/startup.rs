//! Start-up (issue #6, target 5): `newshound run` with a token against the fake Discord of
//! `tests/support`, with N sources in the config (served by a local feed server on many
//! loopback hosts) and M subscriptions in the database. Measures, from process start: the log
//! line that spawns the source tasks (`newshound running`: every first poll scheduled), the
//! first feed request arriving (the first poll started; default `jitter_secs`, so with 10,000
//! sources the earliest of 10,000 random delays in 0-30 s), the gateway connection, and the
//! slash command registration arriving at the fake. Then an in-process breakdown of
//! `App::start`'s steps through the library.
//!
//! `cargo bench --bench startup`. Environment: `NEWSHOUND_BENCH_SOURCES` (10000),
//! `NEWSHOUND_BENCH_SUBSCRIPTIONS` (1000000), `NEWSHOUND_BENCH_HOSTS` (1000).

#[path = "gen/mod.rs"]
mod gen;
#[path = "macro/mod.rs"]
mod harness;
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hyper::body::Bytes;

use harness::{secs, table, FeedServer, Measured};
use support::fake_discord::{FakeConfig, FakeDiscord, DEFAULT_GUILD_ID};

const WAIT: Duration = Duration::from_secs(300);

fn main() {
    let sources = harness::env_usize("NEWSHOUND_BENCH_SOURCES", 10_000);
    let subscriptions = harness::env_usize("NEWSHOUND_BENCH_SUBSCRIPTIONS", 1_000_000);
    let hosts = harness::env_usize("NEWSHOUND_BENCH_HOSTS", 1_000).clamp(1, sources.max(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(sources, subscriptions, hosts));
}

async fn run(sources: usize, subscriptions: usize, hosts: usize) {
    println!("# Start-up: {sources} sources, {subscriptions} subscriptions, {hosts} hosts\n");
    println!("machine at start: {}\n", harness::machine_note());
    let vocab = gen::Vocabulary::new(200_000, 42);
    let pool = Arc::new(harness::ItemPool::new(&vocab, 2_000, 11));
    let catalog: Arc<harness::Catalog> = Arc::new(move |path: &str| {
        let id: usize = path
            .strip_prefix("/feeds/")?
            .strip_suffix(".xml")?
            .parse()
            .ok()?;
        (id < sources).then(|| (format!("s{id}-v1"), Bytes::from(pool.rss(id, 50))))
    });
    let server = FeedServer::start(hosts, catalog).await;
    let dir = harness::work_dir("startup");
    let db = dir.join("state/newshound.db");
    let seeded = harness::seed_subscriptions(&db, subscriptions, 7);
    println!("seeded {subscriptions} subscriptions in {}\n", secs(seeded));
    if std::env::var_os("NEWSHOUND_BENCH_MEMORY_ONLY").is_some() {
        println!("{}", memory(&db));
        return;
    }

    let mut rows = Vec::new();
    let mut first_config = None;
    for (name, subs) in [
        (
            "first start (sources not yet in the database)",
            subscriptions,
        ),
        (
            "restart (sources and subscriptions in the database)",
            subscriptions,
        ),
        ("restart, 0 subscriptions", 0),
    ] {
        if subs == 0 {
            rusqlite::Connection::open(&db)
                .and_then(|c| c.execute("DELETE FROM subscriptions", []))
                .expect("empty the subscriptions table");
        }
        let fake = FakeDiscord::start_with(FakeConfig::default()).await;
        let extra = format!(
            "\n[discord]\napi_base_url = \"{}\"\nguild_id = {DEFAULT_GUILD_ID}\n",
            fake.base_url()
        );
        let named: Vec<(String, String)> = (0..sources)
            .map(|i| {
                (
                    format!("src-{i:05}"),
                    server.url(i, &format!("/feeds/{i}.xml")),
                )
            })
            .collect();
        let config = harness::write_config(&dir, &named, &extra);
        first_config.get_or_insert_with(|| config.clone());
        server.stats.reset();
        rows.push(start_once(name, &config, &dir, &fake, &server).await);
    }
    println!(
        "{}",
        table(
            &[
                "start",
                "-> source tasks spawned (log)",
                "-> first feed request",
                "-> gateway connected (GET /gateway/bot)",
                "-> commands registered (PUT .../commands)",
                "peak RSS by then",
            ],
            &rows
        )
    );

    // Where the time goes: App::start's steps, through the library, in this process.
    rusqlite::Connection::open(&db)
        .and_then(|c| c.execute("DELETE FROM subscriptions", []))
        .expect("empty the subscriptions table");
    let _ = harness::seed_subscriptions(&db, subscriptions, 7);
    let config_path = first_config.expect("a config was written");
    println!("## Breakdown of start-up with {subscriptions} subscriptions (library calls, this process)\n");
    println!("{}", breakdown(&config_path));
    println!("target: < 2 s from process start to commands registered and first poll scheduled");
    println!("machine at end: {}", harness::machine_note());
}

async fn start_once(
    name: &str,
    config: &Path,
    dir: &Path,
    fake: &FakeDiscord,
    server: &FeedServer,
) -> Vec<String> {
    let log = dir.join(format!(
        "run-{}.log",
        name.split_whitespace().next().unwrap_or("x")
    ));
    let _ = std::fs::remove_file(&log);
    let mut command = Command::new(harness::binary());
    command
        .args(["run", "--config"])
        .arg(config)
        .env("DISCORD_TOKEN", "bench-token-value")
        .env("NEWSHOUND_LOG", "info")
        .env("NO_COLOR", "1");
    let wall_start = SystemTime::now();
    let mut bot = Measured::spawn(command, &log);
    let started = bot.started();
    let deadline = Instant::now() + WAIT;
    let (registered, gateway) = loop {
        bot.sample();
        let requests = fake.requests();
        let registered = requests
            .iter()
            .find(|r| r.method == "PUT" && r.path.ends_with("/commands") && r.status == 200)
            .map(|r| r.at);
        let gateway = requests
            .iter()
            .find(|r| r.path.ends_with("/gateway/bot") || r.path.ends_with("/gateway"))
            .map(|r| r.at);
        let spawned = log_time(&log, "newshound running");
        if let (Some(r), Some(_), Some(_)) = (registered, server.stats.first_request(), spawned) {
            break (r, gateway);
        }
        assert!(
            Instant::now() < deadline,
            "start-up did not finish within {WAIT:?}; log {}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    bot.sample();
    let peak = harness::mib(bot.peak_kib());
    let spawned =
        log_time(&log, "newshound running").and_then(|t| t.duration_since(wall_start).ok());
    let first_request = server.stats.first_request();
    bot.kill();
    let since = |t: Option<Instant>| {
        t.map_or_else(
            || "-".to_string(),
            |t| secs(t.saturating_duration_since(started)),
        )
    };
    vec![
        name.to_string(),
        spawned.map_or_else(|| "-".to_string(), secs),
        since(first_request),
        since(gateway),
        since(Some(registered)),
        peak,
    ]
}

/// The wall-clock time of the first log line containing `needle` (tracing's RFC 3339 stamp at
/// the start of the line).
fn log_time(log: &Path, needle: &str) -> Option<SystemTime> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|l| l.contains(needle))?;
    let stamp = line.split_whitespace().next()?;
    let stamp: String = stamp.chars().filter(|c| !c.is_control()).collect();
    let stamp = stamp.trim_start_matches(|c: char| !c.is_ascii_digit());
    let parsed = chrono::DateTime::parse_from_rfc3339(stamp).ok()?;
    Some(SystemTime::from(parsed.with_timezone(&chrono::Utc)))
}

/// This process's `VmRSS` and `VmHWM` (KiB).
fn rss_hwm() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `NEWSHOUND_BENCH_MEMORY_ONLY=1`: where the memory of the loaded subscriptions goes, in
/// this process (`VmRSS` now and `VmHWM` so far after each step), and one `/subscribe`'s
/// reload (a row added to the database, then the set brought in line).
fn memory(db: &Path) -> String {
    use newshound::store;
    let mut rows = Vec::new();
    let mut step = |name: String, t: Instant| {
        let (rss, hwm) = rss_hwm();
        rows.push(vec![
            name,
            secs(t.elapsed()),
            harness::mib(rss),
            harness::mib(hwm),
        ]);
    };
    step("baseline".into(), Instant::now());
    let st = store::Store::open(db).expect("open the store");
    let t = Instant::now();
    let loaded = st
        .with(|c| store::load_subscriptions(c))
        .expect("subscriptions");
    step(
        format!("store::load_subscriptions ({} rows, packed)", loaded.len()),
        t,
    );
    let t = Instant::now();
    let (set, _) = newshound::subscriptions::SubscriptionSet::from_loaded(loaded);
    step(
        format!("SubscriptionSet::from_loaded ({} kept)", set.len()),
        t,
    );
    let parts = set.heap_parts();
    let (guild, user) = st
        .with(|c| {
            Ok(c.query_row(
                "SELECT guild_id, \"user\" FROM subscriptions WHERE kind <> 'channel' LIMIT 1",
                newshound::args![],
                |r| Ok((r.get::<Option<String>>(0)?, r.get::<String>(1)?)),
            )?)
        })
        .expect("a member");
    st.with(|c| {
        Ok(c.execute(
            "INSERT INTO subscriptions (origin, \"user\", query, target, guild_id, created_at) SELECT origin, \"user\", 'Zanzibar', target, guild_id, created_at FROM subscriptions WHERE guild_id IS NOT DISTINCT FROM ?1 AND \"user\" = ?2 LIMIT 1",
            newshound::args![guild, user],
        )?)
    })
    .expect("add one subscription");
    let t = Instant::now();
    let scoped = st
        .with(|c| store::load_scope_subscriptions(c, guild.as_deref(), &user))
        .expect("the member's subscriptions");
    let rows_of_member = scoped.len();
    let (next, _) = set
        .updated_scope(
            &scoped,
            newshound::subscriptions::Scope {
                guild_id: guild.as_deref(),
                user: &user,
            },
        )
        .expect("a scoped change");
    step(
        format!(
            "one /subscribe: member reload ({rows_of_member} rows read; {} live)",
            next.len()
        ),
        t,
    );
    let t = Instant::now();
    let loaded = st
        .with(|c| store::load_subscriptions(c))
        .expect("subscriptions");
    let (full, _) = set.updated_from(loaded);
    step(format!("the same: full reload ({} live)", full.len()), t);
    drop(full);
    drop(set);
    drop(next);
    step("set dropped".into(), Instant::now());
    // Where the compiled set's bytes go, counted from its structures (capacities).
    let total: usize = parts.iter().map(|(_, bytes)| bytes).sum();
    let mut counted: Vec<Vec<String>> = parts
        .into_iter()
        .map(|(name, bytes)| vec![name.to_string(), format!("{:.1} MB", bytes as f64 / 1e6)])
        .collect();
    counted.push(vec![
        "**total**".into(),
        format!("**{:.1} MB**", total as f64 / 1e6),
    ]);
    format!(
        "{}\n\n{}",
        table(&["step", "time", "VmRSS after", "VmHWM so far"], &rows),
        table(
            &["part of the compiled set (1 copy)", "heap bytes"],
            &counted
        )
    )
}

fn breakdown(config_path: &Path) -> String {
    use newshound::store;
    let mut rows = Vec::new();
    let t = Instant::now();
    let config = newshound::config::Config::load(config_path).expect("load the config");
    rows.push(vec![
        format!("Config::load ({} sources)", config.sources.len()),
        secs(t.elapsed()),
    ]);
    let t = Instant::now();
    let st = store::Store::open(&config.storage_path).expect("open the store");
    rows.push(vec![
        "Store::open (migrations, WAL)".into(),
        secs(t.elapsed()),
    ]);
    let t = Instant::now();
    st.with(|c| store::sync_config(c, &config, chrono::Utc::now()))
        .expect("sync_config");
    rows.push(vec![
        "store::sync_config (sources already there)".into(),
        secs(t.elapsed()),
    ]);
    let t = Instant::now();
    let active = st
        .with(|c| store::active_sources(c))
        .expect("active sources");
    rows.push(vec![
        format!("store::active_sources ({} rows)", active.len()),
        secs(t.elapsed()),
    ]);
    let t = Instant::now();
    let subs = st
        .with(|c| store::load_subscriptions(c))
        .expect("subscriptions");
    rows.push(vec![
        format!("store::load_subscriptions ({} rows, packed)", subs.len()),
        secs(t.elapsed()),
    ]);
    let t = Instant::now();
    let (set, rejected) = newshound::subscriptions::SubscriptionSet::from_loaded(subs);
    rows.push(vec![
        format!(
            "SubscriptionSet::from_loaded (parse + compile; {} kept, {} rejected)",
            set.len(),
            rejected.len()
        ),
        secs(t.elapsed()),
    ]);
    table(&["step", "time"], &rows)
}
