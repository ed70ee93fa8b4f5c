//! Discord's request-body rules as pure checks over JSON: what the fake Discord answers with 400.
//!
//! The numbers are Discord's documented limits (see `shared/reference/discord.md`), counted in
//! Unicode scalar values (`chars()`) as Discord does. A few checks are newshound policy rather
//! than Discord behaviour (named `FAKE_*`): every channel message must carry `allowed_mentions`
//! and may never allow `@everyone`, because a feed title containing "@everyone" must not ping a
//! whole server.

use std::fmt;

use serde_json::{Map, Value};

pub const CONTENT_MAX: usize = 2000;
pub const EMBEDS_MAX: usize = 10;
pub const EMBED_TITLE_MAX: usize = 256;
pub const EMBED_DESCRIPTION_MAX: usize = 4096;
pub const EMBED_FIELDS_MAX: usize = 25;
pub const EMBED_FIELD_NAME_MAX: usize = 256;
pub const EMBED_FIELD_VALUE_MAX: usize = 1024;
pub const EMBED_FOOTER_MAX: usize = 2048;
pub const EMBED_AUTHOR_MAX: usize = 256;
/// Sum of title, description, field names and values, footer and author over ALL embeds.
pub const EMBED_TOTAL_MAX: usize = 6000;
pub const MENTION_IDS_MAX: usize = 100;
pub const NONCE_MAX: usize = 25;
pub const COMMANDS_MAX: usize = 100;
pub const COMMAND_NAME_MAX: usize = 32;
pub const COMMAND_DESCRIPTION_MAX: usize = 100;
pub const COMMAND_OPTIONS_MAX: usize = 25;
pub const CHOICES_MAX: usize = 25;
pub const CHOICE_NAME_MAX: usize = 100;
pub const CHOICE_STRING_VALUE_MAX: usize = 100;
pub const STRING_OPTION_LENGTH_MAX: u64 = 6000;

/// Message flags a bot may set when sending: SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS.
const SENDABLE_FLAGS: u64 = 4 | 64 | 4096;

/// One thing Discord would reject in a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path into the request body, e.g. `["embeds", "0", "title"]`; empty for the body itself.
    pub path: Vec<String>,
    /// Discord's machine-readable code, e.g. `BASE_TYPE_MAX_LENGTH`.
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "(body): {} [{}]", self.message, self.code)
        } else {
            write!(
                f,
                "{}: {} [{}]",
                self.path.join("."),
                self.message,
                self.code
            )
        }
    }
}

/// Which message route a body was sent to: the routes differ in what they require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRoute {
    /// `POST /channels/{id}/messages`: `allowed_mentions` required (policy), nonce allowed.
    ChannelCreate,
    /// `PATCH /channels/{id}/messages/{id}`.
    ChannelEdit,
    /// Interaction callback data, followups and `@original` edits.
    Interaction,
}

#[derive(Default)]
struct Report {
    problems: Vec<Problem>,
}

