//! Matching at scale (issue #6, target 1): newshound's compiled matcher side by side with the
//! limit (a bare Aho-Corasick scan of the same texts for the same patterns) and the naive loop
//! (every query checked against every item), at 10k, 100k and 1M subscriptions.
//!
//! `cargo bench --bench matching` prints the scale report (one child process per scale, so
//! memory figures do not mix), then runs criterion on the per-item figures. Environment:
//! `NEWSHOUND_BENCH_SCALES=10000,100000` picks the scales; `NEWSHOUND_BENCH_CRITERION=0` skips
//! the criterion part.

#[path = "gen/mod.rs"]
mod gen;

use std::collections::HashSet;
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use criterion::{BenchmarkId, Criterion, Throughput};
use newshound::core::matcher::{Document, IncrementalMatcher, Matcher};
use newshound::core::query::{self, Query, Term};
use newshound::store::SubscriptionRow;
use newshound::subscriptions::SubscriptionSet;

const VOCABULARY: usize = 500_000;
/// The same items at every scale, so the curve compares like with like.
const ITEMS: usize = 1_000;
const DEFAULT_SCALES: &str = "10000,100000,1000000";
const CHILD_VAR: &str = "NEWSHOUND_BENCH_CHILD";

fn main() {
    if let Ok(scale) = std::env::var(CHILD_VAR) {
        let scale = scale.parse().expect("child scale is a number");
        run_scale(scale);
        return;
    }
    let scales = scales();
    let workload = if common_workload() {
        "common words in phrases and exclusions (`NEWSHOUND_BENCH_WORKLOAD=common`)"
    } else {
        "the first generator"
    };
    println!(
        "# Matching at scale (items of 1-2 KB, vocabulary {VOCABULARY}; workload: {workload})\n"
    );
    let mut rows = Vec::new();
    for &scale in &scales {
        let output = Command::new(std::env::current_exe().expect("own path"))
            .env(CHILD_VAR, scale.to_string())
            .output()
            .expect("run the scale in a child process");
        assert!(
            output.status.success(),
            "scale {scale} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        rows.push(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    for (title, prefix) in [
        ("Workload: matched subscriptions per item", "W|"),
        ("Build and memory", "B|"),
        ("Per-item match time, side by side", "M|"),
        ("Adding / removing one subscription", "A|"),
    ] {
        println!("## {title}\n");
        for (n, line) in rows
            .iter()
            .enumerate()
            .flat_map(|(n, r)| r.lines().map(move |l| (n, l)))
        {
            if let Some(row) = line.strip_prefix(prefix) {
                if let Some(head) = row.strip_prefix("H|") {
                    if n == 0 {
                        println!("{head}");
                    }
                } else {
                    println!("{row}");
                }
            }
        }
        println!();
    }
    if std::env::var("NEWSHOUND_BENCH_CRITERION").as_deref() != Ok("0") {
        criterion_part(&scales);
    }
}

fn scales() -> Vec<usize> {
    std::env::var("NEWSHOUND_BENCH_SCALES")
        .unwrap_or_else(|_| DEFAULT_SCALES.to_string())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("NEWSHOUND_BENCH_SCALES: comma-separated numbers")
        })
        .collect()
}

/// The data every measurement of one scale shares.
struct Data {
    items: Vec<gen::Item>,
    queries: Vec<String>,
}

/// `NEWSHOUND_BENCH_WORKLOAD=common`: the second workload (`gen::subscriptions_common`),
/// phrases and exclusions on the commonest words; else the first.
fn common_workload() -> bool {
    std::env::var("NEWSHOUND_BENCH_WORKLOAD").as_deref() == Ok("common")
}

fn data(scale: usize) -> Data {
    let vocab = gen::Vocabulary::new(VOCABULARY, 1);
    let items = gen::items(&vocab, ITEMS, 2);
    let generate = if common_workload() {
        gen::subscriptions_common
    } else {
        gen::subscriptions
    };
    let queries = generate(&vocab, scale, 3)
        .into_iter()
        .map(|s| s.query)
        .collect();
    Data { items, queries }
}

fn parse_all(queries: &[String]) -> Vec<Query> {
    queries
        .iter()
        .map(|q| query::parse(q).expect("generated queries parse"))
        .collect()
}

