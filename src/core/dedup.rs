//! Item identity: which items of a source are the same item, across fetches and restarts.
//!
//! Each item gets a set of fingerprints (guid, canonical link, normalised title, or a hash of
//! title and date). An item is new for a source when *none* of its fingerprints was seen before,
//! so a changed guid with the same link, a link that gained `utm_*` parameters, a rewritten date
//! or an item that slides back into the feed does not alert again.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use url::Url;

use crate::core::model::Item;
use crate::core::text::strip_combining_marks;

/// Query parameters that only track the reader and never change which page a link points to.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "yclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "ocid",
    "cmpid",
    "ncid",
    "sr_share",
    "ref_src",
    "guccounter",
];

/// Normalised titles shorter than this many words are too generic ("Weekly update") to say
/// that two items are the same.
const MIN_TITLE_WORDS: usize = 3;

/// A link with tracking removed, so the same page always has the same text.
///
/// Lower-cases scheme and host (the `url` crate does), drops default ports, the fragment,
/// `utm_*` and other tracking parameters, and a trailing slash. Returns `None` for text that is
/// not an absolute URL.
pub fn canonical_link(raw: &str) -> Option<String> {
    let mut url = Url::parse(raw.trim()).ok()?;
    if url.cannot_be_a_base() {
        return None;
    }
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    let mut text = url.to_string();
    if url.path() != "/" && url.query().is_none() && text.ends_with('/') {
        text.pop();
    } else if url.path() == "/" && url.query().is_none() {
        // "https://example.com/" and "https://example.com" are the same page.
        text = text.trim_end_matches('/').to_string();
    }
    Some(text)
}

/// A title reduced to lower-case, accent-folded words separated by single spaces.
pub fn normalized_title(title: &str) -> String {
    let folded = strip_combining_marks(title).to_lowercase();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// SHA-256 over length-prefixed fields, hex, so ("ab","c") and ("a","bc") differ.
pub fn fields_hash(fields: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for field in fields {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    hex(&hasher.finalize()[..16])
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Whether a fetch's guids can identify its items: every item has one and no two share one.
pub fn guids_usable(items: &[Item]) -> bool {
    let mut seen = std::collections::HashSet::new();
    !items.is_empty()
        && items.iter().all(|item| {
            item.guid
                .as_deref()
                .map(str::trim)
                .is_some_and(|g| !g.is_empty() && seen.insert(g))
        })
}

/// The identity of one item: its primary key and every fingerprint that may recognise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemKeys {
    /// The key the item is stored under: `g:<guid>`, `l:<canonical link>` or `h:<hash>`.
    pub primary: String,
    /// All fingerprints, the primary first. Seen if any of them was seen.
    pub all: Vec<String>,
}

/// Computes an item's fingerprints. `use_guid` comes from [`guids_usable`] over the same fetch.
pub fn item_keys(item: &Item, use_guid: bool) -> ItemKeys {
    let mut all = Vec::with_capacity(3);
    if use_guid {
        if let Some(guid) = item
            .guid
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
        {
            all.push(format!("g:{guid}"));
        }
    }
    if let Some(link) = item.link.as_deref().and_then(canonical_link) {
        all.push(format!("l:{link}"));
    }
    let title = normalized_title(&item.title);
    if title.split(' ').count() >= MIN_TITLE_WORDS {
        all.push(format!("t:{title}"));
    }
    if all.is_empty() {
        let date = item
            .published
            .map(|d: DateTime<Utc>| d.to_rfc3339())
            .unwrap_or_default();
        let text = normalized_title(&crate::core::summary::html_to_text(&item.summary_html));
        all.push(format!("h:{}", fields_hash(&[&item.title, &date, &text])));
    }
    let primary = all[0].clone();
    ItemKeys { primary, all }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(guid: Option<&str>, link: Option<&str>, title: &str) -> Item {
        Item {
            guid: guid.map(String::from),
            link: link.map(String::from),
            title: title.to_string(),
            ..Item::default()
        }
    }

    #[test]
    fn canonical_link_strips_tracking_and_fragment() {
        assert_eq!(
            canonical_link("HTTPS://Example.COM/news/story/?utm_source=x&id=7&fbclid=abc#top"),
            Some("https://example.com/news/story/?id=7".to_string())
        );
        assert_eq!(
            canonical_link("https://example.com/news/story/"),
            canonical_link("https://example.com/news/story?utm_medium=rss")
        );
    }

    #[test]
    fn canonical_link_rejects_non_urls() {
        assert_eq!(canonical_link("not a url"), None);
        assert_eq!(canonical_link("mailto:a@b.c"), None);
    }

    #[test]
    fn hash_is_length_prefixed() {
        assert_ne!(fields_hash(&["ab", "c"]), fields_hash(&["a", "bc"]));
        assert_eq!(fields_hash(&["a", "b"]), fields_hash(&["a", "b"]));
    }

    #[test]
    fn guid_is_primary_when_usable() {
        let a = item(
            Some("id-1"),
            Some("https://x.test/a"),
            "Meta signs Gemini deal",
        );
        let keys = item_keys(&a, true);
        assert_eq!(keys.primary, "g:id-1");
        assert_eq!(
            keys.all,
            vec!["g:id-1", "l:https://x.test/a", "t:meta signs gemini deal"]
        );
    }

    #[test]
    fn duplicated_guids_are_not_usable() {
        let items = vec![
            item(Some("same"), None, "One"),
            item(Some("same"), None, "Two"),
        ];
        assert!(!guids_usable(&items));
        let items = vec![item(Some("a"), None, "One"), item(None, None, "Two")];
        assert!(!guids_usable(&items));
    }

    #[test]
    fn short_generic_titles_are_not_fingerprints() {
        let keys = item_keys(&item(None, None, "Weekly update"), false);
        assert!(keys.primary.starts_with("h:"), "{keys:?}");
    }

    #[test]
    fn item_without_anything_gets_a_stable_hash() {
        let a = item(None, None, "Hi");
        assert_eq!(item_keys(&a, false), item_keys(&a, false));
    }

    #[test]
    fn normalized_title_folds_case_accents_and_punctuation() {
        assert_eq!(
            normalized_title("Nestlé’s  NEW  plan!"),
            "nestle s new plan"
        );
    }
}
