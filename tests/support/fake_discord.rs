//! A fake Discord on loopback (REST + gateway WebSocket) that the real serenity client talks to.
//!
//! It records everything the bot sends, validates it the way Discord would (400/50035 and a
//! recorded [`Violation`]), enforces Discord-like rate limits (429s are counted), de-duplicates
//! message creates by nonce, and injects faults on demand. See `shared/reference/discord.md`.
//!
//! ```ignore
//! let fake = FakeDiscord::start().await;
//! let http = fake.serenity_http();          // proxy + ratelimiter off, as serenity needs
//! // ... build the bot on `http` with `GatewayIntents::empty()` and spawn `client.start()` ...
//! fake.wait_for_identify(Duration::from_secs(30)).await;
//! let id = fake.dispatch_interaction(
//!     Interaction::command("subscribe").guild(G).channel(C).member(U, 0)
//!         .string_option("query", "Meta").build(),
//! );
//! let answer = fake.wait_for_interaction_response(id, Duration::from_secs(30)).await;
//! assert_eq!(answer.callback_flags(), 64);
//! fake.assert_no_violations();
//! ```

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use super::discord_payloads::{self as payloads, next_snowflake};
pub use super::discord_payloads::{
    permissions, Interaction, InteractionBuilder, Options, APPLICATION_ID, BOT_USER_ID,
    DEFAULT_CHANNEL_ID, DEFAULT_GUILD_ID, DEFAULT_USER_ID,
};
use super::discord_validate::{self as validate, MessageRoute, Problem};

/// The token [`FakeDiscord::serenity_http`] uses; any `Bot ...` token is accepted.
pub const BOT_TOKEN: &str = "fake-bot-token";

/// How often [`FakeDiscord`]'s `wait_*` helpers look at the recorded state.
const POLL: Duration = Duration::from_millis(20);

/// Limits the fake enforces; `Default` is Discord's (5 creates / 5 s per channel, 50 req/s).
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Message creates allowed per channel within `channel_window`.
    pub channel_limit: usize,
    pub channel_window: Duration,
    /// Requests allowed within `global_window` (interaction callbacks/followups are exempt).
    pub global_limit: usize,
    pub global_window: Duration,
    /// Sent in HELLO; serenity heartbeats at this interval.
    pub heartbeat_interval_ms: u64,
    /// `GET /gateway/bot`'s recommended `shards` (what `shard_count = "auto"` reads).
    pub recommended_shards: u32,
    /// `GET /gateway/bot`'s `session_start_limit.max_concurrency`.
    pub max_concurrency: u32,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            channel_limit: 5,
            channel_window: Duration::from_secs(5),
            global_limit: 50,
            global_window: Duration::from_secs(1),
            heartbeat_interval_ms: 41_250,
            recommended_shards: 1,
            max_concurrency: 1,
        }
    }
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Any,
    /// `POST /channels/{any}/messages`.
    CreateMessage,
    /// `POST /channels/{id}/messages` for one channel.
    CreateMessageIn(u64),
    /// `PATCH /channels/{id}/messages/{id}`.
    EditMessage,
    /// `POST /interactions/{id}/{token}/callback`.
    InteractionCallback,
    /// Anything under `/webhooks/` (followups, `@original` edits).
    Webhook,
    /// `PUT|GET /applications/{app}[/guilds/{g}]/commands`.
    RegisterCommands,
    /// `POST /users/@me/channels`.
    CreateDm,
    /// `GET /gateway` and `/gateway/bot` (failing it sends serenity to the real Discord!).
    Gateway,
    /// Exact method (e.g. "POST") and a path prefix after `/api/v10` (e.g. "/channels/1/").
    Path {
        method: String,
        prefix: String,
    },
}

/// What an injected fault answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 with `retry_after` (float seconds), `Retry-After` header and `global` flag.
    RateLimited { retry_after: f64, global: bool },
    /// 500 (JSON body), 502 (Cloudflare-style HTML) or 503 (plain text); any 5xx works.
    ServerError(u16),
    /// 403 / 50013.
    MissingPermissions,
    /// 403 / 50001.
    MissingAccess,
    /// 404 / 10003.
    UnknownChannel,
    /// 404 / 10004.
    UnknownGuild,
    /// 400 / 50035 with an `errors` tree.
    InvalidFormBody,
    /// 401 / 0.
    Unauthorized,
    /// Any status with a Discord error body `{"code":code,"message":message}`.
    Status {
        status: u16,
        code: i64,
        message: String,
    },
    /// Process and record the request normally, then hold the response for this long (set it
    /// longer than the client's timeout): a retry must rely on the nonce not to post twice.
    AcceptThenTimeout(Duration),
}

/// A message the bot posted to a channel.
#[derive(Debug, Clone)]
pub struct PostedMessage {
    pub channel_id: u64,
    pub message_id: u64,
    /// The request body exactly as the bot sent it.
    pub body: Value,
    /// When the fake accepted it (for latency measurements in the benches).
    pub at: Instant,
}

/// A channel message edit.
#[derive(Debug, Clone)]
pub struct MessageEdit {
    pub channel_id: u64,
    pub message_id: u64,
    pub body: Value,
}

/// Everything the bot sent in answer to one interaction.
#[derive(Debug, Clone)]
pub struct InteractionResponse {
    pub interaction_id: u64,
    pub token: String,
    /// 2 = command, 4 = autocomplete.
    pub interaction_type: u64,
    /// The accepted `POST .../callback` body (`{"type":4,"data":{...}}`).
    pub callback: Option<Value>,
    /// Followup message bodies (`POST /webhooks/{app}/{token}`).
    pub followups: Vec<Value>,
    /// `PATCH /webhooks/{app}/{token}/messages/@original` bodies.
    pub original_edits: Vec<Value>,
    /// `PATCH /webhooks/{app}/{token}/messages/{id}`: (message id, body).
    pub followup_edits: Vec<(String, Value)>,
    /// Files uploaded with any accepted multipart callback, followup or edit, in order.
    pub files: Vec<SentFile>,
}

