//! The one text vocabulary: how feed text and query terms are cut into words, folded
//! (accents and case), freed of links and parted at sentence and clause breaks — and, built
//! from those same pieces, where a matched term occurs in a text ([`Needle`], [`find_terms`]).
//!
//! The matcher ([`crate::core::matcher`]) scans the folded text this module builds and checks
//! every hit with [`FoldedText::hit_holds`]; the finder runs the very same check at every
//! word, so what the summary shows and the embed bolds is exactly what the matcher matched:
//!
//! - a term matches whole words (`Meta` is not in `metadata` or `meta-analysis`'s `meta` unless
//!   the case rule allows it); a possessive is a word of its own (`Meta’s` holds `Meta`);
//! - the case rule: a lower-case query word matches any case; a word with a capital matches
//!   that capitalisation or ALL CAPS (`Meta`: `Meta`, `META`; not `meta`);
//! - accents fold both ways (`Nestle` = `Nestlé`), `ß` = `ss`;
//! - `gem*` matches the words it starts (under the same case rule);
//! - a phrase's words are consecutive, never across a sentence or clause break
//!   ([`is_clause_break`]) nor across a link;
//! - nothing inside a link counts ([`link_ranges`]);
//! - sentences ([`is_sentence_break`]) are numbered as the text is folded, so the matcher's
//!   `SENTENCE` and `NEAR/n` operators read word and sentence positions off the same pass.

use std::borrow::Cow;
use std::ops::Range;

use unicode_normalization::UnicodeNormalization;

/// Byte ranges of the words of `text`.
///
/// A word is a maximal run of Unicode letters and digits (combining marks and soft hyphens stay
/// inside the word they follow); everything else separates. Han, Hiragana and Katakana (and
/// Thai, Lao, Khmer, Myanmar) are written without spaces, so there each character is a word of
/// its own: `東京都` is three words.
pub fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    // Start of the word being read, and whether it is a single character of an unspaced script.
    let mut current: Option<(usize, bool)> = None;
    for (i, c) in text.char_indices() {
        if is_word_continuation(c) {
            // A mark or soft hyphen belongs to the word before it; on its own it is noise.
            continue;
        }
        let unspaced = is_unspaced(c);
        let word = c.is_alphanumeric();
        match current {
            // A letter or digit continues a word of a spaced script.
            Some((_, false)) if word && !unspaced => {}
            Some((start, _)) => {
                spans.push((start, i));
                current = word.then_some((i, unspaced));
            }
            None => current = word.then_some((i, unspaced)),
        }
    }
    if let Some((start, _)) = current {
        spans.push((start, text.len()));
    }
    spans
}

/// Letters, digits, and the marks that continue a word.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_word_continuation(c)
}

/// Characters that never start a word but stay inside the one they follow.
pub fn is_word_continuation(c: char) -> bool {
    c == '\u{AD}' || unicode_normalization::char::is_combining_mark(c)
}

/// Scripts written without spaces between words, where each character counts as a word:
/// Han, Hiragana and Katakana, and likewise Thai, Lao, Khmer and Myanmar.
pub fn is_unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF        // Thai, Lao
        | 0x1000..=0x109F      // Myanmar
        | 0x1780..=0x17FF      // Khmer
        | 0x3005..=0x3007      // 々 〆 〇
        | 0x3040..=0x30FF      // Hiragana, Katakana
        | 0x31F0..=0x31FF      // Katakana phonetic extensions
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0xFF66..=0xFF9F      // half-width Katakana
        | 0x20000..=0x3FFFF    // CJK extensions B and later
    )
}

/// Decomposes and drops accents, keeping case: `Nestlé` -> `Nestle`.
///
/// Only diacritics that are optional in their script are dropped (Latin/Greek/Cyrillic accents,
/// Hebrew and Arabic vowel points); marks that change a letter elsewhere stay, so Japanese
/// `が` does not become `か` and Indic vowel signs are kept. Soft hyphens vanish.
pub fn fold_accents(word: &str) -> String {
    let mut folded = String::with_capacity(word.len());
    for c in word.nfd() {
        match c {
            // `ß` folds to `ss` so `Straße`, `Strasse` and `STRASSE` meet.
            'ß' => folded.push_str("ss"),
            'ẞ' => folded.push_str("SS"),
            '\u{AD}' => {}
            c if is_optional_diacritic(c) => {}
            c => folded.push(c),
        }
    }
    folded
}

/// Lower-cases an accent-folded word for the automaton; final sigma folds to `σ`.
pub fn fold_case(cased: &str) -> String {
    cased
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect()
}

fn is_optional_diacritic(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F         // combining diacritical marks
        | 0x0483..=0x0489       // Cyrillic combining marks
        | 0x0591..=0x05C7       // Hebrew points and accents
        | 0x0610..=0x061A       // Arabic signs
        | 0x064B..=0x065F       // Arabic harakat
        | 0x0670                // Arabic superscript alef
        | 0x1AB0..=0x1AFF       // diacritical marks extended
        | 0x1DC0..=0x1DFF       // diacritical marks supplement
        | 0x20D0..=0x20FF       // diacritical marks for symbols
        | 0xFE20..=0xFE2F       // combining half marks
    ) && unicode_normalization::char::is_combining_mark(c)
}