/// One scale, in a fresh process: prints table rows prefixed `B|`, `M|`, `A|`.
#[expect(
    clippy::too_many_lines,
    reason = "a bench run reads top to bottom as its phases: set-up, measure, report"
)]
fn run_scale(scale: usize) {
    let data = data(scale);
    let members = scale / 10;
    let rss_before = proc_status_kib("VmRSS");

    let started = Instant::now();
    let parsed = parse_all(&data.queries);
    let parse_time = started.elapsed();
    let peak_before_build = proc_status_kib("VmHWM");
    // Reset the peak to the current RSS, so the next reading is the build's own peak (Linux).
    let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_before_build = proc_status_kib("VmRSS");
    let started = Instant::now();
    let matcher = Matcher::new(parsed.into_iter().enumerate());
    let build_time = started.elapsed();
    let rss_after = proc_status_kib("VmRSS");
    let build_peak = proc_status_kib("VmHWM");
    let peak = build_peak.max(peak_before_build);
    let build_peak_growth = if peak_reset {
        format!(
            "{:.1} MB",
            build_peak.saturating_sub(rss_before_build) as f64 / 1024.0
        )
    } else {
        "n/a".to_string()
    };

    println!("B|H|| subscriptions | members | items | parse queries | build matcher | heap held (estimate) | RSS growth | peak RSS of process | build peak above its start RSS |");
    println!("B|H||---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "B|| {scale} | {members} | {} | {} | {} | {:.1} MB | {:.1} MB | {:.1} MB | {build_peak_growth} |",
        data.items.len(),
        fmt_duration(parse_time),
        fmt_duration(build_time),
        matcher.heap_bytes() as f64 / 1e6,
        rss_after.saturating_sub(rss_before) as f64 / 1024.0,
        peak as f64 / 1024.0,
    );

    // The compiled matcher, item by item.
    let mut per_item_matches = Vec::with_capacity(data.items.len());
    let (matcher_times, matched) = time_each(&data.items, |item| {
        let found = black_box(matcher.match_document(black_box(&doc(item)))).len();
        per_item_matches.push(found);
        found
    });
    workload_row(scale, &per_item_matches, matcher.distinct_queries());

    // The matching itself: the distinct queries found, each with its matched terms and its
    // subscriptions' keys as a slice (nothing done per subscription).
    let (find_times, distinct_found) = time_each(&data.items, |item| {
        black_box(matcher.find_matches(black_box(&doc(item)))).len()
    });

    // Matching + visiting every key: which subscriptions match (every one visited with its
    // matched terms), without building the per-subscription output vector.
    let (core_times, _) = time_each(&data.items, |item| {
        let mut visited = 0usize;
        matcher.for_each_match(black_box(&doc(item)), |key, terms| {
            black_box((key, terms));
            visited += 1;
        });
        visited
    });

    // (a) The limit: one bare overlapping scan of the lower-cased text for the same patterns.
    let queries = parse_all(&data.queries);
    let bare = bare_automaton(&queries);
    let lowered: Vec<String> = data
        .items
        .iter()
        .map(|item| format!("{}\n{}", item.title, item.body).to_lowercase())
        .collect();
    let (bare_times, _) = time_each(&lowered, |text| {
        bare.find_overlapping_iter(black_box(text.as_str())).count()
    });

    // (b) The naive loop: every query against every item. Too slow for all items at scale, so
    // measured on a sample (the first `sample` items).
    let naive = NaiveQueries::new(&queries);
    let sample = (2_000_000 / scale).clamp(5, 200).min(data.items.len());
    let sample_matched: usize = data.items[..sample]
        .iter()
        .map(|item| matcher.match_document(&doc(item)).len())
        .sum();
    let (naive_times, naive_matched) = time_each(&data.items[..sample], |item| {
        black_box(naive.match_item(black_box(item)))
    });

    let bytes: usize = data
        .items
        .iter()
        .map(|i| i.title.len() + i.body.len())
        .sum();
    let total = |t: &[Duration]| t.iter().sum::<Duration>();
    let matcher_total = total(&matcher_times);
    let bare_total = total(&bare_times);
    let per_item = |t: &[Duration]| total(t) / t.len() as u32;
    let naive_mean = per_item(&naive_times);
    let core_total = total(&core_times);
    let find_total = total(&find_times);
    println!("M|H|| subscriptions | bare scan median | bare MB/s | find_matches median | find_matches p99 | find_matches MB/s | **find_matches / bare** | distinct queries/item (mean) | for_each_match median | for_each_match p99 | for_each_match MB/s | **for_each_match / bare** | match_document median | match_document p99 | match_document MB/s | match_document / bare | keys/item (mean) | naive mean (sample) | naive / find_matches (mean) | naive / for_each_match (mean) | naive / match_document (mean) |");
    println!("M|H||---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "M|| {scale} | {} | {:.1} | {} | {} | {:.1} | {:.0}% | {:.0} | {} | {} | {:.1} | {:.0}% | {} | {} | {:.1} | {:.0}% | {:.0} | {} ({sample} items) | {:.0}x | {:.0}x | {:.0}x |",
        fmt_duration(percentile(&bare_times, 50)),
        bytes as f64 / 1e6 / bare_total.as_secs_f64(),
        fmt_duration(percentile(&find_times, 50)),
        fmt_duration(percentile(&find_times, 99)),
        bytes as f64 / 1e6 / find_total.as_secs_f64(),
        100.0 * bare_total.as_secs_f64() / find_total.as_secs_f64(),
        distinct_found as f64 / data.items.len() as f64,
        fmt_duration(percentile(&core_times, 50)),
        fmt_duration(percentile(&core_times, 99)),
        bytes as f64 / 1e6 / core_total.as_secs_f64(),
        100.0 * bare_total.as_secs_f64() / core_total.as_secs_f64(),
        fmt_duration(percentile(&matcher_times, 50)),
        fmt_duration(percentile(&matcher_times, 99)),
        bytes as f64 / 1e6 / matcher_total.as_secs_f64(),
        100.0 * bare_total.as_secs_f64() / matcher_total.as_secs_f64(),
        matched as f64 / data.items.len() as f64,
        fmt_duration(naive_mean),
        naive_mean.as_secs_f64() / per_item(&find_times).as_secs_f64(),
        naive_mean.as_secs_f64() / per_item(&core_times).as_secs_f64(),
        naive_mean.as_secs_f64() / per_item(&matcher_times).as_secs_f64(),
    );
    eprintln!(
        "scale {scale}: sample matches naive {naive_matched} vs matcher {sample_matched} \
         (naive ignores the case rule and sentence breaks, so it may find more)"
    );

    add_remove(scale, &data, build_time + parse_time);
}

