//! Wiring: builds the adapters once from the config, then runs one pass (`once`) or every
//! source on its schedule until cancelled (`run`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use futures::StreamExt as _;
use rand::Rng as _;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config};
use crate::core::model::{SourceId, SourceState};
use crate::delivery::{drain_outbox, DrainReport, Sink};
use crate::pipeline::{poll_source, PollContext, PollOutcome, PollReport, SubscriptionSet};
use crate::schedule::{jitter_bound, next_poll};
use crate::sources::fetch::{FetchSettings, Fetcher};
use crate::store::{SourceRow, Store};
use crate::subscriptions::{LoadedRows, Rejected, RowLoader, Scope};

/// The running application's shared parts.
pub struct App {
    pub config: Arc<Config>,
    pub ctx: Arc<PollContext>,
    /// While `run` is running: where to send the ids of sources added at run time.
    new_sources: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<SourceId>>>,
    /// Wakes the deliverer (new alerts, or a suspended target was fixed).
    deliver_now: Arc<Notify>,
    /// WebSub push (`[http] public_url`): the listener's end, and the queue `run` drains.
    push: Option<crate::push::PushInbox>,
    push_queue: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<crate::push::Pushed>>>,
    /// One poll or push of a source at a time: a push and a poll of the same items must not
    /// both decide they are new.
    source_locks:
        std::sync::Mutex<std::collections::HashMap<SourceId, Arc<tokio::sync::Mutex<()>>>>,
}

/// Opens the database the config names (`NEWSHOUND_DATABASE_URL` wins over `[storage] url`,
/// which wins over the SQLite file `[storage] path`) and migrates it.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let database = crate::store::Database::choose(
        &config.storage_path,
        config.storage_url.as_deref(),
        std::env::var("NEWSHOUND_DATABASE_URL").ok(),
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    tracing::info!(database = %database, "opening the database");
    Ok(Store::connect(database).await?)
}

/// The fetch settings the config asks for.
pub fn fetch_settings(config: &Config) -> FetchSettings {
    FetchSettings {
        timeout: config.fetch.timeout,
        connect_timeout: config.fetch.connect_timeout,
        max_body_bytes: config.fetch.max_body_bytes,
        max_redirects: config.fetch.max_redirects,
        per_host_concurrency: config.fetch.per_host_concurrency,
        concurrency: config.fetch.concurrency,
        reddit: crate::sources::reddit_auth::RedditCredentials::from_env(),
        ..FetchSettings::default()
    }
}

/// When [`App::start_with`] compiles the stored subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compile {
    /// Right away, in the background (`run`: the bot needs them for every poll).
    AtStart,
    /// When the first poll has new items to match (`once`: a cycle in which no source
    /// changed never loads them).
    WhenNeeded,
}

impl App {
    /// Opens the database, brings it in line with the config and compiles the subscriptions
    /// in the background.
    pub async fn start(config: Config) -> anyhow::Result<App> {
        Self::start_with(config, Compile::AtStart).await
    }

