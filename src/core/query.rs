//! The subscription query language: query text -> [`Query`], or a [`QueryError`] a user can act on.
//!
//! Syntax (Google-Alerts-like):
//!
//! - `Meta Gemini`: every space-separated term must appear (AND).
//! - `Meta OR Facebook Gemini`: `OR` (upper case only) joins alternatives and binds tighter
//!   than AND, so this is `(Meta OR Facebook) AND Gemini`.
//! - `"Google Cloud"`: an exact phrase (consecutive words); curly quotes work too.
//! - `-horoscope`, `-"star sign"`: the item must not contain it.
//! - `title:Meta`, `title:"Google Cloud"`: look only in the title. `-title:x` combines.
//! - `gem*`: words starting with `gem` (at least 2 letters before the `*`).
//! - `Meta NEAR/3 AI`: both terms, at most 3 words between them, in either order, in the same
//!   field (title or body). `NEAR/1` is next to each other or one word apart; words are counted
//!   across sentence breaks. n is 1 to [`MAX_NEAR`].
//! - `Meta SENTENCE AI`: both terms in one sentence (the title is a sentence of its own;
//!   [`crate::core::text::is_sentence_break`] says where a sentence ends).
//!
//! Each side of `NEAR/n` and `SENTENCE` is the one word or phrase next to the operator
//! (`title:` and `*` allowed), and the pair is one AND-ed condition: `Gemini Meta NEAR/3 AI`
//! is Gemini AND (Meta near AI). A side cannot be an `OR` alternative or an exclusion, and
//! pairs do not chain (`a NEAR/2 b NEAR/2 c`): those are ambiguous, so they are refused with
//! an error that says what to write instead.
//! Operators are upper case (`near/3`, `sentence` are words); quote them to search for them.
//!
//! What counts as a *word* is defined in [`crate::core::text`] ([`word_spans`]) so that query
//! terms and item text are cut into words by the very same rule; the matcher relies on that.

use std::fmt;
use std::str::FromStr;

use crate::core::text::{is_word_char, word_spans};

/// The longest query text accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// The most terms (positive and excluded together) a query may have.
pub const MAX_TERMS: usize = 32;
/// The fewest letters or digits a prefix term must have before its `*`.
pub const MIN_PREFIX_CHARS: usize = 2;
/// The largest n of `NEAR/n`: the most words allowed between its two terms.
pub const MAX_NEAR: u8 = 50;

/// A parsed query: an AND of OR-groups of positive terms and of proximity pairs, plus
/// exclusions.
///
/// Invariants (upheld by [`parse`], the only constructor): at least one group or pair, every
/// group non-empty, every term has at least one word, at most [`MAX_TERMS`] terms in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    groups: Vec<Vec<Term>>,
    proximities: Vec<Proximity>,
    exclusions: Vec<Term>,
}

/// `left NEAR/n right` or `left SENTENCE right`: both terms found close together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Proximity {
    left: Term,
    within: Within,
    right: Term,
}

/// How close the two terms of a [`Proximity`] must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Within {
    /// `NEAR/n`: at most n words (1..=[`MAX_NEAR`]) between the two terms, either order,
    /// same field. The terms' own words are not counted, and the two must not share a word.
    Words(u8),
    /// `SENTENCE`: in one sentence (so in one field), either order, not sharing a word.
    Sentence,
}

impl Proximity {
    /// The term written before the operator.
    pub fn left(&self) -> &Term {
        &self.left
    }

    /// The term written after the operator.
    pub fn right(&self) -> &Term {
        &self.right
    }

    /// How close the terms must be.
    pub fn within(&self) -> Within {
        self.within
    }
}

/// `NEAR/3` or `SENTENCE`.
impl fmt::Display for Within {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Words(n) => write!(f, "NEAR/{n}"),
            Self::Sentence => f.write_str("SENTENCE"),
        }
    }
}

/// `Meta NEAR/3 "Google Cloud"`.
impl fmt::Display for Proximity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.left, self.within, self.right)
    }
}

/// One searchable unit: a word (one entry in `words`) or a phrase (several).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Term {
    /// The term as written, trimmed of surrounding punctuation, whitespace collapsed, without
    /// quotes or `*`: `Google Cloud`, `Meta's`, `AT&T`.
    text: String,
    /// `text` cut into words by [`word_spans`], as written (case and accents kept).
    words: Vec<String>,
    /// The last word only needs to *start* the text's word (`gem*`).
    prefix: bool,
    /// Only the title is searched (`title:`).
    title_only: bool,
}

impl Query {
    /// The AND of these groups must hold; each group is an OR of its terms.
    pub fn groups(&self) -> &[Vec<Term>] {
        &self.groups
    }

    /// Terms the item must not contain.
    pub fn exclusions(&self) -> &[Term] {
        &self.exclusions
    }

    /// Pairs of terms that must be found close together (each pair AND-ed with the groups).
    pub fn proximities(&self) -> &[Proximity] {
        &self.proximities
    }

    /// Every positive term: the groups' in query order, then each pair's two.
    pub fn positive_terms(&self) -> impl Iterator<Item = &Term> {
        self.groups
            .iter()
            .flatten()
            .chain(self.proximities.iter().flat_map(|p| [&p.left, &p.right]))
    }
}

impl Term {
    /// The term as written, without quotes, `title:` or `*` (`Google Cloud`).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The words of the term as written (one for a word, several for a phrase).
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether the last word matches any word it starts (`gem*`).
    pub fn is_prefix(&self) -> bool {
        self.prefix
    }

    /// Whether only the title is searched (`title:`).
    pub fn is_title_only(&self) -> bool {
        self.title_only
    }

