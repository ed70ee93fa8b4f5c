//! The forgiving pre-pass before feed-rs: raw bytes to UTF-8, XML repairs (illegal characters,
//! bare `&`, HTML entities, missing RSS version, Atom 0.3) and JSON Feed repairs.
//!
//! feed-rs is strict; real feeds are not. Everything here is a pure function over text, one
//! linear pass each (no regex, no backtracking), so a 2 MB feed costs a few milliseconds.

use std::borrow::Cow;
use std::fmt::Write as _;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};
use serde_json::{Map, Value};

use crate::sources::text_construct::{self, TextRewrite};

/// The Atom 0.3 namespace, which feed-rs does not know (it then finds no entries).
const ATOM03_NS: &str = "http://purl.org/atom/ns#";
/// The Atom 1.0 namespace we rewrite Atom 0.3 to.
const ATOM10_NS: &str = "http://www.w3.org/2005/Atom";
/// RSS 0.90's namespace, which feed-rs does not know; RSS 1.0's, which it reads the same way.
const RSS090_NS: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS10_NS: &str = "http://purl.org/rss/1.0/";
/// Namespaces some RSS 2.0 feeds put their elements in; feed-rs then sees none of them.
const RSS2_NAMESPACES: [&str; 3] = [
    "http://backend.userland.com/rss2",
    "http://backend.userland.com/rss",
    "http://blogs.law.harvard.edu/tech/rss",
];
/// The five entities XML itself defines; everything else must be declared or numeric.
const XML_ENTITIES: [&str; 5] = ["amp", "lt", "gt", "quot", "apos"];
/// The link the clean-up pass gives an RSS 1.0 item that has none, so that feed-rs keeps the
/// item: not http(s), so the item's link stays empty.
pub(crate) const RDF_NO_LINK: &str = "about:blank";
/// Longest HTML5 entity name is 31 characters ("CounterClockwiseContourIntegral").
const MAX_ENTITY_NAME: usize = 32;
/// How far into the document an XML declaration is looked for.
const DECL_WINDOW: usize = 512;

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Decodes a feed document to UTF-8, whatever it was sent as.
///
/// The encoding is taken from, in order: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE;
/// UTF-16 and UTF-32 without a BOM are recognised from their zero bytes), the XML declaration's
/// `encoding`, `http_charset` (the `charset` of the HTTP `Content-Type`). Without any of these,
/// valid UTF-8 is kept as is and bytes that are not valid UTF-8 are read as Windows-1252, one by
/// one — this covers both feeds that say UTF-8 but contain cp1252 "smart quotes" and legacy
/// feeds with no declaration.
/// A legacy label on a document that is in fact valid, non-ASCII UTF-8 is not believed.
///
/// The XML declaration's `encoding` is rewritten to `UTF-8` so the XML parser does not decode a
/// second time; a leading BOM is dropped.
pub fn to_utf8(bytes: &[u8], http_charset: Option<&str>) -> String {
    let mut text = decode(bytes, http_charset);
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    if let Some(range) = declared_encoding_range(text.as_bytes()) {
        if !text[range.clone()].eq_ignore_ascii_case("utf-8") {
            text.replace_range(range, "UTF-8");
        }
    }
    text
}

fn decode(bytes: &[u8], http_charset: Option<&str>) -> String {
    // UTF-32 first: its little-endian BOM starts with UTF-16's, and an ASCII first character
    // leaves three zero bytes beside it. encoding_rs (the WHATWG set) has no UTF-32 decoder.
    match bytes {
        [0, 0, 0xFE, 0xFF, rest @ ..] => return decode_utf32(rest, u32::from_be_bytes),
        [0xFF, 0xFE, 0, 0, rest @ ..] => return decode_utf32(rest, u32::from_le_bytes),
        [first, 0, 0, 0, ..] if *first != 0 => return decode_utf32(bytes, u32::from_le_bytes),
        [0, 0, 0, last, ..] if *last != 0 => return decode_utf32(bytes, u32::from_be_bytes),
        _ => {}
    }
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return decode_as(encoding, &bytes[bom_len..]);
    }
    // UTF-16 with no BOM: an ASCII first character leaves a zero byte beside it.
    match bytes {
        [first, 0, ..] if *first != 0 => return decode_as(UTF_16LE, bytes),
        [0, second, ..] if *second != 0 => return decode_as(UTF_16BE, bytes),
        _ => {}
    }
    let declared = declared_encoding_range(bytes)
        .and_then(|range| Encoding::for_label_no_replacement(&bytes[range]));
    let from_http =
        http_charset.and_then(|label| Encoding::for_label_no_replacement(label.trim().as_bytes()));
    match declared.or(from_http) {
        // The bytes are ASCII-compatible (we just read a declaration, or there is no zero
        // byte), so a UTF-16 label is wrong: read them as UTF-8. (A UTF-32 label is not one
        // encoding_rs knows, so it lands in the last arm, which does the same.)
        Some(encoding) if encoding == UTF_16LE || encoding == UTF_16BE => {
            decode_utf8_lenient(bytes)
        }
        Some(encoding) if encoding != UTF_8 && !is_non_ascii_utf8(bytes) => {
            decode_as(encoding, bytes)
        }
        _ => decode_utf8_lenient(bytes),
    }
}

fn decode_as(encoding: &'static Encoding, bytes: &[u8]) -> String {
    if encoding == UTF_8 {
        decode_utf8_lenient(bytes)
    } else {
        encoding.decode_without_bom_handling(bytes).0.into_owned()
    }
}

/// UTF-32 code units (4 bytes each, in the byte order `unit` reads); a unit that is not a
/// Unicode scalar value, or a cut-off last unit, becomes U+FFFD.
fn decode_utf32(bytes: &[u8], unit: fn([u8; 4]) -> u32) -> String {
    let chunks = bytes.chunks_exact(4);
    let cut_off = !chunks.remainder().is_empty();
    let mut out: String = chunks
        .map(|chunk| {
            <[u8; 4]>::try_from(chunk)
                .ok()
                .and_then(|b| char::from_u32(unit(b)))
                .unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect();
    if cut_off {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    out
}

/// Valid UTF-8 that is not plain ASCII: a legacy encoding label on such bytes is a lie (the
/// odds of Latin-1 text forming only valid UTF-8 multi-byte sequences are negligible).
fn is_non_ascii_utf8(bytes: &[u8]) -> bool {
    !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok()
}

/// UTF-8, except that each byte that is not part of a valid sequence is read as Windows-1252.
fn decode_utf8_lenient(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(error) => {
                let (valid, after) = rest.split_at(error.valid_up_to());
                // `valid_up_to` guarantees this prefix is UTF-8.
                if let Ok(valid) = std::str::from_utf8(valid) {
                    out.push_str(valid);
                }
                let bad_len = error.error_len().unwrap_or(after.len());
                for byte in &after[..bad_len] {
                    out.push_str(&WINDOWS_1252.decode_without_bom_handling(&[*byte]).0);
                }
                rest = &after[bad_len..];
            }
        }
    }
}

/// Byte range of the `encoding` value in a leading `<?xml ... ?>` declaration.
fn declared_encoding_range(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let window = &bytes[start..bytes.len().min(start + DECL_WINDOW)];
    if !window.starts_with(b"<?xml") {
        return None;
    }
    let decl = &window[..find_bytes(window, b"?>")?];
    let mut i = find_bytes(decl, b"encoding")? + b"encoding".len();
    while decl.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if decl.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while decl.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let quote = *decl.get(i).filter(|q| matches!(q, b'"' | b'\''))?;
    let value_start = i + 1;
    let value_len = decl[value_start..].iter().position(|&b| b == quote)?;
    Some(start + value_start..start + value_start + value_len)
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// XML repairs
// ---------------------------------------------------------------------------------------------

/// Repairs the ways real feeds break strict XML parsers, in one linear pass.
///
/// - characters illegal in XML 1.0 (control characters other than tab, LF, CR; U+FFFE/U+FFFF)
///   and numeric references to them are dropped;
/// - a bare `&` (`AT&T`, `?a=1&b=2`) becomes `&amp;`, in text and attribute values;
/// - HTML named entities (`&eacute;`, `&nbsp;`, all of HTML5's) become numeric references;
///   the five XML entities and numeric references are left alone;
/// - a `<` that cannot start markup (`a < b`) becomes `&lt;`; unquoted attribute values are
///   quoted; an `xml:base` that is not a URL (feed-rs fails the feed on one) is dropped;
/// - `<rss>` without a known `version` gets `version="2.0"`, items directly under `<rss>` get
///   the `<channel>` around them that feed-rs needs (an empty `<rss/>` is an empty channel),
///   and the Userland / Harvard RSS 2.0 namespaces (which hide every element from feed-rs)
///   are dropped;
/// - Atom 0.3 becomes Atom 1.0: namespace, `issued`/`modified`/`tagline`/`copyright` renamed
///   to `published`/`updated`/`subtitle`/`rights`;
/// - Atom text constructs get a `type` feed-rs reads, and base64 bodies are decoded (see
///   [`text_construct`]); Atom feeds that call their entries `<item>` get `<entry>`;
/// - CDF (`<CHANNEL>`, Microsoft's Channel Definition Format) becomes RSS 2.0: lower-case
///   names, `ABSTRACT` as `description`, `HREF` / `LASTMOD` attributes as `link` / `pubDate`.
///
/// CDATA sections, comments, processing instructions and the DOCTYPE are copied verbatim (only
/// illegal characters are dropped from them: no XML parser accepts those anywhere).
pub fn repair_xml(xml: &str) -> String {
    // Illegal characters go first, so that dropping them cannot join what surrounds them into
    // new markup after it was judged: `<\0?xml … ?\0>` must not become a declaration.
    let xml = without_illegal_characters(xml);
    let mut repairer = XmlRepairer {
        src: &xml,
        out: String::with_capacity(xml.len() + xml.len() / 32),
        root: Root::Unknown,
        atom03_prefixes: Vec::new(),
        atom_prefixes: Vec::new(),
        rss_prefixes: Vec::new(),
        channel_added: false,
        cdf_depth: 0,
    };
    repairer.run();
    defuse_later_declarations(repairer.out)
}

/// Turns every `<?xml` after the start of `out` into `<?_xml`, an ordinary processing
/// instruction, wherever it is. The repairer drops the later declarations it sees as markup,
/// but quick-xml can tokenise a damaged document differently (an attribute value that never
/// closes swallows a `>`, and then a comment or CDATA section), so this last pass makes sure
/// no declaration but the first one reaches it (see [`XmlRepairer::xml_declaration`]).
fn defuse_later_declarations(mut out: String) -> String {
    let mut later = Vec::new();
    let mut from = 0;
    while let Some(offset) = find_by_rare_byte(&out[from..], "<?xml", 1) {
        let at = from + offset;
        if at > 0 && is_xml_declaration(&out[at..]) {
            later.push(at);
        }
        from = at + 1;
    }
    for at in later.into_iter().rev() {
        out.insert(at + 2, '_');
    }
    out
}

/// What the root element says the document is; the repairs that depend on it look here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    /// No start tag seen yet.
    Unknown,
    Rss,
    Atom,
    /// RSS 1.0 (`<rdf:RDF>`).
    Rdf,
    /// Microsoft's Channel Definition Format, rewritten to RSS 2.0 as it is copied.
    Cdf,
    Other,
}

struct XmlRepairer<'a> {
    /// The document without illegal characters (see [`repair_xml`]): its pieces are copied
    /// as they are.
    src: &'a str,
    out: String,
    root: Root,
    /// Namespace prefixes bound to Atom 0.3 ("" for the default namespace).
    atom03_prefixes: Vec<String>,
    /// Namespace prefixes bound to Atom 1.0 or 0.3 ("" for the default namespace).
    atom_prefixes: Vec<String>,
    /// Namespace prefixes bound to an RSS 2.0 namespace (see [`RSS2_NAMESPACES`]): dropped
    /// from element names, so `<r:item>` reads as `<item>`.
    rss_prefixes: Vec<String>,
    /// A `<channel>` was opened after `<rss>` (the document had none); `</rss>` closes it.
    channel_added: bool,
    /// CDF `<CHANNEL>`s open; closing the last one also closes the `<rss>` we opened.
    cdf_depth: usize,
}

