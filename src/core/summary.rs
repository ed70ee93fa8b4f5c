//! HTML to plain text, and the summaries members read: clean paragraphs (no scripts, share
//! links, "appeared first on" tails or markup debris), led by the first sentences and showing
//! the sentence that explains why an item matched, cut at a sentence or word boundary.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use scraper::{ElementRef, Html, Node};

use crate::core::text::{self, Field};

/// Elements whose content is never reader-visible text.
const SKIPPED: &[&str] = &[
    "script", "style", "iframe", "noscript", "template", "head", "svg", "object", "embed", "form",
    "button", "select", "textarea", "canvas", "video", "audio",
];

/// Elements that start a new line of text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "section",
    "article",
    "header",
    "footer",
    "figure",
    "figcaption",
    "hr",
    "dd",
    "dt",
    "dl",
    "aside",
    "main",
    "nav",
];

/// Plain text of an HTML fragment: tags removed, entities decoded, scripts/styles dropped.
///
/// Block elements become line breaks; a newline inside text is whitespace, as HTML renders it
/// (only a blank line, or a Markdown heading or list line, keeps a break: see
/// [`text::unwrap_lines`]; `<pre>` keeps its lines); runs of spaces collapse to one; lines are
/// trimmed and empty lines dropped, so the result has one paragraph per line, and a phrase
/// wrapped across lines in the feed's source reads as one.
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return normalize_lines(&text::unwrap_lines(html));
    }
    let fragment = Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len());
    walk(fragment.root_element(), false, &mut out);
    normalize_lines(&out)
}

/// Appends the text of an HTML text node: its line wraps undone, unless it is preformatted.
fn push_text_node(out: &mut String, node: &str, preformatted: bool) {
    if preformatted {
        out.push_str(node);
    } else {
        out.push_str(&text::unwrap_lines(node));
    }
}

fn walk(element: ElementRef<'_>, preformatted: bool, out: &mut String) {
    for child in element.children() {
        match child.value() {
            Node::Text(node) => push_text_node(out, node, preformatted),
            Node::Element(el) => {
                let name = el.name();
                if SKIPPED.contains(&name) {
                    continue;
                }
                let block = BLOCKS.contains(&name);
                if block {
                    out.push('\n');
                }
                if let Some(child_ref) = ElementRef::wrap(child) {
                    walk(child_ref, preformatted || name == "pre", out);
                }
                if block {
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
}

/// Collapses whitespace inside lines, trims them and drops empty ones.
fn normalize_lines(text: &str) -> String {
    squeeze_whitespace(text, true)
}

/// All whitespace (including line breaks) collapsed to single spaces.
pub fn collapse_whitespace(text: &str) -> String {
    squeeze_whitespace(text, false)
}

/// The words of `text` (runs of non-whitespace, as `split_whitespace` finds them) joined by
/// one space, or by one line break where the gap between two words held a `\n` and
/// `keep_lines` is set. One pass; text that is already squeezed is copied in whole runs.
fn squeeze_whitespace(text: &str, keep_lines: bool) -> String {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut out = String::with_capacity(n);
    // The verbatim span being extended (words separated by single spaces), not yet copied.
    let mut run: Option<(usize, usize)> = None;
    let mut i = 0;
    loop {
        let mut newline = false;
        while i < n {
            let b = bytes[i];
            if b == b' ' {
                i += 1;
                continue;
            }
            let (space, width) = char_at(text, i);
            if !space {
                break;
            }
            newline |= b == b'\n';
            i += width;
        }
        if i >= n {
            break;
        }
        let start = i;
        while i < n {
            // Most bytes are ASCII letters: decide those without decoding.
            let b = bytes[i];
            if b > b' ' && b < 0x80 {
                i += 1;
                continue;
            }
            let (space, width) = char_at(text, i);
            if space {
                break;
            }
            i += width;
        }
        run = match run {
            // One plain space between the last word and this one: keep copying.
            Some((s, e)) if start == e + 1 && bytes[e] == b' ' => Some((s, i)),
            Some((s, e)) => {
                out.push_str(&text[s..e]);
                out.push(if keep_lines && newline { '\n' } else { ' ' });
                Some((start, i))
            }
            None => Some((start, i)),
        };
    }
    if let Some((s, e)) = run {
        out.push_str(&text[s..e]);
    }
    out
}

/// Whether the character at byte `i` of `text` is whitespace, and its length in bytes.
#[inline]
fn char_at(text: &str, i: usize) -> (bool, usize) {
    let b = text.as_bytes()[i];
    if b < 0x80 {
        (matches!(b, b'\t'..=b'\r' | b' '), 1)
    } else {
        text[i..]
            .chars()
            .next()
            .map_or((false, 1), |c| (c.is_whitespace(), c.len_utf8()))
    }
}

/// Cuts `text` to at most `max_chars` characters (Unicode scalar values).
///
/// Prefers the end of a sentence or of a line in the second half of the budget; otherwise cuts
/// at the last word boundary and appends "…"; never cuts inside a word unless the first word
/// alone is longer than the budget (or the text is CJK, where every character is a word).
pub fn truncate_at_boundary(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    if max_chars == 0 {
        return String::new();
    }
    // Byte index just past the last char that may be kept, leaving room for the ellipsis.
    let budget = max_chars - 1;
    let end = text
        .char_indices()
        .nth(budget)
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..end];

    // A sentence (or line) end in the second half of the budget.
    let half = head.len() / 2;
    let sentence_end = sentence_ends_within(text, end)
        .filter(|&cut| cut >= half)
        .last();
    if let Some(cut) = sentence_end {
        let kept = text[..cut].trim_end();
        if !kept.is_empty() {
            return kept.to_string();
        }
    }
    let next_is_space = text[end..].starts_with(char::is_whitespace);
    let cut = if next_is_space || text[end..].starts_with(is_unspaced_char) {
        end
    } else {
        head.rfind(char::is_whitespace).unwrap_or(end)
    };
    let kept = text[..cut].trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—…".contains(c));
    let kept = if kept.is_empty() { head } else { kept };
    format!("{kept}…")
}

/// Byte offsets just past each sentence end of `text` (after closing quotes), in order; a line
/// break ends a sentence too.
///
/// `.`, `!` and `?` end a sentence when whitespace follows and the next word does not start
/// lower-case, and the word before is not an initial or a common abbreviation ("J. Smith",
/// "Mr. Pichai", "the U.S. said"). `。`, `！` and `？` always end one.
fn sentence_ends(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.char_indices()
        .filter_map(move |(i, c)| sentence_end_at(text, i, c))
}

/// Where the sentence that character `c` at byte `i` of `text` may end, ends (see
/// [`sentence_ends`]).
fn sentence_end_at(text: &str, i: usize, c: char) -> Option<usize> {
    match c {
        '\n' => Some(i),
        '.' | '!' | '?' => {
            let after = skip_closers(text, i + c.len_utf8());
            let rest = &text[after..];
            if !rest.starts_with(char::is_whitespace) {
                return None;
            }
            let next = rest.trim_start().chars().next();
            if next.is_some_and(char::is_lowercase) {
                return None;
            }
            if c == '.' && is_abbreviation(&text[..i]) {
                return None;
            }
            Some(after)
        }
        '。' | '！' | '？' => Some(skip_closers(text, i + c.len_utf8())),
        _ => None,
    }
}

/// The [`sentence_ends`] of `text` that are at most `limit`. The text after `limit` is only
/// looked at to decide a cut right at it: every later character could only end a sentence
/// after `limit` (the cuts come in order and are never before their character).
fn sentence_ends_within(text: &str, limit: usize) -> impl Iterator<Item = usize> + '_ {
    let mut scan_to = (limit + 1).min(text.len());
    while !text.is_char_boundary(scan_to) {
        scan_to += 1;
    }
    text[..scan_to]
        .char_indices()
        .filter_map(move |(i, c)| sentence_end_at(text, i, c))
        .take_while(move |&cut| cut <= limit)
}

/// The index past any closing quotes or brackets at `from`.
fn skip_closers(text: &str, from: usize) -> usize {
    let rest = &text[from..];
    let trimmed = rest.trim_start_matches(['"', '\'', '”', '’', ')', ']', '»', '」', '』', '）']);
    from + (rest.len() - trimmed.len())
}

/// Words that end in a full stop without ending the sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "inc", "corp", "ltd", "co", "vs", "no",
    "gov", "sen", "rep", "gen", "col", "lt", "sgt", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "approx", "est", "dept", "fig", "e.g", "i.e", "u.s",
    "u.k", "u.n", "e.u",
];

/// Whether the word that `before` ends with (the full stop not included) is an initial or a
/// known abbreviation.
fn is_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(' || c == '"')
        .next()
        .unwrap_or("");
    let mut chars = word.chars();
    if let (Some(first), None) = (chars.next(), chars.next()) {
        return first.is_uppercase();
    }
    let lower = word.to_lowercase();
    ABBREVIATIONS.contains(&lower.as_str())
}

/// Characters of scripts written without spaces, where a cut between any two is a word cut.
fn is_unspaced_char(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF)
}