/// How many subscriptions each item matches (the distribution the whole report depends on).
fn workload_row(scale: usize, per_item: &[usize], distinct_queries: usize) {
    let mut sorted = per_item.to_vec();
    sorted.sort_unstable();
    let at = |p: usize| sorted[(sorted.len() * p).div_ceil(100).clamp(1, sorted.len()) - 1];
    let share = |n: usize| 100.0 * n as f64 / scale as f64;
    let mean = per_item.iter().sum::<usize>() as f64 / per_item.len().max(1) as f64;
    let none = per_item.iter().filter(|&&n| n == 0).count();
    println!("W|H|| subscriptions | distinct queries | items | matched per item: median | p90 | p99 | max | mean | median share | p99 share | items matching nothing |");
    println!("W|H||---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "W|| {scale} | {} | {} | {} | {} | {} | {} | {mean:.0} | {:.3}% | {:.2}% | {none} |",
        distinct_queries,
        per_item.len(),
        at(50),
        at(90),
        at(99),
        sorted.last().copied().unwrap_or(0),
        share(at(50)),
        share(at(99)),
    );
}

/// Adding or removing one subscription: a full rebuild (what a plain [`Matcher`] needs) against
/// the incremental matcher's side-matcher for recent changes.
fn add_remove(scale: usize, data: &Data, full_rebuild: Duration) {
    let parsed = parse_all(&data.queries);
    let mut incremental = IncrementalMatcher::new(parsed.into_iter().enumerate());
    let extra = query::parse("\"Brand New\" OR Newshound").expect("valid");
    // Steady state: a few hundred recent changes pending in the side matcher.
    for i in 0..200 {
        incremental
            .add(scale + i, extra.clone())
            .expect("small side matcher");
    }
    let rounds = 50;
    let started = Instant::now();
    for i in 0..rounds {
        incremental
            .add(scale + 1_000 + i, extra.clone())
            .expect("small side matcher");
    }
    let add = started.elapsed() / rounds as u32;
    let started = Instant::now();
    for i in 0..rounds {
        incremental.remove(&(i * 7)).expect("small side matcher");
    }
    let remove = started.elapsed() / rounds as u32;
    let started = Instant::now();
    for item in &data.items {
        black_box(incremental.match_document(&Document {
            title: &item.title,
            body: &item.body,
        }));
    }
    let with_pending = started.elapsed() / data.items.len() as u32;
    drop(incremental);

    // The same through the live `SubscriptionSet`, the way `reload_subscriptions` uses it: the
    // stored rows come in, the difference by id is applied (this includes comparing every row).
    let rows: Vec<SubscriptionRow> = data
        .queries
        .iter()
        .enumerate()
        .map(|(i, q)| row(i as i64, q))
        .collect();
    let started = Instant::now();
    let (set, _) = SubscriptionSet::new(rows.clone());
    let set_build = started.elapsed();
    // Steady state: 200 additions pending.
    let mut current: Vec<SubscriptionRow> = rows;
    current.extend((0..200).map(|i| row((scale + i) as i64, "\"Brand New\" OR Newshound")));
    let (set, _) = set.updated(current.clone());
    let mut one_more = current.clone();
    one_more.push(row((scale + 1_000) as i64, "Newshound -horoscope"));
    let started = Instant::now();
    let (added, _) = set.updated(one_more);
    let set_add = started.elapsed();
    let mut one_less = current;
    one_less.remove(7);
    let started = Instant::now();
    let (removed, _) = set.updated(one_less);
    let set_remove = started.elapsed();
    assert_eq!(added.len(), set.len() + 1);
    assert_eq!(removed.len(), set.len() - 1);
    let started = Instant::now();
    for item in &data.items {
        black_box(added.matches_for(&item.title, &item.body, None));
    }
    let set_per_item = started.elapsed() / data.items.len() as u32;

    println!("A|H|| subscriptions | full rebuild (parse + build) | IncrementalMatcher add | IncrementalMatcher remove | match/item with 250 pending changes (mean) | SubscriptionSet::new (full) | SubscriptionSet::updated, one added row | one removed row | matches_for per item (mean) |");
    println!("A|H||---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "A|| {scale} | {} | {} | {} | {} | {} | {} | {} | {} |",
        fmt_duration(full_rebuild),
        fmt_duration(add),
        fmt_duration(remove),
        fmt_duration(with_pending),
        fmt_duration(set_build),
        fmt_duration(set_add),
        fmt_duration(set_remove),
        fmt_duration(set_per_item),
    );
}