/// One attribute of a start tag, kept close to its source form.
struct Attribute<'a> {
    /// Whitespace before the attribute, kept so line numbers in later errors stay true.
    leading: &'a str,
    name: &'a str,
    value: String,
}

impl<'a> XmlRepairer<'a> {
    fn run(&mut self) {
        let src = self.src;
        let mut i = 0;
        while let Some(offset) = find_markup_byte(&src[i..]) {
            self.out.push_str(&src[i..i + offset]);
            i += offset;
            i = if src.as_bytes()[i] == b'&' {
                i + push_repaired_reference(&mut self.out, &src[i..])
            } else {
                self.markup(i)
            };
        }
        self.out.push_str(&src[i..]);
    }

    /// Handles markup starting with `<` at `i`; returns the index just past it.
    fn markup(&mut self, i: usize) -> usize {
        let src = self.src;
        let rest = &src[i..];
        let verbatim_until = |out: &mut String, terminator: &str, skip: usize| {
            let end = find_terminator(&rest[skip..], terminator)
                .map_or(rest.len(), |p| skip + p + terminator.len());
            out.push_str(&rest[..end]);
            i + end
        };
        if rest.starts_with("<![CDATA[") {
            verbatim_until(&mut self.out, "]]>", 9)
        } else if rest.starts_with("<!--") {
            verbatim_until(&mut self.out, "-->", 4)
        } else if is_xml_declaration(rest) {
            self.xml_declaration(i)
        } else if rest.starts_with("<?") {
            verbatim_until(&mut self.out, "?>", 2)
        } else if rest.starts_with("<!") {
            let end = declaration_end(rest);
            self.out.push_str(&rest[..end]);
            i + end
        } else if rest.starts_with("</") {
            self.end_tag(i)
        } else if name_length(&rest[1..]) > 0 {
            self.start_tag(i)
        } else {
            // Not markup: a literal `<` in text, e.g. "a < b".
            self.out.push_str("&lt;");
            i + 1
        }
    }

    /// Handles an XML declaration at `i`; returns the index just past it.
    ///
    /// feed-rs hands every declaration's `encoding` to quick-xml, which switches its decoder
    /// (our text is already UTF-8, so any other encoding garbles it) and panics when the switch
    /// comes after its first 64 bytes — a second declaration inside the document, or a long
    /// first one. So the leading declaration is replaced by a plain UTF-8 one and any later one
    /// (never legal XML) is dropped; their line breaks are kept so line numbers stay true.
    fn xml_declaration(&mut self, i: usize) -> usize {
        let rest = &self.src[i..];
        let Some(end) = rest.find("?>").map(|p| p + 2) else {
            // Never terminated: quick-xml reports it as cut off, without reading it.
            self.out.push_str(rest);
            return self.src.len();
        };
        if i == 0 {
            self.out
                .push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        }
        let line_breaks = rest[..end].matches('\n').count();
        self.out.extend(std::iter::repeat_n('\n', line_breaks));
        i + end
    }

    /// Handles an end tag at `i` (`rest` starts with `</`); returns the index just past it.
    fn end_tag(&mut self, i: usize) -> usize {
        let rest = &self.src[i..];
        let name_len = name_length(&rest[2..]);
        if name_len == 0 {
            self.out.push_str("&lt;");
            return i + 1;
        }
        let name = &rest[2..2 + name_len];
        let end = rest.find('>').map_or(rest.len(), |p| p + 1);
        let local = local_name(name);
        if self.channel_added && local == "rss" {
            self.out.push_str("</channel>");
            self.channel_added = false;
        }
        self.out.push_str("</");
        let renamed = self.element_name(name);
        self.out.push_str(&renamed);
        self.out.push_str(&rest[2 + name_len..end]);
        if self.root == Root::Cdf && local.eq_ignore_ascii_case("channel") {
            self.cdf_depth = self.cdf_depth.saturating_sub(1);
            if self.cdf_depth == 0 {
                self.out.push_str("</rss>");
            }
        }
        i + end
    }

    /// Handles a start tag at `i`; returns the index just past it (and past its body, when
    /// the body was rewritten).
    fn start_tag(&mut self, i: usize) -> usize {
        let src = self.src;
        let rest = &src[i..];
        let name_len = name_length(&rest[1..]);
        let name = &rest[1..=name_len];
        let Some((mut attributes, self_closing, len)) = parse_attributes(&rest[1 + name_len..])
        else {
            // Not a tag we understand (or cut off): copy up to the next `>` as it is.
            let end = rest.find('>').map_or(rest.len(), |p| p + 1);
            self.out.push_str(&rest[..end]);
            return i + end;
        };
        let end = 1 + name_len + len;
        self.namespace_attributes(&mut attributes);
        let local = local_name(name);
        if matches!(local, "text" | "thumbnail") {
            // Media RSS `media:text start/end`, `media:thumbnail time`: see `is_safe_play_time`.
            attributes.retain(|a| {
                !matches!(local_name(a.name), "start" | "end" | "time")
                    || is_safe_play_time(&a.value)
            });
        }
        if self.root == Root::Unknown {
            self.fix_root(local, &rest[end..], &mut attributes);
        }
        let mut body = None;
        if self.is_atom(name) && is_text_construct(local) {
            body = text_construct(local, &mut attributes, &rest[end..], self_closing);
        }
        let mut opened = String::new();
        let mut closed = String::new();
        if self.root == Root::Rdf
            && local == "item"
            && (self_closing || !rdf_item_has_link(name, &rest[end..]))
        {
            // feed-rs drops an RSS 1.0 item without a link; this one is not a web page, so
            // the item keeps no link (see `RDF_NO_LINK`) and its rdf:about as its id.
            let prefix = &name[..name.len() - local.len()];
            let _ = write!(opened, "<{prefix}link>{RDF_NO_LINK}</{prefix}link>");
        }
        if self.root == Root::Rss && name == "link" && self_closing {
            rss_link_from_href(&mut attributes, &mut opened);
        }
        self.added_markup(
            local,
            self_closing,
            &mut attributes,
            &mut opened,
            &mut closed,
        );
        let tail = &rest[1 + name_len..end];
        let renamed = self.element_name(name);
        let written_self_closing = self_closing && opened.is_empty();
        write_start_tag(
            &mut self.out,
            &renamed,
            &attributes,
            tail,
            written_self_closing,
        );
        self.out.push_str(&opened);
        if self_closing && !opened.is_empty() {
            self.out.push_str("</");
            self.out.push_str(&renamed);
            self.out.push('>');
        }
        self.out.push_str(&closed);
        if let Some((text, replaced)) = body {
            self.out.push_str(&text);
            return i + end + replaced;
        }
        if local == "duration" && !self_closing {
            // `itunes:duration`: see `is_safe_play_time`. An unsafe value is left out (the
            // element stays, empty); its line breaks are kept so line numbers stay true.
            if let Some(content_len) = rest[end..].find("</") {
                let content = &rest[end..end + content_len];
                if !is_safe_play_time(content) {
                    let line_breaks = content.matches('\n').count();
                    self.out.extend(std::iter::repeat_n('\n', line_breaks));
                    return i + end + content_len;
                }
            }
        }
        i + end
    }

    /// Reads namespace declarations (Atom 0.3 becomes Atom 1.0, Atom prefixes are noted, the
    /// Userland RSS namespaces are dropped) and drops an `xml:base` that is not a URL.
    fn namespace_attributes(&mut self, attributes: &mut Vec<Attribute<'a>>) {
        for attribute in attributes.iter_mut() {
            let prefix = attribute.name.strip_prefix("xmlns").and_then(|p| {
                if p.is_empty() {
                    Some("")
                } else {
                    p.strip_prefix(':')
                }
            });
            let Some(prefix) = prefix else { continue };
            match attribute.value.trim() {
                ATOM03_NS => {
                    attribute.value = ATOM10_NS.to_string();
                    self.atom03_prefixes.push(prefix.to_string());
                    self.atom_prefixes.push(prefix.to_string());
                }
                ATOM10_NS => self.atom_prefixes.push(prefix.to_string()),
                RSS090_NS => attribute.value = RSS10_NS.to_string(),
                value if RSS2_NAMESPACES.contains(&value) && !prefix.is_empty() => {
                    self.rss_prefixes.push(prefix.to_string());
                }
                _ => {}
            }
        }
        attributes.retain(|a| {
            let value = a.value.trim();
            let rss_namespace = a.name.starts_with("xmlns") && RSS2_NAMESPACES.contains(&value);
            let bad_base = a.name == "xml:base"
                && matches!(url::Url::parse(value), Err(e) if e != url::ParseError::RelativeUrlWithoutBase);
            !(rss_namespace || bad_base)
        });
    }

