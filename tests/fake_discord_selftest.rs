//! Self-test of the fake Discord: the real serenity client works against it, its payloads are
//! what serenity accepts, and its faults, limits and validation answer like Discord.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use serenity::all::{
    ChannelId, CommandOptionType, CreateAllowedMentions, CreateCommand, CreateCommandOption,
    CreateEmbed, CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage,
    GatewayIntents, GuildId, ResolvedValue, UserId,
};
use serenity::async_trait;
use serenity::client::{ClientBuilder, Context, EventHandler};
use serenity::model::application::Interaction as SerenityInteraction;

use support::discord_payloads as payloads;
use support::discord_validate::{self as validate, MessageRoute};
use support::fake_discord::{
    guild_on_shard, permissions, shard_of, FakeConfig, FakeDiscord, Fault, Interaction, Route,
    APPLICATION_ID, DEFAULT_CHANNEL_ID, DEFAULT_GUILD_ID, SERVED_ROUTES,
};

/// Generous: these only bound a hang on a loaded 2-core machine, they assert no timing.
const WAIT: Duration = Duration::from_secs(30);
const GUILD: u64 = 1_160_000_000_000_000_001;
const CHANNEL: u64 = 1_160_000_000_000_000_002;
const ALICE: u64 = 1_160_000_000_000_000_003;

// ---- the real serenity client ----------------------------------------------------------------

struct TestBot;

#[async_trait]
impl EventHandler for TestBot {
    async fn ready(&self, ctx: Context, _ready: serenity::model::gateway::Ready) {
        let subscribe = CreateCommand::new("subscribe")
            .description("Get pinged when news matches a query")
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "query", "What to watch for")
                    .required(true),
            );
        GuildId::new(GUILD)
            .set_commands(&ctx.http, vec![subscribe])
            .await
            .expect("the fake accepts the registration");
    }

    async fn interaction_create(&self, ctx: Context, interaction: SerenityInteraction) {
        let SerenityInteraction::Command(command) = interaction else {
            return;
        };
        let reply = CreateInteractionResponseMessage::new()
            .content("Subscribed.")
            .ephemeral(true);
        command
            .create_response(&ctx.http, CreateInteractionResponse::Message(reply))
            .await
            .expect("the fake accepts the interaction response");
        let alert = CreateMessage::new()
            .content(format!("<@{ALICE}> news for you"))
            .embed(
                CreateEmbed::new()
                    .title("Meta buys a thing")
                    .url("https://example.com/meta")
                    .description("Summary"),
            )
            .allowed_mentions(CreateAllowedMentions::new().users([UserId::new(ALICE)]));
        ChannelId::new(CHANNEL)
            .send_message(&ctx.http, alert)
            .await
            .expect("the fake accepts the alert");
    }
}

async fn start_bot(fake: &FakeDiscord) -> tokio::task::JoinHandle<serenity::Result<()>> {
    let http = fake.serenity_http();
    // As discord.md shows: no intents, the proxy, the ratelimiter off.
    let mut client = ClientBuilder::new_with_http(http, GatewayIntents::empty())
        .event_handler(TestBot)
        .await
        .expect("serenity client builds");
    tokio::spawn(async move { client.start().await })
}

#[tokio::test]
async fn serenity_client_identifies_registers_answers_and_posts() {
    let fake = FakeDiscord::start().await;
    let _bot = start_bot(&fake).await;

    let identify = fake.wait_for_identify(WAIT).await;
    assert_eq!(identify.intents, 0, "slash commands need no intents");
    assert_eq!(identify.token, "Bot fake-bot-token");

    let registrations = fake.wait_for_registered_commands(1, WAIT).await;
    assert_eq!(registrations[0].guild_id, Some(GUILD));
    assert_eq!(registrations[0].names(), ["subscribe"]);

    let interaction = Interaction::command("subscribe")
        .guild(GUILD)
        .channel(CHANNEL)
        .member(ALICE, 0)
        .string_option("query", "Meta")
        .build();
    let id = fake.dispatch_interaction(interaction);

    let response = fake.wait_for_interaction_response(id, WAIT).await;
    assert_eq!(response.callback_type(), Some(4));
    assert_eq!(response.callback_flags(), 64, "the reply is ephemeral");

    let messages = fake.wait_for_messages(1, WAIT).await;
    assert_eq!(messages[0].channel_id, CHANNEL);
    assert_eq!(messages[0].body["embeds"][0]["title"], "Meta buys a thing");
    assert_eq!(
        messages[0].body["allowed_mentions"]["users"],
        json!([ALICE.to_string()])
    );
    fake.assert_no_violations();
}

#[tokio::test]
async fn serenity_resumes_then_reidentifies_after_gateway_drop() {
    let fake = FakeDiscord::start().await;
    let _bot = start_bot(&fake).await;
    fake.wait_for_identify(WAIT).await;

    fake.drop_gateway();

    let identifies = fake.wait_for_identifies(2, WAIT).await;
    assert_eq!(fake.resumes(), 1, "serenity tries RESUME first, gets op 9");
    assert_eq!(identifies[1].intents, 0);
    // The new session works: READY re-registers and an interaction is answered.
    fake.wait_for_registered_commands(2, WAIT).await;
    let id = fake.dispatch_interaction(
        Interaction::command("subscribe")
            .guild(GUILD)
            .channel(CHANNEL)
            .build(),
    );
    fake.wait_for_interaction_response(id, WAIT).await;
    fake.assert_no_violations();
}

