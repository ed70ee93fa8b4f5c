//! End to end: the real `newshound run` binary with a token, the real serenity client, a fake
//! Discord on loopback and feeds served by a local HTTP server.

mod common;
mod harness;
mod support;

use std::time::Duration;

use common::{rss, RssItem};
use harness::{
    embed_title, item, member_cmd, reply_text, World, ADMIN, ALICE, BOB, CAROL, OTHER_CHANNEL,
    TOKEN, WAIT,
};
use support::fake_discord::{
    permissions, FakeConfig, FakeDiscord, Fault, Interaction, Route, DEFAULT_CHANNEL_ID,
    DEFAULT_GUILD_ID,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "split in issue 11 by the lead")]
async fn members_subscribe_and_get_exactly_their_alerts() {
    let world = World::new(FakeConfig::default()).await;
    let seed = [RssItem {
        guid: Some("seed"),
        title: "Markets steady before the holiday",
        link: "https://wire.example/seed",
        date: "Sun, 29 Nov 2026 08:00:00 GMT",
        description: "",
    }];
    world.publish(&seed).await;
    let bot = world.start_bot();
    world.ready(&bot).await;

    // Registration: guild commands, the right names, admin commands gated, no intents.
    let registered = world.fake.registered_commands();
    let last = registered.last().unwrap();
    assert_eq!(last.guild_id, Some(DEFAULT_GUILD_ID));
    for name in [
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "preview",
        "sources",
        "alerts",
        "pause",
        "resume",
        "help",
    ] {
        assert!(
            last.names().contains(&name.to_string()),
            "{name} not registered: {:?}",
            last.names()
        );
    }
    let sources_cmd = last
        .commands
        .iter()
        .find(|c| c["name"] == "sources")
        .unwrap();
    assert_eq!(sources_cmd["default_member_permissions"], "32");
    assert_eq!(world.fake.identifies()[0].intents, 0);

    // Alice watches Meta, Bob watches Gemini.
    let r = world
        .command(
            member_cmd("subscribe", ALICE)
                .string_option("query", "Meta")
                .build(),
        )
        .await;
    assert_eq!(r.callback_flags() & 64, 64, "replies are ephemeral");
    assert!(
        reply_text(&r).contains("Subscribed to `Meta`"),
        "{}",
        reply_text(&r)
    );
    let r = world
        .command(
            member_cmd("subscribe", BOB)
                .string_option("query", "Gemini")
                .build(),
        )
        .await;
    assert!(reply_text(&r).contains("Subscribed"), "{}", reply_text(&r));
    let r = world
        .command(
            member_cmd("subscribe", CAROL)
                .string_option("query", "Zebra")
                .build(),
        )
        .await;
    assert!(reply_text(&r).contains("Subscribed"), "{}", reply_text(&r));
    let r = world
        .command(
            member_cmd("subscribe", ALICE)
                .string_option("query", "\"Google Cloud")
                .build(),
        )
        .await;
    assert!(
        reply_text(&r).contains("never closed"),
        "bad query explained: {}",
        reply_text(&r)
    );

    let meta_headline = "EU prepares antitrust probe into Meta’s AI integration on WhatsApp";
    world
        .publish(&[item("m1", meta_headline), seed[0].clone_item()])
        .await;
    let message = world.wait_for_title(meta_headline).await;
    let content = message["content"].as_str().unwrap_or_default();
    assert!(content.contains(&format!("<@{ALICE}>")), "{content}");
    assert!(!content.contains(&BOB.to_string()), "{content}");
    assert_eq!(
        message["allowed_mentions"]["users"],
        serde_json::json!([ALICE.to_string()])
    );
    assert_eq!(message["allowed_mentions"]["parse"], serde_json::json!([]));
    let embed = &message["embeds"][0];
    assert_eq!(embed["url"], "https://wire.example/story/m1");
    assert!(
        embed["author"]["name"]
            .as_str()
            .unwrap_or_default()
            .contains("Wire"),
        "{embed}"
    );
    assert!(
        embed.to_string().contains("<t:"),
        "a Discord timestamp: {embed}"
    );
    assert_eq!(world.fake.messages().len(), 1, "one message for one item");

    // A headline trying to ping everyone pings only Bob.
    let hostile = "Gemini update: @everyone <@123> read this";
    world
        .publish(&[item("h1", hostile), item("m1", meta_headline)])
        .await;
    let message = world.wait_for_title(&support_escaped(hostile)).await;
    assert_eq!(
        message["allowed_mentions"]["users"],
        serde_json::json!([BOB.to_string()])
    );
    assert!(!message["content"]
        .as_str()
        .unwrap_or_default()
        .contains("everyone"));
    assert!(!message["content"]
        .as_str()
        .unwrap_or_default()
        .contains("<@123>"));

    // Autocomplete offers only Alice's own subscriptions.
    let auto = Interaction::autocomplete("unsubscribe")
        .guild(DEFAULT_GUILD_ID)
        .channel(DEFAULT_CHANNEL_ID)
        .member(ALICE, 0)
        .focused_string_option("query", "me")
        .build();
    let r = world.command(auto).await;
    let choices = r
        .callback
        .as_ref()
        .map(|c| c["data"]["choices"].clone())
        .unwrap_or_default();
    assert_eq!(choices.as_array().map(Vec::len), Some(1), "{choices}");
    assert_eq!(choices[0]["value"], "Meta");

    // /unsubscribe stops Alice's alerts; Carol's marker proves the poll happened.
    let r = world
        .command(
            member_cmd("unsubscribe", ALICE)
                .string_option("query", "Meta")
                .build(),
        )
        .await;
    assert!(reply_text(&r).contains("Removed 1"), "{}", reply_text(&r));
    world
        .publish(&[
            item("m2", "Meta opens a data centre in Denmark"),
            item("z1", "Zebra crossings get smarter"),
        ])
        .await;
    world.wait_for_title("Zebra crossings get smarter").await;
    assert!(
        world.messages_mentioning("Denmark").is_empty(),
        "unsubscribed member still alerted"
    );

    // /pause keeps Bob's subscription but stops alerts; /resume brings them back.
    let r = world.command(member_cmd("pause", BOB).build()).await;
    assert!(reply_text(&r).contains("paused"), "{}", reply_text(&r));
    world
        .publish(&[
            item("g2", "Gemini gets a new coding model"),
            item("z2", "Zebra population recovers"),
        ])
        .await;
    world.wait_for_title("Zebra population recovers").await;
    assert!(
        world.messages_mentioning("coding model").is_empty(),
        "paused member alerted"
    );
    world.command(member_cmd("resume", BOB).build()).await;
    world
        .publish(&[item("g3", "Gemini arrives on smart watches")])
        .await;
    let message = world
        .wait_for_title("Gemini arrives on smart watches")
        .await;
    assert!(message["content"]
        .as_str()
        .unwrap_or_default()
        .contains(&BOB.to_string()));

    // /subscriptions lists Bob's own; /preview finds recent items (deferred, ephemeral).
    let r = world
        .command(member_cmd("subscriptions", BOB).build())
        .await;
    assert!(reply_text(&r).contains("`Gemini`"), "{}", reply_text(&r));
    let r = world
        .command(
            member_cmd("subscriptions", BOB)
                .user_option("member", ALICE)
                .build(),
        )
        .await;
    assert!(
        reply_text(&r).contains("only list your own"),
        "{}",
        reply_text(&r)
    );
    let r = world
        .command(
            member_cmd("preview", CAROL)
                .string_option("query", "Meta")
                .build(),
        )
        .await;
    assert_eq!(r.callback_type(), Some(5), "preview is deferred");
    assert!(reply_text(&r).contains("Denmark"), "{}", reply_text(&r));

    // Admin commands: refused for members, address checks for admins.
    let add = |user: u64, perms: u64, url: &str| {
        Interaction::command("sources")
            .guild(DEFAULT_GUILD_ID)
            .channel(DEFAULT_CHANNEL_ID)
            .member(user, perms)
            .subcommand("add", |o| {
                o.string_option("url", url).string_option("name", "Local")
            })
            .build()
    };
    let r = world
        .command_final(add(CAROL, 0, "https://news.example/feed.xml"))
        .await;
    assert!(
        reply_text(&r).contains("Manage Server"),
        "{}",
        reply_text(&r)
    );
    for url in [
        format!("{}/feed.xml", world.feeds.uri()),
        "http://localhost/feed.xml".to_string(),
        "http://[::ffff:127.0.0.1]/feed.xml".to_string(),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "file:///etc/passwd".to_string(),
    ] {
        // `/sources add` is deferred: wait for the edited reply, not just the deferral.
        let r = world
            .command_final(add(ADMIN, permissions::MANAGE_GUILD, &url))
            .await;
        let text = reply_text(&r);
        assert!(
            text.contains("Could not add") && text.to_lowercase().contains("block"),
            "{url}: {text}"
        );
    }
    world.fake.assert_no_violations();
    assert!(!bot.log().contains(TOKEN), "token leaked into the log");
}