/// A file the bot uploaded (a `files[n]` part of a multipart/form-data request).
#[derive(Debug, Clone)]
pub struct SentFile {
    /// The part's name (`files[0]`).
    pub field: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl InteractionResponse {
    /// The callback's `type` (4 message, 5 deferred, 8 autocomplete result...).
    pub fn callback_type(&self) -> Option<u64> {
        self.callback.as_ref()?.get("type")?.as_u64()
    }

    /// The callback's `data.flags` (64 = ephemeral), 0 when absent.
    pub fn callback_flags(&self) -> u64 {
        self.callback
            .as_ref()
            .and_then(|c| c.pointer("/data/flags"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }
}

/// One bulk command registration (`PUT`), with the commands as echoed back.
#[derive(Debug, Clone)]
pub struct CommandRegistration {
    /// `None` for global commands.
    pub guild_id: Option<u64>,
    pub commands: Vec<Value>,
}

impl CommandRegistration {
    pub fn names(&self) -> Vec<String> {
        self.commands
            .iter()
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
            .collect()
    }
}

/// A gateway IDENTIFY the bot sent.
#[derive(Debug, Clone)]
pub struct Identify {
    /// As sent (serenity includes the `Bot ` prefix).
    pub token: String,
    pub intents: u64,
    /// `shard: [id, count]` as sent; `[0, 1]` when absent (Discord's default).
    pub shard: [u32; 2],
    pub raw: Value,
}

/// A READY the fake sent: which session, for which shard, carrying which guilds.
#[derive(Debug, Clone)]
pub struct ReadySent {
    pub session: u64,
    pub shard: [u32; 2],
    /// The guilds of [`FakeDiscord::set_guilds`] that live on this shard.
    pub guilds: Vec<u64>,
}

/// The shard that carries `guild_id` among `shard_count` shards: Discord's rule,
/// `(guild_id >> 22) % shard_count`.
pub fn shard_of(guild_id: u64, shard_count: u32) -> u32 {
    u32::try_from((guild_id >> 22) % u64::from(shard_count.max(1))).expect("below a u32 count")
}

/// A plausible guild id that lives on `shard` of `shard_count` (distinct per `n`).
pub fn guild_on_shard(shard: u32, shard_count: u32, n: u64) -> u64 {
    let count = u64::from(shard_count);
    let high = (DEFAULT_GUILD_ID >> 22) / count * count + count * n + u64::from(shard);
    (high << 22) | 1
}

/// A request Discord would reject (or that breaks a newshound rule), recorded for assertions.
#[derive(Debug, Clone)]
pub struct Violation {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub code: i64,
    pub problems: Vec<String>,
    pub body: Value,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} -> {}/{}: {}",
            self.method,
            self.path,
            self.status,
            self.code,
            self.problems.join("; ")
        )
    }
}

/// One request as the fake answered it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// When the fake answered it (for timing in the benches).
    pub at: Instant,
}

/// What the gateway task should do next.
#[derive(Debug)]
enum GatewayCommand {
    Dispatch { event: String, data: Value },
    Close { code: u16, reason: String },
}

#[derive(Debug)]
struct InteractionState {
    response: InteractionResponse,
    /// Message id for `@original`, assigned when a message-bearing callback arrives.
    original_message_id: Option<u64>,
    channel_id: u64,
}

#[derive(Default)]
struct State {
    requests: Vec<RequestRecord>,
    messages: Vec<PostedMessage>,
    /// Full Message objects returned for `messages`, by message id.
    message_objects: HashMap<u64, Value>,
    edits: Vec<MessageEdit>,
    interactions: Vec<InteractionState>,
    registrations: Vec<CommandRegistration>,
    /// Stable command ids per (guild, name), as Discord keeps them across re-registration.
    command_ids: HashMap<(Option<u64>, String), u64>,
    identifies: Vec<Identify>,
    resumes: usize,
    violations: Vec<Violation>,
    faults: Vec<FaultRule>,
    channel_windows: HashMap<u64, VecDeque<Instant>>,
    global_window: VecDeque<Instant>,
    rate_limited: usize,
    /// (channel, nonce) -> index into `messages`.
    nonces: HashMap<(u64, String), usize>,
    dm_channels: HashMap<u64, u64>,
    /// The live connections that completed IDENTIFY/READY, oldest first: at most one per
    /// shard id (a new IDENTIFY for a shard replaces its previous session).
    gateways: Vec<GatewaySession>,
    /// Every READY sent, in order.
    readies: Vec<ReadySent>,
    /// The guilds the bot is in ([`FakeDiscord::set_guilds`]); each READY lists its shard's.
    guilds: Vec<u64>,
    /// Interaction id -> the shard id of the session it was dispatched to.
    dispatched_to: HashMap<u64, u32>,
    /// Close code to answer the next IDENTIFYs with (e.g. 4004), if any.
    reject_identify: Option<u16>,
    /// While set, WebSocket upgrades to the gateway are answered 503 (Discord unreachable).
    refuse_gateway: bool,
    sessions: u64,
    /// Uploaded-file downloads served at `/attachments/...`, by path.
    attachments: HashMap<String, Vec<u8>>,
}

/// Which session a gateway command goes to.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The newest session (what a test without shards means).
    Latest,
    /// The session of this shard id.
    Shard(u32),
    /// The session carrying this guild (Discord's rule); `None`, a DM, goes to shard 0.
    Guild(Option<u64>),
}

/// One live gateway session.
struct GatewaySession {
    session: u64,
    shard: [u32; 2],
    sender: mpsc::UnboundedSender<GatewayCommand>,
}

#[derive(Debug, Clone)]
struct FaultRule {
    route: Route,
    fault: Fault,
    /// `None` = forever.
    remaining: Option<usize>,
}

struct Shared {
    config: FakeConfig,
    port: u16,
    cancel: CancellationToken,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock (a failing assertion elsewhere) must not hide the
        // recorded state from the test's own failure message.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }
}

/// Handle to a running fake Discord; dropping it stops the server and closes the gateway.
pub struct FakeDiscord {
    shared: Arc<Shared>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

impl FakeDiscord {
    /// Starts a fake with Discord's default limits on `127.0.0.1:0`.
    pub async fn start() -> Self {
        Self::start_with(FakeConfig::default()).await
    }

    pub async fn start_with(config: FakeConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Discord on 127.0.0.1:0");
        let port = listener
            .local_addr()
            .expect("local address of a bound listener")
            .port();
        let shared = Arc::new(Shared {
            config,
            port,
            cancel: CancellationToken::new(),
            state: Mutex::new(State::default()),
        });
        tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Self { shared }
    }

    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// `http://127.0.0.1:PORT`, for `HttpBuilder::proxy`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.shared.port)
    }

    /// Serves `bytes` as an uploaded file, the way Discord's CDN serves an attachment, and
    /// returns its URL (on this fake's host, so the bot's download rule accepts it).
    pub fn serve_attachment(&self, filename: &str, bytes: Vec<u8>) -> String {
        let path = format!("/attachments/{}/{filename}", next_snowflake());
        self.shared.lock().attachments.insert(path.clone(), bytes);
        format!("{}{path}", self.base_url())
    }

    /// `http://127.0.0.1:PORT/api/v10`, for direct requests.
    pub fn api_url(&self) -> String {
        format!("{}/api/v10", self.base_url())
    }

    pub fn gateway_url(&self) -> String {
        self.shared.ws_url()
    }

    /// A serenity `Http` aimed at this fake, authenticated with [`BOT_TOKEN`]. The ratelimiter
    /// must be off: serenity ignores the proxy otherwise (and a fake's 429s should reach the
    /// bot's own handling anyway).
    pub fn serenity_http(&self) -> serenity::http::Http {
        serenity::http::HttpBuilder::new(BOT_TOKEN)
            .proxy(self.base_url())
            .ratelimiter_disabled(true)
            .build()
    }

    // ---- fault injection ------------------------------------------------------------------

    /// The next request matching `route` gets `fault`.
    pub fn fail_next(&self, route: Route, fault: Fault) {
        self.fail_times(route, fault, 1);
    }

    /// The next `times` requests matching `route` get `fault`.
    pub fn fail_times(&self, route: Route, fault: Fault, times: usize) {
        self.shared.lock().faults.push(FaultRule {
            route,
            fault,
            remaining: Some(times),
        });
    }

