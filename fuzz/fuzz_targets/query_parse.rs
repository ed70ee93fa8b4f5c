//! Any text as a query: `parse` never panics, and what it accepts round-trips through Display.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newshound::core::query;

fuzz_target!(|text: &str| {
    if let Ok(q) = query::parse(text) {
        let shown = q.to_string();
        assert_eq!(
            query::parse(&shown).as_ref(),
            Ok(&q),
            "{text:?} shown as {shown:?}"
        );
    }
});