    /// Markup the repairs add right after this start tag (`opened`) and, when it closes
    /// itself, after its end tag (`closed`): RSS's missing `<channel>`, CDF's attributes as
    /// elements. Attributes turned into elements are removed.
    fn added_markup(
        &mut self,
        local: &str,
        self_closing: bool,
        attributes: &mut Vec<Attribute<'a>>,
        opened: &mut String,
        closed: &mut String,
    ) {
        if self.channel_added && local == "rss" {
            opened.push_str("<channel>");
            if self_closing {
                opened.push_str("</channel>");
                self.channel_added = false;
            }
        }
        if self.root != Root::Cdf {
            return;
        }
        let lower = local.to_ascii_lowercase();
        if lower == "channel" {
            if self.cdf_depth == 0 {
                self.out.push_str(r#"<rss version="2.0">"#);
            }
            if self_closing {
                closed.push_str(if self.cdf_depth == 0 { "</rss>" } else { "" });
            } else {
                self.cdf_depth += 1;
            }
        }
        if matches!(lower.as_str(), "channel" | "item") {
            for (attribute, element) in [("href", "link"), ("lastmod", "pubDate")] {
                if let Some(at) = attributes
                    .iter()
                    .position(|a| a.name.eq_ignore_ascii_case(attribute))
                {
                    let value = attributes.remove(at).value;
                    let _ = write!(opened, "<{element}>{}</{element}>", value.trim());
                }
            }
        }
    }

    /// `<rss>` needs a version feed-rs knows and a `<channel>`; Atom 0.3 and Atom without a
    /// namespace are recognised by their root; so is CDF. `after` is the document after the
    /// root's start tag.
    fn fix_root(&mut self, local: &str, after: &str, attributes: &mut Vec<Attribute<'a>>) {
        self.root = Root::Other;
        match local {
            "rss" => {
                self.root = Root::Rss;
                match attributes.iter_mut().find(|a| a.name == "version") {
                    Some(version) => {
                        let known = matches!(version.value.trim(), "0.91" | "0.92" | "2.0");
                        version.value =
                            if known { version.value.trim() } else { "2.0" }.to_string();
                    }
                    None => attributes.push(Attribute {
                        leading: " ",
                        name: "version",
                        value: "2.0".to_string(),
                    }),
                }
                // `<r:channel>` too (see `rss_prefixes`).
                self.channel_added = !after.contains("<channel") && !after.contains(":channel");
            }
            "feed" => {
                self.root = Root::Atom;
                let version_03 = attributes
                    .iter()
                    .any(|a| a.name == "version" && a.value.trim() == "0.3");
                let has_default_ns = attributes.iter().any(|a| a.name == "xmlns");
                if !has_default_ns {
                    if version_03 {
                        self.atom03_prefixes.push(String::new());
                    }
                    self.atom_prefixes.push(String::new());
                }
            }
            "RDF" => self.root = Root::Rdf,
            _ if local.eq_ignore_ascii_case("channel") => self.root = Root::Cdf,
            _ => {}
        }
    }

    fn is_atom03(&self, name: &str) -> bool {
        has_prefix(&self.atom03_prefixes, prefix_of(name))
    }

    fn is_atom(&self, name: &str) -> bool {
        has_prefix(&self.atom_prefixes, prefix_of(name))
    }

    /// The element's name as feed-rs should see it: Atom 0.3 names mapped to their Atom 1.0
    /// equivalents, an Atom `<item>` as `<entry>`, CDF names as RSS 2.0 names.
    fn element_name<'n>(&self, name: &'n str) -> Cow<'n, str> {
        if !self.rss_prefixes.is_empty() {
            if let Some((prefix, local)) = name.rsplit_once(':') {
                if has_prefix(&self.rss_prefixes, prefix) {
                    return Cow::Borrowed(local);
                }
            }
        }
        if self.root == Root::Cdf {
            let lower = name.to_ascii_lowercase();
            return Cow::Owned(if lower == "abstract" {
                "description".to_string()
            } else {
                lower
            });
        }
        if !self.is_atom(name) {
            return Cow::Borrowed(name);
        }
        let (prefix, local) = match name.rsplit_once(':') {
            Some((prefix, local)) => (Some(prefix), local),
            None => (None, name),
        };
        let new_local = match local {
            "item" if self.root == Root::Atom => "entry",
            _ if !self.is_atom03(name) => return Cow::Borrowed(name),
            "issued" => "published",
            "modified" => "updated",
            "tagline" => "subtitle",
            "copyright" => "rights",
            _ => return Cow::Borrowed(name),
        };
        match prefix {
            Some(prefix) => Cow::Owned(format!("{prefix}:{new_local}")),
            None => Cow::Borrowed(new_local),
        }
    }
}

/// The prefix of a qualified name (`""` for none). A byte loop, not `rsplit_once`: names are
/// short and this runs several times per tag (the parse bench showed the call overhead).
fn prefix_of(name: &str) -> &str {
    name.bytes()
        .rposition(|b| b == b':')
        .map_or("", |at| &name[..at])
}

/// Whether `prefix` is one of `prefixes`. The empty prefix (the default namespace, by far the
/// most common) is compared without a `memcmp` call per tag.
fn has_prefix(prefixes: &[String], prefix: &str) -> bool {
    prefixes
        .iter()
        .any(|p| p.len() == prefix.len() && (prefix.is_empty() || p == prefix))
}

/// Writes a start tag: `<name`, the attributes (each with the whitespace before it), the
/// whitespace before the original end of the tag, then `>` or `/>`. `tail` is the source
/// after the name, up to and including the original `>` or `/>`.
fn write_start_tag(
    out: &mut String,
    name: &str,
    attributes: &[Attribute<'_>],
    tail: &str,
    self_closing: bool,
) {
    out.push('<');
    out.push_str(name);
    for attribute in attributes {
        let quote = if attribute.value.contains('"') {
            '\''
        } else {
            '"'
        };
        out.push_str(attribute.leading);
        out.push_str(attribute.name);
        out.push('=');
        out.push(quote);
        out.push_str(&attribute.value);
        out.push(quote);
    }
    let original_closing = if tail.ends_with("/>") { "/>" } else { ">" };
    let trailing_ws = tail
        .strip_suffix(original_closing)
        .map_or("", |t| &t[t.trim_end().len()..]);
    out.push_str(trailing_ws);
    out.push_str(if self_closing { "/>" } else { ">" });
}

/// Whether the RSS 1.0 item whose body (after its start tag `<name ...>`) is `body` has a
/// `<link>` before its end tag.
fn rdf_item_has_link(name: &str, body: &str) -> bool {
    let prefix = &name[..name.len() - local_name(name).len()];
    let end = body.find(&format!("</{name}")).unwrap_or(body.len());
    body[..end].contains(&format!("<{prefix}link"))
}

/// An RSS `<link href="..."/>` written the Atom way (no namespace, no text): feed-rs reads an
/// empty link, feedparser its `href`. Moves the `href` of the page itself (no `rel`, or
/// `rel="alternate"`) into the element's text; an enclosure or other `rel` is left alone.
fn rss_link_from_href(attributes: &mut Vec<Attribute<'_>>, opened: &mut String) {
    let is_page = attributes
        .iter()
        .find(|a| a.name == "rel")
        .is_none_or(|a| a.value.trim().eq_ignore_ascii_case("alternate"));
    if !is_page {
        return;
    }
    if let Some(at) = attributes.iter().position(|a| a.name == "href") {
        opened.push_str(attributes.remove(at).value.trim());
    }
}

/// Atom (0.3 or 1.0) elements that are text constructs.
fn is_text_construct(local: &str) -> bool {
    matches!(
        local,
        "title" | "tagline" | "subtitle" | "summary" | "content" | "copyright" | "rights"
    )
}

/// Gives an Atom text construct a `type` feed-rs reads (see [`text_construct::rewrite`]).
/// When its body is base64, returns the decoded body (escaped) and how many bytes of `body`
/// (the source after the start tag) it replaces.
fn text_construct(
    local: &str,
    attributes: &mut Vec<Attribute<'_>>,
    body: &str,
    self_closing: bool,
) -> Option<(String, usize)> {
    let value = |attributes: &[Attribute<'_>], name: &str| {
        attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.clone())
    };
    let mime = value(attributes, "type");
    if local == "content" && value(attributes, "src").is_some() {
        // No body to read; feed-rs refuses a `type` on it that is not a MIME type.
        if mime.is_some_and(|t| !text_construct::src_content_type_is_valid(&t)) {
            attributes.retain(|a| a.name != "type");
        }
        return None;
    }
    let mode = value(attributes, "mode");
    let rewrite = match text_construct::rewrite(mime.as_deref(), mode.as_deref()) {
        // Markup written into a text or HTML construct without escaping: feed-rs would keep
        // only the text before the first element; read as XHTML, all of it is kept.
        TextRewrite::Keep if mime.as_deref().is_some_and(|t| t == "xhtml") => TextRewrite::Keep,
        TextRewrite::Keep | TextRewrite::Type("text" | "html")
            if !self_closing && starts_element_before_end(body) =>
        {
            TextRewrite::Type("xhtml")
        }
        other => other,
    };
    let (new_type, decoded) = match rewrite {
        TextRewrite::Keep => return None,
        TextRewrite::Type(new_type) => (new_type, None),
        TextRewrite::Base64(new_type) => {
            match decoded_base64_body(body).filter(|_| !self_closing) {
                Some(decoded) => (new_type, Some(decoded)),
                None => ("text", None),
            }
        }
    };
    attributes.retain(|a| a.name != "mode");
    match attributes.iter_mut().find(|a| a.name == "type") {
        Some(attribute) => attribute.value = new_type.to_string(),
        None => attributes.push(Attribute {
            leading: " ",
            name: "type",
            value: new_type.to_string(),
        }),
    }
    decoded
}

