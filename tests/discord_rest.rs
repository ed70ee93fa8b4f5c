//! Black-box tests of `discord::rest` against the fake Discord on loopback: pacing, retries,
//! the nonce under timeouts, error mapping to `SendError`, DM channels and token hygiene.

mod support;

use std::time::Duration;

use newshound::delivery::SendError;
use newshound::discord::rest::{send_all, DiscordRest, Pacer, RestError, RetryPolicy};
use newshound::discord::OutgoingMessage;
use serde_json::{json, Value};
use support::fake_discord::{FakeConfig, FakeDiscord, Fault, Route, BOT_TOKEN};

const CHANNEL: u64 = 111_111_111_111_111_111;
const OTHER_CHANNEL: u64 = 222_222_222_222_222_222;

/// A valid message body as the renderer makes it: content, no pings, a nonce enforced.
fn payload(content: &str, nonce: &str) -> Value {
    json!({
        "content": content,
        "allowed_mentions": {"parse": []},
        "nonce": nonce,
        "enforce_nonce": true,
    })
}

fn part(content: &str, nonce: &str) -> OutgoingMessage {
    OutgoingMessage {
        payload: payload(content, nonce),
    }
}

fn rest_for(fake: &FakeDiscord, token: &str) -> DiscordRest {
    DiscordRest::new(reqwest::Client::new(), &fake.base_url(), token).expect("valid rest config")
}

/// Back-offs short enough to keep the file fast; the counts stay the production ones.
fn quick(rest: DiscordRest) -> DiscordRest {
    rest.with_retry(RetryPolicy {
        first_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..RetryPolicy::default()
    })
}

/// How many `POST /channels/{channel}/messages` the fake saw (whatever it answered).
fn creates_in(fake: &FakeDiscord, channel: u64) -> usize {
    let path = format!("/api/v10/channels/{channel}/messages");
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .count()
}

#[tokio::test]
async fn two_busy_channels_are_paced_without_a_single_429() {
    let fake = FakeDiscord::start_with(FakeConfig::default()).await;
    let rest = rest_for(&fake, BOT_TOKEN);
    let pacer = Pacer::default();
    let parts = |prefix: &str| -> Vec<OutgoingMessage> {
        (0..12)
            .map(|i| part(&format!("{prefix} {i}"), &format!("{prefix}-{i}")))
            .collect()
    };
    let (first, second) = (parts("a"), parts("b"));
    let (a, b) = tokio::join!(
        send_all(&rest, &pacer, CHANNEL, &first),
        send_all(&rest, &pacer, OTHER_CHANNEL, &second),
    );
    let (a, b) = (
        a.expect("channel a delivered"),
        b.expect("channel b delivered"),
    );
    assert_eq!(
        fake.rate_limited_count(),
        0,
        "the pacer let Discord rate-limit us"
    );
    fake.assert_no_violations();
    for (channel, ids, prefix) in [(CHANNEL, a, "a"), (OTHER_CHANNEL, b, "b")] {
        let posted = fake.messages_in(channel);
        let contents: Vec<&str> = posted
            .iter()
            .map(|m| m.body["content"].as_str().unwrap_or_default())
            .collect();
        let expected: Vec<String> = (0..12).map(|i| format!("{prefix} {i}")).collect();
        assert_eq!(
            contents, expected,
            "parts out of order or missing in {channel}"
        );
        let posted_ids: Vec<u64> = posted.iter().map(|m| m.message_id).collect();
        assert_eq!(
            ids, posted_ids,
            "send_all returned other ids than Discord gave"
        );
    }
}

#[tokio::test]
async fn channel_429_is_waited_out_and_posts_once() {
    let fake = FakeDiscord::start().await;
    fake.fail_next(
        Route::CreateMessage,
        Fault::RateLimited {
            retry_after: 0.5,
            global: false,
        },
    );
    let rest = rest_for(&fake, BOT_TOKEN);
    let ids = send_all(&rest, &Pacer::default(), CHANNEL, &[part("hello", "n-429")])
        .await
        .expect("delivered after the 429");
    assert_eq!(ids.len(), 1);
    assert_eq!(fake.messages().len(), 1);
    assert_eq!(
        creates_in(&fake, CHANNEL),
        2,
        "one 429, then one accepted post"
    );
    fake.assert_no_violations();
}

