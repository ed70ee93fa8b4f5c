//! The poll's side of the store port: what a poll reads before it decides, and the one
//! transaction that applies its plan.
//!
//! Contract (what any backend must do):
//! - [`Store::seen_fingerprints`] and [`Store::poll_facts`] only read.
//! - [`Store::apply_poll`] writes a [`PollPlan`] whole or not at all: every fingerprint
//!   recorded as seen, the new items stored, their alerts and digest entries written and the
//!   members' hourly counts raised, and the source marked polled, in one transaction. If what
//!   the plan was made from changed meanwhile (another poll wrote an alert to one of its
//!   targets, or a member's hourly count moved), it writes nothing and answers
//!   [`Applied::Stale`]: the caller reads the facts again and plans again.
//! - [`Store::record_poll_failure`] and [`Store::record_unchanged`] update the source's health.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::db::{self, Conn};
use crate::args;
use chrono::{DateTime, Utc};

use super::digest::{self, member_settings, sent_in_hour};
use super::{record_fetched, record_items, ts, FetchRecord, Result, Store};
use crate::core::model::{OutboxId, SourceId};
use crate::core::plan::{NewItem, PollFacts, PollNeeds, PollPlan, StoryCandidate, STORY_WINDOW};
use crate::core::route::MemberFacts;

/// What became of [`Store::apply_poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written: this many outbox rows and digest entries.
    Written(usize),
    /// Nothing written: the facts the plan was made from changed. Read and plan again.
    Stale,
}

/// A failed poll, as recorded on the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollFailure {
    pub error: String,
    /// When to try again (`None` with `paused_reason`).
    pub next_check_at: Option<DateTime<Utc>>,
    /// Set when the source is paused until someone acts.
    pub paused_reason: Option<String>,
}

impl Store {
    /// Which of `fingerprints` this source has seen.
    pub async fn seen_fingerprints(
        &self,
        source: SourceId,
        fingerprints: Vec<String>,
    ) -> Result<HashSet<String>> {
        self.call(move |c| seen_among(c, source, &fingerprints))
            .await
    }

    /// The facts a poll plan needs about the members and targets its matches reach: their
    /// settings and this hour's counts, and the story candidates per target.
    pub async fn poll_facts(
        &self,
        source: SourceId,
        needs: PollNeeds,
        now: DateTime<Utc>,
    ) -> Result<PollFacts> {
        self.call(move |c| read_facts(c, source, &needs, now)).await
    }

    /// Applies a poll's plan in one transaction (see the module contract).
    pub async fn apply_poll(
        &self,
        source: SourceId,
        now: DateTime<Utc>,
        items: Arc<Vec<NewItem>>,
        plan: Arc<PollPlan>,
        facts: Arc<PollFacts>,
        record: FetchRecord,
    ) -> Result<Applied> {
        self.call(move |c| {
            let tx = c.transaction_immediate()?;
            if is_stale(&tx, &plan, &facts)? {
                return Ok(Applied::Stale);
            }
            let written = record_items(
                &tx,
                source.0,
                now,
                &items,
                &plan.is_new,
                &plan.alerts,
                &plan.held,
            )?;
            for ((guild, user), hour, n) in &plan.hour_counts {
                digest::count_instants(&tx, guild, user, hour, *n)?;
            }
            record_fetched(&tx, source.0, now, &record)?;
            tx.commit()?;
            Ok(Applied::Written(written))
        })
        .await
    }

    /// Records a failed poll on the source: backing off, or paused.
    pub async fn record_poll_failure(
        &self,
        source: SourceId,
        now: DateTime<Utc>,
        failure: PollFailure,
    ) -> Result<()> {
        self.call(move |c| {
            super::record_failure(
                c,
                source.0,
                now,
                &failure.error,
                failure.next_check_at,
                failure.paused_reason.as_deref(),
            )
        })
        .await
    }