    /// Every request matching `route` gets `fault` until [`Self::clear_faults`].
    pub fn fail_always(&self, route: Route, fault: Fault) {
        self.shared.lock().faults.push(FaultRule {
            route,
            fault,
            remaining: None,
        });
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Closes the bot's gateway connection with a resumable code (4000), as Discord does when
    /// it drops a session: serenity RESUMEs, gets op 9, and IDENTIFYs again.
    pub fn drop_gateway(&self) {
        self.close_gateway(4000, "Unknown error");
    }

    /// Closes the bot's (latest) gateway connection with `code`.
    pub fn close_gateway(&self, code: u16, reason: &str) {
        self.send_gateway(
            Target::Latest,
            GatewayCommand::Close {
                code,
                reason: reason.to_string(),
            },
        );
    }

    /// Closes the session of shard `shard` with `code`.
    pub fn close_shard(&self, shard: u32, code: u16, reason: &str) {
        self.send_gateway(
            Target::Shard(shard),
            GatewayCommand::Close {
                code,
                reason: reason.to_string(),
            },
        );
    }

    /// The bot is in these guilds: each READY lists those of its shard (as unavailable
    /// guilds, the way Discord does before any GUILD_CREATE). Empty by default.
    pub fn set_guilds(&self, guilds: &[u64]) {
        self.shared.lock().guilds = guilds.to_vec();
    }

    /// While `refuse` is set, the gateway cannot be reached: upgrades get 503, so a dropped
    /// bot stays disconnected until it is cleared.
    pub fn refuse_gateway(&self, refuse: bool) {
        self.shared.lock().refuse_gateway = refuse;
    }

    /// Answer every IDENTIFY from now on by closing with 4004 (authentication failed).
    pub fn reject_identify(&self, reject: bool) {
        self.shared.lock().reject_identify = reject.then_some(4004);
    }

    // ---- gateway dispatches ---------------------------------------------------------------

    /// Sends an INTERACTION_CREATE with `payload` (from [`InteractionBuilder::build`]) to the
    /// session of the guild's shard (DMs: shard 0) and returns the interaction id. Panics if
    /// no session of that shard has identified yet.
    pub fn dispatch_interaction(&self, payload: Value) -> u64 {
        let id = self.expect_interaction(&payload);
        let shard = self.send_gateway(
            Target::Guild(guild_of(&payload)),
            GatewayCommand::Dispatch {
                event: "INTERACTION_CREATE".to_string(),
                data: payload,
            },
        );
        self.shared.lock().dispatched_to.insert(id, shard);
        id
    }

    /// The shard id of the session an interaction was dispatched to.
    pub fn dispatched_to(&self, interaction_id: u64) -> Option<u32> {
        self.shared
            .lock()
            .dispatched_to
            .get(&interaction_id)
            .copied()
    }

    /// Makes the REST side accept callbacks/followups for `payload` without dispatching it
    /// (for tests that answer interactions over plain HTTP). Returns the interaction id.
    pub fn expect_interaction(&self, payload: &Value) -> u64 {
        let id = payload
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| id.parse::<u64>().ok())
            .expect("interaction payload needs a snowflake string `id`");
        let token = payload
            .get("token")
            .and_then(Value::as_str)
            .expect("interaction payload needs a `token`")
            .to_string();
        let interaction_type = payload.get("type").and_then(Value::as_u64).unwrap_or(2);
        let channel_id = payload
            .get("channel_id")
            .and_then(Value::as_str)
            .and_then(|id| id.parse().ok())
            .unwrap_or(DEFAULT_CHANNEL_ID);
        self.shared.lock().interactions.push(InteractionState {
            response: InteractionResponse {
                interaction_id: id,
                token,
                interaction_type,
                callback: None,
                followups: Vec::new(),
                original_edits: Vec::new(),
                followup_edits: Vec::new(),
                files: Vec::new(),
            },
            original_message_id: None,
            channel_id,
        });
        id
    }

    /// Sends any dispatch event (op 0) to the bot: to the session of `data.guild_id`'s shard
    /// when it names a guild (else shard 0). Panics if that shard has not identified.
    pub fn dispatch(&self, event: &str, data: Value) {
        self.send_gateway(
            Target::Guild(guild_of(&data)),
            GatewayCommand::Dispatch {
                event: event.to_string(),
                data,
            },
        );
    }

    /// Sends `command` to the session `target` names; returns that session's shard id.
    fn send_gateway(&self, target: Target, command: GatewayCommand) -> u32 {
        let state = self.shared.lock();
        let session = match target {
            Target::Latest => state.gateways.iter().max_by_key(|g| g.session),
            Target::Shard(id) => state.gateways.iter().find(|g| g.shard[0] == id),
            Target::Guild(guild) => state
                .gateways
                .iter()
                .rev()
                .find(|g| g.shard[0] == guild.map_or(0, |id| shard_of(id, g.shard[1]))),
        };
        let Some(session) = session else {
            panic!(
                "no bot session for {target:?} is connected to the fake gateway (shards connected: {:?}): call wait_for_identify (or wait_for_shards) first",
                state.gateways.iter().map(|g| g.shard).collect::<Vec<_>>()
            );
        };
        session
            .sender
            .send(command)
            .expect("the fake gateway connection ended; wait_for_identify again after a reconnect");
        session.shard[0]
    }

    /// True while a bot session (after READY) is connected.
    pub fn gateway_connected(&self) -> bool {
        self.shared
            .lock()
            .gateways
            .iter()
            .any(|g| !g.sender.is_closed())
    }

    /// `[id, count]` of every live session, sorted.
    pub fn connected_shards(&self) -> Vec<[u32; 2]> {
        let mut shards: Vec<[u32; 2]> = self
            .shared
            .lock()
            .gateways
            .iter()
            .filter(|g| !g.sender.is_closed())
            .map(|g| g.shard)
            .collect();
        shards.sort_unstable();
        shards
    }

    // ---- recorded state -------------------------------------------------------------------

    /// Accepted channel messages, in order (nonce duplicates are not repeated).
    pub fn messages(&self) -> Vec<PostedMessage> {
        self.shared.lock().messages.clone()
    }

    /// Accepted messages in one channel.
    pub fn messages_in(&self, channel_id: u64) -> Vec<PostedMessage> {
        self.messages()
            .into_iter()
            .filter(|m| m.channel_id == channel_id)
            .collect()
    }

    pub fn edits(&self) -> Vec<MessageEdit> {
        self.shared.lock().edits.clone()
    }

    /// One entry per dispatched interaction, in dispatch order.
    pub fn interaction_responses(&self) -> Vec<InteractionResponse> {
        self.shared
            .lock()
            .interactions
            .iter()
            .map(|i| i.response.clone())
            .collect()
    }

    pub fn interaction_response(&self, interaction_id: u64) -> Option<InteractionResponse> {
        self.shared
            .lock()
            .interactions
            .iter()
            .find(|i| i.response.interaction_id == interaction_id)
            .map(|i| i.response.clone())
    }

    /// Accepted bulk registrations, in order.
    pub fn registered_commands(&self) -> Vec<CommandRegistration> {
        self.shared.lock().registrations.clone()
    }

