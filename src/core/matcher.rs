//! All subscriptions compiled once into one Aho-Corasick automaton; a document -> the
//! subscriptions it matches, and which of their terms were found.
//!
//! How a document is matched:
//!
//! 1. Links (`http://…`, `https://…`, `www.…`) are removed, so `/meta/` in a URL never counts.
//! 2. Title and body are cut into words ([`text::word_spans`]) and every word is folded
//!    (decomposed, accents dropped, lower-cased). The folded words are joined with `' '`, or
//!    with `'\n'` where a sentence or clause break separates them (and between title and body).
//!    All of this is [`text`]'s: the term finder that summaries and embeds use builds the same
//!    folded text and checks hits with the same [`FoldedText::hit_holds`].
//! 3. Every distinct folded word or phrase of every subscription is one pattern (words joined
//!    with `' '`), so one overlapping scan finds all candidate hits. A phrase pattern can never
//!    match across a break because the break is `'\n'`, not `' '`.
//! 4. Each hit is checked for word boundaries and for the case rule of each query spelling
//!    (a *variant*) sharing that pattern: `Meta` and `meta` share the pattern `meta`.
//! 5. Only subscriptions that use a found variant as a positive term are evaluated. The work
//!    per document grows with the text and the hits, not with the number of subscriptions.
//! 6. `NEAR/n` and `SENTENCE` pairs compile to two AND-ed terms plus a check: both terms are
//!    ordinary patterns of the one automaton, and the variants that are a side of some pair
//!    are *positional*: the scan also notes where each of their hits is (word index, sentence,
//!    field), read off the same folded text. A candidate query with a pair checks those
//!    places; nothing is scanned again, and queries without pairs never look at them.

use std::borrow::Borrow;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::core::query::{Query, Term, Within};
use crate::core::text::{self, FoldedText, NameCase, Spelling};

/// The plain text of one feed item, as the matcher sees it.
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    /// The item title.
    pub title: &'a str,
    /// Description + content + category labels, HTML already stripped.
    pub body: &'a str,
}

/// One subscription that matched a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<K> {
    /// The caller's key for the subscription.
    pub key: K,
    /// The positive terms that were found, in canonical form (`Meta`, `"Google Cloud"`,
    /// `title:Gemini`, `gem*`), deduplicated, in query order.
    pub matched: Vec<String>,
}

impl<K> Match<K> {
    /// Where the matched terms occur in `doc` (field, byte range, which term), found by the
    /// text finder under the matcher's own rules. Computed on demand, for matched items only:
    /// the scan itself never tracks positions.
    pub fn spans(&self, doc: &Document<'_>) -> Vec<text::TermSpan> {
        text::locate(doc.title, doc.body, &self.matched)
    }
}

/// The matcher could not be built (only possible with absurdly many or long patterns).
#[derive(Debug, thiserror::Error)]
pub enum MatcherError {
    #[error("the subscriptions are too many or too long to compile into one matcher ({0}) — remove some subscriptions")]
    Automaton(#[from] aho_corasick::BuildError),
    #[error("{0} subscriptions are more than one matcher can index (at most {max}) — remove some subscriptions", max = u32::MAX)]
    TooMany(usize),
}

/// Every subscription, compiled for matching many documents.
///
/// Subscriptions sharing the same query (1M subscriptions have far fewer distinct queries)
/// are compiled and evaluated once; the subscriptions using a query are only looked at when
/// the query matched. Everything on the per-document path is an integer id until the output.
pub struct Matcher<K> {
    automaton: AhoCorasick,
    /// Pattern id -> the variants sharing that folded pattern.
    pattern_variants: PackedLists<u32>,
    variants: Vec<Variant>,
    /// Variant id -> the distinct queries that are that one term alone: they match as soon as
    /// the variant is found in the right field, with no evaluation.
    variant_simple: PackedLists<SimpleQuery>,
    /// Variant id -> the other distinct queries that use it as a positive term (the inverted
    /// index of the queries that need evaluating).
    variant_compound: PackedLists<u32>,
    /// Query id -> where its terms are in `query_terms` (empty for a one-term query).
    queries: Vec<CompiledQuery>,
    /// The terms of every compound query, back to back (one allocation: evaluating a
    /// candidate touches one place in memory, not a chain of boxes).
    query_terms: Vec<CompiledTerm>,
    /// Query id -> the keys of the subscriptions that use it, in the order they were given.
    query_keys: PackedLists<K>,
    /// Query id -> the same subscriptions' positions in the input (ascending), for output in
    /// input order.
    query_positions: PackedLists<u32>,
    /// Canonical term forms (`Meta`, `"Google Cloud"`, `title:Gemini`), interned.
    displays: Vec<String>,
    /// The variants that are a side of some `NEAR/n` or `SENTENCE` pair, so the scan notes
    /// where their hits are; `None` when no query has a pair (the scan then never looks).
    positional: Option<BitSet>,
    subscriptions: usize,
}

/// A set of ids, one bit each (a million variants fit in 125 KB, so the scan's look-up
/// mostly stays in cache).
#[derive(Debug, Default)]
struct BitSet(Vec<u64>);

impl BitSet {
    fn insert(&mut self, id: u32) {
        let word = id as usize / 64;
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << (id % 64);
    }

    #[inline]
    fn contains(&self, id: u32) -> bool {
        self.0
            .get(id as usize / 64)
            .is_some_and(|word| word & (1 << (id % 64)) != 0)
    }

    fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<u64>()
    }
}

/// Lists of items in one allocation: list `i` is `items[starts[i]..starts[i + 1]]`. The
/// starts are `u32` (fewer than 4 billion subscriptions, patterns and variants fit in memory):
/// half the size of `usize` starts, for lists of a few hundred thousand queries and variants.
struct PackedLists<T> {
    starts: Vec<u32>,
    items: Vec<T>,
}

impl<T: Copy> PackedLists<T> {
    /// `lists` lists from `(list, item)` pairs, each list keeping its items in pair order
    /// (a counting sort: no `Vec` per list is ever made).
    fn from_pairs(lists: usize, pairs: impl ExactSizeIterator<Item = (u32, T)> + Clone) -> Self {
        let mut starts = vec![0u32; lists + 1];
        for (list, _) in pairs.clone() {
            starts[list as usize + 1] += 1;
        }
        for i in 0..lists {
            starts[i + 1] += starts[i];
        }
        let mut items = Vec::new();
        let mut next = starts.clone();
        for (list, item) in pairs {
            if items.is_empty() {
                items = vec![item; starts[lists] as usize];
            }
            let at = &mut next[list as usize];
            items[*at as usize] = item;
            *at += 1;
        }
        Self { starts, items }
    }

    fn get(&self, list: usize) -> &[T] {
        &self.items[self.starts[list] as usize..self.starts[list + 1] as usize]
    }

    fn heap_bytes(&self) -> usize {
        self.starts.capacity() * std::mem::size_of::<u32>()
            + self.items.capacity() * std::mem::size_of::<T>()
    }
}

/// One spelling of a pattern ([`Spelling`]: the case rule of each word, and whether the last
/// is a prefix), shared with the term finder so the two cannot disagree.
type Variant = Spelling;

/// A distinct query made of one positive term and nothing else (most subscriptions).
#[derive(Debug, Clone, Copy)]
struct SimpleQuery {
    query: u32,
    term: CompiledTerm,
}

#[derive(Debug, Clone, Copy)]
struct CompiledTerm {
    variant: u32,
    /// The term's canonical form (an index into `displays`), reported in [`Match::matched`].
    display: u32,
    title_only: bool,
    /// The last term of its OR-group (positive terms only).
    ends_group: bool,
    /// The left side of a `NEAR/n` or `SENTENCE` pair, whose right side is the next term
    /// (each side is a group of its own).
    near: Option<Within>,
}

/// One distinct query: `query_terms[start..positives_end]` are its groups of alternatives
/// (all groups must match; each ends with a term marked `ends_group`), then
/// `query_terms[positives_end..end]` its exclusions.
#[derive(Debug, Clone, Copy)]
struct CompiledQuery {
    start: u32,
    positives_end: u32,
    end: u32,
}

/// `Scratch::seen` bits: where a variant was found.
const IN_TITLE: u8 = 1;
const IN_BODY: u8 = 2;

/// Where a hit of a positional variant is: the words it covers (indices into the document's
/// words, title first), its sentence and its field.
#[derive(Debug, Clone, Copy)]
struct Place {
    variant: u32,
    first: usize,
    last: usize,
    sentence: usize,
    in_title: bool,
}

impl Place {
    /// How many words lie between the two hits, or `None` when they share a word.
    fn words_between(&self, other: &Place) -> Option<usize> {
        if self.last < other.first {
            Some(other.first - self.last - 1)
        } else if other.last < self.first {
            Some(self.first - other.last - 1)
        } else {
            None
        }
    }

    /// Whether the two hits are close enough for `within` (same field, no shared word).
    fn is_close(&self, other: &Place, within: Within) -> bool {
        let Some(between) = self.words_between(other) else {
            return false;
        };
        self.in_title == other.in_title
            && match within {
                Within::Words(n) => between <= usize::from(n),
                Within::Sentence => self.sentence == other.sentence,
            }
    }
}

/// The places of `variant` in `places` (sorted by variant, then word).
fn places_of(places: &[Place], variant: u32) -> &[Place] {
    let start = places.partition_point(|p| p.variant < variant);
    let end = start + places[start..].partition_point(|p| p.variant == variant);
    &places[start..end]
}

