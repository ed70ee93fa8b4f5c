//! Routing at scale (issue 11): one `once` pass in which 1,000 new items each match hundreds
//! of 100,000 subscriptions, held by 20,000 members who all have a time zone and an hourly
//! cap (so every pair goes through the settings, the hourly count and, past the cap, a
//! digest hold). The same pass with subscriptions that match nothing is the control; the
//! difference divided by the (item, subscriber) pairs is the routing cost per pair.
//!
//! Then the same burst polled by `newshound run` against the fake Discord of `tests/support`,
//! with a slash command sent every 250 ms (alternately `/subscriptions`, a read, and
//! `/subscribe`, a write that also rebuilds the member's part of the matcher): its reply time,
//! from the dispatch on the gateway to the interaction callback at the fake, while idle and
//! while the burst is routed (from writing the burst until its alerts are in the outbox).
//! `NEWSHOUND_BENCH_COMMANDS=0` skips this phase.
//!
//! `cargo bench --bench routing`. Measure another build with the same data:
//! `NEWSHOUND_BENCH_BINARY=/path/to/old/newshound cargo bench --bench routing`.
//! Environment: `NEWSHOUND_BENCH_ITEMS` (1000), `NEWSHOUND_BENCH_SUBSCRIPTIONS` (100000),
//! `NEWSHOUND_BENCH_MEMBERS` (20000), `NEWSHOUND_BENCH_TOPICS` (500).

#[path = "gen/mod.rs"]
mod gen;
#[path = "macro/mod.rs"]
mod harness;
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::{env_usize, mib, millis, percentile, secs, table, Measured};
use support::discord_payloads::Interaction;
use support::fake_discord::{FakeConfig, FakeDiscord};

const WAIT: Duration = Duration::from_secs(900);
const CHANNELS: usize = 10;
const HOURLY_CAP: u32 = 3;

/// A made-up word for topic `i` ("zqa", "zqb", ...): letters only, so the matcher sees one
/// word, and never an English one.
fn topic(i: usize) -> String {
    let mut word = String::from("zq");
    let mut n = i;
    loop {
        word.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            return word;
        }
    }
}

struct Shape {
    items: usize,
    subscriptions: usize,
    members: usize,
    topics: usize,
}

impl Shape {
    /// Subscription `j`'s member: spread so that one topic's subscribers are all different.
    fn member(&self, j: usize) -> usize {
        (j * 7919) % self.members
    }

    fn topic_of(&self, j: usize) -> usize {
        j * self.topics / self.subscriptions
    }

    /// The two topics item `i` mentions.
    fn item_topics(&self, i: usize) -> [usize; 2] {
        [(2 * i) % self.topics, (2 * i + 1) % self.topics]
    }

    /// (item, subscriber) pairs: for every item, the distinct members whose subscriptions
    /// match it.
    fn pairs(&self) -> usize {
        let mut by_topic: Vec<Vec<usize>> = vec![Vec::new(); self.topics];
        for j in 0..self.subscriptions {
            by_topic[self.topic_of(j)].push(self.member(j));
        }
        (0..self.items)
            .map(|i| {
                let members: HashSet<usize> = self
                    .item_topics(i)
                    .iter()
                    .flat_map(|t| by_topic[*t].iter().copied())
                    .collect();
                members.len()
            })
            .sum()
    }
}

/// The database with the subscriptions (matching ones, or `control`: words no item has) and
/// every member's settings.
fn seed(db: &Path, shape: &Shape, control: bool) {
    harness::seed_subscriptions(db, 0, 1);
    let mut conn = rusqlite::Connection::open(db).expect("open the database");
    let tx = conn.transaction().expect("transaction");
    {
        let mut sub = tx
            .prepare(
                "INSERT INTO subscriptions (origin, user, query, target, guild_id, created_at, kind)
                 VALUES ('discord', ?1, ?2, ?3, ?4, '2025-06-01T00:00:00.000Z', 'member')",
            )
            .expect("prepare");
        for j in 0..shape.subscriptions {
            let m = shape.member(j);
            let query = if control {
                format!("{}none", topic(shape.topic_of(j)))
            } else {
                topic(shape.topic_of(j))
            };
            sub.execute(rusqlite::params![
                (1_300_000_000_000_000_000_u64 + m as u64).to_string(),
                query,
                format!(
                    "channel:{}",
                    1_400_000_000_000_000_000_u64 + (m % CHANNELS) as u64
                ),
                (1_200_000_000_000_000_000_u64 + (m % 100) as u64).to_string()
            ])
            .expect("insert a subscription");
        }
        let mut member = tx
            .prepare(
                "INSERT INTO members (guild_id, user_id, timezone, hourly_cap) VALUES (?1, ?2, 'Europe/Paris', ?3)",
            )
            .expect("prepare");
        for m in 0..shape.members {
            member
                .execute(rusqlite::params![
                    (1_200_000_000_000_000_000_u64 + (m % 100) as u64).to_string(),
                    (1_300_000_000_000_000_000_u64 + m as u64).to_string(),
                    HOURLY_CAP
                ])
                .expect("insert a member");
        }
    }
    tx.commit().expect("commit");
}

