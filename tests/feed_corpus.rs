//! The feed corpus harness (issue 17): newshound's parser against what Python's feedparser
//! finds, file by file, with no internet.
//!
//! `vendored_corpus_reads_what_feedparser_reads` walks `tests/fixtures/corpus/**` (files
//! vendored from feedparser's test corpus, and our own), parses each with
//! [`newshound::sources::parse::parse_feed`] and compares it with `expected.tsv` (feedparser's
//! entry count per file, written by `feedparser_expect.py`). It prints, per corpus, files read,
//! items with a title and a link, and the files where feedparser finds more entries than
//! newshound; it fails on such a file unless `refusals.tsv` lists it with the reason it is
//! right to refuse (the same list is in RELIABILITY.md), on a refusal that no longer applies,
//! and on any panic.
//!
//! `full_corpus_from_env` (ignored) runs the same comparison over a whole corpus on disk:
//!
//! ```text
//! NEWSHOUND_CORPUS_DIR=/tmp/fp/tests NEWSHOUND_CORPUS_EXPECTED=/tmp/fp.tsv \
//! NEWSHOUND_CORPUS_NAME=feedparser cargo test --test feed_corpus -- --ignored --nocapture
//! ```
//!
//! (the expected TSV from `feedparser_expect.py` on the same directory; the name is the prefix
//! its paths take in `refusals.tsv`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use newshound::sources::parse::parse_feed;

/// What feedparser found in one file.
#[derive(Debug, Clone, Copy)]
struct Expected {
    entries: usize,
    with_title_and_link: usize,
}

/// What newshound made of one file.
#[derive(Debug)]
enum Outcome {
    Read {
        items: usize,
        with_title_and_link: usize,
        /// `Feed::damaged`: the document was cut back to its complete items.
        damaged: Option<String>,
    },
    Refused(String),
    Panicked,
}

#[derive(Debug, Default)]
struct Report {
    files: usize,
    read: usize,
    items: usize,
    with_title_and_link: usize,
    feedparser_entries: usize,
    feedparser_with_title_and_link: usize,
    /// Files where feedparser finds entries and newshound fewer: path, feedparser's count,
    /// ours, and why ours is short (the parse error, if it refused the file).
    short: Vec<(String, usize, usize, String)>,
    panics: Vec<String>,
    /// Files where newshound has fewer items with a title and a link than feedparser
    /// (reported, not failed: feedparser keeps a relative link newshound may resolve or drop).
    fewer_with_title_and_link: Vec<(String, usize, usize)>,
    /// Every path this run read.
    names: std::collections::BTreeSet<String>,
}

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

/// Reads a TSV whose comment lines start with `#`: each row split on tabs.
fn tsv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn read_expected(path: &Path) -> BTreeMap<String, Expected> {
    tsv_rows(path)
        .into_iter()
        .map(|row| {
            let number = |i: usize| -> usize {
                row.get(i)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("{}: bad row {row:?}", path.display()))
            };
            let expected = Expected {
                entries: number(1),
                with_title_and_link: number(2),
            };
            (row[0].clone(), expected)
        })
        .collect()
}

/// `refusals.tsv`: path (with its corpus prefix) -> why refusing it is right.
fn read_refusals() -> BTreeMap<String, String> {
    tsv_rows(&corpus_root().join("refusals.tsv"))
        .into_iter()
        .map(|row| match row.as_slice() {
            [path, reason] if !reason.trim().is_empty() => (path.clone(), reason.clone()),
            _ => panic!("refusals.tsv: want `path<TAB>reason`, got {row:?}"),
        })
        .collect()
}

fn parse_file(path: &Path) -> Outcome {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    match panic::catch_unwind(AssertUnwindSafe(|| parse_feed(&bytes, None, None))) {
        Ok(Ok(feed)) => Outcome::Read {
            items: feed.items.len(),
            with_title_and_link: feed
                .items
                .iter()
                .filter(|i| !i.title.trim().is_empty() && i.link.is_some())
                .count(),
            damaged: feed.damaged,
        },
        Ok(Err(e)) => Outcome::Refused(e.to_string()),
        Err(_) => Outcome::Panicked,
    }
}

/// Parses every file of `expected` under `root` and compares; `prefix` is how the paths are
/// named in the report (and in `refusals.tsv`).
fn run(root: &Path, prefix: &str, expected: &BTreeMap<String, Expected>) -> Report {
    let mut report = Report::default();
    for (relative, want) in expected {
        let name = if prefix.is_empty() {
            relative.clone()
        } else {
            format!("{prefix}/{relative}")
        };
        report.files += 1;
        report.names.insert(name.clone());
        report.feedparser_entries += want.entries;
        report.feedparser_with_title_and_link += want.with_title_and_link;
        let (items, titled, why) = match parse_file(&root.join(relative)) {
            Outcome::Read {
                items,
                with_title_and_link,
                damaged,
            } => {
                report.read += 1;
                report.items += items;
                report.with_title_and_link += with_title_and_link;
                (items, with_title_and_link, damaged.unwrap_or_default())
            }
            Outcome::Refused(error) => (0, 0, error),
            Outcome::Panicked => {
                report.panics.push(name.clone());
                (0, 0, "panicked".to_string())
            }
        };
        if titled < want.with_title_and_link {
            report
                .fewer_with_title_and_link
                .push((name.clone(), want.with_title_and_link, titled));
        }
        if items < want.entries {
            report.short.push((name, want.entries, items, why));
        }
    }
    report
}