    /// [`App::start`], choosing when the subscriptions are compiled.
    pub async fn start_with(config: Config, compile: Compile) -> anyhow::Result<App> {
        let store = open_store(&config).await?;
        let config = Arc::new(config);
        let synced = Arc::clone(&config);
        store
            .sync_config(synced, Utc::now())
            .await
            .context("cannot record the configured sources in the database")?;
        let fetcher = Fetcher::new(fetch_settings(&config))?;
        let (ready_tx, ready_rx) = tokio::sync::watch::channel(false);
        let push_on = config.http.public_url.is_some() && config.http.listen.is_some();
        let push_wanted = Arc::new(Notify::new());
        let ctx = Arc::new(PollContext {
            store,
            fetcher,
            subscriptions: Arc::new(std::sync::RwLock::new(Arc::new(
                SubscriptionSet::new(Vec::new()).0,
            ))),
            subscriptions_ready: ready_rx,
            subscriptions_wanted: Arc::default(),
            summary_length: config.summary_length,
            allow_private_config_sources: config.fetch.allow_private_addresses,
            article_min_chars: config
                .sources
                .iter()
                .map(|s| (s.name.to_lowercase(), s.article_min_chars))
                .collect(),
            default_article_min_chars: config.article_min_chars,
            kinds: config
                .sources
                .iter()
                .filter_map(|s| Some((s.name.to_lowercase(), s.kind.clone()?)))
                .collect(),
            summarizer: config
                .summarizer
                .clone()
                .map(|c| crate::summarizer::AiSummarizer::new(c, reqwest::Client::new())),
            push: push_on,
            push_wanted: Arc::clone(&push_wanted),
        });
        let (push, push_queue) = if push_on {
            let (inbox, queue) = crate::push::channel(push_wanted);
            (Some(inbox), Some(queue))
        } else {
            (None, None)
        };
        let app = App {
            config,
            ctx,
            new_sources: std::sync::Mutex::new(None),
            deliver_now: Arc::new(Notify::new()),
            push,
            push_queue: std::sync::Mutex::new(push_queue),
            source_locks: std::sync::Mutex::default(),
        };
        // Compiling a million subscriptions takes seconds: the gateway, command registration
        // and fetching start meanwhile, and a poll waits for the set before it matches.
        let ctx = Arc::clone(&app.ctx);
        tokio::spawn(async move {
            if compile == Compile::WhenNeeded {
                ctx.subscriptions_wanted.notified().await;
            }
            loop {
                match reload(&ctx).await {
                    Ok(n) => {
                        tracing::info!(subscriptions = n, "subscriptions compiled");
                        let _ = ready_tx.send(true);
                        return;
                    }
                    Err(e) => {
                        tracing::error!("cannot load the subscriptions (retrying in 5 s): {e:#}");
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    }
                }
            }
        });
        Ok(app)
    }

    pub fn store(&self) -> &Store {
        &self.ctx.store
    }

    /// Brings the live subscription set in line with the stored subscriptions: the difference
    /// (by subscription id) is applied to the compiled set, so a `/subscribe` costs a compile
    /// of the recent changes, not of every subscription. More than
    /// `IncrementalMatcher::COMPACT_AFTER` changes at once compile everything; once that many
    /// piled up, a full rebuild runs in the background and is swapped in when done.
    pub async fn reload_subscriptions(&self) -> anyhow::Result<usize> {
        reload(&self.ctx).await
    }

    /// [`App::reload_subscriptions`] after a change to one member's subscriptions in one
    /// server (subscribe, unsubscribe, snooze, pause, resume): reads and compares only that
    /// member's rows, not every subscription.
    pub async fn reload_member(&self, guild_id: &str, user: &str) -> anyhow::Result<usize> {
        if user.is_empty() {
            return reload(&self.ctx).await;
        }
        reload_scope(&self.ctx, Some(guild_id.to_string()), user.to_string()).await
    }

    /// [`App::reload_subscriptions`] after a change to one server's channel-wide
    /// subscriptions (`/alerts add`, `/alerts remove`): reads only those rows.
    pub async fn reload_channel_subscriptions(&self, guild_id: &str) -> anyhow::Result<usize> {
        reload_scope(&self.ctx, Some(guild_id.to_string()), String::new()).await
    }

    /// Where the listener hands signed WebSub pushes; `None` when push is off.
    pub fn push_inbox(&self) -> Option<crate::push::PushInbox> {
        self.push.clone()
    }