/// Whether the first markup in `body` (an element's content) is a child element's start tag.
fn starts_element_before_end(body: &str) -> bool {
    body.find('<')
        .is_some_and(|at| name_length(&body[at + 1..]) > 0)
}

/// The base64 body at the start of `body` (text, or one CDATA section, up to the end tag)
/// decoded and escaped as XML text, with the length of source it replaces (its line breaks
/// are kept, so line numbers in later errors stay true). A body that decodes to bytes that
/// are not UTF-8 (an image) becomes empty. `None` if the body is not base64.
fn decoded_base64_body(body: &str) -> Option<(String, usize)> {
    let end = body.find("</")?;
    let raw = &body[..end];
    let trimmed = raw.trim();
    let encoded = match trimmed.strip_prefix("<![CDATA[") {
        Some(inner) => inner.strip_suffix("]]>")?,
        None if trimmed.contains('<') => return None,
        None => trimmed,
    };
    let bytes = text_construct::decode_base64(encoded)?;
    let mut out = String::new();
    if let Ok(text) = String::from_utf8(bytes) {
        push_legal(&mut out, &html_escape::encode_text(&text));
    }
    out.extend(std::iter::repeat_n('\n', raw.matches('\n').count()));
    Some((out, end))
}

/// Parses the attributes after a start tag's name, up to and including `>` or `/>`.
///
/// Returns the attributes (values repaired), whether the tag closes itself, and the length
/// consumed; `None` when this is not a well-formed-enough tag to rewrite.
fn parse_attributes(s: &str) -> Option<(Vec<Attribute<'_>>, bool, usize)> {
    let bytes = s.as_bytes();
    let mut attributes = Vec::new();
    let mut i = 0;
    loop {
        let ws_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        match bytes.get(i)? {
            b'>' => return Some((attributes, false, i + 1)),
            b'/' if bytes.get(i + 1) == Some(&b'>') => return Some((attributes, true, i + 2)),
            _ if i == ws_start => return None, // attributes must be separated by whitespace
            _ => {}
        }
        let leading = &s[ws_start..i];
        let name_len = name_length(&s[i..]);
        if name_len == 0 {
            return None;
        }
        let name = &s[i..i + name_len];
        i += name_len;
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            return None; // HTML-style attribute without a value: leave the tag alone
        }
        i += 1;
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let opening = *bytes.get(i)?;
        let raw = if matches!(opening, b'"' | b'\'') {
            let len = s[i + 1..].find(char::from(opening))?;
            let raw = &s[i + 1..i + 1 + len];
            i += len + 2;
            raw
        } else {
            // Unquoted value (HTML habit): up to whitespace or the end of the tag.
            let len = s[i..]
                .find(|c: char| c.is_ascii_whitespace() || c == '>')
                .unwrap_or(s.len() - i);
            let mut raw = &s[i..i + len];
            if raw.ends_with('/') && s[i + len..].starts_with('>') {
                raw = &raw[..raw.len() - 1];
            }
            i += raw.len();
            raw
        };
        attributes.push(Attribute {
            leading,
            name,
            value: repair_attribute_value(raw),
        });
    }
}

/// Attribute values get the same entity repairs as text; `<` is escaped (illegal there).
fn repair_attribute_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while let Some(offset) = find_markup_byte(&raw[i..]) {
        push_legal(&mut out, &raw[i..i + offset]);
        i += offset;
        if raw.as_bytes()[i] == b'&' {
            i += push_repaired_reference(&mut out, &raw[i..]);
        } else {
            out.push_str("&lt;");
            i += 1;
        }
    }
    push_legal(&mut out, &raw[i..]);
    out
}

/// Writes the repaired form of the reference starting with `&` at the start of `s`; returns
/// how many bytes of `s` it consumed.
fn push_repaired_reference(out: &mut String, s: &str) -> usize {
    let body = &s[1..];
    if let Some(numeric) = body.strip_prefix('#') {
        let (digits, radix, skip) = match numeric.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 3),
            None => (numeric, 10, 2),
        };
        let len = digits
            .bytes()
            .take(9)
            .take_while(u8::is_ascii_alphanumeric)
            .count();
        if len > 0 && digits.as_bytes().get(len) == Some(&b';') {
            if let Ok(code) = u32::from_str_radix(&digits[..len], radix) {
                if char::from_u32(code).is_some_and(is_xml_char) {
                    // XML wants `&#x`; `&#X41;` (which HTML allows) is an error to it.
                    out.push_str(if radix == 16 { "&#x" } else { "&#" });
                    out.push_str(&s[skip..=skip + len]);
                }
                // A reference to an illegal character is dropped, like the character itself.
                return skip + len + 1;
            }
        }
    } else {
        let len = body
            .bytes()
            .take(MAX_ENTITY_NAME + 1)
            .take_while(u8::is_ascii_alphanumeric)
            .count();
        if (1..=MAX_ENTITY_NAME).contains(&len)
            && body.as_bytes()[0].is_ascii_alphabetic()
            && body.as_bytes().get(len) == Some(&b';')
        {
            let name = &body[..len];
            if XML_ENTITIES.contains(&name) {
                out.push_str(&s[..len + 2]);
                return len + 2;
            }
            if let Some(value) = html_entity(name) {
                for c in value.chars() {
                    let _ = write!(out, "&#{};", u32::from(c));
                }
                return len + 2;
            }
        }
    }
    // A bare `&`: escape it; what follows is ordinary text.
    out.push_str("&amp;");
    1
}

fn html_entity(name: &str) -> Option<&'static str> {
    let table = &html_escape::NAMED_ENTITIES;
    table
        .binary_search_by(|(entity, _)| (*entity).cmp(name.as_bytes()))
        .ok()
        .map(|index| table[index].1)
}

/// Characters XML 1.0 allows (Rust strings cannot hold surrogates).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `s` without the characters XML 1.0 forbids.
fn without_illegal_characters(s: &str) -> Cow<'_, str> {
    if !has_suspicious_bytes(s) || s.chars().all(is_xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|&c| is_xml_char(c)).collect())
    }
}

/// Fast check: the illegal characters are C0 controls or encoded as EF BF BE / EF BF BF.
fn has_suspicious_bytes(s: &str) -> bool {
    let suspicious = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF;
    // Whole blocks without an early exit, so the compiler can test many bytes at a time; this
    // runs over every document (issue 16: a byte-at-a-time `any` was 2% of an RSS parse).
    let blocks = s.as_bytes().chunks_exact(64);
    let rest = blocks.remainder();
    blocks
        .into_iter()
        .any(|block| block.iter().fold(false, |found, &b| found | suspicious(b)))
        || rest.iter().any(|&b| suspicious(b))
}

fn push_legal(out: &mut String, s: &str) {
    if has_suspicious_bytes(s) {
        out.extend(s.chars().filter(|&c| is_xml_char(c)));
    } else {
        out.push_str(s);
    }
}

/// Byte offset of the first `<` or `&` in `s`. Both are ASCII, so the offset is a character
/// boundary; a byte loop does not decode every character as a `char` pattern does.
fn find_markup_byte(s: &str) -> Option<usize> {
    let is_markup = |b: u8| b == b'<' || b == b'&';
    // 16-byte blocks tested without an early exit (vectorised), then the byte within the
    // block: the repairer calls this between every two pieces of markup of every document.
    let bytes = s.as_bytes();
    let blocks = bytes.chunks_exact(16);
    let rest_at = bytes.len() - blocks.remainder().len();
    for (index, block) in blocks.enumerate() {
        if block.iter().fold(false, |found, &b| found | is_markup(b)) {
            return block
                .iter()
                .position(|&b| is_markup(b))
                .map(|i| index * 16 + i);
        }
    }
    bytes[rest_at..]
        .iter()
        .position(|&b| is_markup(b))
        .map(|i| rest_at + i)
}

/// `haystack.find(terminator)` for the terminators of markup: `>` by `memchr`, and the longer
/// ones by their rarest byte (`]]>`, `-->`, `?>`), where the generic search was most of the
/// cost of skipping a CDATA section (issue 16).
fn find_terminator(haystack: &str, terminator: &str) -> Option<usize> {
    match terminator {
        ">" => haystack.find('>'),
        "]]>" | "-->" | "?>" => find_by_rare_byte(haystack, terminator, 0),
        other => haystack.find(other),
    }
}

/// `haystack.find(needle)`, by looking for the needle's ASCII byte at `pivot` with `memchr`
/// (via `str::find(char)`) and checking the needle around each one.
fn find_by_rare_byte(haystack: &str, needle: &str, pivot: usize) -> Option<usize> {
    let rare = char::from(needle.as_bytes()[pivot]);
    let mut from = 0;
    while let Some(offset) = haystack[from..].find(rare) {
        let at = from + offset;
        if let Some(start) = at.checked_sub(pivot) {
            if haystack.as_bytes()[start..].starts_with(needle.as_bytes()) {
                return Some(start);
            }
        }
        // The rare byte is ASCII, so the byte after it starts a character.
        from = at + 1;
    }
    None
}

/// Length in bytes of the XML name at the start of `s` (0 if none starts there).
fn name_length(s: &str) -> usize {
    // ASCII names (nearly all) by bytes; from the first other byte on, by characters. Every tag
    // and attribute goes through here, and decoding each character was 5% of an RSS parse.
    let bytes = s.as_bytes();
    let is_start = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b == b':';
    let is_part = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.');
    match bytes.first() {
        Some(&b) if b.is_ascii() && !is_start(b) => return 0,
        Some(&b) if b.is_ascii() => {
            let ascii = bytes.iter().take_while(|&&b| is_part(b)).count();
            if bytes.get(ascii).is_none_or(u8::is_ascii) {
                return ascii;
            }
            // A non-ASCII character inside the name: `ascii` is a character boundary.
            return ascii + name_rest_length(&s[ascii..]);
        }
        _ => {}
    }
    name_length_by_chars(s)
}

