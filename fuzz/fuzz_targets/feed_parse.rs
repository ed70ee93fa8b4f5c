//! Any bytes as a fetched body (clean-up, then feed-rs): `parse_feed` never panics, and every
//! item link it returns is http(s). The first byte picks the Content-Type the server claimed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newshound::sources::parse::parse_feed;

const CONTENT_TYPES: [Option<&str>; 5] = [
    None,
    Some("application/rss+xml; charset=utf-8"),
    Some("text/xml; charset=iso-8859-1"),
    Some("application/json; charset=utf-16"),
    Some("text/html; charset=windows-1252"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(pick) % CONTENT_TYPES.len()];
    if let Ok(feed) = parse_feed(body, content_type, Some("https://wire.example/feed/")) {
        for item in &feed.items {
            if let Some(link) = &item.link {
                assert!(
                    link.starts_with("http://") || link.starts_with("https://"),
                    "{link}"
                );
            }
        }
    }
});
