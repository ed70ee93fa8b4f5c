//! Parsing (issue #6, target 2): newshound's `parse_feed` (clean-up + feed-rs + mapping to
//! items) on generated real-world-shaped RSS, Atom and JSON Feed documents of 10 KB to 2 MB,
//! side by side with Python feedparser on the very same files in the same run.
//!
//! `cargo bench --bench parsing` writes the feeds under the target directory, times
//! newshound, runs `benches/feedparser_bench.py` on the same directory (skipped with a note
//! when `python3` or feedparser is missing), prints the table with the ratio, then runs
//! criterion on the 100 KB files. `NEWSHOUND_BENCH_CRITERION=0` skips the criterion part.

#[path = "gen/mod.rs"]
mod gen;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use newshound::sources::parse::parse_feed;

const SIZES: [(usize, &str); 4] = [
    (10_000, "010k"),
    (100_000, "100k"),
    (500_000, "500k"),
    (2_000_000, "2000k"),
];
const FORMATS: [gen::Format; 3] = [gen::Format::Rss, gen::Format::Atom, gen::Format::JsonFeed];
const MIN_SECONDS: f64 = 1.0;

fn content_type(format: gen::Format) -> &'static str {
    match format {
        gen::Format::Rss => "application/rss+xml; charset=utf-8",
        gen::Format::Atom => "application/atom+xml; charset=utf-8",
        gen::Format::JsonFeed => "application/feed+json; charset=utf-8",
    }
}

struct FeedFile {
    name: String,
    format: gen::Format,
    bytes: Vec<u8>,
    items: usize,
}

fn write_feeds(dir: &Path) -> Vec<FeedFile> {
    let vocab = gen::Vocabulary::new(20_000, 1);
    let items = gen::items(&vocab, 3_000, 4);
    std::fs::create_dir_all(dir).expect("create the feed directory");
    let mut files = Vec::new();
    for format in FORMATS {
        for (size, label) in SIZES {
            let (text, count) = gen::feed(format, &items, size);
            let name = format!("{label}-{}", format.extension());
            std::fs::write(dir.join(&name), &text).expect("write a feed file");
            files.push(FeedFile {
                name,
                format,
                bytes: text.into_bytes(),
                items: count,
            });
        }
    }
    files
}

/// Mean wall time of one run of `parse`, over at least `MIN_SECONDS` and two runs, and the
/// item count of the last run.
fn time_parse(file: &FeedFile, parse: impl Fn(&FeedFile) -> usize) -> (Duration, usize) {
    let mut runs = 0u32;
    let mut items;
    let started = Instant::now();
    loop {
        items = black_box(parse(black_box(file)));
        runs += 1;
        if runs >= 2 && started.elapsed().as_secs_f64() >= MIN_SECONDS {
            break;
        }
    }
    (started.elapsed() / runs, items)
}

/// newshound's whole parse: charset, clean-up, feed-rs, mapping to items.
fn newshound_items(file: &FeedFile) -> usize {
    parse_feed(
        &file.bytes,
        Some(content_type(file.format)),
        Some("https://news.example.com/feed"),
    )
    .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.name))
    .items
    .len()
}

/// feed-rs alone on the same bytes, as its README calls it: the floor newshound builds on.
fn feed_rs_items(file: &FeedFile) -> usize {
    feed_rs::parser::parse(file.bytes.as_slice())
        .unwrap_or_else(|e| panic!("feed-rs does not parse {}: {e}", file.name))
        .entries
        .len()
}

/// `NEWSHOUND_BENCH_PROFILE=<file>[:feed-rs]`: parse one already written file
/// `NEWSHOUND_BENCH_REPEAT` times (default 20) and exit, for callgrind or perf. Reads the file
/// from disk so the profile does not include generating the corpus (run the bench once first).
fn profile(dir: &Path, spec: &str) {
    let (name, side) = spec.split_once(':').unwrap_or((spec, "newshound"));
    let repeat: usize = std::env::var("NEWSHOUND_BENCH_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let format = FORMATS
        .into_iter()
        .find(|f| name.ends_with(f.extension()))
        .unwrap_or_else(|| panic!("{name}: not a bench file name (e.g. 100k-atom.xml)"));
    let bytes = std::fs::read(dir.join(name))
        .unwrap_or_else(|e| panic!("{name}: {e} (run the bench once to write the files)"));
    let file = FeedFile {
        name: name.to_string(),
        format,
        bytes,
        items: 0,
    };
    let parse = match side {
        "feed-rs" => feed_rs_items,
        _ => newshound_items,
    };
    let items: usize = (0..repeat)
        .map(|_| black_box(parse(black_box(&file))))
        .sum();
    println!("{side}: {name} parsed {repeat} times, {items} items in all");
}

/// feedparser's mean seconds per parse and item count, by file name; `None` with the reason
/// when it cannot run here.
/// feedparser's items and mean wall seconds per parse, by file name.
type PythonTimes = HashMap<String, (usize, f64)>;

fn time_feedparser(dir: &Path) -> Result<(String, PythonTimes), String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/feedparser_bench.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(dir)
        .arg(MIN_SECONDS.to_string())
        .output()
        .map_err(|e| format!("python3 could not be started ({e})"))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed — is feedparser installed? (`pip install feedparser`): {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut version = String::new();
    let mut times = HashMap::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("# ") {
            version = v.to_string();
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if let [name, items, wall, _cpu] = fields[..] {
            let items = items.parse().unwrap_or(0);
            let wall = wall.parse().unwrap_or(f64::NAN);
            times.insert(name.to_string(), (items, wall));
        }
    }
    Ok((version, times))
}

/// Figures of one file: newshound and feed-rs alone, per parse.
struct Row<'a> {
    file: &'a FeedFile,
    ours: Duration,
    feed_rs: Duration,
    /// feedparser's items and mean seconds per parse, when it ran.
    theirs: Option<(usize, f64)>,
}

fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

fn print_rows(rows: &[Row<'_>]) {
    println!(
        "| file | bytes | items | newshound per parse | MB/s | feed-rs alone per parse | MB/s | \
         newshound / feed-rs | feedparser per parse | feedparser items | feedparser / newshound | \
         feedparser / feed-rs |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let ours = row.ours.as_secs_f64();
        let feed_rs = row.feed_rs.as_secs_f64();
        let (theirs, their_items, ratio, ratio_feed_rs) = match row.theirs {
            // feedparser has no JSON Feed support: 0 items is no basis for a ratio.
            Some((0, wall)) => (
                format!("{:.2} ms", wall * 1e3),
                "0".into(),
                "n/a".into(),
                "n/a".into(),
            ),
            Some((n, wall)) => (
                format!("{:.2} ms", wall * 1e3),
                n.to_string(),
                format!("{:.1}x", wall / ours),
                format!("{:.1}x", wall / feed_rs),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {} | {} | {:.3} ms | {:.1} | {:.3} ms | {:.1} | {:.2}x | {theirs} | {their_items} | {ratio} | {ratio_feed_rs} |",
            row.file.name,
            row.file.bytes.len(),
            row.file.items,
            ours * 1e3,
            mb_per_s(row.file.bytes.len(), row.ours),
            feed_rs * 1e3,
            mb_per_s(row.file.bytes.len(), row.feed_rs),
            ours / feed_rs,
        );
    }
}

/// Per file class (RSS, Atom, JSON Feed), all sizes, total time per parse.
fn print_classes(rows: &[Row<'_>]) {
    println!("\n| class | newshound (sum of per-parse times) | feed-rs alone | newshound / feed-rs | feedparser | feedparser / newshound |");
    println!("|---|---:|---:|---:|---:|---:|");
    for format in FORMATS {
        let class: Vec<&Row<'_>> = rows.iter().filter(|r| r.file.format == format).collect();
        let ours: f64 = class.iter().map(|r| r.ours.as_secs_f64()).sum();
        let feed_rs: f64 = class.iter().map(|r| r.feed_rs.as_secs_f64()).sum();
        let theirs: Option<f64> = class
            .iter()
            .map(|r| r.theirs.filter(|&(n, _)| n > 0).map(|(_, wall)| wall))
            .sum();
        let (theirs, ratio) = match theirs {
            Some(wall) => (
                format!("{:.1} ms", wall * 1e3),
                format!("{:.1}x", wall / ours),
            ),
            None => ("n/a".into(), "n/a".into()),
        };
        println!(
            "| {} | {:.2} ms | {:.2} ms | {:.2}x | {theirs} | {ratio} |",
            format.extension(),
            ours * 1e3,
            feed_rs * 1e3,
            ours / feed_rs,
        );
    }
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-feeds");
    if let Ok(spec) = std::env::var("NEWSHOUND_BENCH_PROFILE") {
        profile(&dir, &spec);
        return;
    }
    let files = write_feeds(&dir);
    println!("# Parsing: newshound parse_feed vs feed-rs alone vs Python feedparser, same files, same run\n");
    println!("Files in {}\n", dir.display());
    let mut rows: Vec<Row<'_>> = files
        .iter()
        .map(|file| {
            let (ours, items) = time_parse(file, newshound_items);
            assert_eq!(
                items, file.items,
                "{}: newshound found {items} items",
                file.name
            );
            let (feed_rs, _) = time_parse(file, feed_rs_items);
            Row {
                file,
                ours,
                feed_rs,
                theirs: None,
            }
        })
        .collect();
    match time_feedparser(&dir) {
        Ok((version, times)) => {
            println!("Python side: {version}\n");
            for row in &mut rows {
                row.theirs = times.get(&row.file.name).copied();
            }
        }
        Err(reason) => println!("feedparser side skipped: {reason}\n"),
    }
    print_rows(&rows);
    print_classes(&rows);
    println!();

    if std::env::var("NEWSHOUND_BENCH_CRITERION").as_deref() != Ok("0") {
        let mut criterion = Criterion::default()
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .configure_from_args();
        let mut group = criterion.benchmark_group("parse_feed_100k");
        for file in files.iter().filter(|f| f.name.starts_with("100k")) {
            group.throughput(Throughput::Bytes(file.bytes.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(&file.name), file, |b, file| {
                b.iter(|| {
                    parse_feed(&file.bytes, Some(content_type(file.format)), None)
                        .map_or(0, |feed| feed.items.len())
                });
            });
        }
        group.finish();
        criterion.final_summary();
    }
}
