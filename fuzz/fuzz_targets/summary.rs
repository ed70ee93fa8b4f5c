//! Any HTML as an item's description and content: the summary never panics, fits the budget
//! and has no blank line (paragraphs may each have their own line, as in
//! `tests/proptest_bad_input.rs` `summary_fits_and_is_plain_text`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use newshound::core::summary::summarize;

fuzz_target!(|input: (u16, &str, &str)| {
    let (max, summary_html, content_html) = input;
    let max = usize::from(max % 1024);
    let out = summarize(summary_html, content_html, max);
    assert!(
        out.chars().count() <= max,
        "{} > {max}: {out:?}",
        out.chars().count()
    );
    assert!(!out.contains("\n\n"), "{out:?}");
});