    /// Whether the text can be written without quotes and still parse back to this term.
    fn is_bare_safe(&self) -> bool {
        let first_ok = self.text.chars().next().is_some_and(is_word_char);
        let last_ok = self.text.chars().next_back().is_some_and(is_word_char);
        first_ok
            && last_ok
            && !is_operator_word(&self.text)
            && !self
                .text
                .chars()
                .any(|c| c.is_whitespace() || is_quote(c) || c == '*')
            && !starts_with_title_operator(&self.text)
    }
}

/// Canonical form: `title:"Google Cloud"`, `gem*`, `"google clo*"`.
impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.title_only {
            f.write_str("title:")?;
        }
        let star = if self.prefix { "*" } else { "" };
        if self.is_bare_safe() {
            write!(f, "{}{star}", self.text)
        } else {
            write!(f, "\"{}{star}\"", self.text)
        }
    }
}

/// Canonical form, which [`parse`] turns back into an equal query:
/// `Meta OR Facebook "Google Cloud" Meta NEAR/3 AI -horoscope` (pairs after the groups,
/// exclusions last).
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for group in &self.groups {
            for (i, term) in group.iter().enumerate() {
                if !first {
                    f.write_str(if i == 0 { " " } else { " OR " })?;
                }
                first = false;
                write!(f, "{term}")?;
            }
        }
        for pair in &self.proximities {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{pair}")?;
        }
        for term in &self.exclusions {
            write!(f, " -{term}")?;
        }
        Ok(())
    }
}

impl FromStr for Query {
    type Err = QueryError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text)
    }
}

/// Why a query was rejected. `Display` is the message shown to the user: what is wrong, with
/// the offending text, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Nothing but whitespace.
    #[error("the query is empty — write at least one word to look for, e.g. `Meta`")]
    Empty,
    /// Longer than [`MAX_QUERY_CHARS`].
    #[error(
        "the query is {chars} characters long; the limit is {MAX_QUERY_CHARS} — shorten it or split it into several subscriptions"
    )]
    TooLong { chars: usize },
    /// More than [`MAX_TERMS`] terms.
    #[error(
        "the query has {count} terms; the limit is {MAX_TERMS} — remove some or split it into several subscriptions"
    )]
    TooManyTerms { count: usize },
    /// A quote was opened and never closed.
    #[error("the quote before `{after}` is never closed — add a closing \"")]
    UnclosedQuote { after: String },
    /// A quote at the very end, with nothing after it.
    #[error("the query ends with an opening quote \" that is never closed — remove it")]
    TrailingQuote,
    /// `""` or `" "`.
    #[error("`\"\"` is an empty phrase — put words between the quotes or remove them")]
    EmptyPhrase,
    /// Only `-x` terms.
    #[error("a query needs at least one word to look for; `{excluded}` only excludes")]
    OnlyExclusions { excluded: String },
    /// `OR` with nothing before it.
    #[error("`OR` at the start has nothing before it — put a word on each side, e.g. `Meta OR Facebook`")]
    OrAtStart,
    /// `OR` with nothing after it.
    #[error(
        "`OR` at the end has nothing after it — put a word on each side, e.g. `Meta OR Facebook`"
    )]
    OrAtEnd,
    /// `OR OR`.
    #[error("`OR OR`: one `OR` between two words is enough, e.g. `Meta OR Facebook`")]
    DoubledOr,
    /// `-x OR y` or `x OR -y`.
    #[error(
        "`{term}` is an exclusion and cannot be an `OR` alternative — move it out of the `OR`, e.g. `Meta OR Facebook {term}`"
    )]
    OrWithExclusion { term: String },
    /// `*` on its own.
    #[error("a `*` on its own matches nothing — put at least {MIN_PREFIX_CHARS} letters before it, e.g. `gem*`")]
    LoneStar,
    /// `*` anywhere but the end of a term.
    #[error("`{term}`: a `*` can only end a word, e.g. `gem*` — remove the other `*`")]
    MisplacedStar { term: String },
    /// `g*`.
    #[error("`{term}` is too short to be a prefix — put at least {MIN_PREFIX_CHARS} letters before the `*`, e.g. `gem*`")]
    PrefixTooShort { term: String },
    /// `!!!`.
    #[error("`{term}` has no letters or digits to look for — remove it or write a word")]
    NoWords { term: String },
    /// `-` with nothing after it.
    #[error("a `-` must be followed directly by the word or phrase to exclude, e.g. `-horoscope`")]
    DanglingMinus,
    /// `title:` with nothing after it.
    #[error("`title:` must be followed directly by a word or phrase, e.g. `title:Meta`")]
    DanglingTitle,
    /// `title:-x`.
    #[error(
        "`{term}`: to exclude a word from titles write the `-` first, e.g. `-title:horoscope`"
    )]
    MinusAfterTitle { term: String },
    /// `NEAR` or `NEAR/` without a distance.
    #[error("`{written}` needs a distance: write `NEAR/n`, where n (1 to {MAX_NEAR}) is the most words between the two terms, e.g. `Meta NEAR/3 AI`")]
    NearWithoutDistance { written: String },
    /// `NEAR/abc`.
    #[error("`{written}`: the distance after `NEAR/` must be a whole number of words from 1 to {MAX_NEAR}, e.g. `Meta NEAR/3 AI`")]
    NearDistanceNotNumber { written: String },
    /// `NEAR/0`, `NEAR/999`.
    #[error("`{written}` is out of range: n is the most words between the two terms, from 1 to {MAX_NEAR} — for words next to each other write a phrase (`\"Meta AI\"`), for anywhere in the item just both words (`Meta AI`)")]
    NearDistanceOutOfRange { written: String },
    /// `NEAR/3 Meta`.
    #[error("`{operator}` at the start has nothing before it — put a word or phrase on each side, e.g. `Meta {operator} AI`")]
    ProximityAtStart { operator: String },
    /// `Meta NEAR/3`.
    #[error("`{operator}` at the end has nothing after it — put a word or phrase on each side, e.g. `Meta {operator} AI`")]
    ProximityAtEnd { operator: String },
    /// `Meta NEAR/3 OR AI`, `Meta OR NEAR/3 AI`, `Meta NEAR/3 SENTENCE AI`.
    #[error("`{first} {second}`: two operators in a row — put one word or phrase between them, e.g. `{example}`")]
    OperatorsInARow {
        first: String,
        second: String,
        example: String,
    },
    /// `Meta OR Facebook NEAR/3 AI`, `Meta NEAR/3 AI OR Llama`.
    #[error("`{operator}` joins one word or phrase on each side and cannot take an `OR` alternative — write one subscription per alternative, e.g. `{example}`")]
    ProximityWithOr { operator: String, example: String },
    /// `-Meta NEAR/3 AI`, `Meta NEAR/3 -AI`.
    #[error("`{term}` is an exclusion and cannot be joined by `{operator}` (\"not near\" is not supported) — exclude it from the whole item instead, e.g. `{example}`")]
    ProximityWithExclusion {
        term: String,
        operator: String,
        example: String,
    },
    /// `a NEAR/2 b NEAR/2 c`.
    #[error("`{written}`: proximity operators do not chain — write each pair on its own, e.g. `{example}`")]
    ChainedProximity { written: String, example: String },
}

