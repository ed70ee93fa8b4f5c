//! Any HTML as an item's description and content: the summary never panics, fits the budget
//! and is one line.
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
    assert!(!out.contains('\n'), "{out:?}");
});
