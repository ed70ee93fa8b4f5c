//! Abuse and privacy, against the real binary and the fake Discord: hostile slash-command
//! input, quotas, every kind of internal address for `/sources add`, members reaching for each
//! other's subscriptions, two servers that must not see each other, DMs, and what the logs may
//! contain (never the token; at the default level no message contents).

mod support;

use std::time::Duration;

use support::binary::{Bot, TOKEN};
use support::commands::{
    admin_cmd, embed_title, member_cmd, reply_text, ALICE, BOB, CAROL, OTHER_CHANNEL,
};
use support::fake_discord::{
    permissions, FakeConfig, Fault, Interaction, InteractionResponse, Route, DEFAULT_CHANNEL_ID,
    DEFAULT_GUILD_ID,
};
use support::feeds::item;
use support::world::{seed, World, WAIT};

const GUILD_B: u64 = 1_170_000_000_000_000_901;
const CHANNEL_B: u64 = 1_170_000_000_000_000_902;
const BROKEN_B: u64 = 1_170_000_000_000_000_903;
const DAVE: u64 = 1_170_000_000_000_000_105;
const ADMIN_B: u64 = 1_170_000_000_000_000_106;

fn assert_sane_reply(r: &InteractionResponse, input: &str) {
    let text = reply_text(r);
    assert!(!text.is_empty(), "{input:?}: no reply");
    assert_eq!(
        r.callback_flags() & 64,
        64,
        "{input:?}: errors are ephemeral"
    );
    assert!(
        !text.contains("Something went wrong"),
        "{input:?}: an internal error: {text}"
    );
    if let Some(allowed) = r.callback.as_ref().map(|c| &c["data"]["allowed_mentions"]) {
        let parse = allowed["parse"].to_string();
        assert!(
            !parse.contains("everyone") && !parse.contains("roles") && !parse.contains("users"),
            "{input:?}: the reply may ping: {allowed}"
        );
    }
}

async fn subscribe(world: &World, user: u64, query: &str) -> String {
    let r = world.subscribe(user, query).await;
    assert_sane_reply(&r, query);
    reply_text(&r)
}