fn render(corpus: &str, report: &Report, refusals: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let refused = report
        .short
        .iter()
        .filter(|(path, ..)| refusals.contains_key(path))
        .count();
    let _ = writeln!(
        out,
        "corpus {corpus}: {} files, {} read; items {} ({} with title and link); feedparser: \
         {} entries ({} with title and link); feedparser finds more in {} file(s) ({} on the \
         refusal list); {} panic(s)",
        report.files,
        report.read,
        report.items,
        report.with_title_and_link,
        report.feedparser_entries,
        report.feedparser_with_title_and_link,
        report.short.len(),
        refused,
        report.panics.len(),
    );
    for (path, theirs, ours, why) in &report.short {
        let tag = if refusals.contains_key(path) {
            "refused"
        } else {
            "MISS"
        };
        let _ = writeln!(
            out,
            "  {tag} {path}: feedparser {theirs}, newshound {ours} {why}"
        );
    }
    for (path, theirs, ours) in &report.fewer_with_title_and_link {
        let _ = writeln!(
            out,
            "  note {path}: items with title and link: feedparser {theirs}, newshound {ours}"
        );
    }
    out
}

/// The problems with a run: panics, short files not on the refusal list, and refusals (of
/// files in this run) that no longer apply.
fn problems(report: &Report, refusals: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems: Vec<String> = report
        .panics
        .iter()
        .map(|p| format!("{p}: the parser panicked"))
        .collect();
    for (path, theirs, ours, why) in &report.short {
        if !refusals.contains_key(path) {
            problems.push(format!(
                "{path}: feedparser finds {theirs} entries, newshound {ours} ({why}) — fix the \
                 cause, or list it in tests/fixtures/corpus/refusals.tsv and RELIABILITY.md \
                 with the reason refusing it is right"
            ));
        }
    }
    for path in refusals.keys() {
        if report.names.contains(path) && !report.short.iter().any(|(p, ..)| p == path) {
            problems.push(format!(
                "{path}: on the refusal list but newshound now reads it — remove it from \
                 refusals.tsv and RELIABILITY.md"
            ));
        }
    }
    problems
}

/// Every file under `dir` (relative, `/`-separated), as `feedparser_expect.py` walks it.
fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(root, &path, out);
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let skipped = [".py", ".tsv", ".md", ".opml"];
        if name.starts_with('.') || skipped.iter().any(|s| name.ends_with(s)) {
            continue;
        }
        let relative = path.strip_prefix(root).expect("under root");
        out.push(
            relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
        );
    }
}

#[test]
fn vendored_corpus_reads_what_feedparser_reads() {
    let root = corpus_root();
    let expected = read_expected(&root.join("expected.tsv"));
    let refusals = read_refusals();
    let mut on_disk = Vec::new();
    files_under(&root, &root, &mut on_disk);
    let missing: Vec<_> = on_disk
        .iter()
        .filter(|p| !expected.contains_key(*p))
        .collect();
    assert!(
        missing.is_empty(),
        "fixtures with no row in expected.tsv (run feedparser_expect.py): {missing:?}"
    );

    let mut all_problems = Vec::new();
    let corpora: std::collections::BTreeSet<_> = expected
        .keys()
        .filter_map(|p| p.split_once('/').map(|(corpus, _)| corpus.to_string()))
        .collect();
    assert!(corpora.len() >= 2, "corpora found: {corpora:?}");
    for corpus in &corpora {
        let subset: BTreeMap<String, Expected> = expected
            .iter()
            .filter_map(|(p, e)| {
                p.strip_prefix(&format!("{corpus}/"))
                    .map(|r| (r.to_string(), *e))
            })
            .collect();
        let report = run(&root.join(corpus), corpus, &subset);
        print!("{}", render(corpus, &report, &refusals));
        all_problems.extend(problems(&report, &refusals));
    }
    assert!(all_problems.is_empty(), "{}", all_problems.join("\n"));
}

#[test]
#[ignore = "needs a corpus on disk: set NEWSHOUND_CORPUS_DIR, _EXPECTED and _NAME"]
fn full_corpus_from_env() {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("set {name} (see this file's doc)"))
    };
    let root = PathBuf::from(var("NEWSHOUND_CORPUS_DIR"));
    let expected = read_expected(Path::new(&var("NEWSHOUND_CORPUS_EXPECTED")));
    let name = var("NEWSHOUND_CORPUS_NAME");
    let refusals = read_refusals();
    let report = run(&root, &name, &expected);
    print!("{}", render(&name, &report, &refusals));
    let problems = problems(&report, &refusals);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_file_feedparser_reads_and_newshound_refuses_is_a_problem() {
    // The harness itself: an HTML page (0 items) against a pretend feedparser that found one.
    let root = corpus_root().join("own");
    let expected = BTreeMap::from([(
        "html_page_not_a_feed.html".to_string(),
        Expected {
            entries: 1,
            with_title_and_link: 1,
        },
    )]);
    let report = run(&root, "pretend", &expected);
    assert_eq!((report.files, report.read), (1, 0));
    let problems = problems(&report, &BTreeMap::new());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("not a feed"), "{problems:?}");
}
