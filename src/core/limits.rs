//! Discord's message limits as named constants, fitting text into them (counted in chars, never
//! bytes), and escaping feed text so Discord renders it literally and it never mentions anyone.

use std::ops::Range;

/// Message `content`.
pub const MESSAGE_CONTENT_MAX: usize = 2000;
/// Embeds in one message.
pub const EMBEDS_PER_MESSAGE_MAX: usize = 10;
/// Embed `title`.
pub const EMBED_TITLE_MAX: usize = 256;
/// Embed `description`.
pub const EMBED_DESCRIPTION_MAX: usize = 4096;
/// Fields in one embed.
pub const EMBED_FIELDS_MAX: usize = 25;
/// Embed field `name`.
pub const EMBED_FIELD_NAME_MAX: usize = 256;
/// Embed field `value`.
pub const EMBED_FIELD_VALUE_MAX: usize = 1024;
/// Embed `footer.text`.
pub const EMBED_FOOTER_TEXT_MAX: usize = 2048;
/// Embed `author.name`.
pub const EMBED_AUTHOR_NAME_MAX: usize = 256;
/// Title + description + field names and values + footer text + author name, summed over
/// every embed of one message.
pub const EMBED_TOTAL_MAX: usize = 6000;
/// Ids in `allowed_mentions.users` (and `.roles`).
pub const ALLOWED_MENTIONS_USERS_MAX: usize = 100;
/// Message `nonce`.
pub const NONCE_MAX: usize = 25;
/// The title in the minimal form of an alert Discord refused (well inside the content limit,
/// leaving room for mentions and the link).
pub const MINIMAL_TITLE_MAX: usize = 200;
/// The link in that minimal form.
pub const MINIMAL_LINK_MAX: usize = 1500;
/// A notice the bot posts about itself (a broken channel): content, with room to spare.
pub const NOTICE_MAX: usize = MESSAGE_CONTENT_MAX - 100;
/// Slash command and option `name`.
pub const COMMAND_NAME_MAX: usize = 32;
/// Slash command and option `description`.
pub const COMMAND_DESCRIPTION_MAX: usize = 100;
/// Choices in one autocomplete answer.
pub const AUTOCOMPLETE_CHOICES_MAX: usize = 25;
/// An autocomplete choice's `name` and `value`.
pub const CHOICE_TEXT_MAX: usize = 100;

/// What marks text that was cut.
const ELLIPSIS: char = '…';
/// Breaks a mention without changing what a reader sees.
const ZERO_WIDTH_SPACE: char = '\u{200B}';

/// Length as Discord counts it: Unicode scalar values.
pub fn char_count(text: &str) -> usize {
    text.chars().count()
}

/// `text` cut to at most `max_chars` chars at a word boundary, ending in "…" when it was cut.
///
/// Unlike `summary::truncate_at_boundary` this never stops silently at a sentence end: a title
/// or field cut there would read as complete, so a cut is always marked. A first word longer
/// than the budget is cut inside the word.
pub fn fit(text: &str, max_chars: usize) -> String {
    if char_count(text) <= max_chars {
        return text.to_string();
    }
    if max_chars == 0 {
        return String::new();
    }
    // Byte index of the first char that no longer fits beside the ellipsis.
    let end = text
        .char_indices()
        .nth(max_chars - 1)
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    let cut = if text[end..].starts_with(char::is_whitespace) {
        end
    } else {
        head.rfind(char::is_whitespace).unwrap_or(end)
    };
    let kept = text[..cut].trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c));
    let kept = if kept.is_empty() {
        head.trim_end()
    } else {
        kept
    };
    format!("{kept}{ELLIPSIS}")
}

/// `render(fit(text, n))` for the largest budget `n` found whose result is at most
/// `max_chars` chars.
///
/// Rendering (escaping, bolding) lengthens text, so fitting the rendered form would cut inside
/// an escape or a `**` pair; fitting the plain text and searching for the budget whose rendered
/// form fits never does. Returns "" when even `render("")` is too long.
pub fn fit_rendered(text: &str, max_chars: usize, render: impl Fn(&str) -> String) -> String {
    let attempt = |budget: usize| {
        let plain = fit(text, budget);
        let rendered = render(&plain);
        (plain, rendered)
    };
    let mut budget = max_chars;
    // Largest budget known not to fit.
    let mut too_long = max_chars;
    let (mut fits_at, mut best) = loop {
        let (plain, rendered) = attempt(budget);
        let len = char_count(&rendered);
        if len <= max_chars {
            if budget == max_chars {
                return rendered;
            }
            break (budget, rendered);
        }
        too_long = budget;
        if budget == 0 {
            return String::new();
        }
        // Rendering never shortens text, so the plain text must lose at least the overflow.
        budget = char_count(&plain)
            .min(budget)
            .saturating_sub(len - max_chars);
    };
    // The shrink overshoots where escapes are dense: search the gap for a longer fit.
    while too_long - fits_at > 1 {
        let mid = fits_at + (too_long - fits_at) / 2;
        let (_, rendered) = attempt(mid);
        if char_count(&rendered) <= max_chars {
            fits_at = mid;
            best = rendered;
        } else {
            too_long = mid;
        }
    }
    best
}