impl Report {
    fn add(&mut self, path: &[&str], code: &'static str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.iter().map(ToString::to_string).collect(),
            code,
            message: message.into(),
        });
    }

    /// Checks an optional string against `min..=max` chars; returns its length (0 if absent).
    fn text(&mut self, path: &[&str], value: Option<&Value>, min: usize, max: usize) -> usize {
        match value {
            None | Some(Value::Null) => {
                if min > 0 {
                    self.add(path, "BASE_TYPE_REQUIRED", "This field is required");
                }
                0
            }
            Some(Value::String(text)) => {
                let len = text.chars().count();
                if len > max {
                    self.add(
                        path,
                        "BASE_TYPE_MAX_LENGTH",
                        format!("Must be {max} or fewer in length (got {len})."),
                    );
                } else if len < min {
                    self.add(
                        path,
                        "BASE_TYPE_MIN_LENGTH",
                        format!("Must be {min} or more in length (got {len})."),
                    );
                }
                len
            }
            Some(other) => {
                self.add(
                    path,
                    "BASE_TYPE_STRING",
                    format!("Value \"{other}\" is not a string."),
                );
                0
            }
        }
    }

    /// Checks an optional array's length; returns its items (empty if absent or not an array).
    fn array<'v>(&mut self, path: &[&str], value: Option<&'v Value>, max: usize) -> &'v [Value] {
        match value {
            None | Some(Value::Null) => &[],
            Some(Value::Array(items)) => {
                if items.len() > max {
                    self.add(
                        path,
                        "BASE_TYPE_MAX_LENGTH",
                        format!("Must be {max} or fewer in length (got {}).", items.len()),
                    );
                }
                items
            }
            Some(other) => {
                self.add(
                    path,
                    "BASE_TYPE_ARRAY",
                    format!("Value \"{other}\" is not an array."),
                );
                &[]
            }
        }
    }

    fn http_url(&mut self, path: &[&str], value: Option<&Value>, allow_attachment: bool) {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return;
        };
        let Some(text) = value.as_str() else {
            self.add(
                path,
                "URL_TYPE_INVALID_URL",
                format!("Not a well formed URL: {value}"),
            );
            return;
        };
        match url::Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            Ok(url) if allow_attachment && url.scheme() == "attachment" => {}
            Ok(url) => self.add(
                path,
                "URL_TYPE_INVALID_SCHEME",
                format!(
                    "Scheme \"{}\" is not supported. Scheme must be one of ('http', 'https').",
                    url.scheme()
                ),
            ),
            Err(_) => {
                self.add(
                    path,
                    "URL_TYPE_INVALID_URL",
                    format!("Not a well formed URL: {text:?}"),
                );
            }
        }
    }

    fn prefixed(self, prefix: &str) -> Vec<Problem> {
        self.problems
            .into_iter()
            .map(|mut problem| {
                problem.path.insert(0, prefix.to_string());
                problem
            })
            .collect()
    }
}

/// Everything Discord (plus newshound policy, see module doc) would reject in a message body.
pub fn check_message(body: &Value, route: MessageRoute) -> Vec<Problem> {
    let mut report = Report::default();
    let Some(message) = body.as_object() else {
        report.add(
            &[],
            "MODEL_TYPE_CONVERT",
            "The message body must be a JSON object.",
        );
        return report.problems;
    };
    report.text(&["content"], message.get("content"), 0, CONTENT_MAX);
    check_embeds(&mut report, message.get("embeds"));
    match message.get("allowed_mentions") {
        None | Some(Value::Null) => {
            if route == MessageRoute::ChannelCreate {
                report.add(
                    &["allowed_mentions"],
                    "FAKE_ALLOWED_MENTIONS_REQUIRED",
                    "allowed_mentions must be sent with every message: without it Discord \
                     parses @everyone, roles and users out of the content",
                );
            }
        }
        Some(mentions) => check_allowed_mentions(&mut report, mentions),
    }
    match message.get("nonce") {
        None | Some(Value::Null | Value::Number(_)) => {}
        Some(nonce @ Value::String(_)) => {
            report.text(&["nonce"], Some(nonce), 0, NONCE_MAX);
            if route != MessageRoute::ChannelCreate {
                report.add(
                    &["nonce"],
                    "FAKE_NONCE_UNSUPPORTED",
                    "Only message creates take a nonce.",
                );
            }
        }
        Some(other) => report.add(
            &["nonce"],
            "BASE_TYPE_STRING",
            format!("Invalid nonce {other}."),
        ),
    }
    if let Some(flags) = message.get("flags").filter(|f| !f.is_null()) {
        match flags.as_u64() {
            Some(bits) if bits & !SENDABLE_FLAGS == 0 => {}
            _ => report.add(
                &["flags"],
                "MESSAGE_FLAGS_INVALID",
                format!("Invalid flags {flags}."),
            ),
        }
    }
    report.problems
}

