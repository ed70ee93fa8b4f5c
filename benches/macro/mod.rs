//! Shared pieces of the macro harnesses (`ingest`, `delivery`, `startup`; issue #6 targets
//! 3-5): a feed server answering on many loopback addresses, synthetic feeds and
//! subscriptions, the release binary run as a child with its wall time, CPU time and peak
//! memory, and a small table printer.
//!
//! Everything stays on loopback. Sizes come from environment variables so a smaller machine
//! can run a smaller cycle (each harness's `//!` lists them).
#![allow(
    dead_code,
    reason = "each macro harness uses a different subset of this module"
)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::gen;

/// An environment variable as a number, or `default`. A value that is not a number stops the
/// harness with a message naming the variable.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(text) => text.trim().replace('_', "").parse().unwrap_or_else(|_| {
            panic!("{name}={text:?} is not a whole number; unset it or give e.g. {name}={default}")
        }),
        Err(_) => default,
    }
}

/// The newshound binary to measure: the release binary `cargo bench` built next to this
/// bench, or `NEWSHOUND_BENCH_BINARY` (e.g. a copy built from an earlier commit, to measure
/// before and after in one session with the same bench code and data).
pub fn binary() -> &'static str {
    static BINARY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BINARY.get_or_init(|| {
        std::env::var("NEWSHOUND_BENCH_BINARY")
            .ok()
            .filter(|b| !b.trim().is_empty())
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_newshound").to_string())
    })
}

/// A work directory under `target/tmp` (kept after the run, for inspection; cleared first).
pub fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("macro-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the bench work directory");
    dir
}

// ---- the feed server ----------------------------------------------------------------------

/// What the server answers for one path: an ETag and a body. `None` is a 404.
pub type Catalog = dyn Fn(&str) -> Option<(String, Bytes)> + Send + Sync;

/// One 200 the server sent: when the body was handed to the connection, the path and ETag.
#[derive(Debug, Clone)]
pub struct Served {
    pub at: Instant,
    pub path: String,
    pub etag: String,
}

#[derive(Default)]
pub struct ServerStats {
    pub ok: AtomicU64,
    pub not_modified: AtomicU64,
    pub not_found: AtomicU64,
    pub body_bytes: AtomicU64,
    first_request: Mutex<Option<Instant>>,
    log: Mutex<Option<Vec<Served>>>,
}

impl ServerStats {
    /// (200s, 304s, 404s, body bytes) so far.
    pub fn counts(&self) -> (u64, u64, u64, u64) {
        (
            self.ok.load(Ordering::Relaxed),
            self.not_modified.load(Ordering::Relaxed),
            self.not_found.load(Ordering::Relaxed),
            self.body_bytes.load(Ordering::Relaxed),
        )
    }

    pub fn first_request(&self) -> Option<Instant> {
        *self
            .first_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn reset(&self) {
        self.ok.store(0, Ordering::Relaxed);
        self.not_modified.store(0, Ordering::Relaxed);
        self.not_found.store(0, Ordering::Relaxed);
        self.body_bytes.store(0, Ordering::Relaxed);
        *self
            .first_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Starts recording every 200 (path, ETag, time).
    pub fn record_serves(&self) {
        *self.log.lock().unwrap_or_else(PoisonError::into_inner) = Some(Vec::new());
    }

    pub fn serves(&self) -> Vec<Served> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_default()
    }
}

/// An HTTP/1.1 server in this process listening on `hosts` loopback addresses
/// (127.1.0.1, 127.1.0.2, ...; all of 127.0.0.0/8 is loopback on Linux), all on one port, so
/// that newshound — which limits concurrency per `host:port` — sees `hosts` different hosts.
/// It answers 200 with the catalog's ETag, and 304 to a request whose `If-None-Match` carries
/// that ETag.
pub struct FeedServer {
    pub port: u16,
    pub hosts: usize,
    pub stats: Arc<ServerStats>,
}

/// The i-th loopback address the server listens on.
pub fn host_addr(i: usize) -> Ipv4Addr {
    let i = i as u32;
    Ipv4Addr::new(
        127,
        1 + (i / 62_500) as u8,
        ((i / 250) % 250) as u8,
        1 + (i % 250) as u8,
    )
}

impl FeedServer {
    pub async fn start(hosts: usize, catalog: Arc<Catalog>) -> FeedServer {
        let stats = Arc::new(ServerStats::default());
        'port: for _attempt in 0..20 {
            let first = TcpListener::bind(SocketAddr::from((host_addr(0), 0)))
                .await
                .expect("bind the feed server on 127.1.0.1");
            let port = first.local_addr().expect("local address").port();
            let mut listeners = vec![first];
            for i in 1..hosts {
                match TcpListener::bind(SocketAddr::from((host_addr(i), port))).await {
                    Ok(l) => listeners.push(l),
                    // Someone else has this port on one of our addresses: try another port.
                    Err(_) => continue 'port,
                }
            }
            for listener in listeners {
                tokio::spawn(accept_loop(
                    listener,
                    Arc::clone(&catalog),
                    Arc::clone(&stats),
                ));
            }
            return FeedServer { port, hosts, stats };
        }
        panic!("could not find one free port on all {hosts} loopback addresses");
    }

