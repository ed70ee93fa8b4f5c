//! HTML to plain text, and short summaries cut at a sentence or word boundary.

use scraper::{ElementRef, Html, Node};

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
/// Block elements become line breaks; runs of spaces collapse to one; lines are trimmed and
/// empty lines dropped, so the result has one paragraph per line.
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return normalize_lines(html);
    }
    let fragment = Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len());
    walk(fragment.root_element(), &mut out);
    normalize_lines(&out)
}

fn walk(element: ElementRef<'_>, out: &mut String) {
    for child in element.children() {
        match child.value() {
            Node::Text(text) => out.push_str(text),
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
                    walk(child_ref, out);
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
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut first = true;
        for word in line.split_whitespace() {
            if first {
                if !out.is_empty() {
                    out.push('\n');
                }
                first = false;
            } else {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// All whitespace (including line breaks) collapsed to single spaces.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cuts `text` to at most `max_chars` characters (Unicode scalar values).
///
/// Prefers the end of a sentence in the second half of the budget; otherwise cuts at the last
/// word boundary and appends "…"; never cuts inside a word unless the first word alone is longer
/// than the budget.
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

    // A sentence end followed by a space, in the second half of the budget.
    let half = head.len() / 2;
    let sentence_end = head
        .char_indices()
        .filter(|&(i, c)| {
            matches!(c, '.' | '!' | '?' | '。')
                && i >= half
                && text[i + c.len_utf8()..].starts_with(char::is_whitespace)
        })
        .map(|(i, c)| i + c.len_utf8())
        .next_back();
    if let Some(cut) = sentence_end {
        return text[..cut].to_string();
    }
    let next_is_space = text[end..].starts_with(char::is_whitespace);
    let cut = if next_is_space {
        end
    } else {
        head.rfind(char::is_whitespace).unwrap_or(end)
    };
    let kept = text[..cut].trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c));
    let kept = if kept.is_empty() { head } else { kept };
    format!("{kept}…")
}

/// The plain-text summary of an item: its description (or content when the description is
/// empty) as text, on one line, cut to `max_chars`.
pub fn summarize(summary_html: &str, content_html: &str, max_chars: usize) -> String {
    let mut text = collapse_whitespace(&html_to_text(summary_html));
    if text.is_empty() {
        text = collapse_whitespace(&html_to_text(content_html));
    }
    truncate_at_boundary(&text, max_chars)
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
}
