//! Black-box: `/stats` through the fake Discord shows the numbers of a known scenario.

mod support;

use support::commands::{admin_cmd, member_cmd, reply_text, ALICE, BOB, CAROL};
use support::feeds::item;
use support::world::{seed, World};

#[tokio::test(flavor = "multi_thread")]
async fn stats_match_a_known_scenario() {
    let (world, _bot) = World::started().await;
    world.subscribed(ALICE, "Meta", None).await;
    world.subscribed(BOB, "Meta", None).await;
    world.subscribed(BOB, "Gemini", None).await;

    let titles = [
        "Meta opens a new data centre",
        "Meta trims its metaverse budget",
        "Meta tests Gemini for ad targeting",
        "Gemini gets a faster model",
    ];
    world
        .publish(&[
            item("s1", titles[0]),
            item("s2", titles[1]),
            item("s3", titles[2]),
            item("s4", titles[3]),
            seed(),
        ])
        .await;
    for title in titles {
        world.wait_for_title(title).await;
    }
    world.wait_no_pending().await;
    // One alert is older than a day but within the week.
    let three_days_ago = (chrono::Utc::now() - chrono::Duration::days(3))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    world.execute(
        "UPDATE outbox SET created_at = ?1 WHERE id = (SELECT min(id) FROM outbox)",
        newshound::args![three_days_ago],
    );

    let r = world.command_final(admin_cmd("stats").build()).await;
    assert_eq!(r.callback_flags(), 64, "ephemeral");
    let text = reply_text(&r);
    assert!(
        text.contains("**Alerts**: 3 in the last 24 h · 4 in the last 7 days"),
        "{text}"
    );
    assert!(
        text.contains("**Subscriptions**: 3 (2 members with subscriptions)"),
        "{text}"
    );
    assert!(
        text.contains("**Most matched (7 days)**: meta (3), gemini (2)"),
        "{text}"
    );
    assert!(
        text.contains("**Sources** (1):\n• **Wire** (config) · ok"),
        "{text}"
    );

    let r = world
        .command_final(member_cmd("stats", CAROL).build())
        .await;
    assert!(
        reply_text(&r).contains("Manage Server"),
        "{}",
        reply_text(&r)
    );
    world.fake.assert_no_violations();
}