fn check_embeds(report: &mut Report, embeds: Option<&Value>) {
    let embeds = report.array(&["embeds"], embeds, EMBEDS_MAX);
    let mut total = 0;
    for (index, embed) in embeds.iter().enumerate() {
        let index = index.to_string();
        total += check_embed(report, &index, embed);
    }
    if total > EMBED_TOTAL_MAX {
        report.add(
            &["embeds"],
            "MAX_EMBED_SIZE_EXCEEDED",
            format!("Embed size exceeds maximum size of {EMBED_TOTAL_MAX} (got {total})."),
        );
    }
}

/// Checks one embed; returns the chars it adds to the message-wide 6000 total.
fn check_embed(report: &mut Report, index: &str, embed: &Value) -> usize {
    let Some(embed) = embed.as_object() else {
        report.add(
            &["embeds", index],
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType.",
        );
        return 0;
    };
    let mut total = report.text(
        &["embeds", index, "title"],
        embed.get("title"),
        0,
        EMBED_TITLE_MAX,
    );
    total += report.text(
        &["embeds", index, "description"],
        embed.get("description"),
        0,
        EMBED_DESCRIPTION_MAX,
    );
    report.http_url(&["embeds", index, "url"], embed.get("url"), false);
    let fields = report.array(
        &["embeds", index, "fields"],
        embed.get("fields"),
        EMBED_FIELDS_MAX,
    );
    for (field_index, field) in fields.iter().enumerate() {
        let field_index = field_index.to_string();
        let path = ["embeds", index, "fields", &field_index];
        total += report.text(
            &[&path[..], &["name"]].concat(),
            field.get("name"),
            1,
            EMBED_FIELD_NAME_MAX,
        );
        total += report.text(
            &[&path[..], &["value"]].concat(),
            field.get("value"),
            1,
            EMBED_FIELD_VALUE_MAX,
        );
    }
    if let Some(footer) = embed.get("footer").filter(|f| !f.is_null()) {
        total += report.text(
            &["embeds", index, "footer", "text"],
            footer.get("text"),
            1,
            EMBED_FOOTER_MAX,
        );
        report.http_url(
            &["embeds", index, "footer", "icon_url"],
            footer.get("icon_url"),
            true,
        );
    }
    if let Some(author) = embed.get("author").filter(|a| !a.is_null()) {
        total += report.text(
            &["embeds", index, "author", "name"],
            author.get("name"),
            1,
            EMBED_AUTHOR_MAX,
        );
        report.http_url(
            &["embeds", index, "author", "url"],
            author.get("url"),
            false,
        );
        report.http_url(
            &["embeds", index, "author", "icon_url"],
            author.get("icon_url"),
            true,
        );
    }
    for image in ["image", "thumbnail"] {
        if let Some(media) = embed.get(image).filter(|m| !m.is_null()) {
            report.http_url(&["embeds", index, image, "url"], media.get("url"), true);
        }
    }
    if let Some(timestamp) = embed.get("timestamp").filter(|t| !t.is_null()) {
        let parses = timestamp
            .as_str()
            .is_some_and(|text| chrono::DateTime::parse_from_rfc3339(text).is_ok());
        if !parses {
            report.add(
                &["embeds", index, "timestamp"],
                "DATE_TIME_TYPE_PARSE",
                format!("Could not parse {timestamp}. Should be ISO8601."),
            );
        }
    }
    if let Some(color) = embed.get("color").filter(|c| !c.is_null()) {
        if color.as_u64().is_none_or(|c| c > 0x00FF_FFFF) {
            report.add(
                &["embeds", index, "color"],
                "NUMBER_TYPE_MAX",
                format!("Int value {color} should be between 0 and 16777215."),
            );
        }
    }
    total
}