fn feed(shape: &Shape, items: std::ops::Range<usize>) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Burst</title><link>https://burst.example/</link><description>d</description>\n",
    );
    for i in items {
        let [a, b] = shape.item_topics(i);
        let (a, b) = (topic(a), topic(b));
        let _ = writeln!(
            out,
            "<item><guid>b{i}</guid><title>Report {i} on {a} and {b}</title><link>https://burst.example/{i}</link>\
             <description>The {a} committee met the {b} delegation on Tuesday. Both sides said the talks went well, \
             and a second round is planned for next month in Geneva.</description></item>"
        );
    }
    out.push_str("</channel></rss>\n");
    out
}

/// One measured `once` over `items` new items; returns its usage and its stderr summary.
fn burst(shape: &Shape, control: bool) -> (harness::Usage, String) {
    let dir = harness::work_dir(if control {
        "routing-control"
    } else {
        "routing"
    });
    seed(&dir.join("state/newshound.db"), shape, control);
    let feed_path = dir.join("burst.xml");
    std::fs::write(&feed_path, feed(shape, 0..0)).expect("write the feed");
    let config = harness::write_config(
        &dir,
        &[("Burst".into(), feed_path.display().to_string())],
        "",
    );
    let once = |log: &str| {
        let mut command = Command::new(harness::binary());
        command
            .args([
                "once",
                "--config",
                config.to_str().unwrap_or_default(),
                "--output",
                "json",
            ])
            .env_remove("DISCORD_TOKEN")
            .env("NEWSHOUND_LOG", "warn");
        Measured::spawn(command, &dir.join(log)).wait(WAIT)
    };
    let (status, _) = once("baseline.log");
    assert!(
        status.success(),
        "the baseline run failed; see {}",
        dir.display()
    );
    std::fs::write(&feed_path, feed(shape, 0..shape.items)).expect("write the feed");
    let (status, usage) = once("burst.log");
    assert!(
        status.success(),
        "the burst run failed; see {}",
        dir.display()
    );
    let log = std::fs::read_to_string(dir.join("burst.log")).unwrap_or_default();
    let summary = log
        .lines()
        .filter(|l| !l.starts_with('{'))
        .collect::<Vec<_>>()
        .join(" / ");
    (usage, summary)
}

fn main() {
    let shape = Shape {
        items: env_usize("NEWSHOUND_BENCH_ITEMS", 1000),
        subscriptions: env_usize("NEWSHOUND_BENCH_SUBSCRIPTIONS", 100_000),
        members: env_usize("NEWSHOUND_BENCH_MEMBERS", 20_000),
        topics: env_usize("NEWSHOUND_BENCH_TOPICS", 500),
    };
    let pairs = shape.pairs();
    println!(
        "routing: {} items, {} subscriptions of {} members (time zone + hourly cap {HOURLY_CAP}), {} topics; {pairs} (item, subscriber) pairs ({} per item)\nbinary: {}\n{}",
        shape.items,
        shape.subscriptions,
        shape.members,
        shape.topics,
        pairs / shape.items.max(1),
        harness::binary(),
        harness::machine_note()
    );
    let (control, control_summary) = burst(&shape, true);
    let (matched, matched_summary) = burst(&shape, false);
    let per_pair = |a: Duration, b: Duration| {
        let extra = a.saturating_sub(b);
        format!("{:.2} µs", extra.as_secs_f64() * 1e6 / pairs.max(1) as f64)
    };
    let rows = vec![
        vec![
            "control (nothing matches)".into(),
            secs(control.wall),
            secs(control.cpu()),
            mib(control.peak_rss_kib),
            "-".into(),
            "-".into(),
        ],
        vec![
            "burst".into(),
            secs(matched.wall),
            secs(matched.cpu()),
            mib(matched.peak_rss_kib),
            per_pair(matched.wall, control.wall),
            per_pair(matched.cpu(), control.cpu()),
        ],
    ];
    println!(
        "{}",
        table(
            &[
                "run",
                "wall",
                "CPU",
                "peak RSS",
                "wall per pair",
                "CPU per pair"
            ],
            &rows
        )
    );
    println!("control: {control_summary}\nburst: {matched_summary}");
    if std::env::var("NEWSHOUND_BENCH_COMMANDS").as_deref() == Ok("0") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let replies = runtime.block_on(commands_during_burst(&shape));
    let rows: Vec<Vec<String>> = replies
        .iter()
        .map(|(phase, times)| {
            vec![
                phase.clone(),
                times.len().to_string(),
                millis(percentile(times, 50.0)),
                millis(percentile(times, 99.0)),
                millis(percentile(times, 100.0)),
            ]
        })
        .collect();
    println!(
        "\nslash-command reply time (dispatch -> callback), `run` against the fake Discord\n{}",
        table(&["while", "commands", "p50", "p99", "max"], &rows)
    );
}