/// Parses query text. See the module docs for the syntax.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let chars = text.chars().count();
    // Cheap bound before any work; the real limit applies to the written (canonical) form
    // below, so whatever is accepted also parses again from its stored form (canonical text
    // can be longer than the input: it may add quotes).
    if chars > 2 * MAX_QUERY_CHARS {
        return Err(QueryError::TooLong { chars });
    }
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(QueryError::Empty);
    }
    let count = tokens
        .iter()
        .filter(|t| matches!(t, Token::Term { .. }))
        .count();
    if count > MAX_TERMS {
        return Err(QueryError::TooManyTerms { count });
    }

    let (groups, proximities, exclusions) = arrange(&tokens)?;
    if groups.is_empty() && proximities.is_empty() {
        let excluded = exclusions
            .iter()
            .map(|t| format!("-{t}"))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(QueryError::OnlyExclusions { excluded });
    }
    let query = Query {
        groups,
        proximities,
        exclusions,
    };
    let written = query.to_string().chars().count();
    if written > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong {
            chars: written.max(chars),
        });
    }
    Ok(query)
}

/// The groups, pairs and exclusions of a query's tokens.
type Arranged = (Vec<Vec<Term>>, Vec<Proximity>, Vec<Term>);

/// Sorts tokens into OR-groups, proximity pairs and exclusions, refusing what does not fit.
fn arrange(tokens: &[Token]) -> Result<Arranged, QueryError> {
    let mut groups: Vec<Vec<Term>> = Vec::new();
    let mut proximities: Vec<Proximity> = Vec::new();
    let mut exclusions: Vec<Term> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let previous = i.checked_sub(1).map(|p| &tokens[p]);
        match &tokens[i] {
            Token::Or => check_or(previous)?,
            Token::Near(within) => {
                let pair = proximity(tokens, i, *within)?;
                // The left term was already put in a group as the query was read: take it
                // back, it belongs to the pair.
                groups.pop();
                proximities.push(pair);
                // Skip the right term too.
                i += 1;
            }
            Token::Term { term, excluded } => {
                let after_or = matches!(previous, Some(Token::Or));
                if *excluded {
                    if after_or {
                        return Err(QueryError::OrWithExclusion {
                            term: format!("-{term}"),
                        });
                    }
                    exclusions.push(term.clone());
                } else {
                    match groups.last_mut() {
                        Some(group) if after_or => group.push(term.clone()),
                        _ => groups.push(vec![term.clone()]),
                    }
                }
            }
        }
        i += 1;
    }
    if matches!(tokens.last(), Some(Token::Or)) {
        return Err(QueryError::OrAtEnd);
    }
    Ok((groups, proximities, exclusions))
}

/// Whether an `OR` may follow `previous`.
fn check_or(previous: Option<&Token>) -> Result<(), QueryError> {
    match previous {
        None => Err(QueryError::OrAtStart),
        Some(Token::Or) => Err(QueryError::DoubledOr),
        Some(Token::Near(within)) => Err(QueryError::OperatorsInARow {
            first: within.to_string(),
            second: "OR".to_string(),
            example: format!("Meta {within} AI"),
        }),
        Some(Token::Term {
            term,
            excluded: true,
        }) => Err(QueryError::OrWithExclusion {
            term: format!("-{term}"),
        }),
        Some(Token::Term { .. }) => Ok(()),
    }
}

/// The pair around the proximity operator at `tokens[at]`, or why there is none.
fn proximity(tokens: &[Token], at: usize, within: Within) -> Result<Proximity, QueryError> {
    let operator = within.to_string();
    let (left, right) = pair_sides(tokens, at, &operator)?;
    refuse_mixed(tokens, at, &operator, left, right)?;
    Ok(Proximity {
        left: left.clone(),
        within,
        right: right.clone(),
    })
}

/// The terms on each side of the operator at `tokens[at]` (excluded or not).
fn pair_sides<'t>(
    tokens: &'t [Token],
    at: usize,
    operator: &str,
) -> Result<(&'t Term, &'t Term), QueryError> {
    let operator = operator.to_string();
    let left = match at.checked_sub(1).map(|p| &tokens[p]) {
        None => return Err(QueryError::ProximityAtStart { operator }),
        Some(Token::Term { term, .. }) => term,
        Some(other) => {
            return Err(QueryError::OperatorsInARow {
                first: other.to_string(),
                example: format!("Meta {operator} AI"),
                second: operator,
            })
        }
    };
    let right = match tokens.get(at + 1) {
        None => return Err(QueryError::ProximityAtEnd { operator }),
        Some(Token::Term { term, .. }) => term,
        Some(other) => {
            return Err(QueryError::OperatorsInARow {
                example: format!("{left} {operator} AI"),
                first: operator,
                second: other.to_string(),
            })
        }
    };
    Ok((left, right))
}

