//! The real `newshound` binary: one-shot commands (`once`, `fetch`, `sources`, ...) and a
//! running bot (`run`, [`Bot`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

/// The Discord token a [`Bot`] runs with; it must never show up in a log.
pub const TOKEN: &str = "e2e-secret-token-value";

/// The binary with `args` as every test starts it: no Discord token, no config from the
/// environment, warnings only. Tests that need other stdio or a log level adjust it.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_newshound"));
    command
        .args(args)
        .env_remove("DISCORD_TOKEN")
        .env_remove("NEWSHOUND_CONFIG")
        .env_remove("NEWSHOUND_LOG_FORMAT")
        .env_remove("NEWSHOUND_HTTP_TOKEN")
        .env("NEWSHOUND_LOG", "warn");
    if let Some(url) = args
        .iter()
        .position(|a| *a == "--config")
        .and_then(|i| args.get(i + 1))
        .and_then(|config| postgres_for(Path::new(config)))
    {
        command.env("NEWSHOUND_DATABASE_URL", url);
    }
    command
}

/// In the test command's PostgreSQL pass (`NEWSHOUND_TEST_DATABASE=postgres`), the fresh
/// database every run of the config at `config` shares (created on first use); `None` in the
/// SQLite pass, where the config's own `[storage] path` is used.
pub fn postgres_for(config: &Path) -> Option<String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static DATABASES: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    if !newshound::store::testing::unit_tests_on_postgres() {
        return None;
    }
    let key = config.parent().unwrap_or(config).to_path_buf();
    let mut map = DATABASES
        .get_or_init(Default::default)
        .lock()
        .expect("the database map");
    if let Some(url) = map.get(&key) {
        return Some(url.clone());
    }
    let name = key.display().to_string();
    // The blocking client may not run on an async worker: a thread of its own.
    let url = std::thread::spawn(move || newshound::store::testing::fresh_database(&name))
        .join()
        .expect("create a test database")?;
    map.insert(key, url.clone());
    Some(url)
}

/// Runs [`command`] to the end and returns its output.
pub fn newshound(args: &[&str]) -> Output {
    command(args).output().expect("run newshound")
}

/// What one `once --output json` printed.
pub struct OnceRun {
    /// One JSON object per stdout line, in order.
    pub alerts: Vec<serde_json::Value>,
    /// The per-source summary lines (and any warnings).
    pub stderr: String,
}

impl OnceRun {
    /// The summary line of source `name` (`Flaky: FAILED: ...`), or `""`.
    pub fn line(&self, name: &str) -> String {
        self.stderr
            .lines()
            .find(|l| l.starts_with(&format!("{name}: ")))
            .unwrap_or_default()
            .to_string()
    }

    /// Titles of the alerts, in output order.
    pub fn titles(&self) -> Vec<String> {
        titles(&self.alerts)
    }
}

/// `newshound once --config PATH --output json`: the alerts and stderr. Panics unless it
/// exits 0 and every stdout line is JSON.
pub fn once_json(config: &Path) -> OnceRun {
    once_json_with(config, &[])
}

/// [`newshound`] with environment variables `env` set (e.g. the
/// `NEWSHOUND_SHORTHAND_BASE_*` overrides that point shorthands at loopback).
pub fn newshound_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = command(args);
    command.envs(env.iter().copied());
    command.output().expect("run newshound")
}

/// [`once_json`] with `extra` arguments (`--force`).
pub fn once_json_with(config: &Path, extra: &[&str]) -> OnceRun {
    once_json_env(config, extra, &[])
}

/// [`once_json_with`] with environment variables `env` set.
pub fn once_json_env(config: &Path, extra: &[&str], env: &[(&str, &str)]) -> OnceRun {
    let mut args = vec![
        "once",
        "--config",
        config.to_str().unwrap(),
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = newshound_env(&args, env);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "once must exit 0 whatever a source does: {stderr}\n{stdout}"
    );
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

/// `newshound run` with [`TOKEN`]; killed (SIGKILL) when dropped.
pub struct Bot {
    pub child: Child,
    pub log: PathBuf,
}

impl Bot {
    /// Starts `newshound run` with `NEWSHOUND_LOG=info`, stderr appended to `log`.
    pub fn start(config: &Path, log: PathBuf) -> Bot {
        Bot::start_with_log_level(config, log, Some("info"))
    }

    /// [`Bot::start`] with extra environment variables (`NEWSHOUND_LOG_FORMAT`, ...).
    pub fn start_with_env(config: &Path, log: PathBuf, env: &[(&str, &str)]) -> Bot {
        Bot::spawn(config, log, Some("info"), env)
    }

    /// `level: None` starts it with neither `NEWSHOUND_LOG` nor `RUST_LOG`: the default level.
    pub fn start_with_log_level(config: &Path, log: PathBuf, level: Option<&str>) -> Bot {
        Bot::spawn(config, log, level, &[])
    }

    fn spawn(config: &Path, log: PathBuf, level: Option<&str>, env: &[(&str, &str)]) -> Bot {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut command = command(&["run", "--config", config.to_str().unwrap()]);
        command
            .env("DISCORD_TOKEN", TOKEN)
            .env_remove("NEWSHOUND_LOG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log_file);
        if let Some(level) = level {
            command.env("NEWSHOUND_LOG", level);
        }
        command.envs(env.iter().copied());
        let child = command.spawn().expect("start newshound");
        Bot { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL (std's `Child::kill` on Unix), then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits (bounded) for the process to exit on its own; fails with the log otherwise.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bot did not exit within {timeout:?}; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `newshound run --output json` without Discord: alerts arrive as JSON lines on `lines`;
/// stderr (at `info`) goes to `log`. Killed (SIGKILL) when dropped.
pub struct ConsoleBot {
    pub child: Child,
    pub lines: std::sync::mpsc::Receiver<serde_json::Value>,
    pub log: PathBuf,
}

impl ConsoleBot {
    pub fn start(config: &Path, log: PathBuf) -> ConsoleBot {
        use std::io::BufRead as _;
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut child = command(&[
            "run",
            "--config",
            config.to_str().expect("utf-8"),
            "--output",
            "json",
        ])
        .env("NEWSHOUND_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .expect("start newshound run");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let value = serde_json::from_str::<serde_json::Value>(&line).unwrap_or_else(
                    |e| serde_json::json!({ "not_json": line, "error": e.to_string() }),
                );
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        ConsoleBot { child, lines, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The next alert printed within `timeout`; fails with the log otherwise.
    pub fn next_alert(&self, timeout: Duration) -> serde_json::Value {
        match self.lines.recv_timeout(timeout) {
            Ok(alert) => alert,
            Err(e) => panic!("no alert printed ({e}); log:\n{}", self.log()),
        }
    }

    /// Every alert printed so far and not yet taken.
    pub fn printed(&self) -> Vec<serde_json::Value> {
        self.lines.try_iter().collect()
    }
}

impl Drop for ConsoleBot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
