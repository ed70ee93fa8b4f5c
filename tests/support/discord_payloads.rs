//! Realistic Discord payloads for tests: interaction builders and the objects the fake returns.
//!
//! Every payload carries the fields serenity 0.12.5 needs to deserialize it: a payload missing
//! one is silently dropped on the gateway path, so the self-test deserializes each into
//! serenity's own types.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Map, Value};

/// The fake application's id (as in READY and every interaction).
pub const APPLICATION_ID: u64 = 1_180_000_000_000_000_001;
/// The bot user's id; differs from the application id so code mixing them up is caught.
pub const BOT_USER_ID: u64 = 1_180_000_000_000_000_002;
pub const BOT_USERNAME: &str = "newshound-test";
/// Guild, channel and user used when a test does not pick its own.
pub const DEFAULT_GUILD_ID: u64 = 1_170_000_000_000_000_001;
pub const DEFAULT_CHANNEL_ID: u64 = 1_170_000_000_000_000_002;
pub const DEFAULT_USER_ID: u64 = 1_170_000_000_000_000_003;

/// Permission bits used by tests.
pub mod permissions {
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const EMBED_LINKS: u64 = 1 << 14;
    /// What a bot needs to post alerts into a channel.
    pub const BOT_CHANNEL: u64 = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS;
}

/// Base for ids handed out by [`next_snowflake`]: recent-looking, non-zero, unique per process.
static NEXT_SNOWFLAKE: AtomicU64 = AtomicU64::new(1_250_000_000_000_000_000);

/// A fresh, process-unique snowflake id.
pub fn next_snowflake() -> u64 {
    NEXT_SNOWFLAKE.fetch_add(1, Ordering::Relaxed)
}

/// Discord's timestamp format (ISO8601 with microseconds and an explicit offset).
pub fn discord_timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// A plain (non-bot) user object.
pub fn user(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "username": format!("user{id}"),
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "public_flags": 0,
    })
}

/// The bot's own user object, as in READY and `GET /users/@me`.
pub fn bot_user() -> Value {
    json!({
        "id": BOT_USER_ID.to_string(),
        "username": BOT_USERNAME,
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": true,
        "verified": true,
        "mfa_enabled": false,
        "flags": 0,
        "public_flags": 0,
    })
}

/// A guild member as sent with a guild interaction; `permissions` are the member's resolved
/// permissions in the channel (what a runtime admin check reads).
pub fn member(user_id: u64, permissions: u64) -> Value {
    json!({
        "user": user(user_id),
        "nick": null,
        "avatar": null,
        "roles": [],
        "joined_at": "2023-01-01T00:00:00.000000+00:00",
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "permissions": permissions.to_string(),
    })
}

/// The READY dispatch body (`d`).
pub fn ready(session_id: &str, resume_gateway_url: &str) -> Value {
    json!({
        "v": 10,
        "user": bot_user(),
        "guilds": [],
        "session_id": session_id,
        "resume_gateway_url": resume_gateway_url,
        "shard": [0, 1],
        "application": {"id": APPLICATION_ID.to_string(), "flags": 0},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": ["us-east"],
        "user_settings": {},
    })
}

/// READY for shard `shard` (`[id, count]`) of a bot in `guilds` (listed as unavailable, as
/// Discord does before their GUILD_CREATEs).
pub fn ready_for(
    session_id: &str,
    resume_gateway_url: &str,
    shard: [u32; 2],
    guilds: &[u64],
) -> Value {
    let mut ready = ready(session_id, resume_gateway_url);
    ready["shard"] = json!(shard);
    ready["guilds"] = guilds
        .iter()
        .map(|id| json!({"id": id.to_string(), "unavailable": true}))
        .collect();
    ready
}

/// `GET /applications/@me` (and `/oauth2/applications/@me`).
pub fn application_info() -> Value {
    json!({
        "id": APPLICATION_ID.to_string(),
        "name": BOT_USERNAME,
        "icon": null,
        "description": "",
        "summary": "",
        "bot_public": true,
        "bot_require_code_grant": false,
        "verify_key": "0".repeat(64),
        "owner": user(DEFAULT_USER_ID),
        "team": null,
        "flags": 0,
        "bot": bot_user(),
    })
}

/// A DM channel with `recipient` (answer to `POST /users/@me/channels`).
pub fn dm_channel(channel_id: u64, recipient: u64) -> Value {
    json!({
        "id": channel_id.to_string(),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [user(recipient)],
    })
}

