//! Digests and noise control with a controllable clock, through the library: a real SQLite
//! file, the real poll pipeline (a feed file rewritten between polls), members' settings as
//! the slash commands store them, and a recording sink. Every poll and every delivery pass is
//! given its own "now", so hours, days, time zones and DST changes pass in milliseconds.

mod support;

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use newshound::app::App;
use newshound::config::Config;
use newshound::core::alert::Alert;
use newshound::core::digest::{Cadence, Digest, Reason};
use newshound::delivery::{
    deliver_due_digests, drain_outbox_at, Destination, Outgoing, SendError, Sent, Sink,
};
use newshound::pipeline::poll_source;
use newshound::store::digest::{self as held, MemberSettings};
use newshound::store::discord::{add_subscription, KIND_MEMBER};

use support::config::Setup;
use support::feeds::{item, rss, RssItem};

const GUILD: &str = "100";
const ALICE: &str = "201";
const BOB: &str = "202";
const CAROL: &str = "203";
const CHANNEL: &str = "channel:300";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .with_timezone(&Utc)
}

/// Records what a member would see.
#[derive(Default)]
struct Recorder {
    alerts: Mutex<Vec<Alert>>,
    digests: Mutex<Vec<Digest>>,
    /// Titles of first alerts updated with "also covered by".
    updates: Mutex<Vec<String>>,
}

impl Sink for Recorder {
    async fn send(&self, what: Outgoing<'_>, _to: Destination<'_>) -> Result<Sent, SendError> {
        match what {
            Outgoing::Alert(alert) => self.alerts.lock().unwrap().push(alert.clone()),
            Outgoing::Digest(digest) => self.digests.lock().unwrap().push(digest.clone()),
        }
        Ok(Sent::default())
    }

    async fn update(
        &self,
        original: &Alert,
        _message_ids: &[u64],
        _reports: &[Alert],
    ) -> Result<Sent, SendError> {
        self.updates.lock().unwrap().push(original.title.clone());
        Ok(Sent::default())
    }
}

impl Recorder {
    /// (title, subscribers) of the instant alerts so far, and forgets them.
    fn take_alerts(&self) -> Vec<(String, Vec<String>)> {
        std::mem::take(&mut *self.alerts.lock().unwrap())
            .into_iter()
            .map(|a| (a.title, a.subscribers))
            .collect()
    }

    fn take_digests(&self) -> Vec<Digest> {
        std::mem::take(&mut *self.digests.lock().unwrap())
    }
}

/// One config source read from a file this test rewrites, and an empty first poll so that
/// every later item is new.
struct World {
    setup: Setup,
    app: App,
    sink: Recorder,
}

impl World {
    async fn new() -> World {
        let setup = Setup::new();
        std::fs::write(setup.path("feed.xml"), rss(&[])).unwrap();
        std::fs::write(setup.path("herald.xml"), rss(&[])).unwrap();
        let config_path = setup.write_config(
            "[[sources]]\nname = \"Wire\"\nurl = \"feed.xml\"\nschedule = \"0 * * * * *\"\n\n[[sources]]\nname = \"Herald\"\nurl = \"herald.xml\"\nschedule = \"0 * * * * *\"\n",
        );
        let text = std::fs::read_to_string(&config_path).unwrap();
        let config = Config::from_toml(&text, &config_path, setup.dir.path()).expect("config");
        let app = App::start(config).await.expect("app starts");
        let world = World {
            setup,
            app,
            sink: Recorder::default(),
        };
        world.poll(at("2026-01-01T00:00:00Z")).await;
        world
    }

    fn subscribe(&self, user: &str, query: &str, cadence: Cadence) {
        self.subscribe_to(user, query, CHANNEL, cadence);
    }

    fn subscribe_to(&self, user: &str, query: &str, target: &str, cadence: Cadence) {
        self.app
            .store()
            .with(|c| {
                add_subscription(c, KIND_MEMBER, GUILD, user, query, target, Utc::now())?;
                held::set_subscription_cadence(c, GUILD, user, query, target, cadence)?;
                Ok(())
            })
            .unwrap();
    }

