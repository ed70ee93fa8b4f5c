//! One poll's decisions, made in memory: which items are new (and which of those may alert),
//! who gets each new item (instantly, in a digest, or not), which summary each alert shows,
//! and which alerts only add "also covered by" to an earlier report of the same story.
//!
//! The poll reads what these need from the store first ([`PollFacts`]), calls [`newness`]
//! and [`plan_poll`], and applies the [`PollPlan`] in one short transaction. Nothing here
//! touches the store, the clock or the network.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::core::alert::PlannedAlert;
use crate::core::digest::MemberPrefs;
use crate::core::model::{OutboxId, SubscriptionMatch};
use crate::core::route::{route_item, Held, HourCounts, MemberFacts, MemberKey};
use crate::core::story::{same_story, StoryKey};
use crate::core::summary::extractive_summary;

/// How far back a story counts as already alerted.
pub const STORY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// One item of a fetch, ready to be recorded.
#[derive(Debug, Clone, Default)]
pub struct NewItem {
    /// `summary` came from the AI summarizer (keep it for every target).
    pub ai_summary: bool,
    /// The HTML the summary is made from (description, else content).
    pub summary_source: String,
    pub key: String,
    pub fingerprints: Vec<String>,
    pub title: String,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub summary: String,
    pub body: String,
    pub image: Option<String>,
}

/// Which items of a fetch are new, and which of those alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Newness {
    /// Never seen by any fingerprint (and not a repeat within this fetch).
    pub is_new: Vec<bool>,
    /// New, and allowed to alert (a first poll alerts only the newest `backfill` items).
    pub alerting: Vec<bool>,
}

impl Newness {
    /// Indices of the alerting items.
    pub fn alerting_indices(&self) -> Vec<usize> {
        (0..self.alerting.len()).filter(|&i| self.alerting[i]).collect()
    }

    pub fn new_count(&self) -> usize {
        self.is_new.iter().filter(|n| **n).count()
    }
}

/// The backfill rule and in-fetch dedup, in one place. `fingerprints[i]` are item `i`'s
/// (items oldest first); `seen` holds those of them the source saw before.
pub fn newness(
    fingerprints: &[Vec<String>],
    seen: &HashSet<String>,
    first_poll: bool,
    backfill: u32,
) -> Newness {
    let mut this_fetch: HashSet<&str> = HashSet::new();
    let is_new: Vec<bool> = fingerprints
        .iter()
        .map(|fps| {
            let unseen = fps.iter().all(|f| !seen.contains(f));
            // Two items of one fetch can share a fingerprint (same link twice): only the
            // first of them is new.
            let fresh = fps.iter().all(|f| !this_fetch.contains(f.as_str()));
            this_fetch.extend(fps.iter().map(String::as_str));
            unseen && fresh
        })
        .collect();
    let n = is_new.len();
    let backfill = backfill as usize;
    let alerting = if first_poll {
        // Record everything, alert only the newest `backfill` items.
        (0..n).map(|i| is_new[i] && i + backfill >= n).collect()
    } else {
        is_new.clone()
    };
    Newness { is_new, alerting }
}

/// A first alert a new item might be another report of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryCandidate {
    pub outbox_id: OutboxId,
    pub title: String,
    pub link: Option<String>,
    pub subscribers: Vec<String>,
}

/// What the store must be asked before planning: the members and targets the matches reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollNeeds {
    pub members: Vec<MemberKey>,
    pub targets: Vec<String>,
}

/// Everything the plan reads from the store, read in one go before planning.
#[derive(Debug, Clone, Default)]
pub struct PollFacts {
    /// Settings and this hour's count of the members the matches reach.
    pub members: HashMap<MemberKey, MemberFacts>,
    /// First alerts (newest first) of other sources' items in each target within
    /// [`STORY_WINDOW`].
    pub stories: HashMap<String, Vec<StoryCandidate>>,
    /// The newest outbox id when the facts were read: an alert written after it to one of
    /// the targets means the facts are stale (another poll reported the story meanwhile).
    pub outbox_high: OutboxId,
}