/// Feed text made safe for Discord markdown: it renders literally and mentions nobody.
///
/// Markdown characters get a backslash (`#`, `>`, `-` and `1.` only at the start of a line,
/// where they would format); `@everyone`/`@here` and every `<…>` tag (`<@1>`, `<@&1>`, `<#1>`,
/// `</cmd:1>`, `<t:1>`) get a zero-width space so they never resolve; masked links
/// `[text](url)` lose their brackets. `http(s)://` links are left as they are, because a
/// backslash inside one breaks the link and Discord does not read markdown inside it.
pub fn escape_markdown(text: &str) -> String {
    escape_with_bold(text, &[])
}

/// [`escape_markdown`] that also wraps each byte range of `text` in `bold` in `**`.
///
/// `bold` must be sorted, non-overlapping, on char boundaries, and outside `http(s)` links.
/// Escaping and bolding happen in one pass so the escaping sees the whole text (a mention is
/// broken even when a bolded word splits it).
pub(crate) fn escape_with_bold(text: &str, bold: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8 + 4 * bold.len());
    let mut spans = bold.iter().peekable();
    let mut in_bold = false;
    let mut line_start = true;
    let mut link_end = 0;
    // Index of a '.' that would make a line an ordered list ("1. item").
    let mut list_dot = None;
    for (i, c) in text.char_indices() {
        if in_bold && spans.peek().is_some_and(|s| s.end == i) {
            out.push_str("**");
            in_bold = false;
            spans.next();
        }
        if !in_bold && spans.peek().is_some_and(|s| s.start == i && s.end > i) {
            out.push_str("**");
            in_bold = true;
        }
        if i < link_end {
            out.push(c);
            continue;
        }
        if link_starts_at(text, i) {
            link_end = i + text[i..]
                .find(|c: char| c.is_whitespace() || c == '<')
                .unwrap_or(text.len() - i);
            line_start = false;
            out.push(c);
            continue;
        }
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '>' | '-' if line_start => {
                out.push('\\');
                out.push(c);
            }
            '.' if list_dot == Some(i) => out.push_str("\\."),
            '@' => {
                out.push('@');
                let rest = &text[i + 1..];
                if starts_with_ignore_ascii_case(rest, "everyone")
                    || starts_with_ignore_ascii_case(rest, "here")
                {
                    out.push(ZERO_WIDTH_SPACE);
                }
            }
            '<' => {
                out.push('<');
                if text[i + 1..].starts_with(|n: char| !n.is_whitespace()) {
                    out.push(ZERO_WIDTH_SPACE);
                }
            }
            _ => {
                if line_start && c.is_ascii_digit() {
                    let digits_end = text[i..]
                        .find(|d: char| !d.is_ascii_digit())
                        .map_or(text.len(), |n| i + n);
                    let after = &text[digits_end..];
                    if after.starts_with('.')
                        && (after.len() == 1 || after[1..].starts_with(char::is_whitespace))
                    {
                        list_dot = Some(digits_end);
                    }
                }
                out.push(c);
            }
        }
        if c == '\n' {
            line_start = true;
        } else if c != ' ' && c != '\t' {
            line_start = false;
        }
    }
    if in_bold {
        out.push_str("**");
    }
    out
}

/// Whether an `http://` or `https://` link starts at byte `i` (and not inside a word).
fn link_starts_at(text: &str, i: usize) -> bool {
    let rest = &text[i..];
    let is_link = starts_with_ignore_ascii_case(rest, "http://")
        || starts_with_ignore_ascii_case(rest, "https://");
    is_link && !text[..i].ends_with(char::is_alphanumeric)
}

