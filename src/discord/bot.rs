//! The serenity adapter: registers the slash commands, turns interactions into
//! [`Command`]s, executes them against the store, and answers within Discord's 3 seconds.

use std::sync::Arc;

use chrono::Utc;
use serenity::all::{
    CommandInteraction, Context, CreateAllowedMentions, CreateAutocompleteResponse,
    CreateInteractionResponse, CreateInteractionResponseMessage, EditInteractionResponse,
    EventHandler, GuildId, Interaction, Ready, ResolvedOption, ResolvedValue,
};

use crate::app::App;
use crate::config::DiscordConfig;
use crate::core::digest::Cadence;
use crate::core::matcher::{Document, Matcher};
use crate::core::query;
use crate::discord::commands::{
    definitions, fence_safe, help_text, parse_command, perms, Command, Invocation, OptValue, Reply,
};
use crate::sources::fetch::{AddressPolicy, FetchOutcome, Validators};
use crate::sources::parse::parse_feed;
use crate::store::digest::{self as held, MemberSettings};
use crate::store::discord::{self as q, AddSourceError, RemoveSource, KIND_CHANNEL, KIND_MEMBER};
use crate::store::{self};

/// Everything the command handlers need.
pub struct BotState {
    pub app: Arc<App>,
    pub discord: DiscordConfig,
}

/// serenity's event handler.
pub struct Handler {
    pub state: Arc<BotState>,
}

/// A delivery target for a channel.
pub fn channel_target(id: u64) -> String {
    format!("channel:{id}")
}

/// A delivery target for a member's DMs.
pub fn dm_target(user: u64) -> String {
    format!("dm:{user}")
}

/// How a target reads in a reply.
pub fn describe_target(target: &str) -> String {
    if let Some(id) = target.strip_prefix("channel:") {
        format!("<#{id}>")
    } else if target.starts_with("dm:") {
        "direct message".to_string()
    } else {
        format!("`{}`", fence_safe(target))
    }
}

fn to_opt_values(options: &[ResolvedOption<'_>]) -> Vec<(String, OptValue)> {
    options
        .iter()
        .filter_map(|o| {
            let value = match &o.value {
                ResolvedValue::String(s) => OptValue::Str((*s).to_string()),
                ResolvedValue::Autocomplete { value, .. } => OptValue::Str((*value).to_string()),
                ResolvedValue::Boolean(b) => OptValue::Bool(*b),
                ResolvedValue::Integer(i) => OptValue::Int(*i),
                ResolvedValue::Channel(c) => OptValue::Channel(c.id.get()),
                ResolvedValue::User(u, _) => OptValue::User(u.id.get()),
                ResolvedValue::SubCommand(sub) | ResolvedValue::SubCommandGroup(sub) => {
                    OptValue::Sub(o.name.to_string(), to_opt_values(sub))
                }
                _ => return None,
            };
            Some((o.name.to_string(), value))
        })
        .collect()
}

fn invocation(cmd: &CommandInteraction) -> Invocation {
    Invocation {
        guild_id: cmd.guild_id.map(GuildId::get),
        channel_id: cmd.channel_id.get(),
        user_id: cmd.user.id.get(),
        member_permissions: cmd
            .member
            .as_ref()
            .and_then(|m| m.permissions)
            .map(|p| p.bits()),
        app_permissions: cmd.app_permissions.map(|p| p.bits()),
    }
}

fn message(reply: &Reply) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .content(crate::core::summary::truncate_at_boundary(
            &reply.content,
            2000,
        ))
        .ephemeral(reply.ephemeral)
        .allowed_mentions(CreateAllowedMentions::new())
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(bot = %ready.user.name, "connected to Discord");
        let commands = definitions();
        let result = match self.state.discord.guild_id {
            Some(guild) => GuildId::new(guild)
                .set_commands(&ctx.http, commands)
                .await
                .map(|c| c.len()),
            None => serenity::all::Command::set_global_commands(&ctx.http, commands)
                .await
                .map(|c| c.len()),
        };
        match result {
            Ok(n) => {
                tracing::info!(commands = n, guild = ?self.state.discord.guild_id, "slash commands registered");
            }
            Err(e) => tracing::error!(error = %e, "cannot register slash commands"),
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(cmd) => self.on_command(&ctx, &cmd).await,
            Interaction::Autocomplete(cmd) => self.on_autocomplete(&ctx, &cmd).await,
            _ => {}
        }
    }
}