#[tokio::test]
async fn sharded_serenity_gets_each_shard_its_guilds_and_interactions() {
    let fake = FakeDiscord::start().await;
    let on_shard_0 = guild_on_shard(0, 2, 0);
    let on_shard_1 = guild_on_shard(1, 2, 0);
    fake.set_guilds(&[on_shard_0, on_shard_1, guild_on_shard(1, 2, 1)]);
    let mut client = ClientBuilder::new_with_http(fake.serenity_http(), GatewayIntents::empty())
        .event_handler(TestBot)
        .await
        .expect("serenity client builds");
    // serenity's range end is inclusive: shards 0 and 1 of 2.
    let _bot = tokio::spawn(async move { client.start_shard_range(0..1, 2).await });

    let identifies = fake.wait_for_shards(&[0, 1], 2, WAIT).await;
    let mut shards: Vec<[u32; 2]> = identifies.iter().map(|i| i.shard).collect();
    shards.sort_unstable();
    assert_eq!(shards, [[0, 2], [1, 2]], "each shard identifies once");
    let readies = fake.readies();
    let guilds_of = |shard: u32| {
        readies
            .iter()
            .find(|r| r.shard[0] == shard)
            .map(|r| r.guilds.clone())
            .unwrap_or_default()
    };
    assert_eq!(guilds_of(0), [on_shard_0]);
    assert_eq!(guilds_of(1), [on_shard_1, guild_on_shard(1, 2, 1)]);

    for (guild, shard) in [(on_shard_1, 1), (on_shard_0, 0)] {
        let id = fake.dispatch_interaction(
            Interaction::command("subscribe")
                .guild(guild)
                .channel(CHANNEL)
                .build(),
        );
        assert_eq!(fake.dispatched_to(id), Some(shard), "guild {guild}");
        fake.wait_for_interaction_response(id, WAIT).await;
    }
    fake.assert_no_violations();
}

#[test]
fn sharded_ready_deserializes_and_guild_ids_land_on_their_shard() {
    let guilds = [guild_on_shard(3, 4, 0), guild_on_shard(3, 4, 7)];
    for guild in guilds {
        assert_eq!(shard_of(guild, 4), 3);
        assert_eq!(
            newshound::discord::shards::shard_of(guild, 4),
            3,
            "the bot and the fake agree on Discord's rule"
        );
    }
    let ready = payloads::ready_for("s", "ws://127.0.0.1:1/ws", [3, 4], &guilds);
    let ready: serenity::model::gateway::Ready =
        serde_json::from_value(ready).expect("serenity accepts the sharded READY");
    assert_eq!(ready.guilds.len(), 2);
    assert_eq!(ready.shard.map(|s| (s.id.0, s.total)), Some((3, 4)));
}

#[tokio::test]
async fn serenity_client_stops_on_close_4004() {
    let fake = FakeDiscord::start().await;
    fake.reject_identify(true);
    let bot = start_bot(&fake).await;

    fake.wait_for_identify(WAIT).await;
    let ended = tokio::time::timeout(WAIT, bot).await;
    let result = ended
        .expect("serenity gives up after 4004")
        .expect("client task did not panic");
    assert!(
        result.is_err(),
        "client.start() reports the authentication failure"
    );
    assert_eq!(fake.identifies().len(), 1, "no retry with a rejected token");
}

// ---- payloads deserialize into serenity's types ----------------------------------------------

fn as_serenity(payload: &Value) -> SerenityInteraction {
    serde_json::from_value(payload.clone())
        .unwrap_or_else(|error| panic!("serenity rejects the payload: {error}\n{payload:#}"))
}

#[test]
fn command_builder_gives_serenity_a_guild_command_with_member_permissions() {
    let payload = Interaction::command("subscribe")
        .guild(GUILD)
        .channel(CHANNEL)
        .member(ALICE, permissions::MANAGE_GUILD)
        .string_option("query", "Meta")
        .channel_option("channel", CHANNEL)
        .bool_option("dm", true)
        .app_permissions(permissions::BOT_CHANNEL)
        .build();
    let SerenityInteraction::Command(command) = as_serenity(&payload) else {
        panic!("expected a command interaction");
    };
    assert_eq!(command.data.name, "subscribe");
    assert_eq!(command.guild_id, Some(GuildId::new(GUILD)));
    assert_eq!(command.channel_id, ChannelId::new(CHANNEL));
    let member = command
        .member
        .as_ref()
        .expect("guild interactions carry a member");
    assert_eq!(member.user.id, UserId::new(ALICE));
    assert!(member.permissions.expect("permissions sent").manage_guild());
    assert!(command
        .app_permissions
        .expect("app_permissions sent")
        .embed_links());
    let options = command.data.options();
    assert!(matches!(options[0].value, ResolvedValue::String("Meta")));
    assert!(
        matches!(options[1].value, ResolvedValue::Channel(channel) if channel.id == ChannelId::new(CHANNEL))
    );
    assert!(matches!(options[2].value, ResolvedValue::Boolean(true)));
}

