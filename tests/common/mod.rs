//! Shared helpers for black-box tests: a temp config directory and the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary directory holding a config file and the database it points to.
pub struct Setup {
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `newshound.toml` with a short fetch timeout, no jitter, and `body` appended.
    pub fn write_config(&self, body: &str) -> PathBuf {
        let path = self.path("newshound.toml");
        let text = format!(
            "[storage]\npath = \"state/newshound.db\"\n\n[fetch]\ntimeout_secs = 3\nconnect_timeout_secs = 2\njitter_secs = 0\n\n{body}"
        );
        std::fs::write(&path, text).expect("write config");
        path
    }
}

/// Runs the binary with `args`, no Discord token, and returns its output.
pub fn newshound(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newshound"))
        .args(args)
        .env_remove("DISCORD_TOKEN")
        .env_remove("NEWSHOUND_CONFIG")
        .env("NEWSHOUND_LOG", "warn")
        .output()
        .expect("run newshound")
}

pub struct OnceRun {
    pub alerts: Vec<serde_json::Value>,
    pub stderr: String,
}

/// `newshound once --config PATH --output json`: the alerts (one JSON object per stdout line)
/// and stderr. Panics unless it exits 0 and every stdout line is JSON.
pub fn once_json(config: &Path) -> OnceRun {
    let out = newshound(&[
        "once",
        "--config",
        config.to_str().unwrap(),
        "--output",
        "json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "once failed: {stderr}\n{stdout}");
    let alerts = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    OnceRun { alerts, stderr }
}

/// Titles of the alerts, in output order.
pub fn titles(alerts: &[serde_json::Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// One RSS 2.0 item.
pub struct RssItem<'a> {
    pub guid: Option<&'a str>,
    pub title: &'a str,
    pub link: &'a str,
    pub date: &'a str,
    pub description: &'a str,
}

pub fn item<'a>(guid: &'a str, title: &'a str, link: &'a str) -> RssItem<'a> {
    RssItem {
        guid: Some(guid),
        title,
        link,
        date: "Sun, 29 Nov 2026 09:00:00 GMT",
        description: "",
    }
}

/// An RSS 2.0 document with `items` in order.
pub fn rss(items: &[RssItem<'_>]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Test wire</title><link>https://wire.example/</link><description>t</description>\n",
    );
    for i in items {
        out.push_str("<item>");
        if let Some(g) = i.guid {
            out.push_str(&format!("<guid isPermaLink=\"false\">{g}</guid>"));
        }
        out.push_str(&format!(
            "<title>{}</title><link>{}</link><pubDate>{}</pubDate><description>{}</description></item>\n",
            xml_escape(i.title),
            xml_escape(i.link),
            i.date,
            xml_escape(i.description)
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
