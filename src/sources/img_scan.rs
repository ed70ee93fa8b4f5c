//! The `<img>` tags of an HTML fragment in document order, without building a DOM — or the
//! admission that this fragment needs one.
//!
//! A feed item's thumbnail falls back to the first `<img src>` of its HTML. Parsing every
//! summary with html5ever and scraper just for that was a quarter of the time `parse_feed`
//! spent on an Atom feed (callgrind, issue 16), and most summaries are plain paragraphs,
//! links and images. [`img_tags`] reads such fragments by the HTML tokenizer's rules and gives
//! up — [`Unsure`] — on anything where html5ever's tree builder could see the tags
//! differently than a plain left-to-right reading: elements whose content is not markup
//! (`script`, `textarea`, `title`...), tables (foster parenting moves elements), `select`
//! (which drops `img`), SVG / MathML, `<image>` (renamed to `img`), comments and other
//! declarations, unquoted attribute values, and image attributes holding character
//! references. The caller then parses the fragment as before, so the answer is always
//! html5ever's.

/// The fragment holds something [`img_tags`] does not read the way html5ever would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsure;

/// The attributes of one `<img>` that the thumbnail choice reads, as html5ever would report
/// them (the first of duplicated attributes wins, as in its tokenizer).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ImgTag<'a> {
    pub src: Option<&'a str>,
    pub width: Option<&'a str>,
    pub height: Option<&'a str>,
}

/// Elements after which a left-to-right reading of the tags may not be html5ever's tree.
const UNSURE_ELEMENTS: &[&str] = &[
    // Content that is text, not markup (RAWTEXT / RCDATA / PLAINTEXT, or script data).
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext", // Foreign content.
    "svg",
    "math", // Tables: foster parenting moves misplaced elements before the table.
    "table",
    "caption",
    "colgroup",
    "col",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "td",
    "th",
    // Dropped or rewritten start tags, and the document-level ones.
    "select",
    "option",
    "optgroup",
    "image",
    "isindex",
    "template",
    "frameset",
    "frame",
    "html",
    "head",
    "body",
];

/// Every `<img>` start tag of `html` in document order, or [`Unsure`].
pub(crate) fn img_tags(html: &str) -> Result<Vec<ImgTag<'_>>, Unsure> {
    let bytes = html.as_bytes();
    let mut images = Vec::new();
    let mut i = 0;
    // `str::find(char)` is a `memchr`: most of a fragment is text between tags. `i` is always
    // just past an ASCII byte, so a character boundary.
    while let Some(offset) = html[i..].find('<') {
        let at = i + offset;
        i = match bytes.get(at + 1) {
            Some(b) if b.is_ascii_alphabetic() => {
                let (tag, end) = start_tag(html, at + 1)?;
                if let Some(tag) = tag {
                    images.push(tag);
                }
                end
            }
            Some(b'/') => end_tag(html, at + 2)?,
            // `<!--`, `<!DOCTYPE`, `<?`: comments and bogus comments.
            Some(b'!' | b'?') | None => return Err(Unsure),
            // Any other `<` is text ("a < b").
            Some(_) => at + 1,
        };
    }
    Ok(images)
}

/// HTML's whitespace (a CR is read as a line feed).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0C)
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).copied().is_some_and(is_space) {
        i += 1;
    }
    i
}

/// Length of the tag or attribute name at `i`, in the plain ASCII form read here.
fn name_len(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
        .count()
}

/// Whether a left-to-right reading stops being trustworthy at this element.
fn is_unsure_element(name: &str) -> bool {
    UNSURE_ELEMENTS
        .iter()
        .any(|unsure| unsure.eq_ignore_ascii_case(name))
}

/// Reads the start tag whose name starts at `i`: an [`ImgTag`] for `<img>`, and the index
/// just past the tag.
fn start_tag(html: &str, i: usize) -> Result<(Option<ImgTag<'_>>, usize), Unsure> {
    let bytes = html.as_bytes();
    let len = name_len(bytes, i);
    let name = &html[i..i + len];
    if is_unsure_element(name) {
        return Err(Unsure);
    }
    let is_img = name.eq_ignore_ascii_case("img");
    let mut tag = ImgTag::default();
    let mut j = i + len;
    // The name must end where the tokenizer ends it, or the name is not what we read.
    if !bytes
        .get(j)
        .copied()
        .is_some_and(|b| is_space(b) || b == b'/' || b == b'>')
    {
        return Err(Unsure);
    }
    loop {
        j = skip_spaces(bytes, j);
        match bytes.get(j) {
            Some(b'>') => return Ok((is_img.then_some(tag), j + 1)),
            Some(b'/') if bytes.get(j + 1) == Some(&b'>') => {
                return Ok((is_img.then_some(tag), j + 2))
            }
            Some(_) => {}
            // Cut off inside the tag: the tokenizer drops it.
            None => return Err(Unsure),
        }
        let (attribute, value, end) = attribute(html, j)?;
        j = end;
        if is_img {
            record(&mut tag, attribute, value)?;
        }
    }
}

