//! The live set of subscriptions: every query compiled into one matcher, with who each
//! belongs to, answering "which subscriptions does this item match". A new version is made
//! from the stored rows by applying the difference (by subscription id) to the compiled set,
//! so one `/subscribe` never recompiles a million subscriptions; a change the caller can
//! scope (one member in one server) reads and compares only that member's rows.
//!
//! Memory: rows are held packed (integers into one table of distinct strings: user ids,
//! targets, servers and query texts repeat across a million rows), read from the database
//! straight into that form ([`RowLoader`]), and each distinct query text is parsed once.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::core::alert::{plan_alerts, PlannedAlert, Recipient};
use crate::core::digest::Cadence;
use crate::core::matcher::{Compiled, Document, IncrementalMatcher, Match};
pub use crate::core::model::{SubscriptionMatch, SubscriptionRow, SubscriptionView};
use crate::core::query::{self, Query};

/// One subscription an item matched, by its slot in one [`SubscriptionSet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotMatch {
    slot: u32,
    pub matched: Vec<String>,
}

impl SubscriptionMatch<'_> {
    /// Where the matched terms occur in the item (`title` and `body` as given to
    /// [`SubscriptionSet::matches_for`]): field, byte range and term, found under the
    /// matcher's rules. Computed on demand, so matching itself never pays for positions.
    pub fn spans(&self, title: &str, body: &str) -> Vec<crate::core::text::TermSpan> {
        crate::core::text::locate(title, body, &self.matched)
    }
}

/// No string (an optional field that is `None`).
const NONE: u32 = u32::MAX;

/// A row as integers: five indices into a [`Strings`] table and one into a table of
/// [`Profile`]s (32 bytes; ~10 heap strings before round 3, 72 bytes before issue 16).
#[derive(Debug, Clone, Copy)]
struct Packed {
    id: i64,
    user: u32,
    query: u32,
    target: u32,
    guild_id: u32,
    source: u32,
    profile: u32,
}

/// The fields of a row that take few distinct values across a million rows (two origins,
/// three modes, a handful of digest times, snoozes), held once each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Profile {
    origin: u32,
    mode: u32,
    digest_at: u32,
    cadence: Cadence,
    snoozed_until: Option<DateTime<Utc>>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            origin: NONE,
            mode: NONE,
            digest_at: NONE,
            cadence: Cadence::Instant,
            snoozed_until: None,
        }
    }
}

/// Distinct strings back to back in one buffer: a `Box<str>` each cost ~40 bytes of pointer,
/// length and allocator overhead for strings of ~15 bytes.
#[derive(Debug, Default)]
struct Strings {
    text: String,
    /// String `i` ends at `ends[i]` and starts where string `i - 1` ends.
    ends: Vec<u32>,
}

impl Strings {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: u32) -> Option<&str> {
        let i = i as usize;
        let end = *self.ends.get(i)? as usize;
        let start = match i.checked_sub(1) {
            Some(before) => self.ends[before] as usize,
            None => 0,
        };
        self.text.get(start..end)
    }

    fn push(&mut self, s: &str) -> u32 {
        let i = slot(self.ends.len());
        self.text.push_str(s);
        // Subscriptions' strings never reach 4 GiB together long before memory runs out.
        self.ends.push(slot(self.text.len()));
        i
    }

    /// The index of `s` (a linear scan: only scoped updates ask, once each).
    fn position(&self, s: &str) -> Option<u32> {
        (0..slot(self.len())).find(|&i| self.get(i) == Some(s))
    }

    fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * std::mem::size_of::<u32>()
    }
}

impl Packed {
    fn view<'a>(&self, strings: &'a Strings, profiles: &[Profile]) -> SubscriptionView<'a> {
        let get = |i: u32| strings.get(i).unwrap_or("");
        let opt = |i: u32| (i != NONE).then(|| get(i));
        let profile = profiles
            .get(self.profile as usize)
            .copied()
            .unwrap_or_default();
        SubscriptionView {
            id: self.id,
            origin: get(profile.origin),
            user: get(self.user),
            query: get(self.query),
            target: get(self.target),
            guild_id: opt(self.guild_id),
            mode: get(profile.mode),
            digest_at: opt(profile.digest_at),
            cadence: profile.cadence,
            snoozed_until: profile.snoozed_until,
            source: opt(self.source),
        }
    }
}