/// The plain-text summary of an item: its description (or its content when the description
/// holds no text once cleaned) as an [`extractive_summary`] with no matched terms.
pub fn summarize(summary_html: &str, content_html: &str, max_chars: usize) -> String {
    let summary = extractive_summary(summary_html, &[], max_chars);
    if summary.is_empty() {
        extractive_summary(content_html, &[], max_chars)
    } else {
        summary
    }
}

/// The separator between the lead and a later sentence: text was skipped.
const SKIPPED_MARK: &str = " … ";

/// Below this many characters of room, the lead is left out rather than cut to a stub.
const MIN_LEAD_CHARS: usize = 12;

/// After the matched sentence, following text is added only when at least this much room is
/// left, so the summary does not end in a two-word fragment.
const MIN_TAIL_CHARS: usize = 30;

/// A summary of an item's HTML for a member: at most `max_chars` characters, in paragraphs
/// (one per line), with no markup left.
///
/// The text is cleaned by [`summary_text`]. The summary leads with the first sentence(s). When
/// none of the `matched` terms (as written in queries: `Meta`, `"Google Cloud"`, `gem*`,
/// `title:Nestle`) appears in that lead but one appears later, the first sentence that contains
/// one is added after a "…" marking the skipped text (a window of it around the term when the
/// sentence alone is too long), so the reader sees why the item matched. Terms are found by
/// [`text::find_terms`], under exactly the matcher's rules (whole words, the case rule, accents
/// folded, phrases not across a break, nothing in links; a `title:` term is never looked for
/// here: it matched the title). Cuts fall on a sentence or word boundary.
pub fn extractive_summary(html: &str, matched: &[String], max_chars: usize) -> String {
    pick_sentences(&summary_text(html), matched, max_chars)
}

