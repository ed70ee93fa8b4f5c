//! Started worlds, so an end-to-end test reads as the scenario it checks.
//!
//! [`World`]: a temp config, feeds on a local server, a fake Discord and the real
//! `newshound run` ([`World::started`]); members subscribe, the wire publishes, the test waits
//! for the message. [`OnceWorld`]: a temp config and feeds on a local server, no Discord,
//! driven one pass at a time with `newshound once` ([`OnceWorld::started`]: past its first).

use std::path::PathBuf;
use std::time::Duration;

use newshound::store::db::{Conn, Value as DbValue};
use serde_json::Value;
use wiremock::{MockServer, ResponseTemplate};

use super::binary::{once_json, Bot, OnceRun};
use super::commands::{admin_cmd, embed_title, member_cmd, reply_text};
use super::config::Setup;
use super::fake_discord::{FakeConfig, FakeDiscord, InteractionResponse, DEFAULT_GUILD_ID};
use super::feeds::{self, item, RssItem};

/// How long any bounded wait lasts before the test fails with what it was waiting for.
pub const WAIT: Duration = Duration::from_secs(30);

/// The item a [`World::started`] or [`OnceWorld::started`] wire holds before the test begins
/// (recorded by the first poll, so it never alerts).
pub fn seed() -> RssItem<'static> {
    item("seed", "Markets steady before the holiday")
}

/// A temp config directory, a fake Discord, a feed server and the config tying them together.
pub struct World {
    pub setup: Setup,
    pub fake: FakeDiscord,
    pub feeds: MockServer,
    pub config: PathBuf,
}

impl World {
    /// The usual start: [`World::new`] with the default fake, the wire holding [`seed`], the
    /// bot running, connected, its commands registered and its first poll done.
    pub async fn started() -> (World, Bot) {
        let world = World::new(FakeConfig::default()).await;
        world.publish(&[seed()]).await;
        let bot = world.start_bot();
        world.ready(&bot).await;
        (world, bot)
    }

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
        feeds::publish(&self.feeds, items).await;
    }

    /// Serves `items` at `feed_path`, in addition to (and before) what is already mounted.
    pub async fn mount(&self, feed_path: &str, items: &[RssItem<'_>]) {
        feeds::serve(&self.feeds, feed_path, feeds::rss(items)).await;
    }

    pub fn db_path(&self) -> PathBuf {
        self.setup.db_path()
    }

    /// The paths the feed server has been asked for, in order.
    pub async fn asked_paths(&self) -> Vec<String> {
        self.feeds
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| r.url.path().to_string())
            .collect()
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
        self.with_db(|c| c.query_row(sql, &[], |r| r.get::<i64>(0)).ok())
            .flatten()
    }

    /// Runs `f` on a connection of its own to the bot's database: the SQLite file, or the
    /// PostgreSQL database of the test command's PostgreSQL pass (`None`: it cannot be opened).
    pub fn with_db<R: Send>(&self, f: impl FnOnce(&Conn) -> R + Send) -> Option<R> {
        let postgres = super::binary::postgres_for(&self.setup.path("newshound.toml"));
        let path = self.db_path();
        std::thread::scope(|s| {
            s.spawn(move || {
                let conn = if let Some(url) = postgres {
                    Conn::postgres(&url).ok()?
                } else {
                    let c = rusqlite::Connection::open(path).ok()?;
                    c.busy_timeout(Duration::from_secs(10)).ok()?;
                    Conn::sqlite(c)
                };
                Some(f(&conn))
            })
            .join()
            .expect("a database query in a test")
        })
    }

    /// One text value from the bot's database (`None` while it cannot be read or is NULL).
    pub fn query_string(&self, sql: &str) -> Option<String> {
        self.with_db(|c| c.query_row(sql, &[], |r| r.get::<Option<String>>(0)).ok())
            .flatten()
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

    /// `/subscribe query:` as `user` in the default channel; the reply, unchecked.
    pub async fn subscribe(&self, user: u64, query: &str) -> InteractionResponse {
        self.command(
            member_cmd("subscribe", user)
                .string_option("query", query)
                .build(),
        )
        .await
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

    /// `/sources add url: name:` as an admin; the final (deferred) reply.
    pub async fn add_source(&self, url: &str, name: &str) -> InteractionResponse {
        self.command_final(
            admin_cmd("sources")
                .subcommand("add", |o| {
                    o.string_option("url", url).string_option("name", name)
                })
                .build(),
        )
        .await
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
    pub fn execute(&self, sql: &str, params: &[DbValue]) -> usize {
        self.with_db(|c| {
            c.execute(sql, params)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        })
        .expect("open the bot's database")
    }

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

    /// Alerts neither delivered nor dropped (`-1` while the database cannot be read).
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

    /// [`World::command`], and the text of its reply.
    pub async fn reply(&self, payload: Value) -> String {
        reply_text(&self.command(payload).await)
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

    /// Titles of every message posted so far, in order.
    pub fn posted_titles(&self) -> Vec<String> {
        self.fake
            .messages()
            .iter()
            .map(|m| embed_title(&m.body))
            .collect()
    }

    /// Waits (bounded) for a message titled `title`; its body.
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

/// A temp config directory and a feed server, no Discord: one `newshound once` pass at a time.
pub struct OnceWorld {
    pub setup: Setup,
    pub feeds: MockServer,
    pub config: PathBuf,
}

impl OnceWorld {
    /// One source, `Wire` at `/feed.xml`, and `subscriptions` (TOML) after it.
    pub async fn new(subscriptions: &str) -> OnceWorld {
        OnceWorld::custom(|feeds| {
            format!("[[sources]]\nname = \"Wire\"\nurl = \"{feeds}/feed.xml\"\n\n{subscriptions}")
        })
        .await
    }

    /// [`OnceWorld::new`] after its [`OnceWorld::baseline`] pass.
    pub async fn started(subscriptions: &str) -> OnceWorld {
        let world = OnceWorld::new(subscriptions).await;
        world.baseline().await;
        world
    }

    /// Publishes [`seed`] and runs the first pass, which records it and alerts nothing.
    pub async fn baseline(&self) {
        self.publish(&[seed()]).await;
        let first = self.once_json();
        assert!(
            first.alerts.is_empty(),
            "a first poll only records: {:?}",
            first.titles()
        );
    }

    /// `body(feeds_uri)` is the whole config after `[storage]` and `[fetch]`.
    pub async fn custom(body: impl FnOnce(&str) -> String) -> OnceWorld {
        let setup = Setup::new();
        let feeds = MockServer::start().await;
        let config = setup.write_config(&body(&feeds.uri()));
        OnceWorld {
            setup,
            feeds,
            config,
        }
    }

    /// The feed server's base URL.
    pub fn uri(&self) -> String {
        self.feeds.uri()
    }

    /// Serves `items` at `/feed.xml` (replacing every mounted route).
    pub async fn publish(&self, items: &[RssItem<'_>]) {
        feeds::publish(&self.feeds, items).await;
    }

    /// Serves the feed document `body` at `route`, in addition to what is mounted.
    pub async fn serve(&self, route: &str, body: String) {
        feeds::serve(&self.feeds, route, body).await;
    }

    /// Answers `GET route` with `template`, in addition to what is mounted.
    pub async fn respond(&self, route: &str, template: ResponseTemplate) {
        feeds::respond(&self.feeds, route, template).await;
    }

    /// One `once --output json` pass over the config.
    pub fn once_json(&self) -> OnceRun {
        once_json(&self.config)
    }
}