/// The places of `others` (one variant's, in word order) that can be close to `place`:
/// those starting in reach of it for `NEAR/n`, those in its sentence for `SENTENCE`.
fn in_reach<'p>(others: &'p [Place], place: &Place, within: Within) -> &'p [Place] {
    let (start, end) = match within {
        Within::Words(n) => {
            let n = usize::from(n);
            // Every hit of one variant covers as many words.
            let span = others.first().map_or(0, |o| o.last - o.first);
            let lowest = place.first.saturating_sub(n + span + 1);
            let highest = place.last + n + 1;
            (
                others.partition_point(|o| o.first < lowest),
                others.partition_point(|o| o.first <= highest),
            )
        }
        Within::Sentence => (
            others.partition_point(|o| o.sentence < place.sentence),
            others.partition_point(|o| o.sentence <= place.sentence),
        ),
    };
    &others[start..end.max(start)]
}

/// Whether some hit of `left` and some hit of `right` are close enough for `within`, each
/// in a field its term may be found in.
fn pair_holds(places: &[Place], left: &CompiledTerm, right: &CompiledTerm, within: Within) -> bool {
    let allowed = |term: &CompiledTerm, place: &Place| place.in_title || !term.title_only;
    let rights = places_of(places, right.variant);
    places_of(places, left.variant)
        .iter()
        .filter(|l| allowed(left, l))
        .any(|l| {
            in_reach(rights, l, within)
                .iter()
                .any(|r| allowed(right, r) && l.is_close(r, within))
        })
}

/// Per-thread working memory of one match, reused from document to document so the hot path
/// allocates nothing but its output. Every table is left all-zero after use (only the entries
/// set are cleared), so reuse costs nothing per document.
#[derive(Default)]
struct Scratch {
    text: FoldedText,
    /// Variant id -> `IN_TITLE | IN_BODY` bits where it was found (0 = not found).
    seen: Vec<u8>,
    /// The variant ids set in `seen`, in the order first found.
    found: Vec<u32>,
    /// Query id bitset: the compound query is already in `candidates`.
    marked: Vec<u64>,
    /// Compound queries using a found variant, each once.
    candidates: Vec<u32>,
    /// Every hit of a positional variant, sorted by variant then word once the scan is done.
    places: Vec<Place>,
}

impl Scratch {
    /// Clears what one match set in the tables (only those entries).
    fn reset(&mut self) {
        for &variant in &self.found {
            self.seen[variant as usize] = 0;
        }
        self.found.clear();
        for &query in &self.candidates {
            self.marked[query as usize / 64] = 0;
        }
        self.candidates.clear();
        self.places.clear();
    }
}

thread_local! {
    static SCRATCH: Cell<Scratch> = Cell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch (a fresh one if it is in use: a nested match from
/// inside a visit callback, or a thread being torn down).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut scratch = SCRATCH.try_with(Cell::take).unwrap_or_default();
    let result = f(&mut scratch);
    // Dropped instead when the thread is being torn down; nothing to do then.
    let _ = SCRATCH.try_with(|cell| cell.set(scratch));
    result
}

/// A [`Matcher`] being compiled: queries are added one at a time (so the caller can free each
/// right after), subscriptions refer to them by the id [`Compiled::add_query`] returned, and
/// [`Compiled::finish`] builds the automaton. [`Matcher::compile`] does it all from
/// `(key, query)` pairs.
pub struct Compiled<K> {
    compiler: Compiler,
    /// Per subscription, in input order: its key and its distinct query.
    keys: Vec<K>,
    uses: Vec<u32>,
}

impl<K> Default for Compiled<K> {
    fn default() -> Self {
        Self {
            compiler: Compiler::default(),
            keys: Vec::new(),
            uses: Vec::new(),
        }
    }
}

impl<K: Copy> Compiled<K> {
    /// Compiles one query; the id is what [`Compiled::add_subscription`] takes.
    pub fn add_query(&mut self, query: &Query) -> Result<u32, MatcherError> {
        let query_id = id(self.compiler.queries.len())?;
        self.compiler.query(query, query_id)?;
        Ok(query_id)
    }

    /// A subscription with `key` to the query `query_id` (from [`Compiled::add_query`]);
    /// matches come out in the order subscriptions were added.
    ///
    /// # Panics
    ///
    /// If `query_id` was not returned by [`Compiled::add_query`] (a bug in the caller).
    pub fn add_subscription(&mut self, key: K, query_id: u32) -> Result<(), MatcherError> {
        assert!(
            (query_id as usize) < self.compiler.queries.len(),
            "unknown query id {query_id}"
        );
        id(self.keys.len())?;
        self.keys.push(key);
        self.uses.push(query_id);
        Ok(())
    }

    /// Builds the automaton and packs the lists: the [`Matcher`].
    pub fn finish(self) -> Result<Matcher<K>, MatcherError> {
        let Compiled {
            compiler,
            keys,
            uses,
        } = self;
        let count = keys.len();
        let compound_pairs = compiler.compound_index();
        let query_keys = PackedLists::from_pairs(
            compiler.queries.len(),
            uses.iter().copied().zip(keys.iter().copied()),
        );
        drop(keys);
        let query_positions = PackedLists::from_pairs(
            compiler.queries.len(),
            uses.iter().copied().zip(0..id(count)?),
        );
        drop(uses);
        let Compiler {
            patterns,
            pattern_ids,
            pattern_variants: pattern_pairs,
            variants,
            variant_ids,
            variant_simple: simple_pairs,
            mut queries,
            mut query_terms,
            displays,
            display_ids,
            positional,
        } = compiler;
        queries.shrink_to_fit();
        query_terms.shrink_to_fit();
        drop((pattern_ids, variant_ids, display_ids));
        let variants: Vec<Variant> = variants.into_iter().map(|(_, v)| v).collect();
        let pattern_variants =
            PackedLists::from_pairs(patterns.len(), pattern_pairs.iter().copied());
        drop(pattern_pairs);
        let variant_simple = PackedLists::from_pairs(variants.len(), simple_pairs.iter().copied());
        drop(simple_pairs);
        let variant_compound =
            PackedLists::from_pairs(variants.len(), compound_pairs.iter().copied());
        drop(compound_pairs);
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&patterns)?;
        drop(patterns);
        Ok(Matcher {
            automaton,
            pattern_variants,
            variants,
            variant_simple,
            variant_compound,
            queries,
            query_terms,
            query_keys,
            query_positions,
            displays,
            positional,
            subscriptions: count,
        })
    }
}

/// The distinct queries one document matched: `(query, range of its terms in terms)`.
struct FoundQueries {
    queries: Vec<(u32, std::ops::Range<usize>)>,
    /// Display ids of the matched terms of every matched query, back to back.
    terms: Vec<u32>,
}

/// The distinct queries one document matched ([`Matcher::find_matches`]), in the order their
/// terms were first found.
pub struct QueryMatches<'m, K> {
    matcher: &'m Matcher<K>,
    found: FoundQueries,
}

/// One distinct query a document matched: its matched terms and the subscriptions using it.
#[derive(Debug, Clone, Copy)]
pub struct QueryMatch<'m, K> {
    keys: &'m [K],
    terms: &'m [u32],
    displays: &'m [String],
}

impl<K: Copy + Eq + Hash> QueryMatches<'_, K> {
    /// How many distinct queries matched.
    pub fn len(&self) -> usize {
        self.found.queries.len()
    }

    /// Whether nothing matched.
    pub fn is_empty(&self) -> bool {
        self.found.queries.is_empty()
    }

    /// How many subscriptions matched (the sum of the key slices' lengths).
    pub fn subscriptions(&self) -> usize {
        self.found
            .queries
            .iter()
            .map(|(query, _)| self.matcher.query_keys.get(*query as usize).len())
            .sum()
    }

    /// Every matched distinct query.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = QueryMatch<'_, K>> {
        self.found.queries.iter().map(|(query, terms)| QueryMatch {
            keys: self.matcher.query_keys.get(*query as usize),
            terms: &self.found.terms[terms.clone()],
            displays: &self.matcher.displays,
        })
    }
}

impl<'m, K> QueryMatch<'m, K> {
    /// The keys of the subscriptions using this query, in the order they were given.
    pub fn keys(&self) -> &'m [K] {
        self.keys
    }

    /// The positive terms that were found, as in [`Match::matched`].
    pub fn terms(&self) -> impl ExactSizeIterator<Item = &'m str> + use<'m, K> {
        let displays = self.displays;
        self.terms
            .iter()
            .map(move |&d| displays[d as usize].as_str())
    }
}

fn id(n: usize) -> Result<u32, MatcherError> {
    u32::try_from(n).map_err(|_| MatcherError::TooMany(n))
}

impl<K: Copy + Eq + Hash> Matcher<K> {
    /// Compiles all subscriptions. `K` is the caller's subscription key (e.g. a database id).
    ///
    /// # Panics
    ///
    /// If the automaton cannot be built, which needs billions of pattern bytes (queries are
    /// capped at 500 characters); use [`Matcher::try_new`] to handle that as an error.
    pub fn new<Q: Borrow<Query> + Eq + Hash>(
        subscriptions: impl IntoIterator<Item = (K, Q)>,
    ) -> Self {
        match Self::try_new(subscriptions) {
            Ok(matcher) => matcher,
            Err(e) => panic!("{e}"),
        }
    }

    /// Compiles all subscriptions, reporting an automaton that is too large as an error.
    pub fn try_new<Q: Borrow<Query> + Eq + Hash>(
        subscriptions: impl IntoIterator<Item = (K, Q)>,
    ) -> Result<Self, MatcherError> {
        Self::compile(subscriptions)?.finish()
    }

