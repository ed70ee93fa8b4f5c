//! One poll of one source: fetch -> parse -> identify -> match -> record + outbox, in one
//! transaction. Failures are recorded on the source and never leave this function as panics.

use std::sync::Arc;

use futures::StreamExt as _;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::core::alert::{searchable_body, PlannedAlert};
use crate::core::dedup::{guids_usable, item_keys};
use crate::core::model::Item;
use crate::core::story::{same_story, StoryKey};
use crate::core::summary::{extractive_summary, summarize};
use crate::schedule::{hinted_next_check, needs_unconditional, retry_at};
use crate::sources::fetch::{AddressPolicy, FetchOutcome, Fetcher, Validators};
use crate::sources::parse::parse_feed;
use crate::store::{self, FetchRecord, NewItem, SourceRow, Store};
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
    pub source_id: i64,
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
    /// Optional AI summaries (`[summarizer] kind = "openai"`).
    pub summarizer: Option<crate::summarizer::AiSummarizer>,
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
/// a poll, so it runs off the async workers (see `poll_inner`).
fn to_new_items(items: Vec<Item>, summary_length: usize) -> Vec<NewItem> {
    let use_guid = guids_usable(&items);
    items
        .into_iter()
        .map(|item| {
            let keys = item_keys(&item, use_guid);
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

/// Indices of the items that will alert if they match: new ones (on a first poll, only the
/// backfilled newest).
async fn alerting_new_items(
    ctx: &PollContext,
    source: &SourceRow,
    items: &[Item],
) -> store::Result<Vec<usize>> {
    // Fingerprints only: summaries and searchable text are built once, after enrichment.
    let use_guid = guids_usable(items);
    let fingerprints: Vec<Vec<String>> = items.iter().map(|i| item_keys(i, use_guid).all).collect();
    let source_id = source.id;
    let is_new = ctx
        .store
        .call(move |c| {
            let tx = c.transaction()?;
            store::unseen(&tx, source_id, fingerprints.iter().map(Vec::as_slice))
        })
        .await?;
    let alerting_from = if source.initialized {
        0
    } else {
        items.len().saturating_sub(source.backfill as usize)
    };
    Ok((alerting_from..items.len())
        .filter(|i| is_new.get(*i).copied().unwrap_or(false))
        .collect())
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

/// How far back a story counts as already alerted.
const STORY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// The first alert, in the same target, of the story `item` reports again (another source's
/// item with the same canonical link or a near-identical title within [`STORY_WINDOW`]), when
/// everyone this alert is for already got the story. Then the new item only adds an "also
/// covered by" line to it. When only some of them got it, the others still get this alert and
/// those who already got the story are left out of it (no second ping for one story).
fn earlier_report(
    tx: &rusqlite::Transaction<'_>,
    source_id: i64,
    item: &NewItem,
    alert: &mut PlannedAlert,
    now: DateTime<Utc>,
) -> store::Result<Option<i64>> {
    let key = StoryKey {
        canonical_link: item.link.clone(),
        title: item.title.clone(),
        published: None,
    };
    let same: Vec<store::StoryCandidate> =
        store::story_candidates(tx, &alert.target, now - STORY_WINDOW, source_id)?
            .into_iter()
            .filter(|c| {
                let other = StoryKey {
                    canonical_link: c.link.clone(),
                    title: c.title.clone(),
                    published: None,
                };
                same_story(&key, &other)
            })
            .collect();
    if let Some(c) = same
        .iter()
        .find(|c| alert.subscribers.iter().all(|s| c.subscribers.contains(s)))
    {
        return Ok(Some(c.outbox_id));
    }
    let already: std::collections::HashSet<&String> =
        same.iter().flat_map(|c| c.subscribers.iter()).collect();
    let fresh: Vec<String> = alert
        .subscribers
        .iter()
        .filter(|s| !already.contains(s))
        .cloned()
        .collect();
    if fresh.is_empty() {
        // Everyone got it, through several earlier reports: update the latest.
        return Ok(same.first().map(|c| c.outbox_id));
    }
    alert.subscribers = fresh;
    Ok(None)
}

/// Polls `source` once. Never panics on bad input; every failure is recorded on the source.
pub async fn poll_source(ctx: &PollContext, source: &SourceRow, now: DateTime<Utc>) -> PollReport {
    let outcome = match poll_inner(ctx, source, now).await {
        Ok(outcome) => outcome,
        Err(e) => PollOutcome::Failed {
            error: format!("internal error: {e}"),
            retry_at: None,
            paused: false,
        },
    };
    PollReport {
        source_id: source.id,
        name: source.name.clone(),
        outcome,
    }
}

async fn record_failure(
    ctx: &PollContext,
    source: &SourceRow,
    now: DateTime<Utc>,
    error: String,
    status: Option<u16>,
    retry_after: Option<DateTime<Utc>>,
    paused_reason: Option<String>,
) -> store::Result<PollOutcome> {
    let failures = source.failures + 1;
    let next = if paused_reason.is_some() {
        None
    } else {
        Some(retry_at(now, failures, status, retry_after))
    };
    let id = source.id;
    let (e, p) = (error.clone(), paused_reason.clone());
    ctx.store
        .call(move |c| store::record_failure(c, id, now, &e, next, p.as_deref()))
        .await?;
    tracing::warn!(source = %source.name, error = %error, retry_at = ?next, "poll failed");
    Ok(PollOutcome::Failed {
        error,
        retry_at: next,
        paused: paused_reason.is_some(),
    })
}

#[expect(clippy::too_many_lines, reason = "split in issue 11 by the lead")]
async fn poll_inner(
    ctx: &PollContext,
    source: &SourceRow,
    now: DateTime<Utc>,
) -> store::Result<PollOutcome> {
    let policy = if source.origin == store::ORIGIN_CONFIG && ctx.allow_private_config_sources {
        AddressPolicy::AllowPrivate
    } else {
        AddressPolicy::PublicOnly
    };
    let unconditional = needs_unconditional(now, source.last_unconditional_at);
    let validators = if unconditional {
        Validators::default()
    } else {
        Validators {
            etag: source.etag.clone(),
            last_modified: source.last_modified.clone(),
        }
    };
    let fetched = match ctx
        .fetcher
        .fetch(&source.url, &validators, policy, now)
        .await
    {
        Ok(FetchOutcome::NotModified { .. })
            if validators.etag.is_none() && validators.last_modified.is_none() =>
        {
            // Nothing was asked to be compared, so "unchanged" means nothing: counting it as
            // a success would show the source healthy while it never delivers an item.
            return record_failure(
                ctx,
                source,
                now,
                "the server answered 304 Not Modified to a request for the whole feed (no \
                 ETag or date was sent), so newshound never gets the items — the server is \
                 misconfigured; tell the site's owner"
                    .to_string(),
                Some(304),
                None,
                None,
            )
            .await;
        }
        Ok(FetchOutcome::NotModified { hints }) => {
            let record = FetchRecord {
                next_check_at: hinted_next_check(now, hints.not_before, None),
                ..FetchRecord::default()
            };
            let id = source.id;
            ctx.store
                .call(move |c| store::record_unchanged(c, id, now, &record))
                .await?;
            return Ok(PollOutcome::Unchanged);
        }
        Ok(FetchOutcome::Fetched(f)) => f,
        Err(e) => {
            let paused = e.is_gone().then(|| {
                format!("the server says the feed is gone for good ({e}); fix the URL or remove the source")
            });
            return record_failure(
                ctx,
                source,
                now,
                e.to_string(),
                e.status(),
                e.retry_after(),
                paused,
            )
            .await;
        }
    };

    let hash = body_hash(&fetched.body);
    let mut record = FetchRecord {
        etag: fetched.validators.etag.clone(),
        last_modified: fetched.validators.last_modified.clone(),
        body_hash: Some(hash.clone()),
        next_check_at: hinted_next_check(now, fetched.hints.not_before, None),
        unconditional,
        new_url: None,
    };
    if source.initialized && source.body_hash.as_deref() == Some(hash.as_str()) {
        let id = source.id;
        ctx.store
            .call(move |c| store::record_unchanged(c, id, now, &record))
            .await?;
        return Ok(PollOutcome::Unchanged);
    }

    let base = fetched.final_url.as_ref().map(ToString::to_string);
    let content_type = fetched.content_type.clone();
    let body = fetched.body;
    let parsed = tokio::task::spawn_blocking(move || {
        parse_feed(&body, content_type.as_deref(), base.as_deref())
    })
    .await;
    let feed = match parsed {
        Ok(Ok(feed)) => feed,
        Ok(Err(e)) => {
            return record_failure(ctx, source, now, e.to_string(), None, None, None).await
        }
        Err(join) => {
            return record_failure(
                ctx,
                source,
                now,
                format!("the feed parser crashed on this document ({join})"),
                None,
                None,
                None,
            )
            .await;
        }
    };
    // Only a document that proved to be a feed may replace the stored URL.
    record.new_url = fetched.permanent_redirect.map(|u| u.to_string());
    // A local file has no server to be polite to: its `<ttl>` is not a reason to wait.
    let is_file = !source.url.contains("://");
    record.next_check_at = if is_file {
        None
    } else {
        hinted_next_check(now, fetched.hints.not_before, feed.ttl_minutes)
    };

    let mut items = oldest_first(feed.items);
    let threshold = if source.origin == store::ORIGIN_CONFIG {
        ctx.article_min_chars
            .get(&source.name.to_lowercase())
            .copied()
            .unwrap_or(0)
    } else {
        ctx.default_article_min_chars
    };
    let alerting = if threshold > 0 || ctx.summarizer.is_some() {
        alerting_new_items(ctx, source, &items).await?
    } else {
        Vec::new()
    };
    if threshold > 0 && !alerting.is_empty() {
        enrich_from_articles(ctx, source, &mut items, &alerting, threshold, policy, now).await;
    }
    let ai = ai_summaries(ctx, &items, &alerting).await;
    // Summaries and searchable text take most of a poll's CPU: on a blocking thread they run
    // beside other polls' (`once` drives every poll from one task, so on the async side they
    // would all share one core).
    let summary_length = ctx.summary_length;
    let mut new_items =
        match tokio::task::spawn_blocking(move || to_new_items(items, summary_length)).await {
            Ok(rows) => rows,
            Err(join) => {
                return record_failure(
                    ctx,
                    source,
                    now,
                    format!("summarising this feed's items crashed ({join})"),
                    None,
                    None,
                    None,
                )
                .await;
            }
        };
    for (i, summary) in ai {
        if let Some(item) = new_items.get_mut(i) {
            item.summary = summary;
            item.ai_summary = true;
        }
    }
    let total = new_items.len();
    // A first poll without backfill records its items and alerts none, so it needs no
    // subscriptions: it does not wait for (or, in `once`, cause) their compile.
    let may_alert = source.initialized || source.backfill > 0;
    if may_alert {
        ctx.subscriptions_ready().await;
    }
    let subs = ctx.subscriptions();
    let source_row = source.clone();
    let summary_length = ctx.summary_length;
    let (new, alerts) = ctx
        .store
        .call(move |c| {
            let tx = c.transaction()?;
            let mut is_new = store::unseen(
                &tx,
                source_row.id,
                new_items.iter().map(|i| i.fingerprints.as_slice()),
            )?;
            let first_poll = !source_row.initialized;
            // Two items of one fetch can share a fingerprint (same link twice): only the
            // first of them is new.
            let mut fingerprints_this_fetch = std::collections::HashSet::new();
            for (i, item) in new_items.iter().enumerate() {
                let fresh = item
                    .fingerprints
                    .iter()
                    .all(|f| !fingerprints_this_fetch.contains(f));
                if !fresh {
                    is_new[i] = false;
                }
                fingerprints_this_fetch.extend(item.fingerprints.iter().cloned());
            }
            let alerting: Vec<bool> = if first_poll {
                // Record everything, alert only the newest `backfill` items.
                let n = is_new.len();
                let backfill = source_row.backfill as usize;
                (0..n).map(|i| is_new[i] && i + backfill >= n).collect()
            } else {
                is_new.clone()
            };
            let mut prefs = crate::routing::PrefsCache::default();
            let mut plans: Vec<Vec<PlannedAlert>> = Vec::with_capacity(new_items.len());
            let mut held = Vec::with_capacity(new_items.len());
            for (item, &alert) in new_items.iter().zip(&alerting) {
                if !alert {
                    plans.push(Vec::new());
                    held.push(Vec::new());
                    continue;
                }
                let found =
                    subs.matches_for(&item.title, &item.body, source_row.guild_id.as_deref());
                let (alerts, holds) =
                    crate::routing::route_item(&tx, &found, &source_row.name, now, &mut prefs)?;
                plans.push(alerts);
                held.push(holds);
            }
            let mut linked = Vec::with_capacity(plans.len());
            for (item, alerts) in new_items.iter().zip(plans) {
                let mut with_story = Vec::with_capacity(alerts.len());
                for mut alert in alerts {
                    // Show why it matched: the sentence with the matched words, if the lead
                    // does not already have them.
                    let summary =
                        extractive_summary(&item.summary_source, &alert.matched, summary_length);
                    if !item.ai_summary && !summary.is_empty() && summary != item.summary {
                        alert.summary = Some(summary);
                    }
                    let also_of = earlier_report(&tx, source_row.id, item, &mut alert, now)?;
                    with_story.push((alert, also_of));
                }
                linked.push(with_story);
            }
            let written =
                store::record_items(&tx, source_row.id, now, &new_items, &is_new, &linked, &held)?;
            store::record_fetched(&tx, source_row.id, now, &record)?;
            tx.commit()?;
            Ok((is_new.iter().filter(|n| **n).count(), written))
        })
        .await?;
    tracing::info!(source = %source.name, items = total, new, alerts, "polled");
    Ok(PollOutcome::Updated {
        items: total,
        new,
        alerts,
        first_poll: !source.initialized,
    })
}
