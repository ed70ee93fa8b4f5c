//! Black-box: `newshound sources import FILE.opml` and `sources export` with the real binary
//! and a real SQLite file: a feed reader's export round-trips, hostile files add nothing, and
//! the address rules follow `fetch.allow_private_addresses`.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::binary::{newshound, once_json};
use support::config::Setup;
use support::feeds::{item, publish};
use wiremock::MockServer;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/opml/feed-reader-export.opml"
);

const CONFIG_SOURCE: &str = r#"
[[sources]]
name = "Config Wire"
url = "https://wire.example/feed.xml"
"#;

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = newshound(args);
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn import(config: &Path, file: &Path) -> Run {
    run(&[
        "sources",
        "import",
        file.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ])
}

/// The source names `newshound sources` lists.
fn source_names(config: &Path) -> BTreeSet<String> {
    let out = run(&["sources", "--config", config.to_str().unwrap()]);
    assert!(out.ok, "{}", out.stderr);
    out.stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split(" | ").next())
        .map(str::to_string)
        .collect()
}

/// The (title, xmlUrl) pairs of an exported document, parsed with newshound's own reader.
fn exported(doc: &str) -> BTreeSet<(String, String)> {
    newshound::core::opml::parse(doc.as_bytes())
        .expect("the export parses as OPML")
        .into_iter()
        .map(|f| (f.title, f.url))
        .collect()
}