fn check_allowed_mentions(report: &mut Report, mentions: &Value) {
    let Some(mentions) = mentions.as_object() else {
        report.add(
            &["allowed_mentions"],
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType.",
        );
        return;
    };
    let parse = report.array(&["allowed_mentions", "parse"], mentions.get("parse"), 3);
    let mut parses = Vec::new();
    for (index, kind) in parse.iter().enumerate() {
        match kind.as_str() {
            Some("everyone") => report.add(
                &["allowed_mentions", "parse", &index.to_string()],
                "FAKE_EVERYONE_FORBIDDEN",
                "allowed_mentions.parse must never contain \"everyone\": a feed title with \
                 @everyone would ping the whole server",
            ),
            Some(kind @ ("users" | "roles")) => parses.push(kind),
            _ => report.add(
                &["allowed_mentions", "parse", &index.to_string()],
                "BASE_TYPE_CHOICES",
                format!("Value {kind} must be one of ('roles', 'users', 'everyone')."),
            ),
        }
    }
    for kind in ["users", "roles"] {
        let ids = report.array(
            &["allowed_mentions", kind],
            mentions.get(kind),
            MENTION_IDS_MAX,
        );
        if !ids.is_empty() && parses.contains(&kind) {
            report.add(
                &["allowed_mentions"],
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                format!("parse:[\"{kind}\"] and {kind}: [ids...] are mutually exclusive."),
            );
        }
        for (index, id) in ids.iter().enumerate() {
            if !is_snowflake(id) {
                report.add(
                    &["allowed_mentions", kind, &index.to_string()],
                    "NUMBER_TYPE_COERCE",
                    format!("Value {id} is not snowflake."),
                );
            }
        }
    }
}

fn is_snowflake(value: &Value) -> bool {
    match value {
        Value::String(text) => text.parse::<u64>().is_ok_and(|id| id > 0),
        Value::Number(number) => number.as_u64().is_some_and(|id| id > 0),
        _ => false,
    }
}

/// Discord's 50006: no content, embeds, stickers, attachments, components or poll.
pub fn is_empty_message(body: &Value) -> bool {
    let content_empty = body
        .get("content")
        .and_then(Value::as_str)
        .is_none_or(|content| content.trim().is_empty());
    let nothing_else = ["embeds", "sticker_ids", "attachments", "components"]
        .iter()
        .all(|key| {
            body.get(key)
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
        })
        && body.get("poll").is_none_or(Value::is_null);
    content_empty && nothing_else
}

/// Checks an interaction callback body for an interaction of `interaction_type`
/// (2 = application command, 3 = component, 4 = autocomplete).
pub fn check_interaction_callback(body: &Value, interaction_type: u64) -> Vec<Problem> {
    let mut report = Report::default();
    let allowed: &[u64] = match interaction_type {
        2 => &[4, 5, 9],
        3 => &[4, 5, 6, 7, 9],
        4 => &[8],
        _ => &[1, 4, 5, 6, 7, 8, 9],
    };
    let Some(kind) = body.get("type").and_then(Value::as_u64) else {
        report.add(&["type"], "BASE_TYPE_REQUIRED", "This field is required");
        return report.problems;
    };
    if !allowed.contains(&kind) {
        report.add(
            &["type"],
            "BASE_TYPE_CHOICES",
            format!("Value must be one of {allowed:?} for interaction type {interaction_type} (got {kind})."),
        );
        return report.problems;
    }
    let data = body.get("data").filter(|d| !d.is_null());
    match (kind, data) {
        (4 | 7, Some(data)) => report.problems.extend(
            check_message(data, MessageRoute::Interaction)
                .into_iter()
                .map(|mut problem| {
                    problem.path.insert(0, "data".to_string());
                    problem
                }),
        ),
        (4, None) => report.add(&["data"], "BASE_TYPE_REQUIRED", "This field is required"),
        (5, Some(data)) => {
            if let Some(flags) = data.get("flags").filter(|f| !f.is_null()) {
                if flags
                    .as_u64()
                    .is_none_or(|bits| bits & !SENDABLE_FLAGS != 0)
                {
                    report.add(
                        &["data", "flags"],
                        "MESSAGE_FLAGS_INVALID",
                        format!("Invalid flags {flags}."),
                    );
                }
            }
        }
        (8, data) => {
            let mut choices_report = Report::default();
            let choices = choices_report.array(
                &["choices"],
                data.and_then(|d| d.get("choices")),
                CHOICES_MAX,
            );
            check_choices(&mut choices_report, &["choices"], choices);
            report.problems.extend(choices_report.prefixed("data"));
        }
        _ => {}
    }
    report.problems
}