/// The Message object Discord returns for a create/edit `body` sent by the bot.
pub fn message_object(message_id: u64, channel_id: u64, body: &Value, webhook: bool) -> Value {
    let content = body.get("content").and_then(Value::as_str).unwrap_or("");
    let (mentions, mention_everyone) = resolve_mentions(content, body.get("allowed_mentions"));
    let embeds: Vec<Value> = body
        .get("embeds")
        .and_then(Value::as_array)
        .map(|embeds| {
            embeds
                .iter()
                .map(|embed| {
                    let mut embed = embed.clone();
                    if let Some(object) = embed.as_object_mut() {
                        object.entry("type").or_insert_with(|| json!("rich"));
                    }
                    embed
                })
                .collect()
        })
        .unwrap_or_default();
    let mut message = json!({
        "id": message_id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": bot_user(),
        "content": content,
        "timestamp": discord_timestamp(),
        "edited_timestamp": null,
        "tts": body.get("tts").and_then(Value::as_bool).unwrap_or(false),
        "mention_everyone": mention_everyone,
        "mentions": mentions,
        "mention_roles": [],
        "attachments": [],
        "embeds": embeds,
        "pinned": false,
        "type": 0,
        "flags": body.get("flags").and_then(Value::as_u64).unwrap_or(0),
        "components": [],
    });
    if let Some(nonce) = body.get("nonce").filter(|n| !n.is_null()) {
        message["nonce"] = nonce.clone();
    }
    if webhook {
        message["webhook_id"] = json!(APPLICATION_ID.to_string());
        message["application_id"] = json!(APPLICATION_ID.to_string());
    }
    message
}

/// Which users in `content` Discord would notify given `allowed_mentions`, and whether
/// @everyone/@here would fire. An absent `allowed_mentions` parses everything, like Discord.
fn resolve_mentions(content: &str, allowed: Option<&Value>) -> (Vec<Value>, bool) {
    let allowed = allowed.filter(|a| !a.is_null());
    let parses = |kind: &str| {
        allowed.is_none_or(|a| {
            a.get("parse")
                .and_then(Value::as_array)
                .is_some_and(|p| p.iter().any(|v| v == kind))
        })
    };
    let listed_users: Vec<String> = allowed
        .and_then(|a| a.get("users"))
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut mentions = Vec::new();
    let mut seen = Vec::new();
    for piece in content.split("<@").skip(1) {
        let digits: String = piece
            .trim_start_matches('!')
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let closed = piece.trim_start_matches('!')[digits.len()..].starts_with('>');
        let Ok(id) = digits.parse::<u64>() else {
            continue;
        };
        if closed && !seen.contains(&id) && (parses("users") || listed_users.contains(&digits)) {
            seen.push(id);
            mentions.push(user(id));
        }
    }
    let everyone =
        (content.contains("@everyone") || content.contains("@here")) && parses("everyone");
    (mentions, everyone)
}

/// Echo of one registered command, as `PUT .../commands` answers.
pub fn command_echo(command: &Value, id: u64, guild_id: Option<u64>) -> Value {
    let mut echo = command.as_object().cloned().unwrap_or_default();
    echo.insert("id".into(), json!(id.to_string()));
    echo.insert("application_id".into(), json!(APPLICATION_ID.to_string()));
    echo.insert("version".into(), json!(next_snowflake().to_string()));
    echo.entry("type").or_insert_with(|| json!(1));
    echo.entry("description").or_insert_with(|| json!(""));
    echo.entry("default_member_permissions")
        .or_insert(Value::Null);
    echo.entry("nsfw").or_insert_with(|| json!(false));
    if let Some(guild) = guild_id {
        echo.insert("guild_id".into(), json!(guild.to_string()));
    }
    Value::Object(echo)
}

/// Namespace for interaction builders: `Interaction::command("subscribe")`.
pub struct Interaction;

impl Interaction {
    /// A slash command invocation (interaction type 2) in the default guild and channel.
    pub fn command(name: &str) -> InteractionBuilder {
        InteractionBuilder::new(2, name)
    }

    /// An autocomplete request (interaction type 4); mark the typed option with
    /// [`InteractionBuilder::focused_string_option`].
    pub fn autocomplete(name: &str) -> InteractionBuilder {
        InteractionBuilder::new(4, name)
    }
}

/// Options of a command or subcommand, with the `resolved` data Discord sends beside them.
#[derive(Debug, Clone, Default)]
pub struct Options {
    list: Vec<Value>,
    resolved_channels: Map<String, Value>,
    resolved_users: Map<String, Value>,
    resolved_attachments: Map<String, Value>,
}

impl Options {
    pub fn string_option(mut self, name: &str, value: &str) -> Self {
        self.list
            .push(json!({"name": name, "type": 3, "value": value}));
        self
    }