impl Handler {
    async fn on_command(&self, ctx: &Context, cmd: &CommandInteraction) {
        let inv = invocation(cmd);
        let options = to_opt_values(&cmd.data.options());
        tracing::info!(command = %cmd.data.name, interaction = %cmd.id, guild = ?inv.guild_id, "command");
        let parsed = parse_command(&cmd.data.name, &options);
        let command = match parsed {
            Ok(c) => c,
            Err(reply) => {
                respond(ctx, cmd, &reply).await;
                return;
            }
        };
        if command.is_slow() {
            if let Err(e) = cmd.defer_ephemeral(&ctx.http).await {
                tracing::warn!(error = %e, "cannot defer the interaction");
                return;
            }
            let reply = execute(&self.state, &inv, command).await;
            let edit = EditInteractionResponse::new()
                .content(crate::core::summary::truncate_at_boundary(
                    &reply.content,
                    2000,
                ))
                .allowed_mentions(CreateAllowedMentions::new());
            if let Err(e) = cmd.edit_response(&ctx.http, edit).await {
                tracing::warn!(error = %e, "cannot finish the deferred reply");
            }
        } else {
            let reply = execute(&self.state, &inv, command).await;
            respond(ctx, cmd, &reply).await;
        }
    }

    async fn on_autocomplete(&self, ctx: &Context, cmd: &CommandInteraction) {
        let (Some(guild), Some(focused)) = (cmd.guild_id, cmd.data.autocomplete()) else {
            return;
        };
        let typed = focused.value.to_lowercase();
        let user = cmd.user.id.get().to_string();
        let guild = guild.get().to_string();
        if cmd.data.name == "subscribe" {
            let sources = self
                .state
                .app
                .store()
                .call(move |c| q::visible_sources(c, &guild))
                .await
                .unwrap_or_default();
            let mut response = CreateAutocompleteResponse::new();
            for name in sources
                .iter()
                .map(|s| s.name.chars().take(100).collect::<String>())
                .filter(|name| name.to_lowercase().contains(&typed))
                .take(25)
            {
                response = response.add_string_choice(name.clone(), name);
            }
            if let Err(e) = cmd
                .create_response(&ctx.http, CreateInteractionResponse::Autocomplete(response))
                .await
            {
                tracing::debug!(error = %e, "autocomplete answer failed");
            }
            return;
        }
        if cmd.data.name == "settings" {
            let mut response = CreateAutocompleteResponse::new();
            for tz in chrono_tz::TZ_VARIANTS
                .iter()
                .map(|tz| tz.name())
                .filter(|name| name.to_lowercase().contains(&typed))
                .take(25)
            {
                response = response.add_string_choice(tz, tz);
            }
            if let Err(e) = cmd
                .create_response(&ctx.http, CreateInteractionResponse::Autocomplete(response))
                .await
            {
                tracing::debug!(error = %e, "autocomplete answer failed");
            }
            return;
        }
        let rows = match cmd.data.name.as_str() {
            "unsubscribe" | "snooze" => {
                self.state
                    .app
                    .store()
                    .call(move |c| q::member_subscriptions(c, &guild, &user))
                    .await
            }
            "alerts" => {
                self.state
                    .app
                    .store()
                    .call(move |c| q::channel_subscriptions(c, &guild))
                    .await
            }
            _ => Ok(Vec::new()),
        };
        let mut response = CreateAutocompleteResponse::new();
        let mut seen = std::collections::HashSet::new();
        for row in rows.unwrap_or_default() {
            if seen.len() >= 25
                || !row.query.to_lowercase().contains(&typed)
                || !seen.insert(row.query.clone())
            {
                continue;
            }
            let label: String = format!("{} → {}", row.query, describe_target(&row.target))
                .chars()
                .take(100)
                .collect();
            response =
                response.add_string_choice(label, row.query.chars().take(100).collect::<String>());
        }
        if let Err(e) = cmd
            .create_response(&ctx.http, CreateInteractionResponse::Autocomplete(response))
            .await
        {
            tracing::debug!(error = %e, "autocomplete answer failed");
        }
    }
}

