//! Gateway sharding end to end: `[discord] shard_count` / `shards` start exactly the
//! configured shards of the real binary against the fake Discord, each answering the
//! interactions of its own guilds, `"auto"` follows Discord's recommendation, `/readyz` waits
//! for every shard of the process, and bad shard keys fail `check-config` with their key.

mod support;

use std::time::Duration;

use support::binary::{newshound, Bot};
use support::commands::{member_cmd, reply_text, ALICE};
use support::config::Setup;
use support::fake_discord::{guild_on_shard, FakeConfig, FakeDiscord, Identify};
use support::ops::{get, wait_for_listener};
use support::world::{World, WAIT};

/// `[id, count]` of each IDENTIFY, sorted.
fn shards_identified(identifies: &[Identify]) -> Vec<[u32; 2]> {
    let mut shards: Vec<[u32; 2]> = identifies.iter().map(|i| i.shard).collect();
    shards.sort_unstable();
    shards
}

/// `/help` in `guild`; waits for its answer and returns (interaction id, reply text).
async fn help_in(fake: &FakeDiscord, guild: u64) -> (u64, String) {
    let id = fake.dispatch_interaction(member_cmd("help", ALICE).guild(guild).build());
    let answer = fake.wait_for_interaction_response(id, WAIT).await;
    (id, reply_text(&answer))
}