    pub fn identifies(&self) -> Vec<Identify> {
        self.shared.lock().identifies.clone()
    }

    /// Every READY sent, in order.
    pub fn readies(&self) -> Vec<ReadySent> {
        self.shared.lock().readies.clone()
    }

    /// How many RESUMEs (op 6) the bot sent.
    pub fn resumes(&self) -> usize {
        self.shared.lock().resumes
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.shared.lock().violations.clone()
    }

    /// Panics listing every violation, if there were any.
    pub fn assert_no_violations(&self) {
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "the bot sent {} request(s) Discord would reject:\n{}",
            violations.len(),
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// 429s the fake sent because the bot exceeded a rate limit (injected faults not counted).
    pub fn rate_limited_count(&self) -> usize {
        self.shared.lock().rate_limited
    }

    /// Every HTTP request with the status it got, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.clone()
    }

    /// The DM channel id created for `user_id`, if the bot opened one.
    pub fn dm_channel_of(&self, user_id: u64) -> Option<u64> {
        self.shared.lock().dm_channels.get(&user_id).copied()
    }

    // ---- waiting --------------------------------------------------------------------------

    /// Polls `done` until it holds; panics naming `what` (and the violations so far) after
    /// `timeout`. Every wait in the fake goes through here, so no test can hang.
    pub async fn wait_until(&self, what: &str, timeout: Duration, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "fake Discord: timed out after {timeout:?} waiting for {what}; requests so far: \
                 {:?}; violations: {:?}",
                self.requests()
                    .iter()
                    .map(|r| format!("{} {} {}", r.method, r.path, r.status))
                    .collect::<Vec<_>>(),
                self.violations()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until at least `count` channel messages were accepted; returns all of them.
    pub async fn wait_for_messages(&self, count: usize, timeout: Duration) -> Vec<PostedMessage> {
        self.wait_until(&format!("{count} channel message(s)"), timeout, |fake| {
            fake.shared.lock().messages.len() >= count
        })
        .await;
        self.messages()
    }

    /// Waits until the interaction's callback was accepted; returns its record.
    pub async fn wait_for_interaction_response(
        &self,
        interaction_id: u64,
        timeout: Duration,
    ) -> InteractionResponse {
        self.wait_until(
            &format!("a callback to interaction {interaction_id}"),
            timeout,
            |fake| {
                fake.interaction_response(interaction_id)
                    .is_some_and(|r| r.callback.is_some())
            },
        )
        .await;
        self.interaction_response(interaction_id)
            .expect("waited for it")
    }

    /// Waits for the first IDENTIFY and for READY to have been sent; returns the IDENTIFY.
    pub async fn wait_for_identify(&self, timeout: Duration) -> Identify {
        self.wait_for_identifies(1, timeout).await.remove(0)
    }

    /// Waits until `count` IDENTIFYs arrived (the last one answered with READY, unless
    /// [`Self::reject_identify`] is on); returns all of them.
    pub async fn wait_for_identifies(&self, count: usize, timeout: Duration) -> Vec<Identify> {
        self.wait_until(&format!("{count} gateway IDENTIFY(s)"), timeout, |fake| {
            let state = fake.shared.lock();
            state.identifies.len() >= count
                && (state.reject_identify.is_some()
                    || state.gateways.iter().any(|g| g.session >= count as u64))
        })
        .await;
        self.identifies()
    }

    /// Waits until a session (after READY) of each of `shards`, out of `shard_count`, is
    /// connected; returns every IDENTIFY so far.
    pub async fn wait_for_shards(
        &self,
        shards: &[u32],
        shard_count: u32,
        timeout: Duration,
    ) -> Vec<Identify> {
        self.wait_until(
            &format!("sessions of shards {shards:?} of {shard_count}"),
            timeout,
            |fake| {
                let connected = fake.connected_shards();
                shards
                    .iter()
                    .all(|id| connected.contains(&[*id, shard_count]))
            },
        )
        .await;
        self.identifies()
    }

    /// Waits until `count` bulk command registrations were accepted.
    pub async fn wait_for_registered_commands(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Vec<CommandRegistration> {
        self.wait_until(
            &format!("{count} command registration(s)"),
            timeout,
            |fake| fake.shared.lock().registrations.len() >= count,
        )
        .await;
        self.registered_commands()
    }
}

// ---- server plumbing ----------------------------------------------------------------------

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = tokio::select! {
            () = shared.cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let cancel = shared.cancel.clone();
            let service = hyper::service::service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(handle(shared, request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::select! {
                () = cancel.cancelled() => {}
                _ = connection => {}
            }
        });
    }
}

async fn handle(shared: Arc<Shared>, mut request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() == "/ws" {
        return upgrade_gateway(shared, &mut request);
    }
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    if method == Method::GET && path.starts_with("/attachments/") {
        let served = shared.lock().attachments.get(&path).cloned();
        let mut response =
            Response::new(Full::new(Bytes::from(served.clone().unwrap_or_default())));
        if served.is_none() {
            *response.status_mut() = StatusCode::NOT_FOUND;
        }
        return response;
    }
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let authorized = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bot ") && v.len() > 4);
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    // serenity sends replies with files as multipart/form-data: `payload_json` is the JSON
    // body every route checks, `files[n]` are recorded once the request is accepted.
    let (body, files) = match multipart_boundary(&content_type) {
        Some(boundary) => split_multipart(&body, &boundary),
        None => (body, Vec::new()),
    };
    let reply = {
        let mut state = shared.lock();
        let at = Line {
            method: &method,
            path: &path,
        };
        let reply = route(&shared, &mut state, at, authorized, &body);
        if !files.is_empty() && reply.status < 300 {
            let segments: Vec<&str> = path.split('/').collect();
            if let Some(interaction) = state
                .interactions
                .iter_mut()
                .find(|i| segments.contains(&i.response.token.as_str()))
            {
                interaction.response.files.extend(files);
            }
        }
        state.requests.push(RequestRecord {
            method: method.to_string(),
            path: path.clone(),
            status: reply.status,
            at: Instant::now(),
        });
        reply
    };
    if let Some(delay) = reply.delay {
        tokio::select! {
            () = shared.cancel.cancelled() => {}
            () = tokio::time::sleep(delay) => {}
        }
    }
    reply.into_response()
}

fn multipart_boundary(content_type: &str) -> Option<String> {
    let rest = content_type.strip_prefix("multipart/form-data")?;
    rest.split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string())
        .next()
}

/// A multipart body's `payload_json` part (as the JSON body) and its file parts.
fn split_multipart(body: &Bytes, boundary: &str) -> (Bytes, Vec<SentFile>) {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut json = Bytes::new();
    let mut files = Vec::new();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + delimiter.len() <= body.len() {
        if &body[i..i + delimiter.len()] == delimiter {
            starts.push(i);
            i += delimiter.len();
        } else {
            i += 1;
        }
    }
    for pair in starts.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = part.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..split]).into_owned();
        let data = &part[split + 4..];
        let attribute = |name: &str| {
            let key = format!(" {name}=\"");
            headers
                .split(&key)
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_string)
        };
        let field = attribute("name").unwrap_or_default();
        let content_type = headers.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.trim().to_string())
        });
        if field == "payload_json" {
            json = Bytes::copy_from_slice(data);
        } else if let Some(filename) = attribute("filename") {
            files.push(SentFile {
                field,
                filename,
                content_type,
                bytes: data.to_vec(),
            });
        }
    }
    (json, files)
}