const GUILD: u64 = 1_200_000_000_000_000_000;
const MEMBER: u64 = 1_300_000_000_000_000_000;
const COMMAND_EVERY: Duration = Duration::from_millis(250);

/// One slash command (`k` even: `/subscriptions`, odd: `/subscribe`) and its reply time.
async fn command_reply(fake: &FakeDiscord, k: usize) -> Duration {
    let builder = if k % 2 == 0 {
        Interaction::command("subscriptions")
    } else {
        Interaction::command("subscribe").string_option("query", &format!("zzcmd{k}"))
    };
    let payload = builder
        .guild(GUILD)
        .channel(1_400_000_000_000_000_000)
        .member(MEMBER, 0)
        .build();
    let sent = Instant::now();
    let id = fake.dispatch_interaction(payload);
    loop {
        if fake
            .interaction_responses()
            .iter()
            .any(|r| r.interaction_id == id && r.callback.is_some())
        {
            return sent.elapsed();
        }
        assert!(
            sent.elapsed() < Duration::from_secs(30),
            "no reply to command {k} in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Reply times while idle and while `run` routes the burst.
async fn commands_during_burst(shape: &Shape) -> Vec<(String, Vec<Duration>)> {
    let fake = FakeDiscord::start_with(FakeConfig::default()).await;
    let dir = harness::work_dir("routing-commands");
    let db = dir.join("state/newshound.db");
    seed(&db, shape, false);
    let feed_path = dir.join("burst.xml");
    std::fs::write(&feed_path, feed(shape, 0..0)).expect("write the feed");
    let config = harness::write_config(
        &dir,
        &[("Burst".into(), feed_path.display().to_string())],
        &format!(
            "jitter_secs = 0\n\n[defaults]\nschedule = \"* * * * * *\"\n\n\
             [discord]\napi_base_url = \"{}\"\nguild_id = {GUILD}\n",
            fake.base_url()
        ),
    );
    let mut command = Command::new(harness::binary());
    command
        .args(["run", "--config"])
        .arg(&config)
        .env("DISCORD_TOKEN", "bench-token-value")
        .env("NEWSHOUND_LOG", "warn");
    let bot = Measured::spawn(command, &dir.join("run.log"));
    fake.wait_for_identify(WAIT).await;
    fake.wait_for_registered_commands(1, WAIT).await;
    let started = Instant::now();
    while harness::query_i64(&db, "SELECT count(*) FROM sources WHERE initialized = 1") == 0 {
        assert!(
            started.elapsed() < WAIT,
            "no baseline poll; see {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut idle = Vec::new();
    for k in 0..20 {
        idle.push(command_reply(&fake, k).await);
        tokio::time::sleep(COMMAND_EVERY).await;
    }
    std::fs::write(&feed_path, feed(shape, 0..shape.items)).expect("write the feed");
    let burst_started = Instant::now();
    let mut during = Vec::new();
    let mut k = 1000;
    while harness::query_i64(&db, "SELECT count(*) FROM outbox") == 0 {
        assert!(
            burst_started.elapsed() < WAIT,
            "the burst never reached the outbox; see {}",
            dir.display()
        );
        during.push(command_reply(&fake, k).await);
        k += 1;
        tokio::time::sleep(COMMAND_EVERY).await;
    }
    let routed_in = burst_started.elapsed();
    bot.kill();
    vec![
        ("idle".to_string(), idle),
        (
            format!(
                "the burst is routed ({} from writing it to its alerts in the outbox)",
                secs(routed_in)
            ),
            during,
        ),
    ]
}