#[tokio::test]
async fn global_429_is_waited_out_and_posts_once() {
    let fake = FakeDiscord::start().await;
    fake.fail_next(
        Route::CreateMessage,
        Fault::RateLimited {
            retry_after: 0.3,
            global: true,
        },
    );
    let rest = rest_for(&fake, BOT_TOKEN);
    let pacer = Pacer::default();
    send_all(&rest, &pacer, CHANNEL, &[part("one", "g-1")])
        .await
        .expect("delivered after the global 429");
    // The pause has passed: the same pacer still delivers to another channel.
    send_all(&rest, &pacer, OTHER_CHANNEL, &[part("two", "g-2")])
        .await
        .expect("other channel delivered after the pause");
    assert_eq!(fake.messages().len(), 2);
    assert_eq!(creates_in(&fake, CHANNEL), 2);
    fake.assert_no_violations();
}

#[tokio::test]
async fn endless_429s_give_up_after_five_tries() {
    let fake = FakeDiscord::start().await;
    fake.fail_always(
        Route::CreateMessageIn(CHANNEL),
        Fault::RateLimited {
            retry_after: 0.05,
            global: false,
        },
    );
    let rest = rest_for(&fake, BOT_TOKEN);
    let outcome = send_all(&rest, &Pacer::default(), CHANNEL, &[part("x", "n-rl")]).await;
    let Err(SendError::Retry { reason }) = outcome else {
        panic!("expected Retry, got {outcome:?}");
    };
    assert!(reason.contains("rate-limit"), "{reason}");
    assert_eq!(creates_in(&fake, CHANNEL), 5, "not bounded at five tries");
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn very_long_429_is_left_for_a_later_pass() {
    let fake = FakeDiscord::start().await;
    fake.fail_next(
        Route::CreateMessage,
        Fault::RateLimited {
            retry_after: 3600.0,
            global: false,
        },
    );
    let rest = rest_for(&fake, BOT_TOKEN);
    let outcome = send_all(&rest, &Pacer::default(), CHANNEL, &[part("x", "n-long")]).await;
    assert!(
        matches!(outcome, Err(SendError::Retry { .. })),
        "an hour-long wait was not handed back: {outcome:?}"
    );
    assert_eq!(creates_in(&fake, CHANNEL), 1);
}

#[tokio::test]
async fn server_error_twice_then_success_posts_once() {
    let fake = FakeDiscord::start().await;
    fake.fail_times(Route::CreateMessage, Fault::ServerError(500), 2);
    let rest = rest_for(&fake, BOT_TOKEN);
    let ids = send_all(&rest, &Pacer::default(), CHANNEL, &[part("hi", "n-500")])
        .await
        .expect("delivered after two 500s");
    assert_eq!(ids.len(), 1);
    assert_eq!(fake.messages().len(), 1);
    assert_eq!(creates_in(&fake, CHANNEL), 3);
    fake.assert_no_violations();
}

#[tokio::test]
async fn cloudflare_and_plain_text_5xx_are_retried_too() {
    let fake = FakeDiscord::start().await;
    fake.fail_next(Route::CreateMessage, Fault::ServerError(502));
    fake.fail_next(Route::CreateMessage, Fault::ServerError(503));
    let rest = quick(rest_for(&fake, BOT_TOKEN));
    send_all(&rest, &Pacer::default(), CHANNEL, &[part("hi", "n-5xx")])
        .await
        .expect("delivered after a 502 and a 503");
    assert_eq!(fake.messages().len(), 1);
    assert_eq!(creates_in(&fake, CHANNEL), 3);
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_four_tries() {
    let fake = FakeDiscord::start().await;
    fake.fail_always(Route::CreateMessage, Fault::ServerError(500));
    let rest = quick(rest_for(&fake, BOT_TOKEN));
    let outcome = send_all(&rest, &Pacer::default(), CHANNEL, &[part("hi", "n-5")]).await;
    let Err(SendError::Retry { reason }) = outcome else {
        panic!("expected Retry, got {outcome:?}");
    };
    assert!(reason.contains("500"), "{reason}");
    assert_eq!(creates_in(&fake, CHANNEL), 4);
}

#[tokio::test]
async fn timed_out_post_is_resent_without_posting_twice() {
    let fake = FakeDiscord::start().await;
    fake.fail_next(
        Route::CreateMessage,
        Fault::AcceptThenTimeout(Duration::from_secs(5)),
    );
    let rest = rest_for(&fake, BOT_TOKEN).with_timeout(Duration::from_secs(1));
    let ids = send_all(
        &rest,
        &Pacer::default(),
        CHANNEL,
        &[part("once", "n-timeout")],
    )
    .await
    .expect("delivered after the timeout");
    let posted = fake.messages();
    assert_eq!(posted.len(), 1, "the retry posted a second message");
    assert_eq!(ids, vec![posted[0].message_id]);
    assert_eq!(creates_in(&fake, CHANNEL), 2, "no retry after the timeout");
}

#[tokio::test]
async fn unreachable_discord_is_a_retry() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    let rest = quick(
        DiscordRest::new(
            reqwest::Client::new(),
            &format!("http://127.0.0.1:{port}"),
            "t",
        )
        .expect("valid rest config"),
    );
    let outcome = send_all(&rest, &Pacer::default(), CHANNEL, &[part("x", "n-down")]).await;
    let Err(SendError::Retry { reason }) = outcome else {
        panic!("expected Retry, got {outcome:?}");
    };
    assert!(reason.contains("could not reach Discord"), "{reason}");
}

#[tokio::test]
async fn missing_permissions_breaks_the_target_without_retrying() {
    let fake = FakeDiscord::start().await;
    fake.fail_always(Route::CreateMessage, Fault::MissingPermissions);
    let rest = rest_for(&fake, BOT_TOKEN);
    let outcome = send_all(&rest, &Pacer::default(), CHANNEL, &[part("x", "n-403")]).await;
    assert_eq!(
        outcome,
        Err(SendError::TargetBroken {
            reason: format!(
                "the bot cannot post in <#{CHANNEL}>: Missing Permissions (50013) — give it \
                 View Channel, Send Messages and Embed Links"
            )
        })
    );
    assert_eq!(creates_in(&fake, CHANNEL), 1, "a 403 was retried");
}

#[tokio::test]
async fn missing_access_breaks_the_target() {
    let fake = FakeDiscord::start().await;
    fake.fail_always(Route::CreateMessage, Fault::MissingAccess);
    let rest = rest_for(&fake, BOT_TOKEN);
    let outcome = send_all(&rest, &Pacer::default(), CHANNEL, &[part("x", "n-50001")]).await;
    let Err(SendError::TargetBroken { reason }) = outcome else {
        panic!("expected TargetBroken, got {outcome:?}");
    };
    assert!(reason.contains("Missing Access (50001)"), "{reason}");
    assert_eq!(creates_in(&fake, CHANNEL), 1);
}

#[tokio::test]
async fn deleted_channel_breaks_the_target() {
    let fake = FakeDiscord::start().await;
    fake.fail_always(Route::CreateMessage, Fault::UnknownChannel);
    let rest = rest_for(&fake, BOT_TOKEN);
    let outcome = send_all(&rest, &Pacer::default(), CHANNEL, &[part("x", "n-404")]).await;
    assert_eq!(
        outcome,
        Err(SendError::TargetBroken {
            reason: format!("channel <#{CHANNEL}> no longer exists (10003)")
        })
    );
    assert_eq!(creates_in(&fake, CHANNEL), 1);
}

#[tokio::test]
async fn invalid_form_body_is_rejected_and_sent_once() {
    let fake = FakeDiscord::start().await;
    fake.fail_always(Route::CreateMessage, Fault::InvalidFormBody);
    let rest = rest_for(&fake, BOT_TOKEN);
    let outcome = send_all(&rest, &Pacer::default(), CHANNEL, &[part("x", "n-400")]).await;
    let Err(SendError::Rejected { reason }) = outcome else {
        panic!("expected Rejected, got {outcome:?}");
    };
    assert!(
        reason.contains("content: Must be 2000 or fewer in length."),
        "the reason does not name the field: {reason}"
    );
    assert!(reason.contains("(50035)"), "{reason}");
    assert_eq!(creates_in(&fake, CHANNEL), 1, "the same payload was resent");
}

#[tokio::test]
async fn overlong_content_is_rejected_by_discord_with_the_field_named() {
    let fake = FakeDiscord::start().await;
    let rest = rest_for(&fake, BOT_TOKEN);
    let too_long = "x".repeat(2001);
    let outcome = send_all(
        &rest,
        &Pacer::default(),
        CHANNEL,
        &[part(&too_long, "n-long")],
    )
    .await;
    let Err(SendError::Rejected { reason }) = outcome else {
        panic!("expected Rejected, got {outcome:?}");
    };
    assert!(reason.contains("content:"), "{reason}");
    assert_eq!(creates_in(&fake, CHANNEL), 1);
}

#[tokio::test]
async fn bad_token_is_fatal() {
    let fake = FakeDiscord::start().await;
    fake.fail_always(Route::Any, Fault::Unauthorized);
    let rest = rest_for(&fake, BOT_TOKEN);
    let outcome = send_all(&rest, &Pacer::default(), CHANNEL, &[part("x", "n-401")]).await;
    assert_eq!(
        outcome,
        Err(SendError::Fatal {
            reason: "Discord rejected the bot token (401) — check DISCORD_TOKEN".to_string()
        })
    );
    assert_eq!(fake.requests().len(), 1, "requests went on after a 401");
}

#[tokio::test]
async fn parts_go_out_in_order_and_stop_at_the_first_broken_one() {
    let fake = FakeDiscord::start().await;
    let rest = rest_for(&fake, BOT_TOKEN);
    let pacer = Pacer::default();
    let parts = [part("p1", "m-1"), part("p2", "m-2"), part("p3", "m-3")];
    let ids = send_all(&rest, &pacer, CHANNEL, &parts)
        .await
        .expect("three parts delivered");
    assert_eq!(ids.len(), 3);
    let all: Vec<u64> = fake.messages().iter().map(|m| m.message_id).collect();
    assert_eq!(ids, all);

    // Second alert: its first part goes out, the channel then loses permissions.
    fake.fail_always(
        Route::Path {
            method: "POST".to_string(),
            prefix: format!("/channels/{OTHER_CHANNEL}/"),
        },
        Fault::MissingPermissions,
    );
    let outcome = send_all(&rest, &pacer, OTHER_CHANNEL, &parts).await;
    assert!(
        matches!(outcome, Err(SendError::TargetBroken { .. })),
        "{outcome:?}"
    );
    assert_eq!(
        creates_in(&fake, OTHER_CHANNEL),
        1,
        "went on after a broken part"
    );
}

#[tokio::test]
async fn empty_alert_sends_nothing() {
    let fake = FakeDiscord::start().await;
    let rest = rest_for(&fake, BOT_TOKEN);
    let ids = send_all(&rest, &Pacer::default(), CHANNEL, &[])
        .await
        .expect("nothing to send is fine");
    assert!(ids.is_empty());
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn dm_channel_is_created_once_and_takes_messages() {
    let fake = FakeDiscord::start().await;
    let rest = rest_for(&fake, BOT_TOKEN);
    let user = 333_333_333_333_333_333;
    let channel = rest.dm_channel(user).await.expect("DM channel opened");
    assert_eq!(Some(channel), fake.dm_channel_of(user));
    // A clone shares the cache: no second request for the same user.
    let again = rest
        .clone()
        .dm_channel(user)
        .await
        .expect("cached DM channel");
    assert_eq!(again, channel);
    let opened = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v10/users/@me/channels")
        .count();
    assert_eq!(opened, 1, "the DM channel was not cached");
    send_all(&rest, &Pacer::default(), channel, &[part("psst", "dm-1")])
        .await
        .expect("DM delivered");
    assert_eq!(fake.messages_in(channel).len(), 1);
    fake.assert_no_violations();
}

#[tokio::test]
async fn edit_changes_a_posted_message() {
    let fake = FakeDiscord::start().await;
    let rest = rest_for(&fake, BOT_TOKEN);
    let id = rest
        .create_message(CHANNEL, &payload("before", "e-1"))
        .await
        .expect("posted");
    rest.edit_message(
        CHANNEL,
        id,
        &json!({"content": "after", "allowed_mentions": {"parse": []}}),
    )
    .await
    .expect("edited");
    let edits = fake.edits();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].message_id, id);
    assert_eq!(edits[0].body["content"], "after");
    fake.assert_no_violations();
}

