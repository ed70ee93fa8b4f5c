//! Discord: the serenity client (slash commands), rendering alerts into messages, and
//! delivering them over Discord's REST API with our own pacing and error handling.

pub mod bot;
pub mod commands;
pub mod pace;
pub mod render;
pub mod rest;
pub mod shards;
pub mod sink;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use serenity::all::{ClientBuilder, CreateAllowedMentions, GatewayIntents, HttpBuilder};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::{DiscordConfig, DISCORD_API};

/// One message to post: the JSON body of `POST /channels/{id}/messages`, including its
/// deterministic `nonce` and `enforce_nonce: true`, so a retry never posts twice.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    pub payload: serde_json::Value,
}

/// The bot token: `DISCORD_TOKEN` when set and not empty, else the first line of
/// `[discord].token_file`. `None` means console mode.
pub fn token(discord: &DiscordConfig, env_value: Option<String>) -> anyhow::Result<Option<String>> {
    if let Some(token) = env_value
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
    {
        return Ok(Some(token));
    }
    match &discord.token_file {
        Some(path) => read_token_file(path).map(Some),
        None => Ok(None),
    }
}

fn read_token_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read discord.token_file {}", path.display()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.is_empty() {
        anyhow::bail!(
            "discord.token_file {} is empty: put the bot token on its first line",
            path.display()
        );
    }
    Ok(token)
}

/// The shards this process starts, logged. With `shard_count = "auto"` it first asks Discord
/// (`GET /gateway/bot`) for its recommended count, and refuses to start when `shards` does not
/// fit it.
///
/// serenity's shard queuer waits 5 s between two shard boots whatever Discord allows, which
/// is at least as slow as `max_concurrency = 1` requires (one IDENTIFY per 5 s), so any
/// larger `max_concurrency` is respected too (and not used: 100 shards take over 8 minutes).
async fn shard_plan(
    http: &serenity::http::Http,
    sharding: shards::Sharding,
) -> anyhow::Result<shards::ShardPlan> {
    let recommended = match sharding.count {
        shards::ShardCount::Fixed(_) => None,
        shards::ShardCount::Auto => {
            let gateway = http.get_bot_gateway().await.context(
                "discord.shard_count = \"auto\": cannot read Discord's recommended shard count (GET /gateway/bot); set a number instead, or check the token",
            )?;
            tracing::info!(
                recommended = gateway.shards,
                max_concurrency = gateway.session_start_limit.max_concurrency,
                "Discord recommends {} shard(s)",
                gateway.shards
            );
            Some(gateway.shards)
        }
    };
    let plan = sharding.plan(recommended).map_err(anyhow::Error::msg)?;
    tracing::info!(
        shards = %plan.range,
        total = plan.total,
        "running shard(s) {} of {} (one shard boots every 5 s)",
        plan.range,
        plan.total
    );
    Ok(plan)
}

/// Runs the bot: the gateway connection (slash commands) and the pipeline delivering to
/// Discord, until `cancel` fires or Discord refuses the token.
pub async fn run(
    app: Arc<App>,
    token: String,
    health: Arc<crate::ops::http::Health>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let discord = app.config.discord.clone();
    let mut builder =
        HttpBuilder::new(&token).default_allowed_mentions(CreateAllowedMentions::new());
    if discord.api_base_url != DISCORD_API {
        // serenity ignores the proxy unless its own ratelimiter is off; we pace ourselves.
        builder = builder
            .proxy(discord.api_base_url.clone())
            .ratelimiter_disabled(true);
    }
    let http = builder.build();
    let plan = match discord.sharding {
        None => None,
        Some(sharding) => Some(shard_plan(&http, sharding).await?),
    };
    let shard_ids: Vec<u32> = plan.map_or_else(|| vec![0], |p| p.range.ids().collect());
    let state = Arc::new(bot::BotState {
        app: Arc::clone(&app),
        discord: discord.clone(),
    });
    let handler = bot::Handler {
        state,
        registering_shard: shard_ids[0],
    };
    let mut client = ClientBuilder::new_with_http(http, GatewayIntents::empty())
        .event_handler(handler)
        .await
        .context("cannot set up the Discord client")?;
    let shard_manager = Arc::clone(&client.shard_manager);
    health.watch_gateway(Arc::clone(&shard_manager), shard_ids);

    let rest_client = reqwest::Client::builder()
        .user_agent(concat!(
            "DiscordBot (https://github.com/newshound, ",
            env!("CARGO_PKG_VERSION"),
            ")"
        ))
        .build()
        .context("cannot build the HTTP client")?;
    let rest = rest::DiscordRest::new(rest_client, &discord.api_base_url, &token)?;
    let limits = pace::PaceLimits::default();
    let pacer = pace::Pacer::new(limits);
    // A previous run (crashed or restarted a moment ago) may have used up a channel's window,
    // and its posts still count at Discord for one window. This process cannot know them, so
    // it waits that long before its first post instead of collecting 429s.
    pacer.pause_all(limits.channel_window);
    let sink = Arc::new(sink::DiscordSink { rest, pacer });

    let mut gateway = tokio::spawn(async move {
        match plan {
            None => client.start().await,
            // serenity's range end is inclusive (it starts `end - start + 1` shards), so the
            // range is passed as written in `shards = "A-B"`.
            Some(plan) => {
                client
                    .start_shard_range(plan.range.first..plan.range.last, plan.total)
                    .await
            }
        }
    });
    let mut pipeline = tokio::spawn(Arc::clone(&app).run(sink, cancel.clone()));
    tokio::select! {
        result = &mut gateway => {
            cancel.cancel();
            let _ = pipeline.await;
            match result {
                Ok(Ok(())) => anyhow::bail!("the Discord connection ended"),
                Ok(Err(e)) => anyhow::bail!(
                    "Discord refused the connection: {e} — if it says authentication failed, the bot token is wrong: check DISCORD_TOKEN"
                ),
                Err(e) => anyhow::bail!("the Discord connection task failed: {e}"),
            }
        }
        result = &mut pipeline => {
            shard_manager.shutdown_all().await;
            gateway.abort();
            result.context("pipeline task")?
        }
    }
}