/// How far the characters of a name continue from the start of `s` (which is inside a name).
fn name_rest_length(s: &str) -> usize {
    s.char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.')))
        .map_or(s.len(), |(index, _)| index)
}

/// [`name_length`] character by character, for names that start with a non-ASCII character.
fn name_length_by_chars(s: &str) -> usize {
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, c)) if c.is_alphabetic() || c == '_' || c == ':' => {}
        _ => return 0,
    }
    chars
        .find(|&(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.')))
        .map_or(s.len(), |(index, _)| index)
}

fn local_name(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

/// Whether feed-rs can read `value` as a play time without panicking.
///
/// feed-rs 3.0.0 reads `itunes:duration` and Media RSS `start`/`end`/`time` with the regex
/// `\d+` (which matches any Unicode digit) and then `parse::<u64>().unwrap()`, multiplying hours
/// by 3600: Arabic-Indic digits (`١٢:٣٠`), a run of 20 digits, or hours near `u64::MAX` panic,
/// and the whole feed would fail. newshound never uses these values, so a value that is not
/// plain ASCII with digit runs of at most 9 (no references, no CDATA) is left out.
fn is_safe_play_time(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii() && b != b'&' && b != b'<')
        && value
            .split(|c: char| !c.is_ascii_digit())
            .all(|digits| digits.len() <= 9)
}

/// Whether `s` starts with an XML declaration as quick-xml reads one: `<?xml` then whitespace or
/// `?>` (`<?xml-stylesheet ...?>` is an ordinary processing instruction).
fn is_xml_declaration(s: &str) -> bool {
    s.strip_prefix("<?xml")
        .is_some_and(|after| after.starts_with([' ', '\t', '\r', '\n', '?']))
}

/// Length of a `<!...>` declaration (DOCTYPE with an optional `[...]` internal subset).
fn declaration_end(s: &str) -> usize {
    let mut depth = 0_usize;
    let mut quote: Option<u8> = None;
    for (i, b) in s.bytes().enumerate().skip(2) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'[') => depth += 1,
            (None, b']') => depth = depth.saturating_sub(1),
            (None, b'>') if depth == 0 => return i + 1,
            _ => {}
        }
    }
    s.len()
}

// ---------------------------------------------------------------------------------------------
// Tag scanning: structure diagnostics and Media RSS thumbnails
// ---------------------------------------------------------------------------------------------

/// One piece of markup found by [`Tags`].
pub(crate) enum Tag<'a> {
    Start {
        name: &'a str,
        /// Everything after the name, up to and including `>` or `/>`.
        rest: &'a str,
        self_closing: bool,
    },
    End {
        name: &'a str,
    },
    /// Markup that never ends: the document was cut off inside it.
    Unterminated {
        what: &'static str,
    },
}

/// Iterates over the start and end tags of an XML document with their 1-based line numbers,
/// skipping text, CDATA, comments, processing instructions and declarations. Linear time.
pub(crate) struct Tags<'a> {
    xml: &'a str,
    pos: usize,
    line: usize,
    counted_to: usize,
    /// Off for the passes that never report a line: counting them was a third of the scan.
    count_lines: bool,
}

impl<'a> Tags<'a> {
    pub(crate) fn new(xml: &'a str) -> Self {
        Tags {
            xml,
            pos: 0,
            line: 1,
            counted_to: 0,
            count_lines: true,
        }
    }

    /// Like [`Tags::new`], but every line number it yields is 0.
    pub(crate) fn without_lines(xml: &'a str) -> Self {
        Tags {
            count_lines: false,
            ..Tags::new(xml)
        }
    }

    /// Byte offset just past the markup last returned.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Line number at byte `pos` (which only moves forward).
    pub(crate) fn advance_line(&mut self, pos: usize) -> usize {
        let newlines = self.xml[self.counted_to..pos]
            .bytes()
            .filter(|&b| b == b'\n')
            .count();
        self.line += newlines;
        self.counted_to = pos;
        self.line
    }
}

impl<'a> Iterator for Tags<'a> {
    type Item = (usize, Tag<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let xml = self.xml;
        loop {
            let start = self.pos + xml.get(self.pos..)?.find('<')?;
            let line = if self.count_lines {
                self.advance_line(start)
            } else {
                0
            };
            let rest = &xml[start..];
            let (terminator, skip, what) = if rest.starts_with("<![CDATA[") {
                ("]]>", 9, "a CDATA section")
            } else if rest.starts_with("<!--") {
                ("-->", 4, "a comment")
            } else if rest.starts_with("<?") {
                ("?>", 2, "a processing instruction")
            } else if rest.starts_with("<!") {
                self.pos = start + declaration_end(rest);
                continue;
            } else {
                (">", 1, "a tag")
            };
            let Some(end) =
                find_terminator(&rest[skip..], terminator).map(|p| skip + p + terminator.len())
            else {
                self.pos = xml.len();
                return Some((line, Tag::Unterminated { what }));
            };
            self.pos = start + end;
            if terminator != ">" {
                continue;
            }
            let tag = &rest[..end];
            if let Some(after) = tag.strip_prefix("</") {
                let name = &after[..name_length(after)];
                return Some((line, Tag::End { name }));
            }
            let name_len = name_length(&tag[1..]);
            if name_len == 0 {
                continue; // a stray `<` in text
            }
            return Some((
                line,
                Tag::Start {
                    name: &tag[1..=name_len],
                    rest: &tag[1 + name_len..],
                    self_closing: tag.ends_with("/>"),
                },
            ));
        }
    }
}

/// Where (1-based line) and how the element structure of `xml` first goes wrong: a mismatched
/// end tag, or the document ending with elements still open. `None` if the tags balance.
///
/// Used only to explain a parse failure to the user, so it is deliberately simple.
pub(crate) fn first_structure_error(xml: &str) -> Option<String> {
    let mut open: Vec<(&str, usize)> = Vec::new();
    let mut tags = Tags::new(xml);
    for (line, tag) in tags.by_ref() {
        match tag {
            Tag::Start {
                name,
                self_closing: false,
                ..
            } => open.push((name, line)),
            Tag::Start { .. } => {}
            Tag::End { name } => match open.pop() {
                Some((expected, _)) if expected == name => {}
                Some((expected, opened)) => {
                    return Some(format!(
                        "line {line}: `</{name}>` found where `<{expected}>` (opened on line \
                         {opened}) should be closed"
                    ));
                }
                None => return Some(format!("line {line}: `</{name}>` closes nothing")),
            },
            Tag::Unterminated { what } => {
                return Some(format!(
                    "line {line}: {what} is never closed — the document looks cut off"
                ));
            }
        }
    }
    let last_line = tags.advance_line(xml.len());
    open.last().map(|(name, opened)| {
        format!(
            "line {last_line}: the document ends while `<{name}>` (opened on line {opened}) is \
             still open — it looks cut off"
        )
    })
}

/// The first Media RSS `<media:thumbnail url>` of each item / entry, in document order.
///
/// feed-rs 3.0.0 drops a thumbnail that has no `<media:content>` beside it (the usual shape,
/// e.g. the BBC's feeds), so we read them ourselves. One slot per `<item>`/`<entry>`; empty
/// when the document never names the Media RSS namespace (then no item has a thumbnail, and
/// the second pass over the document is skipped).
pub(crate) fn media_thumbnails_by_item(xml: &str) -> Vec<Option<String>> {
    const MRSS_NAMESPACES: [&str; 2] = [
        "http://search.yahoo.com/mrss/",
        "http://search.yahoo.com/mrss",
    ];
    if !xml.contains(MRSS_NAMESPACES[1]) {
        return Vec::new();
    }
    let mut prefixes: Vec<&str> = Vec::new();
    let mut thumbnails = Vec::new();
    let mut in_item = false;
    for (_, tag) in Tags::without_lines(xml) {
        match tag {
            Tag::Start { name, rest, .. } => {
                let local = local_name(name);
                let is_item = matches!(local, "item" | "entry");
                let is_thumbnail = !is_item && in_item && local == "thumbnail";
                // Only a thumbnail's attributes, and namespace declarations, are read: parsing
                // (and repairing) every tag's attributes was most of this pass.
                let attributes = if is_thumbnail || rest.contains("xmlns:") {
                    parse_attributes(rest)
                        .map(|(a, _, _)| a)
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                for attribute in &attributes {
                    if let Some(prefix) = attribute.name.strip_prefix("xmlns:") {
                        if MRSS_NAMESPACES.contains(&attribute.value.trim()) {
                            prefixes.push(prefix);
                        }
                    }
                }
                if is_item {
                    thumbnails.push(None);
                    in_item = true;
                } else if is_thumbnail {
                    let prefix = name.rsplit_once(':').map_or("", |(p, _)| p);
                    let slot = thumbnails.last_mut().filter(|slot| slot.is_none());
                    let url = attributes.into_iter().find(|a| a.name == "url");
                    if let (Some(slot), Some(url), true) = (slot, url, prefixes.contains(&prefix)) {
                        // Undo the `&amp;` the attribute repair may have produced.
                        *slot = Some(html_escape::decode_html_entities(&url.value).into_owned());
                    }
                }
            }
            Tag::End { name } if matches!(local_name(name), "item" | "entry") => in_item = false,
            _ => {}
        }
    }
    thumbnails
}

/// The `rdf:about` of each RSS 1.0 `<item>` that had no `<link>` (the clean-up pass gave it
/// [`RDF_NO_LINK`]), in document order; `None` for items with a link of their own. Empty when
/// no item lacked a link.
pub(crate) fn rdf_item_ids(xml: &str) -> Vec<Option<String>> {
    if !xml.contains(RDF_NO_LINK) {
        return Vec::new();
    }
    let mut ids = Vec::new();
    let mut about = None;
    let mut tags = Tags::without_lines(xml);
    while let Some((_, tag)) = tags.next() {
        let Tag::Start { name, rest, .. } = tag else {
            continue;
        };
        match local_name(name) {
            "item" => {
                ids.push(None);
                about = parse_attributes(rest)
                    .and_then(|(attributes, _, _)| {
                        attributes
                            .into_iter()
                            .find(|a| local_name(a.name) == "about")
                    })
                    .map(|a| html_escape::decode_html_entities(a.value.trim()).into_owned())
                    .filter(|about| !about.is_empty());
            }
            "link" if xml[tags.position()..].starts_with(RDF_NO_LINK) => {
                if let Some(slot) = ids.last_mut() {
                    *slot = about.take();
                }
            }
            _ => {}
        }
    }
    ids
}

// ---------------------------------------------------------------------------------------------
// JSON Feed repairs
// ---------------------------------------------------------------------------------------------

/// Item fields feed-rs reads as strings.
const JSON_ITEM_STRINGS: [&str; 9] = [
    "id",
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "date_published",
    "date_modified",
];

/// Repairs what real JSON Feeds get wrong so feed-rs accepts them: numeric `id`s (the spec
/// says to treat them as strings), the `http://` or missing version URL, `tags` given as one
/// string, non-string values in string fields, attachments without a MIME type.
///
/// `None` when `json` is not a JSON object. A JSON object that does not look like a JSON Feed
/// (no `items` list and no jsonfeed.org version) is returned unchanged, so that feed-rs rejects
/// it rather than reporting an empty feed.
pub fn repair_json_feed(json: &str) -> Option<String> {
    let mut value: Value = serde_json::from_str(json).ok()?;
    repair_json_value(&mut value)?;
    serde_json::to_string(&value).ok()
}

/// In-place form of [`repair_json_feed`]; `None` when `value` is not an object.
pub(crate) fn repair_json_value(value: &mut Value) -> Option<()> {
    let feed = value.as_object_mut()?;
    let version = feed.get("version").and_then(Value::as_str).unwrap_or("");
    let looks_like_json_feed =
        version.contains("jsonfeed.org/version/") || feed.get("items").is_some_and(Value::is_array);
    if !looks_like_json_feed {
        return Some(());
    }
    let version = json_feed_version(version).unwrap_or_else(|| version.to_string());
    feed.insert("version".into(), Value::String(version));
    if !feed.get("title").is_some_and(Value::is_string) {
        let title = feed
            .get("title")
            .and_then(scalar_to_string)
            .unwrap_or_default();
        feed.insert("title".into(), Value::String(title));
    }
    for key in [
        "home_page_url",
        "feed_url",
        "description",
        "icon",
        "favicon",
        "language",
    ] {
        fix_string_field(feed, key);
    }
    if !feed.get("items").is_some_and(Value::is_array) {
        feed.insert("items".into(), Value::Array(Vec::new()));
    }
    if let Some(Value::Array(items)) = feed.get_mut("items") {
        items.retain(Value::is_object);
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            repair_json_item(item);
        }
    }
    Some(())
}