/// The members and targets `matches` can reach (before snooze and source limits, which
/// only narrow it).
pub fn needs(matches: &[Vec<SubscriptionMatch<'_>>]) -> PollNeeds {
    let mut members: HashSet<(&str, &str)> = HashSet::new();
    let mut targets: HashSet<&str> = HashSet::new();
    for m in matches.iter().flatten() {
        targets.insert(m.row.target);
        if !m.row.user.is_empty() {
            members.insert((m.row.guild_id.unwrap_or(""), m.row.user));
        }
    }
    let mut out = PollNeeds {
        members: members
            .into_iter()
            .map(|(g, u)| (g.to_string(), u.to_string()))
            .collect(),
        targets: targets.into_iter().map(str::to_string).collect(),
    };
    out.members.sort();
    out.targets.sort();
    out
}

/// What applying a poll writes.
#[derive(Debug, Clone, Default)]
pub struct PollPlan {
    pub is_new: Vec<bool>,
    /// Per item: its alerts, each with the first alert it only adds "also covered by" to.
    pub alerts: Vec<Vec<(PlannedAlert, Option<OutboxId>)>>,
    /// Per item: its entries for members' digests.
    pub held: Vec<Vec<Held>>,
    /// Instant alerts granted per member in their current hour (to add to the stored count).
    pub hour_counts: Vec<(MemberKey, String, u32)>,
}

impl PollPlan {
    /// Outbox rows and digest entries this plan writes.
    pub fn writes(&self) -> usize {
        self.alerts.iter().map(Vec::len).sum::<usize>() + self.held.iter().map(Vec::len).sum::<usize>()
    }
}

/// Plans one poll. `matches[i]` are item `i`'s matches (empty for items that do not alert).
pub fn plan_poll(
    items: &[NewItem],
    newness: &Newness,
    matches: &[Vec<SubscriptionMatch<'_>>],
    source_name: &str,
    facts: &PollFacts,
    now: DateTime<Utc>,
    summary_length: usize,
) -> PollPlan {
    let mut counted = HourCounts::new();
    let mut plan = PollPlan {
        is_new: newness.is_new.clone(),
        ..PollPlan::default()
    };
    for (i, item) in items.iter().enumerate() {
        let found = matches.get(i).map(Vec::as_slice).unwrap_or_default();
        if !newness.alerting.get(i).copied().unwrap_or(false) || found.is_empty() {
            plan.alerts.push(Vec::new());
            plan.held.push(Vec::new());
            continue;
        }
        let (alerts, held) = route_item(found, source_name, now, &facts.members, &mut counted);
        let mut with_story = Vec::with_capacity(alerts.len());
        let mut summaries: HashMap<Vec<String>, String> = HashMap::new();
        for mut alert in alerts {
            alert.summary = matched_summary(item, &alert.matched, summary_length, &mut summaries);
            let candidates = facts.stories.get(&alert.target).map(Vec::as_slice).unwrap_or_default();
            let also_of = earlier_report(item, candidates, &mut alert);
            with_story.push((alert, also_of));
        }
        plan.alerts.push(with_story);
        plan.held.push(held);
    }
    let mut counts: Vec<(MemberKey, String, u32)> = counted
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(member, n)| {
            let hour = facts.members.get(&member).map_or_else(
                || MemberFacts::new(MemberPrefs::default(), now, 0).hour,
                |f| f.hour.clone(),
            );
            (member, hour, n)
        })
        .collect();
    counts.sort();
    plan.hour_counts = counts;
    plan
}

/// The summary that shows why this alert matched (the sentence with its words), when it
/// differs from the item's own lead; an AI summary is kept for every target.
fn matched_summary(
    item: &NewItem,
    matched: &[String],
    summary_length: usize,
    cache: &mut HashMap<Vec<String>, String>,
) -> Option<String> {
    if item.ai_summary {
        return None;
    }
    let summary = cache
        .entry(matched.to_vec())
        .or_insert_with(|| extractive_summary(&item.summary_source, matched, summary_length));
    (!summary.is_empty() && *summary != item.summary).then(|| summary.clone())
}

/// The first alert, in the same target, of the story `item` reports again (another source's
/// item with the same canonical link or a near-identical title within [`STORY_WINDOW`]), when
/// everyone this alert is for already got the story. Then the new item only adds an "also
/// covered by" line to it. When only some of them got it, the others still get this alert and
/// those who already got the story are left out of it (no second ping for one story).
pub fn earlier_report(
    item: &NewItem,
    candidates: &[StoryCandidate],
    alert: &mut PlannedAlert,
) -> Option<OutboxId> {
    let key = StoryKey {
        canonical_link: item.link.clone(),
        title: item.title.clone(),
        published: None,
    };
    let same: Vec<&StoryCandidate> = candidates
        .iter()
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
        return Some(c.outbox_id);
    }
    let already: HashSet<&String> = same.iter().flat_map(|c| c.subscribers.iter()).collect();
    let fresh: Vec<String> = alert
        .subscribers
        .iter()
        .filter(|s| !already.contains(s))
        .cloned()
        .collect();
    if fresh.is_empty() {
        // Everyone got it, through several earlier reports: update the latest.
        return same.first().map(|c| c.outbox_id);
    }
    alert.subscribers = fresh;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fps(items: &[&[&str]]) -> Vec<Vec<String>> {
        items
            .iter()
            .map(|i| i.iter().map(|s| (*s).to_string()).collect())
            .collect()
    }

    #[test]
    fn seen_items_and_repeats_within_a_fetch_are_not_new() {
        let seen: HashSet<String> = ["b".to_string()].into();
        let n = newness(&fps(&[&["a"], &["b", "x"], &["c"], &["a", "d"]]), &seen, false, 0);
        assert_eq!(n.is_new, vec![true, false, true, false]);
        assert_eq!(n.alerting, n.is_new);
    }

    #[test]
    fn a_first_poll_alerts_only_the_newest_backfill_items() {
        let n = newness(&fps(&[&["a"], &["b"], &["c"]]), &HashSet::new(), true, 2);
        assert_eq!(n.is_new, vec![true, true, true]);
        assert_eq!(n.alerting, vec![false, true, true]);
        let none = newness(&fps(&[&["a"], &["b"]]), &HashSet::new(), true, 0);
        assert_eq!(none.alerting, vec![false, false]);
    }

    fn alert(target: &str, subscribers: &[&str]) -> PlannedAlert {
        PlannedAlert {
            target: target.into(),
            subscribers: subscribers.iter().map(|s| (*s).to_string()).collect(),
            matched: vec!["Meta".into()],
            summary: None,
        }
    }

    fn candidate(id: i64, title: &str, subscribers: &[&str]) -> StoryCandidate {
        StoryCandidate {
            outbox_id: OutboxId(id),
            title: title.into(),
            link: None,
            subscribers: subscribers.iter().map(|s| (*s).to_string()).collect(),
        }
    }

    #[test]
    fn a_story_everyone_got_merges_into_the_first_alert() {
        let item = NewItem {
            title: "Meta unveils new AI glasses at Connect".into(),
            ..NewItem::default()
        };
        let cands = [candidate(7, "Meta unveils new AI glasses at Connect", &["1", "2"])];
        let mut a = alert("channel:5", &["1"]);
        assert_eq!(earlier_report(&item, &cands, &mut a), Some(OutboxId(7)));
    }

    #[test]
    fn a_story_some_members_got_pings_only_the_others() {
        let item = NewItem {
            title: "Meta unveils new AI glasses at Connect".into(),
            ..NewItem::default()
        };
        let cands = [candidate(7, "Meta unveils new AI glasses at Connect", &["1"])];
        let mut a = alert("channel:5", &["1", "2"]);
        assert_eq!(earlier_report(&item, &cands, &mut a), None);
        assert_eq!(a.subscribers, vec!["2"]);
    }

    #[test]
    fn a_different_story_is_its_own_alert() {
        let item = NewItem {
            title: "Gemini 3 released to developers".into(),
            ..NewItem::default()
        };
        let cands = [candidate(7, "Meta unveils new AI glasses at Connect", &["1"])];
        let mut a = alert("channel:5", &["1"]);
        assert_eq!(earlier_report(&item, &cands, &mut a), None);
        assert_eq!(a.subscribers, vec!["1"]);
    }
}