    /// The first half of [`Matcher::try_new`]: every distinct query compiled (queries equal
    /// as `Query` values are compiled once), nothing kept of the `Query` values, so the caller
    /// can free them before [`Compiled::finish`] builds the automaton.
    pub fn compile<Q: Borrow<Query> + Eq + Hash>(
        subscriptions: impl IntoIterator<Item = (K, Q)>,
    ) -> Result<Compiled<K>, MatcherError> {
        let mut compiled = Compiled::default();
        let mut query_ids: HashMap<Q, u32> = HashMap::new();
        for (key, query) in subscriptions {
            let query_id = if let Some(&known) = query_ids.get::<Q>(&query) {
                known
            } else {
                let query_id = compiled.add_query(query.borrow())?;
                query_ids.insert(query, query_id);
                query_id
            };
            compiled.add_subscription(key, query_id)?;
        }
        Ok(compiled)
    }

    /// Every distinct query this document matches, with its matched terms and the keys of the
    /// subscriptions using it (as slices: nothing is done per subscription). This is the
    /// matching work itself; walking the keys is the caller's, as output.
    pub fn find_matches(&self, doc: &Document<'_>) -> QueryMatches<'_, K> {
        QueryMatches {
            matcher: self,
            found: self.find_queries(doc),
        }
    }

    /// The subscriptions this document matches, in the order they were given to [`Matcher::new`].
    pub fn match_document(&self, doc: &Document<'_>) -> Vec<Match<K>> {
        let found = self.find_queries(doc);
        let mut hits: Vec<(u32, K, usize)> = Vec::new();
        for (index, (query, _)) in found.queries.iter().enumerate() {
            let query = *query as usize;
            hits.extend(
                self.query_positions
                    .get(query)
                    .iter()
                    .zip(self.query_keys.get(query))
                    .map(|(&position, &key)| (position, key, index)),
            );
        }
        hits.sort_unstable_by_key(|&(position, _, _)| position);
        hits.into_iter()
            .map(|(_, key, index)| Match {
                key,
                matched: found.terms[found.queries[index].1.clone()]
                    .iter()
                    .map(|&d| self.displays[d as usize].clone())
                    .collect(),
            })
            .collect()
    }

    /// Calls `visit(key, matched terms)` for every subscription this document matches, grouped
    /// by query (not in input order). Nothing is allocated per subscription, so this is the
    /// way to filter a large result before building output.
    pub fn for_each_match(&self, doc: &Document<'_>, mut visit: impl FnMut(K, &[&str])) {
        let found = self.find_matches(doc);
        let mut terms: Vec<&str> = Vec::new();
        for query in found.iter() {
            terms.clear();
            terms.extend(query.terms());
            for &key in query.keys() {
                visit(key, &terms);
            }
        }
    }

    /// How many subscriptions this document matches (the work of matching without the output).
    pub fn count_matches(&self, doc: &Document<'_>) -> usize {
        self.find_matches(doc).subscriptions()
    }

    /// Every distinct query the document matches, with its matched terms.
    fn find_queries(&self, doc: &Document<'_>) -> FoundQueries {
        let mut out = FoundQueries {
            queries: Vec::new(),
            terms: Vec::new(),
        };
        if self.queries.is_empty() {
            return out;
        }
        with_scratch(|scratch| {
            scratch.text.fill(doc.title, doc.body);
            self.find_variants(scratch);
            self.collect(scratch, &mut out);
            for &query in &scratch.candidates {
                let start = out.terms.len();
                if self.evaluate(query, &scratch.seen, &scratch.places, &mut out.terms) {
                    out.queries.push((query, start..out.terms.len()));
                } else {
                    out.terms.truncate(start);
                }
            }
            scratch.reset();
        });
        out
    }

    /// Scans the text once: every variant whose words, boundaries and case rule hold, and
    /// where it was found, into `scratch.seen` / `scratch.found`.
    fn find_variants(&self, scratch: &mut Scratch) {
        if scratch.seen.len() < self.variants.len() {
            scratch.seen.resize(self.variants.len(), 0);
        }
        let text = &scratch.text;
        for hit in self.automaton.find_overlapping_iter(text.folded.as_str()) {
            let (start, end) = (hit.start(), hit.end());
            // Patterns start with a word, so a hit must start where a word starts.
            if start > 0 && !text.is_boundary(start - 1) {
                continue;
            }
            let whole_last_word = text.is_boundary(end);
            // A pattern never spans the title/body border (a `'\n'`), so its start tells the field.
            let field = if start < text.title_end {
                IN_TITLE
            } else {
                IN_BODY
            };
            for &id in self.pattern_variants.get(hit.pattern().as_usize()) {
                let variant = &self.variants[id as usize];
                if !text.hit_holds(start, whole_last_word, variant) {
                    continue;
                }
                let seen = &mut scratch.seen[id as usize];
                if *seen == 0 {
                    scratch.found.push(id);
                }
                *seen |= field;
                if self.positional.as_ref().is_some_and(|p| p.contains(id)) {
                    if let Some(place) = place(text, id, variant, start, field) {
                        scratch.places.push(place);
                    }
                }
            }
        }
        if scratch.places.len() > 1 {
            // By variant, then in text order (unstable: sorts in place, allocates nothing).
            scratch
                .places
                .sort_unstable_by_key(|p| (p.variant, p.first));
        }
    }

    /// From the found variants: the one-term queries that match (into `out`) and the compound
    /// queries worth evaluating (into `scratch.candidates`, each once). Exclusions alone never
    /// make a candidate.
    fn collect(&self, scratch: &mut Scratch, out: &mut FoundQueries) {
        let words = self.queries.len().div_ceil(64);
        if scratch.marked.len() < words {
            scratch.marked.resize(words, 0);
        }
        for &variant in &scratch.found {
            let seen = scratch.seen[variant as usize];
            for simple in self.variant_simple.get(variant as usize) {
                if seen & IN_TITLE != 0 || !simple.term.title_only {
                    let start = out.terms.len();
                    out.terms.push(simple.term.display);
                    out.queries.push((simple.query, start..start + 1));
                }
            }
            for &query in self.variant_compound.get(variant as usize) {
                let (word, bit) = (query as usize / 64, 1u64 << (query % 64));
                if scratch.marked[word] & bit == 0 {
                    scratch.marked[word] |= bit;
                    scratch.candidates.push(query);
                }
            }
        }
    }
}

/// Where the hit of `variant` (id `id`) at byte `start` of the folded text is.
fn place(text: &FoldedText, id: u32, variant: &Variant, start: usize, field: u8) -> Option<Place> {
    let first = text.word_at(start)?;
    Some(Place {
        variant: id,
        first,
        last: first + variant.words.len().saturating_sub(1),
        sentence: text.sentence_of(first),
        in_title: field == IN_TITLE,
    })
}

impl<K: Copy + Eq + Hash> Matcher<K> {
    /// Whether compound query `query` matches, given where variants were found (and where
    /// positional ones are); if so, appends the display ids of its found positive terms
    /// (deduplicated, in query order) to `matched`.
    fn evaluate(&self, query: u32, seen: &[u8], places: &[Place], matched: &mut Vec<u32>) -> bool {
        let is_found = |term: &CompiledTerm| {
            let at = seen[term.variant as usize];
            at & IN_TITLE != 0 || (at & IN_BODY != 0 && !term.title_only)
        };
        let CompiledQuery {
            start,
            positives_end,
            end,
        } = self.queries[query as usize];
        let positives = &self.query_terms[start as usize..positives_end as usize];
        let exclusions = &self.query_terms[positives_end as usize..end as usize];
        let mut group_found = false;
        let mut pairs = false;
        for term in positives {
            group_found = group_found || is_found(term);
            pairs = pairs || term.near.is_some();
            if term.ends_group {
                if !group_found {
                    return false;
                }
                group_found = false;
            }
        }
        if exclusions.iter().any(is_found) {
            return false;
        }
        if pairs && !pairs_hold(positives, places) {
            return false;
        }
        let first = matched.len();
        for term in positives.iter().filter(|t| is_found(t)) {
            if !matched[first..].contains(&term.display) {
                matched.push(term.display);
            }
        }
        true
    }

    /// For tests: how many variants a document holds, and the compound queries evaluated.
    /// (Positional places are gathered too, as in a real match.)
    #[cfg(test)]
    fn variants_and_candidates(&self, doc: &Document<'_>) -> (usize, Vec<u32>) {
        let mut out = FoundQueries {
            queries: Vec::new(),
            terms: Vec::new(),
        };
        with_scratch(|scratch| {
            scratch.text.fill(doc.title, doc.body);
            self.find_variants(scratch);
            self.collect(scratch, &mut out);
            let mut candidates = scratch.candidates.clone();
            candidates.sort_unstable();
            let found = scratch.found.len();
            scratch.reset();
            (found, candidates)
        })
    }

    /// An estimate of the heap memory the matcher holds, in bytes: the automaton's own figure
    /// plus the tables around it (capacities, not lengths). For logs and benchmarks.
    pub fn heap_bytes(&self) -> usize {
        self.heap_parts().iter().map(|(_, bytes)| bytes).sum()
    }

