//! The `newshound` binary: install the panic hook, then parse the command line, set up logging,
//! run, map errors to exit codes (`cli::main`).

use std::any::Any;
use std::borrow::Cow;
use std::panic::{Location, PanicHookInfo};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Panics that newshound catches (feed-rs on one document, a task) must not dump a
    // multi-line backtrace into the log; one error line says where and what. Developers who
    // want the backtrace set RUST_BACKTRACE (to anything but 0), which keeps Rust's default
    // report.
    if std::env::var_os("RUST_BACKTRACE").is_none_or(|v| v == "0") {
        std::panic::set_hook(Box::new(log_panic));
    }
    newshound::cli::main()
}

/// The panic hook: one `tracing` error line (stderr directly if logging is not set up yet).
fn log_panic(info: &PanicHookInfo<'_>) {
    let token = std::env::var("DISCORD_TOKEN").ok();
    let thread = std::thread::current();
    let line = panic_line(
        info.location(),
        thread.name(),
        panic_message(info.payload()),
        token.as_deref(),
    );
    if tracing::dispatcher::has_been_set() {
        tracing::error!("{line}");
    } else {
        eprintln!("error: {line}");
    }
}

/// The text a panic was raised with (`panic!("...")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// One log line for a panic: where, on which thread, and the message on one line with the bot
/// token (and anything shaped like a Discord token) replaced by `<redacted>`.
fn panic_line(
    location: Option<&Location<'_>>,
    thread: Option<&str>,
    message: &str,
    token: Option<&str>,
) -> String {
    let place = location.map_or_else(
        || "an unknown place".to_string(),
        |l| format!("{}:{}:{}", l.file(), l.line(), l.column()),
    );
    let message = redact(message, token);
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "panic at {place} (thread '{}'): {message} (set RUST_BACKTRACE=1 for a backtrace)",
        thread.unwrap_or("unnamed")
    )
}

/// `text` with `token` and every Discord-token-shaped word replaced by `<redacted>`.
fn redact<'a>(text: &'a str, token: Option<&str>) -> Cow<'a, str> {
    let mut text = Cow::Borrowed(text);
    if let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) {
        if text.contains(token) {
            text = Cow::Owned(text.replace(token, "<redacted>"));
        }
    }
    if !text
        .split(|c: char| !is_token_char(c))
        .any(looks_like_a_token)
    {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_ref();
    while let Some(start) = rest.find(is_token_char) {
        out.push_str(&rest[..start]);
        let len = rest[start..]
            .find(|c: char| !is_token_char(c))
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + len];
        let core = word.trim_matches('.');
        if looks_like_a_token(word) {
            // `word` may carry a sentence's full stop: keep the dots around the token.
            let leading = word.len() - word.trim_start_matches('.').len();
            out.push_str(&word[..leading]);
            out.push_str("<redacted>");
            out.push_str(&word[leading + core.len()..]);
        } else {
            out.push_str(word);
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// A Discord bot token is three base64url parts joined by dots: the bot's id (24+ characters),
/// a timestamp (6) and an HMAC (27+).
/// Dots around the word (a full stop) are not part of it.
fn looks_like_a_token(word: &str) -> bool {
    let parts: Vec<&str> = word.trim_matches('.').split('.').collect();
    matches!(parts.as_slice(), [id, time, hmac]
        if id.len() >= 16 && time.len() >= 4 && hmac.len() >= 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL_LOOKING: &str =
        "MTA5ODc2NTQzMjEwOTg3NjU0.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB";

    #[test]
    fn the_line_names_the_place_the_thread_and_the_message_on_one_line() {
        let line = panic_line(
            Some(Location::caller()),
            Some("tokio-runtime-worker"),
            "set_encoding() called after\n  prefix buffer was drained",
            None,
        );
        assert!(line.starts_with("panic at src/main.rs:"), "{line}");
        assert!(line.contains("(thread 'tokio-runtime-worker')"), "{line}");
        assert!(
            line.contains(": set_encoding() called after prefix buffer was drained ("),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
    }

    #[test]
    fn the_token_is_redacted_whatever_its_shape() {
        let line = panic_line(
            None,
            None,
            "bad header value Bot e2e-secret-token-value in request",
            Some("e2e-secret-token-value"),
        );
        assert!(!line.contains("e2e-secret-token-value"), "{line}");
        assert!(line.contains("Bot <redacted> in request"), "{line}");
    }

    #[test]
    fn discord_shaped_tokens_are_redacted_even_when_not_known() {
        let message = format!("Authorization: Bot {REAL_LOOKING}, retrying");
        let line = panic_line(None, None, &message, None);
        assert!(!line.contains(REAL_LOOKING), "{line}");
        assert!(line.contains("Bot <redacted>, retrying"), "{line}");
        let message = format!("the token was {REAL_LOOKING}.");
        assert_eq!(redact(&message, None), "the token was <redacted>.");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "index out of bounds: the len is 3 but the index is 7",
            "called `Option::unwrap()` on a `None` value at news.example.com/feed.xml",
            "v1.2.3 of some_crate",
        ] {
            assert_eq!(redact(text, Some("e2e-secret-token-value")), text);
        }
    }

    #[test]
    fn panic_payloads_of_both_kinds_are_read() {
        let borrowed: Box<dyn Any + Send> = Box::new("static text");
        let owned: Box<dyn Any + Send> = Box::new(String::from("formatted 42"));
        let other: Box<dyn Any + Send> = Box::new(42_u8);
        assert_eq!(panic_message(borrowed.as_ref()), "static text");
        assert_eq!(panic_message(owned.as_ref()), "formatted 42");
        assert_eq!(panic_message(other.as_ref()), "(no message)");
    }
}
