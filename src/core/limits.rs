//! (stub: being written on branch `render`)
#![allow(dead_code, clippy::pedantic)]
pub fn escape_markdown(text: &str) -> String {
    text.replace('@', "@\u{200B}")
}