#[test]
fn subcommand_builder_nests_options_serenity_resolves() {
    let payload = Interaction::command("subscribe")
        .subcommand("add", |o| {
            o.string_option("query", "Meta").integer_option("limit", 3)
        })
        .build();
    let SerenityInteraction::Command(command) = as_serenity(&payload) else {
        panic!("expected a command interaction");
    };
    let options = command.data.options();
    assert_eq!(options[0].name, "add");
    let ResolvedValue::SubCommand(inner) = &options[0].value else {
        panic!("expected a subcommand, got {:?}", options[0].value);
    };
    assert!(matches!(inner[0].value, ResolvedValue::String("Meta")));
    assert!(matches!(inner[1].value, ResolvedValue::Integer(3)));
}

#[test]
fn autocomplete_builder_marks_the_focused_option() {
    let payload = Interaction::autocomplete("subscribe")
        .subcommand("remove", |o| o.focused_string_option("query", "Me"))
        .build();
    let SerenityInteraction::Autocomplete(autocomplete) = as_serenity(&payload) else {
        panic!("expected an autocomplete interaction");
    };
    let focused = autocomplete.data.autocomplete().expect("a focused option");
    assert_eq!((focused.name, focused.value), ("query", "Me"));
}

#[test]
fn dm_builder_has_a_user_and_no_guild_or_member() {
    let payload = Interaction::command("subscriptions").dm(ALICE).build();
    let SerenityInteraction::Command(command) = as_serenity(&payload) else {
        panic!("expected a command interaction");
    };
    assert_eq!(command.guild_id, None);
    assert!(command.member.is_none());
    assert_eq!(command.user.id, UserId::new(ALICE));
}

#[test]
fn canned_responses_deserialize_into_serenity_types() {
    use serenity::model::prelude::{
        Command, CurrentApplicationInfo, CurrentUser, Message, PrivateChannel, Ready,
    };
    let ready: Ready =
        serde_json::from_value(payloads::ready("s", "ws://127.0.0.1:1/ws")).expect("READY");
    assert_eq!(ready.application.id.get(), APPLICATION_ID);
    let body = json!({
        "content": format!("<@{ALICE}> hi @everyone"),
        "embeds": [{"title": "t", "fields": [{"name": "n", "value": "v"}]}],
        "allowed_mentions": {"parse": [], "users": [ALICE.to_string()]},
    });
    let message: Message =
        serde_json::from_value(payloads::message_object(7, CHANNEL, &body, false))
            .expect("Message");
    assert_eq!(message.mentions.len(), 1, "the allowed user is mentioned");
    assert!(
        !message.mention_everyone,
        "everyone is not in allowed_mentions.parse"
    );
    assert_eq!(message.embeds[0].title.as_deref(), Some("t"));
    let command: Command = serde_json::from_value(payloads::command_echo(
        &json!({"name": "subscribe", "description": "d"}),
        9,
        Some(GUILD),
    ))
    .expect("Command");
    assert_eq!(command.application_id.get(), APPLICATION_ID);
    let dm: PrivateChannel =
        serde_json::from_value(payloads::dm_channel(8, ALICE)).expect("PrivateChannel");
    assert_eq!(dm.recipient.id, UserId::new(ALICE));
    let _: CurrentUser = serde_json::from_value(payloads::bot_user()).expect("CurrentUser");
    let _: CurrentApplicationInfo =
        serde_json::from_value(payloads::application_info()).expect("CurrentApplicationInfo");
}

// ---- plain HTTP against the fake -------------------------------------------------------------

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn call(fake: &FakeDiscord, method: &str, path: &str, body: Option<Value>) -> Answer {
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("valid method");
    let mut request = client
        .request(method, format!("{}{path}", fake.api_url()))
        .header("Authorization", "Bot fake-bot-token");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the fake answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

fn message(content: &str) -> Value {
    json!({"content": content, "allowed_mentions": {"parse": [], "users": [], "roles": []}})
}

fn post_path(channel: u64) -> String {
    format!("/channels/{channel}/messages")
}

#[tokio::test]
async fn gateway_routes_point_to_the_loopback_websocket() {
    let fake = FakeDiscord::start().await;
    let gateway = call(&fake, "GET", "/gateway", None).await;
    assert_eq!(gateway.body["url"], fake.gateway_url());
    let bot = call(&fake, "GET", "/gateway/bot", None).await;
    assert_eq!(bot.body["shards"], 1);
    assert_eq!(bot.body["url"], fake.gateway_url());
}

#[tokio::test]
async fn gateway_bot_recommends_the_configured_shards_and_concurrency() {
    let fake = FakeDiscord::start_with(FakeConfig {
        recommended_shards: 3,
        max_concurrency: 16,
        ..FakeConfig::default()
    })
    .await;
    let answer = fake
        .serenity_http()
        .get_bot_gateway()
        .await
        .expect("serenity reads the fake's GET /gateway/bot");
    assert_eq!(answer.shards, 3);
    assert_eq!(answer.session_start_limit.max_concurrency, 16);
}

#[tokio::test]
async fn served_routes_exist_in_discords_openapi_and_reach_a_handler() {
    let fake = FakeDiscord::start().await;
    for (method, template) in SERVED_ROUTES {
        let path = template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "1"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let answer = call(&fake, method, &path, Some(json!({}))).await;
        assert_ne!(
            answer.body,
            json!({"code": 0, "message": "404: Not Found"}),
            "{method} {template} fell through to the unknown-route answer"
        );
    }
    // Discord's own description is test data beside the repository, not part of it.
    let spec_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/reference/discord-openapi.json"
    );
    let Ok(spec) = std::fs::read_to_string(spec_path) else {
        eprintln!("skipping the OpenAPI cross-check: {spec_path} is absent");
        return;
    };
    let spec: Value = serde_json::from_str(&spec).expect("the OpenAPI description is JSON");
    for (method, template) in SERVED_ROUTES {
        // `/applications/@me` is spelled that way in the spec too.
        let operation = spec["paths"][*template][method.to_ascii_lowercase()].clone();
        assert!(
            operation.is_object(),
            "{method} {template} is not in Discord's OpenAPI description"
        );
    }
}