/// [`extractive_summary`] over text that is already clean (paragraphs on separate lines).
fn pick_sentences(text: &str, matched: &[String], max_chars: usize) -> String {
    let lead = truncate_at_boundary(text, max_chars);
    let (needles, _) = text::needles(matched);
    let Some((first, _)) = text::find_terms(text, &needles, Field::Body)
        .into_iter()
        .next()
    else {
        return lead;
    };
    // The lead is a prefix of the text (plus a "…" where it was cut).
    let kept = lead.strip_suffix('…').unwrap_or(&lead);
    if text.starts_with(kept) && first.end <= kept.len() {
        return lead;
    }
    // No sentence end falls inside a match (every one is a break the matcher stops at).
    let Some(hit) = sentence_spans(text)
        .into_iter()
        .find(|span| span.contains(&first.start))
    else {
        return lead;
    };
    let sentence = &text[hit.clone()];
    let term = first.start - hit.start..first.end.min(hit.end) - hit.start;
    let sentence_budget = (max_chars * 3 / 5).max(1);
    let shown = if sentence.chars().count() <= sentence_budget {
        sentence.to_string()
    } else {
        window_around_term(sentence, term, sentence_budget)
    };
    let whole_sentence = shown == sentence;

    let before = text[..hit.start].trim_end();
    let gap = if text[before.len()..hit.start].contains('\n') {
        "\n"
    } else {
        " "
    };
    let room = max_chars.saturating_sub(shown.chars().count() + SKIPPED_MARK.chars().count());
    let mut out = if room < MIN_LEAD_CHARS {
        format!("…{shown}")
    } else {
        let lead = lead_sentences(before, room);
        if lead == before {
            // Nothing was skipped: keep the text's own break between the two.
            format!("{lead}{gap}{shown}")
        } else if lead.ends_with('…') && gap == " " {
            format!("{lead} {shown}")
        } else {
            format!("{lead}{gap}… {shown}")
        }
    };

    if whole_sentence {
        let rest = text[hit.end..].trim_start();
        let room = max_chars.saturating_sub(out.chars().count() + 1);
        if !rest.is_empty() && room >= MIN_TAIL_CHARS {
            let gap = if text[hit.end..].trim_start_matches(' ').starts_with('\n') {
                '\n'
            } else {
                ' '
            };
            out.push(gap);
            out.push_str(&truncate_at_boundary(rest, room));
        }
    }
    if out.chars().count() > max_chars {
        return truncate_at_boundary(&out, max_chars);
    }
    out
}

/// The start of `text` within `max_chars`: whole sentences when at least the first one fits,
/// else cut at a word boundary.
fn lead_sentences(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let limit = text
        .char_indices()
        .nth(max_chars)
        .map_or(text.len(), |(i, _)| i);
    match sentence_ends_within(text, limit).last() {
        Some(end) if !text[..end].trim().is_empty() => text[..end].trim_end().to_string(),
        _ => truncate_at_boundary(text, max_chars),
    }
}

/// Byte ranges of the sentences of `text`, trimmed, in order.
fn sentence_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut start = 0;
    for end in sentence_ends(text).chain(std::iter::once(text.len())) {
        if end < start {
            continue;
        }
        let piece = &text[start..end];
        let lead = piece.len() - piece.trim_start().len();
        let trimmed = piece.trim();
        if !trimmed.is_empty() {
            spans.push(start + lead..start + lead + trimmed.len());
        }
        start = end;
    }
    spans
}

/// About `budget` characters of `sentence` around the matched term at `hit` (bytes of
/// `sentence`), cut at word boundaries, with "…" where the sentence goes on.
fn window_around_term(sentence: &str, hit: Range<usize>, budget: usize) -> String {
    let chars: Vec<(usize, char)> = sentence.char_indices().collect();
    let hit_char = chars.partition_point(|&(i, _)| i < hit.start);
    // Two ellipses may be added; the term sits about a third into the window.
    let inner = budget.saturating_sub(2).max(1);
    let mut first = hit_char.saturating_sub(inner / 3);
    let last = (first + inner).min(chars.len());
    if last - first < inner {
        first = last.saturating_sub(inner);
    }
    let byte = |n: usize| chars.get(n).map_or(sentence.len(), |&(i, _)| i);
    let mut from = byte(first);
    let mut to = byte(last);
    if first > 0 {
        // Start at the next word, unless that would skip the term itself.
        if let Some(space) = sentence[from..hit.start].find(char::is_whitespace) {
            from += space;
        }
    }
    if last < chars.len() {
        if let Some(space) = sentence[hit.end.min(to)..to].rfind(char::is_whitespace) {
            to = hit.end.min(to) + space;
        }
    }
    let core = sentence[from..to].trim();
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.push_str(
        core.trim_start_matches(|c: char| ",;:-–—".contains(c))
            .trim_start(),
    );
    if to < sentence.len() {
        out.push('…');
    }
    out
}

/// The reader-visible text of an item's HTML, one paragraph per line, ready to summarise.
///
/// Beyond [`html_to_text`]: figure captions, share links and share bars, and "Read more" links
/// are dropped; boilerplate tails ("The post … appeared first on …", "Continue reading",
/// "[…]") are cut; HTML that a feed escaped twice is parsed again; left-over entities are
/// decoded; markdown links, images, bold and headings are reduced to their text; zero-width
/// characters are removed.
pub fn summary_text(html: &str) -> String {
    let mut raw = visible_text(html);
    if looks_like_markup(&raw) {
        // The feed escaped its HTML twice: what is left is still markup.
        raw = visible_text(&raw);
    }
    if raw.contains('&') {
        raw = html_escape::decode_html_entities(&raw).into_owned();
    }
    let mut out = String::with_capacity(raw.len());
    for line in raw.lines() {
        let line = clean_line(line);
        // Reddit's "submitted by /u/name" byline.
        let byline = line.starts_with("submitted by /u/") || line.starts_with("submitted by u/");
        if !line.is_empty() && !byline && !is_share_bar(&line) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&line);
        }
    }
    out
}

