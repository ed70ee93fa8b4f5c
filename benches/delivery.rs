//! Delivery (issue #6, target 4): the real `newshound run` with a token against the fake
//! Discord of `tests/support` (which enforces 5 message creates / 5 s per channel and 50
//! requests / s overall and counts the 429s it sends), fed by a local feed server that
//! records when each response went out.
//!
//! Phase 1, not rate-limited: `PROBES` items published one at a time (every 250 ms), each
//! matching one channel: latency from the fetch that first carried the item finishing (the
//! server handing over the response) to its message POST arriving at the fake, p50/p99/max.
//!
//! Phase 2, the drain: `ALERTS` alerts for `CHANNELS` channels appear in one poll
//! (`ALERTS / 5` items, each matching 5 channels; every channel gets `ALERTS / CHANNELS`,
//! spread in rounds so a channel's alerts are not bunched). Time from the first to the last
//! POST against the theoretical minimum under the two limits, and 429s provoked.
//!
//! `cargo bench --bench delivery`. Environment: `NEWSHOUND_BENCH_ALERTS` (1000),
//! `NEWSHOUND_BENCH_CHANNELS` (100), `NEWSHOUND_BENCH_PROBES` (100),
//! `NEWSHOUND_BENCH_LAYOUT` (`rounds`, or `random`: the alerts' channels in random order, so
//! one channel's alerts can bunch up).

#[path = "gen/mod.rs"]
mod gen;
#[path = "macro/mod.rs"]
mod harness;
#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use rand::seq::SliceRandom as _;
use rand::SeedableRng as _;

use harness::{millis, percentile, secs, table, FeedServer, Measured};
use support::fake_discord::{FakeConfig, FakeDiscord, DEFAULT_GUILD_ID};

const WAIT: Duration = Duration::from_secs(120);
const CHANNEL_BASE: u64 = 1_180_000_000_000_000_000;
const USER_BASE: u64 = 1_190_000_000_000_000_000;

/// One published item.
#[derive(Clone)]
struct FeedItem {
    id: String,
    title: String,
    description: String,
}

#[derive(Default)]
struct Feed {
    version: u64,
    items: Vec<FeedItem>,
}

impl Feed {
    fn publish(&mut self, new: impl IntoIterator<Item = (String, String, String)>) {
        self.version += 1;
        for (id, title, description) in new {
            self.items.push(FeedItem {
                id,
                title,
                description,
            });
        }
        // A feed lists its latest items.
        let keep = 250;
        if self.items.len() > keep {
            let cut = self.items.len() - keep;
            self.items.drain(..cut);
        }
    }

    fn rss(&self) -> String {
        let mut out = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Wire</title>\
             <link>https://wire.example/</link><description>bench</description>\n",
        );
        for (n, item) in self.items.iter().enumerate() {
            let seconds = n % 60;
            let minutes = (n / 60) % 60;
            let hours = n / 3600;
            let _ = writeln!(
                out,
                "<item><guid isPermaLink=\"false\">{id}</guid><title>{title}</title>\
                 <link>https://wire.example/story/{id}</link>\
                 <pubDate>Mon, 02 Jun 2025 {hours:02}:{minutes:02}:{seconds:02} +0000</pubDate>\
                 <description>{description}</description></item>",
                id = item.id,
                title = harness::xml_escape(&item.title),
                description = harness::xml_escape(&item.description),
            );
        }
        out.push_str("</channel></rss>\n");
        out
    }
}

/// A lower-case word only channel `c`'s subscription has: `kwaa`, `kwab`, ...
fn keyword(c: usize) -> String {
    let letter = |n: usize| char::from(b'a' + (n % 26) as u8);
    format!("kw{}{}{}", letter(c / 676), letter(c / 26), letter(c))
}

fn main() {
    let alerts = harness::env_usize("NEWSHOUND_BENCH_ALERTS", 1_000);
    let channels = harness::env_usize("NEWSHOUND_BENCH_CHANNELS", 100).max(5);
    let probes = harness::env_usize("NEWSHOUND_BENCH_PROBES", 100);
    let layout = std::env::var("NEWSHOUND_BENCH_LAYOUT").unwrap_or_else(|_| "rounds".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(alerts, channels, probes, &layout));
}