    fn settings(&self, user: &str, settings: &MemberSettings) {
        self.app
            .store()
            .with(|c| held::set_member_settings(c, GUILD, user, settings))
            .unwrap();
    }

    async fn reload(&self) {
        self.app.reload_subscriptions().await.unwrap();
    }

    /// Publishes `titles` on Wire and polls.
    async fn publish_and_poll(&self, titles: &[&str], now: DateTime<Utc>) {
        self.publish_on("feed.xml", titles, now).await;
    }

    /// Publishes `titles` in the feed file `file` (Wire: feed.xml, Herald: herald.xml), polls.
    async fn publish_on(&self, file: &str, titles: &[&str], now: DateTime<Utc>) {
        let guids: Vec<String> = titles.iter().map(|t| format!("g-{t}")).collect();
        let links: Vec<String> = titles
            .iter()
            .map(|t| format!("https://wire.example/{}", t.replace(' ', "-")))
            .collect();
        let items: Vec<RssItem<'_>> = titles
            .iter()
            .enumerate()
            .map(|(i, t)| item(&guids[i], t).link(&links[i]))
            .collect();
        std::fs::write(self.setup.path(file), rss(&items)).unwrap();
        self.poll(now).await;
    }

    async fn poll(&self, now: DateTime<Utc>) {
        let sources = self.app.store().active_sources().await.unwrap();
        for source in sources {
            poll_source(&self.app.ctx, &source, now).await;
        }
        drain_outbox_at(self.app.store(), &self.sink, now)
            .await
            .unwrap();
    }

    async fn digests_at(&self, now: DateTime<Utc>) -> Vec<Digest> {
        deliver_due_digests(self.app.store(), &self.sink, now)
            .await
            .unwrap();
        self.sink.take_digests()
    }
}

fn titles(d: &Digest) -> Vec<&str> {
    d.entries.iter().map(|e| e.title.as_str()).collect()
}

#[tokio::test]
async fn hourly_items_arrive_once_as_one_digest_at_the_top_of_the_hour() {
    let w = World::new().await;
    w.subscribe(ALICE, "Gemini", Cadence::Hourly);
    w.subscribe(BOB, "Gemini", Cadence::Instant);
    w.reload().await;

    w.publish_and_poll(
        &["Gemini beats rivals", "Gemini ships to phones"],
        at("2026-03-02T10:15:00Z"),
    )
    .await;
    // Bob is pinged per item; Alice is not.
    let alerts = w.sink.take_alerts();
    assert_eq!(alerts.len(), 2);
    assert!(alerts
        .iter()
        .all(|(_, subs)| subs == &vec![BOB.to_string()]));

    assert!(w.digests_at(at("2026-03-02T10:59:59Z")).await.is_empty());
    let digests = w.digests_at(at("2026-03-02T11:00:00Z")).await;
    assert_eq!(digests.len(), 1);
    let d = &digests[0];
    assert_eq!(d.user, ALICE);
    assert_eq!(d.target, CHANNEL);
    assert_eq!(d.reasons, vec![Reason::Hourly]);
    assert_eq!(
        titles(d),
        vec!["Gemini beats rivals", "Gemini ships to phones"]
    );
    assert_eq!(d.entries[0].matched, vec!["Gemini"]);
    assert_eq!(d.entries[0].source, "Wire");
    assert_eq!(
        d.entries[0].link.as_deref(),
        Some("https://wire.example/Gemini-beats-rivals")
    );
    // Delivered once: later passes send nothing again.
    assert!(w.digests_at(at("2026-03-02T11:00:30Z")).await.is_empty());
    assert!(w.digests_at(at("2026-03-02T12:00:00Z")).await.is_empty());
}

