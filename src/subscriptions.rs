//! The live set of subscriptions: every query compiled into one matcher, with who each
//! belongs to, answering "which subscriptions does this item match". A new version is made
//! from the stored rows by applying the difference (by subscription id) to the compiled set,
//! so one `/subscribe` never recompiles a million subscriptions.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::core::alert::{plan_alerts, PlannedAlert, Recipient};
use crate::core::matcher::{Document, IncrementalMatcher, Match, Matcher};
use crate::core::query::{self, Query};
use crate::store::SubscriptionRow;

/// One subscription an item matched, with the terms that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionMatch<'a> {
    pub row: &'a SubscriptionRow,
    pub matched: Vec<String>,
}

/// All subscriptions compiled into one matcher, with who each belongs to.
///
/// Rows live in *slots*: the rows compiled together sit in a shared base (slot = position),
/// rows added or changed since then get new slots after them. Cloning is cheap (the base is
/// shared), and [`SubscriptionSet::updated`] makes the next version from the stored rows.
#[derive(Clone)]
pub struct SubscriptionSet {
    base: Arc<Base>,
    matcher: IncrementalMatcher<u32>,
    /// Rows added or changed since the base was compiled, ascending by slot.
    added: Vec<(u32, SubscriptionRow)>,
    next_slot: u32,
    live: usize,
}

/// The rows compiled together into the base matcher.
struct Base {
    rows: Vec<SubscriptionRow>,
    /// Slots ordered by row id, to find a row by id; `None` when ids repeat (hand-built sets),
    /// which makes every update a full rebuild.
    by_id: Option<Vec<u32>>,
    /// Set once a background rebuild of this base has started (see [`SubscriptionSet::start_compaction`]).
    compacting: AtomicBool,
}