/// Accent-folds text for identity keys (item fingerprints, story tokens): NFD, then every
/// combining mark dropped (`Nestlé` -> `Nestle`).
///
/// Deliberately not [`fold_accents`]: these keys are stored, and changing how they fold
/// would make stored items look new and alert again. Matching uses [`fold_accents`].
pub fn strip_combining_marks(text: &str) -> String {
    if text.is_ascii() {
        // ASCII decomposes to itself and has no combining marks.
        return text.to_string();
    }
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect()
}

/// Folds one word the way the matcher compares words: accents, then case.
pub fn fold_word(word: &str) -> String {
    fold_case(&fold_accents(word))
}

/// A query word with a capital letter matches its own capitalisation or ALL CAPS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct NameCase {
    /// Accent-folded, case kept: `Meta`.
    pub(crate) exact: String,
    /// `exact` upper-cased: `META`.
    pub(crate) upper: String,
}

/// One spelling of a term: what each word must look like (the case rule), and whether the
/// last word is a prefix. `Meta` and `meta` share one folded pattern, `meta`, with two
/// spellings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Spelling {
    /// Per query word: `None` for a lower-case word (any case matches), or the case rule of a
    /// name.
    pub(crate) words: Vec<Option<NameCase>>,
    pub(crate) prefix: bool,
    /// Some word has a case rule (otherwise any hit on whole words is accepted as it is).
    pub(crate) cased: bool,
}

impl Spelling {
    /// The folded pattern of a term's words (joined by `' '`, as the folded text joins the
    /// words of a clause) and its spelling.
    pub(crate) fn compile<W: AsRef<str>>(words: &[W], prefix: bool) -> (String, Self) {
        let mut pattern = String::new();
        let mut rules = Vec::with_capacity(words.len());
        for word in words {
            let word = word.as_ref();
            let cased = fold_accents(word);
            if !pattern.is_empty() {
                pattern.push(' ');
            }
            pattern.push_str(&fold_case(&cased));
            rules.push(word.chars().any(char::is_uppercase).then(|| NameCase {
                upper: cased.to_uppercase(),
                exact: cased,
            }));
        }
        let spelling = Self {
            cased: rules.iter().any(Option::is_some),
            words: rules,
            prefix,
        };
        (pattern, spelling)
    }
}

impl FoldedText {
    /// Whether a word ends at byte `at` of `folded` (words are separated by exactly one `' '`
    /// or `'\n'`, and no folded word holds either).
    #[inline]
    pub(crate) fn is_boundary(&self, at: usize) -> bool {
        let folded = self.folded.as_bytes();
        at == folded.len() || matches!(folded[at], b' ' | b'\n')
    }

    /// Whether a pattern found at `folded[start..]` is a match of `spelling`: `start` is where
    /// a word starts, `whole_last_word` says whether the hit ends where a word ends (only a
    /// prefix may end inside one), and the case rule holds for every word.
    #[inline]
    pub(crate) fn hit_holds(
        &self,
        start: usize,
        whole_last_word: bool,
        spelling: &Spelling,
    ) -> bool {
        (spelling.prefix || whole_last_word)
            && (!spelling.cased || spelling.accepts(self.words_from(start), self))
    }
}

/// Which part of an item a text is: `title:` terms look only at the title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Title,
    Body,
}

/// One matched term, ready to be found in texts under exactly the matcher's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needle {
    /// The folded words joined by `' '`.
    pattern: String,
    spelling: Spelling,
    title_only: bool,
}

impl Needle {
    /// A term from its words as written (case and accents kept), as [`crate::core::query::Term`]
    /// holds them. `None` without words.
    pub fn new<W: AsRef<str>>(words: &[W], prefix: bool, title_only: bool) -> Option<Self> {
        if words.is_empty() || words.iter().any(|w| w.as_ref().is_empty()) {
            return None;
        }
        let (pattern, spelling) = Spelling::compile(words, prefix);
        Some(Self {
            pattern,
            spelling,
            title_only,
        })
    }

    /// A term from its canonical display, as an alert lists it (`Meta`, `"Google Cloud"`,
    /// `title:Nestle`, `gem*`, `"google clo*"`): the inverse of the query term's `Display`
    /// (a test in `query` holds the two together). `None` when no word is left.
    pub fn from_display(display: &str) -> Option<Self> {
        let mut text = display.trim();
        let title_only = text
            .get(..6)
            .is_some_and(|head| head.eq_ignore_ascii_case("title:"));
        if title_only {
            text = &text[6..];
        }
        let text = text.trim_matches(['"', '\u{201C}', '\u{201D}', '\u{201E}']);
        let (text, prefix) = match text.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (text, false),
        };
        let words: Vec<&str> = word_spans(text)
            .into_iter()
            .map(|(start, end)| &text[start..end])
            .collect();
        Self::new(&words, prefix, title_only)
    }

    /// Whether the term only looks at titles (`title:`).
    pub fn is_title_only(&self) -> bool {
        self.title_only
    }

    /// Byte ranges in `text` (made by [`FoldedText::of`]) where the term matches, in order; a
    /// range covers whole words (a prefix term's whole word). Nothing in a body for a `title:`
    /// term.
    pub(crate) fn find(&self, text: &FoldedText, field: Field) -> Vec<Range<usize>> {
        let mut found = Vec::new();
        if self.title_only && field == Field::Body {
            return found;
        }
        let words = self.spelling.words.len();
        for (i, word) in text.words.iter().enumerate() {
            if !text.folded[word.start..].starts_with(&self.pattern) {
                continue;
            }
            let end = word.start + self.pattern.len();
            if !text.hit_holds(word.start, text.is_boundary(end), &self.spelling) {
                continue;
            }
            // The pattern's words meet the text's words one for one (neither holds a
            // separator), so the hit ends with word `i + words - 1`.
            if let (Some(first), Some(last)) = (text.raw.get(i), text.raw.get(i + words - 1)) {
                found.push(first.start..last.end);
            }
        }
        found
    }
}