/// What to answer; built under the state lock, sent after it is released.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: ReplyBody,
    delay: Option<Duration>,
}

enum ReplyBody {
    Empty,
    Json(Value),
    Text {
        content_type: &'static str,
        text: String,
    },
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(body),
            delay: None,
        }
    }

    fn no_content() -> Self {
        Self {
            status: 204,
            headers: Vec::new(),
            body: ReplyBody::Empty,
            delay: None,
        }
    }

    fn error(status: u16, code: i64, message: &str) -> Self {
        Self::json(status, json!({"code": code, "message": message}))
    }

    fn not_found() -> Self {
        Self::error(404, 0, "404: Not Found")
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let (content_type, bytes) = match self.body {
            ReplyBody::Empty => (None, Bytes::new()),
            ReplyBody::Json(value) => (Some("application/json"), Bytes::from(value.to_string())),
            ReplyBody::Text { content_type, text } => (Some(content_type), Bytes::from(text)),
        };
        let mut response = Response::new(Full::new(bytes));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(content_type) = content_type {
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// The method and path of a request, passed together to every handler.
#[derive(Clone, Copy)]
struct Line<'a> {
    method: &'a Method,
    path: &'a str,
}

/// Every (method, path template under `/api/v10`) the fake serves, in OpenAPI spelling; the
/// self-test checks each exists in Discord's OpenAPI description and reaches a handler.
pub const SERVED_ROUTES: &[(&str, &str)] = &[
    ("GET", "/gateway"),
    ("GET", "/gateway/bot"),
    ("GET", "/users/@me"),
    ("GET", "/applications/@me"),
    ("POST", "/users/@me/channels"),
    ("GET", "/applications/{application_id}/commands"),
    ("PUT", "/applications/{application_id}/commands"),
    (
        "GET",
        "/applications/{application_id}/guilds/{guild_id}/commands",
    ),
    (
        "PUT",
        "/applications/{application_id}/guilds/{guild_id}/commands",
    ),
    (
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
    ),
    ("POST", "/webhooks/{webhook_id}/{webhook_token}"),
    (
        "GET",
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    ),
    (
        "PATCH",
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    ),
    (
        "DELETE",
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
    ),
    (
        "PATCH",
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    ),
    ("POST", "/channels/{channel_id}/messages"),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
];

/// The REST endpoints the fake knows, parsed from a path under `/api/v10`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Gateway,
    GatewayBot,
    CurrentUser,
    CurrentApplication,
    CreateDm,
    Commands {
        application: String,
        guild: Option<u64>,
    },
    InteractionCallback {
        interaction: String,
        token: String,
    },
    Webhook {
        application: String,
        token: String,
        message: Option<String>,
    },
    CreateMessage {
        channel: u64,
    },
    EditMessage {
        channel: u64,
        message: u64,
    },
    Unknown,
}

fn parse_endpoint(method: &Method, path: &str) -> Endpoint {
    let Some(rest) = path.strip_prefix("/api/v10/") else {
        return Endpoint::Unknown;
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let id = |text: &str| text.parse::<u64>().ok().filter(|id| *id > 0);
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["gateway"]) => Endpoint::Gateway,
        ("GET", ["gateway", "bot"]) => Endpoint::GatewayBot,
        ("GET", ["users", "@me"]) => Endpoint::CurrentUser,
        ("GET", ["applications", "@me"] | ["oauth2", "applications", "@me"]) => {
            Endpoint::CurrentApplication
        }
        ("POST", ["users", "@me", "channels"]) => Endpoint::CreateDm,
        ("GET" | "PUT", ["applications", application, "commands"]) => Endpoint::Commands {
            application: (*application).to_string(),
            guild: None,
        },
        ("GET" | "PUT", ["applications", application, "guilds", guild, "commands"]) => {
            match id(guild) {
                Some(guild) => Endpoint::Commands {
                    application: (*application).to_string(),
                    guild: Some(guild),
                },
                None => Endpoint::Unknown,
            }
        }
        ("POST", ["interactions", interaction, token, "callback"]) => {
            Endpoint::InteractionCallback {
                interaction: (*interaction).to_string(),
                token: (*token).to_string(),
            }
        }
        ("POST", ["webhooks", application, token]) => Endpoint::Webhook {
            application: (*application).to_string(),
            token: (*token).to_string(),
            message: None,
        },
        ("GET" | "PATCH" | "DELETE", ["webhooks", application, token, "messages", message]) => {
            Endpoint::Webhook {
                application: (*application).to_string(),
                token: (*token).to_string(),
                message: Some((*message).to_string()),
            }
        }
        ("POST", ["channels", channel, "messages"]) => match id(channel) {
            Some(channel) => Endpoint::CreateMessage { channel },
            None => Endpoint::Unknown,
        },
        ("PATCH", ["channels", channel, "messages", message]) => match (id(channel), id(message)) {
            (Some(channel), Some(message)) => Endpoint::EditMessage { channel, message },
            _ => Endpoint::Unknown,
        },
        _ => Endpoint::Unknown,
    }
}

impl Route {
    fn matches(&self, at: Line<'_>, endpoint: &Endpoint) -> bool {
        match self {
            Route::Any => true,
            Route::CreateMessage => matches!(endpoint, Endpoint::CreateMessage { .. }),
            Route::CreateMessageIn(id) => *endpoint == Endpoint::CreateMessage { channel: *id },
            Route::EditMessage => matches!(endpoint, Endpoint::EditMessage { .. }),
            Route::InteractionCallback => matches!(endpoint, Endpoint::InteractionCallback { .. }),
            Route::Webhook => matches!(endpoint, Endpoint::Webhook { .. }),
            Route::RegisterCommands => matches!(endpoint, Endpoint::Commands { .. }),
            Route::CreateDm => *endpoint == Endpoint::CreateDm,
            Route::Gateway => matches!(endpoint, Endpoint::Gateway | Endpoint::GatewayBot),
            Route::Path {
                method: wanted,
                prefix,
            } => {
                at.method.as_str().eq_ignore_ascii_case(wanted)
                    && at
                        .path
                        .strip_prefix("/api/v10")
                        .unwrap_or(at.path)
                        .starts_with(prefix.as_str())
            }
        }
    }
}