#[expect(
    clippy::too_many_lines,
    reason = "a bench run reads top to bottom as its phases: set-up, measure, report"
)]
async fn run(alerts: usize, channels: usize, probes: usize, layout: &str) {
    println!("# Delivery: {alerts} alerts for {channels} channels (layout {layout}), {probes} latency probes\n");
    println!("machine at start: {}\n", harness::machine_note());
    let fake = FakeDiscord::start_with(FakeConfig::default()).await;
    let feed = Arc::new(Mutex::new(Feed::default()));
    let vocab = gen::Vocabulary::new(20_000, 42);
    let texts = gen::items(&vocab, 64, 5);
    let text = |n: usize| {
        let t = &texts[n % texts.len()];
        let cut = (300..t.body.len())
            .find(|&i| t.body.is_char_boundary(i))
            .unwrap_or(t.body.len());
        (t.title.clone(), t.body[..cut].to_string())
    };
    feed.lock().expect("feed").publish([(
        "seed".to_string(),
        "Markets steady before the holiday".to_string(),
        text(0).1,
    )]);
    let catalog_feed = Arc::clone(&feed);
    let catalog: Arc<harness::Catalog> = Arc::new(move |path: &str| {
        (path == "/feed.xml").then(|| {
            let feed = catalog_feed.lock().expect("feed");
            (format!("v{}", feed.version), Bytes::from(feed.rss()))
        })
    });
    let server = FeedServer::start(1, catalog).await;
    server.stats.record_serves();

    let dir = harness::work_dir("delivery");
    let mut extra = format!(
        "jitter_secs = 0\n\n[defaults]\nschedule = \"* * * * * *\"\narticle_min_chars = 0\n\n\
         [discord]\napi_base_url = \"{}\"\nguild_id = {DEFAULT_GUILD_ID}\n",
        fake.base_url()
    );
    for c in 0..channels {
        let _ = write!(
            extra,
            "\n[[subscriptions]]\nuser = \"{}\"\nquery = \"{}\"\nchannel = \"{}\"\n",
            USER_BASE + c as u64,
            keyword(c),
            CHANNEL_BASE + c as u64
        );
    }
    let config = harness::write_config(
        &dir,
        &[("Wire".to_string(), server.url(0, "/feed.xml"))],
        &extra,
    );
    let db = dir.join("state/newshound.db");
    let log = dir.join("bot.log");
    let mut command = Command::new(harness::binary());
    command
        .args(["run", "--config"])
        .arg(&config)
        .env("DISCORD_TOKEN", "bench-token-value")
        .env("NEWSHOUND_LOG", "info");
    let bot = Measured::spawn(command, &log);
    fake.wait_for_identify(WAIT).await;
    fake.wait_for_registered_commands(1, WAIT).await;
    wait_for(&format!("the first poll; log {}", log.display()), || {
        harness::query_i64(&db, "SELECT count(*) FROM sources WHERE initialized = 1") >= 1
    })
    .await;

    // `run` holds every post for one channel window (5 s) after it starts, in case a previous
    // process used up the windows; phase 1 starts after that, so it measures the steady state.
    let hold = Duration::from_secs(6).saturating_sub(bot.started().elapsed());
    tokio::time::sleep(hold).await;

    // ---- phase 1: latency, one alert at a time ------------------------------------------
    let mut probe_versions = Vec::new();
    for k in 0..probes {
        let c = k % channels;
        let (title, description) = text(k + 1);
        let title = format!("Probe {k}: {title} {}", keyword(c));
        let version = {
            let mut feed = feed.lock().expect("feed");
            feed.publish([(format!("probe-{k}"), title, description)]);
            feed.version
        };
        probe_versions.push((format!("Probe {k}:"), version, Instant::now()));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    wait_for("every probe message", || fake.messages().len() >= probes).await;
    let serves = server.stats.serves();
    let messages = fake.messages();
    let mut fetch_to_post = Vec::new();
    let mut publish_to_post = Vec::new();
    for (prefix, version, published) in &probe_versions {
        let posted = messages
            .iter()
            .find(|m| harness_title(&m.body).starts_with(prefix.as_str()))
            .unwrap_or_else(|| panic!("no message for {prefix}"));
        let served = first_serve(&serves, *version)
            .unwrap_or_else(|| panic!("the feed carrying {prefix} was never served"));
        fetch_to_post.push(posted.at.saturating_duration_since(served));
        publish_to_post.push(posted.at.saturating_duration_since(*published));
    }
    let limited_phase1 = fake.rate_limited_count();

    // ---- phase 2: the drain ---------------------------------------------------------------
    let per_channel = alerts / channels;
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let mut slots: Vec<usize> = Vec::with_capacity(alerts);
    for _ in 0..per_channel {
        let mut round: Vec<usize> = (0..channels).collect();
        round.shuffle(&mut rng);
        slots.extend(round);
    }
    if layout == "random" {
        slots.shuffle(&mut rng);
    }
    let mut items = Vec::new();
    let mut chunk_start = 0;
    while chunk_start < slots.len() {
        // Five distinct channels per item (a repeat would be one alert, not two).
        let mut chosen: Vec<usize> = Vec::new();
        let mut i = chunk_start;
        while chosen.len() < 5 && i < slots.len() {
            if chosen.contains(&slots[i]) {
                let j = (i + 1..slots.len())
                    .find(|&j| !chosen.contains(&slots[j]))
                    .unwrap_or(i);
                slots.swap(i, j);
            }
            if !chosen.contains(&slots[i]) {
                chosen.push(slots[i]);
            }
            i += 1;
        }
        chunk_start = i;
        let n = items.len();
        let (title, description) = text(1_000 + n);
        let words: Vec<String> = chosen.iter().map(|&c| keyword(c)).collect();
        items.push((
            format!("bulk-{n}"),
            format!("Bulletin {n}: {title} {}", words.join(" ")),
            description,
        ));
    }
    let planned: usize = items
        .iter()
        .map(|(_, t, _)| t.split(' ').filter(|w| w.starts_with("kw")).count())
        .sum();
    let before = fake.messages().len();
    let limited_before = fake.rate_limited_count();
    let version = {
        let mut feed = feed.lock().expect("feed");
        feed.publish(items);
        feed.version
    };
    wait_for("every bulk message", || {
        fake.messages().len() >= before + planned
    })
    .await;
    let rate_limited = fake.rate_limited_count() - limited_before;
    let serves = server.stats.serves();
    let served = first_serve(&serves, version).expect("the bulk feed was served");
    let bulk: Vec<_> = fake.messages().into_iter().skip(before).collect();
    let first = bulk.iter().map(|m| m.at).min().expect("bulk messages");
    let last = bulk.iter().map(|m| m.at).max().expect("bulk messages");
    let bulk_latency: Vec<Duration> = bulk
        .iter()
        .map(|m| m.at.saturating_duration_since(served))
        .collect();
    let mut per_channel_count = std::collections::HashMap::new();
    for m in &bulk {
        *per_channel_count.entry(m.channel_id).or_insert(0_usize) += 1;
    }
    let max_in_channel = per_channel_count.values().copied().max().unwrap_or(0);
    // The minimum under the two limits, from the first POST: the global window lets 50
    // through per rolling second, a channel 5 per rolling 5 s.
    let global_min = Duration::from_secs((planned.div_ceil(50) as u64).saturating_sub(1));
    let channel_min =
        Duration::from_secs(5 * (max_in_channel.div_ceil(5) as u64).saturating_sub(1));
    let theoretical = global_min.max(channel_min);
    let drain = last.duration_since(first);
    let from_fetch = last.saturating_duration_since(served);
    let nothing_twice = {
        let mut seen = std::collections::HashSet::new();
        bulk.iter()
            .all(|m| seen.insert((m.channel_id, harness_title(&m.body))))
    };
    bot.kill();

    println!("## Phase 1: latency, not rate-limited ({probes} alerts, one every 250 ms, one per channel)\n");
    println!(
        "{}",
        table(
            &["measure", "p50", "p99", "max"],
            &[
                vec![
                    "fetch finished -> message POST".into(),
                    millis(percentile(&fetch_to_post, 50.0)),
                    millis(percentile(&fetch_to_post, 99.0)),
                    millis(percentile(&fetch_to_post, 100.0)),
                ],
                vec![
                    "published -> message POST (includes waiting for the 1 s poll)".into(),
                    millis(percentile(&publish_to_post, 50.0)),
                    millis(percentile(&publish_to_post, 99.0)),
                    millis(percentile(&publish_to_post, 100.0)),
                ],
            ]
        )
    );
    println!("429s provoked in phase 1: {limited_phase1}\n");
    println!("## Phase 2: drain of {planned} alerts in one poll ({} items x 5 channels, at most {max_in_channel} per channel)\n", planned / 5);
    println!(
        "{}",
        table(
            &["measure", "value"],
            &[
                vec!["first POST -> last POST (drain)".into(), secs(drain)],
                vec![
                    "theoretical minimum (50/s overall, 5/5 s per channel)".into(),
                    secs(theoretical)
                ],
                vec![
                    "drain / minimum".into(),
                    format!(
                        "{:.3} ({:+.1}%)",
                        drain.as_secs_f64() / theoretical.as_secs_f64().max(1e-9),
                        (drain.as_secs_f64() / theoretical.as_secs_f64().max(1e-9) - 1.0) * 100.0
                    )
                ],
                vec!["fetch finished -> last POST".into(), secs(from_fetch)],
                vec![
                    "fetch finished -> first POST".into(),
                    millis(first.saturating_duration_since(served))
                ],
                vec!["messages accepted".into(), bulk.len().to_string()],
                vec!["posted twice".into(), (!nothing_twice).to_string()],
                vec!["429s provoked".into(), rate_limited.to_string()],
                vec![
                    "fetch finished -> POST, p50 / p99 (rate-limited)".into(),
                    format!(
                        "{} / {}",
                        secs(percentile(&bulk_latency, 50.0)),
                        secs(percentile(&bulk_latency, 99.0))
                    )
                ],
            ]
        )
    );
    println!("targets: drain within 10% of the minimum, 0 429s, p99 fetch -> POST < 1 s when not rate-limited");
    println!("machine at end: {}", harness::machine_note());
    assert_eq!(bulk.len(), planned, "every alert delivered once");
}

/// The first time the server handed out a feed of version `version` or later.
fn first_serve(serves: &[harness::Served], version: u64) -> Option<Instant> {
    serves
        .iter()
        .filter(|s| {
            s.etag
                .strip_prefix('v')
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|v| v >= version)
        })
        .map(|s| s.at)
        .min()
}

fn harness_title(body: &serde_json::Value) -> String {
    body["embeds"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits (bounded by [`WAIT`]) until `done`; panics naming `what` otherwise.
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
