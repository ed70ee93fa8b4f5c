//! One poll of one source, start to end: fetch -> parse -> which items are new (one read of
//! the seen keys) -> article pages and summaries for the new ones -> match (in memory) -> one
//! read of the facts routing needs -> a pure plan (`core::plan`) -> one transaction that
//! applies it (`Store::apply_poll`). No decision is made while a database connection is held.
//! Failures are recorded on the source and never leave this module as panics.

use std::sync::Arc;

use futures::StreamExt as _;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::core::alert::searchable_body;
use crate::core::dedup::{guids_usable, item_keys, ItemKeys};
use crate::core::model::{Feed, Item, Origin};
use crate::core::plan::{needs, newness, plan_poll, NewItem, Newness, PollPlan};
use crate::core::summary::summarize;
use crate::ops::metrics::{metrics, FailureKind, PollResult};
use crate::schedule::{hinted_next_check, needs_unconditional, retry_at};
use crate::sources::fetch::{AddressPolicy, FetchOutcome, Fetched, Fetcher, Validators};
use crate::sources::probe::parse_document;
use crate::sources::websub::{self, HubLinks, OnPoll};
use crate::store::{self, Applied, FetchRecord, PollFailure, SourceRow, Store};
use crate::subscriptions::SlotMatch;
pub use crate::subscriptions::SubscriptionSet;