/// Every hit of every needle in `text` (one `field` of an item): `(byte range, needle index)`,
/// in text order (longer first where two start at the same word).
fn all_hits(text: &str, needles: &[Needle], field: Field) -> Vec<(Range<usize>, usize)> {
    if needles.is_empty() || text.is_empty() {
        return Vec::new();
    }
    let folded = FoldedText::of(text);
    let mut hits: Vec<(Range<usize>, usize)> = Vec::new();
    for (n, needle) in needles.iter().enumerate() {
        hits.extend(needle.find(&folded, field).into_iter().map(|r| (r, n)));
    }
    hits.sort_by_key(|(r, n)| (r.start, std::cmp::Reverse(r.end), *n));
    hits
}

/// Where any of `needles` matches in `text` (one `field` of an item): `(byte range, needle
/// index)` in text order, never overlapping — where two start at the same word the longer
/// wins (a phrase over its first word), and a hit inside an earlier one is dropped.
pub fn find_terms(text: &str, needles: &[Needle], field: Field) -> Vec<(Range<usize>, usize)> {
    let mut kept: Vec<(Range<usize>, usize)> = Vec::new();
    for hit in all_hits(text, needles, field) {
        if kept.last().is_none_or(|(last, _)| hit.0.start >= last.end) {
            kept.push(hit);
        }
    }
    kept
}

/// The [`Needle`]s of an alert's matched terms (as displayed), skipping any that has no words.
/// The index of each needle's term in `matched` is returned beside it.
pub fn needles<S: AsRef<str>>(matched: &[S]) -> (Vec<Needle>, Vec<usize>) {
    let mut needles = Vec::with_capacity(matched.len());
    let mut terms = Vec::with_capacity(matched.len());
    for (i, term) in matched.iter().enumerate() {
        if let Some(needle) = Needle::from_display(term.as_ref()) {
            needles.push(needle);
            terms.push(i);
        }
    }
    (needles, terms)
}

/// Where a matched term occurs in an item: which field, which bytes of it, and which term
/// (an index into the match's `matched` list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermSpan {
    pub field: Field,
    pub range: Range<usize>,
    pub term: usize,
}

/// Every place in an item's title and body where one of its `matched` terms (as displayed)
/// matches, title first, each in text order (overlapping
/// where two terms match the same words). This is how a match learns *where* it matched:
/// computed on demand for matched items only, so the matcher's scan stays as lean as it is.
pub fn locate<S: AsRef<str>>(title: &str, body: &str, matched: &[S]) -> Vec<TermSpan> {
    let (needles, terms) = needles(matched);
    let mut spans = Vec::new();
    for (field, text) in [(Field::Title, title), (Field::Body, body)] {
        spans.extend(
            all_hits(text, &needles, field)
                .into_iter()
                .map(|(range, n)| TermSpan {
                    field,
                    range,
                    term: terms[n],
                }),
        );
    }
    spans
}

/// Whether `bytes` start with a link (`http://`, `https://` or `www.`, any case).
pub fn starts_link(bytes: &[u8]) -> bool {
    const STARTS: [&[u8]; 3] = [b"http://", b"https://", b"www."];
    STARTS.iter().any(|p| {
        bytes
            .get(..p.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(p))
    })
}

/// Whether the characters between two words end a sentence or clause.
pub fn is_clause_break(separator: &str) -> bool {
    // A lone `.` or `:` squeezed between two words is part of an abbreviation, number or time
    // (`U.S`, `3.5`, `10:30`), not the end of a sentence.
    if separator == "." || separator == ":" {
        return false;
    }
    separator.chars().any(is_break_char)
}

/// Characters that end a sentence or clause.
pub fn is_break_char(c: char) -> bool {
    matches!(
        c,
        '.' | '!'
            | '?'
            | ';'
            | ':'
            | '\n'
            | '\r'
            | '\u{2026}' // …
            | '\u{2028}' // line separator
            | '\u{2029}' // paragraph separator
            | '\u{3002}' // 。
            | '\u{FF01}' // ！
            | '\u{FF0E}' // ．
            | '\u{FF1A}' // ：
            | '\u{FF1B}' // ；
            | '\u{FF1F}' // ？
            | '\u{0964}' // Devanagari danda
            | '\u{061F}' // Arabic question mark
            | '\u{06D4}' // Arabic full stop
    )
}

/// What a character does to a sentence ([`is_sentence_break`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SentenceRole {
    /// Ends the sentence wherever it is: a line or paragraph break, a CJK full stop, `！`, `？`
    /// (CJK text puts no space after them).
    Ends,
    /// Ends the sentence when whitespace follows it: `.` `!` `?` (and the Devanagari and
    /// Arabic marks), so `3.5` and `Yahoo!Inc` do not.
    EndsBeforeSpace,
    Other,
}

fn sentence_role(c: char) -> SentenceRole {
    match c {
        '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{3002}' | '\u{FF01}' | '\u{FF1F}' => {
            SentenceRole::Ends
        }
        '.' | '!' | '?' | '\u{FF0E}' | '\u{0964}' | '\u{061F}' | '\u{06D4}' => {
            SentenceRole::EndsBeforeSpace
        }
        _ => SentenceRole::Other,
    }
}