/// Whether [`repair_json_value`] would change `value`: `false` means the document can go to
/// feed-rs as it came, without being written out again (issue 16: writing the repaired value
/// back to text was an eighth of a JSON Feed's parse). Read-only twin of the repair; a test
/// checks the two agree.
pub(crate) fn json_needs_repair(value: &Value) -> bool {
    let Some(feed) = value.as_object() else {
        return false;
    };
    let version = feed.get("version").and_then(Value::as_str).unwrap_or("");
    let looks_like_json_feed =
        version.contains("jsonfeed.org/version/") || feed.get("items").is_some_and(Value::is_array);
    if !looks_like_json_feed {
        return false;
    }
    let feed_fields = [
        "home_page_url",
        "feed_url",
        "description",
        "icon",
        "favicon",
        "language",
    ];
    feed.get("version").and_then(Value::as_str)
        != Some(json_feed_version(version).as_deref().unwrap_or(version))
        || !feed.get("title").is_some_and(Value::is_string)
        || feed_fields
            .iter()
            .any(|key| !is_string_or_absent(feed, key))
        || match feed.get("items") {
            Some(Value::Array(items)) => items
                .iter()
                .any(|item| item.as_object().is_none_or(json_item_needs_repair)),
            _ => true,
        }
}

/// Whether [`repair_json_item`] would change `item`.
fn json_item_needs_repair(item: &Map<String, Value>) -> bool {
    let tags_need_repair = match item.get("tags") {
        None => false,
        Some(Value::Array(tags)) => !tags.iter().all(Value::is_string),
        Some(_) => true,
    };
    let attachments_need_repair = match item.get("attachments") {
        None => false,
        Some(Value::Array(list)) => list.iter().any(|attachment| {
            !attachment.get("url").is_some_and(Value::is_string)
                || attachment.as_object().is_some_and(|a| {
                    !a.get("mime_type").is_some_and(Value::is_string)
                        || !is_string_or_absent(a, "title")
                        || a.get("size_in_bytes").is_some_and(|size| !size.is_u64())
                })
        }),
        Some(_) => true,
    };
    tags_need_repair
        || attachments_need_repair
        || JSON_ITEM_STRINGS
            .iter()
            .any(|key| !is_string_or_absent(item, key))
}

fn is_string_or_absent(object: &Map<String, Value>, key: &str) -> bool {
    object.get(key).is_none_or(Value::is_string)
}

/// The version URL feed-rs accepts for a JSON Feed 1.x `version` as feeds write it: the URL
/// over `http://` or without a scheme, bare `1`, `1.0`, `1.1`, or missing (then 1.1). `None`
/// for any other version (feed-rs then refuses it, and the user is told which it was).
fn json_feed_version(declared: &str) -> Option<String> {
    let declared = declared.trim();
    if declared.is_empty() {
        return Some("https://jsonfeed.org/version/1.1".to_string());
    }
    let bare = declared
        .strip_prefix("https://")
        .or_else(|| declared.strip_prefix("http://"))
        .unwrap_or(declared);
    let number = bare.strip_prefix("jsonfeed.org/version/").unwrap_or(bare);
    let minor = match number.split_once('.') {
        None if number == "1" => "",
        Some(("1", minor)) if !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()) => {
            minor
        }
        _ => return None,
    };
    // 1.0 is written `version/1`; any later 1.x reads as 1.1 (minor versions only add fields).
    Some(if minor.trim_start_matches('0').is_empty() {
        "https://jsonfeed.org/version/1".to_string()
    } else {
        "https://jsonfeed.org/version/1.1".to_string()
    })
}

fn repair_json_item(item: &mut Map<String, Value>) {
    for key in JSON_ITEM_STRINGS {
        fix_string_field(item, key);
    }
    match item.get("tags") {
        Some(Value::String(tag)) => {
            let tags = vec![Value::String(tag.clone())];
            item.insert("tags".into(), Value::Array(tags));
        }
        Some(Value::Array(tags)) => {
            let tags = tags
                .iter()
                .filter_map(scalar_to_string)
                .map(Value::String)
                .collect();
            item.insert("tags".into(), Value::Array(tags));
        }
        Some(_) => {
            item.remove("tags");
        }
        None => {}
    }
    if let Some(attachments) = item.get_mut("attachments") {
        if let Value::Array(list) = attachments {
            list.retain(|a| a.get("url").is_some_and(Value::is_string));
            for attachment in list.iter_mut().filter_map(Value::as_object_mut) {
                if !attachment.get("mime_type").is_some_and(Value::is_string) {
                    attachment.insert(
                        "mime_type".into(),
                        Value::String("application/octet-stream".into()),
                    );
                }
                fix_string_field(attachment, "title");
                if !attachment.get("size_in_bytes").is_some_and(Value::is_u64) {
                    attachment.remove("size_in_bytes");
                }
            }
        } else {
            item.remove("attachments");
        }
    }
}

/// A number or bool becomes its string form; other non-string values are removed.
fn fix_string_field(object: &mut Map<String, Value>, key: &str) {
    match object.get(key) {
        None | Some(Value::String(_)) => {}
        Some(other) => match scalar_to_string(other) {
            Some(text) => {
                object.insert(key.into(), Value::String(text));
            }
            None => {
                object.remove(key);
            }
        },
    }
}

