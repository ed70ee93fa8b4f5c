//! RSS-in-JSON (Dave Winer's `{"rss": {"channel": {"item": [...]}}}`, also what XML-to-JSON
//! converters make of an RSS feed): written back as RSS 2.0 XML, which the XML path reads.
//!
//! The mapping is the one those converters use: an object under `channel`, `item`, `image` or
//! `textInput` holds child elements; any other object is one element whose scalar members are
//! its attributes and whose `value` / `#value` / `#text` / `_` member is its text (`guid`
//! with `isPermaLink`, `enclosure` with `url`, `type`, `length`); `@name` members and an
//! `@attributes` object are attributes too; an array repeats its element.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// Elements whose JSON objects hold child elements rather than attributes.
const CONTAINERS: [&str; 5] = ["channel", "item", "image", "textInput", "textinput"];
/// Members that hold an element's text.
const TEXT_KEYS: [&str; 5] = ["value", "#value", "#text", "_", "$t"];
/// Namespace prefixes RSS-in-JSON feeds use without declaring them; any other prefixed member
/// is dropped (an undeclared prefix would make the XML invalid).
const NAMESPACES: [(&str, &str); 6] = [
    ("content", "http://purl.org/rss/1.0/modules/content/"),
    ("dc", "http://purl.org/dc/elements/1.1/"),
    ("media", "http://search.yahoo.com/mrss/"),
    ("atom", "http://www.w3.org/2005/Atom"),
    ("itunes", "http://www.itunes.com/dtds/podcast-1.0.dtd"),
    ("slash", "http://purl.org/rss/1.0/modules/slash/"),
];
/// How deep objects may nest before the rest is dropped (real feeds nest 4 levels).
const MAX_DEPTH: usize = 16;

/// The RSS 2.0 document a JSON value in RSS-in-JSON form stands for; `None` when `value` is
/// not `{"rss": {"channel": {...}}}`.
pub(crate) fn to_rss_xml(value: &Value) -> Option<String> {
    let rss = value.get("rss")?.as_object()?;
    let channel = rss.get("channel")?.as_object()?;
    let mut xml = String::with_capacity(4096);
    xml.push_str("<rss version=\"2.0\"");
    for (prefix, uri) in NAMESPACES {
        let _ = write!(xml, " xmlns:{prefix}=\"{uri}\"");
    }
    xml.push_str("><channel>");
    write_children(&mut xml, channel, 0);
    xml.push_str("</channel></rss>");
    Some(xml)
}

/// Writes each member of a container object as child elements.
fn write_children(xml: &mut String, object: &Map<String, Value>, depth: usize) {
    for (name, value) in object {
        if name.starts_with('@') || !is_usable_name(name) {
            continue;
        }
        match value {
            Value::Array(values) => {
                for value in values {
                    write_element(xml, name, value, depth + 1);
                }
            }
            value => write_element(xml, name, value, depth + 1),
        }
    }
}

/// Writes one element `<name>` for `value`.
fn write_element(xml: &mut String, name: &str, value: &Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Null | Value::Array(_) => {}
        Value::Object(object) if CONTAINERS.contains(&name) => {
            let _ = write!(xml, "<{name}>");
            write_children(xml, object, depth);
            let _ = write!(xml, "</{name}>");
        }
        Value::Object(object) => write_leaf(xml, name, object),
        scalar => {
            let text = scalar_text(scalar).unwrap_or_default();
            let _ = write!(xml, "<{name}>{}</{name}>", html_escape::encode_text(&text));
        }
    }
}

/// Writes an element whose scalar members are attributes and whose text member is its text.
fn write_leaf(xml: &mut String, name: &str, object: &Map<String, Value>) {
    let _ = write!(xml, "<{name}");
    let nested = object
        .get("@attributes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten();
    let mut text = String::new();
    for (key, value) in object.iter().chain(nested) {
        let Some(value) = scalar_text(value) else {
            continue;
        };
        let attribute = key.strip_prefix('@').unwrap_or(key);
        if TEXT_KEYS.contains(&key.as_str()) {
            text = value;
        } else if is_usable_name(attribute) && !attribute.contains(':') {
            let value = html_escape::encode_double_quoted_attribute(&value);
            let _ = write!(xml, " {attribute}=\"{value}\"");
        }
    }
    let _ = write!(xml, ">{}</{name}>", html_escape::encode_text(&text));
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An XML name we can write as it is: ASCII letters, digits, `_`, `-`, `.`, and at most one
/// `:` after a prefix we declare.
fn is_usable_name(name: &str) -> bool {
    let (prefix, local) = match name.split_once(':') {
        Some((prefix, local)) => (Some(prefix), local),
        None => (None, name),
    };
    let valid_local = local
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    valid_local && prefix.is_none_or(|p| NAMESPACES.iter().any(|(known, _)| *known == p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_and_items_become_rss_elements() {
        let value = serde_json::json!({"rss": {"version": "2.0", "channel": {
        "title": "Scripting News",
        "item": [
            {"title": "A & B", "link": "http://scripting.example/a",
             "guid": {"isPermaLink": "false", "value": "a-1"}},
            {"title": "C", "enclosure": {"url": "http://x.example/c.mp3", "type": "audio/mpeg"}}
        ]}}});
        let xml = to_rss_xml(&value).expect("rss-in-json");
        assert!(xml.contains("<title>Scripting News</title>"), "{xml}");
        // Members come out in key order: element order does not matter in RSS.
        assert!(
            xml.contains(
                "<item><guid isPermaLink=\"false\">a-1</guid>\
                 <link>http://scripting.example/a</link><title>A &amp; B</title></item>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<enclosure type=\"audio/mpeg\" url=\"http://x.example/c.mp3\"></enclosure>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn a_single_item_object_is_one_item() {
        let value = serde_json::json!({"rss": {"channel": {"item": {"title": "Only"}}}});
        let xml = to_rss_xml(&value).expect("rss-in-json");
        assert!(xml.contains("<item><title>Only</title></item>"), "{xml}");
    }

    #[test]
    fn unusable_names_and_undeclared_prefixes_are_dropped() {
        let value = serde_json::json!({"rss": {"channel": {
            "bad name": "x", "foo:bar": "y", "dc:creator": "Ann", "1st": "z"}}});
        let xml = to_rss_xml(&value).expect("rss-in-json");
        assert!(
            xml.ends_with("<channel><dc:creator>Ann</dc:creator></channel></rss>"),
            "{xml}"
        );
    }

    #[test]
    fn json_that_is_not_rss_in_json_is_not_converted() {
        assert_eq!(to_rss_xml(&serde_json::json!({"items": []})), None);
        assert_eq!(to_rss_xml(&serde_json::json!({"rss": "x"})), None);
    }
}