#[tokio::test]
async fn unknown_route_answers_discord_404() {
    let fake = FakeDiscord::start().await;
    let answer = call(&fake, "GET", "/guilds/1/roles", None).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body, json!({"code": 0, "message": "404: Not Found"}));
}

#[tokio::test]
async fn request_without_bot_token_gets_401() {
    let fake = FakeDiscord::start().await;
    let response = reqwest::Client::new()
        .post(format!("{}{}", fake.api_url(), post_path(CHANNEL)))
        .json(&message("hi"))
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(response.status().as_u16(), 401);
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn injected_faults_answer_with_discord_status_and_code() {
    let fake = FakeDiscord::start().await;
    let cases = [
        (Fault::ServerError(500), 500, Some(0)),
        (Fault::ServerError(502), 502, None),
        (Fault::ServerError(503), 503, None),
        (Fault::MissingPermissions, 403, Some(50013)),
        (Fault::MissingAccess, 403, Some(50001)),
        (Fault::UnknownChannel, 404, Some(10003)),
        (Fault::UnknownGuild, 404, Some(10004)),
        (Fault::InvalidFormBody, 400, Some(50035)),
        (Fault::Unauthorized, 401, Some(0)),
    ];
    for (fault, status, code) in cases {
        fake.fail_next(Route::CreateMessage, fault.clone());
        let answer = call(&fake, "POST", &post_path(CHANNEL), Some(message("hi"))).await;
        assert_eq!(answer.status, status, "{fault:?}");
        if let Some(code) = code {
            assert_eq!(answer.body["code"], code, "{fault:?}");
        }
    }
    assert!(fake.messages().is_empty(), "a failed request posts nothing");
    let after = call(&fake, "POST", &post_path(CHANNEL), Some(message("hi"))).await;
    assert_eq!(after.status, 200, "fail_next applies once");
}

#[tokio::test]
async fn injected_429_has_float_retry_after_header_and_global_flag() {
    let fake = FakeDiscord::start().await;
    fake.fail_next(
        Route::CreateMessageIn(CHANNEL),
        Fault::RateLimited {
            retry_after: 1.5,
            global: true,
        },
    );
    let answer = call(&fake, "POST", &post_path(CHANNEL), Some(message("hi"))).await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.body["retry_after"], 1.5);
    assert_eq!(answer.body["global"], true);
    assert_eq!(answer.headers["retry-after"], "2");
    assert_eq!(answer.headers["x-ratelimit-scope"], "global");
    assert_eq!(
        fake.rate_limited_count(),
        0,
        "injected 429s are not enforcement 429s"
    );
}

