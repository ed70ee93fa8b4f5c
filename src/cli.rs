//! The command line: `run`, `once`, `check-config`, `fetch`, `sources` (health, OPML import
//! and export).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::app::{sources_table, App, Compile};
use crate::config::{Config, LogFormat};
use crate::core::dedup::{guids_usable, item_keys};
use crate::core::opml::{plan_import, report, Existing};
use crate::core::summary::summarize;
use crate::delivery::{ConsoleSink, OutputFormat};
use crate::ops::{self, http::Health};
use crate::sources::fetch::{AddressPolicy, FetchSettings, Fetcher};
use crate::sources::probe::{probe, verdict};
use crate::sources::shorthand::{is_shorthand, resolve, Bases};
use crate::store::opml::ImportScope;
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "newshound",
    version,
    about = "Keyword news alerts: watches feeds, matches subscriptions, delivers alerts to Discord or the console."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Poll every source on its schedule until SIGINT/SIGTERM. Delivers to Discord when
    /// DISCORD_TOKEN is set, else prints alerts to the console.
    Run {
        /// The TOML config file.
        #[arg(long, short, env = "NEWSHOUND_CONFIG")]
        config: PathBuf,
        /// Print alerts instead of posting them (`text`, or `json`: one JSON object per alert
        /// per line, as `once --output json`). Without DISCORD_TOKEN alerts are printed as
        /// `text` anyway; with it, this refuses to start rather than silently not posting.
        #[arg(long, value_enum)]
        output: Option<OutputFormat>,
    },
    /// One pass over every source (fetch, dedup, match, deliver to the console), then exit.
    Once {
        #[arg(long, short, env = "NEWSHOUND_CONFIG")]
        config: PathBuf,
        /// `text`: a readable block per alert; `json`: one JSON object per alert per line.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
        /// Also poll sources that are backing off or asked to wait.
        #[arg(long)]
        force: bool,
    },
    /// Validate the config and exit 0, or list every problem and exit 1.
    CheckConfig {
        #[arg(long, short, env = "NEWSHOUND_CONFIG")]
        config: PathBuf,
    },
    /// Fetch and parse one source and print its items as newshound sees them. Changes nothing.
    Fetch {
        /// An http(s) URL or a local file path.
        url_or_path: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Copy a SQLite installation (sources, subscriptions, member settings, seen-item memory,
    /// digests, the pending outbox) into an empty PostgreSQL database, and report the counts.
    Migrate {
        /// The SQLite file (`storage.path`).
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database: postgres://USER@HOST:PORT/DATABASE.
        #[arg(long, env = "NEWSHOUND_DATABASE_URL")]
        to: String,
        /// Empty the target first (everything in it is deleted) instead of refusing one that
        /// holds rows.
        #[arg(long)]
        replace: bool,
    },
    /// Show every source's health: state, last success, next check, last error. With
    /// `import` / `export`: read or write the sources as OPML.
    Sources {
        #[command(subcommand)]
        action: Option<SourcesAction>,
        /// The TOML config file (required; also after `import` / `export`).
        #[arg(long, short, env = "NEWSHOUND_CONFIG", global = true)]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum SourcesAction {
    /// Add every feed of an OPML file (folders flattened) as a source of every server, stored
    /// in the database (not the config). Duplicates are skipped; nothing is fetched now.
    Import {
        /// The .opml file, as exported by a feed reader.
        file: PathBuf,
    },
    /// Write every active http(s) source as OPML 2.0.
    Export {
        /// Write here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// `fetch --selector ITEMS [--title ...]`: preview a page as `kind = "html"` would read it.
#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    /// Read the page as a list: the CSS selector of one element per item (`[sources.select] items`).
    #[arg(long)]
    selector: Option<String>,
    /// With --selector: the title inside each item (default: its first heading).
    #[arg(long, requires = "selector")]
    title: Option<String>,
    /// With --selector: the element whose href is the item's link (default: its first <a href>).
    #[arg(long, requires = "selector")]
    link: Option<String>,
    /// With --selector: the summary inside each item.
    #[arg(long, requires = "selector")]
    summary: Option<String>,
    /// With --selector: the date (its datetime attribute, else its text).
    #[arg(long, requires = "selector")]
    date: Option<String>,
    /// With --selector: the image (its src).
    #[arg(long, requires = "selector")]
    image: Option<String>,
}

impl SelectArgs {
    fn text(self) -> Option<crate::sources::html_list::SelectText> {
        Some(crate::sources::html_list::SelectText {
            items: self.selector?,
            title: self.title,
            link: self.link,
            summary: self.summary,
            date: self.date,
            image: self.image,
        })
    }
}

fn init_logging(default_level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NEWSHOUND_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or journald gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

/// The log format: `NEWSHOUND_LOG_FORMAT` wins, else the config's `[log] format` (read
/// before the config is validated, so logging is set up first; a bad value there is reported
/// by validation), else text.
fn log_format(env: Option<&str>, config: Option<&std::path::Path>) -> LogFormat {
    match env.map(str::trim) {
        Some("json") => return LogFormat::Json,
        Some("text") => return LogFormat::Text,
        Some(other) if !other.is_empty() => {
            eprintln!(
                "warning: NEWSHOUND_LOG_FORMAT = \"{other}\" is not \"text\" or \"json\"; using text"
            );
            return LogFormat::Text;
        }
        _ => {}
    }
    let from_file = config
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|table| {
            table
                .get("log")
                .and_then(|log| log.get("format"))
                .and_then(toml::Value::as_str)
                .map(str::to_string)
        });
    if from_file.as_deref() == Some("json") {
        LogFormat::Json
    } else {
        LogFormat::Text
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Run { .. } => "info",
        _ => "warn",
    };
    let config_path = match &cli.command {
        Command::Run { config, .. }
        | Command::Once { config, .. }
        | Command::CheckConfig { config } => Some(config.as_path()),
        Command::Sources { config, .. } => config.as_deref(),
        Command::Fetch { .. } | Command::Migrate { .. } => None,
    };
    let format = log_format(
        std::env::var("NEWSHOUND_LOG_FORMAT").ok().as_deref(),
        config_path,
    );
    init_logging(default_level, format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::CheckConfig { config } => match Config::load(&config) {
            Ok(c) => {
                println!(
                    "{}: ok ({} sources, {} subscriptions)",
                    config.display(),
                    c.sources.len(),
                    c.subscriptions.len()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprint!("{e}");
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Once {
            config,
            output,
            force,
        } => {
            // Nothing new anywhere (every source unchanged) means nothing to match: the
            // subscriptions are loaded only when a poll has items for them.
            let app = App::start_with(load(&config)?, Compile::WhenNeeded).await?;
            let sink = ConsoleSink::new(std::io::stdout(), output);
            let report = app.once(&sink, force).await?;
            eprintln!("{}", report.summary());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { config, output } => run_command(&config, output).await,
        Command::Migrate { from, to, replace } => migrate_command(from, to, replace).await,
        Command::Sources { action, config } => {
            let config = config.ok_or_else(|| {
                anyhow::anyhow!(
                    "`newshound sources` needs the config: add --config PATH (or set NEWSHOUND_CONFIG)"
                )
            })?;
            let config = Arc::new(load(&config)?);
            let store = crate::app::open_store(&config).await?;
            store.sync_config(Arc::clone(&config), Utc::now()).await?;
            match action {
                None => {
                    let sources = store.active_sources().await?;
                    print!("{}", sources_table(&sources));
                    Ok(ExitCode::SUCCESS)
                }
                Some(SourcesAction::Import { file }) => {
                    import_command(&store, &config, &file).await
                }
                Some(SourcesAction::Export { output }) => {
                    export_command(&store, output.as_deref()).await
                }
            }
        }
        Command::Fetch {
            url_or_path,
            output,
            select,
        } => fetch_command(&url_or_path, output, select.text()).await,
    }
}

/// `newshound run`: Discord when a token is set, else alerts printed; the operations listener
/// beside either when `[http] listen` is set.
/// `newshound migrate`: SQLite file -> PostgreSQL, counts per table on stdout.
async fn migrate_command(from: PathBuf, to: String, replace: bool) -> anyhow::Result<ExitCode> {
    use crate::store::{check_postgres_url, redact_url, Database};
    if !from.is_file() {
        anyhow::bail!(
            "--from {}: no such file — give the SQLite database (storage.path) to copy",
            from.display()
        );
    }
    check_postgres_url(&to).map_err(|fix| anyhow::anyhow!("--to {} {fix}", redact_url(&to)))?;
    let source = Store::connect(Database::File(from.clone())).await?;
    let target = Store::connect(Database::Postgres(to.clone())).await?;
    let copied =
        tokio::task::spawn_blocking(move || crate::store::migrate::copy(&source, &target, replace))
            .await
            .map_err(|e| anyhow::anyhow!("the copy stopped: {e}"))??;
    let total: usize = copied.iter().map(|c| c.rows).sum();
    for c in &copied {
        println!("{:<16} {:>9}", c.table, c.rows);
    }
    println!(
        "copied {total} rows from {} to {}",
        from.display(),
        redact_url(&to)
    );
    Ok(ExitCode::SUCCESS)
}

async fn run_command(
    config: &std::path::Path,
    output: Option<OutputFormat>,
) -> anyhow::Result<ExitCode> {
    let config = load(config)?;
    let token = crate::discord::token(&config.discord, std::env::var("DISCORD_TOKEN").ok())?;
    if token.is_some() && output.is_some() {
        anyhow::bail!(
            "--output prints alerts instead of posting them, but a Discord token is set \
             (DISCORD_TOKEN or discord.token_file); unset it to print, or drop --output to post"
        );
    }
    let http = config.http.clone();
    let http_token = ops::http::effective_token(&http, std::env::var("NEWSHOUND_HTTP_TOKEN").ok());
    if let Some(reason) = ops::http::refuse_reason(&http, http_token.as_deref()) {
        anyhow::bail!("{reason}");
    }
    let app = Arc::new(App::start(config).await?);
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let health = Arc::new(Health::default());
    let listener = ops::http::start(
        &http,
        app.store().clone(),
        Arc::clone(&health),
        app.push_inbox(),
        cancel.clone(),
    )
    .await?;
    let result = if let Some(token) = token {
        crate::discord::run(app, token, health, cancel.clone()).await
    } else {
        tracing::info!("no DISCORD_TOKEN: alerts are printed here");
        let format = output.unwrap_or(OutputFormat::Text);
        let sink = Arc::new(ConsoleSink::new(std::io::stdout(), format));
        app.run(sink, cancel.clone()).await
    };
    cancel.cancel();
    if let Some(listener) = listener {
        let _ = listener.await;
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for SIGTERM");
                        let _ = tokio::signal::ctrl_c().await;
                        cancel.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("signal received; finishing in-flight work");
        cancel.cancel();
    });
}

/// The page at `location` read with `select` (`fetch --selector`).
async fn read_page_command(
    fetcher: &Fetcher,
    location: &str,
    select: &crate::sources::html_list::SelectText,
) -> anyhow::Result<crate::core::model::Feed> {
    use crate::sources::fetch::{FetchOutcome, Validators};
    let selectors = crate::sources::html_list::compile(select).map_err(|problems| {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| {
                format!(
                    "--{} \"{}\": {}",
                    if p.key == "items" { "selector" } else { p.key },
                    p.value,
                    p.problem
                )
            })
            .collect();
        anyhow::anyhow!("{}", lines.join("\n"))
    })?;
    let outcome = fetcher
        .fetch(
            location,
            &Validators::default(),
            AddressPolicy::AllowPrivate,
            Utc::now(),
        )
        .await?;
    let FetchOutcome::Fetched(fetched) = outcome else {
        anyhow::bail!("the server answered 304 Not Modified to a first request");
    };
    crate::sources::html_list::read_fetched(
        fetched.body,
        fetched.content_type,
        fetched.final_url,
        Arc::new(selectors),
        None,
        0,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn fetch_command(
    location: &str,
    output: OutputFormat,
    select: Option<crate::sources::html_list::SelectText>,
) -> anyhow::Result<ExitCode> {
    let fetcher = Fetcher::new(FetchSettings::default())?;
    let mut location = if location.contains("://") || is_shorthand(location) {
        location.to_string()
    } else {
        std::path::absolute(location)
            .with_context(|| format!("bad path {location}"))?
            .display()
            .to_string()
    };
    if let Some(expanded) = resolve(
        &fetcher,
        &location,
        &Bases::from_env(),
        AddressPolicy::AllowPrivate,
        Utc::now(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        eprintln!("note: {location} is {expanded}");
        location = expanded;
    }
    let feed = if let Some(select) = &select {
        read_page_command(&fetcher, &location, select).await?
    } else {
        let found = probe(&fetcher, &location, AddressPolicy::AllowPrivate, Utc::now())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(discovered) = &found.discovered {
            // stderr, so `--output json` stays one item per line.
            eprintln!(
                "note: {} is a web page; its feed is {} (use that URL as the source)",
                discovered.page, discovered.feed
            );
        }
        found.feed
    };
    if let Some(damaged) = &feed.damaged {
        // stderr, so `--output json` stays one item per line.
        eprintln!("warning: {damaged}");
    }
    let use_guid = guids_usable(&feed.items);
    let mut out = std::io::stdout().lock();
    if output == OutputFormat::Text {
        writeln!(out, "{}", verdict(&feed.title, feed.items.len()))?;
    }
    for item in &feed.items {
        let id = item_keys(item, use_guid).primary;
        let summary = summarize(&item.summary_html, &item.content_html, 300);
        let published = item
            .published
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        match output {
            OutputFormat::Json => writeln!(
                out,
                "{}",
                serde_json::json!({"id": id, "title": item.title, "link": item.link, "published": published, "summary": summary, "image": item.image})
            )?,
            OutputFormat::Text => writeln!(
                out,
                "\n{}\n  id: {id}\n  link: {}\n  published: {}\n  {summary}",
                item.title,
                item.link.as_deref().unwrap_or("-"),
                published.as_deref().unwrap_or("-")
            )?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sources import FILE`: plans against every global source, adds in one transaction, prints
/// the report. Exit 1 when the file itself was refused (nothing added).
async fn import_command(
    store: &Store,
    config: &Config,
    file: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let cap = crate::core::opml::MAX_OPML_BYTES;
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot open the OPML file {}", file.display()))?
        .len();
    let parsed = if size > cap as u64 {
        Err(crate::core::opml::OpmlError::TooLarge {
            bytes: usize::try_from(size).unwrap_or(usize::MAX),
            limit: cap,
        })
    } else {
        crate::core::opml::parse(&read_capped(file, cap)?)
    };
    let feeds = match parsed {
        Ok(feeds) => feeds,
        Err(e) => {
            eprintln!("error: {}: {e}; nothing was added", file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let scope = ImportScope::Global;
    let context = store.import_context(&scope).await?;
    let existing = Existing {
        urls: context.urls,
        names: context.names,
        room: None,
    };
    let allow_private = config.fetch.allow_private_addresses;
    let plan = plan_import(&feeds, &existing, |url| {
        if allow_private {
            Ok(())
        } else {
            crate::sources::address::check_url(url)
                .map_err(|e| format!("{e} (fetch.allow_private_addresses is false in the config)"))
        }
    });
    store
        .import_sources(
            &scope,
            plan.add.clone(),
            &config.default_schedule,
            Utc::now(),
        )
        .await?;
    print!("{}", report(&plan));
    if !plan.add.is_empty() {
        println!(
            "Imported sources are polled from the next `newshound run` or `once` (a running `run` picks them up when restarted); `newshound sources` shows their health after the first poll."
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `sources export [--output FILE]`.
async fn export_command(
    store: &Store,
    output: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let sources = store.export_sources(&ImportScope::Global).await?;
    let doc = crate::core::opml::write("newshound sources", &sources);
    if let Some(path) = output {
        std::fs::write(path, doc).with_context(|| format!("cannot write {}", path.display()))?;
    } else {
        std::io::stdout().lock().write_all(doc.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads at most `cap + 1` bytes, so a huge file is never loaded whole (the parser refuses
/// anything past `cap`).
fn read_capped(path: &std::path::Path, cap: usize) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open the OPML file {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}