/// Subscriptions read from the database, packed (see [`RowLoader`]).
pub struct LoadedRows {
    rows: Vec<Packed>,
    strings: Strings,
    profiles: Vec<Profile>,
}

impl LoadedRows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn view(&self, i: usize) -> SubscriptionView<'_> {
        self.rows[i].view(&self.strings, &self.profiles)
    }
}

impl From<Vec<SubscriptionRow>> for LoadedRows {
    fn from(rows: Vec<SubscriptionRow>) -> Self {
        let mut loader = RowLoader::default();
        for row in &rows {
            loader.push(&row.view());
        }
        loader.finish()
    }
}

/// Packs rows one by one as they are read (no `Vec<SubscriptionRow>` of a million rows),
/// storing each distinct string once.
#[derive(Default)]
pub struct RowLoader {
    rows: Vec<Packed>,
    strings: Strings,
    /// Ids into `strings`, hashed by their text (no second copy of every string).
    index: hashbrown::HashTable<u32>,
    profiles: Vec<Profile>,
    profile_index: HashMap<Profile, u32, BuildHasherDefault<FastHasher>>,
    /// The last string interned, per field: neighbouring rows often share a member, a
    /// server and a target, and `origin` and `mode` hardly vary.
    last: [u32; 8],
    last_profile: Option<u32>,
}

/// A multiply-rotate hasher (FxHash's): the interner hashes ~8 short strings per row, and
/// SipHash made loading a million rows twice as slow. Keys are the database's own strings.
#[derive(Default)]
struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn fast_hash(s: &str) -> u64 {
    use std::hash::BuildHasher as _;
    BuildHasherDefault::<FastHasher>::default().hash_one(s)
}

impl RowLoader {
    fn intern(&mut self, field: usize, s: &str) -> u32 {
        let last = self.last[field];
        if self.strings.get(last) == Some(s) {
            return last;
        }
        let hash = fast_hash(s);
        let strings = &self.strings;
        let i = if let Some(&i) = self.index.find(hash, |&i| strings.get(i) == Some(s)) {
            i
        } else {
            let i = self.strings.push(s);
            let strings = &self.strings;
            self.index
                .insert_unique(hash, i, |&j| fast_hash(strings.get(j).unwrap_or("")));
            i
        };
        self.last[field] = i;
        i
    }

    fn intern_opt(&mut self, field: usize, s: Option<&str>) -> u32 {
        s.map_or(NONE, |s| self.intern(field, s))
    }

    fn intern_profile(&mut self, profile: Profile) -> u32 {
        if let Some(last) = self.last_profile {
            if self.profiles.get(last as usize) == Some(&profile) {
                return last;
            }
        }
        let i = *self.profile_index.entry(profile).or_insert_with(|| {
            self.profiles.push(profile);
            slot(self.profiles.len() - 1)
        });
        self.last_profile = Some(i);
        i
    }

    pub fn push(&mut self, row: &SubscriptionView<'_>) {
        let profile = Profile {
            origin: self.intern(0, row.origin),
            mode: self.intern(5, row.mode),
            digest_at: self.intern_opt(6, row.digest_at),
            cadence: row.cadence,
            snoozed_until: row.snoozed_until,
        };
        let packed = Packed {
            id: row.id,
            user: self.intern(1, row.user),
            query: self.intern(2, row.query),
            target: self.intern(3, row.target),
            guild_id: self.intern_opt(4, row.guild_id),
            source: self.intern_opt(7, row.source),
            profile: self.intern_profile(profile),
        };
        self.rows.push(packed);
    }

    pub fn finish(mut self) -> LoadedRows {
        self.rows.shrink_to_fit();
        self.strings.shrink_to_fit();
        self.profiles.shrink_to_fit();
        LoadedRows {
            rows: self.rows,
            strings: self.strings,
            profiles: self.profiles,
        }
    }
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
    rows: Vec<Packed>,
    strings: Strings,
    profiles: Vec<Profile>,
    /// Slots ordered by row id, to find a row by id; `None` when ids repeat (hand-built sets),
    /// which makes every update a full rebuild.
    by_id: Option<Vec<u32>>,
    /// Set once a background rebuild of this base has started (see [`SubscriptionSet::start_compaction`]).
    compacting: AtomicBool,
}

