//! Discord faults through the fake Discord, against the real binary: rate limits, server
//! errors, a response lost after Discord accepted the message, broken channels, refused bodies,
//! gateway drops and a token revoked mid-run. Each test proves no alert is lost and none is
//! posted twice (see RELIABILITY-discord.md).

mod support;

use std::time::Duration;

use support::binary::{Bot, TOKEN};
use support::commands::{
    admin_cmd, embed_title, member_cmd, reply_text, ALICE, BOB, OTHER_CHANNEL,
};
use support::fake_discord::{Fault, Route, DEFAULT_CHANNEL_ID};
use support::feeds::item;
use support::world::{seed, World, WAIT};

/// A world with the bot running, its first poll done, and Alice subscribed to `Gemini` in the
/// default channel.
async fn world_with_alice() -> (World, Bot) {
    let (world, bot) = World::started().await;
    world.subscribed(ALICE, "Gemini", None).await;
    (world, bot)
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

fn count_titled(world: &World, channel: u64, title: &str) -> usize {
    world
        .fake
        .messages_in(channel)
        .iter()
        .filter(|m| embed_title(&m.body) == title)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_server_errors_delay_but_never_lose_or_duplicate() {
    let (world, bot) = world_with_alice().await;
    let mut published = vec![seed()];

    // 429 on the route, twice; then a global 429; then three 5xx in a row (one short of the
    // bot's four tries). Each alert still arrives, once.
    world.fake.fail_times(
        Route::CreateMessageIn(DEFAULT_CHANNEL_ID),
        Fault::RateLimited {
            retry_after: 0.4,
            global: false,
        },
        2,
    );
    published.insert(0, item("r1", "Gemini survives a route rate limit"));
    world.publish(&published).await;
    world
        .wait_for_title("Gemini survives a route rate limit")
        .await;

    world.fake.fail_next(
        Route::CreateMessage,
        Fault::RateLimited {
            retry_after: 0.5,
            global: true,
        },
    );
    published.insert(0, item("r2", "Gemini survives a global rate limit"));
    world.publish(&published).await;
    world
        .wait_for_title("Gemini survives a global rate limit")
        .await;

    world.fake.fail_times(
        Route::CreateMessageIn(DEFAULT_CHANNEL_ID),
        Fault::ServerError(502),
        3,
    );
    published.insert(0, item("s1", "Gemini survives three bad gateways"));
    world.publish(&published).await;
    world
        .wait_for_title("Gemini survives three bad gateways")
        .await;

    // Discord down for longer than one delivery's retries: the alert stays queued with the
    // reason, and goes out once Discord is back.
    world.fake.fail_always(
        Route::CreateMessageIn(DEFAULT_CHANNEL_ID),
        Fault::ServerError(503),
    );
    published.insert(0, item("s2", "Gemini waits out an outage"));
    world.publish(&published).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while world
        .query_string("SELECT last_error FROM outbox WHERE delivered_at IS NULL")
        .is_none_or(|e| !e.contains("503"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outage was never recorded on the pending alert; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        world.pending_alerts(),
        1,
        "the alert is kept while Discord is down"
    );
    world.fake.clear_faults();
    // A new alert wakes the deliverer; the kept one goes first.
    published.insert(0, item("s3", "Gemini back after the outage"));
    world.publish(&published).await;
    world.wait_for_title("Gemini back after the outage").await;
    world.wait_for_title("Gemini waits out an outage").await;

    for title in [
        "Gemini survives a route rate limit",
        "Gemini survives a global rate limit",
        "Gemini survives three bad gateways",
        "Gemini waits out an outage",
        "Gemini back after the outage",
    ] {
        assert_eq!(
            count_titled(&world, DEFAULT_CHANNEL_ID, title),
            1,
            "{title} must be posted exactly once"
        );
    }
    let order: Vec<String> = world
        .fake
        .messages_in(DEFAULT_CHANNEL_ID)
        .iter()
        .map(|m| embed_title(&m.body))
        .collect();
    let kept = order.iter().position(|t| t == "Gemini waits out an outage");
    let later = order
        .iter()
        .position(|t| t == "Gemini back after the outage");
    assert!(kept < later, "the kept alert is delivered first: {order:?}");
    world.wait_no_pending().await;
    world.assert_nothing_posted_twice();
    world.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_response_after_discord_accepted_the_message_is_not_posted_twice() {
    let (world, bot) = world_with_alice().await;
    // Discord stores the message but the answer never arrives within the bot's 10 s request
    // timeout: the bot retries with the same nonce, and Discord (the fake) returns the stored
    // message instead of posting a second one.
    world.fake.fail_next(
        Route::CreateMessageIn(DEFAULT_CHANNEL_ID),
        Fault::AcceptThenTimeout(Duration::from_secs(12)),
    );
    world
        .publish(&[item("t1", "Gemini answer lost in transit"), seed()])
        .await;
    world.wait_for_title("Gemini answer lost in transit").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while world.pending_alerts() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the alert was never marked delivered; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        world.message_posts(DEFAULT_CHANNEL_ID, None) >= 2,
        "the bot should have retried after the timeout"
    );
    assert_eq!(
        count_titled(&world, DEFAULT_CHANNEL_ID, "Gemini answer lost in transit"),
        1
    );
    let posted = world.fake.messages_in(DEFAULT_CHANNEL_ID);
    assert_eq!(posted[0].body["enforce_nonce"], true, "{}", posted[0].body);
    world.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_channel_keeps_its_alerts_until_an_admin_fixes_it() {
    let (world, bot) = world_with_alice().await;
    // Alerts default to the main channel; Bob's go to another channel.
    world.set_alert_channel(DEFAULT_CHANNEL_ID).await;
    world.subscribed(BOB, "Gemini", Some(OTHER_CHANNEL)).await;

    let mut published = vec![seed()];
    for (phase, fault) in [
        ("missing permissions", Fault::MissingPermissions),
        ("unknown channel", Fault::UnknownChannel),
    ] {
        world
            .fake
            .fail_always(Route::CreateMessageIn(OTHER_CHANNEL), fault.clone());
        let first = leak(format!("Gemini {phase} first"));
        let second = leak(format!("Gemini {phase} second"));
        let guid1 = leak(format!("{phase}-1"));
        let guid2 = leak(format!("{phase}-2"));
        published.insert(0, item(guid1, first));
        world.publish(&published).await;
        world.wait_for_title(first).await; // Alice's copy
        published.insert(0, item(guid2, second));
        world.publish(&published).await;
        world
            .fake
            .wait_until("Alice's second copy", WAIT, |f| {
                f.messages().iter().any(|m| embed_title(&m.body) == second)
            })
            .await;
        // Both of Bob's are kept; the channel was tried once, not in a loop; admins are told.
        let deadline = tokio::time::Instant::now() + WAIT;
        while world.pending_alerts() < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{phase}: Bob's alerts not kept; log:\n{}",
                bot.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            world.message_posts(
                OTHER_CHANNEL,
                Some(if phase.contains("perm") { 403 } else { 404 })
            ),
            1,
            "{phase}: a broken channel must not be retried in a loop"
        );
        let reason = world
            .query_string(&format!(
                "SELECT broken_reason FROM targets WHERE target = 'channel:{OTHER_CHANNEL}'"
            ))
            .unwrap_or_default();
        assert!(
            reason.contains(if phase.contains("perm") {
                "50013"
            } else {
                "10003"
            }),
            "{phase}: reason kept: {reason:?}"
        );
        world
            .fake
            .wait_until("a notice for admins", WAIT, |f| {
                f.messages_in(DEFAULT_CHANNEL_ID).iter().any(|m| {
                    m.body["content"]
                        .as_str()
                        .unwrap_or_default()
                        .contains(&format!("<#{OTHER_CHANNEL}>"))
                })
            })
            .await;
        let r = world
            .command(admin_cmd("sources").subcommand("list", |o| o).build())
            .await;
        assert!(reply_text(&r).contains("suspended"), "{}", reply_text(&r));

        // Fixed: re-selecting the channel delivers both, once each, in order.
        world.fake.clear_faults();
        world.set_alert_channel(OTHER_CHANNEL).await;
        world
            .fake
            .wait_until("the kept alerts reach the fixed channel", WAIT, |f| {
                let titles: Vec<String> = f
                    .messages_in(OTHER_CHANNEL)
                    .iter()
                    .map(|m| embed_title(&m.body))
                    .collect();
                titles.iter().any(|t| t == first) && titles.iter().any(|t| t == second)
            })
            .await;
        let titles: Vec<String> = world
            .fake
            .messages_in(OTHER_CHANNEL)
            .iter()
            .map(|m| embed_title(&m.body))
            .collect();
        let a = titles.iter().position(|t| *t == first);
        let b = titles.iter().position(|t| *t == second);
        assert!(a < b, "{phase}: kept alerts in order: {titles:?}");
        // Back to the main channel as the default for the next phase.
        world.set_alert_channel(DEFAULT_CHANNEL_ID).await;
    }
    world.wait_no_pending().await;
    world.assert_nothing_posted_twice();
    world.fake.assert_no_violations();
}

/// Moves a suspended channel's `broken_at` and `probed_at` 31 minutes into the past, as if the
/// bot had waited out [`BROKEN_TARGET_PROBE`](newshound::delivery::BROKEN_TARGET_PROBE).
fn half_an_hour_passes_for(world: &World, channel: u64) {
    let earlier = (chrono::Utc::now()
        - newshound::delivery::BROKEN_TARGET_PROBE
        - chrono::Duration::minutes(1))
    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let changed = world.execute(
        "UPDATE targets SET broken_at = ?1, probed_at = ?1 WHERE target = ?2",
        newshound::args![earlier, format!("channel:{channel}")],
    );
    assert_eq!(changed, 1, "channel {channel} is not suspended");
}

/// Bob's alerts to `OTHER_CHANNEL`, oldest first: (title, attempts, delivered).
fn bobs_alerts(world: &World) -> Vec<(String, i64, bool)> {
    let conn = rusqlite::Connection::open(world.db_path()).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT items.title, outbox.attempts, outbox.delivered_at IS NOT NULL
             FROM outbox JOIN items ON items.id = outbox.item_id
             WHERE outbox.target = ?1 ORDER BY outbox.id",
        )
        .unwrap();
    stmt.query_map([format!("channel:{OTHER_CHANNEL}")], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// A suspended channel is retried with one alert once it has been suspended for 30 minutes:
/// still broken, that one attempt fails and the alerts stay kept; fixed, every kept alert goes
/// out once, in order, with no admin action. "30 minutes later" is made by rewriting the
/// suspension's timestamps in the running bot's database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_channel_is_reprobed_after_thirty_minutes_and_delivers_what_it_kept() {
    let (world, bot) = world_with_alice().await;
    world.subscribed(BOB, "Gemini", Some(OTHER_CHANNEL)).await;
    world.fake.fail_always(
        Route::CreateMessageIn(OTHER_CHANNEL),
        Fault::MissingPermissions,
    );

    let titles = [
        "Gemini kept one",
        "Gemini kept two",
        "Gemini kept three",
        "Gemini kept four",
    ];
    let mut published = vec![seed()];
    // Publishes the next title and waits until Alice has it (so the pass that handled it has
    // also decided about Bob's copy) and Bob's copy is recorded.
    let mut publish_next = async |n: usize| {
        published.insert(0, item(leak(format!("probe-{n}")), titles[n]));
        world.publish(&published).await;
        world.wait_for_title(titles[n]).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        while bobs_alerts(&world).len() < n + 1 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "log:\n{}",
                bot.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };

    // Suspended by the first 403; the second alert is kept without a try.
    publish_next(0).await;
    world
        .fake
        .wait_until("the 403 that suspends the channel", WAIT, |f| {
            f.requests().iter().any(|r| r.status == 403)
        })
        .await;
    publish_next(1).await;
    assert_eq!(world.message_posts(OTHER_CHANNEL, Some(403)), 1);

    // 30 minutes later, still broken: one alert (the oldest) is tried, and fails; all kept.
    half_an_hour_passes_for(&world, OTHER_CHANNEL);
    publish_next(2).await;
    world
        .fake
        .wait_until("one probe of the suspended channel", WAIT, |f| {
            f.requests()
                .iter()
                .filter(|r| {
                    r.status == 403 && r.path.ends_with(&format!("/{OTHER_CHANNEL}/messages"))
                })
                .count()
                == 2
        })
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while bobs_alerts(&world)[0].1 < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            bobs_alerts(&world)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        bobs_alerts(&world),
        [
            (titles[0].to_string(), 2, false),
            (titles[1].to_string(), 0, false),
            (titles[2].to_string(), 0, false),
        ],
        "one probe, with the oldest alert; nothing delivered"
    );
    assert!(world.fake.messages_in(OTHER_CHANNEL).is_empty());

    // Fixed in Discord (no admin command): 30 minutes later the next pass delivers all four,
    // once each, in order, and the suspension is lifted.
    world.fake.clear_faults();
    half_an_hour_passes_for(&world, OTHER_CHANNEL);
    publish_next(3).await;
    world
        .fake
        .wait_until("the kept alerts reach the fixed channel", WAIT, |f| {
            f.messages_in(OTHER_CHANNEL).len() >= titles.len()
        })
        .await;
    let posted: Vec<String> = world
        .fake
        .messages_in(OTHER_CHANNEL)
        .iter()
        .map(|m| embed_title(&m.body))
        .collect();
    assert_eq!(posted, titles, "each kept alert once, in order");
    world.wait_no_pending().await;
    assert_eq!(
        world.query_i64(&format!(
            "SELECT count(*) FROM targets WHERE target = 'channel:{OTHER_CHANNEL}'"
        )),
        Some(0),
        "the suspension is lifted"
    );
    assert_eq!(world.message_posts(OTHER_CHANNEL, Some(403)), 2);
    world.assert_nothing_posted_twice();
    world.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_body_is_dropped_with_its_reason_and_never_resent_unchanged() {
    let (world, bot) = world_with_alice().await;
    // 400/50035 for the full alert and for its minimal fallback: dropped, reason kept.
    world.fake.fail_times(
        Route::CreateMessageIn(DEFAULT_CHANNEL_ID),
        Fault::InvalidFormBody,
        2,
    );
    let mut published = vec![item("b1", "Gemini headline Discord refuses"), seed()];
    world.publish(&published).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let reason = loop {
        if let Some(reason) =
            world.query_string("SELECT dropped_reason FROM outbox WHERE dropped_at IS NOT NULL")
        {
            break reason;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refused alert was never dropped; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        reason.contains("50035"),
        "the reason names the error: {reason}"
    );
    assert!(
        bot.log().contains("50035"),
        "the drop is logged, not silent:\n{}",
        bot.log()
    );
    // The next alert goes out normally; the dropped one was tried as-is once, minimal once.
    published.insert(0, item("b2", "Gemini headline Discord accepts"));
    world.publish(&published).await;
    world
        .wait_for_title("Gemini headline Discord accepts")
        .await;
    assert_eq!(world.message_posts(DEFAULT_CHANNEL_ID, Some(400)), 2);
    assert_eq!(world.fake.messages_in(DEFAULT_CHANNEL_ID).len(), 1);
    world.wait_no_pending().await;
    let violations = world.fake.violations();
    assert!(violations.is_empty(), "{violations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_drops_are_resumed_and_commands_still_answered() {
    let (world, bot) = world_with_alice().await;
    for round in 1..=2_usize {
        world.fake.drop_gateway();
        // serenity RESUMEs, the fake answers INVALID_SESSION, serenity IDENTIFYs again.
        world
            .fake
            .wait_until(&format!("RESUME #{round}"), WAIT, move |f| {
                f.resumes() >= round
            })
            .await;
        world.fake.wait_for_identifies(round + 1, WAIT).await;
        let r = world.command(member_cmd("help", BOB).build()).await;
        assert!(
            !reply_text(&r).is_empty(),
            "round {round}: /help unanswered after reconnecting; log:\n{}",
            bot.log()
        );
    }
    world.subscribed(BOB, "Zebra", None).await;
    world
        .publish(&[item("z1", "Zebra and Gemini after the reconnect"), seed()])
        .await;
    let message = world
        .wait_for_title("Zebra and Gemini after the reconnect")
        .await;
    let content = message["content"].as_str().unwrap_or_default();
    assert!(
        content.contains(&ALICE.to_string()) && content.contains(&BOB.to_string()),
        "{content}"
    );
    world.assert_nothing_posted_twice();
    world.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_mid_run_stops_the_bot_and_keeps_the_alerts() {
    let (world, mut bot) = world_with_alice().await;
    world
        .fake
        .fail_always(Route::CreateMessage, Fault::Unauthorized);
    world
        .publish(&[
            item("u1", "Gemini first after revocation"),
            item("u2", "Gemini second after revocation"),
            seed(),
        ])
        .await;
    let status = bot.wait_exit(WAIT).await;
    assert!(!status.success(), "a revoked token is an error exit");
    let log = bot.log();
    assert!(log.contains("DISCORD_TOKEN"), "says what to fix:\n{log}");
    assert!(!log.contains(TOKEN), "token leaked:\n{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(
        world.message_posts(DEFAULT_CHANNEL_ID, Some(401)),
        1,
        "stops at the first 401 instead of posting on"
    );
    assert!(world.fake.messages().is_empty());
    assert_eq!(world.pending_alerts(), 2, "nothing lost");

    // With a good token again, both go out once.
    world.fake.clear_faults();
    let _bot = world.start_bot();
    world
        .fake
        .wait_until("both kept alerts delivered", WAIT, |f| {
            f.messages_in(DEFAULT_CHANNEL_ID).len() >= 2
        })
        .await;
    assert_eq!(
        count_titled(&world, DEFAULT_CHANNEL_ID, "Gemini first after revocation"),
        1
    );
    assert_eq!(
        count_titled(&world, DEFAULT_CHANNEL_ID, "Gemini second after revocation"),
        1
    );
    world.fake.assert_no_violations();
}
