//! The end-to-end harness shared by the Discord black-box suites: the real `newshound run`
//! binary (`Bot`) against a fake Discord and feeds served by wiremock (`World`), plus small
//! helpers to read what the bot sent. Each test crate includes it with `mod harness;` next to
//! `mod common;` and `mod support;`.
#![allow(
    dead_code,
    reason = "each test crate uses a different subset of the harness"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{rss, RssItem, Setup};
use crate::support::fake_discord::{
    permissions, FakeConfig, FakeDiscord, Interaction, InteractionBuilder, InteractionResponse,
    DEFAULT_CHANNEL_ID, DEFAULT_GUILD_ID,
};

/// How long any bounded wait lasts before the test fails with what it was waiting for.
pub const WAIT: Duration = Duration::from_secs(30);
pub const ALICE: u64 = 1_170_000_000_000_000_101;
pub const BOB: u64 = 1_170_000_000_000_000_102;
pub const CAROL: u64 = 1_170_000_000_000_000_103;
pub const ADMIN: u64 = 1_170_000_000_000_000_104;
pub const OTHER_CHANNEL: u64 = 1_170_000_000_000_000_201;
pub const TOKEN: &str = "e2e-secret-token-value";

/// The bot process; killed (SIGKILL) when dropped.
pub struct Bot {
    pub child: Child,
    pub log: PathBuf,
}

impl Bot {
    /// Starts `newshound run` with `NEWSHOUND_LOG=info`, stderr appended to `log`.
    pub fn start(config: &Path, log: PathBuf) -> Bot {
        Bot::start_with_log_level(config, log, Some("info"))
    }

