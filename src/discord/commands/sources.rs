//! `/sources list|add|remove|import|export` (Manage Server): the feeds a server watches. A new
//! source is fetched once through the public-only address policy and must be a feed before it
//! is stored. `import` reads an uploaded OPML file (downloaded from Discord's own hosts only,
//! size-capped; its feeds are checked like `add` URLs but not fetched now); `export` replies
//! with the server's sources as an `.opml` attachment.

use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption, Permissions};

use super::{
    describe, fence_safe, is_invisible, option_length, AttachmentRef, Caller, CommandError,
    Options, Reply, UserError, MAX_SOURCE_NAME, MAX_URL,
};
use crate::core::limits::escape_markdown;
use crate::core::model::{SourceState, Target};
use crate::core::opml::{self, ImportPlan, MAX_OPML_BYTES};
use crate::sources::fetch::AddressPolicy;
use crate::sources::probe::{probe, ProbeError};
use crate::sources::shorthand::{resolve, Bases};
use crate::store::commands::ServerSources;
use crate::store::discord::{AddSourceError, RemoveSource};
use crate::store::opml::ImportScope;
use crate::store::SourceRow;

/// A `/sources` sub-command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sources {
    List,
    Add(AddSource),
    Remove { name: String },
    Import(AttachmentRef),
    Export,
}

/// `/sources add url: name: [schedule:]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddSource {
    pub url: String,
    /// Trimmed, without invisible or control characters.
    pub name: String,
    /// A cron expression that parses; `None`: the config's default.
    pub schedule: Option<String>,
}

const ADD_EXAMPLE: &str = "/sources add url: https://example.com/feed.xml name: Example";

pub fn parse(sub: &str, options: Options<'_>) -> Result<Sources, UserError> {
    match sub {
        "list" => Ok(Sources::List),
        "export" => Ok(Sources::Export),
        "import" => options
            .attachment("file")
            .map(Sources::Import)
            .ok_or(UserError::Missing {
                what: "file",
                example: "/sources import file: subscriptions.opml",
            }),
        "add" => parse_add(options).map(Sources::Add),
        "remove" => {
            let name = options.required_str("name", "/sources remove name: Tech wire")?;
            Ok(Sources::Remove {
                name: name.trim().to_string(),
            })
        }
        other => Err(UserError::UnknownSubcommand {
            group: "sources".into(),
            sub: other.to_string(),
        }),
    }
}

fn parse_add(options: Options<'_>) -> Result<AddSource, UserError> {
    let url = options.required_str("url", ADD_EXAMPLE)?.trim().to_string();
    let name: String = options
        .required_str("name", ADD_EXAMPLE)?
        .chars()
        .filter(|c| !is_invisible(*c) && !c.is_control())
        .collect::<String>()
        .trim()
        .to_string();
    if name.is_empty() || name.chars().count() > MAX_SOURCE_NAME {
        return Err(UserError::SourceNameLength);
    }
    if name.contains('@') || name.contains('<') {
        return Err(UserError::SourceNameMarkup);
    }
    if url.chars().count() > MAX_URL {
        return Err(UserError::UrlTooLong);
    }
    let schedule = options
        .str("schedule")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if let Some(s) = &schedule {
        crate::config::parse_schedule(s).map_err(|problem| UserError::BadSchedule {
            schedule: s.clone(),
            problem,
        })?;
    }
    Ok(AddSource {
        url,
        name,
        schedule,
    })
}

/// Refuses a source past the server's limit.
pub fn check_room(count: usize, limit: usize) -> Result<(), UserError> {
    if count >= limit {
        return Err(UserError::SourceQuota { count, limit });
    }
    Ok(())
}

/// Why `url` was not added, as the admin reads it.
pub fn refusal(url: &str, error: &ProbeError) -> UserError {
    match error {
        ProbeError::Fetch(e) => UserError::Unreachable {
            url: url.to_string(),
            reason: e.to_string(),
        },
        ProbeError::NotModified => UserError::NotModified,
        ProbeError::NotAFeed(_) | ProbeError::Discovery(_) | ProbeError::ParserCrashed => {
            UserError::NotAFeed {
                reason: error.to_string(),
            }
        }
    }
}