/// The title as the bot must render it: mention syntax broken by a zero-width space.
fn support_escaped(title: &str) -> String {
    newshound::core::limits::escape_markdown(title)
}

trait CloneItem<'a> {
    fn clone_item(&self) -> RssItem<'a>;
}

impl<'a> CloneItem<'a> for RssItem<'a> {
    fn clone_item(&self) -> RssItem<'a> {
        RssItem {
            guid: self.guid,
            title: self.title,
            link: self.link,
            date: self.date,
            description: self.description,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "split in issue 11 by the lead")]
async fn discord_faults_lose_nothing_and_post_nothing_twice() {
    let world = World::new(FakeConfig::default()).await;
    world
        .publish(&[item("seed", "Markets steady before the holiday")])
        .await;
    let bot = world.start_bot();
    world.ready(&bot).await;
    world
        .command(
            member_cmd("subscribe", ALICE)
                .string_option("query", "Gemini")
                .build(),
        )
        .await;
    let r = world
        .command(
            member_cmd("subscribe", BOB)
                .string_option("query", "Gemini")
                .channel_option("channel", OTHER_CHANNEL)
                .build(),
        )
        .await;
    assert!(
        reply_text(&r).contains(&format!("<#{OTHER_CHANNEL}>")),
        "{}",
        reply_text(&r)
    );

    // 429 then 500 twice: each message still arrives exactly once.
    world.fake.fail_next(
        Route::CreateMessageIn(DEFAULT_CHANNEL_ID),
        Fault::RateLimited {
            retry_after: 0.3,
            global: false,
        },
    );
    world.fake.fail_times(
        Route::CreateMessageIn(OTHER_CHANNEL),
        Fault::ServerError(500),
        2,
    );
    world
        .publish(&[item("g1", "Gemini tops the benchmark charts")])
        .await;
    world
        .fake
        .wait_until("both channels got the alert", WAIT, |f| {
            !f.messages_in(DEFAULT_CHANNEL_ID).is_empty()
                && !f.messages_in(OTHER_CHANNEL).is_empty()
        })
        .await;

    // 403/50013 in the other channel: the alert is kept, admins are told, and once an admin
    // fixes it (re-selecting the channel) it is delivered once.
    let other_posts = |f: &FakeDiscord| {
        f.requests()
            .iter()
            .filter(|r| {
                r.path
                    .contains(&format!("/channels/{OTHER_CHANNEL}/messages"))
            })
            .count()
    };
    let requests_before = other_posts(&world.fake);
    world.fake.fail_always(
        Route::CreateMessageIn(OTHER_CHANNEL),
        Fault::MissingPermissions,
    );
    world.publish(&[item("g2", "Gemini lands in cars")]).await;
    world.wait_for_title("Gemini lands in cars").await; // Alice's copy in the default channel
    let admin_list = || {
        Interaction::command("sources")
            .guild(DEFAULT_GUILD_ID)
            .channel(DEFAULT_CHANNEL_ID)
            .member(ADMIN, permissions::MANAGE_GUILD)
            .subcommand("list", |o| o)
            .build()
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let r = world.command(admin_list()).await;
        if reply_text(&r).contains("suspended") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "broken channel never reported: {}",
            reply_text(&r)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let attempts_while_broken = other_posts(&world.fake) - requests_before;
    world.fake.clear_faults();
    let fix = Interaction::command("alerts")
        .guild(DEFAULT_GUILD_ID)
        .channel(DEFAULT_CHANNEL_ID)
        .member(ADMIN, permissions::MANAGE_GUILD)
        .subcommand("default", |o| o.channel_option("channel", OTHER_CHANNEL))
        .build();
    world.command(fix).await;
    world
        .fake
        .wait_until("the kept alert reaches the fixed channel", WAIT, |f| {
            f.messages_in(OTHER_CHANNEL)
                .iter()
                .any(|m| embed_title(&m.body) == "Gemini lands in cars")
        })
        .await;
    assert_eq!(
        attempts_while_broken, 1,
        "a 403 must not be retried in a loop"
    );

    // 404/10003: same; nothing posted twice anywhere.
    world
        .fake
        .fail_always(Route::CreateMessageIn(OTHER_CHANNEL), Fault::UnknownChannel);
    world.publish(&[item("g3", "Gemini learns to sing")]).await;
    world.wait_for_title("Gemini learns to sing").await;
    let mut seen = std::collections::HashSet::new();
    for m in world.fake.messages() {
        let key = (
            m.channel_id,
            embed_title(&m.body),
            m.body["content"].as_str().unwrap_or_default().to_string(),
        );
        assert!(seen.insert(key.clone()), "posted twice: {key:?}");
    }
    assert!(world
        .fake
        .messages_in(OTHER_CHANNEL)
        .iter()
        .all(|m| embed_title(&m.body) != "Gemini learns to sing"));
    world.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_delivery_posts_every_alert_exactly_once() {
    let world = World::new(FakeConfig::default()).await;
    world
        .publish(&[item("seed", "Markets steady before the holiday")])
        .await;
    let mut bot = world.start_bot();
    world.ready(&bot).await;
    world
        .command(
            member_cmd("subscribe", ALICE)
                .string_option("query", "Gemini")
                .build(),
        )
        .await;
    let titles: Vec<String> = (1..=12)
        .map(|i| format!("Gemini story number {i}"))
        .collect();
    let guids: Vec<String> = (1..=12).map(|i| format!("story-{i}")).collect();
    let items: Vec<RssItem<'_>> = titles.iter().zip(&guids).map(|(t, g)| item(g, t)).collect();
    world.publish(&items).await;
    // The pacer allows 5 per 5 s per channel: kill the bot part-way through.
    world.fake.wait_for_messages(3, WAIT).await;
    bot.kill();
    let before = world.fake.messages().len();
    assert!(
        before < 12,
        "too late to test a restart ({before} already delivered)"
    );
    let _bot = world.start_bot();
    world
        .fake
        .wait_until("all 12 alerts delivered", Duration::from_secs(60), |f| {
            let posted: std::collections::HashSet<String> =
                f.messages().iter().map(|m| embed_title(&m.body)).collect();
            titles.iter().all(|t| posted.contains(t))
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let posted: Vec<String> = world
        .fake
        .messages()
        .iter()
        .map(|m| embed_title(&m.body))
        .collect();
    for t in &titles {
        assert_eq!(
            posted.iter().filter(|p| *p == t).count(),
            1,
            "{t} posted {posted:?}"
        );
    }
    assert_eq!(
        world.fake.rate_limited_count(),
        0,
        "the pacer let Discord rate-limit us"
    );
    world.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_stops_the_bot_with_a_clear_message() {
    let world = World::new(FakeConfig::default()).await;
    world
        .publish(&[item("seed", "Markets steady before the holiday")])
        .await;
    world.fake.reject_identify(true);
    let mut bot = world.start_bot();
    let deadline = tokio::time::Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = bot.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "bot kept retrying a bad token; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!status.success());
    let log = bot.log();
    assert!(log.contains("DISCORD_TOKEN"), "{log}");
    assert!(!log.contains(TOKEN), "token leaked: {log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dm_alerts_go_to_the_member_and_closed_dms_fall_back_to_a_notice() {
    let world = World::new(FakeConfig::default()).await;
    world
        .publish(&[item("seed", "Markets steady before the holiday")])
        .await;
    let bot = world.start_bot();
    world.ready(&bot).await;
    let set_default = Interaction::command("alerts")
        .guild(DEFAULT_GUILD_ID)
        .channel(DEFAULT_CHANNEL_ID)
        .member(ADMIN, permissions::MANAGE_GUILD)
        .app_permissions(permissions::BOT_CHANNEL)
        .subcommand("default", |o| {
            o.channel_option("channel", DEFAULT_CHANNEL_ID)
        })
        .build();
    let r = world.command(set_default).await;
    assert!(reply_text(&r).contains("now go to"), "{}", reply_text(&r));
    let r = world
        .command(
            member_cmd("subscribe", ALICE)
                .string_option("query", "Walrus")
                .bool_option("dm", true)
                .build(),
        )
        .await;
    assert!(
        reply_text(&r).contains("direct message"),
        "{}",
        reply_text(&r)
    );

    world
        .publish(&[item("w1", "Walrus spotted on a Dutch beach")])
        .await;
    world
        .fake
        .wait_until("a DM to Alice", WAIT, |f| {
            f.dm_channel_of(ALICE)
                .is_some_and(|ch| !f.messages_in(ch).is_empty())
        })
        .await;
    let dm = world.fake.dm_channel_of(ALICE).unwrap();
    assert!(
        world.fake.messages_in(DEFAULT_CHANNEL_ID).is_empty(),
        "a DM alert leaked into the channel"
    );
    assert_eq!(
        world.fake.messages_in(dm)[0].body["allowed_mentions"]["parse"],
        serde_json::json!([])
    );

    // Bob's DMs are closed: the alert comes to the alert channel with a notice for him only.
    world.fake.fail_always(
        Route::CreateDm,
        Fault::Status {
            status: 403,
            code: 50007,
            message: "Cannot send messages to this user".into(),
        },
    );
    world
        .command(
            member_cmd("subscribe", BOB)
                .string_option("query", "Otter")
                .bool_option("dm", true)
                .build(),
        )
        .await;
    world
        .publish(&[item("o1", "Otter family returns to the river")])
        .await;
    let message = world
        .wait_for_title("Otter family returns to the river")
        .await;
    let content = message["content"].as_str().unwrap_or_default();
    assert!(
        content.contains(&format!("<@{BOB}>")) && content.contains("direct message"),
        "{content}"
    );
    assert_eq!(
        message["allowed_mentions"]["users"],
        serde_json::json!([BOB.to_string()])
    );
    assert_eq!(world.fake.messages_in(DEFAULT_CHANNEL_ID).len(), 1);
    world.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_outlet_edits_the_first_alert_instead_of_posting_again() {
    let world = World::new(FakeConfig::default()).await;
    // A second source on the same server: Herald.
    let config = std::fs::read_to_string(&world.config).unwrap().replace(
        "[discord]",
        &format!(
            "[[sources]]\nname = \"Herald\"\nurl = \"{}/herald.xml\"\n\n[discord]",
            world.feeds.uri()
        ),
    );
    std::fs::write(&world.config, config).unwrap();
    let herald = |items: &[RssItem<'_>]| {
        Mock::given(method("GET"))
            .and(path("/herald.xml"))
            .respond_with(ResponseTemplate::new(200).set_body_string(rss(items)))
    };
    world
        .publish(&[item("seed", "Markets steady before the holiday")])
        .await;
    herald(&[item("hseed", "Weather turns cold across the north")])
        .mount(&world.feeds)
        .await;
    let bot = world.start_bot();
    world.ready(&bot).await;
    world
        .command(
            member_cmd("subscribe", ALICE)
                .string_option("query", "Gemini")
                .build(),
        )
        .await;

    let first = "Meta in talks to use Google's Gemini for ads";
    world.publish(&[item("w1", first)]).await;
    herald(&[item("hseed", "Weather turns cold across the north")])
        .mount(&world.feeds)
        .await;
    world.wait_for_title(first).await;

    // Herald reports the same story, and a different Gemini story.
    world.feeds.reset().await;
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(rss(&[item("w1", first)])))
        .mount(&world.feeds)
        .await;
    let same = RssItem {
        guid: Some("h1"),
        title: "Meta weighs Google Gemini models to boost ad targeting",
        link: "https://herald.example/meta-gemini",
        date: "Sun, 29 Nov 2026 09:30:00 GMT",
        description: "",
    };
    let other = RssItem {
        guid: Some("h2"),
        title: "Gemini signs deal with Samsung for phones",
        link: "https://herald.example/samsung",
        date: "Sun, 29 Nov 2026 09:40:00 GMT",
        description: "",
    };
    herald(&[same, other]).mount(&world.feeds).await;
    world
        .wait_for_title("Gemini signs deal with Samsung for phones")
        .await;
    world
        .fake
        .wait_until("the first alert edited with 'Also covered by'", WAIT, |f| {
            f.edits().iter().any(|e| {
                e.body.to_string().contains("Also covered by")
                    && e.body.to_string().contains("Herald")
            })
        })
        .await;
    let titles: Vec<String> = world
        .fake
        .messages()
        .iter()
        .map(|m| embed_title(&m.body))
        .collect();
    assert_eq!(
        titles.len(),
        2,
        "the same story was posted again: {titles:?}"
    );
    let edit = world.fake.edits().into_iter().next().unwrap();
    assert_eq!(edit.message_id, world.fake.messages()[0].message_id);
    world.fake.assert_no_violations();
}

/// A channel waiting for its rate-limit window (5 messages / 5 s) does not hold up alerts for
/// other channels queued behind it: delivery runs one lane per channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_channel_does_not_hold_up_other_channels() {
    let world = World::new(FakeConfig::default()).await;
    world
        .publish(&[item("seed", "Markets steady before the holiday")])
        .await;
    let bot = world.start_bot();
    world.ready(&bot).await;
    world
        .command(
            member_cmd("subscribe", ALICE)
                .string_option("query", "Meta")
                .build(),
        )
        .await;
    world
        .command(
            member_cmd("subscribe", BOB)
                .string_option("query", "Gemini")
                .channel_option("channel", OTHER_CHANNEL)
                .build(),
        )
        .await;
    // Eight Meta items for the default channel, then one Gemini item for the other channel.
    let guids: Vec<String> = (1..=8).map(|i| format!("m{i}")).collect();
    let titles: Vec<String> = (1..=8).map(|i| format!("Meta update number {i}")).collect();
    let mut items: Vec<RssItem<'_>> = (0..8).map(|i| item(&guids[i], &titles[i])).collect();
    items.push(item("g1", "Gemini lands in cars"));
    world.publish(&items).await;
    world.wait_for_title("Gemini lands in cars").await;
    for t in &titles {
        world.wait_for_title(t).await;
    }
    let order: Vec<String> = world
        .fake
        .messages()
        .iter()
        .map(|m| embed_title(&m.body))
        .collect();
    let gemini = order
        .iter()
        .position(|t| t == "Gemini lands in cars")
        .unwrap();
    let sixth_meta = order
        .iter()
        .enumerate()
        .filter(|(_, t)| t.starts_with("Meta update"))
        .nth(5)
        .map(|(i, _)| i)
        .unwrap();
    assert!(
        gemini < sixth_meta,
        "the other channel waited for the busy one: {order:?}"
    );
    assert!(
        order
            .iter()
            .position(|t| t == "Meta update number 1")
            .unwrap()
            < gemini,
        "the Gemini alert was queued behind the Meta ones: {order:?}"
    );
    world.fake.assert_no_violations();
}