fn fault_reply(fault: &Fault) -> Reply {
    match fault {
        Fault::RateLimited {
            retry_after,
            global,
        } => rate_limited(*retry_after, *global),
        Fault::ServerError(502) => Reply {
            status: 502,
            headers: Vec::new(),
            body: ReplyBody::Text {
                content_type: "text/html",
                text: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad \
                       Gateway</h1></center><hr><center>cloudflare</center></body></html>"
                    .to_string(),
            },
            delay: None,
        },
        Fault::ServerError(503) => Reply {
            status: 503,
            headers: Vec::new(),
            body: ReplyBody::Text {
                content_type: "text/plain",
                text: "upstream connect error or disconnect/reset before headers. reset reason: \
                       overflow"
                    .to_string(),
            },
            delay: None,
        },
        Fault::ServerError(status) => {
            Reply::error(*status, 0, &format!("{status}: Internal Server Error"))
        }
        Fault::MissingPermissions => Reply::error(403, 50013, "Missing Permissions"),
        Fault::MissingAccess => Reply::error(403, 50001, "Missing Access"),
        Fault::UnknownChannel => Reply::error(404, 10003, "Unknown Channel"),
        Fault::UnknownGuild => Reply::error(404, 10004, "Unknown Guild"),
        Fault::InvalidFormBody => Reply::json(
            400,
            json!({
                "code": 50035,
                "message": "Invalid Form Body",
                "errors": {"content": {"_errors": [{
                    "code": "BASE_TYPE_MAX_LENGTH",
                    "message": "Must be 2000 or fewer in length."
                }]}},
            }),
        ),
        Fault::Unauthorized => Reply::error(401, 0, "401: Unauthorized"),
        Fault::Status {
            status,
            code,
            message,
        } => Reply::error(*status, *code, message),
        Fault::AcceptThenTimeout(_) => unreachable!("handled by processing the request normally"),
    }
}

/// Discord's 429: JSON body with a float `retry_after`, `Retry-After` in whole seconds.
fn rate_limited(retry_after: f64, global: bool) -> Reply {
    let retry_after = (retry_after * 1000.0).ceil() / 1000.0;
    let mut headers = vec![
        (
            "retry-after",
            format!("{}", retry_after.ceil().max(1.0) as u64),
        ),
        (
            "x-ratelimit-scope",
            if global { "global" } else { "user" }.to_string(),
        ),
    ];
    if global {
        headers.push(("x-ratelimit-global", "true".to_string()));
    }
    Reply {
        status: 429,
        headers,
        body: ReplyBody::Json(json!({
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": global,
        })),
        delay: None,
    }
}

/// Drops timestamps older than `window`; returns how long until the oldest one leaves it.
fn prune(window: &mut VecDeque<Instant>, length: Duration, now: Instant) -> Duration {
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= length)
    {
        window.pop_front();
    }
    window.front().map_or(Duration::ZERO, |oldest| {
        length.saturating_sub(now.duration_since(*oldest))
    })
}

fn route(
    shared: &Shared,
    state: &mut State,
    at: Line<'_>,
    authorized: bool,
    body: &Bytes,
) -> Reply {
    let endpoint = parse_endpoint(at.method, at.path);
    let mut delay = None;
    if let Some(index) = state
        .faults
        .iter()
        .position(|rule| rule.route.matches(at, &endpoint))
    {
        let rule = &mut state.faults[index];
        let fault = rule.fault.clone();
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                state.faults.remove(index);
            }
        }
        match fault {
            Fault::AcceptThenTimeout(hold) => delay = Some(hold),
            other => return fault_reply(&other),
        }
    }
    let interaction_route = matches!(
        endpoint,
        Endpoint::InteractionCallback { .. } | Endpoint::Webhook { .. }
    );
    if !interaction_route
        && !matches!(endpoint, Endpoint::Gateway | Endpoint::Unknown)
        && !authorized
    {
        return Reply::error(401, 0, "401: Unauthorized");
    }
    let now = Instant::now();
    if !interaction_route {
        let wait = prune(&mut state.global_window, shared.config.global_window, now);
        if state.global_window.len() >= shared.config.global_limit {
            state.rate_limited += 1;
            return rate_limited(wait.as_secs_f64(), true);
        }
        state.global_window.push_back(now);
    }
    let json_body = if body.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice::<Value>(body)
    };
    let Ok(json_body) = json_body else {
        return violation(
            state,
            at,
            Value::String(String::from_utf8_lossy(body).into_owned()),
            400,
            50109,
            "The request body contains invalid JSON.",
            &[],
        );
    };
    let mut reply = match endpoint {
        Endpoint::Gateway => Reply::json(200, json!({"url": shared.ws_url()})),
        Endpoint::GatewayBot => Reply::json(
            200,
            json!({
                "url": shared.ws_url(),
                "shards": shared.config.recommended_shards,
                "session_start_limit": {
                    "total": 1000, "remaining": 999, "reset_after": 14_400_000,
                    "max_concurrency": shared.config.max_concurrency
                },
            }),
        ),
        Endpoint::CurrentUser => Reply::json(200, payloads::bot_user()),
        Endpoint::CurrentApplication => Reply::json(200, payloads::application_info()),
        Endpoint::CreateDm => create_dm(state, at, json_body),
        Endpoint::Commands { application, guild } => {
            commands(state, at, &application, guild, json_body)
        }
        Endpoint::InteractionCallback { interaction, token } => {
            interaction_callback(state, at, &interaction, &token, json_body)
        }
        Endpoint::Webhook {
            application,
            token,
            message,
        } => webhook(
            state,
            at,
            &application,
            &token,
            message.as_deref(),
            json_body,
        ),
        Endpoint::CreateMessage { channel } => {
            create_message(shared, state, at, channel, json_body, now)
        }
        Endpoint::EditMessage { channel, message } => {
            edit_message(state, at, channel, message, json_body)
        }
        Endpoint::Unknown => Reply::not_found(),
    };
    reply.delay = delay;
    reply
}

/// Records a violation and answers like Discord: `{"code", "message", "errors"}`.
fn violation(
    state: &mut State,
    at: Line<'_>,
    body: Value,
    status: u16,
    code: i64,
    message: &str,
    problems: &[Problem],
) -> Reply {
    let mut descriptions: Vec<String> = problems.iter().map(ToString::to_string).collect();
    if descriptions.is_empty() {
        descriptions.push(message.to_string());
    }
    state.violations.push(Violation {
        method: at.method.to_string(),
        path: at.path.to_string(),
        status,
        code,
        problems: descriptions,
        body,
    });
    let mut answer = json!({"code": code, "message": message});
    if !problems.is_empty() {
        answer["errors"] = validate::errors_tree(problems);
    }
    Reply::json(status, answer)
}

/// 50035 for `problems`, 50006 for an empty message, `None` when the body is fine.
fn reject_message(
    state: &mut State,
    at: Line<'_>,
    body: &Value,
    problems: &[Problem],
    must_not_be_empty: bool,
) -> Option<Reply> {
    if !problems.is_empty() {
        return Some(violation(
            state,
            at,
            body.clone(),
            400,
            50035,
            "Invalid Form Body",
            problems,
        ));
    }
    if must_not_be_empty && validate::is_empty_message(body) {
        return Some(violation(
            state,
            at,
            body.clone(),
            400,
            50006,
            "Cannot send an empty message",
            &[],
        ));
    }
    None
}