pub fn added_reply(name: &str, items: usize) -> Reply {
    Reply::private(format!(
        "Added **{}** ({items} items now). Items already in the feed are recorded as seen; new ones will alert this server's subscribers.",
        escape_markdown(name)
    ))
}

pub fn removed_reply(outcome: &RemoveSource, name: &str) -> Result<Reply, UserError> {
    let name = name.to_string();
    match outcome {
        RemoveSource::Removed => Ok(Reply::private(format!("Removed `{}`.", fence_safe(&name)))),
        RemoveSource::FromConfig => Err(UserError::ConfigSource { name }),
        RemoveSource::NotFound => Err(UserError::NoSuchSource { name }),
    }
}

/// Every source with its state, last success and next check, then suspended channels.
pub fn list_reply(view: &ServerSources) -> Reply {
    let mut text = String::from("**Sources** (state · last success · next check · feed)\n");
    for source in &view.sources {
        text.push_str(&source_line(source));
    }
    if view.sources.is_empty() {
        text.push_str(&format!("No sources yet. Add one with `{ADD_EXAMPLE}`.\n"));
    }
    for broken in &view.suspended {
        let target = Target::parse(&broken.target);
        if matches!(target, Target::Channel(_)) {
            text.push_str(&format!(
                "⚠ Alerts to {} are suspended: {} (they are kept and sent once it is fixed)\n",
                describe(&target),
                broken.reason
            ));
        }
    }
    Reply::private(text)
}

pub(crate) fn source_line(s: &SourceRow) -> String {
    let origin = if s.guild_id.is_some() {
        ""
    } else {
        " (config)"
    };
    let state = match (s.state, &s.paused_reason, &s.last_error) {
        (SourceState::Paused, Some(reason), _) => format!("⛔ paused: {reason}"),
        (SourceState::Backoff, _, Some(err)) => format!("⚠ failing: {err}"),
        (SourceState::Damaged, _, Some(err)) => format!("⚠ damaged: {err}"),
        (state, _, _) => state.to_string(),
    };
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(|| "—".to_string(), |t| format!("<t:{}:R>", t.timestamp()))
    };
    // The URL as stored: a shorthand (`reddit:r/rust`) shows as the feed it expanded to.
    format!(
        "• **{}**{origin} · {state} · {} · {} · <{}>\n",
        escape_markdown(&s.name),
        when(s.last_success_at),
        when(s.next_check_at),
        s.url.replace(['<', '>', '\n'], "")
    )
}

/// Runs a `/sources` sub-command.
pub async fn run(caller: &Caller<'_>, request: Sources) -> Result<Reply, CommandError> {
    let store = caller.store();
    match request {
        Sources::List => Ok(list_reply(&store.server_sources(&caller.guild).await?)),
        Sources::Add(add) => self::add(caller, add).await,
        Sources::Import(file) => import(caller, &file).await,
        Sources::Export => {
            let sources = store
                .export_sources(&ImportScope::Server(caller.guild.clone()))
                .await?;
            Ok(export_reply(&sources))
        }
        Sources::Remove { name } => {
            let outcome = store.remove_server_source(&caller.guild, &name).await?;
            Ok(removed_reply(&outcome, &name)?)
        }
    }
}

async fn add(caller: &Caller<'_>, request: AddSource) -> Result<Reply, CommandError> {
    let store = caller.store();
    let count = store.count_server_sources(&caller.guild).await?;
    check_room(count, caller.state.discord.max_sources_per_server)?;
    let app = caller.app();
    // A shorthand (`reddit:r/rust`) is stored as the feed URL it stands for.
    let asked = resolve(
        &app.ctx.fetcher,
        &request.url,
        &Bases::from_env(),
        AddressPolicy::PublicOnly,
        caller.now,
    )
    .await
    .map_err(|e| UserError::NotAFeed {
        reason: e.to_string(),
    })?
    .unwrap_or_else(|| request.url.clone());
    let found = probe(
        &app.ctx.fetcher,
        &asked,
        AddressPolicy::PublicOnly,
        caller.now,
    )
    .await
    .map_err(|e| refusal(&asked, &e))?;
    let url = found.location(&asked);
    let schedule = request
        .schedule
        .unwrap_or_else(|| app.config.default_schedule.clone());
    let id = store
        .add_server_source(&caller.guild, &request.name, &url, &schedule, caller.now)
        .await?
        .map_err(|AddSourceError::NameTaken| UserError::SourceNameTaken {
            name: request.name.clone(),
        })?;
    app.schedule_source(id);
    let mut reply = added_reply(&request.name, found.feed.items.len());
    if found.discovered.is_some() {
        reply.content.push_str(&format!(
            "\nThat page is not a feed; its feed <{url}> was added."
        ));
    }
    Ok(reply)
}