impl Base {
    fn view(&self, slot: u32) -> Option<SubscriptionView<'_>> {
        Some(
            self.rows
                .get(slot as usize)?
                .view(&self.strings, &self.profiles),
        )
    }

    /// The table index of `s`, if any row uses it (`Some(NONE)` for `None`).
    fn find(&self, s: Option<&str>) -> Option<u32> {
        match s {
            None => Some(NONE),
            Some(s) => self.strings.position(s),
        }
    }
}

fn slot(n: usize) -> u32 {
    // More than 4 billion subscriptions do not fit in memory long before this saturates.
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Rows skipped because their query does not parse, with why.
pub type Rejected = Vec<(SubscriptionRow, String)>;

/// Rows whose query parses, as `(slot, query)` from `first_slot` on, and the rest with why.
type Parsed = (Vec<SubscriptionRow>, Vec<(u32, Query)>, Rejected);

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

/// The rows of one member in one server (`user` empty: the server's channel-wide
/// subscriptions), for [`SubscriptionSet::updated_scope`].
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub guild_id: Option<&'a str>,
    pub user: &'a str,
}

impl Scope<'_> {
    fn contains(&self, row: &SubscriptionView<'_>) -> bool {
        row.guild_id == self.guild_id && row.user == self.user
    }
}

impl SubscriptionSet {
    /// Compiles `rows`. Rows whose query no longer parses are skipped and returned with the
    /// reason, so one bad row never stops matching for everyone else.
    pub fn new(rows: Vec<SubscriptionRow>) -> (Self, Rejected) {
        Self::from_loaded(rows.into())
    }

