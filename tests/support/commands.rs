//! The members of the fake guild, the slash commands they send, and how to read what the bot
//! answered or posted.

use serde_json::Value;

use super::fake_discord::{
    permissions, Interaction, InteractionBuilder, InteractionResponse, DEFAULT_CHANNEL_ID,
    DEFAULT_GUILD_ID,
};

pub const ALICE: u64 = 1_170_000_000_000_000_101;
pub const BOB: u64 = 1_170_000_000_000_000_102;
pub const CAROL: u64 = 1_170_000_000_000_000_103;
pub const ADMIN: u64 = 1_170_000_000_000_000_104;
/// A second channel in the default guild.
pub const OTHER_CHANNEL: u64 = 1_170_000_000_000_000_201;

/// A slash command from a plain member in the default guild and channel.
pub fn member_cmd(name: &str, user: u64) -> InteractionBuilder {
    Interaction::command(name)
        .guild(DEFAULT_GUILD_ID)
        .channel(DEFAULT_CHANNEL_ID)
        .member(user, 0)
        .app_permissions(permissions::BOT_CHANNEL)
}

/// A slash command from a member with Manage Server in the default guild and channel.
pub fn admin_cmd(name: &str) -> InteractionBuilder {
    Interaction::command(name)
        .guild(DEFAULT_GUILD_ID)
        .channel(DEFAULT_CHANNEL_ID)
        .member(ADMIN, permissions::MANAGE_GUILD)
        .app_permissions(permissions::BOT_CHANNEL)
}

/// The text of an interaction reply: the callback's content plus the last `@original` edit.
pub fn reply_text(response: &InteractionResponse) -> String {
    let from_callback = response
        .callback
        .as_ref()
        .and_then(|c| c["data"]["content"].as_str())
        .unwrap_or_default();
    let from_edit = response
        .original_edits
        .last()
        .and_then(|e| e["content"].as_str())
        .unwrap_or_default();
    format!("{from_callback}{from_edit}")
}

/// The title of a posted message's first embed (`""` without one).
pub fn embed_title(body: &Value) -> String {
    body["embeds"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