    /// Records a successful poll that brought nothing to parse (304, or the same bytes).
    pub async fn record_unchanged(
        &self,
        source: SourceId,
        now: DateTime<Utc>,
        record: FetchRecord,
    ) -> Result<()> {
        self.call(move |c| super::record_unchanged(c, source.0, now, &record))
            .await
    }
}

fn seen_among(c: &Conn, source: SourceId, fingerprints: &[String]) -> Result<HashSet<String>> {
    let mut stmt =
        c.prepare_cached("SELECT 1 FROM seen WHERE source_id = ?1 AND fingerprint = ?2")?;
    let mut seen = HashSet::new();
    for fp in fingerprints {
        if !seen.contains(fp) && stmt.exists(args![source.0, fp])? {
            seen.insert(fp.clone());
        }
    }
    Ok(seen)
}

fn read_facts(
    c: &Conn,
    source: SourceId,
    needs: &PollNeeds,
    now: DateTime<Utc>,
) -> Result<PollFacts> {
    // One read transaction: the facts are one consistent snapshot.
    let tx = c.transaction()?;
    let outbox_high: i64 =
        tx.query_row("SELECT coalesce(max(id), 0) FROM outbox", args![], |r| {
            r.get(0)
        })?;
    let mut members = HashMap::with_capacity(needs.members.len());
    for (guild, user) in &needs.members {
        let prefs = member_settings(&tx, guild, user)?.prefs();
        let mut facts = MemberFacts::new(prefs, now, 0);
        facts.sent_this_hour = sent_in_hour(&tx, guild, user, &facts.hour)?;
        members.insert((guild.clone(), user.clone()), facts);
    }
    let mut stories = HashMap::with_capacity(needs.targets.len());
    for target in &needs.targets {
        let candidates = story_candidates(&tx, target, now - STORY_WINDOW, source)?;
        if !candidates.is_empty() {
            stories.insert(target.clone(), candidates);
        }
    }
    Ok(PollFacts {
        members,
        stories,
        outbox_high: OutboxId(outbox_high),
    })
}

/// Whether what `plan` was made from changed: an alert written since to one of its targets
/// (it may be the same story), or a member's hourly count moved.
fn is_stale(tx: &Conn, plan: &PollPlan, facts: &PollFacts) -> Result<bool> {
    let targets: HashSet<&str> = plan
        .alerts
        .iter()
        .flatten()
        .map(|(a, _)| a.target.as_str())
        .collect();
    if !targets.is_empty() {
        let mut newer = tx.prepare_cached(
            "SELECT 1 FROM outbox WHERE id > ?1 AND target = ?2 AND also_of IS NULL LIMIT 1",
        )?;
        for target in targets {
            if newer.exists(args![facts.outbox_high.0, target])? {
                return Ok(true);
            }
        }
    }
    for ((guild, user), hour, _) in &plan.hour_counts {
        let expected = facts
            .members
            .get(&(guild.clone(), user.clone()))
            .map_or(0, |f| f.sent_this_hour);
        if sent_in_hour(tx, guild, user, hour)? != expected {
            return Ok(true);
        }
    }
    Ok(false)
}

/// First alerts (not themselves "also covered") sent to `target` since `since` for items of
/// other sources, newest first.
fn story_candidates(
    conn: &Conn,
    target: &str,
    since: DateTime<Utc>,
    other_than: SourceId,
) -> Result<Vec<StoryCandidate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.id, i.title, i.link, o.subscribers FROM outbox o JOIN items i ON i.id = o.item_id
         WHERE o.target = ?1 AND o.created_at >= ?2 AND o.also_of IS NULL AND o.dropped_at IS NULL AND i.source_id != ?3
         ORDER BY o.id DESC LIMIT 500",
    )?;
    let rows = stmt.query_map(args![target, ts(since), other_than.0], |r| {
        let subscribers: String = r.get(3)?;
        Ok(StoryCandidate {
            outbox_id: OutboxId(r.get(0)?),
            title: r.get(1)?,
            link: r.get(2)?,
            subscribers: serde_json::from_str(&subscribers).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<db::Result<Vec<_>>>()?)
}
