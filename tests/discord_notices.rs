//! Source-health notices (`/alerts log`) through the fake Discord, against the real binary: a
//! source that turns 410 is told once in the log channel however often it is looked at again,
//! a failing source that recovers is told "back to normal" once, and only admins may pick the
//! log channel.

mod support;

use std::time::Duration;

use serde_json::Value;
use wiremock::ResponseTemplate;

use support::binary::Bot;
use support::commands::{admin_cmd, member_cmd, reply_text, ALICE, OTHER_CHANNEL};
use support::fake_discord::FakeConfig;
use support::feeds::{self, item};
use support::world::{seed, World, WAIT};

/// The log channel the admin picks.
const LOG: u64 = OTHER_CHANNEL;

/// `Wire` at `/feed.xml` and `Second` at `/second.xml`, both serving a feed; the bot running,
/// both first polls done, and `/alerts log channel: LOG` set by an admin.
async fn world_with_log() -> (World, Bot) {
    let world = World::custom(
        FakeConfig::default(),
        |feeds| {
            format!(
                "[[sources]]\nname = \"Wire\"\nurl = \"{feeds}/feed.xml\"\n\n[[sources]]\nname = \"Second\"\nurl = \"{feeds}/second.xml\"\n"
            )
        },
        "",
    )
    .await;
    serve_both(&world).await;
    let bot = world.start_bot();
    world.ready(&bot).await;
    world.wait_sources_initialized(&bot, 2).await;
    let r = world
        .command(
            admin_cmd("alerts")
                .subcommand("log", |o| o.channel_option("channel", LOG))
                .build(),
        )
        .await;
    assert!(
        reply_text(&r).contains(&format!("<#{LOG}>")),
        "{}",
        reply_text(&r)
    );
    let shown = world
        .command(admin_cmd("alerts").subcommand("log", |o| o).build())
        .await;
    assert!(
        reply_text(&shown).contains(&format!("<#{LOG}>")),
        "/alerts log shows the channel: {}",
        reply_text(&shown)
    );
    (world, bot)
}

/// Both feeds healthy again (every other route removed).
async fn serve_both(world: &World) {
    world.publish(&[seed()]).await;
    world
        .mount("/second.xml", &[item("s1", "Second source opens")])
        .await;
}

fn notices(world: &World) -> Vec<String> {
    world
        .fake
        .messages_in(LOG)
        .iter()
        .map(|m| m.body["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn assert_mentions_nobody(world: &World) {
    for m in world.fake.messages_in(LOG) {
        assert_eq!(
            m.body["allowed_mentions"]["parse"],
            Value::Array(vec![]),
            "{}",
            m.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_turns_gone_is_told_once() {
    let (world, mut bot) = world_with_log().await;
    bot.kill();
    world.feeds.reset().await;
    world.publish(&[seed()]).await;
    feeds::respond(&world.feeds, "/second.xml", ResponseTemplate::new(410)).await;
    let mut bot = world.start_bot();
    world
        .fake
        .wait_until("the paused notice", WAIT, |_| {
            notices(&world).iter().any(|n| n.contains("paused"))
        })
        .await;
    // More polls of the healthy source, and a restart: the paused one stays told once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    bot.kill();
    let restarted = world.start_bot();
    world.fake.wait_for_identify(WAIT).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let told = notices(&world);
    assert_eq!(told.len(), 1, "{told:?}\nlog:\n{}", restarted.log());
    let text = &told[0];
    assert!(text.contains("**Second** paused"), "{text}");
    assert!(text.contains("410"), "{text}");
    assert!(text.contains("/sources remove"), "{text}");
    assert_eq!(
        world.query_string("SELECT state FROM sources WHERE name = 'Second'"),
        Some("paused".into())
    );
    assert_mentions_nobody(&world);
    world.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_that_recovers_is_back_to_normal_once() {
    let (world, mut bot) = world_with_log().await;
    bot.kill();
    // As if it had failed twice already: the next failure is the third in a row.
    world.execute("UPDATE sources SET failures = 2 WHERE name = 'Second'", &[]);
    world.feeds.reset().await;
    world.publish(&[seed()]).await;
    feeds::respond(&world.feeds, "/second.xml", ResponseTemplate::new(500)).await;
    let mut bot = world.start_bot();
    world
        .fake
        .wait_until("the failing notice", WAIT, |_| {
            notices(&world).iter().any(|n| n.contains("is failing"))
        })
        .await;
    bot.kill();
    // The back-off is over and the server answers again.
    world.execute(
        "UPDATE sources SET next_check_at = NULL WHERE name = 'Second'",
        &[],
    );
    serve_both(&world).await;
    let bot = world.start_bot();
    world
        .fake
        .wait_until("the back-to-normal notice", WAIT, |_| {
            notices(&world).iter().any(|n| n.contains("back to normal"))
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let told = notices(&world);
    assert_eq!(told.len(), 2, "{told:?}\nlog:\n{}", bot.log());
    assert!(told[0].contains("**Second** is failing"), "{}", told[0]);
    assert!(
        told[1].contains("**Second** is back to normal"),
        "{}",
        told[1]
    );
    assert_mentions_nobody(&world);
    world.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cannot_pick_the_log_channel() {
    let (world, _bot) = World::started().await;
    let r = world
        .command(
            member_cmd("alerts", ALICE)
                .subcommand("log", |o| o.channel_option("channel", LOG))
                .build(),
        )
        .await;
    assert_eq!(r.callback_flags() & 64, 64, "the refusal is ephemeral");
    let text = reply_text(&r);
    assert!(text.contains("Manage Server"), "{text}");
    assert!(text.contains("Ask a server admin"), "{text}");
    assert_eq!(
        world.query_i64("SELECT count(*) FROM guilds WHERE log_channel IS NOT NULL"),
        Some(0)
    );
}