fn check_choices(report: &mut Report, path: &[&str], choices: &[Value]) {
    for (index, choice) in choices.iter().enumerate() {
        let index = index.to_string();
        let here = [path, &[index.as_str()]].concat();
        report.text(
            &[&here[..], &["name"]].concat(),
            choice.get("name"),
            1,
            CHOICE_NAME_MAX,
        );
        match choice.get("value") {
            Some(value @ Value::String(_)) => {
                report.text(
                    &[&here[..], &["value"]].concat(),
                    Some(value),
                    1,
                    CHOICE_STRING_VALUE_MAX,
                );
            }
            Some(Value::Number(_)) => {}
            other => report.add(
                &[&here[..], &["value"]].concat(),
                "BASE_TYPE_REQUIRED",
                format!("A choice needs a string or number value (got {other:?})."),
            ),
        }
    }
}

/// Checks a bulk command registration (`PUT .../commands`) body.
pub fn check_commands(body: &Value) -> Vec<Problem> {
    let mut report = Report::default();
    let Some(commands) = body.as_array() else {
        report.add(
            &[],
            "BASE_TYPE_ARRAY",
            "The body must be an array of commands.",
        );
        return report.problems;
    };
    if commands.len() > COMMANDS_MAX {
        report.add(
            &[],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {COMMANDS_MAX} or fewer in length."),
        );
    }
    let mut seen = Vec::new();
    for (index, command) in commands.iter().enumerate() {
        let index = index.to_string();
        let kind = command.get("type").and_then(Value::as_u64).unwrap_or(1);
        if let Some(name) = command.get("name").and_then(Value::as_str) {
            if seen.contains(&(kind, name)) {
                report.add(
                    &[&index, "name"],
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    format!("Application command names must be unique (\"{name}\" repeats)."),
                );
            }
            seen.push((kind, name));
        }
        check_command(&mut report, &index, kind, command);
    }
    report.problems
}

fn check_command(report: &mut Report, index: &str, kind: u64, command: &Value) {
    if !(1..=4).contains(&kind) {
        report.add(
            &[index, "type"],
            "BASE_TYPE_CHOICES",
            format!("Invalid command type {kind}."),
        );
    }
    if kind == 1 {
        check_name(report, &[index, "name"], command.get("name"));
        report.text(
            &[index, "description"],
            command.get("description"),
            1,
            COMMAND_DESCRIPTION_MAX,
        );
    } else {
        report.text(&[index, "name"], command.get("name"), 1, COMMAND_NAME_MAX);
    }
    match command.get("default_member_permissions") {
        None | Some(Value::Null) => {}
        Some(Value::String(bits))
            if !bits.is_empty() && bits.bytes().all(|b| b.is_ascii_digit()) => {}
        Some(other) => report.add(
            &[index, "default_member_permissions"],
            "NUMBER_TYPE_COERCE",
            format!(
                "Value {other} is not a permission bit set (a string of digits such as \"32\")."
            ),
        ),
    }
    let options = report.array(
        &[index, "options"],
        command.get("options"),
        COMMAND_OPTIONS_MAX,
    );
    check_options(report, &[index, "options"], options, 0);
}