fn row(id: i64, query: &str) -> SubscriptionRow {
    SubscriptionRow {
        id,
        origin: "discord".into(),
        user: format!("{}", 100_000_000 + id / 10),
        query: query.to_string(),
        target: format!("channel:{}", id % 5_000),
        guild_id: Some(format!("{}", id % 2_000)),
        ..SubscriptionRow::default()
    }
}

/// Every folded pattern the queries use (words joined by spaces, lower-cased), compiled the
/// way newshound compiles its own: one overlapping automaton.
fn bare_automaton(queries: &[Query]) -> AhoCorasick {
    let patterns: HashSet<String> = queries
        .iter()
        .flat_map(|q| q.positive_terms().chain(q.exclusions()))
        .map(|t| t.words().join(" ").to_lowercase())
        .collect();
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .build(patterns)
        .expect("bare automaton builds")
}

/// The naive approach: for every item, every query, every term: a whole-word substring search
/// of the lower-cased text. Terms are lower-cased once up front (the best case for it).
struct NaiveQueries {
    queries: Vec<NaiveQuery>,
}

struct NaiveQuery {
    groups: Vec<Vec<NaiveTerm>>,
    exclusions: Vec<NaiveTerm>,
}

struct NaiveTerm {
    needle: String,
    prefix: bool,
    title_only: bool,
}