    /// [`Matcher::heap_bytes`] part by part, named.
    pub fn heap_parts(&self) -> Vec<(&'static str, usize)> {
        use std::mem::size_of;
        let string = |s: &String| s.capacity();
        let variants: usize = self
            .variants
            .iter()
            .map(|v| {
                size_of::<Variant>()
                    + v.words.capacity() * size_of::<Option<NameCase>>()
                    + v.words
                        .iter()
                        .flatten()
                        .map(|n| string(&n.exact) + string(&n.upper))
                        .sum::<usize>()
            })
            .sum();
        let displays: usize = self
            .displays
            .iter()
            .map(|d| size_of::<String>() + d.capacity())
            .sum();
        vec![
            ("matcher: automaton", self.automaton.memory_usage()),
            (
                "matcher: pattern -> variants",
                self.pattern_variants.heap_bytes(),
            ),
            ("matcher: variants (spellings)", variants),
            (
                "matcher: variant -> simple queries",
                self.variant_simple.heap_bytes(),
            ),
            (
                "matcher: variant -> compound queries",
                self.variant_compound.heap_bytes(),
            ),
            (
                "matcher: queries and their terms",
                self.queries.capacity() * size_of::<CompiledQuery>()
                    + self.query_terms.capacity() * size_of::<CompiledTerm>(),
            ),
            ("matcher: query -> keys", self.query_keys.heap_bytes()),
            (
                "matcher: query -> positions",
                self.query_positions.heap_bytes(),
            ),
            ("matcher: displays", displays),
            (
                "matcher: positional set",
                self.positional.as_ref().map_or(0, BitSet::heap_bytes),
            ),
        ]
    }

    /// How many subscriptions were compiled.
    pub fn len(&self) -> usize {
        self.subscriptions
    }

    /// Whether no subscriptions were compiled.
    pub fn is_empty(&self) -> bool {
        self.subscriptions == 0
    }

    /// How many distinct queries the subscriptions use (each is evaluated once per document).
    pub fn distinct_queries(&self) -> usize {
        self.queries.len()
    }
}

/// A [`Matcher`] that takes subscriptions added or removed without recompiling all of them.
///
/// The full automaton (`base`) is compiled once and shared (cloning an `IncrementalMatcher`
/// is cheap, so a new version can be made beside the one in use). Changes since then live
/// beside it: a removed or replaced key is *retired* (its base matches are dropped, an O(1)
/// set insert) and an added subscription goes into a small matcher of recent additions,
/// recompiled on each change (its cost grows with the number of pending changes, not with all
/// subscriptions). When [`IncrementalMatcher::needs_compaction`] says so, the caller compiles
/// a fresh one from its full list off the hot path and swaps it in.
#[derive(Clone)]
pub struct IncrementalMatcher<K> {
    base: Arc<Matcher<K>>,
    /// Keys removed or replaced since `base` was compiled.
    retired: HashSet<K>,
    /// Subscriptions added (or replaced) since `base` was compiled, in order.
    recent: Vec<(K, Query)>,
    recent_matcher: Arc<Matcher<K>>,
}

impl<K: Copy + Eq + Hash> IncrementalMatcher<K> {
    /// Pending changes past which a fresh compile is worth it: the side matcher is recompiled
    /// on every change, so it must stay small.
    pub const COMPACT_AFTER: usize = 1_000;

    /// Compiles all subscriptions; see [`Matcher::new`] (same panics).
    pub fn new(subscriptions: impl IntoIterator<Item = (K, Query)>) -> Self {
        Self::from_matcher(Matcher::new(subscriptions))
    }

    /// Starts from a compiled matcher with no pending changes.
    pub fn from_matcher(base: Matcher<K>) -> Self {
        Self {
            base: Arc::new(base),
            retired: HashSet::new(),
            recent: Vec::new(),
            recent_matcher: Arc::new(Matcher::new(Vec::<(K, Query)>::new())),
        }
    }

    /// Adds a subscription, or replaces the query of an existing key. Costs a compile of the
    /// pending additions only.
    pub fn add(&mut self, key: K, query: Query) -> Result<(), MatcherError> {
        self.apply(None, Some((key, query)))
    }

    /// Removes a subscription (unknown keys are ignored).
    pub fn remove(&mut self, key: &K) -> Result<(), MatcherError> {
        self.apply(Some(*key), None)
    }

    /// Removes `removed` and adds (or replaces) `added` in one step: the side matcher is
    /// compiled once. On error nothing changes.
    pub fn apply(
        &mut self,
        removed: impl IntoIterator<Item = K>,
        added: impl IntoIterator<Item = (K, Query)>,
    ) -> Result<(), MatcherError> {
        let mut retired = Vec::new();
        let mut gone: HashSet<K> = HashSet::new();
        for key in removed {
            retired.push(key);
            gone.insert(key);
        }
        let added: Vec<(K, Query)> = added.into_iter().collect();
        for (key, _) in &added {
            retired.push(*key);
            gone.insert(*key);
        }
        let recent_changed = !added.is_empty() || self.recent.iter().any(|(k, _)| gone.contains(k));
        if recent_changed {
            let mut recent: Vec<(K, Query)> = self
                .recent
                .iter()
                .filter(|(k, _)| !gone.contains(k))
                .cloned()
                .collect();
            recent.extend(added);
            self.recent_matcher = Arc::new(Matcher::try_new(recent.iter().cloned())?);
            self.recent = recent;
        }
        self.retired.extend(retired);
        Ok(())
    }

    /// Whether `key` was removed or replaced since the base was compiled.
    pub fn is_retired(&self, key: &K) -> bool {
        self.retired.contains(key)
    }

    /// How many changes are held beside the compiled base.
    pub fn pending_changes(&self) -> usize {
        self.retired.len() + self.recent.len()
    }

    /// Whether enough changes are pending that the caller should compile a fresh matcher from
    /// its full subscription list and replace this one.
    pub fn needs_compaction(&self) -> bool {
        self.pending_changes() > Self::COMPACT_AFTER
    }

    /// The subscriptions this document matches: those of the compiled base still current, in
    /// their original order, then the recent additions in the order they were added.
    pub fn match_document(&self, doc: &Document<'_>) -> Vec<Match<K>> {
        let mut found = self.base.match_document(doc);
        if !self.retired.is_empty() {
            found.retain(|m| !self.retired.contains(&m.key));
        }
        found.extend(self.recent_matcher.match_document(doc));
        found
    }

    /// [`Matcher::for_each_match`] over the current subscriptions.
    pub fn for_each_match(&self, doc: &Document<'_>, mut visit: impl FnMut(K, &[&str])) {
        if self.retired.is_empty() {
            self.base.for_each_match(doc, &mut visit);
        } else {
            self.base.for_each_match(doc, |key, terms| {
                if !self.retired.contains(&key) {
                    visit(key, terms);
                }
            });
        }
        self.recent_matcher.for_each_match(doc, visit);
    }

    /// The compiled base (for its size and memory figures).
    pub fn base(&self) -> &Matcher<K> {
        &self.base
    }
}

impl<K> fmt::Debug for IncrementalMatcher<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncrementalMatcher")
            .field("base", &self.base)
            .field("retired", &self.retired.len())
            .field("recent", &self.recent.len())
            .finish_non_exhaustive()
    }
}

impl<K> fmt::Debug for Matcher<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("subscriptions", &self.subscriptions)
            .field("queries", &self.queries.len())
            .field(
                "patterns",
                &(self.pattern_variants.starts.len().saturating_sub(1)),
            )
            .field("variants", &self.variants.len())
            .finish_non_exhaustive()
    }
}

/// Interns patterns, variants and term displays while subscriptions are compiled. The lists
/// keyed by an id are gathered as `(id, item)` pairs and packed at the end.
#[derive(Default)]
struct Compiler {
    patterns: Vec<String>,
    pattern_ids: Ids,
    /// `(pattern, variant)`.
    pattern_variants: Vec<(u32, u32)>,
    /// Every variant with its pattern (a variant is one spelling of a pattern).
    variants: Vec<(u32, Variant)>,
    variant_ids: Ids,
    /// `(variant, one-term query)`.
    variant_simple: Vec<(u32, SimpleQuery)>,
    queries: Vec<CompiledQuery>,
    query_terms: Vec<CompiledTerm>,
    displays: Vec<String>,
    display_ids: Ids,
    /// The variants that are a side of some pair (`None` until one is).
    positional: Option<BitSet>,
}

/// Whether every `NEAR/n` / `SENTENCE` pair among a query's positive terms holds.
fn pairs_hold(positives: &[CompiledTerm], places: &[Place]) -> bool {
    positives.windows(2).all(|pair| {
        pair[0]
            .near
            .is_none_or(|within| pair_holds(places, &pair[0], &pair[1], within))
    })
}

/// Ids of interned values: the table holds only ids into the values' `Vec`, not a second
/// copy of every value (at a million subscriptions, tens of megabytes during the build).
#[derive(Default)]
struct Ids {
    table: hashbrown::HashTable<u32>,
    hasher: std::hash::RandomState,
}

/// The id of `value` in `values`, pushing it if it is new.
fn intern<T: Hash + Eq>(ids: &mut Ids, values: &mut Vec<T>, value: T) -> Result<u32, MatcherError> {
    use std::hash::BuildHasher;
    let hasher = &ids.hasher;
    let hash = hasher.hash_one(&value);
    if let Some(&known) = ids.table.find(hash, |&i| values[i as usize] == value) {
        return Ok(known);
    }
    let new = id(values.len())?;
    values.push(value);
    ids.table
        .insert_unique(hash, new, |&i| hasher.hash_one(&values[i as usize]));
    Ok(new)
}