/// Extra elements the summary leaves out: captions (photo credits) and inline images.
const SUMMARY_SKIPPED: &[&str] = &["figcaption", "img", "picture"];

/// Class or id fragments of share bars, feed ads and related-post blocks.
const NOISE_CLASSES: &[&str] = &[
    "sharedaddy",
    "share",
    "social",
    "feedflare",
    "jp-relatedposts",
    "related-posts",
    "newsletter",
];

/// Hosts and paths of "share this" links.
const SHARE_LINKS: &[&str] = &[
    "facebook.com/sharer",
    "facebook.com/share.php",
    "twitter.com/intent",
    "twitter.com/share",
    "x.com/intent",
    "x.com/share",
    "linkedin.com/share",
    "linkedin.com/sharearticle",
    "pinterest.com/pin/create",
    "reddit.com/submit",
    "api.whatsapp.com/send",
    "wa.me/?",
    "t.me/share",
    "mailto:?",
    "news.ycombinator.com/submitlink",
];

/// Texts of links and lines that are share buttons, not content (lower-case).
const SHARE_WORDS: &[&str] = &[
    "share on facebook",
    "share on twitter",
    "share on x",
    "share on linkedin",
    "share on whatsapp",
    "share on reddit",
    "share via email",
    "share this:",
    "share this",
    "like this:",
    "like this",
    "loading...",
    "loading…",
    "pin it",
    "tweet",
    "share",
    "email",
    "print",
    "facebook",
    "twitter",
    "linkedin",
    "reddit",
    "whatsapp",
    "pinterest",
    "telegram",
    "like",
    "x",
    "[link]",
    "[comments]",
    "comments",
];

/// "Read more" links and tails (lower-case, without trailing arrows or dots).
const READ_MORE: &[&str] = &[
    "continue reading",
    "read more",
    "read the full story",
    "read full story",
    "read the full article",
    "read full article",
    "read the rest of this entry",
    "read the rest",
    "keep reading",
    "(more…)",
    "(more...)",
];

/// Text of `html` with blocks on their own lines, skipping what the summary never shows.
fn visible_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return text::unwrap_lines(html).into_owned();
    }
    let fragment = Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len());
    walk_visible(fragment.root_element(), false, &mut out);
    out
}