#[tokio::test]
async fn editing_an_unknown_message_reports_discords_code() {
    let fake = FakeDiscord::start().await;
    let rest = rest_for(&fake, BOT_TOKEN);
    let error = rest
        .edit_message(CHANNEL, 42, &json!({"content": "x"}))
        .await
        .expect_err("no such message");
    assert_eq!(error.status(), Some(404));
    assert_eq!(error.code(), Some(10008));
    assert_eq!(
        error.to_string(),
        "Discord answered 404: Unknown Message (10008)"
    );
}

#[tokio::test]
async fn token_appears_in_no_error_or_debug_text() {
    let token = "MTAxNTk.super-secret-token.xyz";
    let fake = FakeDiscord::start().await;
    let rest = rest_for(&fake, token).with_timeout(Duration::from_millis(500));
    let rest = quick(rest);
    let pacer = Pacer::default();
    let mut texts = vec![format!("{rest:?}"), format!("{pacer:?}")];

    let faults = [
        Fault::Unauthorized,
        Fault::MissingPermissions,
        Fault::UnknownChannel,
        Fault::InvalidFormBody,
        Fault::ServerError(500),
        Fault::ServerError(502),
        Fault::RateLimited {
            retry_after: 0.01,
            global: true,
        },
        Fault::AcceptThenTimeout(Duration::from_secs(2)),
    ];
    let mut errors: Vec<RestError> = Vec::new();
    for (i, fault) in faults.into_iter().enumerate() {
        fake.fail_next(Route::Any, fault);
        let nonce = format!("t-{i}");
        errors.push(
            rest.create_message(CHANNEL, &payload("x", &nonce))
                .await
                .expect_err("the fault fails the request"),
        );
        fake.fail_always(Route::Any, Fault::Unauthorized);
        texts.push(format!(
            "{:?}",
            send_all(&rest, &pacer, CHANNEL, &[part("x", &nonce)]).await
        ));
        fake.clear_faults();
    }
    errors.push(
        rest.dm_channel(0)
            .await
            .expect_err("recipient 0 is invalid"),
    );
    for error in &errors {
        texts.push(error.to_string());
        texts.push(format!("{error:?}"));
    }
    let bad = DiscordRest::new(reqwest::Client::new(), "not a url", token)
        .expect_err("the base URL is not a URL");
    texts.push(format!("{bad:#}"));
    texts.push(format!("{bad:?}"));
    for text in &texts {
        assert!(!text.contains("super-secret"), "the token leaked: {text}");
    }
    // And the token did go out, in the header only.
    assert!(fake.requests().len() >= errors.len());
}