impl Compiler {
    /// Compiles one distinct query as query `query_id` (the next id).
    fn query(&mut self, query: &Query, query_id: u32) -> Result<(), MatcherError> {
        let start = id(self.query_terms.len())?;
        if let ([group], [], []) = (query.groups(), query.exclusions(), query.proximities()) {
            if let [term] = group.as_slice() {
                // One term alone: matched straight from the variant, never evaluated.
                let term = self.term(term)?;
                self.variant_simple.push((
                    term.variant,
                    SimpleQuery {
                        query: query_id,
                        term,
                    },
                ));
                self.queries.push(CompiledQuery {
                    start,
                    positives_end: start,
                    end: start,
                });
                return Ok(());
            }
        }
        for group in query.groups() {
            for (i, term) in group.iter().enumerate() {
                let mut compiled = self.term(term)?;
                compiled.ends_group = i + 1 == group.len();
                self.query_terms.push(compiled);
            }
        }
        for pair in query.proximities() {
            // Two groups of one term each (so the candidate index needs no change), the left
            // one carrying the check.
            let mut left = self.term(pair.left())?;
            left.ends_group = true;
            left.near = Some(pair.within());
            let mut right = self.term(pair.right())?;
            right.ends_group = true;
            let positional = self.positional.get_or_insert_with(BitSet::default);
            positional.insert(left.variant);
            positional.insert(right.variant);
            self.query_terms.extend([left, right]);
        }
        let positives_end = id(self.query_terms.len())?;
        for term in query.exclusions() {
            let compiled = self.term(term)?;
            self.query_terms.push(compiled);
        }
        self.queries.push(CompiledQuery {
            start,
            positives_end,
            end: id(self.query_terms.len())?,
        });
        Ok(())
    }

    /// The inverted index of the compound queries: `(variant, query)` pairs. A query is
    /// indexed under the terms of one of its groups only, the group whose terms the fewest
    /// queries use: it cannot match unless that group is found, so a query like
    /// `Google Newshound` is evaluated for items naming `Newshound`, not for every item
    /// naming `Google`.
    fn compound_index(&self) -> Vec<(u32, u32)> {
        let mut users = vec![0u32; self.variants.len()];
        for term in self.positive_terms() {
            users[term.variant as usize] = users[term.variant as usize].saturating_add(1);
        }
        let mut pairs = Vec::new();
        for (query_id, query) in (0u32..).zip(&self.queries) {
            let positives = &self.query_terms[query.start as usize..query.positives_end as usize];
            let mut best: Option<(u64, &[CompiledTerm])> = None;
            for group in positives.split_inclusive(|t| t.ends_group) {
                let cost: u64 = group
                    .iter()
                    .map(|t| u64::from(users[t.variant as usize]))
                    .sum();
                if best.is_none_or(|(least, _)| cost < least) {
                    best = Some((cost, group));
                }
            }
            let first = pairs.len();
            for term in best.map_or(&[][..], |(_, group)| group) {
                if !pairs[first..].contains(&(term.variant, query_id)) {
                    pairs.push((term.variant, query_id));
                }
            }
        }
        pairs
    }

    fn positive_terms(&self) -> impl Iterator<Item = &CompiledTerm> {
        self.queries
            .iter()
            .flat_map(|q| self.query_terms[q.start as usize..q.positives_end as usize].iter())
    }