fn walk_visible(element: ElementRef<'_>, preformatted: bool, out: &mut String) {
    for child in element.children() {
        match child.value() {
            Node::Text(node) => push_text_node(out, node, preformatted),
            Node::Element(el) => {
                let name = el.name();
                if SKIPPED.contains(&name) || SUMMARY_SKIPPED.contains(&name) {
                    continue;
                }
                let Some(child_ref) = ElementRef::wrap(child) else {
                    continue;
                };
                if is_noise_block(el) || (name == "a" && is_share_or_more_link(child_ref)) {
                    continue;
                }
                // Google News puts the outlet in a grey <font> after the headline.
                if name == "font" && el.attr("color").is_some() && !current_line_is_blank(out) {
                    out.push_str(" — ");
                }
                let block = BLOCKS.contains(&name);
                if block {
                    out.push('\n');
                }
                walk_visible(child_ref, preformatted || name == "pre", out);
                if block {
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
}

fn current_line_is_blank(out: &str) -> bool {
    out.rsplit('\n')
        .next()
        .is_none_or(|line| line.trim().is_empty())
}

fn is_noise_block(el: &scraper::node::Element) -> bool {
    let marks = [el.attr("class").unwrap_or(""), el.attr("id").unwrap_or("")];
    marks.iter().any(|mark| {
        mark.split_whitespace().any(|token| {
            let token = token.to_ascii_lowercase();
            NOISE_CLASSES.iter().any(|noise| token.contains(noise))
        })
    })
}

fn is_share_or_more_link(link: ElementRef<'_>) -> bool {
    let href = link.value().attr("href").unwrap_or("").to_ascii_lowercase();
    if SHARE_LINKS.iter().any(|share| href.contains(share)) {
        return true;
    }
    let text = collapse_whitespace(&link.text().collect::<String>()).to_lowercase();
    let text = text.trim_end_matches(|c: char| is_decoration(c) || c.is_whitespace());
    !text.is_empty()
        && (SHARE_WORDS.contains(&text) || READ_MORE.iter().any(|more| text.starts_with(more)))
}

/// Arrows and dots that decorate "Read more →" links.
fn is_decoration(c: char) -> bool {
    matches!(c, '→' | '»' | '›' | '>' | '.' | '…' | ':' | '⟶' | '➔' | '▸')
}

/// Whether text still holds HTML tags after one parse (a twice-escaped feed).
fn looks_like_markup(text: &str) -> bool {
    const TAGS: &[&str] = &[
        "p",
        "br",
        "a",
        "img",
        "div",
        "span",
        "strong",
        "em",
        "b",
        "i",
        "ul",
        "ol",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "figure",
        "iframe",
        "script",
        "style",
        "blockquote",
    ];
    text.match_indices('<').any(|(i, _)| {
        let rest = text[i + 1..].trim_start_matches('/');
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let name = rest[..name_len].to_ascii_lowercase();
        TAGS.contains(&name.as_str())
            && rest[name_len..].starts_with(|c: char| c == '>' || c == '/' || c.is_whitespace())
            && rest.contains('>')
    })
}

/// One paragraph with its whitespace normalised and its debris and boilerplate tail removed.
fn clean_line(line: &str) -> String {
    let line: Cow<'_, str> = if line.contains(['\u{200B}', '\u{2060}', '\u{FEFF}']) {
        Cow::Owned(
            line.chars()
                .filter(|c| !matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}'))
                .collect(),
        )
    } else {
        Cow::Borrowed(line)
    };
    let collapsed = collapse_whitespace(&line);
    let text = strip_markdown(&collapsed);
    let text = cut_appeared_first_on(&text);
    let text = cut_read_more_tail(&text);
    let text = replace_elision_marks(&text);
    match text {
        // Nothing was removed from the collapsed text: it is collapsed already.
        Cow::Borrowed(same) if same.len() == collapsed.len() => collapsed,
        changed => collapse_whitespace(&changed),
    }
}

/// A case-insensitive (ASCII) finder for boilerplate markers: most text has none of them, and
/// one scan says so without lower-casing a copy of it. `None` (the build failed) means "look".
fn ascii_insensitive(patterns: &[&str]) -> Option<AhoCorasick> {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(patterns)
        .ok()
}

/// Whether `text` may hold one of `finder`'s markers (`false` only when it surely does not).
fn may_contain(finder: Option<&AhoCorasick>, text: &str) -> bool {
    finder.is_none_or(|f| f.is_match(text))
}

const APPEARED_MARKERS: [&str; 3] = [
    "appeared first on",
    "first appeared on",
    "originally appeared on",
];

static APPEARED: LazyLock<Option<AhoCorasick>> =
    LazyLock::new(|| ascii_insensitive(&APPEARED_MARKERS));
static READ_MORE_MARKERS: LazyLock<Option<AhoCorasick>> =
    LazyLock::new(|| ascii_insensitive(READ_MORE));

/// Removes "The post X appeared first on Y." and "This story first appeared on Y." sentences.
fn cut_appeared_first_on(text: &str) -> Cow<'_, str> {
    if !may_contain(APPEARED.as_ref(), text) {
        return Cow::Borrowed(text);
    }
    let lower = text.to_ascii_lowercase();
    let marker = APPEARED_MARKERS.iter().find_map(|m| lower.find(m));
    let Some(at) = marker else {
        return Cow::Borrowed(text);
    };
    // Back to the start of that sentence ("The post", "This article", …).
    // Whichever is later: an earlier "the post office" must not take its sentence along.
    let post = lower[..at].rfind("the post ");
    let sentence = sentence_ends(&text[..at]).last();
    let start = post.max(sentence).unwrap_or(0);
    Cow::Owned(text[..start].trim_end().to_string())
}

/// Removes a trailing "Continue reading …", "Read more »" and the like.
///
/// The marker must start a sentence (or the line) and, except for "Continue reading" (which
/// WordPress follows with the post title), end it, so "analysts read more into it" stays.
/// How far from the end a "read more" tail is looked for (bytes).
const TAIL_WINDOW: usize = 600;

fn cut_read_more_tail(text: &str) -> Cow<'_, str> {
    // A tail marker ends the text (at most ~120 chars after it), so only the end is searched:
    // scanning a 20,000-char article once per marker was a hot spot of cold ingest.
    let mut start = text.len().saturating_sub(TAIL_WINDOW);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    if !may_contain(READ_MORE_MARKERS.as_ref(), &text[start..]) {
        return Cow::Borrowed(text);
    }
    let lower = text[start..].to_ascii_lowercase();
    for more in READ_MORE {
        let Some(at) = lower.rfind(more).map(|at| at + start) else {
            continue;
        };
        let before = text[..at].trim_end();
        let starts_sentence = before.is_empty()
            || before.ends_with(['.', '!', '?', '…', ']', '|', ')', '—', '–', '-', '。']);
        let after =
            text[at + more.len()..].trim_matches(|c: char| c.is_whitespace() || is_decoration(c));
        let ends_line =
            after.is_empty() || (*more == "continue reading" && after.chars().count() <= 120);
        if starts_sentence && ends_line {
            return Cow::Owned(
                before
                    .trim_end_matches(|c: char| c.is_whitespace() || "|-–—".contains(c))
                    .to_string(),
            );
        }
    }
    Cow::Borrowed(text)
}

/// "[…]" and "[...]" become a plain "…" when the text was cut mid-sentence, else vanish.
fn replace_elision_marks(text: &str) -> Cow<'_, str> {
    // Every mark starts with a bracket.
    if !text.contains('[') {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for mark in ["[…]", "[...]", "[ … ]", "[ ... ]", "[&hellip;]"] {
        while let Some(at) = out.find(mark) {
            let before = out[..at].trim_end();
            let ends_sentence = before.ends_with(['.', '!', '?', '。', '…']) || before.is_empty();
            let after = &out[at + mark.len()..];
            out = if ends_sentence {
                format!("{before}{after}")
            } else {
                format!("{before}…{after}")
            };
        }
    }
    Cow::Owned(out)
}

/// Whether a whole line is share buttons ("Share this: Twitter Facebook Like this: Loading...").
fn is_share_bar(line: &str) -> bool {
    if line.is_ascii() {
        // Lower-casing ASCII keeps every byte in place: compare without a lower-case copy.
        share_words_only(line, true)
    } else {
        share_words_only(&line.to_lowercase(), false)
    }
}

/// Whether `text` is nothing but [`SHARE_WORDS`] and separators; `ignore_case` compares ASCII
/// case-insensitively (else `text` must be lower-case already).
fn share_words_only(text: &str, ignore_case: bool) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || "|·•,/".contains(c));
        if rest.is_empty() {
            return true;
        }
        let word = SHARE_WORDS.iter().find(|w| {
            let starts = if ignore_case {
                rest.get(..w.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(w))
            } else {
                rest.starts_with(**w)
            };
            starts && !rest[w.len()..].starts_with(char::is_alphanumeric)
        });
        match word {
            Some(w) => rest = &rest[w.len()..],
            None => return false,
        }
    }
}

