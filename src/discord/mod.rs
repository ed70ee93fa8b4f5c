//! Discord: the serenity client (slash commands), rendering alerts into messages, and
//! delivering them over Discord's REST API with our own pacing and error handling.

pub mod bot;
pub mod commands;
pub mod pace;
pub mod render;
pub mod rest;
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
    let state = Arc::new(bot::BotState {
        app: Arc::clone(&app),
        discord: discord.clone(),
    });
    let mut client = ClientBuilder::new_with_http(http, GatewayIntents::empty())
        .event_handler(bot::Handler { state })
        .await
        .context("cannot set up the Discord client")?;
    let shard_manager = Arc::clone(&client.shard_manager);
    health.watch_gateway(Arc::clone(&shard_manager));

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

    let mut gateway = tokio::spawn(async move { client.start().await });
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