    /// The URL of `path` on host `i` (modulo the number of hosts).
    pub fn url(&self, host: usize, path: &str) -> String {
        format!(
            "http://{}:{}{path}",
            host_addr(host % self.hosts.max(1)),
            self.port
        )
    }
}

async fn accept_loop(listener: TcpListener, catalog: Arc<Catalog>, stats: Arc<ServerStats>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or similar: back off briefly instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let catalog = Arc::clone(&catalog);
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let catalog = Arc::clone(&catalog);
                let stats = Arc::clone(&stats);
                async move { Ok::<_, Infallible>(answer(catalog.as_ref(), &stats, &request)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(
    catalog: &Catalog,
    stats: &ServerStats,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    {
        let mut first = stats
            .first_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = Some(Instant::now());
        }
    }
    let path = request.uri().path();
    let Some((etag, body)) = catalog(path) else {
        stats.not_found.fetch_add(1, Ordering::Relaxed);
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from_static(b"not found")))
            .expect("static response");
    };
    let quoted = format!("\"{etag}\"");
    let conditional = request
        .headers()
        .get(hyper::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == quoted));
    if conditional {
        stats.not_modified.fetch_add(1, Ordering::Relaxed);
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(hyper::header::ETAG, quoted)
            .body(Full::new(Bytes::new()))
            .expect("valid response");
    }
    stats.ok.fetch_add(1, Ordering::Relaxed);
    stats
        .body_bytes
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    if let Some(log) = stats
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_mut()
    {
        log.push(Served {
            at: Instant::now(),
            path: path.to_string(),
            etag: etag.clone(),
        });
    }
    Response::builder()
        .status(StatusCode::OK)
        .header(hyper::header::CONTENT_TYPE, "application/rss+xml")
        .header(hyper::header::ETAG, quoted)
        .body(Full::new(body))
        .expect("valid response")
}

// ---- synthetic feeds and subscriptions ------------------------------------------------------

/// Pre-escaped `<title>` and `<description>` of a pool of generated items (1-2 KB each), so
/// that building a feed is only concatenation.
pub struct ItemPool {
    parts: Vec<(String, String)>,
}

impl ItemPool {
    pub fn new(vocab: &gen::Vocabulary, count: usize, seed: u64) -> ItemPool {
        let parts = gen::items(vocab, count, seed)
            .into_iter()
            .map(|item| (xml_escape(&item.title), xml_escape(&item.body)))
            .collect();
        ItemPool { parts }
    }

    /// An RSS 2.0 feed of `items` items for `source`: unique guids and links per source (as
    /// real feeds have), a date per item, the pool's text rotated by source.
    pub fn rss(&self, source: usize, items: usize) -> String {
        let mut out = String::with_capacity(items * 1_900 + 400);
        let _ = writeln!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
             <title>Source {source}</title><link>https://site{source}.example.com/</link>\
             <description>Bench source {source}</description>"
        );
        for k in 0..items {
            let (title, description) = &self.parts[(source * 31 + k) % self.parts.len()];
            let day = 1 + k % 28;
            let _ = writeln!(
                out,
                "<item><title>{title}</title><link>https://site{source}.example.com/story/{k}</link>\
                 <guid isPermaLink=\"false\">s{source}-{k}</guid>\
                 <pubDate>Mon, {day:02} Jun 2025 {:02}:{:02}:00 +0000</pubDate>\
                 <description>{description}</description></item>",
                k % 24,
                (k * 7) % 60
            );
        }
        out.push_str("</channel></rss>\n");
        out
    }
}

/// One integer from the bench's database (0 when it cannot be read yet): for waiting on the
/// running bot's progress.
pub fn query_i64(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .and_then(|c| {
            c.busy_timeout(Duration::from_secs(5))?;
            c.query_row(sql, [], |r| r.get::<_, i64>(0))
        })
        .unwrap_or(0)
}

pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Creates the database at `db` (schema included) and writes `count` generated subscriptions
/// straight into its `subscriptions` table, as Discord members' subscriptions in 1,000
/// servers (a server's members post to one of its 10 channels). Returns how long it took.
pub fn seed_subscriptions(db: &Path, count: usize, seed: u64) -> Duration {
    let started = Instant::now();
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir).expect("create the database directory");
    }
    // Opening through the library applies every migration: the schema is the real one.
    drop(newshound::store::Store::open(db).expect("create the database"));
    if count == 0 {
        return started.elapsed();
    }
    let vocab = gen::Vocabulary::new(200_000, 42);
    let subs = gen::subscriptions(&vocab, count, seed);
    let mut conn = rusqlite::Connection::open(db).expect("open the database");
    let tx = conn.transaction().expect("transaction");
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO subscriptions (origin, user, query, target, guild_id, created_at, kind)
                 VALUES ('discord', ?1, ?2, ?3, ?4, '2025-06-01T00:00:00.000Z', 'member')",
            )
            .expect("prepare");
        for sub in &subs {
            let guild = 1_200_000_000_000_000_000_u64 + (sub.member % 1_000) as u64;
            let user = 1_300_000_000_000_000_000_u64 + sub.member as u64;
            let channel = 1_400_000_000_000_000_000_u64 + (sub.member % 10_000) as u64;
            insert
                .execute(rusqlite::params![
                    user.to_string(),
                    sub.query,
                    format!("channel:{channel}"),
                    guild.to_string()
                ])
                .expect("insert a subscription");
        }
    }
    tx.commit().expect("commit the subscriptions");
    started.elapsed()
}