/// Refuses a pair whose side is an exclusion or an `OR` alternative, or that chains on.
fn refuse_mixed(
    tokens: &[Token],
    at: usize,
    operator: &str,
    left: &Term,
    right: &Term,
) -> Result<(), QueryError> {
    let excluded = |at: usize| matches!(tokens.get(at), Some(Token::Term { excluded: true, .. }));
    let exclusion = |term: &Term, kept: &Term| QueryError::ProximityWithExclusion {
        term: format!("-{term}"),
        operator: operator.to_string(),
        example: format!("{kept} -{term}"),
    };
    if at.checked_sub(1).is_some_and(excluded) {
        return Err(exclusion(left, right));
    }
    if excluded(at + 1) {
        return Err(exclusion(right, left));
    }
    let or_before = at >= 2 && matches!(tokens[at - 2], Token::Or);
    let or_after = matches!(tokens.get(at + 2), Some(Token::Or));
    if or_before || or_after {
        return Err(QueryError::ProximityWithOr {
            operator: operator.to_string(),
            example: format!("{left} {operator} {right}"),
        });
    }
    if let Some(Token::Near(next)) = tokens.get(at + 2) {
        let third = match tokens.get(at + 3) {
            Some(Token::Term { term, .. }) => term.to_string(),
            _ => "…".to_string(),
        };
        return Err(QueryError::ChainedProximity {
            written: format!("{left} {operator} {right} {next} {third}"),
            example: format!("{left} {operator} {right} {right} {next} {third}"),
        });
    }
    Ok(())
}

/// Words that are operators when written bare in upper case; a term spelled so is shown
/// quoted.
fn is_operator_word(text: &str) -> bool {
    text == "OR" || text == "SENTENCE" || text == "NEAR" || text.starts_with("NEAR/")
}

/// `NEAR/n` (bare, upper case) as an operator, or why it is not a valid one.
fn near_operator(raw: &str) -> Result<Within, QueryError> {
    let written = raw.to_string();
    let digits = raw.strip_prefix("NEAR").unwrap_or(raw);
    let Some(digits) = digits.strip_prefix('/').filter(|d| !d.is_empty()) else {
        return Err(QueryError::NearWithoutDistance { written });
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(QueryError::NearDistanceNotNumber { written });
    }
    match digits.parse::<u8>() {
        Ok(n) if (1..=MAX_NEAR).contains(&n) => Ok(Within::Words(n)),
        _ => Err(QueryError::NearDistanceOutOfRange { written }),
    }
}

/// Characters accepted as quotes: straight, and the curly ones phones and word processors type.
fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

fn starts_with_title_operator(s: &str) -> bool {
    s.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("title:"))
}

/// One lexical unit of a query.
#[derive(Debug)]
enum Token {
    Or,
    /// `NEAR/n` or `SENTENCE`.
    Near(Within),
    Term {
        term: Term,
        excluded: bool,
    },
}

/// As written in the canonical form.
impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Or => f.write_str("OR"),
            Self::Near(within) => write!(f, "{within}"),
            Self::Term {
                term,
                excluded: true,
            } => write!(f, "-{term}"),
            Self::Term { term, .. } => write!(f, "{term}"),
        }
    }
}

/// Cuts query text into `OR`s and terms, validating each term.
fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let mut tokens = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(tokens);
        }

        let excluded = rest.starts_with('-');
        if excluded {
            rest = &rest[1..];
            if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                return Err(QueryError::DanglingMinus);
            }
        }
        let title_only = starts_with_title_operator(rest);
        if title_only {
            rest = &rest[6..];
            if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                return Err(QueryError::DanglingTitle);
            }
            if rest.starts_with('-') {
                let raw = rest.split(char::is_whitespace).next().unwrap_or(rest);
                return Err(QueryError::MinusAfterTitle {
                    term: format!("title:{raw}"),
                });
            }
        }

        let mut chars = rest.chars();
        let first = chars.next();
        if first.is_some_and(is_quote) {
            let inner = chars.as_str();
            let Some(close) = inner.find(is_quote) else {
                let after = inner.split_whitespace().collect::<Vec<_>>().join(" ");
                if after.is_empty() {
                    return Err(QueryError::TrailingQuote);
                }
                return Err(QueryError::UnclosedQuote { after });
            };
            let content = &inner[..close];
            let close_len = inner[close..].chars().next().map_or(1, char::len_utf8);
            rest = &inner[close + close_len..];
            // `"google clo"*` means the same as `"google clo*"`.
            let star_after = rest.starts_with('*');
            if star_after {
                rest = &rest[1..];
            }
            if content.trim().is_empty() {
                if star_after {
                    return Err(QueryError::LoneStar);
                }
                return Err(QueryError::EmptyPhrase);
            }
            let raw = if star_after {
                format!("{content}*")
            } else {
                content.to_string()
            };
            let term = make_term(&raw, title_only)?;
            tokens.push(Token::Term { term, excluded });
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || is_quote(c))
                .unwrap_or(rest.len());
            let raw = &rest[..end];
            rest = &rest[end..];
            let operator = !excluded && !title_only;
            if operator && raw == "OR" {
                tokens.push(Token::Or);
            } else if operator && raw == "SENTENCE" {
                tokens.push(Token::Near(Within::Sentence));
            } else if operator && (raw == "NEAR" || raw.starts_with("NEAR/")) {
                tokens.push(Token::Near(near_operator(raw)?));
            } else {
                let term = make_term(raw, title_only)?;
                tokens.push(Token::Term { term, excluded });
            }
        }
    }
}

