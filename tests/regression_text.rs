//! Regression tests for issue 11's text defects, black-box: the real binary's `once --output
//! json` over feed files written to a temp directory. Self-contained on purpose (its own tiny
//! helpers), so it does not depend on the shared test support modules.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes `name` into `dir` and returns its path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An RSS 2.0 feed of `(guid, title, description)` items.
fn rss(items: &[(&str, &str, &str)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Wire</title><link>https://wire.example/</link><description>t</description>\n",
    );
    for (guid, title, description) in items {
        out.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title>\
             <link>https://wire.example/{guid}</link>\
             <pubDate>Sun, 29 Nov 2026 09:00:00 GMT</pubDate>\
             <description>{}</description></item>\n",
            xml_escape(description)
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

/// Runs `newshound once --output json` on a config of `sources` (TOML) subscribed to
/// `"Google Cloud"`, and returns the titles alerted.
fn alerted_titles(dir: &Path, sources: &str) -> BTreeSet<String> {
    let config = write(
        dir,
        "newshound.toml",
        &format!(
            "[storage]\npath = \"state/newshound.db\"\n\n[defaults]\nbackfill = 20\n\n\
             {sources}\n\
             [[subscriptions]]\nuser = \"alice\"\nquery = '\"Google Cloud\"'\nchannel = \"news\"\n"
        ),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_newshound"))
        .args(["once", "--config", config.to_str().expect("utf-8 path")])
        .args(["--output", "json"])
        .env_remove("DISCORD_TOKEN")
        .env_remove("NEWSHOUND_CONFIG")
        .env("NEWSHOUND_LOG", "warn")
        .output()
        .expect("run newshound");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "once failed: {stderr}\n{stdout}");
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let alert: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert_eq!(alert["matched"], serde_json::json!(["\"Google Cloud\""]));
            alert["title"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

/// Issue 11, "Phrases across a line wrap": a phrase wrapped across a newline and indentation
/// in a feed's HTML (or by a single hard wrap in plain text) was missed, because the line
/// break was taken for a sentence break. Only a sentence end, a block or a blank line parts a
/// phrase.
#[test]
fn phrases_across_a_line_wrap_match_but_not_across_a_paragraph() {
    let dir = tempfile::tempdir().expect("temp dir");
    let feed = rss(&[
        (
            "html-wrap",
            "Migration news",
            "<p>The bank moves its systems to Google\n      Cloud this year.</p>",
        ),
        (
            "plain-wrap",
            "Plain migration news",
            "The bank moves its systems to Google\nCloud this year.",
        ),
        (
            "paragraphs",
            "Two paragraphs",
            "<p>The bank already uses Google</p><p>Cloud costs rose again.</p>",
        ),
        (
            "blank-line",
            "Two plain paragraphs",
            "The bank already uses Google\n\nCloud costs rose again.",
        ),
        (
            "sentence",
            "Two sentences",
            "<p>The bank already uses Google.\n   Cloud costs rose again.</p>",
        ),
    ]);
    write(dir.path(), "feed.xml", &feed);
    let atom = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
        <feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Atom wire</title><id>urn:a</id>\
        <updated>2026-11-29T09:00:00Z</updated>\
        <entry><id>urn:a:1</id><title>Atom summary news</title>\
        <link href=\"https://atom.example/1\"/><updated>2026-11-29T09:00:00Z</updated>\
        <summary type=\"html\">&lt;p&gt;Moving to Google\n    Cloud.&lt;/p&gt;</summary></entry>\
        <entry><id>urn:a:2</id><title>Atom content news</title>\
        <link href=\"https://atom.example/2\"/><updated>2026-11-29T09:00:00Z</updated>\
        <content type=\"html\">&lt;p&gt;Moving to Google\n    Cloud.&lt;/p&gt;</content></entry>\
        </feed>\n";
    write(dir.path(), "atom.xml", atom);
    let json_feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON wire",
        "items": [{
            "id": "j1",
            "url": "https://json.example/1",
            "title": "JSON Feed news",
            "date_published": "2026-11-29T09:00:00Z",
            "content_html": "<p>Moving to Google\n    Cloud.</p>",
        }],
    });
    write(dir.path(), "feed.json", &json_feed.to_string());

    let titles = alerted_titles(
        dir.path(),
        "[[sources]]\nname = \"Wire\"\nurl = \"feed.xml\"\n\n\
         [[sources]]\nname = \"Atom\"\nurl = \"atom.xml\"\n\n\
         [[sources]]\nname = \"Json\"\nurl = \"feed.json\"\n",
    );
    let expected: BTreeSet<String> = [
        "Migration news",
        "Plain migration news",
        "Atom summary news",
        "Atom content news",
        "JSON Feed news",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(titles, expected);
}