/// A config with `sources` (name, url) and `[fetch] allow_private_addresses = true`.
pub fn write_config(dir: &Path, sources: &[(String, String)], extra: &str) -> PathBuf {
    let mut text = String::with_capacity(sources.len() * 80 + 400);
    text.push_str(
        "[storage]\npath = \"state/newshound.db\"\n\n[fetch]\nallow_private_addresses = true\n",
    );
    text.push_str(extra);
    text.push('\n');
    for (name, url) in sources {
        let _ = write!(text, "\n[[sources]]\nname = \"{name}\"\nurl = \"{url}\"\n");
    }
    let path = dir.join("newshound.toml");
    std::fs::write(&path, text).expect("write the config");
    path
}

// ---- measuring the child ----------------------------------------------------------------------

/// What one run of the binary cost.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub wall: Duration,
    /// User and system CPU time of the child (`/proc/PID/stat` read while it is a zombie,
    /// i.e. after it exited and before it is reaped: its final figures).
    pub user: Duration,
    pub sys: Duration,
    /// Peak resident set (`VmHWM`, the kernel's high-water mark, sampled every 20 ms until the
    /// process exits).
    pub peak_rss_kib: u64,
}

impl Usage {
    pub fn cpu(&self) -> Duration {
        self.user + self.sys
    }
}

/// `/proc/PID/stat`: the state letter and utime/stime in clock ticks.
fn proc_stat(pid: u32) -> Option<(char, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: fields start after the `)`.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // After the `)`: field 3 is index 0, so utime (14) is index 11 and stime (15) index 12.
    Some((
        state,
        fields.get(11)?.parse().ok()?,
        fields.get(12)?.parse().ok()?,
    ))
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Linux reports times in USER_HZ, which is 100 on every architecture Rust targets there.
const TICKS_PER_SECOND: u64 = 100;

/// A child being measured.
pub struct Measured {
    pub child: Child,
    started: Instant,
    peak: u64,
}

impl Measured {
    /// Starts `command` with stdout and stderr going to `log` (appended).
    pub fn spawn(mut command: Command, log: &Path) -> Measured {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the log");
        let err = out.try_clone().expect("clone the log handle");
        command.stdout(Stdio::from(out)).stderr(Stdio::from(err));
        let started = Instant::now();
        let child = command.spawn().expect("start newshound");
        Measured {
            child,
            started,
            peak: 0,
        }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The highest `VmHWM` sampled so far.
    pub fn peak_kib(&self) -> u64 {
        self.peak
    }

    /// Samples the peak memory now; `true` once the process has exited (a zombie).
    pub fn sample(&mut self) -> bool {
        let pid = self.pid();
        if let Some(kib) = vm_hwm_kib(pid) {
            self.peak = self.peak.max(kib);
        }
        matches!(proc_stat(pid), Some(('Z', _, _)) | None)
    }

    /// Waits (bounded by `limit`, else kills it and panics) for the process to exit, then
    /// reaps it and returns its status and usage.
    pub fn wait(mut self, limit: Duration) -> (ExitStatus, Usage) {
        loop {
            if self.sample() {
                break;
            }
            if self.started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("newshound did not finish within {limit:?}; see its log");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let wall = self.started.elapsed();
        let (_, utime, stime) = proc_stat(self.pid()).unwrap_or(('Z', 0, 0));
        let status = self.child.wait().expect("reap newshound");
        let tick = |t: u64| Duration::from_millis(t * 1000 / TICKS_PER_SECOND);
        (
            status,
            Usage {
                wall,
                user: tick(utime),
                sys: tick(stime),
                peak_rss_kib: self.peak,
            },
        )
    }

    /// Stops it with SIGKILL and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- output ---------------------------------------------------------------------------------

/// A markdown table.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|", header.join(" | "));
    for (i, _) in header.iter().enumerate() {
        out.push_str(if i == 0 { "---|" } else { "---:|" });
    }
    out.push('\n');
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

pub fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn mib(kib: u64) -> String {
    format!("{:.0} MB", kib as f64 / 1024.0)
}

/// The `p`-th percentile (0-100) of `values` (nearest rank; sorts a copy).
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Load average and what else was running, for the record.
pub fn machine_note() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "nproc {}, load average {}",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// Counts per key, for reporting (e.g. HTTP statuses).
pub fn count_by<K: std::hash::Hash + Eq>(keys: impl IntoIterator<Item = K>) -> HashMap<K, usize> {
    let mut out = HashMap::new();
    for k in keys {
        *out.entry(k).or_insert(0) += 1;
    }
    out
}