fn member_queries(world: &World, user: u64) -> Vec<String> {
    let conn = rusqlite::Connection::open(world.db_path()).expect("open db");
    let mut stmt = conn
        .prepare("SELECT query FROM subscriptions WHERE user = ?1 ORDER BY id")
        .unwrap();
    stmt.query_map([user.to_string()], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_command_input_is_refused_or_made_harmless() {
    let (world, bot) = World::started().await;
    let five_hundred_words = (0..500)
        .map(|i| format!("word{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let refused: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        ("   ".into(), "empty"),
        ("\u{200B}\u{200D}\u{FEFF}".into(), "empty"),
        ("x".repeat(6000), "limit is 300"),
        (five_hundred_words, "limit is 300"),
        ("\"Google Cloud".into(), "never closed"),
        ("@everyone".into(), "mentions"),
        ("Gemini @here".into(), "mentions"),
        ("<@&1170000000000000777>".into(), "mentions"),
        ("<@1170000000000000102>".into(), "mentions"),
        ("line one\nline two".into(), "control characters"),
    ];
    for (input, why) in &refused {
        let text = subscribe(&world, ALICE, input).await;
        assert!(
            text.contains(why) && !text.contains("Subscribed"),
            "{input:?} should be refused ({why}): {text}"
        );
    }
    assert!(member_queries(&world, ALICE).is_empty(), "nothing stored");

    // Accepted, but cleaned: invisible and direction-changing characters removed, markdown and
    // code fences unable to break out of the reply's code span.
    let text = subscribe(&world, ALICE, "Ge\u{200B}mi\u{2060}ni").await;
    assert!(text.contains("`Gemini`"), "{text}");
    let text = subscribe(&world, ALICE, "\u{202E}Zebra\u{202C}").await;
    assert!(
        text.contains("`Zebra`") && !text.contains('\u{202E}'),
        "{text}"
    );
    let text = subscribe(&world, ALICE, "🚀 launch").await;
    assert!(text.contains("no letters or digits"), "{text}");
    let text = subscribe(&world, ALICE, "launch").await;
    assert!(text.contains("Subscribed"), "{text}");
    let text = subscribe(&world, ALICE, "**bold** ```fence``` `tick` _x_").await;
    assert!(
        text.matches('`').count() % 2 == 0,
        "backticks balanced in the reply: {text}"
    );
    assert!(!text.contains("```"), "{text}");
    let stored = member_queries(&world, ALICE);
    assert!(stored.contains(&"Gemini".to_string()), "{stored:?}");
    assert!(
        stored
            .iter()
            .all(|q| !q.chars().any(|c| matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}'))),
        "{stored:?}"
    );

    // /preview and /unsubscribe take the same hostile text without breaking.
    for input in [
        "x".repeat(6000),
        "@everyone".into(),
        "\"open".into(),
        String::new(),
    ] {
        let r = world
            .command(
                member_cmd("unsubscribe", ALICE)
                    .string_option("query", &input)
                    .build(),
            )
            .await;
        assert_sane_reply(&r, &input);
        let r = world
            .command_final(
                member_cmd("preview", ALICE)
                    .string_option("query", &input)
                    .build(),
            )
            .await;
        assert!(
            !reply_text(&r).contains("Something went wrong"),
            "{}",
            reply_text(&r)
        );
    }

    // An alert for the cleaned query still works, and pings only Alice.
    world
        .publish(&[
            item("g1", "Gemini @everyone <@&1170000000000000777> **now**"),
            seed(),
        ])
        .await;
    world
        .fake
        .wait_until("the alert", WAIT, |f| !f.messages().is_empty())
        .await;
    let message = &world.fake.messages()[0].body;
    assert_eq!(message["allowed_mentions"]["parse"], serde_json::json!([]));
    assert_eq!(
        message["allowed_mentions"]["users"],
        serde_json::json!([ALICE.to_string()])
    );
    assert!(
        message["allowed_mentions"]["roles"].is_null()
            || message["allowed_mentions"]["roles"] == serde_json::json!([])
    );
    world.fake.assert_no_violations();
    assert!(!bot.log().contains("panicked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_member_cannot_store_a_thousand_subscriptions() {
    let (world, _bot) = World::started().await;
    let mut refusals = 0;
    for batch in 0..100 {
        let query = (0..10)
            .map(|i| format!("topic{batch}x{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let text = subscribe(&world, BOB, &query).await;
        if text.contains("the limit is 25 per member") {
            refusals += 1;
        } else {
            assert!(text.contains("Subscribed"), "{text}");
        }
    }
    let stored = member_queries(&world, BOB);
    assert_eq!(stored.len(), 20, "two batches of 10 fit under 25");
    assert_eq!(refusals, 98);
    // Eleven at once is refused outright.
    let eleven = (0..11)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let text = subscribe(&world, CAROL, &eleven).await;
    assert!(text.contains("at most 10"), "{text}");
    assert!(member_queries(&world, CAROL).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_add_refuses_every_internal_address() {
    let (world, _bot) = World::started().await;
    let inside = format!("{}/internal.xml", world.feeds.uri());
    let forbidden = [
        inside.as_str(),
        "http://127.0.0.1/feed.xml",
        "http://127.1/feed.xml",
        "http://localhost/feed.xml",
        "http://LOCALHOST./feed.xml",
        "http://10.1.2.3/feed.xml",
        "http://172.16.0.1/feed.xml",
        "http://192.168.1.10/feed.xml",
        "http://100.64.0.1/feed.xml",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/feed.xml",
        "http://[::1]/feed.xml",
        "http://[fd12:3456::1]/feed.xml",
        "http://[fe80::1]/feed.xml",
        "http://[::ffff:127.0.0.1]/feed.xml",
        "http://[::ffff:10.0.0.1]/feed.xml",
        "http://2130706433/feed.xml",
        "http://017700000001/feed.xml",
        "http://0177.0.0.1/feed.xml",
        "http://0x7f000001/feed.xml",
        "file:///etc/passwd",
        "ftp://example.com/feed.xml",
        "gopher://127.0.0.1:70/",
    ];
    for url in forbidden {
        let r = world.add_source(url, "Sneaky").await;
        let text = reply_text(&r);
        assert!(
            text.contains("Could not add") && !text.contains("Something went wrong"),
            "{url}: {text}"
        );
    }
    let asked: Vec<String> = world.asked_paths().await;
    assert!(
        !asked.iter().any(|p| p == "/internal.xml"),
        "an internal address was fetched: {asked:?}"
    );
    let r = world
        .command(admin_cmd("sources").subcommand("list", |o| o).build())
        .await;
    assert!(!reply_text(&r).contains("Sneaky"), "{}", reply_text(&r));
}

/// Host names (not IP literals, not `localhost`) that this machine's own resolver maps to a
/// non-public address without the internet: its host name and the names in `/etc/hosts`, kept
/// only when every address they resolve to is loopback or private. Found at run time because no
/// such name exists on every machine; `localhost`-shaped names are tested without it.
async fn names_resolving_to_private_addresses() -> Vec<String> {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut candidates: Vec<String> = std::iter::once(hostname.trim())
        .chain(
            hosts
                .lines()
                .map(|l| l.split('#').next().unwrap_or_default())
                .flat_map(|l| l.split_whitespace().skip(1)),
        )
        .filter(|n| !n.is_empty() && n.parse::<std::net::IpAddr>().is_err())
        .map(str::to_ascii_lowercase)
        .filter(|n| n != "localhost" && !n.ends_with(".localhost"))
        .collect();
    candidates.sort();
    candidates.dedup();
    let mut found = Vec::new();
    for name in candidates {
        let lookup = tokio::net::lookup_host((name.as_str(), 80));
        let Ok(Ok(addrs)) = tokio::time::timeout(Duration::from_secs(5), lookup).await else {
            continue;
        };
        let addrs: Vec<_> = addrs.collect();
        if !addrs.is_empty()
            && addrs
                .iter()
                .all(|a| newshound::sources::address::check_ip(a.ip()).is_err())
        {
            found.push(name);
        }
    }
    found
}

/// `/sources add` with host names, not addresses, that lead to this machine: `localhost` in its
/// other spellings is refused by name (RFC 6761, whatever DNS says), and a name the resolver maps
/// to loopback or a private address is refused once resolved — before any connection, so the
/// test's own server on 127.0.0.1 never sees a request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_add_refuses_names_that_resolve_to_this_machine() {
    let (world, _bot) = World::started().await;
    world
        .mount("/internal.xml", &[item("x", "Internal only")])
        .await;
    let port = world.feeds.address().port();
    let mut cases: Vec<(String, &str)> = [
        "localhost.",
        "foo.localhost",
        "Feeds.LOCALHOST.",
        "a.b.localhost",
    ]
    .iter()
    .map(|host| {
        (
            format!("http://{host}:{port}/internal.xml"),
            "is this machine",
        )
    })
    .collect();
    let resolved = names_resolving_to_private_addresses().await;
    eprintln!("names resolving to private addresses here: {resolved:?}");
    for name in &resolved {
        cases.push((format!("http://{name}:{port}/internal.xml"), "resolves to"));
    }
    for (url, reason) in &cases {
        let r = world.add_source(url, "Sneaky").await;
        let text = reply_text(&r);
        assert!(
            text.contains("Could not add") && text.contains(reason),
            "{url}: expected a refusal saying {reason:?}, got: {text}"
        );
    }
    let asked = world.feeds.received_requests().await.unwrap_or_default();
    assert!(
        !asked.iter().any(|r| r.url.path() == "/internal.xml"),
        "a name leading to this machine was fetched: {:?}",
        asked.iter().map(|r| r.url.to_string()).collect::<Vec<_>>()
    );
    let r = world
        .command(admin_cmd("sources").subcommand("list", |o| o).build())
        .await;
    assert!(!reply_text(&r).contains("Sneaky"), "{}", reply_text(&r));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_cannot_see_or_change_each_others_subscriptions() {
    let (world, _bot) = World::started().await;
    subscribe(&world, ALICE, "Gemini").await;
    subscribe(&world, BOB, "Zebra").await;

    let r = world
        .command(
            member_cmd("subscriptions", BOB)
                .user_option("member", ALICE)
                .build(),
        )
        .await;
    assert!(!reply_text(&r).contains("Gemini"), "{}", reply_text(&r));
    let r = world
        .command(
            member_cmd("unsubscribe", BOB)
                .string_option("query", "Gemini")
                .user_option("member", ALICE)
                .build(),
        )
        .await;
    assert!(reply_text(&r).contains("Only admins"), "{}", reply_text(&r));
    let r = world
        .command(
            member_cmd("unsubscribe", BOB)
                .string_option("query", "Gemini")
                .build(),
        )
        .await;
    assert!(
        reply_text(&r).contains("No subscription"),
        "{}",
        reply_text(&r)
    );
    // Autocomplete suggests only Bob's own.
    let id = world.fake.dispatch_interaction(
        Interaction::autocomplete("unsubscribe")
            .guild(DEFAULT_GUILD_ID)
            .channel(DEFAULT_CHANNEL_ID)
            .member(BOB, 0)
            .focused_string_option("query", "")
            .build(),
    );
    let r = world.fake.wait_for_interaction_response(id, WAIT).await;
    let choices = r.callback.unwrap_or_default().to_string();
    assert!(
        choices.contains("Zebra") && !choices.contains("Gemini"),
        "{choices}"
    );
    assert_eq!(member_queries(&world, ALICE), vec!["Gemini".to_string()]);

    // An admin of another server cannot reach Alice's either.
    let r = world
        .command(
            Interaction::command("subscriptions")
                .guild(GUILD_B)
                .channel(CHANNEL_B)
                .member(ADMIN_B, permissions::MANAGE_GUILD)
                .user_option("member", ALICE)
                .build(),
        )
        .await;
    assert!(!reply_text(&r).contains("Gemini"), "{}", reply_text(&r));
    let r = world
        .command(
            Interaction::command("unsubscribe")
                .guild(GUILD_B)
                .channel(CHANNEL_B)
                .member(ADMIN_B, permissions::MANAGE_GUILD)
                .string_option("query", "Gemini")
                .user_option("member", ALICE)
                .build(),
        )
        .await;
    assert!(!reply_text(&r).contains("Removed"), "{}", reply_text(&r));
    assert_eq!(member_queries(&world, ALICE), vec!["Gemini".to_string()]);

    // This server's admin can.
    let r = world
        .command(
            admin_cmd("subscriptions")
                .user_option("member", ALICE)
                .build(),
        )
        .await;
    assert!(reply_text(&r).contains("`Gemini`"), "{}", reply_text(&r));
    let r = world
        .command(
            admin_cmd("unsubscribe")
                .string_option("query", "Gemini")
                .user_option("member", ALICE)
                .build(),
        )
        .await;
    assert!(reply_text(&r).contains("Removed 1"), "{}", reply_text(&r));
    assert!(member_queries(&world, ALICE).is_empty());
    assert_eq!(member_queries(&world, BOB), vec!["Zebra".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::too_many_lines,
    reason = "one end-to-end scenario told step by step; the steps share one running world"
)]
async fn two_servers_never_see_each_other_and_dms_reach_only_the_asker() {
    let world = World::new(FakeConfig::default()).await;
    world.publish(&[seed()]).await;
    world
        .mount("/a.xml", &[item("a-seed", "Server A quiet opening story")])
        .await;
    // A source server A added from Discord, stored the way `/sources add` stores it. Its URL is
    // on loopback (a test cannot serve a public address), so it must never be fetched: the
    // address guard applies at every poll, not only when the source is added.
    let store = newshound::store::Store::open(&world.db_path()).expect("create the database");
    let url = format!("{}/a.xml", world.feeds.uri());
    store
        .with(|conn| {
            newshound::store::discord::add_guild_source(
                conn,
                &DEFAULT_GUILD_ID.to_string(),
                "Server A wire",
                &url,
                "* * * * * *",
                chrono::Utc::now(),
            )
        })
        .unwrap()
        .unwrap();
    drop(store);
    let bot = world.start_bot();
    world.ready(&bot).await;

    // Server A: Alice by DM, Bob in the channel. Server B: Dave, and a channel that is broken.
    let r = world
        .command(
            member_cmd("subscribe", ALICE)
                .string_option("query", "Gemini")
                .bool_option("dm", true)
                .build(),
        )
        .await;
    assert!(reply_text(&r).contains("Subscribed"), "{}", reply_text(&r));
    subscribe(&world, BOB, "Gemini").await;
    let in_b = |name: &str, user: u64, perms: u64| {
        Interaction::command(name)
            .guild(GUILD_B)
            .channel(CHANNEL_B)
            .member(user, perms)
            .app_permissions(permissions::BOT_CHANNEL)
    };
    let r = world
        .command(
            in_b("subscribe", DAVE, 0)
                .string_option("query", "Gemini")
                .build(),
        )
        .await;
    assert!(reply_text(&r).contains("Subscribed"), "{}", reply_text(&r));
    let r = world
        .command(
            in_b("subscribe", DAVE, 0)
                .string_option("query", "Zebra")
                .channel_option("channel", BROKEN_B)
                .build(),
        )
        .await;
    assert!(reply_text(&r).contains("Subscribed"), "{}", reply_text(&r));
    world
        .fake
        .fail_always(Route::CreateMessageIn(BROKEN_B), Fault::MissingAccess);

    world
        .publish(&[item("w1", "Gemini and Zebra on the shared wire"), seed()])
        .await;
    world
        .mount("/a.xml", &[item("a1", "Gemini exclusive for server A")])
        .await;
    world
        .fake
        .wait_until(
            "the shared-wire alerts in A's channel, Alice's DM and B's channel",
            WAIT,
            |f| {
                let dm = f.dm_channel_of(ALICE);
                dm.is_some_and(|dm| !f.messages_in(dm).is_empty())
                    && !f.messages_in(DEFAULT_CHANNEL_ID).is_empty()
                    && !f.messages_in(CHANNEL_B).is_empty()
            },
        )
        .await;
    let alice_dm = world.fake.dm_channel_of(ALICE).expect("Alice's DM channel");
    world
        .fake
        .wait_until("B's channel reported broken", WAIT, |_| {
            world
                .query_i64("SELECT count(*) FROM targets WHERE broken_reason IS NOT NULL")
                .unwrap_or(0)
                > 0
        })
        .await;

    // DMs: only Alice's DM channel was opened, and her DM mentions no one else.
    assert!(world.fake.dm_channel_of(BOB).is_none());
    assert!(world.fake.dm_channel_of(DAVE).is_none());
    for m in world.fake.messages_in(alice_dm) {
        let text = m.body.to_string();
        assert!(
            !text.contains(&BOB.to_string()) && !text.contains(&DAVE.to_string()),
            "{text}"
        );
    }
    for channel in [DEFAULT_CHANNEL_ID, CHANNEL_B] {
        for m in world.fake.messages_in(channel) {
            let content = m.body["content"].as_str().unwrap_or_default();
            assert!(!content.contains(&ALICE.to_string()), "{content}");
        }
    }
    // Server A's own source was never fetched (loopback), and is invisible to server B.
    let asked: Vec<String> = world.asked_paths().await;
    assert!(!asked.iter().any(|p| p == "/a.xml"), "{asked:?}");
    assert!(world
        .fake
        .messages()
        .iter()
        .all(|m| !embed_title(&m.body).contains("exclusive")));
    let r = world
        .command(
            in_b("sources", ADMIN_B, permissions::MANAGE_GUILD)
                .subcommand("list", |o| o)
                .build(),
        )
        .await;
    let b_list = reply_text(&r);
    assert!(!b_list.contains("Server A wire"), "{b_list}");
    assert!(
        b_list.contains(&BROKEN_B.to_string()),
        "B's admins see B's broken channel: {b_list}"
    );
    let r = world
        .command(admin_cmd("sources").subcommand("list", |o| o).build())
        .await;
    let a_list = reply_text(&r);
    assert!(a_list.contains("Server A wire"), "{a_list}");
    assert!(
        !a_list.contains(&BROKEN_B.to_string()),
        "server A's admins see server B's channel: {a_list}"
    );
}

/// The matching side of server isolation, through the library: an item from a server's own
/// source produces alerts for that server's subscriptions only; a config source's for all.
#[test]
fn a_server_source_feeds_only_its_own_server() {
    use newshound::pipeline::SubscriptionSet;
    use newshound::store::SubscriptionRow;
    let row = |id: i64, user: u64, guild: u64, channel: u64| SubscriptionRow {
        id,
        origin: "discord".into(),
        user: user.to_string(),
        query: "Gemini".into(),
        target: format!("channel:{channel}"),
        guild_id: Some(guild.to_string()),
        ..SubscriptionRow::default()
    };
    let (set, rejected) = SubscriptionSet::new(vec![
        row(1, ALICE, DEFAULT_GUILD_ID, DEFAULT_CHANNEL_ID),
        row(2, DAVE, GUILD_B, CHANNEL_B),
    ]);
    assert!(rejected.is_empty());
    let title = "Gemini exclusive for server A";
    let targets = |guild: Option<&str>| -> Vec<String> {
        set.alerts_for(title, "", guild)
            .into_iter()
            .map(|a| a.target)
            .collect()
    };
    assert_eq!(
        targets(Some(&DEFAULT_GUILD_ID.to_string())),
        vec![format!("channel:{DEFAULT_CHANNEL_ID}")]
    );
    assert_eq!(
        targets(Some(&GUILD_B.to_string())),
        vec![format!("channel:{CHANNEL_B}")]
    );
    assert_eq!(targets(None).len(), 2, "config sources feed every server");
}

/// Runs a busy session (commands, alerts, faults) with the bot at `level`; returns its log.
async fn busy_session_log(level: Option<&str>) -> (String, Vec<String>) {
    let world = World::new(FakeConfig::default()).await;
    world.publish(&[seed()]).await;
    let bot = Bot::start_with_log_level(&world.config, world.setup.path("bot.log"), level);
    world.ready(&bot).await;
    subscribe(&world, ALICE, "Quokka").await;
    subscribe(&world, ALICE, "\"Secret Phrase\" Pelican").await;
    subscribe(&world, BOB, "@everyone").await;
    world
        .command(
            member_cmd("subscribe", BOB)
                .string_option("query", "Quokka")
                .channel_option("channel", OTHER_CHANNEL)
                .build(),
        )
        .await;
    world.fake.fail_always(
        Route::CreateMessageIn(OTHER_CHANNEL),
        Fault::MissingPermissions,
    );
    world.fake.fail_next(
        Route::CreateMessageIn(DEFAULT_CHANNEL_ID),
        Fault::InvalidFormBody,
    );
    world
        .publish(&[
            item("q1", "Quokka sighting reported downtown"),
            item("q2", "Quokka census finds more quokkas"),
            seed(),
        ])
        .await;
    world
        .fake
        .wait_until("both Quokka alerts", WAIT, |f| {
            f.messages_in(DEFAULT_CHANNEL_ID).len() >= 2
        })
        .await;
    world
        .command_final(
            member_cmd("preview", ALICE)
                .string_option("query", "Quokka")
                .build(),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let contents = vec![
        "Quokka sighting".to_string(),
        "Quokka census".to_string(),
        "Secret Phrase".to_string(),
        "Pelican".to_string(),
        "Markets steady".to_string(),
    ];
    (bot.log(), contents)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_hold_the_token_or_message_contents_at_the_default_level() {
    let (log, contents) = busy_session_log(None).await;
    assert!(!log.contains(TOKEN), "token in the log:\n{log}");
    assert!(log.lines().count() > 0, "the default level logs something");
    for secret in &contents {
        assert!(
            !log.contains(secret.as_str()),
            "message contents ({secret:?}) in a default-level log:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_stays_out_of_trace_logs_too() {
    let (log, _) = busy_session_log(Some("trace")).await;
    assert!(!log.contains(TOKEN), "token in the trace log");
    assert!(log.lines().count() > 10, "trace logs are verbose: {log}");
}