/// Command and option names: 1-32 chars of `-_a-z0-9` (newshound uses ASCII names only).
fn check_name(report: &mut Report, path: &[&str], name: Option<&Value>) {
    let valid = name.and_then(Value::as_str).is_some_and(|name| {
        (1..=COMMAND_NAME_MAX).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c == '-' || c == '_' || c.is_ascii_lowercase() || c.is_ascii_digit())
    });
    if !valid {
        report.add(
            path,
            "APPLICATION_COMMAND_INVALID_NAME",
            format!(
                "Command name {} must match ^[-_a-z0-9]{{1,32}}$.",
                name.unwrap_or(&Value::Null)
            ),
        );
    }
}

/// `depth` 0 = command level, 1 = inside a subcommand group, 2 = inside a subcommand.
fn check_options(report: &mut Report, path: &[&str], options: &[Value], depth: usize) {
    let mut seen_optional = false;
    let mut names = Vec::new();
    for (index, option) in options.iter().enumerate() {
        let index = index.to_string();
        let here = [path, &[index.as_str()]].concat();
        let at = |key: &'static str| [&here[..], &[key]].concat();
        let kind = option.get("type").and_then(Value::as_u64).unwrap_or(0);
        if !(1..=11).contains(&kind) {
            report.add(
                &at("type"),
                "BASE_TYPE_CHOICES",
                format!("Invalid option type {kind}."),
            );
        }
        check_name(report, &at("name"), option.get("name"));
        if let Some(name) = option.get("name").and_then(Value::as_str) {
            if names.contains(&name) {
                report.add(
                    &at("name"),
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    format!("Option name \"{name}\" repeats."),
                );
            }
            names.push(name);
        }
        report.text(
            &at("description"),
            option.get("description"),
            1,
            COMMAND_DESCRIPTION_MAX,
        );
        let required = option
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if required && seen_optional {
            report.add(
                &at("required"),
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            );
        }
        seen_optional |= !required && kind > 2;
        let choices = report.array(&at("choices"), option.get("choices"), CHOICES_MAX);
        check_choices(report, &at("choices"), choices);
        for key in ["min_length", "max_length"] {
            if let Some(length) = option.get(key).filter(|l| !l.is_null()) {
                let min = u64::from(key == "max_length");
                if !length
                    .as_u64()
                    .is_some_and(|l| (min..=STRING_OPTION_LENGTH_MAX).contains(&l))
                {
                    report.add(
                        &at(key),
                        "NUMBER_TYPE_MAX",
                        format!(
                            "{key} {length} must be between {min} and {STRING_OPTION_LENGTH_MAX}."
                        ),
                    );
                }
            }
        }
        let nested = report.array(&at("options"), option.get("options"), COMMAND_OPTIONS_MAX);
        let nesting_ok = match kind {
            2 => {
                depth == 0
                    && nested
                        .iter()
                        .all(|o| o.get("type").and_then(Value::as_u64) == Some(1))
            }
            1 => {
                depth <= 1
                    && nested
                        .iter()
                        .all(|o| o.get("type").and_then(Value::as_u64).unwrap_or(0) > 2)
            }
            _ => nested.is_empty(),
        };
        if !nesting_ok {
            report.add(
                &at("options"),
                "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                "Subcommand groups hold subcommands, subcommands hold plain options, nothing deeper.",
            );
        }
        match kind {
            2 => check_options(report, &at("options"), nested, 1),
            1 => check_options(report, &at("options"), nested, 2),
            _ => {}
        }
    }
}

/// Builds Discord's nested `errors` object (`{"embeds":{"0":{"title":{"_errors":[..]}}}}`).
pub fn errors_tree(problems: &[Problem]) -> Value {
    let mut root = Map::new();
    for problem in problems {
        let mut node = &mut root;
        for segment in &problem.path {
            let child = node
                .entry(segment.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            node = child.as_object_mut().expect("just made an object");
        }
        let errors = node
            .entry("_errors")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = errors {
            list.push(serde_json::json!({"code": problem.code, "message": problem.message}));
        }
    }
    Value::Object(root)
}