/// Builds a term from its raw text (without `-`, `title:` or quotes).
fn make_term(raw: &str, title_only: bool) -> Result<Term, QueryError> {
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    // Surrounding punctuation is noise (`(Meta)`, `Meta,`), but a final `*` is the operator.
    let trimmed = collapsed.trim_matches(|c: char| !is_word_char(c) && c != '*');
    if trimmed.chars().all(|c| c == '*') && !trimmed.is_empty() {
        return Err(QueryError::LoneStar);
    }
    let (body, prefix) = match trimmed.strip_suffix('*') {
        Some(body) => (body, true),
        None => (trimmed, false),
    };
    if body.contains('*') {
        return Err(QueryError::MisplacedStar {
            term: collapsed.clone(),
        });
    }
    if prefix {
        // Only letters and digits right before the `*` make a prefix; `(gem)*` does not.
        let run = body.chars().rev().take_while(|&c| is_word_char(c)).count();
        if run < MIN_PREFIX_CHARS {
            return Err(QueryError::PrefixTooShort {
                term: collapsed.clone(),
            });
        }
    }
    let text = body.trim_matches(|c: char| !is_word_char(c));
    let words: Vec<String> = word_spans(text)
        .into_iter()
        .map(|(start, end)| text[start..end].to_string())
        .collect();
    if words.is_empty() {
        return Err(QueryError::NoWords { term: collapsed });
    }
    Ok(Term {
        text: text.to_string(),
        words,
        prefix,
        title_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::text::Needle;

    /// The finder reads a matched term back from its display: that must give the very term
    /// the matcher compiled, or bolding and sentence choice would drift from matching.
    #[test]
    fn every_term_display_reads_back_as_the_same_needle() {
        for text in [
            "Meta OR Facebook \"Google Cloud\" title:Gemini gem* -horoscope",
            "\"google clo*\" title:\"Google Cloud\" AT&T Meta's U.S.",
            "Nestlé “star sign” 東京 title:\"title:x\" \"OR\" 3.5",
            "Meta NEAR/3 \"Google Cloud\" title:gem* SENTENCE AI \"NEAR/2\"",
        ] {
            let query = parse(text).unwrap();
            for term in query.positive_terms().chain(query.exclusions()) {
                let display = term.to_string();
                assert_eq!(
                    Needle::from_display(&display),
                    Needle::new(term.words(), term.is_prefix(), term.is_title_only()),
                    "{display}"
                );
            }
        }
    }

    fn words(q: &Query) -> Vec<Vec<Vec<&str>>> {
        q.groups()
            .iter()
            .map(|g| {
                g.iter()
                    .map(|t| t.words().iter().map(String::as_str).collect())
                    .collect()
            })
            .collect()
    }

    fn error(text: &str) -> String {
        match parse(text) {
            Ok(q) => panic!("`{text}` parsed as `{q}`, expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn spaces_mean_and() {
        let q = parse("Meta Gemini").unwrap();
        assert_eq!(words(&q), vec![vec![vec!["Meta"]], vec![vec!["Gemini"]]]);
    }

    #[test]
    fn or_binds_tighter_than_and() {
        let q = parse("Meta OR Facebook Gemini").unwrap();
        assert_eq!(
            words(&q),
            vec![vec![vec!["Meta"], vec!["Facebook"]], vec![vec!["Gemini"]]]
        );
    }

    #[test]
    fn or_chains_into_one_group() {
        let q = parse("a1 OR b2 OR c3").unwrap();
        assert_eq!(q.groups().len(), 1);
        assert_eq!(q.groups()[0].len(), 3);
    }

    #[test]
    fn lower_case_or_is_a_word() {
        let q = parse("Meta or Facebook").unwrap();
        assert_eq!(q.groups().len(), 3);
        assert_eq!(q.groups()[1][0].text(), "or");
    }

    #[test]
    fn quoted_phrase_is_one_term() {
        let q = parse("\"Google Cloud\" Gemini").unwrap();
        assert_eq!(
            words(&q),
            vec![vec![vec!["Google", "Cloud"]], vec![vec!["Gemini"]]]
        );
        assert_eq!(q.groups()[0][0].text(), "Google Cloud");
    }

    #[test]
    fn curly_quotes_make_a_phrase() {
        let q = parse("\u{201C}Google Cloud\u{201D}").unwrap();
        assert_eq!(words(&q), vec![vec![vec!["Google", "Cloud"]]]);
    }

    #[test]
    fn phrase_whitespace_is_collapsed() {
        let q = parse("\"  Google \t  Cloud \"").unwrap();
        assert_eq!(q.groups()[0][0].text(), "Google Cloud");
    }

    #[test]
    fn minus_excludes_word_and_phrase() {
        let q = parse("Meta -horoscope -\"star sign\"").unwrap();
        assert_eq!(q.groups().len(), 1);
        let excluded: Vec<&str> = q.exclusions().iter().map(Term::text).collect();
        assert_eq!(excluded, vec!["horoscope", "star sign"]);
    }

    #[test]
    fn title_prefix_restricts_to_title() {
        let q = parse("title:Meta title:\"Google Cloud\" Gemini").unwrap();
        let flags: Vec<bool> = q.positive_terms().map(Term::is_title_only).collect();
        assert_eq!(flags, vec![true, true, false]);
        assert_eq!(q.groups()[1][0].text(), "Google Cloud");
    }

    #[test]
    fn excluded_title_term_combines_both() {
        let q = parse("Meta -title:horoscope").unwrap();
        let ex = &q.exclusions()[0];
        assert!(ex.is_title_only());
        assert_eq!(ex.text(), "horoscope");
    }

    #[test]
    fn star_makes_a_prefix_term() {
        let q = parse("gem*").unwrap();
        let term = &q.groups()[0][0];
        assert!(term.is_prefix());
        assert_eq!(term.text(), "gem");
    }

    #[test]
    fn star_at_end_of_phrase_applies_to_last_word() {
        let inside = parse("\"google clo*\"").unwrap();
        let outside = parse("\"google clo\"*").unwrap();
        assert_eq!(inside, outside);
        assert!(inside.groups()[0][0].is_prefix());
        assert_eq!(inside.groups()[0][0].words(), ["google", "clo"]);
    }

    #[test]
    fn surrounding_punctuation_is_trimmed() {
        let q = parse("(Meta), Gemini.").unwrap();
        assert_eq!(words(&q), vec![vec![vec!["Meta"]], vec![vec!["Gemini"]]]);
    }

    #[test]
    fn inner_punctuation_makes_a_phrase_of_words() {
        let q = parse("AT&T Meta's").unwrap();
        assert_eq!(q.groups()[0][0].words(), ["AT", "T"]);
        assert_eq!(q.groups()[0][0].text(), "AT&T");
        assert_eq!(q.groups()[1][0].words(), ["Meta", "s"]);
    }

    #[test]
    fn cjk_characters_are_words_of_their_own() {
        let q = parse("東京").unwrap();
        assert_eq!(q.groups()[0][0].words(), ["東", "京"]);
        assert_eq!(q.to_string(), "東京");
    }

    #[test]
    fn cyrillic_word_is_one_word() {
        let q = parse("Москва").unwrap();
        assert_eq!(q.groups()[0][0].words(), ["Москва"]);
    }

    #[test]
    fn accented_word_keeps_combining_marks_inside() {
        // "Nestle" + U+0301 (decomposed é) is still one word.
        assert_eq!(word_spans("Nestle\u{301} SA"), vec![(0, 8), (9, 11)]);
    }

    #[test]
    fn display_is_canonical() {
        let q =
            parse("-horoscope  “Google   Cloud”  Gemini OR gem*  title:Meta -title:\"star sign\"")
                .unwrap();
        assert_eq!(
            q.to_string(),
            "\"Google Cloud\" Gemini OR gem* title:Meta -horoscope -title:\"star sign\""
        );
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "Meta",
            "Meta OR Facebook Gemini",
            "\"Google Cloud\" Gemini -horoscope",
            "title:\"Google Cloud\" -title:x9 gem* \"google clo*\"",
            "AT&T Meta's U.S. (Meta)",
            "\"OR\" -OR title:\"title:x\" \"a-b\"",
            "東京 Москва Nestlé",
            "Title:Meta \"site:example\"",
        ] {
            let q = parse(text).unwrap();
            let again = parse(&q.to_string()).unwrap();
            assert_eq!(again, q, "`{text}` displayed as `{q}`");
        }
    }

    #[test]
    fn literal_or_is_quoted_in_display() {
        let q = parse("\"OR\" Meta").unwrap();
        assert_eq!(q.to_string(), "\"OR\" Meta");
        assert_eq!(q.groups().len(), 2);
    }

    #[test]
    fn from_str_parses() {
        let q: Query = "Meta OR Facebook".parse().unwrap();
        assert_eq!(q, parse("Meta OR Facebook").unwrap());
    }

    #[test]
    fn unclosed_quote_names_the_phrase() {
        assert_eq!(
            error("\"Google Cloud Gemini"),
            "the quote before `Google Cloud Gemini` is never closed — add a closing \""
        );
        assert_eq!(
            error("Gemini \"Google Cloud"),
            "the quote before `Google Cloud` is never closed — add a closing \""
        );
    }

    #[test]
    fn quote_at_end_is_rejected() {
        assert_eq!(
            error("Gemini \""),
            "the query ends with an opening quote \" that is never closed — remove it"
        );
    }

    #[test]
    fn only_exclusions_are_rejected() {
        assert_eq!(
            error("-horoscope"),
            "a query needs at least one word to look for; `-horoscope` only excludes"
        );
        assert_eq!(
            error("-horoscope -\"star sign\""),
            "a query needs at least one word to look for; `-horoscope -\"star sign\"` only excludes"
        );
    }

    #[test]
    fn empty_query_is_rejected() {
        let expected = "the query is empty — write at least one word to look for, e.g. `Meta`";
        assert_eq!(error(""), expected);
        assert_eq!(error("  \t "), expected);
    }

    #[test]
    fn misplaced_or_is_rejected() {
        assert!(error("OR Meta").starts_with("`OR` at the start has nothing before it"));
        assert!(error("Meta OR").starts_with("`OR` at the end has nothing after it"));
        assert!(error("Meta OR OR Facebook").starts_with("`OR OR`: one `OR`"));
    }

    #[test]
    fn exclusion_cannot_be_an_alternative() {
        assert_eq!(
            error("Meta OR -Facebook"),
            "`-Facebook` is an exclusion and cannot be an `OR` alternative — move it out of the `OR`, e.g. `Meta OR Facebook -Facebook`"
        );
        assert!(error("-Facebook OR Meta").starts_with("`-Facebook` is an exclusion"));
    }

    #[test]
    fn empty_phrase_is_rejected() {
        let expected = "`\"\"` is an empty phrase — put words between the quotes or remove them";
        assert_eq!(error("Meta \"\""), expected);
        assert_eq!(error("Meta \"  \""), expected);
    }

    #[test]
    fn lone_star_is_rejected() {
        let expected =
            "a `*` on its own matches nothing — put at least 2 letters before it, e.g. `gem*`";
        assert_eq!(error("Meta *"), expected);
        assert_eq!(error("Meta \"*\""), expected);
    }

    #[test]
    fn short_prefix_is_rejected() {
        assert_eq!(
            error("g*"),
            "`g*` is too short to be a prefix — put at least 2 letters before the `*`, e.g. `gem*`"
        );
        assert!(error("\"google c*\"").starts_with("`google c*` is too short"));
    }

    #[test]
    fn star_inside_a_word_is_rejected() {
        assert_eq!(
            error("ge*mini"),
            "`ge*mini`: a `*` can only end a word, e.g. `gem*` — remove the other `*`"
        );
        assert!(error("*gem").starts_with("`*gem`: a `*` can only end a word"));
    }

    #[test]
    fn term_without_letters_is_rejected() {
        assert_eq!(
            error("Meta !!!"),
            "`!!!` has no letters or digits to look for — remove it or write a word"
        );
        assert!(error("Meta \"--\"").starts_with("`--` has no letters or digits"));
    }

    #[test]
    fn dangling_operators_are_rejected() {
        assert!(error("Meta -").starts_with("a `-` must be followed directly"));
        assert!(error("Meta - x").starts_with("a `-` must be followed directly"));
        assert!(error("title: Meta").starts_with("`title:` must be followed directly"));
        assert_eq!(
            error("Meta title:-x"),
            "`title:-x`: to exclude a word from titles write the `-` first, e.g. `-title:horoscope`"
        );
    }

    #[test]
    fn too_many_terms_are_rejected() {
        let ok: Vec<String> = (0..32).map(|i| format!("w{i}")).collect();
        assert!(parse(&ok.join(" ")).is_ok());
        let too_many: Vec<String> = (0..33).map(|i| format!("w{i}")).collect();
        assert_eq!(
            error(&too_many.join(" ")),
            "the query has 33 terms; the limit is 32 — remove some or split it into several subscriptions"
        );
    }

    #[test]
    fn a_query_whose_written_form_is_too_long_is_rejected_up_front() {
        // Found by fuzzing: 500 characters typed, 503 once written with quotes, which then
        // failed to parse from storage and the subscription was skipped.
        let near_limit = format!("{} \"a b\"", "x".repeat(493));
        assert!(near_limit.chars().count() <= MAX_QUERY_CHARS);
        match parse(&near_limit) {
            Ok(q) => assert!(
                parse(&q.to_string()).is_ok(),
                "accepted but does not round-trip"
            ),
            Err(e) => assert!(matches!(e, QueryError::TooLong { .. }), "{e}"),
        }
        let tricky = format!("yOR*\"z{}", "\u{0}".repeat(494));
        if let Ok(q) = parse(&tricky) {
            assert_eq!(parse(&q.to_string()), Ok(q));
        }
    }

    #[test]
    fn too_long_query_is_rejected() {
        let ok = format!("\"{}\"", "ab ".repeat(166));
        assert!(ok.chars().count() <= 500);
        assert!(parse(&ok).is_ok());
        let long = "a".repeat(501);
        assert_eq!(
            error(&long),
            "the query is 501 characters long; the limit is 500 — shorten it or split it into several subscriptions"
        );
    }

    #[test]
    fn generated_queries_round_trip_or_fail_cleanly() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        const PIECES: [&str; 27] = [
            "Meta",
            "gem",
            "OR",
            "or",
            "-",
            "title:",
            "\"",
            "\u{201C}",
            "\u{201D}",
            "*",
            " ",
            " ",
            "'s",
            "東京",
            "(",
            ")",
            "!",
            ".",
            "Nestlé",
            "x",
            "&",
            "Title:",
            " NEAR/2 ",
            "NEAR",
            "/",
            " SENTENCE ",
            "5",
        ];
        let mut rng = StdRng::seed_from_u64(7);
        let mut parsed = 0;
        for _ in 0..5_000 {
            let len = rng.gen_range(1..12);
            let text: String = (0..len)
                .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
                .collect();
            if let Ok(q) = parse(&text) {
                parsed += 1;
                let shown = q.to_string();
                assert_eq!(
                    parse(&shown).as_ref(),
                    Ok(&q),
                    "`{text}` displayed as `{shown}`"
                );
                assert_eq!(shown, q.to_string());
            }
        }
        // The generator must exercise the success path, not only errors.
        assert!(parsed > 500, "only {parsed} generated queries parsed");
    }

    #[test]
    fn thai_characters_are_words_of_their_own() {
        let q = parse("กรุงเทพ").unwrap();
        assert!(q.groups()[0][0].words().len() > 1);
    }

    fn pair(q: &Query) -> (&str, Within, &str) {
        let [p] = q.proximities() else {
            panic!("`{q}`: expected one pair, got {:?}", q.proximities());
        };
        (p.left().text(), p.within(), p.right().text())
    }

    #[test]
    fn near_joins_two_terms_into_a_pair() {
        let q = parse("Meta NEAR/3 AI").unwrap();
        assert!(q.groups().is_empty());
        assert_eq!(pair(&q), ("Meta", Within::Words(3), "AI"));
        assert_eq!(q.to_string(), "Meta NEAR/3 AI");
        let names: Vec<&str> = q.positive_terms().map(Term::text).collect();
        assert_eq!(names, ["Meta", "AI"]);
    }

    #[test]
    fn sentence_joins_two_terms_into_a_pair() {
        let q = parse("Meta SENTENCE AI").unwrap();
        assert_eq!(pair(&q), ("Meta", Within::Sentence, "AI"));
        assert_eq!(q.to_string(), "Meta SENTENCE AI");
    }

    #[test]
    fn pair_sides_may_be_phrases_prefixes_and_title_terms() {
        let q = parse("“Google Cloud” NEAR/5 title:outage*").unwrap();
        let p = &q.proximities()[0];
        assert_eq!(p.left().words(), ["Google", "Cloud"]);
        assert!(p.right().is_prefix() && p.right().is_title_only());
        assert_eq!(q.to_string(), "\"Google Cloud\" NEAR/5 title:outage*");
    }

    #[test]
    fn pairs_are_anded_with_groups_and_exclusions() {
        let q = parse("-horoscope Gemini OR Bard Meta NEAR/2 AI \"Google Cloud\" SENTENCE outage")
            .unwrap();
        assert_eq!(words(&q), vec![vec![vec!["Gemini"], vec!["Bard"]]]);
        assert_eq!(q.proximities().len(), 2);
        assert_eq!(q.exclusions()[0].text(), "horoscope");
        assert_eq!(
            q.to_string(),
            "Gemini OR Bard Meta NEAR/2 AI \"Google Cloud\" SENTENCE outage -horoscope"
        );
    }

    #[test]
    fn near_distance_bounds_are_one_and_fifty() {
        assert_eq!(pair(&parse("a1 NEAR/1 b2").unwrap()).1, Within::Words(1));
        assert_eq!(pair(&parse("a1 NEAR/50 b2").unwrap()).1, Within::Words(50));
        for bad in ["NEAR/0", "NEAR/51", "NEAR/999", "NEAR/99999999999999999999"] {
            assert_eq!(
                error(&format!("Meta {bad} AI")),
                format!("`{bad}` is out of range: n is the most words between the two terms, from 1 to 50 — for words next to each other write a phrase (`\"Meta AI\"`), for anywhere in the item just both words (`Meta AI`)")
            );
        }
    }

    #[test]
    fn near_without_a_number_is_rejected() {
        assert_eq!(
            error("Meta NEAR/abc AI"),
            "`NEAR/abc`: the distance after `NEAR/` must be a whole number of words from 1 to 50, e.g. `Meta NEAR/3 AI`"
        );
        assert!(error("Meta NEAR/-3 AI").starts_with("`NEAR/-3`: the distance after"));
        assert!(error("Meta NEAR/3, AI").starts_with("`NEAR/3,`: the distance after"));
        for bare in ["NEAR", "NEAR/"] {
            assert_eq!(
                error(&format!("Meta {bare} AI")),
                format!("`{bare}` needs a distance: write `NEAR/n`, where n (1 to 50) is the most words between the two terms, e.g. `Meta NEAR/3 AI`")
            );
        }
    }

    #[test]
    fn dangling_proximity_operators_are_rejected() {
        assert_eq!(
            error("NEAR/3 AI"),
            "`NEAR/3` at the start has nothing before it — put a word or phrase on each side, e.g. `Meta NEAR/3 AI`"
        );
        assert_eq!(
            error("Meta NEAR/3"),
            "`NEAR/3` at the end has nothing after it — put a word or phrase on each side, e.g. `Meta NEAR/3 AI`"
        );
        assert!(error("Meta SENTENCE").starts_with("`SENTENCE` at the end"));
        assert!(error("SENTENCE Meta").starts_with("`SENTENCE` at the start"));
    }

    #[test]
    fn operators_in_a_row_are_rejected() {
        assert_eq!(
            error("Meta NEAR/3 OR AI"),
            "`NEAR/3 OR`: two operators in a row — put one word or phrase between them, e.g. `Meta NEAR/3 AI`"
        );
        assert!(error("Meta OR NEAR/3 AI").starts_with("`OR NEAR/3`: two operators in a row"));
        assert!(error("Meta NEAR/3 SENTENCE AI").starts_with("`NEAR/3 SENTENCE`: two operators"));
    }

    #[test]
    fn a_pair_side_cannot_be_an_or_alternative() {
        let expected = "`NEAR/3` joins one word or phrase on each side and cannot take an `OR` alternative — write one subscription per alternative, e.g. `Facebook NEAR/3 AI`";
        assert_eq!(error("Meta OR Facebook NEAR/3 AI"), expected);
        assert!(
            error("Meta NEAR/3 AI OR Llama").ends_with("e.g. `Meta NEAR/3 AI`"),
            "{}",
            error("Meta NEAR/3 AI OR Llama")
        );
    }

    #[test]
    fn a_pair_side_cannot_be_an_exclusion() {
        assert_eq!(
            error("Meta NEAR/3 -AI"),
            "`-AI` is an exclusion and cannot be joined by `NEAR/3` (\"not near\" is not supported) — exclude it from the whole item instead, e.g. `Meta -AI`"
        );
        assert!(error("-Meta SENTENCE AI").ends_with("e.g. `AI -Meta`"));
    }

    #[test]
    fn pairs_do_not_chain() {
        assert_eq!(
            error("Meta NEAR/2 AI NEAR/4 Llama"),
            "`Meta NEAR/2 AI NEAR/4 Llama`: proximity operators do not chain — write each pair on its own, e.g. `Meta NEAR/2 AI AI NEAR/4 Llama`"
        );
    }

    #[test]
    fn lower_case_and_quoted_operators_are_words() {
        let q = parse("Meta near/3 sentence").unwrap();
        assert!(q.proximities().is_empty());
        assert_eq!(q.groups()[1][0].words(), ["near", "3"]);
        let quoted = parse("\"NEAR/3\" \"SENTENCE\" \"NEAR\" -NEAR/2 title:SENTENCE").unwrap();
        assert!(quoted.proximities().is_empty());
        assert_eq!(
            quoted.to_string(),
            "\"NEAR/3\" \"SENTENCE\" \"NEAR\" title:\"SENTENCE\" -\"NEAR/2\""
        );
        assert_eq!(parse(&quoted.to_string()), Ok(quoted));
    }

    #[test]
    fn a_query_of_pairs_only_is_not_only_exclusions() {
        let q = parse("Meta SENTENCE AI -horoscope").unwrap();
        assert_eq!(q.to_string(), "Meta SENTENCE AI -horoscope");
    }
}