#[tokio::test]
async fn daily_digests_follow_each_members_time_zone_across_a_dst_change() {
    let w = World::new().await;
    let eight = Cadence::parse("daily", Some("08:00")).unwrap();
    w.subscribe(ALICE, "Meta", eight);
    w.subscribe(CAROL, "Meta", eight);
    w.settings(
        ALICE,
        &MemberSettings {
            timezone: Some("Europe/Paris".into()),
            ..MemberSettings::default()
        },
    );
    w.settings(
        CAROL,
        &MemberSettings {
            timezone: Some("America/New_York".into()),
            ..MemberSettings::default()
        },
    );
    w.reload().await;

    // Saturday 2026-03-28, noon UTC. Paris moves to summer time that night (08:00 CEST =
    // 06:00 UTC on Sunday); New York already did on 8 March (08:00 EDT = 12:00 UTC).
    w.publish_and_poll(&["Meta signs Gemini deal"], at("2026-03-28T12:00:00Z"))
        .await;
    assert!(
        w.sink.take_alerts().is_empty(),
        "daily members are not pinged"
    );

    assert!(w.digests_at(at("2026-03-29T05:59:00Z")).await.is_empty());
    let paris = w.digests_at(at("2026-03-29T06:00:00Z")).await;
    assert_eq!(paris.len(), 1);
    assert_eq!(paris[0].user, ALICE);
    assert_eq!(paris[0].reasons, vec![Reason::Daily]);
    assert!(w.digests_at(at("2026-03-29T11:59:00Z")).await.is_empty());
    let new_york = w.digests_at(at("2026-03-29T12:00:00Z")).await;
    assert_eq!(new_york.len(), 1);
    assert_eq!(new_york[0].user, CAROL);
    assert_eq!(titles(&new_york[0]), vec!["Meta signs Gemini deal"]);
}

#[tokio::test]
async fn quiet_hours_hold_alerts_and_deliver_them_as_a_digest_when_they_end() {
    let w = World::new().await;
    w.subscribe(ALICE, "Meta", Cadence::Instant);
    w.settings(
        ALICE,
        &MemberSettings {
            quiet_hours: Some("22:00-07:00".into()),
            ..MemberSettings::default()
        },
    );
    w.reload().await;

    w.publish_and_poll(&["Meta at night"], at("2026-01-15T23:10:00Z"))
        .await;
    w.publish_and_poll(
        &["Meta at night", "Meta before dawn"],
        at("2026-01-16T04:00:00Z"),
    )
    .await;
    assert!(w.sink.take_alerts().is_empty(), "no ping in quiet hours");
    assert!(w.digests_at(at("2026-01-16T06:59:00Z")).await.is_empty());
    let digests = w.digests_at(at("2026-01-16T07:00:00Z")).await;
    assert_eq!(digests.len(), 1);
    assert_eq!(digests[0].reasons, vec![Reason::Quiet]);
    assert_eq!(
        titles(&digests[0]),
        vec!["Meta at night", "Meta before dawn"]
    );
    assert!(digests[0]
        .heading()
        .starts_with("Held during your quiet hours"));

    // After quiet hours: instant again.
    w.publish_and_poll(&["Meta at noon"], at("2026-01-16T12:00:00Z"))
        .await;
    assert_eq!(
        w.sink.take_alerts(),
        vec![("Meta at noon".to_string(), vec![ALICE.to_string()])]
    );
}

#[tokio::test]
async fn the_hourly_cap_overflows_into_the_next_digest_and_loses_nothing() {
    let w = World::new().await;
    w.subscribe(ALICE, "Meta", Cadence::Instant);
    w.subscribe(BOB, "Meta", Cadence::Instant);
    w.settings(
        ALICE,
        &MemberSettings {
            hourly_cap: Some(2),
            ..MemberSettings::default()
        },
    );
    w.reload().await;

    let five = [
        "Meta one",
        "Meta two",
        "Meta three",
        "Meta four",
        "Meta five",
    ];
    w.publish_and_poll(&five, at("2026-01-15T10:10:00Z")).await;
    let alerts = w.sink.take_alerts();
    assert_eq!(alerts.len(), 5, "Bob has no cap: one alert per item");
    let alice_pinged = alerts
        .iter()
        .filter(|(_, subs)| subs.contains(&ALICE.to_string()))
        .count();
    assert_eq!(alice_pinged, 2, "Alice is pinged at most twice this hour");

    let digests = w.digests_at(at("2026-01-15T11:00:00Z")).await;
    assert_eq!(digests.len(), 1);
    assert_eq!(digests[0].user, ALICE);
    assert_eq!(digests[0].reasons, vec![Reason::Cap]);
    assert_eq!(digests[0].entries.len(), 3, "the overflow, none dropped");
    // Every item reached Alice exactly once, by ping or digest.
    let mut seen: Vec<String> = alerts
        .iter()
        .filter(|(_, subs)| subs.contains(&ALICE.to_string()))
        .map(|(t, _)| t.clone())
        .chain(digests[0].entries.iter().map(|e| e.title.clone()))
        .collect();
    seen.sort();
    let mut all: Vec<String> = five.iter().map(ToString::to_string).collect();
    all.sort();
    assert_eq!(seen, all);

    // A new hour: the cap starts over.
    w.publish_and_poll(&["Meta six"], at("2026-01-15T11:05:00Z"))
        .await;
    assert_eq!(
        w.sink.take_alerts(),
        vec![(
            "Meta six".to_string(),
            vec![ALICE.to_string(), BOB.to_string()]
        )]
    );
}