    /// The lock that keeps one poll or push of `source` at a time.
    fn source_lock(&self, source: SourceId) -> Arc<tokio::sync::Mutex<()>> {
        match self.source_locks.lock() {
            Ok(mut locks) => Arc::clone(locks.entry(source).or_default()),
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Takes one signed push through the pipeline (after any poll of the same source).
    async fn ingest_pushed(&self, pushed: crate::push::Pushed) {
        // The lock first, then the row: a poll in progress may be the first one, and the
        // push must see the source as that poll leaves it.
        let lock = self.source_lock(pushed.source_id);
        let _held = lock.lock().await;
        let now = Utc::now();
        let source = match self.store().source(pushed.source_id).await {
            Ok(Some(source)) if !source.retired => source,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the pushed source; the next poll will read the feed");
                return;
            }
        };
        if let Err(e) = self.store().push_received(source.id, now).await {
            tracing::warn!(error = %e, "cannot count a push");
        }
        let report =
            crate::pipeline::ingest_push(&self.ctx, &source, pushed.body, pushed.content_type, now)
                .await;
        tracing::info!(source = %source.name, outcome = ?report.outcome, "pushed content ingested");
        if matches!(report.outcome, PollOutcome::Updated { alerts, .. } if alerts > 0) {
            self.deliver_now.notify_one();
        }
    }

    /// Asks the deliverer for a pass now (e.g. an admin fixed a suspended channel).
    pub fn wake_deliverer(&self) {
        self.deliver_now.notify_one();
    }

    /// Starts polling a source added at run time (from Discord). A no-op outside `run`.
    pub fn schedule_source(&self, id: SourceId) {
        if let Ok(guard) = self.new_sources.lock() {
            if let Some(tx) = guard.as_ref() {
                let _ = tx.send(id);
            }
        }
    }

    /// One pass: poll every due source (all of them with `force`), then deliver the outbox.
    pub async fn once<S: Sink>(&self, sink: &S, force: bool) -> anyhow::Result<OnceReport> {
        let now = Utc::now();
        let sources = self.store().active_sources().await?;
        let mut skipped = Vec::new();
        let mut due = Vec::new();
        for source in sources {
            match hold_reason(&source, now) {
                Some(reason) if !force => skipped.push((source.name.clone(), reason)),
                _ => due.push(source),
            }
        }
        let ctx = Arc::clone(&self.ctx);
        let polls: Vec<PollReport> = futures::stream::iter(due)
            .map(|source| {
                let ctx = Arc::clone(&ctx);
                async move { poll_source(&ctx, &source, Utc::now()).await }
            })
            .buffer_unordered(self.config.fetch.concurrency)
            .collect()
            .await;
        let drained = drain_outbox(self.store(), sink).await?;
        self.store()
            .prune(Utc::now(), self.config.retention_days)
            .await?;
        let held = self.store().held_summary().await?;
        Ok(OnceReport {
            polls,
            skipped,
            drained,
            held,
        })
    }

    /// Every source on its own schedule, until `cancel` fires; then in-flight polls finish,
    /// the outbox is drained one last time and this returns.
    pub async fn run<S: Sink + 'static>(
        self: Arc<Self>,
        sink: Arc<S>,
        cancel: CancellationToken,
    ) -> anyhow::Result<()> {
        let sources = self.store().active_sources().await?;
        let notify = Arc::clone(&self.deliver_now);
        let mut tasks = JoinSet::new();
        tracing::info!(sources = sources.len(), "newshound running; Ctrl-C to stop");
        for source in sources {
            tasks.spawn(source_loop(
                Arc::clone(&self),
                source.id,
                Arc::clone(&notify),
                cancel.clone(),
            ));
        }
        let push_tasks = self.start_push(&cancel);
        // Sources added at run time (`/sources add`) get a task of their own at once.
        let (added_tx, mut added) = tokio::sync::mpsc::unbounded_channel();
        if let Ok(mut guard) = self.new_sources.lock() {
            *guard = Some(added_tx);
        }
        let polls_done = {
            let mut polls = tasks;
            let cancel = cancel.clone();
            let notify = Arc::clone(&notify);
            let app = Arc::clone(&self);
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        Some(id) = added.recv() => {
                            polls.spawn(source_loop(Arc::clone(&app), id, Arc::clone(&notify), cancel.clone()));
                        }
                        Some(result) = polls.join_next(), if !polls.is_empty() => {
                            if let Err(e) = result {
                                tracing::error!(error = %e, "a source task stopped unexpectedly");
                            }
                        }
                    }
                }
                // In-flight polls finish; their transactions are whole.
                while let Some(result) = polls.join_next().await {
                    if let Err(e) = result {
                        tracing::error!(error = %e, "a source task stopped unexpectedly");
                    }
                }
                cancel.cancel();
                notify.notify_one();
            })
        };
        let app = Arc::clone(&self);
        let deliverer = tokio::spawn(async move {
            let retry = Duration::from_secs(30);
            // The first pass runs at once: alerts left pending by a previous run (a crash, a
            // Discord outage, a revoked token) must not wait for the next new item or `retry`.
            let mut first_pass = true;
            loop {
                let stop = if std::mem::take(&mut first_pass) {
                    false
                } else {
                    let wait = crate::delivery::next_pass_after(app.store(), retry).await;
                    tokio::select! {
                        () = cancel.cancelled() => true,
                        () = notify.notified() => false,
                        () = tokio::time::sleep(wait) => false,
                    }
                };
                match drain_outbox(app.store(), sink.as_ref()).await {
                    Ok(report) => {
                        if let Some(reason) = report.fatal {
                            tracing::error!(%reason, "delivery stopped; shutting down");
                            cancel.cancel();
                            return Some(reason);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "delivery pass failed"),
                }
                if stop {
                    return None;
                }
            }
        });
        polls_done.await.context("source tasks")?;
        if let Ok(mut guard) = self.new_sources.lock() {
            *guard = None;
        }
        for task in push_tasks {
            let _ = task.await;
        }
        let fatal = deliverer.await.context("deliverer task")?;
        self.store()
            .prune(Utc::now(), self.config.retention_days)
            .await?;
        if let Some(reason) = fatal {
            anyhow::bail!("{reason}");
        }
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

impl App {
    /// With push on: the maintainer (requests to hubs) and the consumer of pushed bodies.
    fn start_push(
        self: &Arc<Self>,
        cancel: &CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let (Some(public_url), Some(mut queue)) = (
            self.config.http.public_url.clone(),
            self.push_queue.lock().ok().and_then(|mut q| q.take()),
        ) else {
            return Vec::new();
        };
        let maintainer = tokio::spawn(crate::push::maintain(
            Arc::clone(&self.ctx),
            public_url,
            cancel.clone(),
        ));
        let app = Arc::clone(self);
        let cancel = cancel.clone();
        let consumer = tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    pushed = queue.recv() => match pushed {
                        Some(pushed) => app.ingest_pushed(pushed).await,
                        None => return,
                    },
                }
            }
        });
        vec![maintainer, consumer]
    }
}