async fn respond(ctx: &Context, cmd: &CommandInteraction, reply: &Reply) {
    if let Err(e) = cmd
        .create_response(
            &ctx.http,
            CreateInteractionResponse::Message(message(reply)),
        )
        .await
    {
        tracing::warn!(error = %e, "cannot answer the interaction");
    }
}

/// Runs a parsed command. Every failure becomes an ephemeral reply that says what to do.
pub async fn execute(state: &BotState, inv: &Invocation, command: Command) -> Reply {
    let Some(guild) = inv.guild_id else {
        if command == Command::Help {
            return Reply::private(help_text());
        }
        return Reply::private("newshound commands work inside a server. Run them in a channel of the server you want alerts from.");
    };
    if command.needs_admin() && !inv.is_admin() {
        return Reply::private("Only members with the Manage Server permission can do that. Ask a server admin, or use `/subscribe` for your own alerts.");
    }
    match run_command(state, inv, guild, command).await {
        Ok(reply) => reply,
        Err(e) => {
            tracing::error!(error = %e, "command failed");
            Reply::private("Something went wrong on newshound's side and nothing was changed. Try again in a minute.")
        }
    }
}

/// "Time zone: … · Quiet hours: … · Limit: …" for replies.
fn settings_line(s: &MemberSettings) -> String {
    let prefs = s.prefs();
    format!(
        "\nTime zone: **{}** · Quiet hours: **{}** · Pings per hour: **{}**",
        prefs.timezone.name(),
        prefs
            .quiet
            .map_or_else(|| "off".to_string(), |q| q.to_string()),
        prefs
            .hourly_cap
            .map_or_else(|| "no limit".to_string(), |n| n.to_string())
    )
}

fn post_check(inv: &Invocation, channel: u64) -> Option<String> {
    // `app_permissions` describes the channel the command was used in; for another channel
    // the first delivery tells (and suspends the target with a notice if it fails).
    if channel == inv.channel_id {
        if let Some(p) = inv.app_permissions {
            if p & perms::POST_ALERTS != perms::POST_ALERTS && p & perms::ADMINISTRATOR == 0 {
                return Some(format!(
                    "I can't post alerts in <#{channel}>: I need View Channel, Send Messages and Embed Links there. Ask an admin to grant them, or pick another channel with `channel:`."
                ));
            }
        }
    }
    None
}