/// Waits (bounded) until `bot`'s log contains `needle`.
async fn wait_for_log(bot: &Bot, needle: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !bot.log().contains(needle) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot never logged {needle:?}; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_run_their_own_shards_and_answer_their_own_guilds() {
    // No feed sources: both processes share the database and nothing is polled twice.
    let world = World::custom(
        FakeConfig::default(),
        |_| String::new(),
        "shard_count = 4\nshards = \"0-1\"\n",
    )
    .await;
    let text = std::fs::read_to_string(&world.config).expect("read the config");
    let config_b = world.setup.path("shards-2-3.toml");
    std::fs::write(&config_b, text.replace("\"0-1\"", "\"2-3\"")).expect("write config B");

    let a = Bot::start(&world.config, world.setup.path("a.log"));
    let first = world.fake.wait_for_shards(&[0, 1], 4, WAIT * 2).await;
    assert_eq!(
        shards_identified(&first),
        [[0, 4], [1, 4]],
        "process A identifies only shards 0 and 1"
    );
    wait_for_log(&a, "running shard(s) 0-1 of 4").await;

    let b = Bot::start(&config_b, world.setup.path("b.log"));
    let all = world.fake.wait_for_shards(&[2, 3], 4, WAIT * 2).await;
    wait_for_log(&b, "running shard(s) 2-3 of 4").await;
    assert_eq!(
        shards_identified(&all),
        [[0, 4], [1, 4], [2, 4], [3, 4]],
        "every shard identified exactly once, each with the total count"
    );
    assert_eq!(world.fake.connected_shards().len(), 4);

    let (on_3, reply) = help_in(&world.fake, guild_on_shard(3, 4, 0)).await;
    assert!(!reply.is_empty(), "shard 3's guild gets an answer");
    assert_eq!(world.fake.dispatched_to(on_3), Some(3));
    let (on_0, reply) = help_in(&world.fake, guild_on_shard(0, 4, 0)).await;
    assert!(!reply.is_empty(), "shard 0's guild gets an answer");
    assert_eq!(world.fake.dispatched_to(on_0), Some(0));
    // Who answered: each process logs the interactions it handles.
    wait_for_log(&b, &format!("interaction={on_3}")).await;
    wait_for_log(&a, &format!("interaction={on_0}")).await;
    assert!(
        !a.log().contains(&format!("interaction={on_3}")),
        "A must not see shard 3"
    );
    assert!(
        !b.log().contains(&format!("interaction={on_0}")),
        "B must not see shard 0"
    );

    // One command registration per process (from its first shard), not one per shard.
    let registrations = world.fake.wait_for_registered_commands(2, WAIT).await;
    assert_eq!(registrations.len(), 2);
    assert_eq!(
        shards_identified(&world.fake.identifies()).len(),
        4,
        "no shard identified twice"
    );
    world.fake.assert_no_violations();
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_starts_the_recommended_shards_and_readyz_waits_for_all_of_them() {
    let fake_config = FakeConfig {
        recommended_shards: 2,
        ..FakeConfig::default()
    };
    let world = World::custom(
        fake_config,
        |_| "[http]\nlisten = \"127.0.0.1:0\"\n".to_string(),
        "shard_count = \"auto\"\n",
    )
    .await;
    let bot = world.start_bot();
    let addr = wait_for_listener(|| bot.log()).await;
    world.fake.wait_for_shards(&[0], 2, WAIT).await;
    // serenity boots the second shard 5 s after the first: until it is connected the process
    // is not ready (checked only while the fake has not yet sent shard 1 its READY).
    let (status, body) = get(&addr, "/readyz", &[]).await;
    if world.fake.connected_shards().len() == 1 {
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("Discord gateway"), "{body}");
    }
    let identifies = world.fake.wait_for_shards(&[0, 1], 2, WAIT).await;
    assert_eq!(shards_identified(&identifies), [[0, 2], [1, 2]]);
    wait_for_log(&bot, "running shard(s) 0-1 of 2").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = get(&addr, "/readyz", &[]).await;
        if status == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never became ready with both shards connected: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (on_1, reply) = help_in(&world.fake, guild_on_shard(1, 2, 0)).await;
    assert!(!reply.is_empty());
    assert_eq!(world.fake.dispatched_to(on_1), Some(1));
    world.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_with_a_range_beyond_the_recommendation_exits_with_a_clear_message() {
    let world = World::custom(
        FakeConfig {
            recommended_shards: 2,
            ..FakeConfig::default()
        },
        |_| String::new(),
        "shard_count = \"auto\"\nshards = \"2-3\"\n",
    )
    .await;
    let mut bot = world.start_bot();
    let status = bot.wait_exit(WAIT).await;
    assert!(!status.success());
    let log = bot.log();
    assert!(log.contains("discord.shards = \"2-3\""), "{log}");
    assert!(log.contains("2 shard(s) Discord recommends"), "{log}");
    assert!(world.fake.identifies().is_empty(), "no shard started");
}

/// `check-config` on a `[discord]` section holding `discord`: (success, stderr + stdout).
fn check_config(discord: &str) -> (bool, String) {
    let setup = Setup::new();
    let config = setup.write_config(&format!("[discord]\n{discord}\n"));
    let out = newshound(&["check-config", "--config", config.to_str().expect("utf-8")]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    (out.status.success(), text)
}

#[test]
fn bad_shard_keys_fail_check_config_naming_each_key() {
    let (ok, text) = check_config("shard_count = 4\nshards = \"3-1\"\n");
    assert!(!ok, "{text}");
    assert!(text.contains("discord.shards = \"3-1\""), "{text}");
    assert!(text.contains("\"1-3\""), "the fix: {text}");

    let (ok, text) = check_config("shard_count = 4\nshards = \"0-4\"\n");
    assert!(!ok, "{text}");
    assert!(text.contains("discord.shards = \"0-4\""), "{text}");
    assert!(text.contains("from 0 to 3"), "{text}");

    let (ok, text) = check_config("shards = \"0-1\"\n");
    assert!(!ok, "{text}");
    assert!(text.contains("discord.shards = \"0-1\""), "{text}");
    assert!(text.contains("needs discord.shard_count"), "{text}");

    // Every problem at once.
    let (ok, text) = check_config("shard_count = 0\nshards = \"x\"\n");
    assert!(!ok, "{text}");
    assert!(text.contains("discord.shard_count = 0"), "{text}");
    assert!(text.contains("discord.shards = \"x\""), "{text}");

    let (ok, text) = check_config("shard_count = \"auto\"\nshards = \"0-3\"\n");
    assert!(ok, "auto is checked at start, not here: {text}");
}