/// Reads the attribute at `i`: its name, its value (empty when it has none) and the index
/// just past it.
fn attribute(html: &str, i: usize) -> Result<(&str, &str, usize), Unsure> {
    let bytes = html.as_bytes();
    let len = name_len(bytes, i);
    if len == 0 {
        return Err(Unsure);
    }
    let name = &html[i..i + len];
    let after_name = i + len;
    if !bytes
        .get(after_name)
        .copied()
        .is_some_and(|b| is_space(b) || matches!(b, b'/' | b'>' | b'='))
    {
        return Err(Unsure);
    }
    let j = skip_spaces(bytes, after_name);
    if bytes.get(j) != Some(&b'=') {
        // An attribute without a value (`hidden`): what follows is the next one.
        return Ok((name, "", after_name));
    }
    let j = skip_spaces(bytes, j + 1);
    // Unquoted values end on different characters than quoted ones: not read here.
    let Some(&quote @ (b'"' | b'\'')) = bytes.get(j) else {
        return Err(Unsure);
    };
    let value_len = bytes[j + 1..]
        .iter()
        .position(|&b| b == quote)
        .ok_or(Unsure)?;
    let value = &html[j + 1..j + 1 + value_len];
    Ok((name, value, j + 1 + value_len + 1))
}

/// Keeps the first `src`, `width` and `height` of an `<img>`; a value the tokenizer would
/// change (character references, NUL) makes the answer [`Unsure`].
fn record<'a>(tag: &mut ImgTag<'a>, name: &str, value: &'a str) -> Result<(), Unsure> {
    let slot = if name.eq_ignore_ascii_case("src") {
        &mut tag.src
    } else if name.eq_ignore_ascii_case("width") {
        &mut tag.width
    } else if name.eq_ignore_ascii_case("height") {
        &mut tag.height
    } else {
        return Ok(());
    };
    if slot.is_none() {
        if value.contains(['&', '\0']) {
            return Err(Unsure);
        }
        *slot = Some(value);
    }
    Ok(())
}

/// Reads the end tag whose name starts at `i` (just after `</`); returns the index past it.
fn end_tag(html: &str, i: usize) -> Result<usize, Unsure> {
    let bytes = html.as_bytes();
    if !bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
        // `</>` is dropped and `</3` is a bogus comment.
        return Err(Unsure);
    }
    let len = name_len(bytes, i);
    if is_unsure_element(&html[i..i + len]) {
        return Err(Unsure);
    }
    let j = skip_spaces(bytes, i + len);
    match bytes.get(j) {
        Some(b'>') => Ok(j + 1),
        // End tags with attributes or `/`, or cut off: not read here.
        _ => Err(Unsure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srcs(html: &str) -> Result<Vec<Option<&str>>, Unsure> {
        img_tags(html).map(|tags| tags.into_iter().map(|t| t.src).collect())
    }

    #[test]
    fn images_are_read_in_order_with_their_first_attributes() {
        let html = "<p>One &amp; <a href=\"/x\">two</a></p><p><IMG SRC='a.jpg' src=\"b.jpg\" \
                    width=\"1\" hidden height = '2'/>text < more <img src=\"c.png\"></p>";
        let tags = img_tags(html).expect("plain HTML is read");
        assert_eq!(
            tags,
            [
                ImgTag {
                    src: Some("a.jpg"),
                    width: Some("1"),
                    height: Some("2"),
                },
                ImgTag {
                    src: Some("c.png"),
                    ..ImgTag::default()
                },
            ]
        );
    }

    #[test]
    fn markup_html5ever_could_read_differently_is_unsure() {
        for html in [
            "<script>'<img src=a>'</script>",
            "<TEXTAREA><img src=a></textarea>",
            "<!-- <img src=\"a\"> -->",
            "<table><tr><td><img src=\"a\"></td></tr><img src=\"b\"></table>",
            "<select><img src=\"a\"></select>",
            "<image src=\"a\">",
            "<svg><img src=\"a\"></svg>",
            "<img src=a>",
            "<img src=\"a&amp;b\">",
            "<img src=\"a\"",
            "</p class=\"x\">",
            "<?php ?>",
        ] {
            assert_eq!(img_tags(html), Err(Unsure), "{html}");
        }
    }

    #[test]
    fn attribute_values_may_hold_markup_characters() {
        assert_eq!(
            srcs("<a title=\"a > b\" href='&x'><img src=\"x.jpg\" alt=\"<3\"></a>"),
            Ok(vec![Some("x.jpg")])
        );
        assert_eq!(srcs("no images, 1 < 2"), Ok(vec![]));
    }
}