impl NaiveTerm {
    fn new(term: &Term) -> Self {
        Self {
            needle: term.words().join(" ").to_lowercase(),
            prefix: term.is_prefix(),
            title_only: term.is_title_only(),
        }
    }

    fn found(&self, title: &str, all: &str) -> bool {
        let text = if self.title_only { title } else { all };
        text.match_indices(self.needle.as_str()).any(|(at, m)| {
            let before = text[..at].chars().next_back();
            let after = text[at + m.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric)
                && (self.prefix || !after.is_some_and(char::is_alphanumeric))
        })
    }
}

impl NaiveQueries {
    fn new(queries: &[Query]) -> Self {
        Self {
            queries: queries
                .iter()
                .map(|q| NaiveQuery {
                    groups: q
                        .groups()
                        .iter()
                        .map(|g| g.iter().map(NaiveTerm::new).collect())
                        .collect(),
                    exclusions: q.exclusions().iter().map(NaiveTerm::new).collect(),
                })
                .collect(),
        }
    }

    /// How many queries match the item.
    fn match_item(&self, item: &gen::Item) -> usize {
        let title = item.title.to_lowercase();
        let all = format!("{title}\n{}", item.body.to_lowercase());
        self.queries
            .iter()
            .filter(|q| {
                q.groups
                    .iter()
                    .all(|g| g.iter().any(|t| t.found(&title, &all)))
                    && !q.exclusions.iter().any(|t| t.found(&title, &all))
            })
            .count()
    }
}

/// Criterion on the per-item figures: matcher and bare scan for each scale.
fn criterion_part(scales: &[usize]) {
    let mut criterion = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let mut group = criterion.benchmark_group("match_items");
    for &scale in scales {
        let data = data(scale);
        let matcher = Matcher::new(parse_all(&data.queries).into_iter().enumerate());
        let bare = bare_automaton(&parse_all(&data.queries));
        let lowered: Vec<String> = data
            .items
            .iter()
            .map(|item| format!("{}\n{}", item.title, item.body).to_lowercase())
            .collect();
        let bytes: usize = lowered.iter().map(String::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(
            BenchmarkId::new("matcher", scale),
            &data.items,
            |b, items| {
                b.iter(|| {
                    items
                        .iter()
                        .map(|item| {
                            matcher
                                .match_document(&Document {
                                    title: &item.title,
                                    body: &item.body,
                                })
                                .len()
                        })
                        .sum::<usize>()
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("find_matches", scale),
            &data.items,
            |b, items| {
                b.iter(|| {
                    items
                        .iter()
                        .map(|item| {
                            matcher
                                .find_matches(&Document {
                                    title: &item.title,
                                    body: &item.body,
                                })
                                .len()
                        })
                        .sum::<usize>()
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("bare_scan", scale),
            &lowered,
            |b, texts| {
                b.iter(|| {
                    texts
                        .iter()
                        .map(|t| bare.find_overlapping_iter(t.as_str()).count())
                        .sum::<usize>()
                });
            },
        );
    }
    group.finish();
    criterion.final_summary();
}

fn percentile(times: &[Duration], p: usize) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let rank = (sorted.len() * p).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

/// A `/proc/self/status` figure in KiB (0 where /proc is missing).
fn proc_status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix(key)?.strip_prefix(':')?;
                rest.trim().trim_end_matches("kB").trim().parse().ok()
            })
        })
        .unwrap_or(0)
}

/// Times `f` on each item (one `Instant` pair around each call); returns the times and the
/// sum of what `f` counted.
fn time_each<T>(items: &[T], mut f: impl FnMut(&T) -> usize) -> (Vec<Duration>, usize) {
    let mut counted = 0;
    let times = items
        .iter()
        .map(|item| {
            let started = Instant::now();
            let n = black_box(f(item));
            let elapsed = started.elapsed();
            counted += n;
            elapsed
        })
        .collect();
    (times, counted)
}

fn doc(item: &gen::Item) -> Document<'_> {
    Document {
        title: &item.title,
        body: &item.body,
    }
}