async fn run_command(
    state: &BotState,
    inv: &Invocation,
    guild: u64,
    command: Command,
) -> anyhow::Result<Reply> {
    let store = state.app.store().clone();
    let g = guild.to_string();
    let user = inv.user_id.to_string();
    let now = Utc::now();
    let reply = match command {
        Command::Help => Reply::private(help_text()),
        Command::Subscribe {
            queries,
            channel,
            dm,
            cadence,
            source,
        } => {
            let default_channel = {
                let g = g.clone();
                store.call(move |c| q::alert_channel(c, &g)).await?
            };
            let target = if dm {
                dm_target(inv.user_id)
            } else if let Some(ch) = channel {
                channel_target(ch)
            } else if let Some(default) = default_channel {
                default
            } else {
                channel_target(inv.channel_id)
            };
            if let Some(id) = target
                .strip_prefix("channel:")
                .and_then(|id| id.parse::<u64>().ok())
            {
                if let Some(problem) = post_check(inv, id) {
                    return Ok(Reply::private(problem));
                }
            }
            // `source:` must name a source this server sees; stored as the source spells it.
            let source = match source {
                Some(Some(name)) => {
                    let g = g.clone();
                    let visible = store.call(move |c| q::visible_sources(c, &g)).await?;
                    if let Some(s) = visible.iter().find(|s| s.name.eq_ignore_ascii_case(&name)) {
                        Some(Some(s.name.clone()))
                    } else {
                        let names: Vec<String> = visible
                            .iter()
                            .take(15)
                            .map(|s| format!("`{}`", fence_safe(&s.name)))
                            .collect();
                        return Ok(Reply::private(format!(
                            "No source named `{}` feeds this server. Pick one from the suggestions: {}.",
                            fence_safe(&name),
                            if names.is_empty() { "none yet — ask an admin to `/sources add`".to_string() } else { names.join(", ") }
                        )));
                    }
                }
                other => other,
            };
            let (per_member, per_server) = (
                state.discord.max_subscriptions_per_member,
                state.discord.max_subscriptions_per_server,
            );
            let (g2, user2, target2) = (g.clone(), user.clone(), target.clone());
            let source2 = source.clone();
            let outcome = store
                .call(move |c| {
                    let tx = c.transaction()?;
                    let mine = q::member_subscriptions(&tx, &g2, &user2)?.len();
                    let server = q::count_guild_subscriptions(&tx, &g2)?;
                    if mine + queries.len() > per_member {
                        return Ok(Err(format!("You have {mine} subscriptions; the limit is {per_member} per member. Remove some with `/unsubscribe` first.")));
                    }
                    if server + queries.len() > per_server {
                        return Ok(Err(format!("This server has reached its limit of {per_server} subscriptions. Ask an admin to clean up with `/subscriptions member:`.")));
                    }
                    let mut added = Vec::new();
                    let mut existing = Vec::new();
                    for query in queries {
                        if q::add_subscription(&tx, KIND_MEMBER, &g2, &user2, &query, &target2, now)? {
                            added.push(query.clone());
                        } else {
                            existing.push(query.clone());
                        }
                        if let Some(cadence) = cadence {
                            held::set_subscription_cadence(&tx, &g2, &user2, &query, &target2, cadence)?;
                        }
                        if let Some(only) = &source2 {
                            held::set_subscription_source(&tx, &g2, &user2, &query, &target2, only.as_deref())?;
                        }
                    }
                    let settings = held::member_settings(&tx, &g2, &user2)?;
                    tx.commit()?;
                    Ok(Ok((added, existing, settings)))
                })
                .await?;
            match outcome {
                Err(msg) => Reply::private(msg),
                Ok((added, existing, settings)) => {
                    state
                        .app
                        .reload_member(&guild.to_string(), &inv.user_id.to_string())
                        .await?;
                    let paused = {
                        let (g, user) = (g.clone(), user.clone());
                        store.call(move |c| q::is_paused(c, &g, &user)).await?
                    };
                    let mut text = String::new();
                    if !added.is_empty() {
                        text.push_str(&format!(
                            "Subscribed to {} — alerts go to {}.",
                            added
                                .iter()
                                .map(|q| format!("`{}`", fence_safe(q)))
                                .collect::<Vec<_>>()
                                .join(", "),
                            describe_target(&target)
                        ));
                    }
                    if !existing.is_empty() {
                        text.push_str(&format!(
                            " {}: {}.",
                            if cadence.is_some() || source.is_some() {
                                "Updated"
                            } else {
                                "Already subscribed"
                            },
                            existing
                                .iter()
                                .map(|q| format!("`{}`", fence_safe(q)))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                    match &source {
                        Some(Some(name)) => text.push_str(&format!(
                            " Only items from **{}**.",
                            crate::core::limits::escape_markdown(name)
                        )),
                        Some(None) => text.push_str(" From every source."),
                        None => {}
                    }
                    match cadence {
                        Some(Cadence::Hourly) => text.push_str(
                            " They arrive as one **hourly digest** instead of a ping per item.",
                        ),
                        Some(Cadence::Daily(at)) => {
                            text.push_str(&format!(
                                " They arrive as one **daily digest** at {} ({}).",
                                at.format("%H:%M"),
                                settings.timezone.as_deref().unwrap_or("UTC")
                            ));
                            if settings.timezone.is_none() {
                                text.push_str(" Set your time zone with `/settings timezone:`.");
                            }
                        }
                        Some(Cadence::Instant) => {
                            text.push_str(" You'll be pinged for each item as it is found.");
                        }
                        None => {}
                    }
                    if paused {
                        text.push_str(" Your alerts are paused; `/resume` to get them.");
                    }
                    Reply::private(text.trim().to_string())
                }
            }
        }
        Command::Unsubscribe { query, member } => {
            let whose = match member {
                Some(m) if m != inv.user_id => {
                    if !inv.is_admin() {
                        return Ok(Reply::private("Only admins (Manage Server) can remove another member's subscriptions. Use `/unsubscribe query:` for your own."));
                    }
                    m
                }
                _ => inv.user_id,
            };
            let canonical = query::parse(&query).map_or_else(|_| query.clone(), |q| q.to_string());
            let (g2, who) = (g.clone(), whose.to_string());
            let removed = store
                .call(move |c| {
                    let mut n = q::remove_member_subscription(c, &g2, &who, &canonical)?;
                    if n == 0 && canonical != query {
                        n = q::remove_member_subscription(c, &g2, &who, &query)?;
                    }
                    Ok(n)
                })
                .await?;
            if removed == 0 {
                Reply::private("No subscription with that query. `/subscriptions` lists them; pick one from the suggestions as you type.")
            } else {
                state
                    .app
                    .reload_member(&guild.to_string(), &whose.to_string())
                    .await?;
                Reply::private(format!(
                    "Removed {removed} subscription{}.",
                    if removed == 1 { "" } else { "s" }
                ))
            }
        }
        Command::Subscriptions { member } => {
            let whose = match member {
                Some(m) if m != inv.user_id => {
                    if !inv.is_admin() {
                        return Ok(Reply::private("You can only list your own subscriptions. Admins (Manage Server) may pass `member:`."));
                    }
                    m
                }
                _ => inv.user_id,
            };
            let (g2, who) = (g.clone(), whose.to_string());
            let (rows, paused, broken, settings, waiting) = store
                .call(move |c| {
                    Ok((
                        q::member_subscriptions(c, &g2, &who)?,
                        q::is_paused(c, &g2, &who)?,
                        store::broken_targets(c)?,
                        held::member_settings(c, &g2, &who)?,
                        held::held_count(c, &g2, &who)?,
                    ))
                })
                .await?;
            if rows.is_empty() {
                Reply::private(if whose == inv.user_id {
                    "You have no subscriptions yet. Try `/subscribe query: Meta`.".to_string()
                } else {
                    format!("<@{whose}> has no subscriptions in this server.")
                })
            } else {
                let mut text = if whose == inv.user_id {
                    "Your subscriptions:\n".to_string()
                } else {
                    format!("<@{whose}>'s subscriptions:\n")
                };
                for row in &rows {
                    text.push_str(&format!(
                        "• `{}` → {}",
                        fence_safe(&row.query),
                        describe_target(&row.target)
                    ));
                    match Cadence::parse(&row.mode, row.digest_at.as_deref()) {
                        Ok(Cadence::Instant) | Err(_) => {}
                        Ok(cadence) => text.push_str(&format!(" · {cadence}")),
                    }
                    if let Some(only) = &row.source {
                        text.push_str(&format!(
                            " · only from {}",
                            crate::core::limits::escape_markdown(only)
                        ));
                    }
                    if let Some(until) = row.snoozed_until.filter(|u| *u > now) {
                        text.push_str(&format!(
                            " · 💤 snoozed until <t:{0}:f> (<t:{0}:R>)",
                            until.timestamp()
                        ));
                    }
                    if let Some(b) = broken.iter().find(|b| b.target == row.target) {
                        text.push_str(&format!(
                            " ⚠ not delivering: {} (alerts are kept)",
                            b.reason
                        ));
                    }
                    text.push('\n');
                }
                text.push_str(&settings_line(&settings));
                if waiting > 0 {
                    text.push_str(&format!(
                        "\n{waiting} item{} waiting for the next digest.",
                        if waiting == 1 { "" } else { "s" }
                    ));
                }
                if paused {
                    text.push_str("\nAlerts are **paused**; `/resume` to get them again.");
                }
                Reply::private(text)
            }
        }
        Command::Snooze { query, duration } => {
            let canonical = query::parse(&query).map_or_else(|_| query.clone(), |q| q.to_string());
            let until = duration.map(|d| now + d);
            let (g2, who) = (g.clone(), user.clone());
            let changed = store
                .call(move |c| {
                    let mut n = held::set_snooze(c, &g2, &who, &canonical, until)?;
                    if n == 0 && canonical != query {
                        n = held::set_snooze(c, &g2, &who, &query, until)?;
                    }
                    Ok(n)
                })
                .await?;
            if changed == 0 {
                return Ok(Reply::private("No subscription with that query. `/subscriptions` lists them; pick one from the suggestions as you type."));
            }
            state
                .app
                .reload_member(&guild.to_string(), &inv.user_id.to_string())
                .await?;
            Reply::private(match until {
                Some(until) => format!(
                    "Snoozed until <t:{0}:f> (<t:{0}:R>). Items it matches meanwhile are skipped; `/snooze for: off` wakes it early.",
                    until.timestamp()
                ),
                None => "Snooze ended: this subscription alerts again.".to_string(),
            })
        }
        Command::Settings {
            timezone,
            quiet_hours,
            max_per_hour,
        } => {
            let show_only = timezone.is_none() && quiet_hours.is_none() && max_per_hour.is_none();
            let (g2, who) = (g.clone(), user.clone());
            let settings = store
                .call(move |c| {
                    let mut s = held::member_settings(c, &g2, &who)?;
                    if show_only {
                        return Ok(s);
                    }
                    if let Some(tz) = timezone {
                        s.timezone = Some(tz);
                    }
                    if let Some(quiet) = quiet_hours {
                        s.quiet_hours = quiet.map(|q| {
                            format!("{}-{}", q.start.format("%H:%M"), q.end.format("%H:%M"))
                        });
                    }
                    if let Some(cap) = max_per_hour {
                        s.hourly_cap = cap;
                    }
                    held::set_member_settings(c, &g2, &who, &s)?;
                    Ok(s)
                })
                .await?;
            let mut text = if show_only {
                "Your settings:".to_string()
            } else {
                "Saved. Your settings:".to_string()
            };
            text.push_str(&settings_line(&settings));
            let local = Utc::now().with_timezone(&settings.prefs().timezone);
            text.push_str(&format!(
                "\nYour local time is {} — if that is wrong, set `timezone:`.",
                local.format("%H:%M")
            ));
            Reply::private(text)
        }
        Command::Preview { query } => {
            let parsed = match query::parse(&query) {
                Ok(p) => p,
                Err(e) => return Ok(Reply::private(format!("{e}"))),
            };
            let g2 = g.clone();
            let items = store
                .call(move |c| q::recent_items(c, &g2, now - chrono::Duration::hours(24), 5000))
                .await?;
            let matcher = Matcher::new([(0_usize, parsed)]);
            let hits: Vec<_> = items
                .iter()
                .filter_map(|i| {
                    matcher
                        .match_document(&Document {
                            title: &i.title,
                            body: &i.body,
                        })
                        .into_iter()
                        .next()
                        .map(|m| (i, m.matched))
                })
                .collect();
            if hits.is_empty() {
                Reply::private(format!(
                    "`{}` matched nothing among the {} items seen in the last 24 hours.",
                    fence_safe(&query),
                    items.len()
                ))
            } else {
                let mut text = format!(
                    "`{}` matched {} of the {} items seen in the last 24 hours:\n",
                    fence_safe(&query),
                    hits.len(),
                    items.len()
                );
                for (item, matched) in hits.iter().take(10) {
                    let title = crate::core::limits::escape_markdown(&item.title);
                    let line = match &item.link {
                        Some(link) => format!(
                            "• [{}](<{}>) — {} (matched {})\n",
                            title,
                            link,
                            item.source,
                            matched.join(", ")
                        ),
                        None => format!(
                            "• {} — {} (matched {})\n",
                            title,
                            item.source,
                            matched.join(", ")
                        ),
                    };
                    if text.chars().count() + line.chars().count() > 1900 {
                        break;
                    }
                    text.push_str(&line);
                }
                if hits.len() > 10 {
                    text.push_str(&format!("…and {} more.", hits.len() - 10));
                }
                Reply::private(text)
            }
        }
        Command::Pause | Command::Resume => {
            let pause = command == Command::Pause;
            store
                .call(move |c| q::set_paused(c, &g, &user, pause))
                .await?;
            state
                .app
                .reload_member(&guild.to_string(), &inv.user_id.to_string())
                .await?;
            Reply::private(if pause {
                "Your alerts are paused; your subscriptions are kept. `/resume` to get alerts again."
            } else {
                "Your alerts are back on."
            })
        }
        Command::SourcesList => {
            let g2 = g.clone();
            let (sources, broken) = store
                .call(move |c| {
                    // Only this server's channels: another server's must not be shown here.
                    let mut broken = Vec::new();
                    for b in store::broken_targets(c)? {
                        if q::guilds_of_target(c, &b.target)?.contains(&g2) {
                            broken.push(b);
                        }
                    }
                    Ok((q::visible_sources(c, &g2)?, broken))
                })
                .await?;
            let mut text = String::from("**Sources** (state · last success · next check)\n");
            for s in &sources {
                let origin = if s.guild_id.is_some() {
                    ""
                } else {
                    " (config)"
                };
                let state_text = match (s.state.as_str(), &s.paused_reason, &s.last_error) {
                    ("paused", Some(reason), _) => format!("⛔ paused: {reason}"),
                    ("backoff", _, Some(err)) => format!("⚠ failing: {err}"),
                    (st, _, _) => st.to_string(),
                };
                let when = |t: Option<chrono::DateTime<Utc>>| {
                    t.map_or_else(|| "—".to_string(), |t| format!("<t:{}:R>", t.timestamp()))
                };
                text.push_str(&format!(
                    "• **{}**{origin} · {} · {} · {}\n",
                    crate::core::limits::escape_markdown(&s.name),
                    state_text,
                    when(s.last_success_at),
                    when(s.next_check_at)
                ));
            }
            if sources.is_empty() {
                text.push_str("No sources yet. Add one with `/sources add url: https://example.com/feed.xml name: Example`.\n");
            }
            let broken_here: Vec<_> = broken
                .iter()
                .filter(|b| b.target.starts_with("channel:"))
                .collect();
            for b in broken_here {
                text.push_str(&format!(
                    "⚠ Alerts to {} are suspended: {} (they are kept and sent once it is fixed)\n",
                    describe_target(&b.target),
                    b.reason
                ));
            }
            Reply::private(text)
        }
        Command::SourcesAdd {
            url,
            name,
            schedule,
        } => {
            let g2 = g.clone();
            let count = store.call(move |c| q::count_guild_sources(c, &g2)).await?;
            if count >= state.discord.max_sources_per_server {
                return Ok(Reply::private(format!("This server has {count} sources; the limit is {}. Remove one with `/sources remove` first.", state.discord.max_sources_per_server)));
            }
            let fetched = state
                .app
                .ctx
                .fetcher
                .fetch(&url, &Validators::default(), AddressPolicy::PublicOnly, now)
                .await;
            let fetched = match fetched {
                Ok(FetchOutcome::Fetched(f)) => f,
                Ok(FetchOutcome::NotModified { .. }) => return Ok(Reply::private(
                    "The server answered 304 Not Modified to a first request; that is not a feed.",
                )),
                Err(e) => {
                    return Ok(Reply::private(format!(
                        "Could not add `{}`: {e}",
                        fence_safe(&url)
                    )))
                }
            };
            let base = fetched.final_url.as_ref().map(ToString::to_string);
            let body = fetched.body;
            let content_type = fetched.content_type;
            let parsed = tokio::task::spawn_blocking(move || {
                parse_feed(&body, content_type.as_deref(), base.as_deref())
            })
            .await;
            let feed = match parsed {
                Ok(Ok(feed)) => feed,
                Ok(Err(e)) => return Ok(Reply::private(format!("Not added: {e}"))),
                Err(_) => {
                    return Ok(Reply::private(
                        "Not added: the feed parser crashed on that document.",
                    ))
                }
            };
            let final_url = fetched
                .permanent_redirect
                .map_or(url.clone(), |u| u.to_string());
            let schedule_text =
                schedule.unwrap_or_else(|| state.app.config.default_schedule.clone());
            let (g2, name2) = (g.clone(), name.clone());
            let added = store
                .call(move |c| q::add_guild_source(c, &g2, &name2, &final_url, &schedule_text, now))
                .await?;
            match added {
                Err(AddSourceError::NameTaken) => Reply::private(format!(
                    "A source named `{}` already exists here. Pick another name.",
                    fence_safe(&name)
                )),
                Ok(id) => {
                    state.app.schedule_source(crate::core::model::SourceId(id));
                    Reply::private(format!(
                        "Added **{}** ({} items now). Items already in the feed are recorded as seen; new ones will alert this server's subscribers.",
                        crate::core::limits::escape_markdown(&name),
                        feed.items.len()
                    ))
                }
            }
        }
        Command::SourcesRemove { name } => {
            let (g2, name2) = (g.clone(), name.clone());
            match store.call(move |c| q::remove_guild_source(c, &g2, &name2)).await? {
                RemoveSource::Removed => Reply::private(format!("Removed `{}`.", fence_safe(&name))),
                RemoveSource::FromConfig => Reply::private(format!("`{}` comes from the bot's config file and feeds every server; only the bot's operator can remove it.", fence_safe(&name))),
                RemoveSource::NotFound => Reply::private(format!("No source named `{}` in this server. `/sources list` shows them.", fence_safe(&name))),
            }
        }
        Command::AlertsDefault { channel } => {
            if let Some(problem) = post_check(inv, channel) {
                return Ok(Reply::private(problem));
            }
            let target = channel_target(channel);
            store
                .call(move |c| {
                    q::set_alert_channel(c, &g, &target)?;
                    store::mark_target_ok(c, &target)
                })
                .await?;
            state.app.wake_deliverer();
            Reply::private(format!("Members' alerts now go to <#{channel}> unless they pick a channel or DMs. (Existing subscriptions keep their channel.)"))
        }
        Command::AlertsAdd { query, channel } => {
            if let Some(problem) = post_check(inv, channel) {
                return Ok(Reply::private(problem));
            }
            let per_server = state.discord.max_subscriptions_per_server;
            let target = channel_target(channel);
            let q2 = query.clone();
            let added = store
                .call(move |c| {
                    if q::count_guild_subscriptions(c, &g)? >= per_server {
                        return Ok(None);
                    }
                    Ok(Some(q::add_subscription(
                        c,
                        KIND_CHANNEL,
                        &g,
                        "",
                        &q2,
                        &target,
                        now,
                    )?))
                })
                .await?;
            match added {
                None => Reply::private(format!(
                    "This server has reached its limit of {per_server} subscriptions."
                )),
                Some(false) => Reply::private(format!(
                    "`{}` already posts to <#{channel}>.",
                    fence_safe(&query)
                )),
                Some(true) => {
                    state
                        .app
                        .reload_channel_subscriptions(&guild.to_string())
                        .await?;
                    Reply::private(format!("Every item matching `{}` will be posted in <#{channel}> (without pinging anyone).", fence_safe(&query)))
                }
            }
        }
        Command::AlertsList => {
            let (rows, default) = store
                .call(move |c| Ok((q::channel_subscriptions(c, &g)?, q::alert_channel(c, &g)?)))
                .await?;
            let mut text = format!(
                "Default alert channel: {}\n",
                default.as_deref().map_or_else(
                    || "not set (members' alerts go where they subscribed)".to_string(),
                    describe_target
                )
            );
            if rows.is_empty() {
                text.push_str("No channel-wide alerts. Add one with `/alerts add query: Gemini channel: #ai-news`.");
            }
            for row in rows {
                text.push_str(&format!(
                    "• `{}` → {}\n",
                    fence_safe(&row.query),
                    describe_target(&row.target)
                ));
            }
            Reply::private(text)
        }
        Command::AlertsRemove { query, channel } => {
            let canonical = query::parse(&query).map(|q| q.to_string()).unwrap_or(query);
            let target = channel.map(channel_target);
            let removed = store
                .call(move |c| q::remove_channel_subscription(c, &g, &canonical, target.as_deref()))
                .await?;
            if removed == 0 {
                Reply::private("No channel-wide alert with that query. `/alerts list` shows them.")
            } else {
                state
                    .app
                    .reload_channel_subscriptions(&guild.to_string())
                    .await?;
                Reply::private(format!(
                    "Removed {removed} channel-wide alert{}.",
                    if removed == 1 { "" } else { "s" }
                ))
            }
        }
    };
    Ok(reply)
}
