//! The operations listener from outside: where it listens, a strict parser of the Prometheus
//! text it serves, raw HTTP requests, and the status page rendered by headless Chromium.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use super::world::WAIT;

/// The address a bot logged for `listen = "127.0.0.1:0"` ("http listening on ADDR").
pub async fn wait_for_listener(log: impl Fn() -> String) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = log();
        if let Some(addr) = text.lines().find_map(|l| {
            l.split("http listening on ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string)
        }) {
            return addr;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot never said where it listens; log:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET http://addr{path}` with optional headers: (status, body).
pub async fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut request = client.get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the listener answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// One metric family: its declared type and its samples, keyed by full sample name and
/// sorted labels.
#[derive(Debug, Default)]
pub struct Family {
    pub kind: String,
    pub samples: HashMap<(String, BTreeMap<String, String>), f64>,
}

/// A parsed exposition: families by name.
#[derive(Debug, Default)]
pub struct Exposition {
    pub families: HashMap<String, Family>,
}

impl Exposition {
    /// The value of sample `name` with exactly `labels`, if present.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        self.families
            .values()
            .find_map(|f| f.samples.get(&(name.to_string(), labels.clone())))
            .copied()
    }

    /// Every sample named `name`, whatever its labels.
    pub fn all(&self, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        self.families
            .values()
            .flat_map(|f| f.samples.iter())
            .filter(|((n, _), _)| n == name)
            .map(|((_, l), v)| (l.clone(), *v))
            .collect()
    }
}

const SUFFIXES: &[&str] = &["_total", "_bucket", "_count", "_sum", "_created", "_info"];

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses the Prometheus / OpenMetrics text format strictly: every sample belongs to a family
/// declared by `# TYPE` before it, names and labels are well-formed, values are numbers, no
/// sample appears twice, counters end in `_total`, and `# EOF` (when present) is last.
/// Panics with the offending line otherwise.
pub fn parse_exposition(text: &str) -> Exposition {
    let mut out = Exposition::default();
    let mut current: Option<String> = None;
    let mut eof = false;
    for (n, line) in text.lines().enumerate() {
        let at = || format!("line {}: `{line}`", n + 1);
        assert!(!eof, "content after # EOF at {}", at());
        if line == "# EOF" {
            eof = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let keyword = parts.next().unwrap_or_default();
            let name = parts.next().unwrap_or_default();
            assert!(valid_name(name), "bad metric name at {}", at());
            match keyword {
                "TYPE" => {
                    let kind = parts.next().unwrap_or_default().to_string();
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "summary",
                            "unknown",
                            "info"
                        ]
                        .contains(&kind.as_str()),
                        "bad type at {}",
                        at()
                    );
                    assert!(
                        !out.families.contains_key(name),
                        "family declared twice at {}",
                        at()
                    );
                    out.families.insert(
                        name.to_string(),
                        Family {
                            kind,
                            ..Family::default()
                        },
                    );
                    current = Some(name.to_string());
                }
                "HELP" | "UNIT" => {}
                other => panic!("unknown comment `{other}` at {}", at()),
            }
            continue;
        }
        assert!(!line.trim().is_empty(), "blank line at {}", at());
        let (name_and_labels, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value at {}", at()));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value at {}", at())),
        };
        let (name, labels) = match name_and_labels.split_once('{') {
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels at {}", at()));
                (
                    name,
                    parse_labels(body).unwrap_or_else(|| panic!("bad labels at {}", at())),
                )
            }
            None => (name_and_labels, BTreeMap::new()),
        };
        assert!(valid_name(name), "bad sample name at {}", at());
        let family = current
            .clone()
            .unwrap_or_else(|| panic!("sample before any # TYPE at {}", at()));
        let belongs = name == family
            || SUFFIXES
                .iter()
                .any(|s| name.strip_suffix(s) == Some(family.as_str()));
        assert!(belongs, "sample outside its family `{family}` at {}", at());
        let entry = out.families.get_mut(&family).expect("declared");
        if entry.kind == "counter" {
            assert!(
                name.ends_with("_total") || name.ends_with("_created"),
                "counter sample without _total at {}",
                at()
            );
            assert!(value >= 0.0, "negative counter at {}", at());
        }
        let key = (name.to_string(), labels);
        assert!(
            entry.samples.insert(key, value).is_none(),
            "duplicate sample at {}",
            at()
        );
    }
    out
}

fn parse_labels(body: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        if !valid_name(name) || name.contains(':') {
            return None;
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    '"' => value.push('"'),
                    '\\' => value.push('\\'),
                    _ => return None,
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return None;
        }
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Some(labels)
}

/// Debian's Chromium, if installed.
pub fn chromium() -> Option<&'static Path> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
}

/// The DOM of `url` after headless Chromium loaded and rendered it.
pub fn rendered_dom(browser: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