    /// `level: None` starts it with neither `NEWSHOUND_LOG` nor `RUST_LOG`: the default level.
    pub fn start_with_log_level(config: &Path, log: PathBuf, level: Option<&str>) -> Bot {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_newshound"));
        command
            .args(["run", "--config", config.to_str().unwrap()])
            .env("DISCORD_TOKEN", TOKEN)
            .env_remove("NEWSHOUND_LOG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log_file);
        if let Some(level) = level {
            command.env("NEWSHOUND_LOG", level);
        }
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

/// A temp config directory, a fake Discord, a feed server and the config tying them together.
pub struct World {
    pub setup: Setup,
    pub fake: FakeDiscord,
    pub feeds: MockServer,
    pub config: PathBuf,
}

impl World {
    /// One source, `Wire` at `/feed.xml`, polled every second; guild commands.
    pub async fn new(fake_config: FakeConfig) -> World {
        World::custom(
            fake_config,
            |feeds| format!("[[sources]]\nname = \"Wire\"\nurl = \"{feeds}/feed.xml\"\n"),
            "",
        )
        .await
    }

    /// `body(feeds_uri)` supplies the `[[sources]]`/`[[subscriptions]]` (and anything else but
    /// `[defaults]`/`[discord]`); `discord_extra` is appended to `[discord]`.
    pub async fn custom(
        fake_config: FakeConfig,
        body: impl FnOnce(&str) -> String,
        discord_extra: &str,
    ) -> World {
        let setup = Setup::new();
        let fake = FakeDiscord::start_with(fake_config).await;
        let feeds = MockServer::start().await;
        let config = setup.write_config(&format!(
            "[defaults]\nschedule = \"* * * * * *\"\n\n{}\n[discord]\napi_base_url = \"{}\"\nguild_id = {DEFAULT_GUILD_ID}\n{discord_extra}\n",
            body(&feeds.uri()),
            fake.base_url()
        ));
        World {
            setup,
            fake,
            feeds,
            config,
        }
    }

    /// Serves `items` at `/feed.xml` (replacing every mounted feed).
    pub async fn publish(&self, items: &[RssItem<'_>]) {
        self.feeds.reset().await;
        self.mount("/feed.xml", items).await;
    }

    /// Serves `items` at `feed_path`, in addition to (and before) what is already mounted.
    pub async fn mount(&self, feed_path: &str, items: &[RssItem<'_>]) {
        Mock::given(method("GET"))
            .and(path(feed_path))
            .respond_with(ResponseTemplate::new(200).set_body_string(rss(items)))
            .mount(&self.feeds)
            .await;
    }

    pub fn db_path(&self) -> PathBuf {
        self.setup.path("state/newshound.db")
    }

    pub fn start_bot(&self) -> Bot {
        Bot::start(&self.config, self.setup.path("bot.log"))
    }

    /// Waits until the bot is connected, registered its commands and finished a first poll.
    pub async fn ready(&self, bot: &Bot) {
        self.fake.wait_for_identify(WAIT).await;
        self.fake.wait_for_registered_commands(1, WAIT).await;
        self.wait_sources_initialized(bot, 1).await;
    }

    /// Waits until `count` sources have finished their first poll.
    pub async fn wait_sources_initialized(&self, bot: &Bot, count: i64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let done = self
                .query_i64("SELECT count(*) FROM sources WHERE initialized = 1")
                .unwrap_or(0);
            if done >= count {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{done} of {count} first polls finished; log:\n{}",
                bot.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One integer from the bot's database (read-only; `None` while it cannot be read).
    pub fn query_i64(&self, sql: &str) -> Option<i64> {
        rusqlite::Connection::open(self.db_path())
            .and_then(|c| {
                c.busy_timeout(Duration::from_secs(5))?;
                c.query_row(sql, [], |r| r.get::<_, i64>(0))
            })
            .ok()
    }

    /// One text value from the bot's database (`None` while it cannot be read or is NULL).
    pub fn query_string(&self, sql: &str) -> Option<String> {
        rusqlite::Connection::open(self.db_path())
            .and_then(|c| {
                c.busy_timeout(Duration::from_secs(5))?;
                c.query_row(sql, [], |r| r.get::<_, Option<String>>(0))
            })
            .ok()
            .flatten()
    }

    /// Waits (bounded) until `sql` (a count) returns `expected`.
    pub async fn wait_until_sql(&self, what: &str, sql: &str, expected: i64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self.query_i64(sql);
            if got == Some(expected) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `/subscribe query:` as `user` (to `channel` when given), asserting it was accepted.
    pub async fn subscribed(&self, user: u64, query: &str, channel: Option<u64>) {
        let mut cmd = member_cmd("subscribe", user).string_option("query", query);
        if let Some(channel) = channel {
            cmd = cmd.channel_option("channel", channel);
        }
        let r = self.command(cmd.build()).await;
        assert!(
            reply_text(&r).contains("Subscribed"),
            "/subscribe {query:?} as {user}: {}",
            reply_text(&r)
        );
    }

    /// `/alerts default channel:` as an admin (also how an admin re-selects a suspended channel).
    pub async fn set_alert_channel(&self, channel: u64) {
        let r = self
            .command(
                admin_cmd("alerts")
                    .subcommand("default", |o| o.channel_option("channel", channel))
                    .build(),
            )
            .await;
        assert!(!reply_text(&r).is_empty(), "/alerts default: no reply");
    }

    /// Changes the bot's database while it runs (WAL: the bot keeps working; waits out its
    /// locks). Used to make "30 minutes later" without waiting 30 minutes.
    pub fn execute(&self, sql: &str, params: impl rusqlite::Params) -> usize {
        let conn = rusqlite::Connection::open(self.db_path()).expect("open the bot's database");
        conn.busy_timeout(Duration::from_secs(10))
            .expect("set a busy timeout");
        conn.execute(sql, params)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Alerts neither delivered nor dropped.
    /// Waits (bounded) until the bot has recorded every alert as delivered or dropped: a
    /// message reaches the fake a moment before the bot marks it delivered.
    pub async fn wait_no_pending(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let pending = self.pending_alerts();
            if pending == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{pending} alerts still pending"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pending_alerts(&self) -> i64 {
        self.query_i64(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dropped_at IS NULL",
        )
        .unwrap_or(-1)
    }

    /// Requests the fake answered for `POST /channels/{channel}/messages` with `status`
    /// (`None`: any status).
    pub fn message_posts(&self, channel: u64, status: Option<u16>) -> usize {
        let path = format!("/channels/{channel}/messages");
        self.fake
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with(&path))
            .filter(|r| status.is_none_or(|s| r.status == s))
            .count()
    }

    /// Fails unless every (channel, title, content) the fake holds was posted once.
    pub fn assert_nothing_posted_twice(&self) {
        let mut seen = std::collections::HashSet::new();
        for m in self.fake.messages() {
            let key = (
                m.channel_id,
                embed_title(&m.body),
                m.body["content"].as_str().unwrap_or_default().to_string(),
            );
            assert!(seen.insert(key.clone()), "posted twice: {key:?}");
        }
    }

    pub async fn command(&self, payload: Value) -> InteractionResponse {
        let id = self.fake.dispatch_interaction(payload);
        self.fake.wait_for_interaction_response(id, WAIT).await
    }

    /// Like [`World::command`], but for a deferred answer (type 5) also waits for the edit
    /// carrying the real reply.
    pub async fn command_final(&self, payload: Value) -> InteractionResponse {
        let id = self.fake.dispatch_interaction(payload);
        let first = self.fake.wait_for_interaction_response(id, WAIT).await;
        if first.callback_type() != Some(5) {
            return first;
        }
        self.fake
            .wait_until("the deferred reply", WAIT, move |f| {
                f.interaction_response(id)
                    .is_some_and(|r| !r.original_edits.is_empty() || !r.followups.is_empty())
            })
            .await;
        self.fake.interaction_response(id).expect("waited for it")
    }

    pub fn messages_mentioning(&self, needle: &str) -> Vec<Value> {
        self.fake
            .messages()
            .into_iter()
            .filter(|m| m.body.to_string().contains(needle))
            .map(|m| m.body)
            .collect()
    }

    pub async fn wait_for_title(&self, title: &str) -> Value {
        let t = title.to_string();
        self.fake
            .wait_until(&format!("a message titled {title:?}"), WAIT, move |f| {
                f.messages().iter().any(|m| embed_title(&m.body) == t)
            })
            .await;
        self.fake
            .messages()
            .into_iter()
            .find(|m| embed_title(&m.body) == title)
            .map(|m| m.body)
            .unwrap()
    }
}

pub fn embed_title(body: &Value) -> String {
    body["embeds"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The text of an interaction reply: the callback's content plus the last `@original` edit.
pub fn reply_text(response: &InteractionResponse) -> String {
    let from_callback = response
        .callback
        .as_ref()
        .and_then(|c| c["data"]["content"].as_str())
        .unwrap_or_default();
    let from_edit = response
        .original_edits
        .last()
        .and_then(|e| e["content"].as_str())
        .unwrap_or_default();
    format!("{from_callback}{from_edit}")
}

/// An item whose link is unique to its guid (items sharing a link are one item).
pub fn item<'a>(guid: &'a str, title: &'a str) -> RssItem<'a> {
    let link: &'a str = Box::leak(format!("https://wire.example/story/{guid}").into_boxed_str());
    RssItem {
        guid: Some(guid),
        title,
        link,
        date: "Sun, 29 Nov 2026 09:00:00 GMT",
        description: "",
    }
}

/// A slash command from a plain member in the default guild and channel.
pub fn member_cmd(name: &str, user: u64) -> InteractionBuilder {
    Interaction::command(name)
        .guild(DEFAULT_GUILD_ID)
        .channel(DEFAULT_CHANNEL_ID)
        .member(user, 0)
        .app_permissions(permissions::BOT_CHANNEL)
}

/// A slash command from a member with Manage Server in the default guild and channel.
pub fn admin_cmd(name: &str) -> InteractionBuilder {
    Interaction::command(name)
        .guild(DEFAULT_GUILD_ID)
        .channel(DEFAULT_CHANNEL_ID)
        .member(ADMIN, permissions::MANAGE_GUILD)
        .app_permissions(permissions::BOT_CHANNEL)
}