    fn term(&mut self, term: &Term) -> Result<CompiledTerm, MatcherError> {
        let (pattern, variant) = Spelling::compile(term.words(), term.is_prefix());
        let pattern_id = intern(&mut self.pattern_ids, &mut self.patterns, pattern)?;
        let known_variants = self.variants.len();
        let variant_id = intern(
            &mut self.variant_ids,
            &mut self.variants,
            (pattern_id, variant),
        )?;
        if variant_id as usize == known_variants {
            self.pattern_variants.push((pattern_id, variant_id));
        }
        let display_id = intern(&mut self.display_ids, &mut self.displays, term.to_string())?;
        Ok(CompiledTerm {
            variant: variant_id,
            display: display_id,
            title_only: term.is_title_only(),
            ends_group: false,
            near: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::query::parse;

    fn matcher(subscriptions: &[(u32, &str)]) -> Matcher<u32> {
        Matcher::new(
            subscriptions
                .iter()
                .map(|&(key, text)| (key, parse(text).unwrap())),
        )
    }

    fn keys(m: &Matcher<u32>, title: &str, body: &str) -> Vec<u32> {
        m.match_document(&Document { title, body })
            .into_iter()
            .map(|found| found.key)
            .collect()
    }

    /// Whether a single query matches a title with an empty body.
    fn title_matches(query: &str, title: &str) -> bool {
        !keys(&matcher(&[(1, query)]), title, "").is_empty()
    }

    /// Whether a single query matches a body with an empty title.
    fn body_matches(query: &str, body: &str) -> bool {
        !keys(&matcher(&[(1, query)]), "", body).is_empty()
    }

    fn meta_gemini() -> Matcher<u32> {
        matcher(&[(1, "Meta"), (2, "Gemini")])
    }

    #[test]
    fn headline_with_both_names_matches_both() {
        let m = meta_gemini();
        let title = "Meta in talks to use Google's Gemini models for ad targeting";
        assert_eq!(keys(&m, title, ""), vec![1, 2]);
    }

    #[test]
    fn curly_possessive_matches_name() {
        let m = meta_gemini();
        let title = "EU prepares antitrust probe into Meta\u{2019}s AI integration on WhatsApp";
        assert_eq!(keys(&m, title, ""), vec![1]);
    }

    #[test]
    fn unrelated_headlines_match_nothing() {
        let m = meta_gemini();
        for title in [
            "Amazon and Google launch a multicloud networking service",
            "Coupang apologizes after data breach affecting 33.7 million users",
        ] {
            assert!(keys(&m, title, "").is_empty(), "{title}");
        }
    }

    #[test]
    fn name_does_not_match_inside_longer_words() {
        let m = meta_gemini();
        for text in [
            "New metadata standard",
            "The Metaverse is quiet",
            "A meta-analysis of trials",
        ] {
            assert!(keys(&m, text, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn link_in_body_never_matches() {
        let m = meta_gemini();
        let body = "Read more at https://example.com/meta/story and www.gemini.example/Meta";
        assert!(keys(&m, "Weekly roundup", body).is_empty());
        // Text after the link is still searched.
        assert_eq!(
            keys(&m, "", "See https://example.com/meta/story Meta said"),
            vec![1]
        );
    }

    #[test]
    fn name_matches_punctuated_forms_and_all_caps() {
        for title in [
            "Meta's plan",
            "(Meta) said",
            "Meta-owned WhatsApp",
            "META SHARES RISE",
            "\"Meta\": a profile",
        ] {
            assert!(title_matches("Meta", title), "{title}");
        }
    }

    #[test]
    fn name_does_not_match_other_capitalisation() {
        assert!(!title_matches("Meta", "a meta discussion"));
        assert!(!title_matches("Meta", "MEta typo"));
        assert!(title_matches("iPhone", "IPHONE 17 leaks"));
        assert!(!title_matches("iPhone", "Iphone 17 leaks"));
    }

    #[test]
    fn lower_case_word_matches_any_case() {
        for title in ["gemini launch", "Gemini launch", "GEMINI LAUNCH"] {
            assert!(title_matches("gemini", title), "{title}");
        }
    }

    #[test]
    fn same_pattern_keeps_each_subscriptions_case_rule() {
        let m = matcher(&[(1, "Meta"), (2, "meta")]);
        assert_eq!(keys(&m, "a meta-analysis", ""), vec![2]);
        assert_eq!(keys(&m, "Meta earnings", ""), vec![1, 2]);
    }

    #[test]
    fn or_matches_either_alternative() {
        let m = matcher(&[(1, "Meta OR Facebook Gemini")]);
        assert_eq!(keys(&m, "Facebook tests Gemini", ""), vec![1]);
        assert_eq!(keys(&m, "Meta tests Gemini", ""), vec![1]);
        assert!(keys(&m, "Facebook tests Llama", "").is_empty());
        assert!(keys(&m, "Gemini update", "").is_empty());
    }

    #[test]
    fn all_words_must_appear() {
        let m = matcher(&[(1, "Meta Gemini")]);
        assert!(keys(&m, "Meta news", "").is_empty());
        assert_eq!(keys(&m, "Meta news", "about Gemini"), vec![1]);
    }

    #[test]
    fn excluded_word_vetoes_match() {
        let m = matcher(&[(1, "Gemini -horoscope")]);
        assert_eq!(keys(&m, "Gemini 2 released", ""), vec![1]);
        assert!(keys(&m, "Gemini weekly", "Your horoscope for May").is_empty());
    }

    #[test]
    fn excluded_phrase_vetoes_only_the_phrase() {
        let m = matcher(&[(1, "Gemini -\"star sign\"")]);
        assert!(keys(&m, "Gemini: your star sign this week", "").is_empty());
        assert_eq!(keys(&m, "Gemini reaches for the stars", "sign up"), vec![1]);
    }

    #[test]
    fn excluded_title_term_only_looks_at_title() {
        let m = matcher(&[(1, "Gemini -title:horoscope")]);
        assert!(keys(&m, "Gemini horoscope", "").is_empty());
        assert_eq!(keys(&m, "Gemini news", "no horoscope here"), vec![1]);
    }

    #[test]
    fn title_term_ignores_body() {
        let m = matcher(&[(1, "title:Meta")]);
        assert_eq!(keys(&m, "Meta earnings", ""), vec![1]);
        assert!(keys(&m, "Earnings season", "Meta reported").is_empty());
    }

    #[test]
    fn plain_term_searches_title_and_body() {
        assert!(title_matches("Meta", "Meta earnings"));
        assert!(body_matches("Meta", "Earnings: Meta reported"));
    }

    #[test]
    fn prefix_matches_word_starts_only() {
        for title in ["Gemini 2", "gems found", "GEMSTONE"] {
            assert!(title_matches("gem*", title), "{title}");
        }
        assert!(!title_matches("gem*", "a diadem"));
        assert!(!title_matches("gem*", "ge mini"));
    }

    #[test]
    fn capitalised_prefix_follows_name_rule() {
        assert!(title_matches("Gem*", "Gemini 2"));
        assert!(title_matches("Gem*", "GEMINI 2"));
        assert!(!title_matches("Gem*", "gemstones"));
    }

    #[test]
    fn phrase_prefix_applies_to_last_word() {
        assert!(title_matches("\"google clo*\"", "Google Cloudflare deal"));
        assert!(!title_matches("\"google clo*\"", "Googled clouds"));
    }

    #[test]
    fn accents_fold_both_ways() {
        assert!(title_matches("Nestle", "Nestlé recalls formula"));
        assert!(title_matches("Nestlé", "Nestle recalls formula"));
        // Decomposed text (e + combining acute) folds the same way.
        assert!(title_matches("Nestlé", "Nestle\u{301} recalls formula"));
        assert!(title_matches("cafe", "CAFÉ CULTURE"));
    }

    #[test]
    fn cjk_characters_match_inside_unspaced_text() {
        assert!(title_matches("東京", "東京都で地震"));
        assert!(!title_matches("東京", "京東の決算"));
        assert!(title_matches("ソニー", "ソニーが新製品"));
    }

    #[test]
    fn japanese_voiced_marks_are_not_folded_away() {
        assert!(!title_matches("ガス", "カスタマー"));
    }

    #[test]
    fn cyrillic_and_greek_words_match() {
        assert!(title_matches("Москва", "Москва объявила"));
        assert!(title_matches("Москва", "МОСКВА ОБЪЯВИЛА"));
        assert!(!title_matches("Москва", "Подмосква"));
        assert!(title_matches("αθηνα", "Νέα μέτρα στην Αθήνα"));
    }

    #[test]
    fn phrase_matches_consecutive_words_only() {
        assert!(title_matches("\"Google Cloud\"", "Google Cloud outage"));
        assert!(title_matches("\"Google Cloud\"", "Google-Cloud outage"));
        assert!(!title_matches("\"Google Cloud\"", "Google's Cloud outage"));
        assert!(!title_matches("\"Google Cloud\"", "Cloud Google outage"));
    }

    #[test]
    fn phrase_does_not_cross_sentence_break() {
        for text in [
            "We use Google. Cloud costs rose",
            "Google! Cloud",
            "Google? Cloud",
            "Google; Cloud",
            "Google: Cloud",
            "Google\nCloud",
        ] {
            assert!(!body_matches("\"Google Cloud\"", text), "{text:?}");
        }
    }

    #[test]
    fn phrase_does_not_cross_title_body_border() {
        let m = matcher(&[(1, "\"Google Cloud\"")]);
        assert!(keys(&m, "News from Google", "Cloud costs rose").is_empty());
    }

    #[test]
    fn dotted_abbreviation_and_numbers_match_as_phrases() {
        assert!(title_matches("U.S.", "U.S. officials said"));
        assert!(title_matches(
            "\"33.7 million\"",
            "affecting 33.7 million users"
        ));
    }

    #[test]
    fn matched_lists_found_terms_in_query_order() {
        let m = matcher(&[(1, "Meta OR Facebook \"Google Cloud\" title:Gemini gem*")]);
        let found = m.match_document(&Document {
            title: "Gemini on Google Cloud: Facebook and Meta",
            body: "Meta again",
        });
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].matched,
            vec![
                "Meta",
                "Facebook",
                "\"Google Cloud\"",
                "title:Gemini",
                "gem*"
            ]
        );
    }

    #[test]
    fn matched_omits_alternatives_not_found() {
        let m = matcher(&[(7, "Meta OR Facebook")]);
        let found = m.match_document(&Document {
            title: "Facebook outage",
            body: "",
        });
        assert_eq!(
            found,
            vec![Match {
                key: 7,
                matched: vec!["Facebook".to_string()]
            }]
        );
    }

    #[test]
    fn matched_is_deduplicated() {
        let m = matcher(&[(1, "Meta Meta")]);
        let found = m.match_document(&Document {
            title: "Meta",
            body: "",
        });
        assert_eq!(found[0].matched, vec!["Meta"]);
    }

    #[test]
    fn ten_thousand_subscriptions_return_only_matching_ones() {
        let mut subscriptions: Vec<(u32, Query)> = (0..10_000u32)
            .map(|i| (i, parse(&format!("keyword{i} OR \"topic {i}\"")).unwrap()))
            .collect();
        subscriptions.push((10_000, parse("Gemini").unwrap()));
        subscriptions.push((10_001, parse("Gemini -Meta").unwrap()));
        let m = Matcher::new(subscriptions);
        assert_eq!(m.len(), 10_002);
        let found = keys(
            &m,
            "Meta uses Gemini",
            "keyword42 and topic 7; also keyword99999 and topic",
        );
        assert_eq!(found, vec![7, 42, 10_000]);
    }

    #[test]
    fn only_subscriptions_sharing_a_found_term_are_evaluated() {
        let m = Matcher::new(
            (0..10_000u32).map(|i| (i, parse(&format!("keyword{i} Gemini")).unwrap())),
        );
        let (variants, candidates) = m.variants_and_candidates(&Document {
            title: "Gemini and keyword5",
            body: "",
        });
        assert_eq!(variants, 2, "found `Gemini` and `keyword5`");
        // Every subscription uses `Gemini`, but each is indexed under its rarer group, so
        // only the one naming `keyword5` is evaluated...
        assert_eq!(candidates, vec![5]);
        assert_eq!(keys(&m, "Gemini and keyword5", ""), vec![5]);
        // ...and `Gemini` alone reaches none of them.
        let (_, candidates) = m.variants_and_candidates(&Document {
            title: "Gemini again",
            body: "",
        });
        assert!(candidates.is_empty());
        let (_, candidates) = m.variants_and_candidates(&Document {
            title: "keyword5 and keyword6",
            body: "",
        });
        assert_eq!(candidates, vec![5, 6]);
        assert!(keys(&m, "keyword5 and keyword6", "").is_empty());
    }

    #[test]
    fn every_alternative_of_an_indexed_group_reaches_the_query() {
        // `Gemini` is common, so these queries are indexed under `Apple OR Banana`.
        let mut subscriptions: Vec<(u32, Query)> = (0..100u32)
            .map(|i| (i, parse(&format!("Gemini keyword{i}")).unwrap()))
            .collect();
        subscriptions.push((100, parse("Apple OR Banana Gemini").unwrap()));
        let m = Matcher::new(subscriptions);
        assert_eq!(keys(&m, "Gemini", "Banana bread"), vec![100]);
        assert_eq!(keys(&m, "Apple", "Gemini"), vec![100]);
        assert!(keys(&m, "Apple and Banana", "").is_empty());
    }

    #[test]
    fn empty_matcher_matches_nothing() {
        let m: Matcher<u32> = Matcher::new(Vec::<(u32, Query)>::new());
        assert!(m.is_empty());
        assert_eq!(m.len(), 0);
        assert!(keys(&m, "Meta", "Gemini").is_empty());
    }

    #[test]
    fn empty_document_matches_nothing() {
        assert!(keys(&meta_gemini(), "", "").is_empty());
    }

    #[test]
    fn thai_word_matches_inside_unspaced_text() {
        assert!(title_matches("กรุงเทพ", "น้ำท่วมที่กรุงเทพฯ วันนี้"));
        assert!(!title_matches("กรุงเทพ", "เชียงใหม่"));
    }

    #[test]
    fn links_in_any_case_are_removed() {
        assert!(!body_matches("Meta", "HTTPS://EXAMPLE.COM/Meta"));
        assert!(!body_matches("Meta", "(www.Meta.com)"));
        // `www.` must start the link; a word ending in "www" followed by "." does not.
        assert!(body_matches("Meta", "awww. Meta"));
    }

    const FINDER_TERMS: &[&str] = &[
        "Meta",
        "meta",
        "META",
        "gem*",
        "Gem*",
        "Nestle",
        "\"Google Cloud\"",
        "\"google clo*\"",
        "title:Meta",
        "U.S.",
        "東京",
    ];
    const FINDER_TEXT: &[&str] = &[
        "Meta",
        "META",
        "meta",
        "meta-analysis",
        "Metaverse",
        "Meta’s",
        "Gemini",
        "gems",
        "Nestlé",
        "NESTLÉ",
        "Google",
        "google",
        "Cloud",
        "cloudy",
        "Google-Cloud",
        "U.S.",
        "U.S",
        "東京都",
        "京",
        ".",
        ",",
        ":",
        "\n",
        "https://x.example/Meta",
        "www.Google.com",
        "(Meta)",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
        /// The term finder (sentence choice, bolding) agrees with the matcher: a one-term
        /// query matches a document exactly when the finder locates its term there.
        #[test]
        fn the_finder_finds_exactly_what_the_matcher_matches(
            term in 0usize..100,
            title in proptest::collection::vec(0usize..100, 0..6),
            body in proptest::collection::vec(0usize..100, 0..20),
        ) {
            let join = |picks: &[usize]| picks
                .iter()
                .map(|&i| FINDER_TEXT[i % FINDER_TEXT.len()])
                .collect::<Vec<_>>()
                .join(" ");
            let (title, body) = (join(&title), join(&body));
            let query = parse(FINDER_TERMS[term % FINDER_TERMS.len()]).unwrap();
            let display = query.positive_terms().next().unwrap().to_string();
            let doc = Document { title: &title, body: &body };
            let matched = !Matcher::new([(0u32, query)]).match_document(&doc).is_empty();
            let located = !text::locate(&title, &body, &[&display]).is_empty();
            proptest::prop_assert_eq!(matched, located, "{} in {:?} / {:?}", display, title, body);
        }
    }

    #[test]
    fn spans_say_where_each_matched_term_is() {
        let m = matcher(&[(1, "Meta OR \"Google Cloud\"")]);
        let doc = Document {
            title: "Meta moves",
            body: "to Google\nCloud, then Google Cloud",
        };
        let found = m.match_document(&doc);
        let spans = found[0].spans(&doc);
        let texts: Vec<(text::Field, &str, &str)> = spans
            .iter()
            .map(|s| {
                let field = if s.field == text::Field::Title {
                    doc.title
                } else {
                    doc.body
                };
                (
                    s.field,
                    &field[s.range.clone()],
                    found[0].matched[s.term].as_str(),
                )
            })
            .collect();
        assert_eq!(
            texts,
            [
                (text::Field::Title, "Meta", "Meta"),
                (text::Field::Body, "Google Cloud", "\"Google Cloud\""),
            ]
        );
    }

    const QUERY_WORDS: &[&str] = &["Meta", "meta", "gem*", "Nestle", "cloud", "Google", "ai"];
    const TEXT_WORDS: &[&str] = &[
        "Meta", "META", "meta", "Gemini", "gems", "Nestlé", "cloud", "Google", "AI", "ai", ".", ",",
    ];

    fn random_query(picks: &[(usize, u8)]) -> String {
        let mut query = String::new();
        for (n, &(word, kind)) in picks.iter().enumerate() {
            let word = QUERY_WORDS[word % QUERY_WORDS.len()];
            if n > 0 {
                query.push_str(match kind % 8 {
                    0 | 4 => " OR ",
                    3 => " NEAR/2 ",
                    7 => " SENTENCE ",
                    _ => " ",
                });
            }
            match kind % 5 {
                1 if n > 0 => query.push_str(&format!("-{word}")),
                2 => query.push_str(&format!("title:{word}")),
                _ => query.push_str(word),
            }
        }
        query
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// All subscriptions compiled together (with the shared index choices) find exactly
        /// what each subscription compiled on its own finds.
        #[test]
        fn one_matcher_agrees_with_each_query_alone(
            queries in proptest::collection::vec(
                proptest::collection::vec((0usize..100, 0u8..20), 1..4), 1..30),
            title in proptest::collection::vec(0usize..100, 0..6),
            body in proptest::collection::vec(0usize..100, 0..20),
        ) {
            let join = |picks: &[usize]| picks
                .iter()
                .map(|&i| TEXT_WORDS[i % TEXT_WORDS.len()])
                .collect::<Vec<_>>()
                .join(" ");
            let (title, body) = (join(&title), join(&body));
            let parsed: Vec<(u32, Query)> = (0u32..)
                .zip(&queries)
                .filter_map(|(k, q)| Some((k, parse(&random_query(q)).ok()?)))
                .collect();
            let all = Matcher::new(parsed.clone());
            let doc = Document { title: &title, body: &body };
            let expected: Vec<Match<u32>> = parsed
                .iter()
                .flat_map(|(k, q)| Matcher::new([(*k, q.clone())]).match_document(&doc))
                .collect();
            proptest::prop_assert_eq!(all.match_document(&doc), expected);
        }
    }

    #[test]
    fn find_matches_lists_distinct_queries_with_their_subscriptions() {
        let m = matcher(&[
            (1, "Meta"),
            (2, "Gemini OR Meta"),
            (3, "Meta"),
            (4, "Apple"),
            (5, "title:Gemini"),
        ]);
        let doc = Document {
            title: "Meta news",
            body: "Gemini too",
        };
        let found = m.find_matches(&doc);
        let mut got: Vec<(Vec<u32>, Vec<&str>)> = found
            .iter()
            .map(|q| (q.keys().to_vec(), q.terms().collect()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                (vec![1, 3], vec!["Meta"]),
                (vec![2], vec!["Gemini", "Meta"]),
            ]
        );
        assert_eq!(found.len(), 2);
        assert_eq!(found.subscriptions(), 3);
        assert_eq!(m.count_matches(&doc), 3);
    }

    #[test]
    fn matching_from_inside_a_visit_callback_works() {
        let m = meta_gemini();
        let doc = Document {
            title: "Meta and Gemini",
            body: "",
        };
        let mut inner = Vec::new();
        m.for_each_match(&doc, |key, _| {
            inner.push((key, keys(&m, "Gemini", "")));
        });
        inner.sort();
        assert_eq!(inner, vec![(1, vec![2]), (2, vec![2])]);
    }

    #[test]
    fn unusual_text_never_panics() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        const PIECES: [&str; 20] = [
            "Meta",
            " ",
            ".",
            "\n",
            "İ",
            "ß",
            "e\u{301}",
            "\u{301}",
            "東京",
            "が",
            "https://m/",
            "www.",
            "\u{AD}",
            "ς",
            "Σ",
            "’s",
            "gemini",
            "GEM",
            "\u{200D}",
            "ﬁ",
        ];
        let m = matcher(&[
            (1, "Meta"),
            (2, "gem*"),
            (3, "\"Meta gemini\""),
            (4, "东京 OR 東京"),
            (5, "İstanbul OR Straße"),
            (6, "title:Σ -ß"),
        ]);
        let mut rng = StdRng::seed_from_u64(11);
        let mut matched = 0;
        for _ in 0..2_000 {
            let piece = |rng: &mut StdRng| {
                (0..rng.gen_range(0..10))
                    .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
                    .collect::<String>()
            };
            let title = piece(&mut rng);
            let body = piece(&mut rng);
            matched += m
                .match_document(&Document {
                    title: &title,
                    body: &body,
                })
                .len();
        }
        assert!(matched > 0);
    }

    fn incremental(subscriptions: &[(u32, &str)]) -> IncrementalMatcher<u32> {
        IncrementalMatcher::new(
            subscriptions
                .iter()
                .map(|&(key, text)| (key, parse(text).unwrap())),
        )
    }

    fn incremental_keys(m: &IncrementalMatcher<u32>, title: &str) -> Vec<u32> {
        m.match_document(&Document { title, body: "" })
            .into_iter()
            .map(|found| found.key)
            .collect()
    }

    #[test]
    fn incremental_add_matches_at_once() {
        let mut m = incremental(&[(1, "Meta"), (2, "Gemini")]);
        m.add(3, parse("\"Google Cloud\"").unwrap()).unwrap();
        assert_eq!(
            incremental_keys(&m, "Meta moves to Google Cloud"),
            vec![1, 3]
        );
        assert_eq!(
            m.pending_changes(),
            2,
            "the key is retired from the base and added"
        );
    }

    #[test]
    fn incremental_remove_stops_matches() {
        let mut m = incremental(&[(1, "Meta"), (2, "Meta OR Gemini")]);
        m.remove(&1).unwrap();
        assert_eq!(incremental_keys(&m, "Meta earnings"), vec![2]);
        m.add(4, parse("earnings").unwrap()).unwrap();
        m.remove(&4).unwrap();
        assert_eq!(incremental_keys(&m, "Meta earnings"), vec![2]);
    }

    #[test]
    fn incremental_replace_uses_only_the_new_query() {
        let mut m = incremental(&[(1, "Meta"), (2, "Gemini")]);
        m.add(1, parse("Facebook").unwrap()).unwrap();
        assert_eq!(incremental_keys(&m, "Meta and Gemini"), vec![2]);
        assert_eq!(incremental_keys(&m, "Facebook and Gemini"), vec![2, 1]);
        m.add(1, parse("Gemini").unwrap()).unwrap();
        let found = m.match_document(&Document {
            title: "Gemini",
            body: "",
        });
        assert_eq!(
            found.len(),
            2,
            "key 1 once, with its latest query: {found:?}"
        );
    }

    #[test]
    fn incremental_agrees_with_a_full_rebuild_after_random_changes() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        const QUERIES: [&str; 8] = [
            "Meta",
            "gemini",
            "\"Google Cloud\"",
            "Meta OR Facebook",
            "Gemini -horoscope",
            "title:Cloud",
            "goo*",
            "Facebook Gemini",
        ];
        const TITLES: [&str; 4] = [
            "Meta and Facebook on Google Cloud",
            "Gemini horoscope",
            "Cloud news: google reports",
            "Gemini comes to Facebook",
        ];
        let mut rng = StdRng::seed_from_u64(6);
        let mut live: Vec<(u32, &str)> = (0..20).map(|k| (k, QUERIES[k as usize % 8])).collect();
        let mut m = incremental(&live);
        for _ in 0..300 {
            let key = rng.gen_range(0..30);
            live.retain(|(k, _)| *k != key);
            if rng.gen_bool(0.6) {
                let text = QUERIES[rng.gen_range(0..QUERIES.len())];
                live.push((key, text));
                m.add(key, parse(text).unwrap()).unwrap();
            } else {
                m.remove(&key).unwrap();
            }
            let fresh = matcher(&live);
            for title in TITLES {
                let mut got = incremental_keys(&m, title);
                got.sort_unstable();
                let mut want = keys(&fresh, title, "");
                want.sort_unstable();
                assert_eq!(got, want, "{title}");
            }
        }
        assert!(m.needs_compaction() == (m.pending_changes() > 1_000));
    }

    #[test]
    fn heap_estimate_grows_with_subscriptions() {
        let small = matcher(&[(1, "Meta")]);
        let large = Matcher::new((0..1_000u32).map(|i| (i, parse(&format!("word{i}")).unwrap())));
        assert!(small.heap_bytes() > 0);
        assert!(large.heap_bytes() > 10 * small.heap_bytes());
    }

    #[test]
    fn sharp_s_and_dotted_i_fold() {
        assert!(title_matches("Straße", "STRASSE GESPERRT"));
        assert!(title_matches("strasse", "Straße gesperrt"));
        assert!(title_matches("istanbul", "İSTANBUL"));
    }

    #[test]
    fn near_matches_n_words_apart_but_not_n_plus_one() {
        let near = "Meta NEAR/2 AI";
        assert!(body_matches(near, "Meta AI"));
        assert!(body_matches(near, "Meta bets on AI"));
        assert!(!body_matches(near, "Meta bets big on AI"));
        assert!(
            title_matches("Meta NEAR/1 AI", "Meta's AI"),
            "`s` is one word between"
        );
        assert!(!title_matches("Meta NEAR/1 AI", "Meta and its AI"));
    }

    #[test]
    fn near_matches_in_either_order() {
        assert!(body_matches("Meta NEAR/2 AI", "AI chief leaves Meta"));
        assert!(!body_matches(
            "Meta NEAR/2 AI",
            "AI chief quietly leaves Meta"
        ));
    }

    #[test]
    fn near_counts_words_across_sentence_breaks_but_sentence_does_not_cross_them() {
        let body = "Meta sold shares. AI stocks fell";
        assert!(body_matches("Meta NEAR/2 AI", body));
        assert!(!body_matches("Meta SENTENCE AI", body));
        assert!(body_matches(
            "Meta SENTENCE AI",
            "Meta sold shares; AI stocks fell"
        ));
        assert!(!body_matches(
            "Meta SENTENCE AI",
            "Meta sold shares\nAI stocks fell"
        ));
        assert!(body_matches(
            "Meta SENTENCE AI",
            "Meta paid 3.5 billion to U.S. officials for AI."
        ));
    }

    #[test]
    fn pairs_stay_inside_one_field_and_the_title_is_its_own_sentence() {
        let m = matcher(&[(1, "Meta NEAR/3 AI"), (2, "Meta SENTENCE AI")]);
        assert!(keys(&m, "Meta reports", "AI spending up").is_empty());
        assert_eq!(keys(&m, "Meta reports AI spending", ""), vec![1, 2]);
        assert_eq!(keys(&m, "Weekly", "Meta reports AI spending"), vec![1, 2]);
    }

    #[test]
    fn title_side_of_a_pair_must_be_in_the_title() {
        let m = matcher(&[(1, "title:Meta NEAR/3 AI")]);
        assert_eq!(keys(&m, "Meta bets on AI", ""), vec![1]);
        assert!(keys(&m, "Weekly", "Meta bets on AI").is_empty());
        assert!(keys(&m, "Meta news", "Meta bets on AI").is_empty());
    }

    #[test]
    fn phrases_are_pair_sides_counted_from_their_ends() {
        let near = "\"Google Cloud\" NEAR/1 outage";
        assert!(body_matches(near, "Google Cloud had outage"));
        assert!(body_matches(near, "an outage hit Google Cloud"));
        assert!(!body_matches(near, "Google Cloud had an outage"));
        assert!(!body_matches(near, "Google had outage in Cloud"));
        assert!(body_matches(
            "\"google clo*\" SENTENCE outage",
            "Google Cloudflare outage"
        ));
    }

    #[test]
    fn pairs_keep_word_boundaries_and_case_rules() {
        let near = "Meta NEAR/2 AI";
        assert!(!body_matches(near, "metadata and AI"));
        assert!(!body_matches(near, "Metaverse and AI"));
        assert!(!body_matches(near, "a meta-analysis of AI"));
        assert!(!body_matches(near, "Meta and ai"));
        assert!(body_matches(near, "META AND AI"));
        assert!(body_matches("meta NEAR/2 ai", "METADATA? no: Meta and Ai"));
        assert!(body_matches("Nestle SENTENCE cafe", "Nestlé opens a CAFÉ"));
    }

    #[test]
    fn the_two_sides_must_be_different_words() {
        assert!(!body_matches("Meta NEAR/2 Meta", "Meta said"));
        assert!(body_matches("Meta NEAR/2 Meta", "Meta versus Meta"));
        assert!(!body_matches(
            "Google NEAR/3 \"Google Cloud\"",
            "Google Cloud"
        ));
        assert!(body_matches(
            "Google NEAR/3 \"Google Cloud\"",
            "Google and Google Cloud"
        ));
    }

    #[test]
    fn pairs_combine_with_groups_and_exclusions() {
        let m = matcher(&[(1, "Gemini OR Bard Meta NEAR/2 AI -horoscope")]);
        assert_eq!(keys(&m, "Bard news", "Meta's AI push"), vec![1]);
        assert!(
            keys(&m, "News", "Meta's AI push").is_empty(),
            "no Gemini/Bard"
        );
        assert!(
            keys(&m, "Bard news", "Meta's push for AI").is_empty(),
            "too far"
        );
        assert!(
            keys(&m, "Bard horoscope", "Meta's AI").is_empty(),
            "excluded"
        );
    }

    #[test]
    fn a_pair_reports_both_terms_as_matched() {
        let m = matcher(&[(1, "\"Google Cloud\" SENTENCE outage")]);
        let found = m.match_document(&Document {
            title: "Google Cloud outage",
            body: "",
        });
        assert_eq!(found[0].matched, vec!["\"Google Cloud\"", "outage"]);
    }

    #[test]
    fn every_hit_counts_not_only_the_first() {
        let body = "Meta news first. Then much later Meta bets on AI";
        assert!(body_matches("Meta NEAR/2 AI", body));
        assert!(body_matches("AI NEAR/2 Meta", body));
    }

    #[test]
    fn pair_sides_share_the_automaton_with_other_queries() {
        let m = matcher(&[(1, "Meta"), (2, "Meta NEAR/1 AI"), (3, "AI")]);
        assert_eq!(keys(&m, "Meta and AI", ""), vec![1, 2, 3]);
        assert_eq!(keys(&m, "Meta, then much AI", ""), vec![1, 3]);
    }

    /// Words of a pair query's sides, and of the text the naive reference reads.
    const PAIR_SIDES: &[&str] = &[
        "Meta",
        "meta",
        "ai",
        "AI",
        "\"Google Cloud\"",
        "gem*",
        "title:Meta",
        "title:ai",
    ];
    const PAIR_TEXT: &[&str] = &[
        "Meta", "META", "meta", "AI", "ai", "Google", "Cloud", "Gemini", "gems", "x", "y", "z",
        ".", ";", "!", "?", "\n", "3.5", "U.S.", "a.", "metadata",
    ];

    /// Where a term matches in a field, as word ranges, found word by word by the finder.
    fn naive_places(term: &str, field_text: &str, field: text::Field) -> Vec<(usize, usize)> {
        let Some(needle) = text::Needle::from_display(term) else {
            return Vec::new();
        };
        let words = text::word_spans(field_text);
        let word_of = |byte: usize| words.iter().position(|&(s, e)| s <= byte && byte < e);
        needle
            .find(&FoldedText::of(field_text), field)
            .into_iter()
            .filter_map(|r| Some((word_of(r.start)?, word_of(r.end - 1)?)))
            .collect()
    }

    /// The sentence of every word of a field, straight from [`text::is_sentence_break`].
    fn naive_sentences(field_text: &str) -> Vec<usize> {
        let words = text::word_spans(field_text);
        let mut sentence = 0;
        let mut out = Vec::new();
        for (i, &(start, _)) in words.iter().enumerate() {
            if i > 0 {
                let (ps, pe) = words[i - 1];
                let initial = pe - ps == 1 && field_text.as_bytes()[ps].is_ascii_alphabetic();
                if text::is_sentence_break(&field_text[pe..start], initial) {
                    sentence += 1;
                }
            }
            out.push(sentence);
        }
        out
    }

    /// The naive reference of `left within right`: every pair of hits in one field, checked
    /// by counting the words between them.
    fn naive_pair(left: &str, within: Within, right: &str, title: &str, body: &str) -> bool {
        [(title, text::Field::Title), (body, text::Field::Body)]
            .into_iter()
            .any(|(field_text, field)| {
                let sentences = naive_sentences(field_text);
                let rights = naive_places(right, field_text, field);
                naive_places(left, field_text, field)
                    .iter()
                    .any(|&(l0, l1)| {
                        rights.iter().any(|&(r0, r1)| {
                            let between = if l1 < r0 {
                                r0 - l1 - 1
                            } else if r1 < l0 {
                                l0 - r1 - 1
                            } else {
                                return false;
                            };
                            match within {
                                Within::Words(n) => between <= usize::from(n),
                                Within::Sentence => sentences[l0] == sentences[r0],
                            }
                        })
                    })
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1_000))]
        /// A `NEAR/n` or `SENTENCE` query matches exactly when the naive reference finds a
        /// close pair of hits.
        #[test]
        fn pairs_agree_with_a_naive_reference(
            left in 0usize..100,
            right in 0usize..100,
            n in 0u8..5,
            title in proptest::collection::vec(0usize..100, 0..6),
            body in proptest::collection::vec(0usize..100, 0..24),
        ) {
            let join = |picks: &[usize]| picks
                .iter()
                .map(|&i| PAIR_TEXT[i % PAIR_TEXT.len()])
                .collect::<Vec<_>>()
                .join(" ");
            let (title, body) = (join(&title), join(&body));
            let (left, right) = (PAIR_SIDES[left % PAIR_SIDES.len()], PAIR_SIDES[right % PAIR_SIDES.len()]);
            let within = if n == 0 { Within::Sentence } else { Within::Words(n) };
            let query = parse(&format!("{left} {within} {right}")).unwrap();
            let doc = Document { title: &title, body: &body };
            let matched = !Matcher::new([(0u32, query)]).match_document(&doc).is_empty();
            let expected = naive_pair(left, within, right, &title, &body);
            proptest::prop_assert_eq!(matched, expected, "{} {} {} in {:?} / {:?}", left, within, right, title, body);
        }
    }
}
