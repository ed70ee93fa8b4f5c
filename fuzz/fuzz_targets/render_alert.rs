//! Any alert rendered for Discord: never panics, and every message is within Discord's limits
//! with exactly the subscribers' user ids allowed to be mentioned.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use newshound::core::alert::Alert;
use newshound::core::limits::{
    ALLOWED_MENTIONS_USERS_MAX, EMBED_AUTHOR_NAME_MAX, EMBED_DESCRIPTION_MAX, EMBED_FIELD_NAME_MAX,
    EMBED_FIELD_VALUE_MAX, EMBED_TITLE_MAX, EMBED_TOTAL_MAX, MESSAGE_CONTENT_MAX, NONCE_MAX,
};
use newshound::discord::render::render_alert;
use serde_json::Value;

#[derive(Debug, Arbitrary)]
struct Input {
    id: i64,
    source: String,
    title: String,
    link: Option<String>,
    published: Option<i32>,
    summary: String,
    matched: Vec<String>,
    subscribers: Vec<String>,
    /// Adds this many numeric subscribers, to reach the 100-mention and 2000-char splits.
    extra_members: u16,
    target: String,
    image: Option<String>,
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fuzz_target!(|input: Input| {
    let mut subscribers = input.subscribers;
    subscribers.extend(
        (0..input.extra_members % 600)
            .map(|i| format!("{}", 100_000_000_000_000_000u64 + u64::from(i))),
    );
    let alert = Alert {
        id: input.id,
        source: input.source,
        title: input.title,
        link: input.link,
        published: input
            .published
            .and_then(|s| chrono::DateTime::from_timestamp(i64::from(s), 0)),
        summary: input.summary,
        matched: input.matched,
        subscribers,
        target: input.target,
        image: input.image,
        // Fields this target does not vary (e.g. `also_of`) keep their defaults, so a new field
        // in `Alert` does not break the fuzz build.
        ..Alert::default()
    };
    let outbox = input.id.checked_abs().unwrap_or(1).max(1);
    for m in render_alert(&alert, outbox) {
        let p = &m.payload;
        assert!(chars(&p["content"]) <= MESSAGE_CONTENT_MAX);
        assert!(chars(&p["nonce"]) <= NONCE_MAX);
        assert_eq!(p["allowed_mentions"]["parse"], serde_json::json!([]));
        let users = p["allowed_mentions"]["users"]
            .as_array()
            .map_or(0, Vec::len);
        assert!(users <= ALLOWED_MENTIONS_USERS_MAX);
        let mut total = 0;
        for e in p["embeds"].as_array().into_iter().flatten() {
            assert!(chars(&e["title"]) <= EMBED_TITLE_MAX);
            assert!(chars(&e["description"]) <= EMBED_DESCRIPTION_MAX);
            assert!(chars(&e["author"]["name"]) <= EMBED_AUTHOR_NAME_MAX);
            total += chars(&e["title"]) + chars(&e["description"]) + chars(&e["author"]["name"]);
            for f in e["fields"].as_array().into_iter().flatten() {
                assert!(chars(&f["name"]) <= EMBED_FIELD_NAME_MAX);
                assert!(chars(&f["value"]) <= EMBED_FIELD_VALUE_MAX);
                total += chars(&f["name"]) + chars(&f["value"]);
            }
        }
        assert!(total <= EMBED_TOTAL_MAX, "{total}");
    }
});