/// Why a source is not polled now, if it is held back (paused, or backing off / asked to wait).
fn hold_reason(source: &SourceRow, now: chrono::DateTime<Utc>) -> Option<String> {
    if source.state == SourceState::Paused {
        return Some(format!(
            "paused: {}",
            source
                .paused_reason
                .as_deref()
                .unwrap_or("no reason recorded")
        ));
    }
    match source.next_check_at {
        Some(at) if at > now => Some(format!(
            "{} until {}",
            if source.state == SourceState::Backoff {
                "backing off"
            } else {
                "server asked to wait"
            },
            at.format("%Y-%m-%d %H:%M:%S UTC")
        )),
        _ => None,
    }
}

fn random_jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let millis = rand::thread_rng().gen_range(0..=max.as_millis().min(u128::from(u64::MAX)) as u64);
    Duration::from_millis(millis)
}

/// When the source loop polls `row` next. At start-up: at once for a source never polled (its
/// baseline must not miss what is published meanwhile), else with a little jitter; later: the
/// next cron tick. A back-off or a server's hint pushes either back. Jitter never exceeds a
/// tenth of the source's own interval (`schedule::jitter_bound`).
fn next_poll_at(
    row: &SourceRow,
    schedule: Option<&cron::Schedule>,
    first: bool,
    now: chrono::DateTime<Utc>,
    jitter_cap: Duration,
) -> chrono::DateTime<Utc> {
    let Some(schedule) = schedule else {
        return now + chrono::Duration::minutes(5);
    };
    let jitter = random_jitter(jitter_bound(schedule, now, jitter_cap));
    if first {
        let jitter = if row.initialized {
            jitter
        } else {
            Duration::ZERO
        };
        row.next_check_at.filter(|t| *t > now).unwrap_or(now)
            + chrono::Duration::from_std(jitter).unwrap_or_default()
    } else {
        next_poll(schedule, now, row.next_check_at, jitter)
    }
}