#[tokio::test]
async fn fail_always_persists_until_cleared_and_matches_only_its_route() {
    let fake = FakeDiscord::start().await;
    fake.fail_always(Route::CreateMessageIn(CHANNEL), Fault::MissingPermissions);
    for _ in 0..2 {
        assert_eq!(
            call(&fake, "POST", &post_path(CHANNEL), Some(message("hi")))
                .await
                .status,
            403
        );
    }
    assert_eq!(
        call(&fake, "POST", &post_path(CHANNEL + 1), Some(message("hi")))
            .await
            .status,
        200
    );
    fake.clear_faults();
    assert_eq!(
        call(&fake, "POST", &post_path(CHANNEL), Some(message("hi")))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn accept_then_timeout_posts_once_and_the_nonce_retry_returns_the_first_message() {
    let fake = FakeDiscord::start().await;
    fake.fail_next(
        Route::CreateMessage,
        Fault::AcceptThenTimeout(Duration::from_secs(20)),
    );
    let mut body = message("breaking");
    body["nonce"] = json!("item-42");
    body["enforce_nonce"] = json!(true);
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("client");
    let first = impatient
        .post(format!("{}{}", fake.api_url(), post_path(CHANNEL)))
        .header("Authorization", "Bot t")
        .json(&body)
        .send()
        .await;
    assert!(
        first.is_err_and(|e| e.is_timeout()),
        "the first attempt times out"
    );

    let retry = call(&fake, "POST", &post_path(CHANNEL), Some(body)).await;
    assert_eq!(retry.status, 200);
    let posted = fake.wait_for_messages(1, WAIT).await;
    assert_eq!(posted.len(), 1, "the retry did not post a second message");
    assert_eq!(retry.body["id"], posted[0].message_id.to_string());
}

#[tokio::test]
async fn nonce_is_idempotent_only_with_enforce_nonce_and_per_channel() {
    let fake = FakeDiscord::start().await;
    let mut enforced = message("x");
    enforced["nonce"] = json!("n1");
    enforced["enforce_nonce"] = json!(true);
    let first = call(&fake, "POST", &post_path(CHANNEL), Some(enforced.clone())).await;
    let again = call(&fake, "POST", &post_path(CHANNEL), Some(enforced.clone())).await;
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(fake.messages().len(), 1);

    let other_channel = call(&fake, "POST", &post_path(CHANNEL + 1), Some(enforced)).await;
    assert_ne!(other_channel.body["id"], first.body["id"]);

    let mut loose = message("y");
    loose["nonce"] = json!("n2");
    call(&fake, "POST", &post_path(CHANNEL), Some(loose.clone())).await;
    call(&fake, "POST", &post_path(CHANNEL), Some(loose)).await;
    assert_eq!(
        fake.messages().len(),
        4,
        "without enforce_nonce a repeat posts again"
    );
}

fn long_window_config() -> FakeConfig {
    // Windows far longer than the test, so the limit is hit regardless of machine speed.
    FakeConfig {
        channel_window: Duration::from_secs(600),
        global_window: Duration::from_secs(600),
        ..FakeConfig::default()
    }
}

#[tokio::test]
async fn channel_rate_limit_answers_429_and_counts_it() {
    let fake = FakeDiscord::start_with(long_window_config()).await;
    for n in 0..5 {
        let answer = call(&fake, "POST", &post_path(CHANNEL), Some(message("m"))).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["x-ratelimit-limit"], "5");
        assert_eq!(answer.headers["x-ratelimit-remaining"], (4 - n).to_string());
        assert!(answer.headers.contains_key("x-ratelimit-reset-after"));
        assert!(answer.headers.contains_key("x-ratelimit-bucket"));
    }
    let limited = call(&fake, "POST", &post_path(CHANNEL), Some(message("m"))).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");
    assert_eq!(limited.body["global"], false);
    assert!(limited.body["retry_after"]
        .as_f64()
        .is_some_and(|s| s > 0.0));
    assert!(limited.headers.contains_key("retry-after"));
    assert_eq!(fake.rate_limited_count(), 1);
    assert_eq!(fake.messages().len(), 5);
    let elsewhere = call(&fake, "POST", &post_path(CHANNEL + 1), Some(message("m"))).await;
    assert_eq!(elsewhere.status, 200, "the limit is per channel");
}

#[tokio::test]
async fn global_rate_limit_answers_global_429_but_spares_interaction_callbacks() {
    let fake = FakeDiscord::start_with(FakeConfig {
        global_limit: 3,
        ..long_window_config()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(call(&fake, "GET", "/users/@me", None).await.status, 200);
    }
    let limited = call(&fake, "GET", "/users/@me", None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["global"], true);
    assert_eq!(limited.headers["x-ratelimit-global"], "true");
    assert_eq!(fake.rate_limited_count(), 1);

    let interaction = Interaction::command("subscribe").build();
    let id = fake.expect_interaction(&interaction);
    let path = format!(
        "/interactions/{id}/{}/callback",
        interaction["token"].as_str().unwrap()
    );
    let callback = call(&fake, "POST", &path, Some(json!({"type": 5}))).await;
    assert_eq!(
        callback.status, 204,
        "interaction callbacks are exempt from the global limit"
    );
}

/// Posts `body` and asserts Discord's 400 with `code`, and that a violation was recorded.
async fn assert_rejected(fake: &FakeDiscord, body: Value, code: i64, error_path: &str) {
    let before = fake.violations().len();
    let answer = call(fake, "POST", &post_path(CHANNEL), Some(body)).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.body["code"], code, "{}", answer.body);
    if !error_path.is_empty() {
        assert!(
            answer.body["errors"].pointer(error_path).is_some(),
            "no error at {error_path}: {}",
            answer.body
        );
    }
    assert_eq!(fake.violations().len(), before + 1);
}

fn with_embeds(embeds: Value) -> Value {
    let mut body = message("");
    body["embeds"] = embeds;
    body
}

#[tokio::test]
async fn validator_rejects_over_limit_messages_and_accepts_them_at_the_limit() {
    let fake = FakeDiscord::start_with(long_window_config()).await;
    let title = |n: usize| with_embeds(json!([{"title": "é".repeat(n)}]));
    assert_rejected(&fake, title(257), 50035, "/embeds/0/title/_errors").await;
    assert_eq!(
        call(&fake, "POST", &post_path(CHANNEL), Some(title(256)))
            .await
            .status,
        200
    );

    let two = |first: usize| {
        with_embeds(json!([{"description": "a".repeat(first)}, {"description": "b".repeat(3000)}]))
    };
    assert_rejected(&fake, two(3001), 50035, "/embeds/_errors").await;
    assert_eq!(
        call(&fake, "POST", &post_path(CHANNEL + 1), Some(two(3000)))
            .await
            .status,
        200
    );

    assert_rejected(&fake, message(&"x".repeat(2001)), 50035, "/content/_errors").await;
    assert_eq!(
        call(
            &fake,
            "POST",
            &post_path(CHANNEL + 2),
            Some(message(&"x".repeat(2000)))
        )
        .await
        .status,
        200
    );

    assert_eq!(
        fake.messages().len(),
        3,
        "only the in-limit messages were posted"
    );
}

#[tokio::test]
async fn validator_enforces_allowed_mentions_nonce_and_non_empty() {
    // Rejected creates count against the channel's limit, as at Discord: allow enough of them.
    let fake = FakeDiscord::start_with(FakeConfig {
        channel_limit: 100,
        ..long_window_config()
    })
    .await;
    assert_rejected(
        &fake,
        json!({"content": "hello @everyone"}),
        50035,
        "/allowed_mentions/_errors",
    )
    .await;
    let everyone = json!({"content": "x", "allowed_mentions": {"parse": ["everyone"]}});
    assert_rejected(&fake, everyone, 50035, "/allowed_mentions/parse/0/_errors").await;
    let exclusive = json!({"content": "x", "allowed_mentions": {"parse": ["users"], "users": [ALICE.to_string()]}});
    assert_rejected(&fake, exclusive, 50035, "/allowed_mentions/_errors").await;
    let too_many: Vec<String> = (1..=101).map(|n: u64| (ALICE + n).to_string()).collect();
    let crowd = json!({"content": "x", "allowed_mentions": {"users": too_many}});
    assert_rejected(&fake, crowd, 50035, "/allowed_mentions/users/_errors").await;
    let mut long_nonce = message("x");
    long_nonce["nonce"] = json!("n".repeat(26));
    assert_rejected(&fake, long_nonce, 50035, "/nonce/_errors").await;
    assert_rejected(&fake, message("  "), 50006, "").await;
    let bad_image =
        with_embeds(json!([{"title": "t", "image": {"url": "ftp://example.com/x.png"}}]));
    assert_rejected(&fake, bad_image, 50035, "/embeds/0/image/url/_errors").await;
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn interactions_are_answered_once_with_a_valid_type_then_followed_up() {
    let fake = FakeDiscord::start().await;
    let command = Interaction::command("subscribe").channel(CHANNEL).build();
    let id = fake.expect_interaction(&command);
    let token = command["token"].as_str().unwrap().to_string();
    let callback = format!("/interactions/{id}/{token}/callback");
    let webhook = format!("/webhooks/{APPLICATION_ID}/{token}");

    let early = call(
        &fake,
        "POST",
        &webhook,
        Some(json!({"content": "too soon"})),
    )
    .await;
    assert_eq!(
        (early.status, early.body["code"].clone()),
        (404, json!(10015)),
        "followup before callback"
    );

    let wrong_type = call(
        &fake,
        "POST",
        &callback,
        Some(json!({"type": 8, "data": {"choices": []}})),
    )
    .await;
    assert_eq!(
        (wrong_type.status, wrong_type.body["code"].clone()),
        (400, json!(50035))
    );

    let deferred = call(
        &fake,
        "POST",
        &callback,
        Some(json!({"type": 5, "data": {"flags": 64}})),
    )
    .await;
    assert_eq!(deferred.status, 204);
    let twice = call(
        &fake,
        "POST",
        &callback,
        Some(json!({"type": 4, "data": {"content": "again"}})),
    )
    .await;
    assert_eq!(
        (twice.status, twice.body["code"].clone()),
        (400, json!(40060))
    );

    let edit = call(
        &fake,
        "PATCH",
        &format!("{webhook}/messages/@original"),
        Some(json!({"content": "done"})),
    )
    .await;
    assert_eq!(edit.status, 200);
    assert_eq!(edit.body["channel_id"], CHANNEL.to_string());
    let followup = call(
        &fake,
        "POST",
        &webhook,
        Some(json!({"content": "more", "flags": 64})),
    )
    .await;
    assert_eq!(followup.status, 200);

    let recorded = fake.interaction_response(id).expect("recorded");
    assert_eq!(recorded.callback_type(), Some(5));
    assert_eq!(recorded.callback_flags(), 64);
    assert_eq!(recorded.original_edits, [json!({"content": "done"})]);
    assert_eq!(
        recorded.followups,
        [json!({"content": "more", "flags": 64})]
    );
    assert_eq!(
        fake.violations().len(),
        3,
        "early followup, wrong type, double answer"
    );

    let unknown = call(
        &fake,
        "POST",
        "/interactions/1/nope/callback",
        Some(json!({"type": 5})),
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.body["code"].clone()),
        (404, json!(10062))
    );
}

#[tokio::test]
async fn autocomplete_callback_validates_choices() {
    let fake = FakeDiscord::start().await;
    let request = Interaction::autocomplete("subscribe")
        .focused_string_option("query", "M")
        .build();
    let id = fake.expect_interaction(&request);
    let callback = format!(
        "/interactions/{id}/{}/callback",
        request["token"].as_str().unwrap()
    );
    let choices: Vec<Value> = (0..26)
        .map(|n| json!({"name": format!("c{n}"), "value": "v"}))
        .collect();
    let too_many = call(
        &fake,
        "POST",
        &callback,
        Some(json!({"type": 8, "data": {"choices": choices}})),
    )
    .await;
    assert_eq!(too_many.status, 400);
    let fine = call(
        &fake,
        "POST",
        &callback,
        Some(json!({"type": 8, "data": {"choices": [{"name": "Meta", "value": "Meta"}]}})),
    )
    .await;
    assert_eq!(fine.status, 204);
    assert_eq!(
        fake.interaction_response(id).unwrap().callback_type(),
        Some(8)
    );
}

#[tokio::test]
async fn command_registration_echoes_ids_and_rejects_bad_definitions() {
    let fake = FakeDiscord::start().await;
    let path = format!("/applications/{APPLICATION_ID}/guilds/{GUILD}/commands");
    let good = json!([{
        "name": "subscribe", "description": "Watch a query", "default_member_permissions": "32",
        "options": [{"type": 3, "name": "query", "description": "Query", "required": true, "max_length": 200}],
    }]);
    let first = call(&fake, "PUT", &path, Some(good.clone())).await;
    assert_eq!(first.status, 200);
    let echoed = &first.body[0];
    assert_eq!(echoed["application_id"], APPLICATION_ID.to_string());
    assert_eq!(echoed["type"], 1);
    assert!(echoed["id"].is_string() && echoed["version"].is_string());
    let again = call(&fake, "PUT", &path, Some(good)).await;
    assert_eq!(
        again.body[0]["id"], echoed["id"],
        "re-registering keeps the command id"
    );

    let bad = [
        json!([{"name": "Subscribe", "description": "d"}]),
        json!([{"name": "a".repeat(33), "description": "d"}]),
        json!([{"name": "subscribe", "description": "d".repeat(101)}]),
        json!([{"name": "subscribe", "description": ""}]),
        json!([{"name": "subscribe", "description": "d", "options":
            (0..26).map(|n| json!({"type": 3, "name": format!("o{n}"), "description": "d"})).collect::<Vec<_>>()}]),
        json!([{"name": "subscribe", "description": "d", "options": [
            {"type": 3, "name": "a", "description": "d"},
            {"type": 3, "name": "b", "description": "d", "required": true}]}]),
    ];
    for body in bad {
        let answer = call(&fake, "PUT", &path, Some(body.clone())).await;
        assert_eq!(
            (answer.status, answer.body["code"].clone()),
            (400, json!(50035)),
            "{body}"
        );
    }
    assert_eq!(fake.registered_commands().len(), 2);
    assert_eq!(fake.violations().len(), 6);
    let listed = call(&fake, "GET", &path, None).await;
    assert_eq!(listed.body[0]["name"], "subscribe");
}

#[tokio::test]
async fn edits_and_dm_channels_are_recorded() {
    let fake = FakeDiscord::start().await;
    let posted = call(&fake, "POST", &post_path(CHANNEL), Some(message("v1"))).await;
    let id = posted.body["id"].as_str().unwrap().to_string();
    let edited = call(
        &fake,
        "PATCH",
        &format!("/channels/{CHANNEL}/messages/{id}"),
        Some(json!({"content": "v2"})),
    )
    .await;
    assert_eq!(edited.status, 200);
    assert_eq!(edited.body["content"], "v2");
    assert!(edited.body["edited_timestamp"].is_string());
    assert_eq!(fake.edits()[0].body, json!({"content": "v2"}));
    let missing = call(
        &fake,
        "PATCH",
        &format!("/channels/{CHANNEL}/messages/5"),
        Some(json!({"content": "x"})),
    )
    .await;
    assert_eq!(
        (missing.status, missing.body["code"].clone()),
        (404, json!(10008))
    );

    let dm = call(
        &fake,
        "POST",
        "/users/@me/channels",
        Some(json!({"recipient_id": ALICE.to_string()})),
    )
    .await;
    let dm_again = call(
        &fake,
        "POST",
        "/users/@me/channels",
        Some(json!({"recipient_id": ALICE.to_string()})),
    )
    .await;
    assert_eq!(dm.body["type"], 1);
    assert_eq!(
        dm.body["id"], dm_again.body["id"],
        "one DM channel per user"
    );
    assert_eq!(
        fake.dm_channel_of(ALICE).map(|c| c.to_string()),
        dm.body["id"].as_str().map(str::to_string)
    );
}

#[tokio::test]
#[should_panic(expected = "timed out after")]
async fn waits_fail_clearly_instead_of_hanging() {
    let fake = FakeDiscord::start().await;
    fake.wait_for_messages(1, Duration::from_millis(100)).await;
}

#[test]
fn default_ids_are_distinct_snowflakes() {
    assert_ne!(DEFAULT_CHANNEL_ID, DEFAULT_GUILD_ID);
    assert_ne!(
        payloads::BOT_USER_ID,
        APPLICATION_ID,
        "mixing up bot user and app id must fail"
    );
}

// ---- the validator itself, at N and N+1 ------------------------------------------------------

fn problems(body: &Value) -> Vec<String> {
    validate::check_message(body, MessageRoute::ChannelCreate)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn embed_limits_hold_at_n_and_fail_at_n_plus_one() {
    let field =
        |name: usize, value: usize| json!({"name": "n".repeat(name), "value": "v".repeat(value)});
    let cases = [
        (
            "fields",
            json!({"fields": vec![field(1, 1); 25]}),
            json!({"fields": vec![field(1, 1); 26]}),
        ),
        (
            "name",
            json!({"fields": [field(256, 1)]}),
            json!({"fields": [field(257, 1)]}),
        ),
        (
            "value",
            json!({"fields": [field(1, 1024)]}),
            json!({"fields": [field(1, 1025)]}),
        ),
        (
            "footer",
            json!({"footer": {"text": "f".repeat(2048)}}),
            json!({"footer": {"text": "f".repeat(2049)}}),
        ),
        (
            "author",
            json!({"author": {"name": "a".repeat(256)}}),
            json!({"author": {"name": "a".repeat(257)}}),
        ),
        (
            "description",
            json!({"description": "d".repeat(4096)}),
            json!({"description": "d".repeat(4097)}),
        ),
    ];
    for (what, at_limit, over) in cases {
        assert!(
            problems(&with_embeds(json!([at_limit]))).is_empty(),
            "{what} at the limit"
        );
        let found = problems(&with_embeds(json!([over])));
        assert!(
            found.iter().any(|p| p.contains(what)),
            "{what} over the limit: {found:?}"
        );
    }
    assert!(problems(&with_embeds(json!(vec![json!({"title": "t"}); 10]))).is_empty());
    assert!(!problems(&with_embeds(json!(vec![json!({"title": "t"}); 11]))).is_empty());
}

#[test]
fn embed_total_counts_chars_across_all_embeds() {
    // 4 embeds of 1500 multi-byte chars = 6000 chars (but 12000 bytes): allowed.
    let embed = json!({"description": "é".repeat(1500)});
    assert!(problems(&with_embeds(json!(vec![embed.clone(); 4]))).is_empty());
    let mut over = vec![embed; 4];
    over.push(json!({"footer": {"text": "x"}}));
    assert!(problems(&with_embeds(json!(over)))[0].contains("6000"));
}

#[test]
fn embed_urls_must_be_http() {
    for url in ["javascript:alert(1)", "not a url", "ftp://example.com"] {
        let body = with_embeds(json!([{"title": "t", "url": url, "thumbnail": {"url": url}}]));
        assert_eq!(problems(&body).len(), 2, "{url}");
    }
    let fine = with_embeds(
        json!([{"title": "t", "url": "https://e.com/a", "thumbnail": {"url": "http://e.com/i.png"}}]),
    );
    assert!(problems(&fine).is_empty());
}

#[test]
fn interaction_messages_need_no_allowed_mentions_but_channel_messages_do() {
    let bare = json!({"content": "hi"});
    assert!(validate::check_message(&bare, MessageRoute::Interaction).is_empty());
    assert!(validate::check_message(&bare, MessageRoute::ChannelEdit).is_empty());
    assert_eq!(
        validate::check_message(&bare, MessageRoute::ChannelCreate).len(),
        1
    );
}

#[test]
fn empty_message_means_no_content_and_nothing_else() {
    assert!(validate::is_empty_message(
        &json!({"content": "", "embeds": [], "sticker_ids": []})
    ));
    assert!(!validate::is_empty_message(
        &json!({"content": "", "embeds": [{"title": "t"}]})
    ));
    assert!(!validate::is_empty_message(&json!({"content": "x"})));
}

#[test]
fn command_checks_cover_nesting_and_choices() {
    let nested_too_deep = json!([{"name": "a", "description": "d", "options": [
        {"type": 1, "name": "b", "description": "d", "options": [{"type": 1, "name": "c", "description": "d"}]}]}]);
    assert!(!validate::check_commands(&nested_too_deep).is_empty());
    let group = json!([{"name": "a", "description": "d", "options": [
        {"type": 2, "name": "g", "description": "d", "options": [
            {"type": 1, "name": "s", "description": "d", "options": [{"type": 3, "name": "q", "description": "d", "required": true}]}]}]}]);
    assert!(
        validate::check_commands(&group).is_empty(),
        "{:?}",
        validate::check_commands(&group)
    );
    let choices: Vec<Value> = (0..26)
        .map(|n| json!({"name": format!("c{n}"), "value": n}))
        .collect();
    let too_many = json!([{"name": "a", "description": "d", "options": [{"type": 4, "name": "n", "description": "d", "choices": choices}]}]);
    assert!(!validate::check_commands(&too_many).is_empty());
    let duplicate = json!([{"name": "a", "description": "d"}, {"name": "a", "description": "d"}]);
    assert!(!validate::check_commands(&duplicate).is_empty());
    let bad_length = json!([{"name": "a", "description": "d", "options": [{"type": 3, "name": "q", "description": "d", "max_length": 6001}]}]);
    assert!(!validate::check_commands(&bad_length).is_empty());
}