    /// [`SubscriptionSet::new`] for rows read packed ([`RowLoader`]). Each distinct query
    /// text is parsed once.
    pub fn from_loaded(loaded: LoadedRows) -> (Self, Rejected) {
        const UNSEEN: u32 = u32::MAX;
        const REJECTED: u32 = u32::MAX - 1;
        let LoadedRows {
            mut rows,
            strings,
            profiles,
        } = loaded;
        // Each distinct query text is parsed once and compiled at once; its `Query` is freed
        // right after, so a million subscriptions never hold all their parsed queries at once.
        let mut compiled: Compiled<u32> = Compiled::default();
        let mut query_of_text = vec![UNSEEN; strings.len()];
        let mut errors: HashMap<u32, String> = HashMap::new();
        for row in &rows {
            let Some(seen) = query_of_text.get_mut(row.query as usize) else {
                continue;
            };
            if *seen != UNSEEN {
                continue;
            }
            let text = strings.get(row.query).unwrap_or("");
            *seen = match query::parse(text) {
                Ok(parsed) => match compiled.add_query(&parsed) {
                    Ok(id) => id,
                    Err(e) => panic!("{e}"),
                },
                Err(e) => {
                    errors.insert(row.query, e.to_string());
                    REJECTED
                }
            };
        }
        let mut rejected = Vec::new();
        rows.retain(|row| match query_of_text.get(row.query as usize) {
            Some(&REJECTED) => {
                let reason = errors.get(&row.query).cloned().unwrap_or_default();
                rejected.push((row.view(&strings, &profiles).to_row(), reason));
                false
            }
            Some(_) => true,
            None => false,
        });
        rows.shrink_to_fit();
        for (s, row) in rows.iter().enumerate() {
            if let Err(e) = compiled.add_subscription(slot(s), query_of_text[row.query as usize]) {
                panic!("{e}");
            }
        }
        drop(query_of_text);
        let matcher = match compiled.finish() {
            Ok(matcher) => matcher,
            Err(e) => panic!("{e}"),
        };
        let mut by_id: Vec<u32> = (0..slot(rows.len())).collect();
        by_id.sort_unstable_by_key(|&s| rows[s as usize].id);
        let unique = by_id
            .windows(2)
            .all(|w| rows[w[0] as usize].id != rows[w[1] as usize].id);
        let set = SubscriptionSet {
            matcher: IncrementalMatcher::from_matcher(matcher),
            next_slot: slot(rows.len()),
            live: rows.len(),
            added: Vec::new(),
            base: Arc::new(Base {
                rows,
                strings,
                profiles,
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
    pub fn updated(&self, rows: Vec<SubscriptionRow>) -> (Self, Rejected) {
        self.updated_from(rows.into())
    }

    /// [`SubscriptionSet::updated`] for rows read packed ([`RowLoader`]).
    pub fn updated_from(&self, loaded: LoadedRows) -> (Self, Rejected) {
        match self.try_update(&loaded, None) {
            Some(result) => result,
            None => Self::from_loaded(loaded),
        }
    }

    /// The set with the rows of one `scope` replaced by `loaded` (that scope's stored rows
    /// now; every one must be in the scope): rows of the scope that are not in `loaded` are
    /// removed, the rest of the set is left as it is. Costs the scope's rows, plus one pass
    /// over integers per row. `None` when only a full update can answer (too many changes,
    /// a row moved between scopes, repeated ids): call [`SubscriptionSet::updated_from`].
    pub fn updated_scope(&self, loaded: &LoadedRows, scope: Scope<'_>) -> Option<(Self, Rejected)> {
        self.try_update(loaded, Some(scope))
    }

    /// The incremental update, or `None` when a full rebuild is the right (or only) answer.
    #[expect(
        clippy::too_many_lines,
        reason = "one comparison pass, then the update it decides; split, each half needs the other's state"
    )]
    fn try_update(
        &self,
        loaded: &LoadedRows,
        scope: Option<Scope<'_>>,
    ) -> Option<(Self, Rejected)> {
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
        let in_scope = |row: &SubscriptionView<'_>| scope.is_none_or(|s| s.contains(row));
        let mut base_kept = vec![false; self.base.rows.len()];
        let mut added_kept = vec![false; self.added.len()];
        let mut fresh: Vec<usize> = Vec::new();
        for i in 0..loaded.rows.len() {
            let row = loaded.view(i);
            if !in_scope(&row) {
                return None;
            }
            if let Some(&k) = added_by_id.get(&row.id) {
                let live = self.added[k].1.view();
                if live == row {
                    if std::mem::replace(&mut added_kept[k], true) {
                        return None; // the same id twice
                    }
                    continue;
                }
                if !in_scope(&live) {
                    return None; // moved from another scope: that scope's copy would stay
                }
            } else if let Ok(at) =
                by_id.binary_search_by_key(&row.id, |&s| self.base.rows[s as usize].id)
            {
                let base_slot = by_id[at];
                if !self.matcher.is_retired(&base_slot) {
                    let live = self.base.view(base_slot)?;
                    if live == row {
                        if std::mem::replace(&mut base_kept[base_slot as usize], true) {
                            return None;
                        }
                        continue;
                    }
                    if !in_scope(&live) {
                        return None;
                    }
                }
            }
            fresh.push(i);
            if fresh.len() > IncrementalMatcher::<u32>::COMPACT_AFTER {
                // A full rebuild anyway (the first load, a big import): stop comparing.
                return None;
            }
        }
        // The scope as table indices, so the pass over the base compares integers.
        let base_scope = scope.map(|s| (self.base.find(s.guild_id), self.base.find(Some(s.user))));
        let base_in_scope = |s: u32| match base_scope {
            None => true,
            Some((Some(guild), Some(user))) => {
                let row = &self.base.rows[s as usize];
                row.guild_id == guild && row.user == user
            }
            Some(_) => false,
        };
        let removed: Vec<u32> = (0..slot(self.base.rows.len()))
            .filter(|&s| !base_kept[s as usize] && base_in_scope(s) && !self.matcher.is_retired(&s))
            .chain(
                self.added
                    .iter()
                    .zip(&added_kept)
                    .filter(|((_, row), &kept)| !kept && in_scope(&row.view()))
                    .map(|((s, _), _)| *s),
            )
            .collect();
        if removed.len() + fresh.len() > IncrementalMatcher::<u32>::COMPACT_AFTER {
            return None;
        }
        let mut fresh_ids = HashSet::new();
        if !fresh.iter().all(|&i| fresh_ids.insert(loaded.rows[i].id)) {
            return None;
        }
        let mut next = self.clone();
        if removed.is_empty() && fresh.is_empty() {
            return Some((next, Vec::new()));
        }
        let (kept, queries, rejected) = parse_rows(
            fresh.iter().map(|&i| loaded.view(i).to_row()),
            self.next_slot,
        );
        next.matcher.apply(removed.iter().copied(), queries).ok()?;
        let removed_added: HashSet<u32> = removed.iter().copied().collect();
        next.added = self
            .added
            .iter()
            .filter(|(s, _)| !removed_added.contains(s))
            .cloned()
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

    /// Where the set's heap memory goes, in bytes (capacities, estimated for the few rows
    /// changed since the build): packed rows, their string and profile tables, the id index,
    /// then the compiled matcher part by part. For logs and benchmarks.
    pub fn heap_parts(&self) -> Vec<(&'static str, usize)> {
        use std::mem::size_of;
        let base = &self.base;
        let changed: usize = self
            .added
            .iter()
            .map(|(_, row)| {
                size_of::<(u32, SubscriptionRow)>()
                    + row.user.len()
                    + row.query.len()
                    + row.target.len()
                    + row.origin.len()
                    + row.mode.len()
            })
            .sum();
        let mut parts = vec![
            ("rows (packed)", base.rows.capacity() * size_of::<Packed>()),
            ("string table", base.strings.heap_bytes()),
            ("profiles", base.profiles.capacity() * size_of::<Profile>()),
            (
                "id index",
                base.by_id
                    .as_ref()
                    .map_or(0, |v| v.capacity() * size_of::<u32>()),
            ),
            ("rows changed since the build", changed),
        ];
        parts.extend(self.matcher.base().heap_parts());
        parts
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn row(&self, slot: u32) -> Option<SubscriptionView<'_>> {
        match self.base.view(slot) {
            Some(row) => Some(row),
            None => self
                .added
                .binary_search_by_key(&slot, |(s, _)| *s)
                .ok()
                .map(|at| self.added[at].1.view()),
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
        self.resolve(self.match_slots(title, body, source_guild))
    }

    /// [`SubscriptionSet::matches_for`] as owned slots of this set, to carry across an
    /// `await` or a thread and [`resolve`](SubscriptionSet::resolve) later (on the same set).
    pub fn match_slots(
        &self,
        title: &str,
        body: &str,
        source_guild: Option<&str>,
    ) -> Vec<SlotMatch> {
        // Sorted by (id, slot) read once here: sorting through the rows would chase a cache
        // miss per comparison (tens of ms for a popular term at 1M subscriptions).
        let mut found: Vec<(i64, SlotMatch)> = Vec::new();
        self.matcher
            .for_each_match(&Document { title, body }, |slot, terms| {
                let Some(row) = self.row(slot) else { return };
                if source_guild.is_some_and(|guild| row.guild_id != Some(guild)) {
                    return;
                }
                found.push((
                    row.id,
                    SlotMatch {
                        slot,
                        matched: terms.iter().map(|t| (*t).to_string()).collect(),
                    },
                ));
            });
        found.sort_unstable_by_key(|(id, m)| (*id, m.slot));
        found.into_iter().map(|(_, m)| m).collect()
    }

    /// The matches `found` names, as rows of this set.
    pub fn resolve(&self, found: Vec<SlotMatch>) -> Vec<SubscriptionMatch<'_>> {
        found
            .into_iter()
            .filter_map(|m| {
                Some(SubscriptionMatch {
                    row: self.row(m.slot)?,
                    matched: m.matched,
                })
            })
            .collect()
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
                user: row.user.to_string(),
                target: row.target.to_string(),
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

    /// The targeted path: random changes confined to one member (or one server's
    /// channel-wide subscriptions) at a time, applied from that scope's rows alone, leave a
    /// set that matches exactly what a fresh build of all rows matches.
    /// `next` (updated in place) matches exactly what `fresh` (built from all rows) matches.
    fn assert_same_matches(next: &SubscriptionSet, fresh: &SubscriptionSet, round: usize) {
        const TITLES: [&str; 4] = [
            "Meta and Facebook on Google Cloud",
            "Gemini horoscope",
            "Cloud news: google reports",
            "Nestle recalls formula",
        ];
        assert_eq!(next.len(), fresh.len(), "round {round}");
        for title in TITLES {
            for guild in [None, Some("guild0"), Some("guild1")] {
                let full = |s: &SubscriptionSet| {
                    s.matches_for(title, "", guild)
                        .into_iter()
                        .map(|m| (m.row.to_row(), m.matched))
                        .collect::<Vec<_>>()
                };
                assert_eq!(full(next), full(fresh), "round {round}: {title} {guild:?}");
            }
        }
    }

    #[test]
    fn scoped_updates_agree_with_a_fresh_build_after_random_changes() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        const QUERIES: [&str; 8] = [
            "Meta",
            "gemini",
            "\"Google Cloud\"",
            "Meta OR Facebook",
            "Gemini -horoscope",
            "title:Cloud",
            "\"broken",
            "Nestlé",
        ];
        let scopes: [(Option<&str>, &str); 5] = [
            (Some("guild0"), "user1"),
            (Some("guild1"), "user1"),
            (Some("guild0"), ""),
            (Some("guild1"), "user2"),
            (None, "user3"),
        ];
        let in_scope = |r: &SubscriptionRow, (g, u): (Option<&str>, &str)| {
            r.guild_id.as_deref() == g && r.user == u
        };
        let scoped_row = |id: i64, query: &str, (g, u): (Option<&str>, &str)| SubscriptionRow {
            guild_id: g.map(str::to_string),
            user: u.to_string(),
            ..row(id, query)
        };
        let mut rng = StdRng::seed_from_u64(11);
        let mut live: Vec<SubscriptionRow> = (0..50)
            .map(|id| {
                scoped_row(
                    id,
                    QUERIES[id as usize % QUERIES.len()],
                    scopes[id as usize % scopes.len()],
                )
            })
            .collect();
        let (mut set, _) = SubscriptionSet::new(live.clone());
        let mut applied = 0;
        for round in 0..200 {
            let scope = scopes[rng.gen_range(0..scopes.len())];
            for _ in 0..rng.gen_range(1..4) {
                let id = rng.gen_range(0..80);
                if live.iter().any(|r| r.id == id && !in_scope(r, scope)) {
                    continue;
                }
                live.retain(|r| r.id != id);
                if rng.gen_bool(0.6) {
                    let mut new = scoped_row(id, QUERIES[rng.gen_range(0..QUERIES.len())], scope);
                    if rng.gen_bool(0.2) {
                        new.mode = "daily".into();
                    }
                    live.push(new);
                }
            }
            live.sort_by_key(|r| r.id);
            let rows: Vec<SubscriptionRow> = live
                .iter()
                .filter(|r| in_scope(r, scope))
                .cloned()
                .collect();
            let (next, _) = set
                .updated_scope(
                    &rows.into(),
                    Scope {
                        guild_id: scope.0,
                        user: scope.1,
                    },
                )
                .expect("a change within one scope is applied in place");
            applied += 1;
            let (fresh, _) = SubscriptionSet::new(live.clone());
            assert_same_matches(&next, &fresh, round);
            set = if next.needs_compaction() {
                SubscriptionSet::new(live.clone()).0
            } else {
                next
            };
        }
        assert_eq!(applied, 200);
        assert!(
            set.pending_changes() > 0,
            "the incremental path was exercised"
        );
    }

    #[test]
    fn a_scoped_update_leaves_other_members_alone_and_refuses_a_moved_row() {
        let mine = |id, q: &str| SubscriptionRow {
            user: "me".into(),
            guild_id: Some("g".into()),
            ..row(id, q)
        };
        let theirs = SubscriptionRow {
            user: "them".into(),
            guild_id: Some("g".into()),
            ..row(2, "Meta")
        };
        let (set, _) = SubscriptionSet::new(vec![mine(1, "Meta"), theirs.clone()]);
        let me = Scope {
            guild_id: Some("g"),
            user: "me",
        };
        // My only subscription removed: theirs still matches.
        let (next, _) = set
            .updated_scope(&Vec::<SubscriptionRow>::new().into(), me)
            .expect("applied");
        assert_eq!(
            summary(&next, "Meta", None),
            vec![(2, vec!["Meta".to_string()])]
        );
        // Their row (id 2) showing up as mine: only a full update can answer.
        let moved = SubscriptionRow {
            user: "me".into(),
            ..theirs
        };
        assert!(set.updated_scope(&vec![moved].into(), me).is_none());
    }
}