#[tokio::test]
async fn a_snoozed_subscription_is_silent_until_the_snooze_expires() {
    let w = World::new().await;
    w.subscribe(ALICE, "Meta", Cadence::Instant);
    w.app
        .store()
        .with(|c| held::set_snooze(c, GUILD, ALICE, "Meta", Some(at("2026-01-15T12:00:00Z"))))
        .unwrap();
    w.reload().await;

    w.publish_and_poll(&["Meta while snoozed"], at("2026-01-15T11:00:00Z"))
        .await;
    assert!(w.sink.take_alerts().is_empty());
    w.publish_and_poll(
        &["Meta while snoozed", "Meta after the snooze"],
        at("2026-01-15T12:00:01Z"),
    )
    .await;
    assert_eq!(
        w.sink.take_alerts(),
        vec![("Meta after the snooze".to_string(), vec![ALICE.to_string()])]
    );
    // Snoozed items are skipped, not saved for later.
    assert!(w.digests_at(at("2026-01-16T12:00:00Z")).await.is_empty());
}

#[tokio::test]
async fn an_instant_subscription_wins_over_a_digest_for_the_same_member() {
    let w = World::new().await;
    w.subscribe(ALICE, "Meta", Cadence::Instant);
    w.subscribe(ALICE, "Gemini", Cadence::Hourly);
    w.reload().await;
    w.publish_and_poll(&["Meta picks Gemini"], at("2026-01-15T10:10:00Z"))
        .await;
    assert_eq!(
        w.sink.take_alerts(),
        vec![("Meta picks Gemini".to_string(), vec![ALICE.to_string()])]
    );
    assert!(
        w.digests_at(at("2026-01-15T11:00:00Z")).await.is_empty(),
        "not a second time in the digest"
    );
}

#[tokio::test]
async fn held_items_survive_a_restart() {
    let w = World::new().await;
    w.subscribe(ALICE, "Meta", Cadence::Hourly);
    w.reload().await;
    w.publish_and_poll(&["Meta held"], at("2026-01-15T10:10:00Z"))
        .await;
    // A new process on the same database file.
    let config_path = w.setup.path("newshound.toml");
    let text = std::fs::read_to_string(&config_path).unwrap();
    let config = Config::from_toml(&text, &config_path, w.setup.dir.path()).unwrap();
    let Setup { dir } = w.setup;
    drop(w.app);
    let app = App::start(config).await.unwrap();
    let sink = Recorder::default();
    deliver_due_digests(app.store(), &sink, at("2026-01-15T11:00:00Z"))
        .await
        .unwrap();
    let digests = sink.take_digests();
    assert_eq!(digests.len(), 1);
    assert_eq!(titles(&digests[0]), vec!["Meta held"]);
    drop(dir);
}