/// Markdown a feed left in its text, reduced to what it says: `![alt](src)` goes, `[text](url)`
/// keeps its text, `**bold**`, `__bold__` and `~~strike~~` lose their markers, `# ` heading marks go.
fn strip_markdown(line: &str) -> Cow<'_, str> {
    let mut text = line.trim_start_matches('#');
    if text.len() == line.len() || !text.starts_with(' ') {
        text = line;
    }
    let mut rest = text.trim_start();
    let mut out: Cow<'_, str> = if rest.contains('[') {
        let mut out = String::with_capacity(text.len());
        while let Some(open) = rest.find('[') {
            let image = rest[..open].ends_with('!');
            let Some(link) = markdown_link(&rest[open..]) else {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
                continue;
            };
            out.push_str(&rest[..if image { open - 1 } else { open }]);
            if !image {
                out.push_str(link.label);
            }
            rest = &rest[open + link.len..];
        }
        out.push_str(rest);
        Cow::Owned(out)
    } else {
        // No link or image: nothing to rewrite but the emphasis markers below.
        Cow::Borrowed(rest)
    };
    for marker in ["**", "__", "~~"] {
        // A byte search first: most text has none of these characters.
        if !out.as_bytes().contains(&marker.as_bytes()[0]) {
            continue;
        }
        let count = out.matches(marker).count();
        if count >= 2 && count % 2 == 0 {
            out = Cow::Owned(out.replace(marker, ""));
        }
    }
    out
}

/// A markdown link at the start of `text`: `[label](target)` with a target without spaces.
struct MarkdownLink<'a> {
    label: &'a str,
    len: usize,
}