/// Whether the characters between two words end a sentence (the `SENTENCE` operator's unit;
/// a title is always a sentence of its own, and so is the start of the body).
///
/// A sentence ends at a line or paragraph break, at `。` `！` `？`, or at `.` `!` `?` followed
/// by whitespace (`3.5`, `10:30` and `Yahoo!Inc` go on). Cheap care for abbreviations only: a
/// `.` right after a one-letter word (`after_initial`: `U.S. officials`, `J. Smith`, `e.g. a`)
/// is an initial, not an end; `Dr. Who` still ends a sentence. `;`, `:` and `…` end clauses
/// (phrases stop there, see [`is_clause_break`]) but not sentences.
pub fn is_sentence_break(separator: &str, after_initial: bool) -> bool {
    let mut mark = false;
    for (i, c) in separator.char_indices() {
        match sentence_role(c) {
            SentenceRole::Ends => return true,
            SentenceRole::EndsBeforeSpace => {
                mark = mark || !(c == '.' && i == 0 && after_initial);
            }
            SentenceRole::Other => {
                if mark && c.is_whitespace() {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether `word` (a whole word of the text) is one ASCII letter: an initial when a `.`
/// follows it.
fn is_initial(word: &[u8]) -> bool {
    matches!(word, [letter] if letter.is_ascii_alphabetic())
}

/// Byte ranges of the links in `text`: from `http://`, `https://` or `www.` (any case) to the
/// next whitespace. A link glued to a word before it is none (`awww.` is no link). Words inside
/// a link are never searched, so `/meta/` in a URL never counts.
pub fn link_ranges(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut links = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // `i` is at an ASCII byte whenever the first test holds, hence at a char boundary.
        if matches!(bytes[i], b'h' | b'H' | b'w' | b'W')
            && starts_link(&bytes[i..])
            && !text[..i].chars().next_back().is_some_and(is_word_char)
        {
            let end = text[i..]
                .find(char::is_whitespace)
                .map_or(text.len(), |offset| i + offset);
            links.push(i..end);
            i = end;
        } else {
            i += 1;
        }
    }
    links
}

/// Stands for a removed link in [`strip_urls`]' output: a break for phrases, no sentence end.
#[cfg(test)]
const LINK_MARK: char = '\u{1}';

/// The text with every link replaced by [`LINK_MARK`] (which stops phrases across it).
/// The reference for the one-pass folding, which removes links as it goes.
#[cfg(test)]
fn strip_urls(text: &str) -> Cow<'_, str> {
    let links = link_ranges(text);
    if links.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for link in links {
        out.push_str(&text[copied..link.start]);
        out.push(LINK_MARK);
        copied = link.end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Running text with its line wraps undone: a newline inside text is whitespace (as in HTML),
/// so a run of whitespace holding one becomes a single space, and `Google⏎      Cloud` reads
/// as `Google Cloud`. A run holding a blank line (two line breaks or more) is a paragraph
/// break and becomes `'\n'`, and so does a line break before or after a line that is a
/// Markdown heading or list item (`# `, `- `, `* `, `• `, `> `): those lines stand alone.
///
/// Feed text goes through this before anything is searched or summarised, so only a sentence
/// end, a paragraph or block boundary or a blank line can part the words of a phrase.
pub fn unwrap_lines(text: &str) -> Cow<'_, str> {
    if !text.contains('\n') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Whether the line being written is a heading or list item (so it ends at its break).
    let mut line_alone = stands_alone(text);
    while let Some(newline) = rest.find('\n') {
        // The whole run of whitespace around this line break. The run cannot reach back into
        // text already copied: the previous run ended where something else than whitespace is.
        let run_start = rest[..newline].trim_end().len();
        let after = rest[newline..].trim_start();
        let run_end = rest.len() - after.len();
        let paragraph = line_alone
            || stands_alone(after)
            || rest[run_start..run_end].matches('\n').count() >= 2;
        out.push_str(&rest[..run_start]);
        out.push(if paragraph { '\n' } else { ' ' });
        if paragraph {
            line_alone = stands_alone(after);
        }
        rest = after;
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whether a line of plain text is a Markdown heading or list item, which never joins the
/// line before or after it.
fn stands_alone(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('#')
        || ["- ", "* ", "• ", "> "]
            .iter()
            .any(|marker| line.starts_with(marker))
}

/// A document's words, folded and joined for scanning.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct FoldedText {
    /// Folded words joined by `' '` (same clause) or `'\n'` (a break between them).
    pub(crate) folded: String,
    /// Every word accent-folded with its case kept (for the case rule), back to back.
    cased: String,
    /// In text order, so sorted by `start`.
    words: Vec<TextWord>,
    /// Where the body starts in `folded` (title words are before it).
    pub(crate) title_end: usize,
    /// Per word, its byte range in the field it came from; only kept when `track_raw` is set
    /// (the finder needs it, the matcher's scan does not).
    raw: Vec<Range<usize>>,
    track_raw: bool,
    /// The index (in `words`) of the first word of every sentence, ascending: the title's
    /// first word, every word after a [`is_sentence_break`], the body's first word.
    sentence_starts: Vec<usize>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TextWord {
    /// Where it starts in `folded`.
    start: usize,
    /// Byte range in `cased`.
    cased: Range<usize>,
}

impl FoldedText {
    #[cfg(test)]
    fn new(title: &str, body: &str) -> Self {
        let mut text = Self::default();
        text.fill(title, body);
        text
    }

    /// One text (a single field), with every word's place in it kept for [`Needle::find`].
    pub(crate) fn of(text: &str) -> Self {
        let mut folded = Self {
            track_raw: true,
            ..Self::default()
        };
        folded.push_field(text);
        folded.title_end = folded.folded.len();
        folded
    }

    /// Replaces the content with a document's title and body, reusing the buffers.
    pub(crate) fn fill(&mut self, title: &str, body: &str) {
        self.folded.clear();
        self.cased.clear();
        self.words.clear();
        self.raw.clear();
        self.sentence_starts.clear();
        self.push_field(title);
        self.title_end = self.folded.len();
        self.push_field(body);
    }

    /// The index of the word that starts at byte `start` of `folded` (0 = the title's first).
    pub(crate) fn word_at(&self, start: usize) -> Option<usize> {
        self.words.binary_search_by_key(&start, |w| w.start).ok()
    }

    /// The sentence holding word `word` (0 = the title, counted on through the body).
    pub(crate) fn sentence_of(&self, word: usize) -> usize {
        self.sentence_starts
            .partition_point(|&first| first <= word)
            .saturating_sub(1)
    }

    fn cased(&self, word: &TextWord) -> &str {
        &self.cased[word.cased.clone()]
    }

    /// The words from the one starting at byte `start` of `folded` (none if no word starts
    /// there).
    fn words_from(&self, start: usize) -> &[TextWord] {
        self.words
            .binary_search_by_key(&start, |w| w.start)
            .map_or(&[], |first| &self.words[first..])
    }

    /// Cuts one field into words and folds them in a single pass over its bytes, removing
    /// links on the way. ASCII (most news text) is classified, copied and lower-cased byte by
    /// byte straight into the buffers, and sentence breaks are noted as the separators go by;
    /// a non-ASCII character is decoded and classified by the Unicode rules of
    /// [`word_spans`], and a word holding one is folded by [`fold_accents`] and
    /// [`fold_case`]. The result equals [`word_spans`] over [`strip_urls`] with every
    /// word folded on its own (a test holds the two paths together).
    fn push_field(&mut self, raw: &str) {
        let bytes = raw.as_bytes();
        let mut i = 0;
        let mut word: Option<WordInProgress> = None;
        // What lies between the previous word of the field and the next one.
        let mut separator = Separator {
            first_of_field: true,
            ..Separator::default()
        };
        // Whether the character before `i` is a letter, digit or word continuation.
        let mut after_word_char = false;
        while i < bytes.len() {
            let byte = bytes[i];
            if matches!(byte, b'h' | b'H' | b'w' | b'W')
                && !after_word_char
                && starts_link(&bytes[i..])
            {
                // Not after a letter or digit, so no word is open.
                separator.link = true;
                i = raw[i..]
                    .find(char::is_whitespace)
                    .map_or(raw.len(), |offset| i + offset);
                continue;
            }
            if byte.is_ascii() {
                if byte.is_ascii_alphanumeric() {
                    match &mut word {
                        Some(current) if !current.unspaced => {
                            if !current.slow {
                                self.folded.push(char::from(byte.to_ascii_lowercase()));
                                self.cased.push(char::from(byte));
                            }
                        }
                        _ => {
                            if let Some(done) = word.take() {
                                separator.after_initial = self.finish_word(raw, &done, i);
                            }
                            word = Some(self.start_word(i, false, &mut separator));
                            self.folded.push(char::from(byte.to_ascii_lowercase()));
                            self.cased.push(char::from(byte));
                        }
                    }
                    after_word_char = true;
                    i += 1;
                    continue;
                }
                if let Some(done) = word.take() {
                    separator.after_initial = self.finish_word(raw, &done, i);
                }
                separator.add(byte, char::from(byte));
                after_word_char = false;
                i += 1;
                continue;
            }
            let Some(c) = raw[i..].chars().next() else {
                break;
            };
            let len = c.len_utf8();
            if is_word_continuation(c) {
                // A mark or soft hyphen belongs to the word before it; on its own it is noise.
                match &mut word {
                    Some(current) => current.slow = true,
                    None => separator.add(byte, c),
                }
                after_word_char = true;
                i += len;
                continue;
            }
            let is_word = c.is_alphanumeric();
            let unspaced = is_unspaced(c);
            match &mut word {
                // A letter or digit continues a word of a spaced script.
                Some(current) if is_word && !unspaced && !current.unspaced => current.slow = true,
                _ => {
                    if let Some(done) = word.take() {
                        separator.after_initial = self.finish_word(raw, &done, i);
                    }
                    if is_word {
                        let mut current = self.start_word(i, unspaced, &mut separator);
                        current.slow = true;
                        word = Some(current);
                    } else {
                        separator.add(byte, c);
                    }
                }
            }
            after_word_char = is_word;
            i += len;
        }
        if let Some(done) = word {
            self.finish_word(raw, &done, raw.len());
        }
    }

    /// Opens a word at `raw[start..]`: writes the separator before it and resets `separator`.
    fn start_word(
        &mut self,
        start: usize,
        unspaced: bool,
        separator: &mut Separator,
    ) -> WordInProgress {
        if !self.folded.is_empty() {
            self.folded
                .push(if separator.is_break() { '\n' } else { ' ' });
        }
        if separator.first_of_field || separator.ends_sentence {
            self.sentence_starts.push(self.words.len());
        }
        *separator = Separator::default();
        WordInProgress {
            start,
            folded_start: self.folded.len(),
            cased_start: self.cased.len(),
            unspaced,
            slow: false,
        }
    }

    /// Closes the word `raw[word.start..end]`; one holding non-ASCII is folded here, whole.
    /// Returns whether it is an initial ([`is_initial`]).
    fn finish_word(&mut self, raw: &str, word: &WordInProgress, end: usize) -> bool {
        if word.slow {
            self.folded.truncate(word.folded_start);
            self.cased.truncate(word.cased_start);
            let cased = fold_accents(&raw[word.start..end]);
            self.folded.push_str(&fold_case(&cased));
            self.cased.push_str(&cased);
        }
        self.words.push(TextWord {
            start: word.folded_start,
            cased: word.cased_start..self.cased.len(),
        });
        if self.track_raw {
            self.raw.push(word.start..end);
        }
        is_initial(&raw.as_bytes()[word.start..end])
    }

    #[cfg(test)]
    /// Appends the word `raw[start..end]`, after `' '` or `'\n'` (a break since the previous
    /// word, at `previous`), noting a sentence start.
    fn push_word(&mut self, raw: &str, start: usize, end: usize, previous: Option<(usize, usize)>) {
        let separator = previous.map(|(_, p)| &raw[p..start]);
        if !self.folded.is_empty() {
            let is_break = separator
                .is_none_or(|between| between.contains(LINK_MARK) || is_clause_break(between));
            self.folded.push(if is_break { '\n' } else { ' ' });
        }
        let sentence_break = previous.is_none_or(|(s, p)| {
            is_sentence_break(&raw[p..start], is_initial(&raw.as_bytes()[s..p]))
        });
        if sentence_break {
            self.sentence_starts.push(self.words.len());
        }
        let word = &raw[start..end];
        let cased_start = self.cased.len();
        let folded_start = self.folded.len();
        if word.is_ascii() {
            // ASCII needs no decomposition and lower-cases byte by byte (the common case).
            self.cased.push_str(word);
            self.folded.push_str(word);
            self.folded[folded_start..].make_ascii_lowercase();
        } else {
            let cased = fold_accents(word);
            self.folded.push_str(&fold_case(&cased));
            self.cased.push_str(&cased);
        }
        self.words.push(TextWord {
            start: folded_start,
            cased: cased_start..self.cased.len(),
        });
    }

    /// The same text folded the plain way: links removed, then cut into words, then each word
    /// folded. Kept to test the one-pass [`FoldedText::push_field`] against.
    #[cfg(test)]
    fn reference(title: &str, body: &str) -> Self {
        let mut text = Self::default();
        for (raw, in_title) in [(title, true), (body, false)] {
            if !in_title {
                text.title_end = text.folded.len();
            }
            let plain = strip_urls(raw);
            let mut previous: Option<(usize, usize)> = None;
            for (start, end) in word_spans(&plain) {
                text.push_word(&plain, start, end, previous);
                previous = Some((start, end));
            }
        }
        text
    }
}

/// A word being read by [`FoldedText::push_field`].
struct WordInProgress {
    /// Byte offset in the field.
    start: usize,
    folded_start: usize,
    cased_start: usize,
    /// One character of an unspaced script (a word of its own).
    unspaced: bool,
    /// Holds non-ASCII: folded as a whole when it ends, not byte by byte.
    slow: bool,
}

/// What separates two words, noted as it goes by, to tell a sentence or clause break
/// ([`is_clause_break`] without re-reading it).
#[derive(Default)]
struct Separator {
    /// No word of the field came before (the first word always follows a break).
    first_of_field: bool,
    /// A link was removed here.
    link: bool,
    /// Its length in bytes, and its first byte.
    len: usize,
    first: u8,
    /// It holds a sentence or clause break character.
    has_break: bool,
    /// The word before it is an initial ([`is_initial`]): a `.` right after it ends nothing.
    after_initial: bool,
    /// A `.` `!` `?` was seen; whitespace after it ends the sentence.
    sentence_mark: bool,
    /// It ends a sentence ([`is_sentence_break`] without re-reading it).
    ends_sentence: bool,
}

impl Separator {
    fn add(&mut self, first_byte: u8, c: char) {
        let first_char = self.len == 0;
        if first_char {
            self.first = first_byte;
        }
        self.len += c.len_utf8();
        if is_break_char(c) {
            // Every sentence-ending character is a break character, so whitespace and letters
            // skip this.
            self.has_break = true;
            match sentence_role(c) {
                SentenceRole::Ends => self.ends_sentence = true,
                SentenceRole::EndsBeforeSpace => {
                    self.sentence_mark =
                        self.sentence_mark || !(c == '.' && first_char && self.after_initial);
                }
                SentenceRole::Other => {}
            }
        } else if self.sentence_mark && c.is_whitespace() {
            self.ends_sentence = true;
        }
    }

    fn is_break(&self) -> bool {
        // A lone `.` or `:` squeezed between two words is part of an abbreviation, number or
        // time (`U.S`, `3.5`, `10:30`), not the end of a sentence.
        self.first_of_field
            || self.link
            || (self.has_break && !(self.len == 1 && matches!(self.first, b'.' | b':')))
    }
}

impl Spelling {
    /// Whether the text words at a hit satisfy each query word's case rule.
    fn accepts(&self, words: &[TextWord], text: &FoldedText) -> bool {
        let last = self.words.len().saturating_sub(1);
        words.len() >= self.words.len()
            && self
                .words
                .iter()
                .zip(words)
                .enumerate()
                .all(|(i, (rule, word))| match rule {
                    None => true,
                    Some(name) => {
                        let cased = text.cased(word);
                        if self.prefix && i == last {
                            cased.starts_with(&name.exact)
                                || (!cased.chars().any(char::is_lowercase)
                                    && cased.starts_with(&name.upper))
                        } else {
                            cased == name.exact || cased == name.upper
                        }
                    }
                })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of each hit of `term` (as displayed) in `text`, read as a body.
    fn found<'a>(term: &str, text: &'a str) -> Vec<&'a str> {
        found_in(term, text, Field::Body)
    }

    fn found_in<'a>(term: &str, text: &'a str, field: Field) -> Vec<&'a str> {
        let needle = Needle::from_display(term).expect("a term with words");
        find_terms(text, &[needle], field)
            .into_iter()
            .map(|(range, _)| &text[range])
            .collect()
    }

    #[test]
    fn name_matches_its_capitalisation_and_all_caps_only() {
        assert_eq!(
            found("Meta", "Meta’s deal: META, meta, metadata and Metaverse"),
            ["Meta", "META"]
        );
    }

    #[test]
    fn name_is_not_found_inside_a_lower_case_compound() {
        assert!(found("Meta", "a meta-analysis of trials").is_empty());
        assert_eq!(found("meta", "a meta-analysis of trials"), ["meta"]);
    }

    #[test]
    fn lower_case_word_is_found_in_any_case() {
        assert_eq!(
            found("gemini", "Gemini, GEMINI, gemini"),
            ["Gemini", "GEMINI", "gemini"]
        );
    }

    #[test]
    fn possessive_holds_the_name() {
        assert_eq!(found("Nestle", "Nestlé's profits"), ["Nestlé"]);
    }

    #[test]
    fn accents_and_sharp_s_fold_both_ways() {
        assert_eq!(found("Nestlé", "Nestle and NESTLÉ"), ["Nestle", "NESTLÉ"]);
        assert_eq!(found("strasse", "Die Straße"), ["Straße"]);
    }

    #[test]
    fn prefix_finds_whole_words_it_starts_under_the_case_rule() {
        assert_eq!(
            found("gem*", "Gemini and gems, not agem"),
            ["Gemini", "gems"]
        );
        assert_eq!(
            found("Gem*", "Gemini, GEMS and gemstones"),
            ["Gemini", "GEMS"]
        );
    }

    #[test]
    fn phrase_is_found_as_a_unit_but_not_across_a_break() {
        assert_eq!(
            found("\"Google Cloud\"", "Google Cloud and Google-Cloud"),
            ["Google Cloud", "Google-Cloud"]
        );
        assert!(found("\"Google Cloud\"", "They chose Google. Cloud costs fell.").is_empty());
        assert!(found("\"Google Cloud\"", "Google\nCloud").is_empty());
    }

    #[test]
    fn nothing_inside_a_link_is_found() {
        assert_eq!(
            found(
                "Meta",
                "Meta at https://example.com/Meta/x and www.Meta.com"
            ),
            ["Meta"]
        );
    }

    #[test]
    fn unspaced_scripts_match_by_character() {
        assert_eq!(found("東京", "東京都で"), ["東京"]);
        assert!(found("東京", "京東").is_empty());
    }

    #[test]
    fn title_term_is_found_in_titles_only() {
        assert_eq!(
            found_in("title:Nestle", "Nestlé news", Field::Title),
            ["Nestlé"]
        );
        assert!(found_in("title:Nestle", "Nestlé news", Field::Body).is_empty());
    }

    #[test]
    fn display_forms_are_read_back() {
        for (display, words, prefix, title_only) in [
            ("Meta", &["Meta"][..], false, false),
            ("\"Google Cloud\"", &["Google", "Cloud"][..], false, false),
            ("title:Nestle", &["Nestle"][..], false, true),
            ("gem*", &["gem"][..], true, false),
            ("title:\"google clo*\"", &["google", "clo"][..], true, true),
        ] {
            assert_eq!(
                Needle::from_display(display),
                Needle::new(words, prefix, title_only),
                "{display}"
            );
        }
        assert_eq!(Needle::from_display("\"*\""), None);
        assert_eq!(
            Needle::from_display("Nestlé"),
            Needle::new(&["Nestlé"], false, false)
        );
    }

    #[test]
    fn a_phrase_wins_over_its_first_word_and_hits_never_overlap() {
        let (needles, _) = needles(&["Google", "\"Google Cloud\""]);
        let text = "Google Cloud and Google";
        let hits: Vec<&str> = find_terms(text, &needles, Field::Body)
            .into_iter()
            .map(|(r, _)| &text[r])
            .collect();
        assert_eq!(hits, ["Google Cloud", "Google"]);
    }

    #[test]
    fn locate_says_field_range_and_term() {
        let spans = locate("Meta news", "about Gemini and Meta", &["Meta", "Gemini"]);
        assert_eq!(
            spans,
            [
                TermSpan {
                    field: Field::Title,
                    range: 0..4,
                    term: 0
                },
                TermSpan {
                    field: Field::Body,
                    range: 6..12,
                    term: 1
                },
                TermSpan {
                    field: Field::Body,
                    range: 17..21,
                    term: 0
                },
            ]
        );
    }

    #[test]
    fn link_ranges_end_at_whitespace_and_need_a_word_start() {
        let text = "see https://a.example/x, and awww.b then WWW.c.d";
        let links: Vec<&str> = link_ranges(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(links, ["https://a.example/x,", "WWW.c.d"]);
    }

    #[test]
    fn a_line_wrap_is_a_space_and_a_blank_line_a_paragraph() {
        assert_eq!(unwrap_lines("Google\n      Cloud"), "Google Cloud");
        assert_eq!(unwrap_lines("Google\r\nCloud"), "Google Cloud");
        assert_eq!(unwrap_lines("Google\n\nCloud"), "Google\nCloud");
        assert_eq!(unwrap_lines("Google \n \t\n Cloud"), "Google\nCloud");
        assert_eq!(unwrap_lines("no breaks"), "no breaks");
    }

    #[test]
    fn markdown_headings_and_list_items_keep_their_lines() {
        assert_eq!(
            unwrap_lines("## Heading\nText that\nwraps\n- one\n- two"),
            "## Heading\nText that wraps\n- one\n- two"
        );
    }

    #[test]
    fn identity_folding_drops_every_mark() {
        assert_eq!(strip_combining_marks("Nestlé が"), "Nestle か");
        assert_eq!(fold_word("NESTLÉ"), "nestle");
    }

    /// Text fragments that exercise every branch of the one-pass folding: ASCII, accents,
    /// curly quotes, unspaced scripts, stray marks and soft hyphens, links in any case (also
    /// glued to a word, where they are not links), sentence breaks and abbreviations.
    const FRAGMENTS: &[&str] = &[
        "Meta",
        "meta",
        "META",
        "Gemini",
        "said",
        "a",
        "3.5",
        "U.S",
        "10:30",
        "Nestlé",
        "NESTLÉ",
        "Straße",
        "ΣΟΦΟΣ",
        "σοφός",
        "İstanbul",
        "東京都",
        "がぎ",
        "ภาษาไทย",
        "Ａｐｐｌｅ",
        "😀",
        "\u{301}",
        "\u{AD}",
        "co\u{AD}op",
        "e\u{301}te",
        "\u{2019}s",
        "'s",
        "https://ex.com/meta/x",
        "HTTP://EX.COM",
        "www.gemini.example/Meta",
        "WwW.",
        "http:/",
        "awww.x",
        "a.b",
        " ",
        "  ",
        ".",
        ". ",
        ":",
        ": ",
        ";",
        "!",
        "?",
        "…",
        "\n",
        "\r\n",
        "\u{2029}",
        "。",
        "-",
        "(",
        ")",
        "\t",
        "\u{A0}",
        "\u{3000}",
        "/",
        "&",
        "#1",
    ];

    fn text_from(picks: &[usize]) -> String {
        picks
            .iter()
            .map(|&i| FRAGMENTS[i % FRAGMENTS.len()])
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
        /// The one-pass folding gives exactly what removing links, cutting words and folding
        /// each word on its own gives (the way the matcher folded text before).
        #[test]
        fn one_pass_folding_equals_word_by_word_folding(
            title in proptest::collection::vec(0usize..1_000, 0..12),
            body in proptest::collection::vec(0usize..1_000, 0..40),
        ) {
            let (title, body) = (text_from(&title), text_from(&body));
            proptest::prop_assert_eq!(
                FoldedText::new(&title, &body),
                FoldedText::reference(&title, &body)
            );
        }
    }

    #[test]
    fn one_pass_folding_handles_links_breaks_and_accents() {
        let (title, body) = (
            "Nestlé\u{2019}s CEO: U.S. deal",
            "See https://ex.com/Meta now. Meta said www.x.y Gemini",
        );
        let text = FoldedText::new(title, body);
        assert_eq!(
            text.folded,
            "nestle s ceo\nu s\ndeal\nsee\nnow\nmeta said\ngemini"
        );
        assert_eq!(text, FoldedText::reference(title, body));
    }

    /// The sentence of every word of a document.
    fn sentences(title: &str, body: &str) -> Vec<usize> {
        let text = FoldedText::new(title, body);
        (0..text.words.len()).map(|w| text.sentence_of(w)).collect()
    }

    #[test]
    fn sentences_end_at_a_stop_before_whitespace_and_at_line_breaks() {
        assert_eq!(
            sentences("Meta news", "It rose. Then AI! Why? “Yes.” No\nMaybe"),
            [0, 0, 1, 1, 2, 2, 3, 4, 5, 6]
        );
    }

    #[test]
    fn title_and_body_are_separate_sentences() {
        assert_eq!(sentences("Meta and", "AI"), [0, 0, 1]);
        assert_eq!(sentences("", "AI"), [0]);
    }

    #[test]
    fn numbers_initials_colons_and_ellipses_do_not_end_sentences() {
        assert_eq!(
            sentences(
                "",
                "3.5 GHz U.S. officials: e.g. Meta; 10:30 Yahoo!Inc wait… J. Smith"
            ),
            [0; 16]
        );
        assert_eq!(sentences("", "Dr. Who"), [0, 1]);
    }

    #[test]
    fn cjk_full_stops_end_sentences_without_a_space() {
        assert_eq!(sentences("", "東京。大阪"), [0, 0, 1, 1]);
    }

    #[test]
    fn sentence_break_function_reads_the_separator() {
        assert!(is_sentence_break(". ", false));
        assert!(!is_sentence_break(". ", true));
        assert!(is_sentence_break("! ", true));
        assert!(is_sentence_break(".\" ", false));
        assert!(!is_sentence_break(".", false));
        assert!(!is_sentence_break("; ", false));
        assert!(is_sentence_break(" \n ", false));
    }
}