fn create_message(
    shared: &Shared,
    state: &mut State,
    at: Line<'_>,
    channel: u64,
    body: Value,
    now: Instant,
) -> Reply {
    let config = &shared.config;
    let window = state.channel_windows.entry(channel).or_default();
    let wait = prune(window, config.channel_window, now);
    let limited = window.len() >= config.channel_limit;
    if !limited {
        window.push_back(now);
    }
    let remaining = config.channel_limit.saturating_sub(window.len());
    let reset_after = prune(window, config.channel_window, now).as_secs_f64();
    let reset_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        + reset_after;
    // Discord sends the bucket headers on every answer of the route, 429s and 400s included.
    let headers = vec![
        ("x-ratelimit-limit", config.channel_limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", format!("{reset_at:.3}")),
        ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
        (
            "x-ratelimit-bucket",
            format!("fake-channel-messages-{channel}"),
        ),
    ];
    if limited {
        state.rate_limited += 1;
        let mut reply = rate_limited(wait.as_secs_f64(), false);
        reply.headers.extend(headers);
        return reply;
    }
    let problems = validate::check_message(&body, MessageRoute::ChannelCreate);
    if let Some(reply) = reject_message(state, at, &body, &problems, true) {
        return Reply { headers, ..reply };
    }
    let nonce = body.get("nonce").and_then(|n| match n {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    });
    let enforce = body
        .get("enforce_nonce")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let (Some(nonce), true) = (&nonce, enforce) {
        if let Some(&index) = state.nonces.get(&(channel, nonce.clone())) {
            let first = state.messages[index].message_id;
            let object = state.message_objects[&first].clone();
            return Reply {
                headers,
                ..Reply::json(200, object)
            };
        }
    }
    let message_id = next_snowflake();
    let object = payloads::message_object(message_id, channel, &body, false);
    state.messages.push(PostedMessage {
        channel_id: channel,
        message_id,
        body,
        at: now,
    });
    state.message_objects.insert(message_id, object.clone());
    if let (Some(nonce), true) = (nonce, enforce) {
        state
            .nonces
            .insert((channel, nonce), state.messages.len() - 1);
    }
    Reply {
        headers,
        ..Reply::json(200, object)
    }
}

fn edit_message(state: &mut State, at: Line<'_>, channel: u64, message: u64, body: Value) -> Reply {
    let Some(original) = state
        .message_objects
        .get(&message)
        .filter(|m| {
            m.get("channel_id").and_then(Value::as_str) == Some(channel.to_string().as_str())
        })
        .cloned()
    else {
        return Reply::error(404, 10008, "Unknown Message");
    };
    let problems = validate::check_message(&body, MessageRoute::ChannelEdit);
    if let Some(reply) = reject_message(state, at, &body, &problems, false) {
        return reply;
    }
    let mut updated = original;
    for key in ["content", "embeds", "flags"] {
        if let Some(value) = body.get(key) {
            updated[key] = value.clone();
        }
    }
    updated["edited_timestamp"] = json!(payloads::discord_timestamp());
    state.message_objects.insert(message, updated.clone());
    state.edits.push(MessageEdit {
        channel_id: channel,
        message_id: message,
        body,
    });
    Reply::json(200, updated)
}

fn create_dm(state: &mut State, at: Line<'_>, body: Value) -> Reply {
    let recipient = body.get("recipient_id").and_then(|r| match r {
        Value::String(text) => text.parse::<u64>().ok(),
        other => other.as_u64(),
    });
    let Some(recipient) = recipient.filter(|id| *id > 0) else {
        let problem = Problem {
            path: vec!["recipient_id".into()],
            code: "BASE_TYPE_REQUIRED",
            message: "This field is required".into(),
        };
        return violation(state, at, body, 400, 50035, "Invalid Form Body", &[problem]);
    };
    let channel = *state
        .dm_channels
        .entry(recipient)
        .or_insert_with(next_snowflake);
    Reply::json(200, payloads::dm_channel(channel, recipient))
}

fn commands(
    state: &mut State,
    at: Line<'_>,
    application: &str,
    guild: Option<u64>,
    body: Value,
) -> Reply {
    if application != APPLICATION_ID.to_string() {
        return violation(
            state,
            at,
            body,
            404,
            10002,
            &format!("Unknown Application (expected {APPLICATION_ID}, got {application})"),
            &[],
        );
    }
    if *at.method == Method::GET {
        let current = state
            .registrations
            .iter()
            .rev()
            .find(|r| r.guild_id == guild)
            .map(|r| r.commands.clone())
            .unwrap_or_default();
        return Reply::json(200, Value::Array(current));
    }
    let problems = validate::check_commands(&body);
    if !problems.is_empty() {
        return violation(state, at, body, 400, 50035, "Invalid Form Body", &problems);
    }
    let echoed: Vec<Value> = body
        .as_array()
        .map(|commands| {
            commands
                .iter()
                .map(|command| {
                    let name = command
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let id = *state
                        .command_ids
                        .entry((guild, name.to_string()))
                        .or_insert_with(next_snowflake);
                    payloads::command_echo(command, id, guild)
                })
                .collect()
        })
        .unwrap_or_default();
    state.registrations.push(CommandRegistration {
        guild_id: guild,
        commands: echoed.clone(),
    });
    Reply::json(200, Value::Array(echoed))
}

fn interaction_callback(
    state: &mut State,
    at: Line<'_>,
    interaction: &str,
    token: &str,
    body: Value,
) -> Reply {
    let Some(index) = state.interactions.iter().position(|i| {
        i.response.interaction_id.to_string() == interaction && i.response.token == token
    }) else {
        return violation(state, at, body, 404, 10062, "Unknown interaction", &[]);
    };
    if state.interactions[index].response.callback.is_some() {
        return violation(
            state,
            at,
            body,
            400,
            40060,
            "Interaction has already been acknowledged.",
            &[],
        );
    }
    let interaction_type = state.interactions[index].response.interaction_type;
    let problems = validate::check_interaction_callback(&body, interaction_type);
    let kind = body.get("type").and_then(Value::as_u64).unwrap_or(0);
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    if !problems.is_empty() {
        return violation(state, at, body, 400, 50035, "Invalid Form Body", &problems);
    }
    if matches!(kind, 4 | 7) && validate::is_empty_message(&data) {
        return violation(
            state,
            at,
            body,
            400,
            50006,
            "Cannot send an empty message",
            &[],
        );
    }
    let entry = &mut state.interactions[index];
    if matches!(kind, 4 | 5) {
        entry.original_message_id = Some(next_snowflake());
    }
    entry.response.callback = Some(body);
    Reply::no_content()
}

fn webhook(
    state: &mut State,
    at: Line<'_>,
    application: &str,
    token: &str,
    message: Option<&str>,
    body: Value,
) -> Reply {
    let index = state
        .interactions
        .iter()
        .position(|i| i.response.token == token);
    let Some(index) = index.filter(|_| application == APPLICATION_ID.to_string()) else {
        return violation(state, at, body, 404, 10015, "Unknown Webhook", &[]);
    };
    let channel = state.interactions[index].channel_id;
    let Some(original_id) = state.interactions[index].original_message_id else {
        // Discord only opens the webhook once the interaction was answered with a message or a
        // deferral: a followup or edit before that is a bot bug.
        return violation(
            state,
            at,
            body,
            404,
            10015,
            "Unknown Webhook (the interaction has no initial response yet)",
            &[],
        );
    };
    if *at.method == Method::DELETE {
        return Reply::no_content();
    }
    if *at.method == Method::GET {
        let data = state.interactions[index]
            .response
            .callback
            .as_ref()
            .and_then(|c| c.get("data"))
            .cloned()
            .unwrap_or_else(|| json!({}));
        let edited = state.interactions[index]
            .response
            .original_edits
            .last()
            .cloned();
        return Reply::json(
            200,
            payloads::message_object(original_id, channel, &edited.unwrap_or(data), true),
        );
    }
    let problems = validate::check_message(&body, MessageRoute::Interaction);
    let creating = message.is_none();
    if let Some(reply) = reject_message(state, at, &body, &problems, creating) {
        return reply;
    }
    let response = &mut state.interactions[index].response;
    let message_id = match message {
        None => {
            response.followups.push(body.clone());
            next_snowflake()
        }
        Some("@original") => {
            response.original_edits.push(body.clone());
            original_id
        }
        Some(other) => {
            response
                .followup_edits
                .push((other.to_string(), body.clone()));
            other.parse().unwrap_or(original_id)
        }
    };
    Reply::json(
        200,
        payloads::message_object(message_id, channel, &body, true),
    )
}

// ---- gateway ------------------------------------------------------------------------------

fn upgrade_gateway(shared: Arc<Shared>, request: &mut Request<Incoming>) -> Response<Full<Bytes>> {
    let key = request
        .headers()
        .get("sec-websocket-key")
        .map(|key| derive_accept_key(key.as_bytes()));
    let Some(accept) = key else {
        return Reply::error(400, 0, "expected a WebSocket upgrade").into_response();
    };
    if shared.lock().refuse_gateway {
        return Reply::error(503, 0, "the gateway is unreachable (refuse_gateway)").into_response();
    }
    let upgrade = hyper::upgrade::on(request);
    tokio::spawn(async move {
        if let Ok(upgraded) = upgrade.await {
            let socket =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            let cancel = shared.cancel.clone();
            run_until_cancelled(cancel, run_gateway(shared, socket)).await;
        }
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert("upgrade", HeaderValue::from_static("websocket"));
    headers.insert("connection", HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert("sec-websocket-accept", accept);
    }
    response
}

async fn run_until_cancelled(cancel: CancellationToken, task: impl Future<Output = ()>) {
    tokio::select! {
        () = cancel.cancelled() => {}
        () = task => {}
    }
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// One gateway connection: HELLO, then IDENTIFY -> READY, heartbeats, RESUME -> op 9, and
/// whatever the test dispatches.
async fn run_gateway(shared: Arc<Shared>, mut socket: Socket) {
    let hello = json!({"op": 10, "d": {"heartbeat_interval": shared.config.heartbeat_interval_ms}});
    if socket.send(Message::Text(hello.to_string())).await.is_err() {
        return;
    }
    let (sender, mut commands) = mpsc::unbounded_channel();
    let mut connection = Connection {
        sender: Some(sender),
        session: None,
        seq: 0,
    };
    loop {
        let answer = tokio::select! {
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => connection.on_payload(&shared, &text),
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => Answer::Nothing,
            },
            command = commands.recv() => match command {
                Some(GatewayCommand::Dispatch { event, data }) => {
                    connection.seq += 1;
                    Answer::Send(json!({"op": 0, "s": connection.seq, "t": event, "d": data}))
                }
                Some(GatewayCommand::Close { code, reason }) => Answer::Close(code, reason),
                // Replaced by a newer session: Discord would have closed this one too.
                None => break,
            },
        };
        match answer {
            Answer::Nothing => {}
            Answer::Send(payload) => {
                if socket
                    .send(Message::Text(payload.to_string()))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            Answer::Close(code, reason) => {
                close(&mut socket, code, &reason).await;
                break;
            }
        }
    }
    if let Some(session) = connection.session {
        shared.lock().gateways.retain(|g| g.session != session);
    }
}

/// What a gateway connection does after handling one event.
enum Answer {
    Nothing,
    Send(Value),
    Close(u16, String),
}

/// Per-connection gateway state.
struct Connection {
    /// Handed to the shared state once READY is sent, so tests dispatch to this session.
    sender: Option<mpsc::UnboundedSender<GatewayCommand>>,
    session: Option<u64>,
    seq: u64,
}

impl Connection {
    fn on_payload(&mut self, shared: &Shared, text: &str) -> Answer {
        let Ok(payload) = serde_json::from_str::<Value>(text) else {
            return Answer::Nothing;
        };
        match payload.get("op").and_then(Value::as_u64) {
            Some(1) => Answer::Send(json!({"op": 11})),
            Some(2) => self.on_identify(shared, &payload),
            Some(6) => {
                shared.lock().resumes += 1;
                // The fake keeps no session history: force a fresh IDENTIFY, as Discord does
                // when a session expired.
                Answer::Send(json!({"op": 9, "d": false}))
            }
            _ => Answer::Nothing,
        }
    }

    fn on_identify(&mut self, shared: &Shared, payload: &Value) -> Answer {
        let mut state = shared.lock();
        let data = payload.get("d").cloned().unwrap_or(Value::Null);
        let shard = identify_shard(&data);
        state.identifies.push(Identify {
            shard,
            token: data
                .get("token")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            intents: data
                .get("intents")
                .and_then(Value::as_u64)
                .unwrap_or(u64::MAX),
            raw: data,
        });
        if let Some(code) = state.reject_identify {
            return Answer::Close(code, "Authentication failed.".to_string());
        }
        state.sessions += 1;
        let session = state.sessions;
        if let Some(sender) = self.sender.take() {
            // Discord allows one session per shard: the previous one of this shard is dropped
            // (its connection ends when its command channel closes).
            state.gateways.retain(|g| g.shard[0] != shard[0]);
            state.gateways.push(GatewaySession {
                session,
                shard,
                sender,
            });
        }
        self.session = Some(session);
        self.seq += 1;
        let guilds: Vec<u64> = state
            .guilds
            .iter()
            .copied()
            .filter(|g| shard_of(*g, shard[1]) == shard[0])
            .collect();
        let ready = payloads::ready_for(
            &format!("fake-session-{session}"),
            &shared.ws_url(),
            shard,
            &guilds,
        );
        state.readies.push(ReadySent {
            session,
            shard,
            guilds,
        });
        Answer::Send(json!({"op": 0, "s": self.seq, "t": "READY", "d": ready}))
    }
}

/// `d.shard` of an IDENTIFY, `[0, 1]` when absent or malformed.
fn identify_shard(data: &Value) -> [u32; 2] {
    let part = |i: usize| {
        data.pointer(&format!("/shard/{i}"))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    match (part(0), part(1)) {
        (Some(id), Some(count)) if count >= 1 && id < count => [id, count],
        _ => [0, 1],
    }
}

/// A dispatch's `guild_id`; `None` for a DM.
fn guild_of(data: &Value) -> Option<u64> {
    data.get("guild_id").and_then(|g| {
        g.as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| g.as_u64())
    })
}

async fn close(socket: &mut Socket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    };
    // The bot may already be gone; nothing to do about a failed close.
    let _ = socket.close(Some(frame)).await;
}