#[test]
fn feed_reader_export_round_trips_and_reimport_adds_nothing() {
    let setup = Setup::new();
    let config = setup.write_config(CONFIG_SOURCE);

    let first = import(&config, Path::new(FIXTURE));
    assert!(first.ok, "{}", first.stderr);
    assert!(
        first.stdout.starts_with("7 added, 1 skipped, 1 refused\n"),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("skipped: Ars (again) <https://feeds.arstechnica.com/arstechnica/index>: already a source"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("refused: Old FTP mirror <ftp://ftp.example.org/news.rss>: only http and https URLs can be sources, not `ftp:`"),
        "{}",
        first.stdout
    );
    let names = source_names(&config);
    for expected in [
        "Config Wire",
        "Ars Technica",
        "The Verge - All Posts",
        "Hugging Face Blog",
        "Simon Willison's Weblog",
        "BBC News - World",
        "Al Jazeera – Breaking News",
        "JSON Feed",
    ] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_eq!(names.len(), 8, "{names:?}");

    // Export to a file, then import that into a fresh database: the same set.
    let out_file = setup.path("export.opml");
    let export = run(&[
        "sources",
        "export",
        "--output",
        out_file.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(export.ok, "{}", export.stderr);
    let doc = std::fs::read_to_string(&out_file).unwrap();
    assert!(doc.contains("<opml version=\"2.0\">"), "{doc}");
    let first_set = exported(&doc);
    assert_eq!(first_set.len(), 8, "{doc}");
    assert!(first_set.contains(&(
        "Config Wire".to_string(),
        "https://wire.example/feed.xml".to_string()
    )));

    let other = Setup::new();
    let other_config = other.write_config(CONFIG_SOURCE);
    let again = import(&other_config, &out_file);
    assert!(again.ok, "{}", again.stderr);
    // The config source is already there; the seven imported ones come back.
    assert!(
        again.stdout.starts_with("7 added, 1 skipped, 0 refused\n"),
        "{}",
        again.stdout
    );
    let stdout_export = run(&[
        "sources",
        "export",
        "--config",
        other_config.to_str().unwrap(),
    ]);
    assert!(stdout_export.ok, "{}", stdout_export.stderr);
    assert_eq!(exported(&stdout_export.stdout), first_set);

    // Importing the same file a second time adds nothing.
    let twice = import(&config, Path::new(FIXTURE));
    assert!(
        twice.stdout.starts_with("0 added, 8 skipped, 1 refused\n"),
        "{}",
        twice.stdout
    );
    assert_eq!(source_names(&config).len(), 8);
}

#[test]
fn hostile_opml_files_are_refused_and_add_nothing() {
    let setup = Setup::new();
    let config = setup.write_config(CONFIG_SOURCE);

    let laughs = setup.path("laughs.opml");
    let mut doc =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE opml [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        doc.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    doc.push_str("]>\n<opml version=\"2.0\"><body><outline text=\"&lol9;\" xmlUrl=\"https://laughs.example/feed\"/></body></opml>\n");
    std::fs::write(&laughs, doc).unwrap();

    let huge = setup.path("huge.opml");
    let mut body = String::from("<opml version=\"2.0\"><body>");
    let filler =
        "<outline text=\"padding padding padding padding\" xmlUrl=\"https://big.example/feed\"/>\n";
    while body.len() < 50 * 1024 * 1024 {
        body.push_str(filler);
    }
    body.push_str("</body></opml>");
    std::fs::write(&huge, body).unwrap();

    // 100,000 outlines, small enough to pass the size cap so the outline cap is what refuses.
    let many = setup.path("many.opml");
    let mut body = String::from(
        "<opml version=\"2.0\"><body><outline text=\"x\" xmlUrl=\"https://first.example/feed\"/>",
    );
    body.push_str(&"<outline/>".repeat(100_000));
    body.push_str("</body></opml>");
    std::fs::write(&many, body).unwrap();

    let not_xml = setup.path("subscriptions.csv");
    std::fs::write(&not_xml, "name,url\nExample,https://example.com/feed.xml\n").unwrap();

    for (file, says) in [
        (&laughs, "<!DOCTYPE>"),
        (&huge, "at most 2097152 bytes are accepted"),
        (&many, "more than 5000 outlines"),
        (&not_xml, "not well-formed XML"),
    ] {
        let out = import(&config, file);
        assert!(
            !out.ok,
            "{} must be refused: {}",
            file.display(),
            out.stdout
        );
        assert!(
            out.stderr.contains(says) && out.stderr.contains("nothing was added"),
            "{}: {}",
            file.display(),
            out.stderr
        );
        assert_eq!(
            source_names(&config),
            BTreeSet::from(["Config Wire".to_string()]),
            "{} added something",
            file.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn private_addresses_follow_the_config_for_cli_imports() {
    let server = MockServer::start().await;
    publish(&server, &[item("g1", "Loopback feed item")]).await;
    let feed_url = format!("{}/feed.xml", server.uri());
    let opml = format!(
        "<opml version=\"2.0\"><body><outline text=\"Home lab\" xmlUrl=\"{feed_url}\"/></body></opml>"
    );

    // Allowed (the default): imported, and polled like a config source on loopback.
    let setup = Setup::new();
    let config = setup.write_config("");
    let file = setup.path("home.opml");
    std::fs::write(&file, &opml).unwrap();
    let out = import(&config, &file);
    assert!(out.stdout.starts_with("1 added"), "{}", out.stdout);
    let polled = tokio::task::spawn_blocking(move || once_json(&config))
        .await
        .unwrap();
    // Fetched and parsed (a public-only source on 127.0.0.1 would fail as "blocked").
    assert!(
        polled
            .line("Home lab")
            .starts_with("Home lab: 1 items, 1 new"),
        "{}",
        polled.stderr
    );

    // Refused when the operator forbids private addresses.
    let strict = Setup::new();
    let config = strict.write_config("");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[fetch]\n", "[fetch]\nallow_private_addresses = false\n");
    std::fs::write(&config, text).unwrap();
    let file = strict.path("home.opml");
    std::fs::write(&file, &opml).unwrap();
    let out = import(&config, &file);
    assert!(
        out.stdout.starts_with("0 added, 0 skipped, 1 refused"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("loopback") && out.stdout.contains("allow_private_addresses"),
        "{}",
        out.stdout
    );
    assert!(source_names(&config).is_empty());
}