/// What one poll did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// 304, or the same bytes as last time: nothing to parse.
    Unchanged,
    /// Parsed: `items` in the feed, `new` never seen before, `alerts` written to the outbox.
    Updated {
        items: usize,
        new: usize,
        alerts: usize,
        first_poll: bool,
        /// Set when the document was damaged: what was read and what was lost.
        damaged: Option<String>,
    },
    /// Failed; the source is backing off until `retry_at`, or paused.
    Failed {
        error: String,
        retry_at: Option<DateTime<Utc>>,
        paused: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollReport {
    pub source_id: crate::core::model::SourceId,
    pub name: String,
    pub outcome: PollOutcome,
}

/// What a poll needs from the running application.
pub struct PollContext {
    pub store: Store,
    pub fetcher: Fetcher,
    pub subscriptions: Arc<std::sync::RwLock<Arc<SubscriptionSet>>>,
    /// `true` once the stored subscriptions are compiled (start-up compiles in the background).
    pub subscriptions_ready: tokio::sync::watch::Receiver<bool>,
    /// Told when a poll first needs the subscriptions (`once` loads them only then, so a
    /// cycle with nothing new never loads a million of them).
    pub subscriptions_wanted: Arc<tokio::sync::Notify>,
    pub summary_length: usize,
    pub allow_private_config_sources: bool,
    /// Article-page threshold per config source (by lower-case name), and for the rest.
    pub article_min_chars: std::collections::HashMap<String, usize>,
    pub default_article_min_chars: usize,
    /// Config sources that are not feeds (`kind = "html"` / `"sitemap"`), by lower-case name.
    pub kinds: std::collections::HashMap<String, crate::sources::SourceKind>,
    /// Optional AI summaries (`[summarizer] kind = "openai"`).
    pub summarizer: Option<crate::summarizer::AiSummarizer>,
    /// WebSub push is on (`[http] public_url`): polls look for hubs.
    pub push: bool,
    /// Told when a push subscription wants a request to its hub (the maintainer in `app`).
    pub push_wanted: Arc<tokio::sync::Notify>,
}

impl PollContext {
    /// Waits until the start-up compile of the subscriptions is done (at once afterwards), so
    /// no item is matched against an incomplete set; starts it if it waits to be wanted.
    pub async fn subscriptions_ready(&self) {
        self.subscriptions_wanted.notify_one();
        let mut ready = self.subscriptions_ready.clone();
        let _ = ready.wait_for(|r| *r).await;
    }

    pub fn subscriptions(&self) -> Arc<SubscriptionSet> {
        match self.subscriptions.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

fn body_hash(body: &[u8]) -> String {
    crate::core::dedup::hex(&Sha256::digest(body)[..16])
}

/// Items ordered oldest first, so alerts go out in publication order.
fn oldest_first(mut items: Vec<Item>) -> Vec<Item> {
    if items.iter().all(|i| i.published.is_some()) {
        items.sort_by_key(|i| i.published);
    } else {
        // Feeds list newest first.
        items.reverse();
    }
    items
}

/// The rows to record for `items` (keys, summaries, searchable text): the per-item CPU work of
/// a poll, so it runs off the async workers (see `poll_inner`). An item seen before is only
/// recorded as seen again (its fingerprints), so it gets no summary or searchable text: in a
/// routine poll that is nearly every item.
fn to_new_items(
    items: Vec<Item>,
    keys: Vec<ItemKeys>,
    is_new: &[bool],
    summary_length: usize,
) -> Vec<NewItem> {
    items
        .into_iter()
        .zip(keys)
        .enumerate()
        .map(|(i, (item, keys))| {
            if !is_new.get(i).copied().unwrap_or(true) {
                return NewItem {
                    ai_summary: false,
                    summary_source: String::new(),
                    key: keys.primary,
                    fingerprints: keys.all,
                    title: item.title,
                    link: item.link,
                    published: item.published,
                    summary: String::new(),
                    body: String::new(),
                    image: item.image,
                };
            }
            let summary = summarize(&item.summary_html, &item.content_html, summary_length);
            let body = searchable_body(&item);
            let summary_source = if item.summary_html.trim().is_empty() {
                item.content_html
            } else {
                item.summary_html
            };
            NewItem {
                ai_summary: false,
                summary_source,
                key: keys.primary,
                fingerprints: keys.all,
                title: item.title,
                link: item.link,
                published: item.published,
                summary,
                body,
                image: item.image,
            }
        })
        .collect()
}

/// At most this many article pages are fetched per poll.
const MAX_ARTICLES_PER_POLL: usize = 10;

/// For new items whose feed text is shorter than `threshold` characters, fetches the article
/// page (same limits and address checks as the source) and takes its description, lead text
/// and image. A page that cannot be fetched changes nothing: the alert goes out with what the
/// feed gave.
async fn enrich_from_articles(
    ctx: &PollContext,
    source: &SourceRow,
    items: &mut [Item],
    alerting: &[usize],
    threshold: usize,
    policy: AddressPolicy,
    now: DateTime<Utc>,
) {
    let wanted: Vec<(usize, String)> = items
        .iter()
        .enumerate()
        .filter(|(i, item)| {
            alerting.contains(i)
                && crate::core::summary::html_to_text(if item.summary_html.trim().is_empty() {
                    &item.content_html
                } else {
                    &item.summary_html
                })
                .chars()
                .count()
                    < threshold
        })
        .filter_map(|(i, item)| item.link.clone().map(|l| (i, l)))
        .rev()
        .take(MAX_ARTICLES_PER_POLL)
        .collect();
    let pages: Vec<(usize, Option<crate::sources::article::Article>)> = futures::stream::iter(wanted)
        .map(|(i, link)| async move {
            let page = match ctx.fetcher.fetch(&link, &Validators::default(), policy, now).await {
                Ok(FetchOutcome::Fetched(f)) => {
                    let base = f.final_url.clone().or_else(|| url::Url::parse(&link).ok());
                    base.map(|base| {
                        crate::sources::article::extract_article(&String::from_utf8_lossy(&f.body), &base)
                    })
                }
                Ok(FetchOutcome::NotModified { .. }) => None,
                Err(e) => {
                    tracing::info!(source = %source.name, error = %e, "article page not fetched; using the feed's text");
                    None
                }
            };
            (i, page)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    for (i, page) in pages {
        let (Some(article), Some(item)) = (page, items.get_mut(i)) else {
            continue;
        };
        let text = article
            .og_description
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| article.text.chars().take(2000).collect());
        if !text.trim().is_empty() {
            item.summary_html = html_escape::encode_text(&text).into_owned();
        }
        if item.image.is_none() {
            item.image = article.image;
        }
    }
}

/// AI summaries for the alerting items, where a summarizer is configured; failures keep the
/// extractive summary.
async fn ai_summaries(
    ctx: &PollContext,
    items: &[Item],
    alerting: &[usize],
) -> std::collections::HashMap<usize, String> {
    let mut out = std::collections::HashMap::new();
    let Some(summarizer) = &ctx.summarizer else {
        return out;
    };
    for &i in alerting {
        let Some(item) = items.get(i) else { continue };
        let html = if item.content_html.trim().len() > item.summary_html.trim().len() {
            &item.content_html
        } else {
            &item.summary_html
        };
        let text = crate::core::summary::html_to_text(html);
        if text.trim().is_empty() {
            continue;
        }
        match summarizer
            .summarize(&item.title, &text, ctx.summary_length)
            .await
        {
            Ok(summary) => {
                out.insert(i, summary);
            }
            Err(reason) => {
                tracing::info!(%reason, "AI summary unavailable; using the extractive one");
            }
        }
    }
    out
}

/// Polls `source` once. Never panics on bad input; every failure is recorded on the source.
pub async fn poll_source(ctx: &PollContext, source: &SourceRow, now: DateTime<Utc>) -> PollReport {
    let started = std::time::Instant::now();
    let outcome = match poll_inner(ctx, source, now).await {
        Ok(outcome) => outcome,
        Err(e) => {
            // Failures of the source itself were counted with their kind where recorded.
            metrics().polls_failed(FailureKind::internal);
            PollOutcome::Failed {
                error: format!("internal error: {e}"),
                retry_at: None,
                paused: false,
            }
        }
    };
    let m = metrics();
    match &outcome {
        PollOutcome::Unchanged => m.poll_done(PollResult::unchanged),
        PollOutcome::Updated {
            items, new, alerts, ..
        } => {
            m.poll_done(PollResult::ok);
            m.items_seen.inc_by(*items as u64);
            m.items_new.inc_by(*new as u64);
            m.alerts_written.inc_by(*alerts as u64);
        }
        PollOutcome::Failed { .. } => {}
    }
    m.poll_duration.observe(started.elapsed().as_secs_f64());
    PollReport {
        source_id: source.id,
        name: source.name.clone(),
        outcome,
    }
}

/// Records a failed poll: backing off (when to retry follows the failure count and the
/// server's hints), or paused.
async fn record_failure(
    ctx: &PollContext,
    source: &SourceRow,
    now: DateTime<Utc>,
    failure: Failure,
) -> store::Result<PollOutcome> {
    let failures = source.failures + 1;
    let next_check_at = if failure.paused_reason.is_some() {
        None
    } else {
        Some(retry_at(now, failures, failure.status, failure.retry_after))
    };
    let paused = failure.paused_reason.is_some();
    metrics().polls_failed(failure.kind);
    ctx.store
        .record_poll_failure(
            source.id,
            now,
            PollFailure {
                error: failure.error.clone(),
                next_check_at,
                paused_reason: failure.paused_reason,
            },
        )
        .await?;
    tracing::warn!(source = %source.name, error = %failure.error, retry_at = ?next_check_at, "poll failed");
    Ok(PollOutcome::Failed {
        error: failure.error,
        retry_at: next_check_at,
        paused,
    })
}

/// Why a poll failed, before it is recorded.
struct Failure {
    kind: FailureKind,
    error: String,
    status: Option<u16>,
    retry_after: Option<DateTime<Utc>>,
    paused_reason: Option<String>,
}

impl Failure {
    fn new(kind: FailureKind, error: impl Into<String>) -> Failure {
        Failure {
            kind,
            error: error.into(),
            status: None,
            retry_after: None,
            paused_reason: None,
        }
    }
}

/// The first half of a poll: fetched and parsed, or finished early.
#[expect(
    clippy::large_enum_variant,
    reason = "one per poll, matched at once; boxing would only add an allocation"
)]
enum Fetch {
    /// Nothing to parse, or failed: the outcome is recorded.
    Done(PollOutcome),
    /// Parsed, with the WebSub hub the feed names (looked for only when push is on).
    Parsed(Feed, FetchRecord, Option<HubLinks>),
}

/// Which addresses this source may reach: config and CLI-imported sources may be on private
/// networks when the operator allows it; sources added from Discord never may.
pub(crate) fn address_policy(ctx: &PollContext, source: &SourceRow) -> AddressPolicy {
    if source.origin.is_operator() && ctx.allow_private_config_sources {
        AddressPolicy::AllowPrivate
    } else {
        AddressPolicy::PublicOnly
    }
}

/// Fetches the source (conditionally, except once a day) and parses what changed.
async fn fetch_and_parse(
    ctx: &PollContext,
    source: &SourceRow,
    now: DateTime<Utc>,
    policy: AddressPolicy,
) -> store::Result<Fetch> {
    let unconditional = needs_unconditional(now, source.last_unconditional_at);
    let validators = if unconditional {
        Validators::default()
    } else {
        Validators {
            etag: source.etag.clone(),
            last_modified: source.last_modified.clone(),
        }
    };
    // A `youtube:@handle` from the config is looked up once, here; the feed URL it gives
    // replaces the stored URL once the feed has been read.
    let resolved = match resolve_handle(ctx, source, policy, now).await {
        Ok(resolved) => resolved,
        Err(failure) => {
            return Ok(Fetch::Done(
                record_failure(ctx, source, now, failure).await?,
            ))
        }
    };
    let location = resolved.as_deref().unwrap_or(&source.url);
    let fetched = match ctx.fetcher.fetch(location, &validators, policy, now).await {
        Ok(FetchOutcome::NotModified { .. })
            if validators.etag.is_none() && validators.last_modified.is_none() =>
        {
            // Nothing was asked to be compared, so "unchanged" means nothing: counting it as
            // a success would show the source healthy while it never delivers an item.
            let mut failure = Failure::new(
                FailureKind::http,
                "the server answered 304 Not Modified to a request for the whole feed (no \
                 ETag or date was sent), so newshound never gets the items — the server is \
                 misconfigured; tell the site's owner",
            );
            failure.status = Some(304);
            return Ok(Fetch::Done(
                record_failure(ctx, source, now, failure).await?,
            ));
        }
        Ok(FetchOutcome::NotModified { hints }) => {
            let record = FetchRecord {
                next_check_at: hinted_next_check(now, hints.not_before, None),
                ..FetchRecord::default()
            };
            ctx.store.record_unchanged(source.id, now, record).await?;
            return Ok(Fetch::Done(PollOutcome::Unchanged));
        }
        Ok(FetchOutcome::Fetched(f)) => f,
        Err(e) => {
            let failure = Failure {
                kind: if e.status().is_some() {
                    FailureKind::http
                } else {
                    FailureKind::network
                },
                error: e.to_string(),
                status: e.status(),
                retry_after: e.retry_after(),
                paused_reason: e.is_gone().then(|| {
                    format!("the server says the feed is gone for good ({e}); fix the URL or remove the source")
                }),
            };
            return Ok(Fetch::Done(
                record_failure(ctx, source, now, failure).await?,
            ));
        }
    };
    parse_fetched(ctx, source, now, fetched, unconditional, resolved).await
}

/// The feed URL of a source stored as a shorthand that needs a page fetch (`youtube:@handle`);
/// `None` for every other source.
async fn resolve_handle(
    ctx: &PollContext,
    source: &SourceRow,
    policy: AddressPolicy,
    now: DateTime<Utc>,
) -> Result<Option<String>, Failure> {
    use crate::sources::shorthand::{self, Bases};
    if !shorthand::is_shorthand(&source.url) {
        return Ok(None);
    }
    shorthand::resolve(&ctx.fetcher, &source.url, &Bases::from_env(), policy, now)
        .await
        .map_err(|e| Failure::new(FailureKind::network, e.to_string()))
}

/// Parses a fetched body on the blocking pool (an unchanged body is not parsed again).
async fn parse_fetched(
    ctx: &PollContext,
    source: &SourceRow,
    now: DateTime<Utc>,
    fetched: Fetched,
    unconditional: bool,
    resolved: Option<String>,
) -> store::Result<Fetch> {
    let hash = body_hash(&fetched.body);
    let hub = (ctx.push && source.url.contains("://"))
        .then(|| {
            websub::discover(
                &fetched.body,
                &fetched.hints.links,
                fetched.final_url.as_ref(),
            )
        })
        .flatten();
    let mut record = FetchRecord {
        etag: fetched.validators.etag.clone(),
        last_modified: fetched.validators.last_modified.clone(),
        body_hash: Some(hash.clone()),
        next_check_at: hinted_next_check(now, fetched.hints.not_before, None),
        unconditional,
        new_url: None,
        damaged: None,
    };
    let kind = (source.origin == Origin::Config)
        .then(|| ctx.kinds.get(&source.name.to_lowercase()))
        .flatten();
    if let Some(crate::sources::SourceKind::Sitemap { .. }) = kind {
        // An unchanged index says nothing about its children: never skip one.
        record.etag = None;
        record.last_modified = None;
        record.body_hash = None;
    }
    if source.initialized
        && record.body_hash.is_some()
        && source.body_hash.as_deref() == Some(hash.as_str())
    {
        ctx.store.record_unchanged(source.id, now, record).await?;
        return Ok(Fetch::Done(PollOutcome::Unchanged));
    }
    let parsed = match kind {
        Some(crate::sources::SourceKind::Sitemap { max_age_days }) => {
            crate::sources::sitemap::read(
                &ctx.fetcher,
                fetched.body,
                fetched.final_url.clone(),
                address_policy(ctx, source),
                now,
                *max_age_days,
            )
            .await
        }
        Some(crate::sources::SourceKind::Html(selectors)) => {
            crate::sources::html_list::read_fetched(
                fetched.body,
                fetched.content_type,
                fetched.final_url.clone(),
                Arc::clone(selectors),
                source.last_error.as_deref(),
                source.failures,
            )
            .await
        }
        None => parse_document(
            fetched.body,
            fetched.content_type,
            fetched.final_url.as_ref(),
        )
        .await
        .map_err(|e| e.to_string()),
    };
    let feed = match parsed {
        Ok(feed) => feed,
        Err(e) => {
            let failure = Failure::new(FailureKind::parse, e);
            return Ok(Fetch::Done(
                record_failure(ctx, source, now, failure).await?,
            ));
        }
    };
    // Only a document that proved to be a feed may replace the stored URL.
    record.new_url = fetched
        .permanent_redirect
        .map(|u| u.to_string())
        .or(resolved);
    record.damaged.clone_from(&feed.damaged);
    // A local file has no server to be polite to: its `<ttl>` is not a reason to wait.
    let is_file = !source.url.contains("://");
    record.next_check_at = if is_file {
        None
    } else {
        hinted_next_check(now, fetched.hints.not_before, feed.ttl_minutes)
    };
    // Only feeds are pushed: a page or sitemap naming a hub is not subscribed to.
    let hub = hub.filter(|_| kind.is_none());
    Ok(Fetch::Parsed(feed, record, hub))
}

/// The article-page threshold for this source (0: never fetch article pages).
fn article_threshold(ctx: &PollContext, source: &SourceRow) -> usize {
    if source.origin == Origin::Config {
        ctx.article_min_chars
            .get(&source.name.to_lowercase())
            .copied()
            .unwrap_or(0)
    } else {
        ctx.default_article_min_chars
    }
}

/// At most this many times a plan is made again because another poll changed its facts.
const MAX_PLANS: usize = 8;

async fn poll_inner(
    ctx: &PollContext,
    source: &SourceRow,
    now: DateTime<Utc>,
) -> store::Result<PollOutcome> {
    let policy = address_policy(ctx, source);
    let (feed, record, hub) = match fetch_and_parse(ctx, source, now, policy).await? {
        Fetch::Done(outcome) => return Ok(outcome),
        Fetch::Parsed(feed, record, hub) => (feed, record, hub),
    };
    let outcome = ingest(ctx, source, now, policy, feed, record).await?;
    // After the items are recorded: a push that follows must find the first poll done.
    if ctx.push {
        note_hub(ctx, source, hub).await?;
    }
    Ok(outcome)
}

/// Keeps the source's push subscription in line with the hub its feed names now.
async fn note_hub(
    ctx: &PollContext,
    source: &SourceRow,
    hub: Option<HubLinks>,
) -> store::Result<()> {
    let stored = ctx.store.push_subscription(source.id).await?;
    match websub::on_poll(stored.as_ref(), hub.as_ref()) {
        OnPoll::Nothing => {}
        OnPoll::Create(links) | OnPoll::Retarget(links) => {
            tracing::info!(source = %source.name, hub = %links.hub, "the feed names a WebSub hub; subscribing for push");
            ctx.store.want_push(source.id, links).await?;
            ctx.push_wanted.notify_one();
        }
        OnPoll::Unsubscribe => {
            tracing::info!(source = %source.name, "the feed no longer names a WebSub hub; unsubscribing");
            ctx.store.end_push(source.id).await?;
            ctx.push_wanted.notify_one();
        }
    }
    Ok(())
}

/// A body a WebSub hub pushed for `source` (its signature already checked): parsed and taken
/// through the same dedup, match and outbox path as a poll, so an item that arrives by push
/// and again by the next poll alerts once. The source's validators and schedule are left as
/// they are: the next poll still asks the server what changed.
pub async fn ingest_push(
    ctx: &PollContext,
    source: &SourceRow,
    body: Vec<u8>,
    content_type: Option<String>,
    now: DateTime<Utc>,
) -> PollReport {
    let base = url::Url::parse(&source.url).ok();
    let outcome = match parse_document(body, content_type, base.as_ref()).await {
        Err(e) => {
            tracing::warn!(source = %source.name, error = %e, "a pushed body is not a feed; ignored (the next poll still reads the feed)");
            metrics().push_result(crate::ops::metrics::PushResult::not_a_feed);
            PollOutcome::Failed {
                error: format!("pushed content: {e}"),
                retry_at: None,
                paused: false,
            }
        }
        Ok(feed) => {
            let record = FetchRecord {
                next_check_at: source.next_check_at,
                damaged: feed.damaged.clone(),
                ..FetchRecord::default()
            };
            let policy = address_policy(ctx, source);
            match ingest(ctx, source, now, policy, feed, record).await {
                Ok(outcome) => outcome,
                Err(e) => PollOutcome::Failed {
                    error: format!("internal error: {e}"),
                    retry_at: None,
                    paused: false,
                },
            }
        }
    };
    if let PollOutcome::Updated { alerts, new, .. } = &outcome {
        let m = metrics();
        m.items_new.inc_by(*new as u64);
        m.alerts_written.inc_by(*alerts as u64);
    }
    PollReport {
        source_id: source.id,
        name: source.name.clone(),
        outcome,
    }
}

/// A parsed feed's items, start to end: which are new, article pages and summaries for them,
/// matching, the plan, and the one transaction that records it all.
async fn ingest(
    ctx: &PollContext,
    source: &SourceRow,
    now: DateTime<Utc>,
    policy: AddressPolicy,
    feed: Feed,
    record: FetchRecord,
) -> store::Result<PollOutcome> {
    let mut items = oldest_first(feed.items);
    // Below the source's engagement threshold an item is not taken at all: not seen yet, so
    // it alerts on the first poll after it crosses. Items with no count are kept.
    if let Some(min) = crate::sources::shorthand::points_threshold(&source.url) {
        items.retain(|i| i.points.is_none_or(|p| p >= min));
    }
    // Which items are new: one read of the seen keys.
    let use_guid = guids_usable(&items);
    let keys: Vec<ItemKeys> = items.iter().map(|i| item_keys(i, use_guid)).collect();
    let all: Vec<String> = keys.iter().flat_map(|k| k.all.iter().cloned()).collect();
    let seen = ctx.store.seen_fingerprints(source.id, all).await?;
    let fingerprints: Vec<Vec<String>> = keys.iter().map(|k| k.all.clone()).collect();
    let fresh = newness(&fingerprints, &seen, !source.initialized, source.backfill);
    let alerting = fresh.alerting_indices();

    let threshold = article_threshold(ctx, source);
    if threshold > 0 && !alerting.is_empty() {
        enrich_from_articles(ctx, source, &mut items, &alerting, threshold, policy, now).await;
    }
    let ai = ai_summaries(ctx, &items, &alerting).await;
    // A poll with nothing that can alert (a first poll without backfill, or nothing new)
    // needs no subscriptions: it does not wait for (or, in `once`, cause) their compile.
    let subs = if alerting.is_empty() {
        None
    } else {
        ctx.subscriptions_ready().await;
        Some(ctx.subscriptions())
    };
    // Summaries, searchable text and matching take most of a poll's CPU: on a blocking
    // thread they run beside other polls' (`once` drives every poll from one task).
    let summary_length = ctx.summary_length;
    let guild = source.guild_id.clone();
    let matching = subs.clone();
    let is_new = fresh.is_new.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        let mut rows = to_new_items(items, keys, &is_new, summary_length);
        for (i, summary) in ai {
            if let Some(item) = rows.get_mut(i) {
                item.summary = summary;
                item.ai_summary = true;
            }
        }
        let slots = match_items(matching.as_deref(), &rows, &alerting, guild.as_deref());
        (rows, slots)
    })
    .await;
    let Ok((rows, slots)) = prepared else {
        let failure = Failure::new(
            FailureKind::internal,
            "summarising or matching this feed's items crashed",
        );
        return record_failure(ctx, source, now, failure).await;
    };
    let total = rows.len();
    let new = fresh.new_count();
    let damaged = record.damaged.clone();
    let alerts = plan_and_apply(ctx, source, now, rows, fresh, subs, slots, record).await?;
    tracing::info!(source = %source.name, items = total, new, alerts, "polled");
    Ok(PollOutcome::Updated {
        items: total,
        new,
        alerts,
        first_poll: !source.initialized,
        damaged,
    })
}