fn slot(n: usize) -> u32 {
    // More than 4 billion subscriptions do not fit in memory long before this saturates.
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Rows whose query parses, as `(slot, query)` from `first_slot` on, and the rest with why.
type Parsed = (
    Vec<SubscriptionRow>,
    Vec<(u32, Query)>,
    Vec<(SubscriptionRow, String)>,
);

fn parse_rows(rows: impl IntoIterator<Item = SubscriptionRow>, first_slot: u32) -> Parsed {
    let mut kept = Vec::new();
    let mut queries = Vec::new();
    let mut rejected = Vec::new();
    for row in rows {
        match query::parse(&row.query) {
            Ok(q) => {
                queries.push((first_slot.saturating_add(slot(kept.len())), q));
                kept.push(row);
            }
            Err(e) => rejected.push((row, e.to_string())),
        }
    }
    (kept, queries, rejected)
}

impl SubscriptionSet {
    /// Compiles `rows`. Rows whose query no longer parses are skipped and returned with the
    /// reason, so one bad row never stops matching for everyone else.
    pub fn new(rows: Vec<SubscriptionRow>) -> (Self, Vec<(SubscriptionRow, String)>) {
        let (kept, queries, rejected) = parse_rows(rows, 0);
        let mut by_id: Vec<u32> = (0..slot(kept.len())).collect();
        by_id.sort_unstable_by_key(|&s| kept[s as usize].id);
        let unique = by_id
            .windows(2)
            .all(|w| kept[w[0] as usize].id != kept[w[1] as usize].id);
        let set = SubscriptionSet {
            matcher: IncrementalMatcher::from_matcher(Matcher::new(queries)),
            next_slot: slot(kept.len()),
            live: kept.len(),
            added: Vec::new(),
            base: Arc::new(Base {
                rows: kept,
                by_id: unique.then_some(by_id),
                compacting: AtomicBool::new(false),
            }),
        };
        (set, rejected)
    }

    /// The set for `rows` (the stored subscriptions now), made from this one by applying the
    /// difference by subscription id: removed and changed rows are retired, new and changed
    /// rows compiled on their own beside the shared base. Falls back to compiling everything
    /// ([`SubscriptionSet::new`]) when more than
    /// [`IncrementalMatcher::COMPACT_AFTER`] rows changed at once. Rejected rows are returned
    /// as by `new` (only rows that changed are parsed again).
    pub fn updated(&self, rows: Vec<SubscriptionRow>) -> (Self, Vec<(SubscriptionRow, String)>) {
        match self.try_update(&rows) {
            Some(result) => result,
            None => Self::new(rows),
        }
    }

    /// The incremental update, or `None` when a full rebuild is the right (or only) answer.
    fn try_update(
        &self,
        rows: &[SubscriptionRow],
    ) -> Option<(Self, Vec<(SubscriptionRow, String)>)> {
        let by_id = self.base.by_id.as_ref()?;
        let added_by_id: HashMap<i64, usize> = self
            .added
            .iter()
            .enumerate()
            .map(|(i, (_, row))| (row.id, i))
            .collect();
        if added_by_id.len() != self.added.len() {
            return None;
        }
        let mut base_kept = vec![false; self.base.rows.len()];
        let mut added_kept = vec![false; self.added.len()];
        let mut fresh: Vec<&SubscriptionRow> = Vec::new();
        for row in rows {
            if let Some(&i) = added_by_id.get(&row.id) {
                if self.added[i].1 == *row {
                    if std::mem::replace(&mut added_kept[i], true) {
                        return None; // the same id twice
                    }
                    continue;
                }
            } else if let Ok(at) =
                by_id.binary_search_by_key(&row.id, |&s| self.base.rows[s as usize].id)
            {
                let base_slot = by_id[at];
                if !self.matcher.is_retired(&base_slot)
                    && self.base.rows[base_slot as usize] == *row
                {
                    if std::mem::replace(&mut base_kept[base_slot as usize], true) {
                        return None;
                    }
                    continue;
                }
            }
            fresh.push(row);
        }
        let removed: Vec<u32> = (0..slot(self.base.rows.len()))
            .filter(|&s| !base_kept[s as usize] && !self.matcher.is_retired(&s))
            .chain(
                self.added
                    .iter()
                    .zip(&added_kept)
                    .filter(|(_, &kept)| !kept)
                    .map(|((s, _), _)| *s),
            )
            .collect();
        if removed.len() + fresh.len() > IncrementalMatcher::<u32>::COMPACT_AFTER {
            return None;
        }
        let mut fresh_ids = HashSet::new();
        if !fresh.iter().all(|row| fresh_ids.insert(row.id)) {
            return None;
        }
        let mut next = self.clone();
        if removed.is_empty() && fresh.is_empty() {
            return Some((next, Vec::new()));
        }
        let (kept, queries, rejected) = parse_rows(fresh.into_iter().cloned(), self.next_slot);
        next.matcher.apply(removed.iter().copied(), queries).ok()?;
        next.added = self
            .added
            .iter()
            .zip(&added_kept)
            .filter(|(_, &kept)| kept)
            .map(|(entry, _)| entry.clone())
            .collect();
        let first = self.next_slot;
        next.next_slot = first.saturating_add(slot(kept.len()));
        next.live = self.live + kept.len() - removed.len();
        next.added.extend(
            kept.into_iter()
                .enumerate()
                .map(|(i, row)| (first.saturating_add(slot(i)), row)),
        );
        Some((next, rejected))
    }

    /// Whether enough changes piled up beside the compiled base that a full rebuild (off the
    /// hot path) is worth it.
    pub fn needs_compaction(&self) -> bool {
        self.matcher.needs_compaction()
    }

    /// Claims the background rebuild of this set's base: `true` for the first caller only, so
    /// one rebuild runs at a time. [`SubscriptionSet::abort_compaction`] gives the claim back.
    pub fn start_compaction(&self) -> bool {
        !self.base.compacting.swap(true, Ordering::AcqRel)
    }

    /// Gives back a claim from [`SubscriptionSet::start_compaction`] (the rebuild failed).
    pub fn abort_compaction(&self) {
        self.base.compacting.store(false, Ordering::Release);
    }

    /// How many changes are held beside the compiled base.
    pub fn pending_changes(&self) -> usize {
        self.matcher.pending_changes()
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn row(&self, slot: u32) -> Option<&SubscriptionRow> {
        match self.base.rows.get(slot as usize) {
            Some(row) => Some(row),
            None => self
                .added
                .binary_search_by_key(&slot, |(s, _)| *s)
                .ok()
                .map(|at| &self.added[at].1),
        }
    }

    /// The subscriptions one item matches, by subscription id.
    ///
    /// `source_guild`: a source added in a Discord server feeds only that server's
    /// subscriptions; `None` (config sources) feeds everyone.
    pub fn matches_for(
        &self,
        title: &str,
        body: &str,
        source_guild: Option<&str>,
    ) -> Vec<SubscriptionMatch<'_>> {
        // Sorted by (id, slot) read once here: sorting through the row pointers would chase
        // a cache miss per comparison (tens of ms for a popular term at 1M subscriptions).
        let mut found: Vec<(i64, u32, SubscriptionMatch<'_>)> = Vec::new();
        self.matcher
            .for_each_match(&Document { title, body }, |slot, terms| {
                let Some(row) = self.row(slot) else { return };
                if source_guild.is_some_and(|guild| row.guild_id.as_deref() != Some(guild)) {
                    return;
                }
                found.push((
                    row.id,
                    slot,
                    SubscriptionMatch {
                        row,
                        matched: terms.iter().map(|t| (*t).to_string()).collect(),
                    },
                ));
            });
        found.sort_unstable_by_key(|&(id, slot, _)| (id, slot));
        found.into_iter().map(|(_, _, m)| m).collect()
    }

    /// The alerts one item produces, one per target (every match delivered instantly).
    pub fn alerts_for(
        &self,
        title: &str,
        body: &str,
        source_guild: Option<&str>,
    ) -> Vec<PlannedAlert> {
        let found = self.matches_for(title, body, source_guild);
        let matches: Vec<Match<usize>> = found
            .iter()
            .enumerate()
            .map(|(i, m)| Match {
                key: i,
                matched: m.matched.clone(),
            })
            .collect();
        plan_alerts(&matches, |k| {
            let row = found.get(k)?.row;
            Some(Recipient {
                user: row.user.clone(),
                target: row.target.clone(),
            })
        })
    }
}

impl std::fmt::Debug for SubscriptionSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionSet")
            .field("live", &self.live)
            .field("matcher", &self.matcher)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, query: &str) -> SubscriptionRow {
        SubscriptionRow {
            id,
            origin: "discord".into(),
            user: format!("user{}", id % 7),
            query: query.into(),
            target: format!("channel:{}", id % 3),
            guild_id: Some(format!("guild{}", id % 2)),
            ..SubscriptionRow::default()
        }
    }

    /// `(id, matched terms)` for every match, in the order given.
    fn summary(set: &SubscriptionSet, title: &str, guild: Option<&str>) -> Vec<(i64, Vec<String>)> {
        set.matches_for(title, "", guild)
            .into_iter()
            .map(|m| (m.row.id, m.matched))
            .collect()
    }

    #[test]
    fn added_subscription_matches_without_a_rebuild() {
        let rows = vec![row(1, "Meta"), row(2, "Gemini")];
        let (set, _) = SubscriptionSet::new(rows.clone());
        let mut more = rows;
        more.push(row(3, "\"Google Cloud\""));
        let (next, rejected) = set.updated(more);
        assert!(rejected.is_empty());
        assert!(
            Arc::ptr_eq(&set.base, &next.base),
            "the compiled base is shared"
        );
        assert_eq!(next.len(), 3);
        assert_eq!(
            summary(&next, "Meta moves to Google Cloud", None),
            vec![
                (1, vec!["Meta".to_string()]),
                (3, vec!["\"Google Cloud\"".to_string()])
            ]
        );
        assert!(
            summary(&set, "Google Cloud", None).is_empty(),
            "the old version is unchanged"
        );
    }

    #[test]
    fn removed_and_changed_subscriptions_stop_matching() {
        let (set, _) = SubscriptionSet::new(vec![row(1, "Meta"), row(2, "Meta"), row(3, "Gemini")]);
        // 1 removed, 3's query changed.
        let (next, _) = set.updated(vec![row(2, "Meta"), row(3, "Facebook")]);
        assert!(Arc::ptr_eq(&set.base, &next.base));
        assert_eq!(next.len(), 2);
        assert_eq!(
            summary(&next, "Meta and Gemini", None),
            vec![(2, vec!["Meta".to_string()])]
        );
        assert_eq!(
            summary(&next, "Facebook", None),
            vec![(3, vec!["Facebook".to_string()])]
        );
    }

    #[test]
    fn a_changed_target_is_a_change_too() {
        let (set, _) = SubscriptionSet::new(vec![row(1, "Meta")]);
        let mut moved = row(1, "Meta");
        moved.target = "channel:99".into();
        let (next, _) = set.updated(vec![moved]);
        let found = next.matches_for("Meta", "", None);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].row.target, "channel:99");
    }

    #[test]
    fn a_row_that_no_longer_parses_is_rejected_and_stops_matching() {
        let (set, _) = SubscriptionSet::new(vec![row(1, "Meta"), row(2, "Gemini")]);
        let (next, rejected) = set.updated(vec![row(1, "Meta"), row(2, "\"unclosed")]);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].0.id, 2);
        assert_eq!(next.len(), 1);
        assert!(summary(&next, "Gemini", None).is_empty());
    }

    #[test]
    fn many_changes_at_once_rebuild_everything() {
        let (set, _) = SubscriptionSet::new(vec![row(1, "Meta")]);
        let rows: Vec<_> = (0..1_500).map(|i| row(i, &format!("word{i}"))).collect();
        let (next, _) = set.updated(rows);
        assert!(!Arc::ptr_eq(&set.base, &next.base));
        assert_eq!(next.pending_changes(), 0);
        assert_eq!(next.len(), 1_500);
        assert_eq!(summary(&next, "word7 and word1499", None).len(), 2);
    }

    #[test]
    fn unchanged_rows_change_nothing() {
        let rows = vec![row(1, "Meta"), row(2, "Gemini")];
        let (set, _) = SubscriptionSet::new(rows.clone());
        let (next, _) = set.updated(rows);
        assert_eq!(next.pending_changes(), 0);
        assert_eq!(next.len(), 2);
    }

    #[test]
    fn compaction_is_claimed_once_per_base() {
        let (set, _) = SubscriptionSet::new(vec![row(1, "Meta")]);
        let (next, _) = set.updated(vec![row(1, "Meta"), row(2, "Gemini")]);
        assert!(next.start_compaction());
        assert!(
            !set.start_compaction(),
            "versions sharing a base share the claim"
        );
        next.abort_compaction();
        assert!(set.start_compaction());
    }

    /// The point of the incremental path: after any sequence of adds, removes and changes,
    /// the set matches exactly what a fresh build of the same rows matches.
    #[test]
    fn updates_agree_with_a_fresh_build_after_random_changes() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        const QUERIES: [&str; 10] = [
            "Meta",
            "gemini",
            "\"Google Cloud\"",
            "Meta OR Facebook",
            "Gemini -horoscope",
            "title:Cloud",
            "goo*",
            "Facebook Gemini",
            "\"broken",
            "Nestlé",
        ];
        const TITLES: [&str; 5] = [
            "Meta and Facebook on Google Cloud",
            "Gemini horoscope",
            "Cloud news: google reports",
            "Gemini comes to Facebook",
            "Nestle recalls formula",
        ];
        let mut rng = StdRng::seed_from_u64(9);
        let mut live: Vec<SubscriptionRow> = (0..40)
            .map(|id| row(id, QUERIES[id as usize % QUERIES.len()]))
            .collect();
        let (mut set, _) = SubscriptionSet::new(live.clone());
        for round in 0..200 {
            for _ in 0..rng.gen_range(1..4) {
                let id = rng.gen_range(0..60);
                live.retain(|r| r.id != id);
                if rng.gen_bool(0.6) {
                    let mut new = row(id, QUERIES[rng.gen_range(0..QUERIES.len())]);
                    if rng.gen_bool(0.2) {
                        new.guild_id = None;
                    }
                    live.push(new);
                }
            }
            live.sort_by_key(|r| r.id);
            let (next, rejected) = set.updated(live.clone());
            let (fresh, fresh_rejected) = SubscriptionSet::new(live.clone());
            assert_eq!(next.len(), fresh.len(), "round {round}");
            let ids = |r: &[(SubscriptionRow, String)]| {
                r.iter().map(|(row, _)| row.id).collect::<Vec<_>>()
            };
            assert_eq!(ids(&rejected), ids(&fresh_rejected), "round {round}");
            for title in TITLES {
                for guild in [None, Some("guild0"), Some("guild1")] {
                    assert_eq!(
                        summary(&next, title, guild),
                        summary(&fresh, title, guild),
                        "round {round}: {title} {guild:?}"
                    );
                    assert_eq!(
                        next.alerts_for(title, "", guild),
                        fresh.alerts_for(title, "", guild),
                        "round {round}"
                    );
                }
            }
            set = if next.needs_compaction() {
                SubscriptionSet::new(live.clone()).0
            } else {
                next
            };
        }
        assert!(
            set.pending_changes() > 0,
            "the incremental path was exercised"
        );
    }
}
