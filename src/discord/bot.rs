//! The serenity adapter: registers the slash commands, turns interactions into
//! [`Command`](crate::discord::commands::Command)s and their options into [`OptValue`]s,
//! answers within Discord's 3 seconds (deferring slow commands), and answers autocomplete.
//! What a command does lives in [`crate::discord::commands`].

use std::sync::Arc;

use serenity::all::{
    CommandInteraction, Context, CreateAllowedMentions, CreateAttachment,
    CreateAutocompleteResponse, CreateInteractionResponse, CreateInteractionResponseMessage,
    EditInteractionResponse, EventHandler, GuildId, Interaction, Ready, ResolvedOption,
    ResolvedValue,
};

use crate::core::limits::MESSAGE_CONTENT_MAX;
use crate::core::summary::truncate_at_boundary;
pub use crate::discord::commands::BotState;
use crate::discord::commands::{
    autocomplete, definitions, execute, parse_command, AttachmentRef, Invocation, OptValue, Reply,
};

/// serenity's event handler.
pub struct Handler {
    pub state: Arc<BotState>,
    /// The shard whose READY registers the slash commands: this process's first. Commands
    /// belong to the application, not to a shard, so one bulk registration per process (and
    /// per reconnect of that shard) is enough, however many shards it runs.
    pub registering_shard: u32,
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
                ResolvedValue::Attachment(a) => OptValue::Attachment(AttachmentRef {
                    url: a.url.clone(),
                    filename: a.filename.clone(),
                    size: u64::from(a.size),
                }),
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

/// The reply's text, fitted into one message.
fn content(reply: &Reply) -> String {
    truncate_at_boundary(&reply.content, MESSAGE_CONTENT_MAX)
}

/// The reply's file as serenity uploads it (multipart `files[0]`).
fn attachment(reply: &Reply) -> Option<CreateAttachment> {
    reply
        .file
        .as_ref()
        .map(|f| CreateAttachment::bytes(f.bytes.clone(), f.filename.clone()))
}

fn message(reply: &Reply) -> CreateInteractionResponseMessage {
    let message = CreateInteractionResponseMessage::new()
        .content(content(reply))
        .ephemeral(reply.ephemeral)
        .allowed_mentions(CreateAllowedMentions::new());
    match attachment(reply) {
        Some(file) => message.add_file(file),
        None => message,
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(bot = %ready.user.name, shard = ctx.shard_id.0, "connected to Discord");
        if ctx.shard_id.0 != self.registering_shard {
            return;
        }
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
        let command = match parse_command(&cmd.data.name, &options) {
            Ok(c) => c,
            Err(refusal) => {
                respond(ctx, cmd, &refusal.into()).await;
                return;
            }
        };
        if command.is_slow() {
            if let Err(e) = cmd.defer_ephemeral(&ctx.http).await {
                tracing::warn!(error = %e, "cannot defer the interaction");
                return;
            }
            let reply = execute(&self.state, &inv, command).await;
            let mut edit = EditInteractionResponse::new()
                .content(content(&reply))
                .allowed_mentions(CreateAllowedMentions::new());
            if let Some(file) = attachment(&reply) {
                edit = edit.new_attachment(file);
            }
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
        let choices = autocomplete(
            &self.state,
            guild.get(),
            cmd.user.id.get(),
            &cmd.data.name,
            focused.value,
        )
        .await;
        let response = choices
            .into_iter()
            .fold(CreateAutocompleteResponse::new(), |r, c| {
                r.add_string_choice(c.label, c.value)
            });
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
