//! Optional AI summaries through any OpenAI-compatible chat-completions endpoint. Off by
//! default; on timeout, error, a malformed answer or an exhausted hourly budget the caller
//! keeps the extractive summary. The answer is untrusted text: it is cleaned and length-checked
//! like feed text (the Discord renderer escapes mentions and markdown on top).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::core::summary::{collapse_whitespace, truncate_at_boundary};

/// `[summarizer] kind = "openai"` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// e.g. `https://api.openai.com/v1` or a local server's `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    pub model: String,
    /// Name of the environment variable holding the API key (may be unset for local servers).
    pub api_key_env: Option<String>,
    pub timeout: Duration,
    pub max_per_hour: usize,
}

/// Article text beyond this is not sent.
const MAX_INPUT_CHARS: usize = 6000;
/// Answers shorter than this are not a summary.
const MIN_ANSWER_CHARS: usize = 20;

/// The chat-completions request body. Pure.
pub fn request_body(model: &str, title: &str, text: &str) -> serde_json::Value {
    let text: String = text.chars().take(MAX_INPUT_CHARS).collect();
    json!({
        "model": model,
        "temperature": 0.2,
        "max_tokens": 160,
        "messages": [
            {"role": "system", "content": "You summarise news articles. Write a neutral two-sentence summary of the article the user gives. Plain text only: no markdown, no lists, no links, no mentions, no preamble."},
            {"role": "user", "content": format!("Title: {title}\n\nArticle:\n{text}")}
        ]
    })
}

/// The summary from a chat-completions answer, cleaned and fitted, or why it is unusable. Pure.
pub fn answer_text(answer: &serde_json::Value, max_chars: usize) -> Result<String, String> {
    let content = answer
        .pointer("/choices/0/message/content")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| "the answer has no choices[0].message.content".to_string())?;
    let cleaned: String = content
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(|c| !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'))
        .collect();
    let cleaned = collapse_whitespace(&cleaned);
    if cleaned.chars().count() < MIN_ANSWER_CHARS {
        return Err(format!(
            "the answer is too short to be a summary ({} characters)",
            cleaned.chars().count()
        ));
    }
    Ok(truncate_at_boundary(&cleaned, max_chars))
}

/// Calls the endpoint within a per-hour budget.
pub struct AiSummarizer {
    config: OpenAiConfig,
    client: reqwest::Client,
    api_key: Option<String>,
    recent: Mutex<VecDeque<Instant>>,
}

impl AiSummarizer {
    pub fn new(config: OpenAiConfig, client: reqwest::Client) -> Self {
        let api_key = config
            .api_key_env
            .as_deref()
            .and_then(|name| std::env::var(name).ok())
            .filter(|k| !k.trim().is_empty());
        AiSummarizer {
            config,
            client,
            api_key,
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// Takes one call from the hourly budget, if any is left.
    fn take_budget(&self) -> bool {
        let Ok(mut recent) = self.recent.lock() else {
            return false;
        };
        let now = Instant::now();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(3600))
        {
            recent.pop_front();
        }
        if recent.len() >= self.config.max_per_hour {
            return false;
        }
        recent.push_back(now);
        true
    }

    /// A two-sentence summary, or why none (the caller then keeps the extractive one).
    pub async fn summarize(
        &self,
        title: &str,
        text: &str,
        max_chars: usize,
    ) -> Result<String, String> {
        if !self.take_budget() {
            return Err(format!(
                "hourly budget of {} summaries used up",
                self.config.max_per_hour
            ));
        }
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let mut request = self
            .client
            .post(&url)
            .timeout(self.config.timeout)
            .json(&request_body(&self.config.model, title, text));
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("the summarizer timed out after {:?}", self.config.timeout)
            } else {
                "the summarizer could not be reached".to_string()
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the summarizer answered HTTP {}", status.as_u16()));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|_| "the summarizer's answer is not JSON".to_string())?;
        answer_text(&body, max_chars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_asks_for_a_neutral_two_sentence_summary() {
        let body = request_body("m", "Title", &"x".repeat(10_000));
        assert_eq!(body["model"], "m");
        assert!(body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("neutral two-sentence summary"));
        assert!(
            body["messages"][1]["content"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                < 6100
        );
    }

    #[test]
    fn answer_is_cleaned_and_fitted() {
        let answer = json!({"choices": [{"message": {"content": "  Meta is in talks\nwith Google.\u{202E} It may use Gemini for ads.  "}}]});
        assert_eq!(
            answer_text(&answer, 300).unwrap(),
            "Meta is in talks with Google. It may use Gemini for ads."
        );
        let long = json!({"choices": [{"message": {"content": "word ".repeat(200)}}]});
        assert!(answer_text(&long, 100).unwrap().chars().count() <= 100);
    }

    #[test]
    fn malformed_or_empty_answers_are_refused() {
        assert!(answer_text(&json!({"error": "x"}), 300).is_err());
        assert!(answer_text(&json!({"choices": [{"message": {"content": "ok"}}]}), 300).is_err());
    }
}