async fn source_loop(
    app: Arc<App>,
    source_id: SourceId,
    notify: Arc<Notify>,
    cancel: CancellationToken,
) {
    let mut first = true;
    let mut last_poll: Option<chrono::DateTime<Utc>> = None;
    loop {
        let row = match app.store().source(source_id).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(%source_id, error = %e, "cannot read the source; retrying in a minute");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(60)) => continue,
                }
            }
        };
        if row.state == SourceState::Paused || row.retired {
            tracing::warn!(source = %row.name, reason = ?row.paused_reason, "source paused; not polling");
            cancel.cancelled().await;
            return;
        }
        let now = Utc::now();
        let schedule = config::parse_schedule(&row.schedule)
            .or_else(|_| config::parse_schedule(&app.config.default_schedule))
            .ok();
        let mut at = next_poll_at(&row, schedule.as_ref(), first, now, app.config.fetch.jitter);
        first = false;
        if app.ctx.push {
            // While the hub pushes, polling is the slower safety net.
            let healthy = matches!(app.store().push_subscription(source_id).await, Ok(Some(p)) if p.is_healthy(now));
            if let Some(last) = last_poll.filter(|_| healthy) {
                let slower = last
                    + chrono::Duration::from_std(app.config.http.push_poll).unwrap_or_default();
                at = at.max(slower);
            }
        }
        let wait = (at - now).to_std().unwrap_or_default();
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        // Not cancellable: a poll that started finishes, so its transaction is whole.
        let lock = app.source_lock(source_id);
        let held = lock.lock().await;
        last_poll = Some(Utc::now());
        let report = poll_source(&app.ctx, &row, Utc::now()).await;
        drop(held);
        if matches!(report.outcome, PollOutcome::Updated { alerts, .. } if alerts > 0)
            || may_start_health_event(&row, &report.outcome)
        {
            notify.notify_one();
        }
    }
}

/// Whether a poll may have recorded a source-health event the deliverer should tell at once
/// (a failure, or the first success after failing); moves and silences wait for its next pass.
fn may_start_health_event(before: &SourceRow, outcome: &PollOutcome) -> bool {
    matches!(outcome, PollOutcome::Failed { .. })
        || matches!(before.state, SourceState::Backoff | SourceState::Paused)
}

/// What `once` did, for its stderr summary.
#[derive(Debug)]
pub struct OnceReport {
    pub polls: Vec<PollReport>,
    pub skipped: Vec<(String, String)>,
    pub drained: DrainReport,
    /// Items waiting for members' digests, and when the next digest is due.
    pub held: (usize, Option<chrono::DateTime<Utc>>),
}