    /// The option the user is typing into during autocomplete (`focused: true`).
    pub fn focused_string_option(mut self, name: &str, partial: &str) -> Self {
        self.list
            .push(json!({"name": name, "type": 3, "value": partial, "focused": true}));
        self
    }

    pub fn integer_option(mut self, name: &str, value: i64) -> Self {
        self.list
            .push(json!({"name": name, "type": 4, "value": value}));
        self
    }

    pub fn bool_option(mut self, name: &str, value: bool) -> Self {
        self.list
            .push(json!({"name": name, "type": 5, "value": value}));
        self
    }

    pub fn user_option(mut self, name: &str, user_id: u64) -> Self {
        self.list
            .push(json!({"name": name, "type": 6, "value": user_id.to_string()}));
        self.resolved_users
            .insert(user_id.to_string(), user(user_id));
        self
    }

    /// An attachment option (type 11): the value is the attachment's id, the attachment
    /// itself (filename, size, `url` to download it from) is in `data.resolved.attachments`.
    pub fn attachment_option(mut self, name: &str, filename: &str, url: &str, size: usize) -> Self {
        let id = next_snowflake().to_string();
        self.list
            .push(json!({"name": name, "type": 11, "value": id}));
        self.resolved_attachments.insert(
            id.clone(),
            json!({
                "id": id,
                "filename": filename,
                "size": size,
                "url": url,
                "proxy_url": url,
                "content_type": "application/octet-stream",
                "ephemeral": true,
            }),
        );
        self
    }

    /// A text-channel option; the channel also appears in `data.resolved.channels`.
    pub fn channel_option(mut self, name: &str, channel_id: u64) -> Self {
        self.list
            .push(json!({"name": name, "type": 7, "value": channel_id.to_string()}));
        self.resolved_channels.insert(
            channel_id.to_string(),
            json!({
                "id": channel_id.to_string(),
                "name": format!("channel-{channel_id}"),
                "type": 0,
                "permissions": permissions::BOT_CHANNEL.to_string(),
            }),
        );
        self
    }