/// The hosts an uploaded file may be downloaded from: Discord's CDN, or the host of a
/// non-default `discord.api_base_url` (a test's fake Discord). Anything else is refused, so
/// a crafted interaction cannot make the bot fetch an internal address.
pub fn attachment_host_allowed(url: &str, api_base_url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let discord = matches!(host, "cdn.discordapp.com" | "media.discordapp.net");
    let configured = url::Url::parse(api_base_url).ok().is_some_and(|base| {
        base.host_str() != Some("discord.com")
            && base.host_str() == Some(host)
            && base.port_or_known_default() == url.port_or_known_default()
    });
    (discord && url.scheme() == "https") || configured
}

/// The import report as the admin reads it: counts, then each feed not added and why.
pub fn import_reply(plan: &ImportPlan) -> Reply {
    let mut text = format!(
        "Imported **{}** sources ({} skipped, {} refused). They are checked at their first poll; `/sources list` shows their health.\n",
        plan.add.len(),
        plan.skipped.len(),
        plan.refused.len()
    );
    for s in &plan.add {
        text.push_str(&format!("+ {}\n", escape_markdown(&s.name)));
    }
    for s in plan.skipped.iter().chain(&plan.refused) {
        let title = if s.title.is_empty() { &s.url } else { &s.title };
        text.push_str(&format!(
            "– {} <{}>: {}\n",
            escape_markdown(title),
            s.url.replace('>', "%3E"),
            s.reason
        ));
    }
    Reply::private(text)
}

/// `/sources export`: the sources as an OPML attachment.
pub fn export_reply(sources: &[opml::ExportSource]) -> Reply {
    let doc = opml::write("newshound sources", sources);
    Reply::private(format!(
        "{} sources, as OPML (import it into any feed reader or another newshound).",
        sources.len()
    ))
    .with_file("newshound-sources.opml", doc.into_bytes())
}

async fn import(caller: &Caller<'_>, file: &AttachmentRef) -> Result<Reply, CommandError> {
    let filename: String = file
        .filename
        .chars()
        .filter(|c| *c != '`')
        .take(100)
        .collect();
    let refused = |reason: String| UserError::OpmlRefused {
        filename: filename.clone(),
        reason,
    };
    if file.size > MAX_OPML_BYTES as u64 {
        return Err(refused(
            opml::OpmlError::TooLarge {
                bytes: usize::try_from(file.size).unwrap_or(usize::MAX),
                limit: MAX_OPML_BYTES,
            }
            .to_string(),
        )
        .into());
    }
    if !attachment_host_allowed(&file.url, &caller.state.discord.api_base_url) {
        return Err(UserError::AttachmentUnreadable {
            reason: "it is not on Discord's CDN".into(),
        }
        .into());
    }
    let bytes = download(&file.url, MAX_OPML_BYTES)
        .await
        .map_err(|reason| UserError::AttachmentUnreadable { reason })?;
    let feeds = opml::parse(&bytes).map_err(|e| refused(e.to_string()))?;
    let store = caller.store();
    let scope = ImportScope::Server(caller.guild.clone());
    let context = store.import_context(&scope).await?;
    let limit = caller.state.discord.max_sources_per_server;
    let existing = opml::Existing {
        urls: context.urls,
        names: context.names,
        room: Some(limit.saturating_sub(context.own)),
    };
    let plan = opml::plan_import(&feeds, &existing, |url| {
        crate::sources::address::check_url(url).map_err(|e| e.to_string())
    });
    let app = caller.app();
    let ids = store
        .import_sources(
            &scope,
            plan.add.clone(),
            &app.config.default_schedule,
            caller.now,
        )
        .await?;
    for id in ids {
        app.schedule_source(id);
    }
    Ok(import_reply(&plan))
}

