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

/// Mean wall time of one parse, over at least `MIN_SECONDS` and two runs.
fn time_newshound(file: &FeedFile) -> (Duration, usize) {
    let mut runs = 0u32;
    let mut items;
    let started = Instant::now();
    loop {
        let feed = parse_feed(
            black_box(&file.bytes),
            Some(content_type(file.format)),
            Some("https://news.example.com/feed"),
        )
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.name));
        items = black_box(feed.items.len());
        runs += 1;
        if runs >= 2 && started.elapsed().as_secs_f64() >= MIN_SECONDS {
            break;
        }
    }
    (started.elapsed() / runs, items)
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

fn main() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-feeds");
    let files = write_feeds(&dir);
    println!("# Parsing: newshound parse_feed vs Python feedparser, same files, same run\n");
    println!("Files in {}\n", dir.display());
    let ours: Vec<(Duration, usize)> = files.iter().map(time_newshound).collect();
    let python = time_feedparser(&dir);
    if let Ok((version, _)) = &python {
        println!("Python side: {version}\n");
    }
    println!("| file | bytes | items | newshound per parse | items/s | MB/s | feedparser per parse | feedparser items | ratio |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut ours_total = 0.0;
    let mut theirs_total = 0.0;
    for (file, (time, items)) in files.iter().zip(&ours) {
        let secs = time.as_secs_f64();
        let (theirs, their_items, ratio) = match &python {
            Ok((_, times)) => match times.get(&file.name) {
                // feedparser has no JSON Feed support: 0 items is no basis for a ratio.
                Some(&(0, wall)) => (
                    format!("{:.2} ms", wall * 1e3),
                    "0".into(),
                    "n/a (0 items)".into(),
                ),
                Some(&(n, wall)) => {
                    ours_total += secs;
                    theirs_total += wall;
                    (
                        format!("{:.2} ms", wall * 1e3),
                        n.to_string(),
                        format!("{:.1}x", wall / secs),
                    )
                }
                None => ("-".into(), "-".into(), "-".into()),
            },
            Err(_) => ("-".into(), "-".into(), "-".into()),
        };
        assert_eq!(
            *items, file.items,
            "{}: newshound found {items} items",
            file.name
        );
        println!(
            "| {} | {} | {items} | {:.2} ms | {:.0} | {:.1} | {theirs} | {their_items} | {ratio} |",
            file.name,
            file.bytes.len(),
            secs * 1e3,
            *items as f64 / secs,
            file.bytes.len() as f64 / 1e6 / secs,
        );
    }
    match &python {
        Ok(_) => println!(
            "\nAll files feedparser reads, total time per parse: newshound {:.1} ms, feedparser {:.1} ms: {:.1}x\n",
            ours_total * 1e3,
            theirs_total * 1e3,
            theirs_total / ours_total
        ),
        Err(reason) => println!("\nfeedparser side skipped: {reason}\n"),
    }

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