    fn merge_resolved(&mut self, other: &Options) {
        self.resolved_channels.extend(
            other
                .resolved_channels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        self.resolved_users.extend(
            other
                .resolved_users
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        self.resolved_attachments.extend(
            other
                .resolved_attachments
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
    }
}

/// Where an interaction comes from.
#[derive(Debug, Clone)]
enum Invoker {
    /// In a guild: the member and their permissions in the channel.
    Member { user_id: u64, permissions: u64 },
    /// In a DM with the bot: no guild, no member.
    Dm { user_id: u64 },
}

/// Builds an INTERACTION_CREATE `d` payload; see [`Interaction`].
#[derive(Debug, Clone)]
pub struct InteractionBuilder {
    kind: u8,
    id: u64,
    token: String,
    command_id: u64,
    name: String,
    guild_id: u64,
    channel_id: u64,
    invoker: Invoker,
    app_permissions: u64,
    locale: String,
    options: Options,
}

impl InteractionBuilder {
    fn new(kind: u8, name: &str) -> Self {
        let id = next_snowflake();
        Self {
            kind,
            id,
            token: format!("fake-interaction-token-{id}"),
            command_id: 1_190_000_000_000_000_000 + name.bytes().map(u64::from).sum::<u64>(),
            name: name.to_string(),
            guild_id: DEFAULT_GUILD_ID,
            channel_id: DEFAULT_CHANNEL_ID,
            invoker: Invoker::Member {
                user_id: DEFAULT_USER_ID,
                permissions: 0,
            },
            app_permissions: permissions::BOT_CHANNEL,
            locale: "en-US".to_string(),
            options: Options::default(),
        }
    }

    /// The interaction id (also usable before `build`, to wait for its response).
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn with_id(mut self, id: u64) -> Self {
        self.id = id;
        self
    }

    pub fn command_id(mut self, command_id: u64) -> Self {
        self.command_id = command_id;
        self
    }

    pub fn guild(mut self, guild_id: u64) -> Self {
        self.guild_id = guild_id;
        if let Invoker::Dm { user_id } = self.invoker {
            self.invoker = Invoker::Member {
                user_id,
                permissions: 0,
            };
        }
        self
    }

    pub fn channel(mut self, channel_id: u64) -> Self {
        self.channel_id = channel_id;
        self
    }

    /// The invoking guild member and their permission bits in the channel.
    pub fn member(mut self, user_id: u64, permissions: u64) -> Self {
        self.invoker = Invoker::Member {
            user_id,
            permissions,
        };
        self
    }

    /// Invoked in a DM with the bot: no guild, no member, `user` instead.
    pub fn dm(mut self, user_id: u64) -> Self {
        self.invoker = Invoker::Dm { user_id };
        self
    }

    /// The bot's own permissions in the channel (`app_permissions`).
    pub fn app_permissions(mut self, bits: u64) -> Self {
        self.app_permissions = bits;
        self
    }

    pub fn locale(mut self, locale: &str) -> Self {
        self.locale = locale.to_string();
        self
    }

    pub fn string_option(mut self, name: &str, value: &str) -> Self {
        self.options = self.options.string_option(name, value);
        self
    }

    pub fn focused_string_option(mut self, name: &str, partial: &str) -> Self {
        self.options = self.options.focused_string_option(name, partial);
        self
    }

    pub fn integer_option(mut self, name: &str, value: i64) -> Self {
        self.options = self.options.integer_option(name, value);
        self
    }

    pub fn bool_option(mut self, name: &str, value: bool) -> Self {
        self.options = self.options.bool_option(name, value);
        self
    }

    pub fn user_option(mut self, name: &str, user_id: u64) -> Self {
        self.options = self.options.user_option(name, user_id);
        self
    }

    pub fn channel_option(mut self, name: &str, channel_id: u64) -> Self {
        self.options = self.options.channel_option(name, channel_id);
        self
    }

    /// A subcommand (`/subscribe add query:...`) whose options `build_options` adds.
    pub fn subcommand(
        mut self,
        name: &str,
        build_options: impl FnOnce(Options) -> Options,
    ) -> Self {
        let inner = build_options(Options::default());
        self.options.merge_resolved(&inner);
        self.options
            .list
            .push(json!({"name": name, "type": 1, "options": inner.list}));
        self
    }

    /// A subcommand inside a group (`/admin feeds add ...`).
    pub fn subcommand_group(
        mut self,
        group: &str,
        subcommand: &str,
        build_options: impl FnOnce(Options) -> Options,
    ) -> Self {
        let inner = build_options(Options::default());
        self.options.merge_resolved(&inner);
        self.options.list.push(json!({
            "name": group,
            "type": 2,
            "options": [{"name": subcommand, "type": 1, "options": inner.list}],
        }));
        self
    }

    /// The INTERACTION_CREATE `d` object.
    pub fn build(&self) -> Value {
        let mut data = json!({
            "id": self.command_id.to_string(),
            "name": self.name,
            "type": 1,
            "options": self.options.list,
        });
        let mut resolved = Map::new();
        if !self.options.resolved_channels.is_empty() {
            resolved.insert(
                "channels".into(),
                Value::Object(self.options.resolved_channels.clone()),
            );
        }
        if !self.options.resolved_users.is_empty() {
            resolved.insert(
                "users".into(),
                Value::Object(self.options.resolved_users.clone()),
            );
        }
        if !self.options.resolved_attachments.is_empty() {
            resolved.insert(
                "attachments".into(),
                Value::Object(self.options.resolved_attachments.clone()),
            );
        }
        if !resolved.is_empty() {
            data["resolved"] = Value::Object(resolved);
        }
        let mut payload = json!({
            "id": self.id.to_string(),
            "application_id": APPLICATION_ID.to_string(),
            "type": self.kind,
            "data": data,
            "channel_id": self.channel_id.to_string(),
            "token": self.token,
            "version": 1,
            "app_permissions": self.app_permissions.to_string(),
            "locale": self.locale,
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        });
        match self.invoker {
            Invoker::Member {
                user_id,
                permissions,
            } => {
                payload["guild_id"] = json!(self.guild_id.to_string());
                payload["data"]["guild_id"] = json!(self.guild_id.to_string());
                payload["guild_locale"] = json!("en-US");
                payload["member"] = member(user_id, permissions);
                payload["context"] = json!(0);
                payload["authorizing_integration_owners"] = json!({"0": self.guild_id.to_string()});
                payload["channel"] = json!({
                    "id": self.channel_id.to_string(),
                    "type": 0,
                    "name": format!("channel-{}", self.channel_id),
                    "guild_id": self.guild_id.to_string(),
                    "permissions": self.app_permissions.to_string(),
                });
            }
            Invoker::Dm { user_id } => {
                payload["user"] = user(user_id);
                payload["context"] = json!(1);
                payload["authorizing_integration_owners"] = json!({"1": user_id.to_string()});
                payload["channel"] = json!({
                    "id": self.channel_id.to_string(),
                    "type": 1,
                    "recipients": [user(user_id)],
                });
            }
        }
        payload
    }
}
