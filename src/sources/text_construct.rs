//! Atom text constructs (`title`, `subtitle`, `summary`, `rights`, `content`) whose `type` or
//! `mode` feed-rs refuses: what the clean-up pass rewrites them to, and base64 decoding.
//!
//! feed-rs 3.0.0 accepts exactly `text`, `html`, `text/html` and `xhtml` on a text construct and
//! fails the *whole feed* on anything else (`type="text/plain"`, `type="TEXT"`, `type=""`, a
//! MIME type). feedparser reads them all: unknown types are text, and a MIME type that is not
//! text or XML means the body is base64 (RFC 4287 §4.1.3.3; Atom 0.3 says `mode="base64"`).

/// What the clean-up pass does with one text construct's attributes and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextRewrite {
    /// Leave it as it is: feed-rs reads it.
    Keep,
    /// Set `type` to one of feed-rs's three (`text`, `html`, `xhtml`) and drop `mode`.
    Type(&'static str),
    /// The body is base64: decode it, write it escaped, set `type` to this and drop `mode`.
    Base64(&'static str),
}

/// Decides how to rewrite a text construct from its `type` and `mode` attributes.
///
/// A `<content src>` is not passed here: it has no body (see [`src_content_type_is_valid`]).
pub(crate) fn rewrite(type_attr: Option<&str>, mode: Option<&str>) -> TextRewrite {
    let mime = type_attr.map(|t| t.trim().to_ascii_lowercase());
    let mode = mode.map(|m| m.trim().to_ascii_lowercase());
    match mode.as_deref() {
        Some("base64") => return TextRewrite::Base64(decoded_kind(mime.as_deref())),
        // Atom 0.3: `mode="escaped"` without a type is escaped HTML; `mode="xml"` is markup.
        Some("escaped") if mime.is_none() => return TextRewrite::Type("html"),
        Some("xml") => return TextRewrite::Type("xhtml"),
        _ => {}
    }
    let Some(mime) = mime else {
        // No type: feed-rs reads it as text (a stray `mode` attribute is ignored).
        return TextRewrite::Keep;
    };
    let wanted = match mime.as_str() {
        "" | "text" | "plain" | "text/plain" => "text",
        "html" | "text/html" => "html",
        "xhtml" | "application/xhtml+xml" => "xhtml",
        // feed-rs means to read XML content as it is, but then refuses its type.
        m if m.ends_with("+xml") || m.ends_with("/xml") => "xhtml",
        m if m.starts_with("text/") => "text",
        m if is_mime_type(m) => return TextRewrite::Base64("text"),
        // Not a type at all (`type="TEXT/PLAIN "` is handled above): read it as text.
        _ => "text",
    };
    if type_attr == Some(wanted) {
        TextRewrite::Keep
    } else {
        TextRewrite::Type(wanted)
    }
}

/// The `type` a decoded base64 body gets: HTML stays HTML, anything else is text.
fn decoded_kind(mime: Option<&str>) -> &'static str {
    match mime {
        Some("html" | "text/html" | "xhtml" | "application/xhtml+xml") => "html",
        _ => "text",
    }
}

/// Whether feed-rs accepts `type` on a `<content src>`: only a MIME type (it refuses the
/// feed on `type="html"`; without a type it assumes HTML).
pub(crate) fn src_content_type_is_valid(type_attr: &str) -> bool {
    is_mime_type(type_attr.trim())
}

/// `type/subtype` with a token on each side.
fn is_mime_type(text: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let essence = text.split(';').next().unwrap_or_default().trim();
    essence
        .split_once('/')
        .is_some_and(|(ty, sub)| token(ty) && token(sub))
}

/// Decodes base64 (standard or URL-safe alphabet; whitespace ignored; padding optional).
/// `None` if `text` holds anything else, or ends in the middle of a byte.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0_u32;
    let mut padded = false;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padded = true;
                continue;
            }
            b if b.is_ascii_whitespace() => continue,
            _ => return None,
        };
        if padded {
            return None; // data after the padding
        }
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    // 6 leftover bits cannot be a whole byte: one character too many (or too few).
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_rs_types_are_kept() {
        for t in ["text", "html", "xhtml"] {
            assert_eq!(rewrite(Some(t), None), TextRewrite::Keep, "{t}");
        }
        assert_eq!(rewrite(None, None), TextRewrite::Keep);
    }

    #[test]
    fn mime_and_odd_spellings_of_the_three_types_are_normalised() {
        assert_eq!(rewrite(Some("text/plain"), None), TextRewrite::Type("text"));
        assert_eq!(rewrite(Some("TEXT"), None), TextRewrite::Type("text"));
        assert_eq!(rewrite(Some(" Html "), None), TextRewrite::Type("html"));
        assert_eq!(rewrite(Some("text/html"), None), TextRewrite::Type("html"));
        assert_eq!(
            rewrite(Some("application/xhtml+xml"), None),
            TextRewrite::Type("xhtml")
        );
        assert_eq!(rewrite(Some(""), None), TextRewrite::Type("text"));
    }

    #[test]
    fn unknown_types_are_text() {
        assert_eq!(rewrite(Some("text/css"), None), TextRewrite::Type("text"));
        assert_eq!(rewrite(Some("bogus"), None), TextRewrite::Type("text"));
    }

    #[test]
    fn binary_mime_types_and_base64_mode_mean_a_base64_body() {
        assert_eq!(
            rewrite(Some("application/octet-stream"), None),
            TextRewrite::Base64("text")
        );
        assert_eq!(
            rewrite(Some("text/html"), Some("base64")),
            TextRewrite::Base64("html")
        );
        assert_eq!(rewrite(None, Some("BASE64")), TextRewrite::Base64("text"));
    }

    #[test]
    fn atom03_modes_map_to_atom10_types() {
        assert_eq!(rewrite(None, Some("escaped")), TextRewrite::Type("html"));
        assert_eq!(
            rewrite(Some("text/plain"), Some("escaped")),
            TextRewrite::Type("text")
        );
        assert_eq!(
            rewrite(Some("application/xhtml+xml"), Some("xml")),
            TextRewrite::Type("xhtml")
        );
    }

    #[test]
    fn xml_types_are_xhtml() {
        assert_eq!(rewrite(Some("text/xml"), None), TextRewrite::Type("xhtml"));
        assert_eq!(
            rewrite(Some("application/atom+xml"), None),
            TextRewrite::Type("xhtml")
        );
    }

    #[test]
    fn src_content_keeps_only_a_mime_type() {
        assert!(src_content_type_is_valid("image/png"));
        assert!(!src_content_type_is_valid("html"));
    }

    #[test]
    fn base64_decodes_with_whitespace_and_either_alphabet() {
        assert_eq!(
            decode_base64("\n    RXhhbXBsZSA8Yj5BdG9tPC9iPg==\n  ").as_deref(),
            Some(&b"Example <b>Atom</b>"[..])
        );
        assert_eq!(decode_base64("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(decode_base64("YQ").as_deref(), Some(&b"a"[..]));
    }

    #[test]
    fn text_that_is_not_base64_is_refused() {
        assert_eq!(decode_base64("Example Atom!"), None);
        assert_eq!(decode_base64("YQ==YQ"), None);
        assert_eq!(decode_base64("Y"), None);
    }
}