/// Each alerting item's matches (empty for the others).
fn match_items(
    subs: Option<&SubscriptionSet>,
    rows: &[NewItem],
    alerting: &[usize],
    guild: Option<&str>,
) -> Vec<Vec<SlotMatch>> {
    let mut slots = vec![Vec::new(); rows.len()];
    let Some(subs) = subs else { return slots };
    for &i in alerting {
        if let Some(item) = rows.get(i) {
            let started = std::time::Instant::now();
            slots[i] = subs.match_slots(&item.title, &item.body, guild);
            metrics()
                .match_duration
                .observe(started.elapsed().as_secs_f64());
        }
    }
    slots
}

/// Reads the facts the matches need, plans (on the blocking pool) and applies the plan; made
/// again when another poll changed the facts in between. Returns the rows written.
#[expect(clippy::too_many_arguments, reason = "one poll's state, passed once")]
async fn plan_and_apply(
    ctx: &PollContext,
    source: &SourceRow,
    now: DateTime<Utc>,
    rows: Vec<NewItem>,
    fresh: Newness,
    subs: Option<Arc<SubscriptionSet>>,
    slots: Vec<Vec<SlotMatch>>,
    record: FetchRecord,
) -> store::Result<usize> {
    let rows = Arc::new(rows);
    let fresh = Arc::new(fresh);
    let slots = Arc::new(slots);
    let wanted = match &subs {
        Some(set) => needs(&resolved(set, &slots)),
        None => crate::core::plan::PollNeeds::default(),
    };
    for attempt in 1..=MAX_PLANS {
        let facts = if wanted == crate::core::plan::PollNeeds::default() {
            crate::core::plan::PollFacts::default()
        } else {
            ctx.store.poll_facts(source.id, wanted.clone(), now).await?
        };
        let facts = Arc::new(facts);
        let plan = {
            let (rows, fresh, slots, facts) = (
                Arc::clone(&rows),
                Arc::clone(&fresh),
                Arc::clone(&slots),
                Arc::clone(&facts),
            );
            let (subs, name, summary_length) =
                (subs.clone(), source.name.clone(), ctx.summary_length);
            tokio::task::spawn_blocking(move || -> PollPlan {
                let matches = match &subs {
                    Some(set) => resolved(set, &slots),
                    None => Vec::new(),
                };
                plan_poll(&rows, &fresh, &matches, &name, &facts, now, summary_length)
            })
            .await
            .map_err(|e| store::StoreError::Task(format!("planning the poll crashed: {e}")))?
        };
        let plan = Arc::new(plan);
        let applied = ctx
            .store
            .apply_poll(
                source.id,
                now,
                Arc::clone(&rows),
                plan,
                facts,
                record.clone(),
            )
            .await?;
        match applied {
            Applied::Written(n) => return Ok(n),
            Applied::Stale => {
                tracing::debug!(source = %source.name, attempt, "another poll changed the facts; planning again");
            }
        }
    }
    Err(store::StoreError::Task(format!(
        "the poll of {} was planned {MAX_PLANS} times and the facts changed every time; it will be tried again at its next check",
        source.name
    )))
}

/// The slots as matches of `set`.
fn resolved<'a>(
    set: &'a SubscriptionSet,
    slots: &[Vec<SlotMatch>],
) -> Vec<Vec<crate::core::model::SubscriptionMatch<'a>>> {
    slots.iter().map(|s| set.resolve(s.clone())).collect()
}