fn starts_with_ignore_ascii_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZW: &str = "\u{200B}";

    #[test]
    fn fit_keeps_text_of_exactly_n_chars() {
        let text = "a".repeat(256);
        assert_eq!(fit(&text, 256), text);
    }

    #[test]
    fn fit_cuts_text_of_n_plus_one_chars_and_marks_the_cut() {
        let text = "a ".repeat(128) + "b"; // 257 chars
        let cut = fit(&text, 256);
        assert!(char_count(&cut) <= 256, "{}", char_count(&cut));
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn fit_cuts_at_a_word_boundary() {
        assert_eq!(fit("alpha beta gamma delta", 14), "alpha beta…");
        assert_eq!(fit("alpha beta, gamma", 13), "alpha beta…");
    }

    #[test]
    fn fit_cuts_inside_a_word_only_when_the_first_word_is_too_long() {
        assert_eq!(fit("Supercalifragilistic rest", 6), "Super…");
    }

    #[test]
    fn fit_marks_a_cut_even_at_a_sentence_end() {
        let cut = fit("First sentence here. Second sentence is longer.", 30);
        assert_eq!(cut, "First sentence here. Second…");
    }

    #[test]
    fn fit_counts_chars_not_bytes() {
        // 4 bytes each: a byte count would cut these at 64.
        let emoji = "🦀".repeat(256);
        assert_eq!(fit(&emoji, 256), emoji);
        let emoji = "🦀".repeat(257);
        let cut = fit(&emoji, 256);
        assert_eq!(char_count(&cut), 256);
        assert!(cut.ends_with('…'));

        let cjk = "東京都".repeat(100); // 300 chars, 900 bytes
        let cut = fit(&cjk, 256);
        assert_eq!(char_count(&cut), 256);
    }

    #[test]
    fn fit_to_zero_is_empty() {
        assert_eq!(fit("anything", 0), "");
    }

    #[test]
    fn fit_rendered_keeps_escaped_text_of_exactly_n_chars() {
        // 100 plain chars escape to 200.
        let text = "*".repeat(100);
        assert_eq!(fit_rendered(&text, 200, escape_markdown), "\\*".repeat(100));
    }

    #[test]
    fn fit_rendered_never_exceeds_n_and_never_splits_an_escape() {
        let text = "*".repeat(101); // escapes to 202 chars
        let fitted = fit_rendered(&text, 200, escape_markdown);
        assert!(char_count(&fitted) <= 200, "{}", char_count(&fitted));
        assert_eq!(fitted, format!("{}…", "\\*".repeat(99)));

        let words = "a_b ".repeat(300);
        let fitted = fit_rendered(&words, 1024, escape_markdown);
        assert!(char_count(&fitted) <= 1024);
        assert!(fitted.ends_with("a\\_b…"), "{fitted}");
    }

    #[test]
    fn markdown_characters_render_literally() {
        assert_eq!(
            escape_markdown(r"**bold** _it_ ~~s~~ `c` ||spoiler|| a\b"),
            r"\*\*bold\*\* \_it\_ \~\~s\~\~ \`c\` \|\|spoiler\|\| a\\b"
        );
    }

    #[test]
    fn masked_links_do_not_render_as_links() {
        assert_eq!(
            escape_markdown("[click](https://evil.example)"),
            r"\[click\]\(https://evil.example)"
        );
    }

    #[test]
    fn line_start_markdown_is_escaped_only_at_line_start() {
        assert_eq!(escape_markdown("# Head"), r"\# Head");
        assert_eq!(escape_markdown("> quote"), r"\> quote");
        assert_eq!(escape_markdown("- item"), r"\- item");
        assert_eq!(escape_markdown("-# small"), r"\-# small");
        assert_eq!(
            escape_markdown("1. first\n  2. second"),
            "1\\. first\n  2\\. second"
        );
        assert_eq!(
            escape_markdown("Meta-owned #1 pick > rivals, 33.7 million"),
            "Meta-owned #1 pick > rivals, 33.7 million"
        );
    }

    #[test]
    fn everyone_and_here_never_resolve() {
        assert_eq!(escape_markdown("@everyone hi"), format!("@{ZW}everyone hi"));
        assert_eq!(escape_markdown("to @here."), format!("to @{ZW}here."));
        assert_eq!(escape_markdown("mail a@b.c"), "mail a@b.c");
    }

    #[test]
    fn user_role_channel_command_and_timestamp_tags_never_resolve() {
        for tag in [
            "<@123>", "<@!123>", "<@&123>", "<#123>", "</cmd:1>", "<t:1:R>",
        ] {
            let escaped = escape_markdown(tag);
            assert_eq!(escaped, format!("<{ZW}{}", &tag[1..]), "{tag}");
        }
        assert_eq!(escape_markdown("a < b"), "a < b");
    }

    #[test]
    fn links_are_left_intact() {
        assert_eq!(
            escape_markdown("see https://example.com/a_b_(c) now_"),
            r"see https://example.com/a_b_(c) now\_"
        );
    }

    #[test]
    fn bold_ranges_wrap_text_and_escape_around_them() {
        let text = "*Meta’s* deal";
        let start = text.find('M').unwrap();
        let escaped = escape_with_bold(text, std::slice::from_ref(&(start..start + 4)));
        assert_eq!(escaped, "\\***Meta**’s\\* deal");
        let two = [0..3, 4..8];
        assert_eq!(escape_with_bold("end Meta", &two), "**end** **Meta**");
    }
}