fn markdown_link(text: &str) -> Option<MarkdownLink<'_>> {
    let close = text.find("](")?;
    let label = &text[1..close];
    if label.contains('[') || label.contains(']') {
        return None;
    }
    let target_start = close + 2;
    let target_len = text[target_start..].find(')')?;
    let target = &text[target_start..target_start + target_len];
    if target.is_empty() || target.contains(char::is_whitespace) {
        return None;
    }
    Some(MarkdownLink {
        label,
        len: target_start + target_len + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_and_decodes_entities() {
        let text = html_to_text("<p>Caf&eacute; &amp; <b>bar</b></p><p>Second&nbsp;line</p>");
        assert_eq!(text, "Café & bar\nSecond line");
    }

    #[test]
    fn drops_scripts_and_styles() {
        let text = html_to_text("<style>p{}</style><p>Hello<script>alert(1)</script> world</p>");
        assert_eq!(text, "Hello world");
    }

    #[test]
    fn plain_text_passes_through_collapsed() {
        assert_eq!(html_to_text("  a   b \n\n c "), "a b\nc");
    }

    #[test]
    fn short_text_is_not_cut() {
        assert_eq!(truncate_at_boundary("Short text.", 20), "Short text.");
    }

    #[test]
    fn cuts_at_sentence_end_when_one_is_late_enough() {
        let text = "First sentence is here. Second sentence goes on and on and on.";
        assert_eq!(truncate_at_boundary(text, 40), "First sentence is here.");
    }

    #[test]
    fn cuts_at_word_boundary_never_mid_word() {
        let text = "alpha beta gamma delta epsilon";
        let cut = truncate_at_boundary(text, 14);
        assert_eq!(cut, "alpha beta…");
        assert!(cut.chars().count() <= 14);
    }

    #[test]
    fn counts_characters_not_bytes() {
        let text = "日本語のテキスト ".repeat(20);
        let cut = truncate_at_boundary(&text, 30);
        assert!(cut.chars().count() <= 30, "{cut}");
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn summary_falls_back_to_content() {
        assert_eq!(summarize("", "<p>From content.</p>", 100), "From content.");
    }

    fn terms(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    const FOUR_PARAGRAPHS: &str = "<p>Cocoa prices hit a record on Monday as harvests failed.</p>\
        <p>Traders in London said the market had rarely been this tight, with warehouses \
        holding less than two months of grinding demand and more shortfalls expected.</p>\
        <p>Smaller chocolatiers have already raised prices twice this year, and some have cut \
        the size of their bars instead of raising prices again.</p>\
        <p>Among the large groups, Nestlé said it would pass on part of the cost. Rivals \
        declined to comment.</p>";

    #[test]
    fn late_match_follows_the_lead_after_an_ellipsis() {
        let summary = extractive_summary(FOUR_PARAGRAPHS, &terms(&["Nestle"]), 200);
        assert!(
            summary.starts_with("Cocoa prices hit a record on Monday as harvests failed."),
            "{summary}"
        );
        assert!(
            summary.contains(
                "… Among the large groups, Nestlé said it would pass on part of the cost."
            ),
            "{summary}"
        );
        assert!(summary.chars().count() <= 200);
    }

    #[test]
    fn without_matched_terms_the_summary_is_the_lead() {
        let summary = extractive_summary(FOUR_PARAGRAPHS, &[], 200);
        assert!(!summary.contains("Nestlé"), "{summary}");
        assert!(summary.starts_with("Cocoa prices"), "{summary}");
    }

    #[test]
    fn a_match_inside_a_longer_word_is_not_a_match() {
        let html = "<p>The lead sentence is here and is long enough to fill the budget.</p>\
            <p>Later, metadata and the Metaverse are discussed at length.</p>";
        let summary = extractive_summary(html, &terms(&["Meta"]), 70);
        assert!(!summary.contains("metadata"), "{summary}");
        assert!(
            !summary.contains('…') || summary.ends_with('…'),
            "{summary}"
        );
    }

    #[test]
    fn query_syntax_is_stripped_from_matched_terms() {
        let html = "<p>First sentence says nothing at all about the subject here.</p>\
            <p>Second one neither, it is only filler text to push the match out.</p>\
            <p>Finally, Google Cloud and Gemma appear, and so does Nestlé.</p>";
        // "Nestlé" is 7 bytes with a char boundary at 6 missing: once a panic on `title:` check.
        for term in ["\"Google Cloud\"", "gem*", "Nestle", "Nestlé"] {
            let summary = extractive_summary(html, &terms(&[term]), 120);
            assert!(
                summary.contains("Finally, Google Cloud"),
                "{term}: {summary}"
            );
        }
        // As the matcher reads them: `NESTLE` is a name in capitals (it matches `NESTLE`, not
        // "Nestlé"), and a `title:` term matched the title, which the alert shows anyway.
        for term in ["title:Nestle", "NESTLE"] {
            let summary = extractive_summary(html, &terms(&[term]), 120);
            assert!(!summary.contains("Finally"), "{term}: {summary}");
        }
    }

    #[test]
    fn a_name_is_not_chosen_inside_a_lower_case_compound() {
        let html = "<p>The lead sentence is here and is long enough to fill the budget.</p>\
            <p>A meta-analysis came first.</p><p>Later, Meta replied.</p>";
        let summary = extractive_summary(html, &terms(&["Meta"]), 110);
        assert!(summary.contains("Later, Meta replied."), "{summary}");
        assert!(!summary.contains("meta-analysis"), "{summary}");
    }

    #[test]
    fn a_newline_inside_html_text_is_a_space() {
        assert_eq!(html_to_text("<p>Google\n      Cloud</p>"), "Google Cloud");
        assert_eq!(
            html_to_text("Google\n      Cloud &amp; more"),
            "Google Cloud & more"
        );
        assert_eq!(summary_text("<p>Google\n      Cloud</p>"), "Google Cloud");
    }

    #[test]
    fn a_single_hard_wrap_in_plain_text_is_a_space_and_a_blank_line_a_paragraph() {
        assert_eq!(html_to_text("Google\nCloud"), "Google Cloud");
        assert_eq!(html_to_text("Google\n\nCloud"), "Google\nCloud");
        assert_eq!(
            summary_text("Google\nCloud.\n\nNext."),
            "Google Cloud.\nNext."
        );
    }

    #[test]
    fn blocks_and_preformatted_lines_still_break() {
        assert_eq!(html_to_text("<p>Google</p><p>Cloud</p>"), "Google\nCloud");
        assert_eq!(html_to_text("Google<br>Cloud"), "Google\nCloud");
        assert_eq!(html_to_text("<pre>Google\nCloud</pre>"), "Google\nCloud");
    }

    #[test]
    fn the_budget_holds_for_every_length() {
        let long_sentence = "word ".repeat(200);
        let html = format!(
            "{FOUR_PARAGRAPHS}<p>A closing remark about Meta. {long_sentence} Meta again.</p>"
        );
        for max in 0..=320 {
            for matched in [terms(&[]), terms(&["Meta"]), terms(&["Nestle"])] {
                let summary = extractive_summary(&html, &matched, max);
                assert!(
                    summary.chars().count() <= max,
                    "{max} {matched:?}: {summary}"
                );
            }
        }
    }

    #[test]
    fn boilerplate_tails_and_share_bars_are_removed() {
        let html = "<p>Real news here.</p><p>Share this:</p><p>Twitter | Facebook</p>\
            <p>Like this: Like Loading...</p>\
            <p>The post <a href=\"x\">Real news</a> appeared first on <a href=\"y\">Blog</a>.</p>";
        assert_eq!(summary_text(html), "Real news here.");
        assert_eq!(
            summary_text("<p>Story text. <a href=\"/more\">Read more &raquo;</a></p>"),
            "Story text."
        );
        assert_eq!(
            summary_text("A story that the feed cut in the middle of [&#8230;]"),
            "A story that the feed cut in the middle of…"
        );
        assert_eq!(summary_text("A full sentence. [...]"), "A full sentence.");
        assert_eq!(
            summary_text(
                "Queues at the post office grew. This story first appeared on Daily News."
            ),
            "Queues at the post office grew."
        );
        assert_eq!(
            summary_text("Analysts read more into the numbers than usual."),
            "Analysts read more into the numbers than usual."
        );
    }

    #[test]
    fn summary_falls_back_to_content_when_the_description_is_only_boilerplate() {
        let summary = summarize(
            "<p><a href=\"https://blog.example/p\">Continue reading &rarr;</a></p>",
            "<p>The actual text.</p>",
            100,
        );
        assert_eq!(summary, "The actual text.");
    }

    #[test]
    fn twice_escaped_html_and_markdown_leave_no_debris() {
        assert_eq!(
            summary_text("&lt;p&gt;Fish &amp;amp; chips&lt;/p&gt;&lt;p&gt;Two&lt;/p&gt;"),
            "Fish & chips\nTwo"
        );
        assert_eq!(
            summary_text(
                "## Title with **bold**\n![img](https://x/y.png) See [the post](https://x/p)."
            ),
            "Title with bold\nSee the post."
        );
    }

    #[test]
    fn sentences_survive_abbreviations_and_initials() {
        let text = "Mr. Smith met U.S. officials. J. Doe agreed. Then they left!";
        let sentences: Vec<&str> = sentence_spans(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            sentences,
            [
                "Mr. Smith met U.S. officials.",
                "J. Doe agreed.",
                "Then they left!"
            ]
        );
    }

    #[test]
    fn cjk_full_stops_end_sentences() {
        let text = "今日は晴れです。明日は雨が降るでしょう。";
        assert_eq!(truncate_at_boundary(text, 12), "今日は晴れです。");
    }

    #[test]
    fn long_matched_sentence_shows_a_window_around_the_term() {
        let filler = "and then some more words ".repeat(20);
        let html = format!(
            "<p>Lead sentence here.</p><p>It began {filler} until Meta arrived {filler}.</p>"
        );
        let summary = extractive_summary(&html, &terms(&["Meta"]), 120);
        assert!(summary.contains("until Meta arrived"), "{summary}");
        assert!(summary.starts_with("Lead sentence here."), "{summary}");
        assert!(summary.ends_with('…'), "{summary}");
        assert!(summary.chars().count() <= 120);
    }

    /// Feed text is arbitrary: no mix of multi-byte characters, markup fragments and
    /// boilerplate markers may panic or break the budget.
    #[test]
    fn arbitrary_fragments_never_panic_or_overflow() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        const PIECES: &[&str] = &[
            "é",
            "Nestlé",
            "日本語",
            "。",
            ".",
            " ",
            "  ",
            "\n",
            "<p>",
            "</p>",
            "<br>",
            "<a href=x>",
            "</a>",
            "Meta",
            "U.S.",
            "Mr.",
            "…",
            "[…]",
            "[...]",
            "**",
            "[",
            "](",
            ")",
            "![",
            "!",
            "?",
            "&amp;",
            "&lt;p&gt;",
            "Continue reading",
            "Read more",
            "The post ",
            " appeared first on ",
            "🚀",
            "👍🏽",
            "ß",
            "\u{AD}",
            "\u{200B}",
            "title:",
            "\"",
            "*",
            "Share this:",
            "x",
            "<script>",
            "</script>",
            "<img src=/a.png width=1>",
            "A. ",
            "cafe\u{301}",
            "İ",
            "ﬁ",
        ];
        let mut rng = StdRng::seed_from_u64(4);
        let piece = |rng: &mut StdRng, n: usize| -> String {
            (0..n)
                .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
                .collect()
        };
        for _ in 0..1500 {
            let len = rng.gen_range(0..60);
            let html = piece(&mut rng, len);
            let term_len = rng.gen_range(1..4);
            let term = piece(&mut rng, term_len);
            let max = rng.gen_range(0..200);
            let summary = extractive_summary(&html, std::slice::from_ref(&term), max);
            assert!(
                summary.chars().count() <= max,
                "{html:?} {term:?} {max}: {summary:?}"
            );
            let _ = truncate_at_boundary(&html, max);
        }
    }

    /// The whitespace rules as first written (`split_whitespace` per line), kept as the
    /// reference for the one-pass version.
    fn reference_normalize_lines(text: &str) -> String {
        text.lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }

    const AWKWARD_WHITESPACE: &[&str] = &[
        "",
        " ",
        "\n\n",
        "one",
        "  two  words  ",
        "a\tb\u{0B}c\u{0C}d\re",
        "line one\r\nline two\n\n\n  line three  \n",
        "café\u{00A0}crème\u{2003}brûlée\u{3000}終わり",
        "next\u{85}line\u{2028}sep\u{2029}para",
        " \n leading and trailing \n ",
        "single spaces only, already clean.",
        "mixed  \n\t spaces\n\u{200B}zero width stays",
    ];

    #[test]
    fn whitespace_is_squeezed_as_split_whitespace_would() {
        for text in AWKWARD_WHITESPACE {
            assert_eq!(
                normalize_lines(text),
                reference_normalize_lines(text),
                "normalize_lines({text:?})"
            );
            assert_eq!(
                collapse_whitespace(text),
                text.split_whitespace().collect::<Vec<_>>().join(" "),
                "collapse_whitespace({text:?})"
            );
        }
    }

    #[test]
    fn sentence_ends_within_a_limit_are_the_ends_up_to_it() {
        let texts = [
            "First one. Second one!\nThird \"quoted.\" Fourth? no. Mr. Smith said so. 終わり。次",
            "lower. case. after. dots. only",
            "Ends exactly here.",
            "Line\nbreaks\n\nare ends. ",
        ];
        for text in texts {
            for limit in 0..=text.len() + 2 {
                let all: Vec<usize> = sentence_ends(text).take_while(|&e| e <= limit).collect();
                let within: Vec<usize> = sentence_ends_within(text, limit).collect();
                assert_eq!(within, all, "{text:?} up to {limit}");
            }
        }
    }

    #[test]
    fn share_bars_and_tails_are_found_in_any_letter_case() {
        assert!(is_share_bar("SHARE THIS: Twitter | FACEBOOK"));
        assert!(
            is_share_bar("Share · Tweet · Email"),
            "non-ASCII separators"
        );
        assert!(!is_share_bar("Sharepoint news for admins"));
        assert!(!is_share_bar("Émail from the editor"));
        assert_eq!(
            summary_text("<p>Rates rose again. READ MORE »</p>"),
            "Rates rose again."
        );
        assert_eq!(
            summary_text("Rates rose again. The post Rates Rose Appeared First On Daily Bugle."),
            "Rates rose again."
        );
        assert_eq!(
            summary_text("A **bold** claim about [the bank](https://b.example/x) rates"),
            "A bold claim about the bank rates"
        );
        assert_eq!(
            summary_text("# Heading   with  gaps"),
            "Heading with gaps",
            "a heading's text is squeezed after its marks go"
        );
    }
}