#[tokio::test]
async fn a_second_report_of_a_story_pings_only_members_who_did_not_get_the_first() {
    let w = World::new().await;
    w.subscribe(ALICE, "Gemini", Cadence::Instant);
    w.subscribe(BOB, "targeting", Cadence::Instant);
    w.reload().await;
    let first = "Meta in talks to use Google's Gemini for ads";
    w.publish_on("feed.xml", &[first], at("2026-01-15T10:00:00Z"))
        .await;
    assert_eq!(
        w.sink.take_alerts(),
        vec![(first.to_string(), vec![ALICE.to_string()])]
    );
    // Herald reports the same story; it also matches Bob, who has not seen it.
    let second = "Meta weighs Google Gemini models to boost ad targeting";
    w.publish_on("herald.xml", &[second], at("2026-01-15T10:20:00Z"))
        .await;
    assert_eq!(
        w.sink.take_alerts(),
        vec![(second.to_string(), vec![BOB.to_string()])],
        "Alice already got this story: she is not pinged again"
    );
    assert!(w.sink.updates.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_second_report_everyone_already_got_updates_the_first_alert() {
    let w = World::new().await;
    w.subscribe(ALICE, "Gemini", Cadence::Instant);
    w.reload().await;
    let first = "Meta in talks to use Google's Gemini for ads";
    w.publish_on("feed.xml", &[first], at("2026-01-15T10:00:00Z"))
        .await;
    assert_eq!(w.sink.take_alerts().len(), 1);
    w.publish_on(
        "herald.xml",
        &["Meta weighs Google Gemini models to boost ad targeting"],
        at("2026-01-15T10:20:00Z"),
    )
    .await;
    assert!(w.sink.take_alerts().is_empty());
    assert_eq!(*w.sink.updates.lock().unwrap(), vec![first.to_string()]);
}

/// Black box: a config subscription with `mode = "hourly"` prints no alert from `once`; the
/// summary says the item is held and when its digest is due.
#[test]
fn once_reports_items_held_for_a_config_users_digest() {
    let setup = Setup::new();
    std::fs::write(
        setup.path("feed.xml"),
        rss(&[item("g1", "Meta signs Gemini deal").link("https://wire.example/1")]),
    )
    .unwrap();
    let config = setup.write_config(
        "[defaults]\nbackfill = 5\n\n[[sources]]\nname = \"Wire\"\nurl = \"feed.xml\"\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"Meta\"\nmode = \"hourly\"\n\n[[subscriptions]]\nuser = \"bob\"\nquery = \"Meta\"\n",
    );
    let run = support::binary::once_json(&config);
    assert_eq!(run.alerts.len(), 1, "only Bob's instant alert");
    assert_eq!(run.alerts[0]["subscribers"], serde_json::json!(["bob"]));
    assert!(
        run.stderr
            .contains("1 item held for digests; the next digest is due at"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_paused_members_digest_waits_for_resume() {
    let w = World::new().await;
    w.subscribe(ALICE, "Meta", Cadence::Hourly);
    w.reload().await;
    w.publish_and_poll(&["Meta held while paused"], at("2026-01-15T10:10:00Z"))
        .await;
    let pause = |paused: bool| {
        w.app
            .store()
            .with(|c| newshound::store::discord::set_paused(c, GUILD, ALICE, paused))
            .unwrap();
    };
    pause(true);
    assert!(w.digests_at(at("2026-01-15T11:00:00Z")).await.is_empty());
    pause(false);
    let digests = w.digests_at(at("2026-01-15T11:30:00Z")).await;
    assert_eq!(digests.len(), 1);
    assert_eq!(titles(&digests[0]), vec!["Meta held while paused"]);
}

#[tokio::test]
async fn a_subscription_limited_to_one_source_ignores_the_others() {
    let w = World::new().await;
    w.subscribe(ALICE, "Gemini", Cadence::Instant);
    w.app
        .store()
        .with(|c| held::set_subscription_source(c, GUILD, ALICE, "Gemini", CHANNEL, Some("Herald")))
        .unwrap();
    w.reload().await;
    w.publish_on(
        "feed.xml",
        &["Gemini on the wire"],
        at("2026-01-15T10:00:00Z"),
    )
    .await;
    assert!(w.sink.take_alerts().is_empty(), "Wire is not Herald");
    w.publish_on(
        "herald.xml",
        &["Gemini in the herald"],
        at("2026-01-15T10:05:00Z"),
    )
    .await;
    assert_eq!(
        w.sink.take_alerts(),
        vec![("Gemini in the herald".to_string(), vec![ALICE.to_string()])]
    );
}

#[tokio::test]
async fn one_story_from_two_outlets_is_listed_once_in_a_digest() {
    let w = World::new().await;
    w.subscribe(ALICE, "Gemini", Cadence::Hourly);
    w.reload().await;
    w.publish_on(
        "feed.xml",
        &[
            "Meta in talks to use Google's Gemini for ads",
            "Gemini ships to phones",
        ],
        at("2026-01-15T10:00:00Z"),
    )
    .await;
    w.publish_on(
        "herald.xml",
        &["Meta weighs Google Gemini models to boost ad targeting"],
        at("2026-01-15T10:20:00Z"),
    )
    .await;
    let digests = w.digests_at(at("2026-01-15T11:00:00Z")).await;
    assert_eq!(digests.len(), 1);
    assert_eq!(
        titles(&digests[0]),
        vec![
            "Meta in talks to use Google's Gemini for ads",
            "Gemini ships to phones"
        ]
    );
    assert_eq!(digests[0].entries[0].also.len(), 1);
    assert_eq!(digests[0].entries[0].also[0].0, "Herald");
}

#[tokio::test]
async fn a_member_pinged_by_dm_does_not_get_the_same_item_in_a_channel_digest() {
    let w = World::new().await;
    w.subscribe_to(ALICE, "Meta", &format!("dm:{ALICE}"), Cadence::Instant);
    w.subscribe(ALICE, "Gemini", Cadence::Daily(chrono::NaiveTime::MIN));
    w.reload().await;
    w.publish_and_poll(
        &["Meta picks Gemini", "Gemini alone"],
        at("2026-01-15T10:10:00Z"),
    )
    .await;
    assert_eq!(
        w.sink.take_alerts(),
        vec![("Meta picks Gemini".to_string(), vec![ALICE.to_string()])]
    );
    let digests = w.digests_at(at("2026-01-16T00:00:00Z")).await;
    assert_eq!(digests.len(), 1);
    assert_eq!(titles(&digests[0]), vec!["Gemini alone"]);
}

/// Start-up compiles the subscriptions in the background: a poll that finishes first waits
/// for them before matching, so no item is matched against an empty set (and lost).
#[tokio::test]
async fn a_poll_waits_for_the_subscriptions_before_matching() {
    use newshound::pipeline::PollContext;
    use newshound::sources::fetch::{FetchSettings, Fetcher};
    use std::sync::Arc;
    let w = World::new().await;
    w.subscribe(ALICE, "Meta", Cadence::Instant);
    w.reload().await;
    let (ready_tx, ready_rx) = tokio::sync::watch::channel(false);
    let ctx = Arc::new(PollContext {
        store: w.app.store().clone(),
        fetcher: Fetcher::new(FetchSettings::default()).unwrap(),
        subscriptions: Arc::clone(&w.app.ctx.subscriptions),
        subscriptions_ready: ready_rx,
        subscriptions_wanted: Arc::default(),
        summary_length: 300,
        allow_private_config_sources: true,
        article_min_chars: std::collections::HashMap::new(),
        default_article_min_chars: 0,
        kinds: std::collections::HashMap::new(),
        summarizer: None,
        push: false,
        push_wanted: Arc::default(),
    });
    std::fs::write(
        w.setup.path("feed.xml"),
        rss(&[item("m1", "Meta while compiling").link("https://wire.example/m1")]),
    )
    .unwrap();
    let sources = w.app.store().active_sources().await.unwrap();
    let wire = sources.into_iter().find(|s| s.name == "Wire").unwrap();
    let poll = {
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move { poll_source(&ctx, &wire, at("2026-01-15T10:00:00Z")).await })
    };
    // Not ready: the poll is parked before matching, nothing recorded yet.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !poll.is_finished(),
        "the poll matched before the subscriptions were ready"
    );
    ready_tx.send(true).unwrap();
    poll.await.unwrap();
    drain_outbox_at(w.app.store(), &w.sink, at("2026-01-15T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        w.sink.take_alerts(),
        vec![("Meta while compiling".to_string(), vec![ALICE.to_string()])]
    );
}