/// Downloads an attachment, at most `cap` bytes, no redirects.
async fn download(url: &str, cap: usize) -> Result<Vec<u8>, String> {
    use futures::StreamExt as _;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("Discord answered {}", response.status()));
    }
    let mut bytes = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.without_url().to_string())?;
        if bytes.len() + chunk.len() > cap {
            return Err(format!("it is larger than {cap} bytes"));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

pub fn definition() -> CreateCommand {
    let name_length = option_length(MAX_SOURCE_NAME);
    CreateCommand::new("sources")
        .description("Manage this server's news sources")
        .dm_permission(false)
        .default_member_permissions(Permissions::MANAGE_GUILD)
        .add_option(CreateCommandOption::new(
            CommandOptionType::SubCommand,
            "list",
            "List sources and their health",
        ))
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "add",
                "Add an RSS, Atom or JSON feed",
            )
            .add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    "url",
                    "The feed's URL (http or https)",
                )
                .required(true)
                .max_length(option_length(MAX_URL)),
            )
            .add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    "name",
                    "A short name shown in alerts",
                )
                .required(true)
                .max_length(name_length),
            )
            .add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    "schedule",
                    "Cron schedule with seconds, e.g. 0 */10 * * * * (default: every 5 minutes)",
                )
                .max_length(100),
            ),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "remove",
                "Remove a source added in this server",
            )
            .add_sub_option(
                CreateCommandOption::new(CommandOptionType::String, "name", "The source's name")
                    .required(true)
                    .max_length(name_length),
            ),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "import",
                "Add every feed of an OPML file (from any feed reader)",
            )
            .add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::Attachment,
                    "file",
                    "The .opml file your feed reader exported",
                )
                .required(true),
            ),
        )
        .add_option(CreateCommandOption::new(
            CommandOptionType::SubCommand,
            "export",
            "This server's sources as an OPML file",
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::commands::tests::s;
    use crate::discord::commands::OptValue;
    use crate::sources::parse::ParseError;
    use crate::store::BrokenTarget;

    fn add_options(pairs: &[(&str, &str)]) -> Vec<(String, OptValue)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_string(), s(v)))
            .collect()
    }

    fn parse_add_with(pairs: &[(&str, &str)]) -> Result<Sources, UserError> {
        parse("add", Options(&add_options(pairs)))
    }

    fn source(name: &str, guild: Option<&str>, state: &str) -> SourceRow {
        SourceRow {
            guild_id: guild.map(Into::into),
            state: SourceState::parse(state),
            last_error: Some("HTTP 500 from x.test/feed".into()),
            paused_reason: Some("HTTP 410 Gone".into()),
            ..SourceRow::sample(name)
        }
    }

    #[test]
    fn add_cleans_the_name_and_keeps_the_schedule() {
        let parsed = parse_add_with(&[
            ("url", " https://x.test/f "),
            ("name", " Tech\u{200B} wire "),
            ("schedule", "0 */10 * * * *"),
        ]);
        assert_eq!(
            parsed,
            Ok(Sources::Add(AddSource {
                url: "https://x.test/f".into(),
                name: "Tech wire".into(),
                schedule: Some("0 */10 * * * *".into()),
            }))
        );
    }

    #[test]
    fn add_checks_schedule() {
        let err = parse_add_with(&[
            ("url", "https://x.test/f"),
            ("name", "X"),
            ("schedule", "*/5 * * * *"),
        ])
        .unwrap_err();
        assert!(err.to_string().starts_with("`*/5 * * * *`: "), "{err}");
        assert!(err.to_string().contains("try \"0 */5 * * * *\""), "{err}");
    }

    #[test]
    fn add_refuses_bad_names_and_urls() {
        assert_eq!(
            parse_add_with(&[("url", "https://x.test/f")])
                .unwrap_err()
                .to_string(),
            format!("Missing `name`. Try `{ADD_EXAMPLE}`.")
        );
        let empty =
            parse_add_with(&[("url", "https://x.test/f"), ("name", " \u{200B}")]).unwrap_err();
        assert_eq!(
            empty.to_string(),
            "Give the source a name of 1 to 100 characters, e.g. `name: Tech wire`."
        );
        let markup =
            parse_add_with(&[("url", "https://x.test/f"), ("name", "<@1> news")]).unwrap_err();
        assert_eq!(
            markup.to_string(),
            "Source names cannot contain `@` or `<`; use plain words, e.g. `name: Tech wire`."
        );
        let long_url = format!("https://x.test/{}", "a".repeat(MAX_URL));
        let err = parse_add_with(&[("url", &long_url), ("name", "X")]).unwrap_err();
        assert_eq!(err.to_string(), "The URL is longer than 2000 characters.");
    }

    #[test]
    fn remove_needs_a_name() {
        assert_eq!(
            parse("remove", Options(&[])).unwrap_err().to_string(),
            "Missing `name`. Try `/sources remove name: Tech wire`."
        );
        let options = add_options(&[("name", " Wire ")]);
        assert_eq!(
            parse("remove", Options(&options)),
            Ok(Sources::Remove {
                name: "Wire".into()
            })
        );
    }

    #[test]
    fn attachments_come_only_from_discord_or_the_configured_api_host() {
        let real = "https://discord.com";
        assert!(attachment_host_allowed(
            "https://cdn.discordapp.com/attachments/1/2/feeds.opml",
            real
        ));
        assert!(!attachment_host_allowed(
            "http://cdn.discordapp.com/attachments/1/2/feeds.opml",
            real
        ));
        assert!(!attachment_host_allowed(
            "http://127.0.0.1:8080/feeds.opml",
            real
        ));
        assert!(!attachment_host_allowed(
            "https://discord.com.evil.example/x",
            real
        ));
        let fake = "http://127.0.0.1:4321";
        assert!(attachment_host_allowed(
            "http://127.0.0.1:4321/attachments/x.opml",
            fake
        ));
        assert!(!attachment_host_allowed(
            "http://127.0.0.1:9999/x.opml",
            fake
        ));
        assert!(!attachment_host_allowed("not a url", fake));
    }

    #[test]
    fn import_without_a_file_says_what_to_type() {
        assert_eq!(
            parse("import", Options(&[])).unwrap_err().to_string(),
            "Missing `file`. Try `/sources import file: subscriptions.opml`."
        );
    }

    #[test]
    fn export_reply_attaches_an_opml_file_that_parses_back() {
        let reply = export_reply(&[opml::ExportSource {
            name: "Tech *Wire*".into(),
            url: "https://tech.example/feed".into(),
        }]);
        let file = reply.file.expect("an attachment");
        assert_eq!(file.filename, "newshound-sources.opml");
        let back = opml::parse(&file.bytes).unwrap();
        assert_eq!(back[0].title, "Tech *Wire*");
        assert!(reply.ephemeral && reply.content.starts_with("1 sources"));
    }

    #[test]
    fn a_full_server_is_refused() {
        assert_eq!(check_room(49, 50), Ok(()));
        assert_eq!(
            check_room(50, 50).unwrap_err().to_string(),
            "This server has 50 sources; the limit is 50. Remove one with `/sources remove` first."
        );
    }

    #[test]
    fn a_page_with_several_feeds_is_refused_with_the_list_to_pick_from() {
        use crate::sources::discover::DiscoveryError;
        let feeds = [
            "https://x.test/rss",
            "https://x.test/atom.xml",
            "https://x.test/feed.json",
        ]
        .iter()
        .map(|u| url::Url::parse(u).unwrap())
        .collect();
        let text = refusal(
            "https://x.test/",
            &ProbeError::Discovery(DiscoveryError::Several { feeds }),
        )
        .to_string();
        assert_eq!(
            text,
            "Not added: this page has 3 feeds: <https://x.test/rss>, <https://x.test/atom.xml>, \
             <https://x.test/feed.json>; add one of them"
        );
        let none = refusal(
            "https://x.test/news",
            &ProbeError::Discovery(DiscoveryError::NoFeed {
                page: url::Url::parse("https://x.test/news").unwrap(),
            }),
        )
        .to_string();
        assert!(
            none.starts_with("Not added: not a feed: https://x.test/news is a web page"),
            "{none}"
        );
        assert!(none.contains("kind = \"html\""), "{none}");
    }

    #[test]
    fn refusals_tell_fetch_failures_from_documents_that_are_not_feeds() {
        let not_a_feed = refusal(
            "https://x.test/page",
            &ProbeError::NotAFeed(ParseError::Empty),
        );
        assert!(
            not_a_feed.to_string().starts_with("Not added: empty body"),
            "{not_a_feed}"
        );
        assert_eq!(
            refusal("u", &ProbeError::NotModified).to_string(),
            "The server answered 304 Not Modified to a first request; that is not a feed."
        );
        assert_eq!(
            refusal("u", &ProbeError::ParserCrashed).to_string(),
            "Not added: the feed parser crashed on that document"
        );
        let unreachable = UserError::Unreachable {
            url: "http://127.0.0.1/`x`".into(),
            reason: "blocked: 127.0.0.1 is loopback".into(),
        };
        assert_eq!(
            unreachable.to_string(),
            "Could not add `http://127.0.0.1/x`: blocked: 127.0.0.1 is loopback"
        );
    }

    #[test]
    fn added_and_removed_replies() {
        assert_eq!(
            added_reply("Tech_Wire", 12).content,
            "Added **Tech\\_Wire** (12 items now). Items already in the feed are recorded as seen; new ones will alert this server's subscribers."
        );
        assert_eq!(
            removed_reply(&RemoveSource::Removed, "Wire")
                .unwrap()
                .content,
            "Removed `Wire`."
        );
        assert_eq!(
            removed_reply(&RemoveSource::FromConfig, "Wire").unwrap_err().to_string(),
            "`Wire` comes from the bot's config file and feeds every server; only the bot's operator can remove it."
        );
        assert_eq!(
            removed_reply(&RemoveSource::NotFound, "Wire")
                .unwrap_err()
                .to_string(),
            "No source named `Wire` in this server. `/sources list` shows them."
        );
        assert_eq!(
            UserError::SourceNameTaken {
                name: "Wire".into()
            }
            .to_string(),
            "A source named `Wire` already exists here. Pick another name."
        );
    }

    #[test]
    fn list_shows_state_origin_and_suspended_channels() {
        let view = ServerSources {
            sources: vec![
                source("Wire", Some("1"), "ok"),
                source("Gone", None, "paused"),
                source("Flaky", Some("1"), "backoff"),
            ],
            suspended: vec![
                BrokenTarget {
                    target: "channel:5".into(),
                    reason: "missing permissions".into(),
                    since: None,
                    probed_at: None,
                },
                BrokenTarget {
                    target: "dm:3".into(),
                    reason: "DMs closed".into(),
                    since: None,
                    probed_at: None,
                },
            ],
        };
        assert_eq!(
            list_reply(&view).content,
            "**Sources** (state · last success · next check · feed)\n\
             • **Wire** · ok · — · — · <https://x.test/feed>\n\
             • **Gone** (config) · ⛔ paused: HTTP 410 Gone · — · — · <https://x.test/feed>\n\
             • **Flaky** · ⚠ failing: HTTP 500 from x.test/feed · — · — · <https://x.test/feed>\n\
             ⚠ Alerts to <#5> are suspended: missing permissions (they are kept and sent once it is fixed)\n"
        );
    }

    #[test]
    fn empty_list_says_how_to_add_one() {
        let view = ServerSources {
            sources: Vec::new(),
            suspended: Vec::new(),
        };
        assert!(list_reply(&view)
            .content
            .ends_with("No sources yet. Add one with `/sources add url: https://example.com/feed.xml name: Example`.\n"));
    }
}