impl OnceReport {
    /// One line per source, then the delivery totals.
    pub fn summary(&self) -> String {
        let mut lines: Vec<String> = self
            .polls
            .iter()
            .map(|p| match &p.outcome {
                PollOutcome::Unchanged => format!("{}: unchanged", p.name),
                PollOutcome::Updated {
                    items,
                    new,
                    alerts,
                    first_poll,
                    damaged,
                } => {
                    let first = if *first_poll {
                        " (first poll: recorded as seen)"
                    } else {
                        ""
                    };
                    let damaged = damaged
                        .as_ref()
                        .map(|d| format!(" — DAMAGED: {d}"))
                        .unwrap_or_default();
                    format!(
                        "{}: {items} items, {new} new, {alerts} alerts{first}{damaged}",
                        p.name
                    )
                }
                PollOutcome::Failed {
                    error,
                    retry_at,
                    paused,
                } => {
                    let next = if *paused {
                        " — paused".to_string()
                    } else {
                        retry_at.map_or_else(String::new, |t| {
                            format!(" — retrying after {}", t.format("%Y-%m-%d %H:%M:%S UTC"))
                        })
                    };
                    format!("{}: FAILED: {error}{next}", p.name)
                }
            })
            .collect();
        lines.extend(
            self.skipped
                .iter()
                .map(|(name, why)| format!("{name}: skipped ({why})")),
        );
        lines.sort();
        lines.push(format!(
            "delivered {} alerts{}",
            self.drained.delivered,
            if self.drained.failed > 0 {
                format!(", {} failed and stay queued", self.drained.failed)
            } else {
                String::new()
            }
        ));
        if let (n, Some(due)) = self.held {
            lines.push(format!(
                "{n} item{} held for digests; the next digest is due at {}",
                if n == 1 { "" } else { "s" },
                due.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        lines.join("\n")
    }
}

/// One reload at a time, so a set made from older rows never replaces a newer one.
static RELOAD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every active subscription, read in pages so that other users of the database connection
/// (the source tasks starting, a command) are not held up for the seconds a million rows
/// take. Not one snapshot: a change committed meanwhile is applied by the reload that follows
/// it (every change is followed by one).
async fn load_all(ctx: &PollContext) -> anyhow::Result<LoadedRows> {
    const PAGE: usize = 50_000;
    let mut loader = RowLoader::default();
    let mut after = i64::MIN;
    loop {
        let (back, last) = ctx
            .store
            .load_subscriptions_page(loader, after, PAGE)
            .await?;
        loader = back;
        match last {
            Some(last) => after = last,
            None => return Ok(loader.finish()),
        }
    }
}

/// The body of [`App::reload_subscriptions`] (also the initial load at start-up).
async fn reload(ctx: &Arc<PollContext>) -> anyhow::Result<usize> {
    let guard = RELOAD.lock().await;
    let loaded = load_all(ctx).await?;
    let current = ctx.subscriptions();
    let (set, rejected) = tokio::task::spawn_blocking(move || current.updated_from(loaded)).await?;
    Ok(install(ctx, guard, set, rejected))
}

/// The body of [`App::reload_member`] and [`App::reload_channel_subscriptions`]: reads only
/// the scope's rows and applies their difference; falls back to [`reload`] when the scope
/// alone cannot answer (see [`SubscriptionSet::updated_scope`]).
async fn reload_scope(
    ctx: &Arc<PollContext>,
    guild_id: Option<String>,
    user: String,
) -> anyhow::Result<usize> {
    let guard = RELOAD.lock().await;
    let loaded = ctx
        .store
        .load_scope_subscriptions(guild_id.clone(), user.clone())
        .await?;
    let current = ctx.subscriptions();
    let scoped = tokio::task::spawn_blocking(move || {
        current.updated_scope(
            &loaded,
            Scope {
                guild_id: guild_id.as_deref(),
                user: &user,
            },
        )
    })
    .await?;
    if let Some((set, rejected)) = scoped {
        return Ok(install(ctx, guard, set, rejected));
    }
    drop(guard);
    reload(ctx).await
}

/// Swaps `set` in (the caller holds [`RELOAD`]) and starts a background rebuild when enough
/// changes piled up. Returns how many subscriptions are live.
fn install(
    ctx: &Arc<PollContext>,
    guard: tokio::sync::MutexGuard<'static, ()>,
    set: SubscriptionSet,
    rejected: Rejected,
) -> usize {
    for (row, reason) in rejected {
        tracing::warn!(subscription = row.id, user = %row.user, %reason, "subscription skipped: its query does not parse");
    }
    let n = set.len();
    let m = crate::ops::metrics::metrics();
    m.subscriptions_loaded.set(n as i64);
    m.matcher_rebuilds.inc();
    let compact = set.needs_compaction() && set.start_compaction();
    let replace = |ctx: &PollContext, set: SubscriptionSet| match ctx.subscriptions.write() {
        Ok(mut live) => *live = Arc::new(set),
        Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
    };
    replace(ctx, set);
    drop(guard);
    if compact {
        let ctx = Arc::clone(ctx);
        tokio::spawn(async move {
            let rebuilt = async {
                let loaded = load_all(&ctx).await?;
                let (fresh, _) =
                    tokio::task::spawn_blocking(move || SubscriptionSet::from_loaded(loaded))
                        .await?;
                // Catch up with the changes made while it compiled.
                let _guard = RELOAD.lock().await;
                let loaded = load_all(&ctx).await?;
                let (fresh, _) =
                    tokio::task::spawn_blocking(move || fresh.updated_from(loaded)).await?;
                replace(&ctx, fresh);
                anyhow::Ok(())
            };
            if let Err(e) = rebuilt.await {
                tracing::warn!("background rebuild of the subscription matcher failed: {e:#}");
                ctx.subscriptions().abort_compaction();
            }
        });
    }
    n
}

/// A table of every source's health, for `newshound sources`.
pub fn sources_table(sources: &[SourceRow]) -> String {
    let mut out =
        String::from("NAME | STATE | LAST SUCCESS | NEXT CHECK | FAILURES | LAST ERROR\n");
    let fmt = |t: Option<chrono::DateTime<Utc>>| {
        t.map_or_else(
            || "-".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
    };
    for s in sources {
        let state = match (s.state, &s.paused_reason) {
            (SourceState::Paused, Some(reason)) => format!("paused ({reason})"),
            (state, _) => state.to_string(),
        };
        let _ = writeln!(
            out,
            "{} | {} | {} | {} | {} | {}",
            s.name,
            state,
            fmt(s.last_success_at),
            fmt(s.next_check_at),
            s.failures,
            s.last_error.as_deref().unwrap_or("-")
        );
    }
    out
}