fn scalar_to_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_atom_style_link_gets_its_href_as_text() {
        let xml = r#"<rss version="2.0"><channel><item><link href="https://a.example/1"/><link rel="enclosure" href="https://a.example/1.mp3"/></item></channel></rss>"#;
        assert_eq!(
            repair_xml(xml),
            r#"<rss version="2.0"><channel><item><link>https://a.example/1</link><link rel="enclosure" href="https://a.example/1.mp3"/></item></channel></rss>"#
        );
    }

    #[test]
    fn utf8_bom_is_dropped() {
        assert_eq!(to_utf8(b"\xEF\xBB\xBF<rss/>", None), "<rss/>");
    }

    #[test]
    fn utf16_without_bom_is_recognised() {
        let le: Vec<u8> = "<rss>é</rss>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "<rss>é</rss>"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(to_utf8(&le, None), "<rss>é</rss>");
        assert_eq!(to_utf8(&be, None), "<rss>é</rss>");
    }

    #[test]
    fn utf32_with_or_without_bom_is_decoded() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-32\"?><rss>Tromsø 🚢</rss>";
        let le: Vec<u8> = text
            .chars()
            .flat_map(|c| u32::from(c).to_le_bytes())
            .collect();
        let be: Vec<u8> = text
            .chars()
            .flat_map(|c| u32::from(c).to_be_bytes())
            .collect();
        let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>Tromsø 🚢</rss>";
        for bytes in [
            le.clone(),
            be.clone(),
            [&[0xFF, 0xFE, 0, 0][..], &le].concat(),
            [&[0, 0, 0xFE, 0xFF][..], &be].concat(),
        ] {
            assert_eq!(to_utf8(&bytes, None), expected);
        }
    }

    #[test]
    fn utf32_units_that_are_not_characters_become_replacement_characters() {
        let bytes = [b'<', 0, 0, 0, 0, 0xD8, 0, 0, b'>', 0, 0, 0, b'x', 0];
        assert_eq!(to_utf8(&bytes, None), "<\u{fffd}>\u{fffd}");
    }

    #[test]
    fn leading_declaration_is_plain_utf8_and_later_ones_are_dropped() {
        let xml = "<?xml version='1.0'\n encoding='UTF-16'?>\n<rss>\
                   <?xml version=\"1.0\" encoding=\"UTF-16\"?><channel/>\
                   <?xml-stylesheet href=\"a.xsl\"?></rss>";
        assert_eq!(
            repair_xml(xml),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<rss version=\"2.0\"><channel/>\
             <?xml-stylesheet href=\"a.xsl\"?></rss>"
        );
    }

    #[test]
    fn dropped_control_characters_cannot_make_a_new_declaration() {
        // Found by fuzzing: an unterminated first declaration was copied as it was, minus its
        // NULs, which turned `<\0?\0x\0m\0l … ?\0>` into a declaration feed-rs acted on.
        let xml = "<?xml version=\"1.0\" encoding\u{0}<rss><\u{0}?xml version=\"1.0\" \
                   encoding=\"UTF-16\"?\u{0}><channel/></rss>";
        let repaired = repair_xml(xml);
        assert_eq!(repaired.matches("<?xml").count(), 1, "{repaired}");
        assert!(!repaired.contains("UTF-16"), "{repaired}");
    }

    #[test]
    fn declarations_inside_comments_cdata_and_attributes_are_defused() {
        let xml = "<?xml version=\"1.0\"?><rss a=\"<?xml encoding='UTF-16'?>\"><!-- <?xml?> -->\
                   <![CDATA[<?xml version=\"1.0\"?>]]><?xml-stylesheet href=\"a.xsl\"?></rss>";
        let repaired = repair_xml(xml);
        assert!(
            repaired
                .match_indices("<?xml")
                .all(|(at, _)| at == 0 || repaired[at..].starts_with("<?xml-stylesheet")),
            "{repaired}"
        );
        assert!(repaired.contains("<!-- <?_xml?> -->"), "{repaired}");
        assert!(repaired.contains("<![CDATA[<?_xml version"), "{repaired}");
        assert!(repaired.contains("<?xml-stylesheet"), "{repaired}");
    }

    #[test]
    fn play_times_that_would_crash_feed_rs_are_left_out() {
        let xml = "<rss><channel><item>\
                   <itunes:duration>1:02:03</itunes:duration>\
                   <itunes:duration>\u{661}\u{662}:\u{663}\u{660}</itunes:duration>\
                   <itunes:duration>99999999999999999999</itunes:duration>\
                   <itunes:duration><![CDATA[12]]></itunes:duration>\
                   <itunes:duration>&#1633;\n</itunes:duration>\
                   <media:thumbnail url=\"a.jpg\" time=\"12:05:01.5\"/>\
                   <media:thumbnail url=\"b.jpg\" time=\"5124095576030431:59:59\"/>\
                   <media:text start=\"\u{661}\" end=\"00:00:10\" type=\"plain\">x</media:text>\
                   </item></channel></rss>";
        assert_eq!(
            repair_xml(xml),
            "<rss version=\"2.0\"><channel><item>\
             <itunes:duration>1:02:03</itunes:duration>\
             <itunes:duration></itunes:duration>\
             <itunes:duration></itunes:duration>\
             <itunes:duration></itunes:duration>\
             <itunes:duration>\n</itunes:duration>\
             <media:thumbnail url=\"a.jpg\" time=\"12:05:01.5\"/>\
             <media:thumbnail url=\"b.jpg\"/>\
             <media:text end=\"00:00:10\" type=\"plain\">x</media:text>\
             </item></channel></rss>"
        );
    }

    #[test]
    fn declared_encoding_decodes_and_declaration_says_utf8_after() {
        let bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>caf\xE9</t>";
        assert_eq!(
            to_utf8(bytes, None),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>café</t>"
        );
    }

    #[test]
    fn declaration_wins_over_http_charset_and_http_over_guessing() {
        let declared = b"<?xml version='1.0' encoding='windows-1252'?><t>\x93hi\x94</t>";
        assert!(to_utf8(declared, Some("koi8-r")).contains("<t>“hi”</t>"));
        let undeclared = b"<t>\xC1\xD2</t>";
        assert_eq!(to_utf8(undeclared, Some("koi8-r")), "<t>ар</t>");
        assert_eq!(to_utf8(undeclared, None), "<t>ÁÒ</t>");
    }

    #[test]
    fn invalid_bytes_in_utf8_read_as_cp1252_one_by_one() {
        // Real UTF-8 "é" next to a cp1252 apostrophe and an en dash.
        let bytes = b"<t>caf\xC3\xA9 owner\x92s plan \x96 approved</t>";
        assert_eq!(to_utf8(bytes, None), "<t>café owner’s plan – approved</t>");
    }

    #[test]
    fn legacy_label_on_real_utf8_is_not_believed() {
        let bytes = "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><t>Zürich</t>".as_bytes();
        assert!(to_utf8(bytes, None).ends_with("<t>Zürich</t>"));
    }

    #[test]
    fn bare_ampersands_are_escaped_in_text_and_attributes() {
        assert_eq!(
            repair_xml("<a href=\"/x?a=1&b=2\">AT&T & co</a>"),
            "<a href=\"/x?a=1&amp;b=2\">AT&amp;T &amp; co</a>"
        );
    }

    #[test]
    fn html_entities_become_numeric_and_xml_ones_stay() {
        assert_eq!(
            repair_xml("<t>Caf&eacute;&nbsp;&amp; &lt;b&gt; &#233; &#xE9; &quot;&apos;</t>"),
            "<t>Caf&#233;&#160;&amp; &lt;b&gt; &#233; &#xE9; &quot;&apos;</t>"
        );
    }

    #[test]
    fn unknown_entity_and_unterminated_reference_are_literal() {
        assert_eq!(
            repair_xml("<t>&bogus; &eacute</t>"),
            "<t>&amp;bogus; &amp;eacute</t>"
        );
    }

    #[test]
    fn cdata_comments_and_doctype_are_untouched() {
        let xml = "<!DOCTYPE rss [<!ENTITY x \"&y;\">]><t><![CDATA[AT&T &eacute; <b>]]><!-- a & b --></t>";
        assert_eq!(repair_xml(xml), xml);
    }

    #[test]
    fn illegal_characters_and_references_to_them_are_dropped() {
        assert_eq!(
            repair_xml("<t>a\u{0}b\u{b}c\u{1f}d\u{fffe}e&#1;f&#x1F;g\th</t>"),
            "<t>abcdefg\th</t>"
        );
    }

    #[test]
    fn stray_less_than_in_text_is_escaped() {
        assert_eq!(repair_xml("<t>3 < 5 <3</t>"), "<t>3 &lt; 5 &lt;3</t>");
    }

    #[test]
    fn unquoted_attribute_values_are_quoted() {
        assert_eq!(
            repair_xml("<enclosure url=http://x.example/a.jpg type=image/jpeg/>"),
            "<enclosure url=\"http://x.example/a.jpg\" type=\"image/jpeg\"/>"
        );
    }

    #[test]
    fn rss_version_is_added_or_normalised() {
        assert_eq!(
            repair_xml("<rss>\n<channel/></rss>"),
            "<rss version=\"2.0\">\n<channel/></rss>"
        );
        assert_eq!(
            repair_xml("<rss version=\"0.94\"><channel>"),
            "<rss version=\"2.0\"><channel>"
        );
        assert_eq!(
            repair_xml("<rss version=\"0.91\"><channel>"),
            "<rss version=\"0.91\"><channel>"
        );
        // Only the root: an element called rss deeper down is left alone.
        assert_eq!(repair_xml("<feed><rss/></feed>"), "<feed><rss/></feed>");
    }

    #[test]
    fn items_directly_under_rss_get_a_channel_and_empty_rss_an_empty_one() {
        assert_eq!(
            repair_xml("<rss version=\"2.0\"><title>T</title><item/></rss>"),
            "<rss version=\"2.0\"><channel><title>T</title><item/></channel></rss>"
        );
        assert_eq!(
            repair_xml("<rss></rss>"),
            "<rss version=\"2.0\"><channel></channel></rss>"
        );
        assert_eq!(
            repair_xml("<rss version=\"2.0\" />"),
            "<rss version=\"2.0\" ><channel></channel></rss>"
        );
    }

    #[test]
    fn userland_rss_namespace_is_dropped_default_or_prefixed() {
        assert_eq!(
            repair_xml(
                "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\"><channel/></rss>"
            ),
            "<rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(
            repair_xml(
                "<r:rss version=\"2.0\" xmlns:r=\"http://backend.userland.com/rss2\">\
                 <r:channel><r:item><r:title>A</r:title></r:item></r:channel></r:rss>"
            ),
            "<rss version=\"2.0\"><channel><item><title>A</title></item></channel></rss>"
        );
    }

    #[test]
    fn rss090_namespace_reads_as_rss10_and_linkless_rdf_items_get_a_placeholder() {
        let xml = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" \
                   xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><channel/>\
                   <item rdf:about=\"urn:x:1\"><title>A</title></item>\
                   <item><title>B</title><link>http://b.example/</link></item>\
                   <item rdf:about=\"urn:x:3\"/></rdf:RDF>";
        let repaired = repair_xml(xml);
        assert!(
            repaired.contains("xmlns=\"http://purl.org/rss/1.0/\""),
            "{repaired}"
        );
        assert!(
            repaired.contains(
                "<item rdf:about=\"urn:x:1\"><link>about:blank</link><title>A</title></item>\
                 <item><title>B</title><link>http://b.example/</link></item>\
                 <item rdf:about=\"urn:x:3\"><link>about:blank</link></item>"
            ),
            "{repaired}"
        );
        assert_eq!(
            rdf_item_ids(&repaired),
            [
                Some("urn:x:1".to_string()),
                None,
                Some("urn:x:3".to_string())
            ]
        );
    }

    #[test]
    fn atom_text_construct_types_are_normalised_and_base64_decoded() {
        let xml = "<feed xmlns=\"http://www.w3.org/2005/Atom\">\
                   <title type=\"text/plain\">T</title><rights type=\"TEXT\">R</rights>\
                   <entry><title type=\"application/octet-stream\">\n  QSAmIDxiPg==\n</title>\
                   <summary type=\"image/png\">iVBORw0KGgo=</summary>\
                   <content type=\"html\" src=\"http://x.example/\"/></entry></feed>";
        assert_eq!(
            repair_xml(xml),
            "<feed xmlns=\"http://www.w3.org/2005/Atom\">\
             <title type=\"text\">T</title><rights type=\"text\">R</rights>\
             <entry><title type=\"text\">A &amp; &lt;b&gt;\n\n</title>\
             <summary type=\"text\"></summary>\
             <content src=\"http://x.example/\"/></entry></feed>"
        );
    }

    #[test]
    fn a_base64_type_on_text_that_is_not_base64_leaves_the_text() {
        let xml = "<feed xmlns=\"http://www.w3.org/2005/Atom\">\
                   <title type=\"application/x-custom\">Plain words!</title></feed>";
        assert_eq!(
            repair_xml(xml),
            "<feed xmlns=\"http://www.w3.org/2005/Atom\">\
             <title type=\"text\">Plain words!</title></feed>"
        );
    }

    #[test]
    fn atom_items_are_entries_and_uppercase_hex_references_are_lowercased() {
        assert_eq!(
            repair_xml("<feed xmlns=\"http://www.w3.org/2005/Atom\"><item>&#X41;</item></feed>"),
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>&#x41;</entry></feed>"
        );
    }

    #[test]
    fn cdf_becomes_rss2() {
        let xml = "<CHANNEL HREF=\"http://cdf.example/\"><TITLE>C</TITLE>\
                   <ITEM HREF=\"http://cdf.example/1\" LASTMOD=\"2004-04-06T23:05:43-05:00\">\
                   <ABSTRACT>About</ABSTRACT></ITEM><ITEM HREF=\"http://cdf.example/2\"/></CHANNEL>";
        assert_eq!(
            repair_xml(xml),
            "<rss version=\"2.0\"><channel><link>http://cdf.example/</link><title>C</title>\
             <item><link>http://cdf.example/1</link>\
             <pubDate>2004-04-06T23:05:43-05:00</pubDate><description>About</description></item>\
             <item><link>http://cdf.example/2</link></item></channel></rss>"
        );
    }

    #[test]
    fn xml_base_that_is_not_a_url_is_dropped() {
        assert_eq!(
            repair_xml("<feed xml:base=\"http://[bad\"><entry xml:base=\"/ok/\"/></feed>"),
            "<feed><entry xml:base=\"/ok/\"/></feed>"
        );
    }

    #[test]
    fn json_feed_bare_versions_become_version_urls() {
        for (declared, url) in [
            ("1", "https://jsonfeed.org/version/1"),
            ("1.0", "https://jsonfeed.org/version/1"),
            ("1.1", "https://jsonfeed.org/version/1.1"),
            ("1.2", "https://jsonfeed.org/version/1.1"),
            (
                "jsonfeed.org/version/1.1",
                "https://jsonfeed.org/version/1.1",
            ),
            (
                "http://jsonfeed.org/version/1",
                "https://jsonfeed.org/version/1",
            ),
        ] {
            assert_eq!(
                json_feed_version(declared).as_deref(),
                Some(url),
                "{declared}"
            );
        }
        assert_eq!(json_feed_version("2.0"), None);
        assert_eq!(json_feed_version("https://jsonfeed.org/version/2"), None);
    }

    #[test]
    fn atom03_is_rewritten_to_atom10() {
        let xml = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\">\
                   <tagline mode=\"escaped\" type=\"text/html\">x</tagline>\
                   <entry><issued>2005</issued><modified>2006</modified>\
                   <content type=\"application/xhtml+xml\" mode=\"xml\"><div/></content></entry></feed>";
        assert_eq!(
            repair_xml(xml),
            "<feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\">\
             <subtitle type=\"html\">x</subtitle>\
             <entry><published>2005</published><updated>2006</updated>\
             <content type=\"xhtml\"><div/></content></entry></feed>"
        );
    }

    #[test]
    fn atom10_elements_named_like_atom03_are_not_renamed() {
        let xml = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><modified>x</modified></feed>";
        assert_eq!(repair_xml(xml), xml);
    }

    #[test]
    fn json_feed_numeric_ids_and_string_tags_are_repaired() {
        let repaired = repair_json_feed(
            r#"{"version":"http://jsonfeed.org/version/1","title":"T",
                "items":[{"id":42,"tags":"news"},{"id":"a","tags":["x",7,null]}]}"#,
        )
        .expect("json");
        let value: Value = serde_json::from_str(&repaired).expect("valid json");
        assert_eq!(value["version"], "https://jsonfeed.org/version/1");
        assert_eq!(value["items"][0]["id"], "42");
        assert_eq!(value["items"][0]["tags"], serde_json::json!(["news"]));
        assert_eq!(value["items"][1]["tags"], serde_json::json!(["x", "7"]));
    }

    #[test]
    fn json_feed_without_version_or_title_gets_defaults() {
        let repaired = repair_json_feed(r#"{"items":[]}"#).expect("json");
        let value: Value = serde_json::from_str(&repaired).expect("valid json");
        assert_eq!(value["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(value["title"], "");
    }

    #[test]
    fn name_length_reads_ascii_and_other_names_alike() {
        let by_chars = name_length_by_chars;
        for s in [
            "",
            "a",
            "a b",
            "dc:creator>",
            "1a",
            "-a",
            "_x.y-z:w/",
            "é",
            "éa b",
            "aé b",
            "a٣ b",
            "a\u{300}b c",
            "a→b",
            "x\u{feff}",
            ":",
            "a>",
        ] {
            assert_eq!(name_length(s), by_chars(s), "{s:?}");
        }
    }

    #[test]
    fn the_fast_searches_find_what_str_find_finds() {
        let haystacks = [
            "",
            "]",
            "]]",
            "]]>",
            "a]]]>b]]>",
            "é]]é]]>",
            "<![CDATA[x]]]]>",
            "-- --> ->",
            "?x ?> <?xml <?xml ",
            "<<?xml",
            "ünïcödé <?xm <?xml?>",
        ];
        for haystack in haystacks {
            for needle in ["]]>", "-->", "?>", ">"] {
                assert_eq!(
                    find_terminator(haystack, needle),
                    haystack.find(needle),
                    "{haystack:?} {needle:?}"
                );
            }
            assert_eq!(
                find_by_rare_byte(haystack, "<?xml", 1),
                haystack.find("<?xml"),
                "{haystack:?}"
            );
            let markup = haystack.bytes().position(|b| b == b'<' || b == b'&');
            assert_eq!(find_markup_byte(haystack), markup, "{haystack:?}");
        }
        let long = format!("{}&{}<", "x".repeat(40), "é".repeat(20));
        for start in 0..long.len() {
            if let Some(tail) = long.get(start..) {
                let markup = tail.bytes().position(|b| b == b'<' || b == b'&');
                assert_eq!(find_markup_byte(tail), markup, "{tail:?}");
                let suspicious = format!("{tail}\u{1}");
                assert!(has_suspicious_bytes(&suspicious), "{tail:?}");
                assert!(!has_suspicious_bytes(tail), "{tail:?}");
            }
        }
    }

    #[test]
    fn json_needs_repair_says_whether_the_repair_changes_anything() {
        let ok = r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[
            {"id":"a","tags":["x"],"attachments":[{"url":"u","mime_type":"a/b","size_in_bytes":3}]}]}"#;
        let cases = [
            ok,
            r#"{"version":"https://jsonfeed.org/version/1","title":"T","items":[]}"#,
            r#"{"version":"https://jsonfeed.org/version/2","title":"T","items":[]}"#,
            r#"{"version":"http://jsonfeed.org/version/1","title":"T","items":[]}"#,
            r#"{"version":"1.1","title":"T","items":[]}"#,
            r#"{"title":"T","items":[]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","items":[]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":3,"items":[]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T"}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":{}}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[],"icon":1}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[3]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"id":1}]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"summary":null}]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"tags":"x"}]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"tags":["x",1]}]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"tags":null}]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"attachments":1}]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"attachments":[1]}]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"attachments":[{"url":"u"}]}]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"attachments":[{"url":"u","mime_type":"a/b","title":2}]}]}"#,
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"attachments":[{"url":"u","mime_type":"a/b","size_in_bytes":-1}]}]}"#,
            r#"{"error":"nope"}"#,
            "[1,2]",
        ];
        for json in cases {
            let original: Value = serde_json::from_str(json).expect("valid json");
            let mut repaired = original.clone();
            let _ = repair_json_value(&mut repaired);
            assert_eq!(json_needs_repair(&original), repaired != original, "{json}");
        }
    }

    #[test]
    fn json_that_is_not_a_feed_is_left_alone() {
        let repaired = repair_json_feed(r#"{"error":"nope"}"#).expect("json");
        assert_eq!(repaired, r#"{"error":"nope"}"#);
        assert_eq!(repair_json_feed("[1,2]"), None);
        assert_eq!(repair_json_feed("not json"), None);
    }

    #[test]
    fn structure_error_names_lines_of_mismatch() {
        let xml = "<rss>\n<channel>\n<item>\n</channel>\n</rss>";
        assert_eq!(
            first_structure_error(xml).as_deref(),
            Some("line 4: `</channel>` found where `<item>` (opened on line 3) should be closed")
        );
        assert_eq!(first_structure_error("<a><![CDATA[</b>]]><c/></a>"), None);
    }

    #[test]
    fn thumbnails_are_collected_per_item() {
        let xml = "<rss xmlns:m=\"http://search.yahoo.com/mrss/\"><channel>\
                   <m:thumbnail url=\"http://x/channel.jpg\"/>\
                   <item><m:thumbnail url=\"http://x/1.jpg?a=1&amp;b=2\"/><m:thumbnail url=\"http://x/1b.jpg\"/></item>\
                   <item></item></channel></rss>";
        assert_eq!(
            media_thumbnails_by_item(xml),
            [Some("http://x/1.jpg?a=1&b=2".to_string()), None]
        );
    }
}
