//! Rendering an alert into the Discord messages that deliver it: one embed that fits every
//! Discord limit, mentions for exactly the members it is for (split over follow-ups when there
//! are too many), and nothing from the feed that can format or ping.

use std::collections::HashSet;
use std::ops::Range;

use serde_json::{json, Map, Value};

use crate::core::alert::Alert;
use crate::core::digest::{Digest, DigestEntry};
use crate::core::limits::{
    self, ALLOWED_MENTIONS_USERS_MAX, EMBED_AUTHOR_NAME_MAX, EMBED_DESCRIPTION_MAX,
    EMBED_FIELD_VALUE_MAX, EMBED_TITLE_MAX, EMBED_TOTAL_MAX, MESSAGE_CONTENT_MAX, NONCE_MAX,
};
use crate::core::summary::collapse_whitespace;
use crate::core::text::{self, Field};
use crate::discord::OutgoingMessage;

/// The embed's side colour (an amber "hound" orange).
pub const EMBED_COLOR: u32 = 0x00E6_7E22;

/// The embed title of an item whose feed gave it none: an embed needs something to show.
const UNTITLED: &str = "Untitled item";
const MATCHED_FIELD: &str = "Matched";
const PUBLISHED_FIELD: &str = "Published";

/// The messages that deliver `alert`, in posting order.
///
/// The first carries the embed and mentions (`<@id>`) the first members; the rest mention the
/// remaining members in content-only follow-ups, each within 2000 chars and 100 users. Only
/// subscribers that are Discord user ids (1-20 digits) are mentioned; a channel-wide alert is
/// the embed alone. Every message allows exactly the users it mentions and carries the nonce
/// `nh{outbox_id}-{part}` (part counts from 1) with `enforce_nonce`, so a retry never posts
/// twice.
pub fn render_alert(alert: &Alert, outbox_id: i64) -> Vec<OutgoingMessage> {
    let title = embed_title(&alert.title);
    let embed = render_embed(alert, &title);
    let more = format!(" — more members for: {title}");
    // The title is at most 256 chars, so a follow-up always has room for many mentions.
    let follow_up_budget = MESSAGE_CONTENT_MAX.saturating_sub(limits::char_count(&more));
    let ids = member_ids(&alert.subscribers);
    let mut groups = group_mentions(&ids, MESSAGE_CONTENT_MAX, follow_up_budget).into_iter();

    let first = groups.next().unwrap_or_default();
    let mut messages = vec![message(outbox_id, 1, &first, "", Some(embed))];
    for (n, group) in groups.enumerate() {
        messages.push(message(outbox_id, n + 2, &group, &more, None));
    }
    messages
}

/// Longest item title in a digest line (the full title is one click away).
const DIGEST_TITLE_MAX: usize = 200;
/// Room kept in each digest embed below Discord's 4096-char description limit.
const DIGEST_DESCRIPTION_BUDGET: usize = EMBED_DESCRIPTION_MAX - 96;

/// The messages that deliver a digest: numbered lines `1. [Title](link) — Source · **Meta**`
/// in the order the items were found, one embed per message, split when the list outgrows an
/// embed ("(1/2)"). For a channel target the first message mentions the member — and only the
/// member may be pinged; in DMs nobody is mentioned. Nonces are `nd{digest_id}-{part}`.
pub fn render_digest(digest: &Digest, mention: Option<u64>) -> Vec<OutgoingMessage> {
    let lines: Vec<String> = digest
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| digest_line(i + 1, e))
        .collect();
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in lines {
        if !current.is_empty()
            && limits::char_count(&current) + 1 + limits::char_count(&line)
                > DIGEST_DESCRIPTION_BUDGET
        {
            chunks.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    let parts = chunks.len();
    let heading = digest.heading();
    chunks
        .into_iter()
        .enumerate()
        .map(|(n, description)| {
            let title = if parts > 1 {
                format!("{heading} ({}/{parts})", n + 1)
            } else {
                heading.clone()
            };
            let mut payload = Map::new();
            let ids: Vec<String> = match mention {
                Some(user) if n == 0 => {
                    payload.insert("content".into(), json!(format!("<@{user}>")));
                    vec![user.to_string()]
                }
                _ => Vec::new(),
            };
            payload.insert(
                "embeds".into(),
                json!([{
                    "title": limits::fit(&title, EMBED_TITLE_MAX),
                    "description": description,
                    "color": EMBED_COLOR,
                }]),
            );
            payload.insert(
                "allowed_mentions".into(),
                json!({ "parse": [], "users": ids }),
            );
            payload.insert("nonce".into(), json!(format!("nd{}-{}", digest.id, n + 1)));
            payload.insert("enforce_nonce".into(), json!(true));
            OutgoingMessage {
                payload: Value::Object(payload),
            }
        })
        .collect()
}

/// A URL for a markdown link: parentheses and spaces would end the link early.
fn link_target(url: &str) -> String {
    url.replace('(', "%28")
        .replace(')', "%29")
        .replace(' ', "%20")
}

/// `3. [Title](https://…) — Source · **Meta**, **Gemini**`, every part from the feed escaped.
fn digest_line(n: usize, entry: &DigestEntry) -> String {
    let title = collapse_whitespace(&entry.title);
    let title = if title.is_empty() {
        UNTITLED.to_string()
    } else {
        title
    };
    let title = limits::fit_rendered(&title, DIGEST_TITLE_MAX, limits::escape_markdown);
    // A very long link would crowd out the other items: the title alone then.
    let linked = match entry
        .link
        .as_deref()
        .filter(|l| is_web_url(l) && l.len() <= 1000)
    {
        Some(link) => format!("[{title}]({})", link_target(link)),
        None => title,
    };
    let source = limits::fit_rendered(
        &collapse_whitespace(&entry.source),
        80,
        limits::escape_markdown,
    );
    let matched: Vec<String> = entry
        .matched
        .iter()
        .map(|t| format!("**{}**", limits::escape_markdown(t)))
        .collect();
    let mut line = format!("{n}. {linked} — {source}");
    if !matched.is_empty() {
        line.push_str(" · ");
        line.push_str(&matched.join(", "));
    }
    // Other outlets' reports of the same story, each linked when it can be (at most five).
    if !entry.also.is_empty() {
        let also: Vec<String> = entry
            .also
            .iter()
            .take(5)
            .map(|(source, link)| {
                let name =
                    limits::fit_rendered(&collapse_whitespace(source), 60, limits::escape_markdown);
                match link.as_deref().filter(|l| is_web_url(l) && l.len() <= 300) {
                    Some(l) => format!("[{name}]({})", link_target(l)),
                    None => name,
                }
            })
            .collect();
        line.push_str(" (also: ");
        line.push_str(&also.join(", "));
        line.push(')');
    }
    line
}

/// `summary` escaped for Discord with what `matched` matched in **bold** — exactly that.
///
/// Terms are as an alert lists them (`Meta`, `"Google Cloud"`, `gem*`, `title:Nestle`) and are
/// found by [`text::find_terms`] under the matcher's own rules: whole words, the case rule
/// (`Meta` bolds `Meta` and `META`, never `meta` in "meta-analysis"), accents folded (`Nestle`
/// bolds "Nestlé"), a phrase as a unit and never across a sentence or clause break, a prefix
/// term's whole words, nothing inside a link. A `title:` term matched the title, so it bolds
/// nothing in the summary.
pub fn bold_matches(summary: &str, matched: &[String]) -> String {
    let (needles, _) = text::needles(matched);
    let mut spans: Vec<Range<usize>> = Vec::new();
    for (span, _) in text::find_terms(summary, &needles, Field::Body) {
        match spans.last_mut() {
            // Touching spans become one: "****" between them would not render as bold.
            Some(last) if last.end == span.start => last.end = span.end,
            _ => spans.push(span),
        }
    }
    limits::escape_with_bold(summary, &spans)
}

/// The escaped title, fitted to Discord's title limit.
fn embed_title(title: &str) -> String {
    let title = collapse_whitespace(title);
    let title = if title.is_empty() {
        UNTITLED.to_string()
    } else {
        title
    };
    limits::fit_rendered(&title, EMBED_TITLE_MAX, limits::escape_markdown)
}

fn render_embed(alert: &Alert, title: &str) -> Value {
    let mut embed = Map::new();
    // Chars counted toward Discord's 6000 total, which the description must fit into.
    let mut used = limits::char_count(title);
    embed.insert("title".into(), json!(title));
    if let Some(link) = alert.link.as_deref().filter(|l| is_web_url(l)) {
        embed.insert("url".into(), json!(link));
    }
    // Author names are shown as typed (no markdown), so only fitting applies.
    let author = limits::fit(&collapse_whitespace(&alert.source), EMBED_AUTHOR_NAME_MAX);
    if !author.is_empty() {
        used += limits::char_count(&author);
        embed.insert("author".into(), json!({ "name": author }));
    }

    let mut fields = Vec::new();
    let terms = collapse_whitespace(&alert.matched.join(", "));
    let terms = limits::fit_rendered(&terms, EMBED_FIELD_VALUE_MAX, limits::escape_markdown);
    if !terms.is_empty() {
        used += limits::char_count(MATCHED_FIELD) + limits::char_count(&terms);
        fields.push(json!({ "name": MATCHED_FIELD, "value": terms, "inline": true }));
    }
    if let Some(published) = alert.published {
        let when = format!("<t:{}:R>", published.timestamp());
        used += limits::char_count(PUBLISHED_FIELD) + limits::char_count(&when);
        fields.push(json!({ "name": PUBLISHED_FIELD, "value": when, "inline": true }));
        embed.insert(
            "timestamp".into(),
            json!(published.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        );
    }

    // Fit the plain summary and bold afterwards, so a cut never lands inside `**` or an escape.
    let budget = EMBED_DESCRIPTION_MAX.min(EMBED_TOTAL_MAX.saturating_sub(used));
    let description = limits::fit_rendered(alert.summary.trim(), budget, |plain| {
        bold_matches(plain, &alert.matched)
    });
    if !description.is_empty() {
        embed.insert("description".into(), json!(description));
    }
    if !fields.is_empty() {
        embed.insert("fields".into(), Value::Array(fields));
    }
    if let Some(image) = alert.image.as_deref().filter(|i| is_web_url(i)) {
        embed.insert("thumbnail".into(), json!({ "url": image }));
    }
    embed.insert("color".into(), json!(EMBED_COLOR));
    Value::Object(embed)
}

/// One message: `ids` mentioned in its content (then `suffix`), and the embed if given.
fn message(
    outbox_id: i64,
    part: usize,
    ids: &[&str],
    suffix: &str,
    embed: Option<Value>,
) -> OutgoingMessage {
    let mut payload = Map::new();
    if !ids.is_empty() {
        let mentions: Vec<String> = ids.iter().map(|id| format!("<@{id}>")).collect();
        payload.insert(
            "content".into(),
            json!(format!("{}{suffix}", mentions.join(" "))),
        );
    }
    if let Some(embed) = embed {
        payload.insert("embeds".into(), json!([embed]));
    }
    // Without allowed_mentions Discord parses @everyone too: list exactly who may be pinged.
    payload.insert(
        "allowed_mentions".into(),
        json!({ "parse": [], "users": ids }),
    );
    payload.insert("nonce".into(), json!(nonce(outbox_id, part)));
    payload.insert("enforce_nonce".into(), json!(true));
    OutgoingMessage {
        payload: Value::Object(payload),
    }
}

/// `nh{outbox_id}-{part}`: at most 25 chars for every positive outbox id up to `i64::MAX` and
/// up to 999 parts (about 99,900 members on one alert).
fn nonce(outbox_id: i64, part: usize) -> String {
    let nonce = format!("nh{outbox_id}-{part}");
    debug_assert!(
        limits::char_count(&nonce) <= NONCE_MAX,
        "nonce `{nonce}` is longer than Discord's {NONCE_MAX} chars"
    );
    nonce
}

/// Subscribers that are Discord user ids, each once, in order. Other strings name members of
/// other sinks (the console, tests) and are never mentioned.
fn member_ids(subscribers: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    subscribers
        .iter()
        .map(|s| s.trim())
        .filter(|s| (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .filter(|s| seen.insert(*s))
        .collect()
}

/// Splits `ids` into messages: mentions joined by spaces within `first_budget` chars in the
/// first, `rest_budget` in each other, and never more than 100 users in one.
fn group_mentions<'a>(
    ids: &[&'a str],
    first_budget: usize,
    rest_budget: usize,
) -> Vec<Vec<&'a str>> {
    let mut groups = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut len = 0;
    for id in ids {
        // "<@" + id + ">", plus a separating space after the first. Ids are ASCII digits.
        let mention = id.len() + 3;
        let budget = if groups.is_empty() {
            first_budget
        } else {
            rest_budget
        };
        let full = current.len() == ALLOWED_MENTIONS_USERS_MAX || len + 1 + mention > budget;
        if !current.is_empty() && full {
            groups.push(std::mem::take(&mut current));
            len = 0;
        }
        len += mention + usize::from(!current.is_empty());
        current.push(id);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// Whether Discord accepts `url` as an embed link or image: absolute http(s) with a host.
fn is_web_url(url: &str) -> bool {
    !url.contains(|c: char| c.is_whitespace() || c.is_control())
        && url::Url::parse(url).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    const ZW: &str = "\u{200B}";

    fn alert() -> Alert {
        Alert {
            id: 7,
            source: "The Verge".into(),
            title: "EU prepares antitrust probe into Meta’s AI integration on WhatsApp".into(),
            link: Some("https://www.theverge.com/news/eu-meta-whatsapp".into()),
            published: Some("2025-12-01T10:30:00Z".parse::<DateTime<Utc>>().unwrap()),
            summary: "The European Commission is preparing to investigate Meta’s plan to put \
                      Meta AI into WhatsApp (metadata included)."
                .into(),
            matched: vec!["Meta".into()],
            subscribers: vec![
                "111111111111111111".into(),
                "alice".into(),
                "222222222222222222".into(),
            ],
            target: "900000000000000000".into(),
            image: Some("https://cdn.example.com/meta.jpg".into()),
            also_of: None,
            also_covered: Vec::new(),
        }
    }

    fn terms(terms: &[&str]) -> Vec<String> {
        terms.iter().map(|t| (*t).to_string()).collect()
    }

    fn chars(value: &Value) -> usize {
        value.as_str().map_or(0, |s| s.chars().count())
    }

    /// `<@id>` mentions in a message's content, in order.
    fn mentioned(payload: &Value) -> Vec<String> {
        let content = payload["content"].as_str().unwrap_or("");
        content
            .split("<@")
            .skip(1)
            .filter_map(|rest| {
                let id = &rest[..rest.find('>')?];
                id.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| id.to_string())
            })
            .collect()
    }

    /// Discord's rules, recomputed from the JSON with the documented numbers (not our
    /// constants), as Discord would check them.
    fn assert_discord_accepts(message: &OutgoingMessage) {
        let p = &message.payload;
        let content = p.get("content").map_or(0, chars);
        let embeds = p.get("embeds").and_then(Value::as_array);
        assert!(
            content > 0 || embeds.is_some_and(|e| !e.is_empty()),
            "empty message: {p}"
        );
        assert!(content <= 2000, "content is {content} chars");
        let embeds = embeds.cloned().unwrap_or_default();
        assert!(embeds.len() <= 10);
        let mut total = 0;
        for embed in &embeds {
            let title = embed.get("title").map_or(0, chars);
            let description = embed.get("description").map_or(0, chars);
            let author = embed.pointer("/author/name").map_or(0, chars);
            let footer = embed.pointer("/footer/text").map_or(0, chars);
            assert!(title <= 256, "title is {title} chars");
            assert!(description <= 4096, "description is {description} chars");
            assert!(author <= 256 && footer <= 2048);
            total += title + description + author + footer;
            let fields = embed
                .get("fields")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            assert!(fields.len() <= 25);
            for field in &fields {
                let (name, value) = (chars(&field["name"]), chars(&field["value"]));
                assert!(
                    (1..=256).contains(&name) && (1..=1024).contains(&value),
                    "{field}"
                );
                total += name + value;
            }
            for url in [embed.get("url"), embed.pointer("/thumbnail/url")]
                .into_iter()
                .flatten()
            {
                let url = url.as_str().unwrap();
                assert!(
                    url.starts_with("https://") || url.starts_with("http://"),
                    "{url}"
                );
            }
        }
        assert!(total <= 6000, "embeds total {total} chars");

        let allowed = &p["allowed_mentions"];
        assert_eq!(allowed["parse"], json!([]), "parse must stay empty");
        assert!(allowed.get("roles").is_none());
        let users: Vec<String> = allowed["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_string())
            .collect();
        assert!(users.len() <= 100, "{} users", users.len());
        assert_eq!(users, mentioned(p), "allowed users differ from mentions");

        let nonce = p["nonce"].as_str().unwrap();
        assert!(nonce.chars().count() <= 25, "nonce {nonce}");
        assert_eq!(p["enforce_nonce"], json!(true));
    }

    #[test]
    fn typical_alert_renders_one_message_with_mentions_and_embed() {
        let messages = render_alert(&alert(), 7);
        assert_eq!(messages.len(), 1);
        assert_discord_accepts(&messages[0]);
        assert_eq!(
            messages[0].payload,
            json!({
                "content": "<@111111111111111111> <@222222222222222222>",
                "embeds": [{
                    "title": "EU prepares antitrust probe into Meta’s AI integration on WhatsApp",
                    "url": "https://www.theverge.com/news/eu-meta-whatsapp",
                    "description": "The European Commission is preparing to investigate \
                        **Meta**’s plan to put **Meta** AI into WhatsApp \\(metadata included\\).",
                    "author": { "name": "The Verge" },
                    "fields": [
                        { "name": "Matched", "value": "Meta", "inline": true },
                        { "name": "Published", "value": "<t:1764585000:R>", "inline": true },
                    ],
                    "timestamp": "2025-12-01T10:30:00Z",
                    "thumbnail": { "url": "https://cdn.example.com/meta.jpg" },
                    "color": EMBED_COLOR,
                }],
                "allowed_mentions": {
                    "parse": [],
                    "users": ["111111111111111111", "222222222222222222"],
                },
                "nonce": "nh7-1",
                "enforce_nonce": true,
            })
        );
    }

    #[test]
    fn hostile_title_renders_literally_and_pings_nobody() {
        let mut a = alert();
        a.title = "@everyone <@123> **bold** [x](http://evil)".into();
        a.summary = "@here <@&456> click [here](http://evil)".into();
        a.subscribers = vec!["alice".into()];
        let messages = render_alert(&a, 1);
        assert_eq!(messages.len(), 1);
        assert_discord_accepts(&messages[0]);
        let p = &messages[0].payload;
        assert_eq!(
            p["embeds"][0]["title"],
            json!(format!(
                "@{ZW}everyone <{ZW}@123> \\*\\*bold\\*\\* \\[x\\]\\(http://evil)"
            ))
        );
        assert_eq!(
            p["embeds"][0]["description"],
            json!(format!(
                "@{ZW}here <{ZW}@&456> click \\[here\\]\\(http://evil)"
            ))
        );
        assert!(p.get("content").is_none());
        assert_eq!(p["allowed_mentions"], json!({ "parse": [], "users": [] }));
    }

    #[test]
    fn many_members_are_split_over_follow_ups_each_mentioned_once() {
        let mut a = alert();
        a.subscribers = (0..250)
            .map(|n| format!("{}", 100_000_000_000_000_000_u64 + n))
            .collect();
        a.title = "x".repeat(300);
        let messages = render_alert(&a, 42);
        assert!(messages.len() >= 3, "{} messages", messages.len());

        let mut all = Vec::new();
        for (n, m) in messages.iter().enumerate() {
            assert_discord_accepts(m);
            assert_eq!(m.payload["nonce"], json!(format!("nh42-{}", n + 1)));
            assert_eq!(
                m.payload.get("embeds").is_some(),
                n == 0,
                "embed only in the first"
            );
            if n > 0 {
                let content = m.payload["content"].as_str().unwrap();
                assert!(content.contains(" — more members for: xxx"), "{content}");
            }
            all.extend(mentioned(&m.payload));
        }
        assert_eq!(all, a.subscribers, "every member exactly once, in order");
    }

    #[test]
    fn one_hundred_short_ids_fill_one_message_and_the_101st_goes_to_a_follow_up() {
        let mut a = alert();
        a.subscribers = (1..=100).map(|n| n.to_string()).collect();
        assert_eq!(render_alert(&a, 1).len(), 1);
        a.subscribers.push("101".into());
        let messages = render_alert(&a, 1);
        assert_eq!(messages.len(), 2);
        assert_eq!(mentioned(&messages[1].payload), vec!["101"]);
        messages.iter().for_each(assert_discord_accepts);
    }

    #[test]
    fn only_discord_ids_are_mentioned_once_each() {
        let mut a = alert();
        a.subscribers = terms(&[
            "alice",
            "123",
            "123",
            "123456789012345678901",
            "12a",
            "",
            "456",
        ]);
        let messages = render_alert(&a, 1);
        assert_eq!(messages[0].payload["content"], json!("<@123> <@456>"));
        assert_discord_accepts(&messages[0]);
    }

    #[test]
    fn channel_wide_alert_is_the_embed_alone() {
        let mut a = alert();
        a.subscribers = terms(&["#alerts"]);
        let messages = render_alert(&a, 3);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].payload.get("content").is_none());
        assert_eq!(
            messages[0].payload["allowed_mentions"],
            json!({ "parse": [], "users": [] })
        );
        assert_discord_accepts(&messages[0]);
    }

    #[test]
    fn huge_summary_is_fitted_to_the_description_limit() {
        let mut a = alert();
        a.summary = "Meta ships a *new* model. ".repeat(800); // 20,800 chars
        let messages = render_alert(&a, 1);
        assert_discord_accepts(&messages[0]);
        let description = messages[0].payload["embeds"][0]["description"]
            .as_str()
            .unwrap();
        assert!(description.chars().count() > 3500, "fitted, not gutted");
        assert!(description.ends_with('…'), "a cut is marked");
        assert!(description.starts_with("**Meta** ships a \\*new\\* model."));
        // Every bold opened is closed: the cut never lands inside `**`.
        assert_eq!(description.matches("**").count() % 2, 0);
    }

    #[test]
    fn every_part_at_its_largest_stays_within_discords_limits() {
        let mut a = alert();
        a.title = "🦀 *x*".repeat(100);
        a.source = "Source ".repeat(100);
        a.summary = "_Meta_ <@1> ".repeat(2000);
        a.matched = (0..400).map(|n| format!("term_{n}*")).collect();
        a.subscribers = (0..300)
            .map(|n| format!("{}", 10_000_000_000_000_000_000_u128 + n))
            .collect();
        let messages = render_alert(&a, i64::MAX);
        messages.iter().for_each(assert_discord_accepts);
        let all: Vec<String> = messages
            .iter()
            .flat_map(|m| mentioned(&m.payload))
            .collect();
        assert_eq!(all, a.subscribers);
    }

    #[test]
    fn long_title_is_cut_to_256_chars() {
        let mut a = alert();
        a.title = "word ".repeat(60); // 300 chars
        let title = render_alert(&a, 1)[0].payload["embeds"][0]["title"].clone();
        let title = title.as_str().unwrap();
        assert!(title.chars().count() <= 256);
        assert!(title.ends_with("word…"), "{title}");
    }

    #[test]
    fn title_of_exactly_256_chars_is_kept_and_257_is_cut() {
        let mut a = alert();
        a.title = "a".repeat(256);
        assert_eq!(
            render_alert(&a, 1)[0].payload["embeds"][0]["title"],
            json!(a.title)
        );
        a.title.push('a');
        let title = render_alert(&a, 1)[0].payload["embeds"][0]["title"].clone();
        assert_eq!(title.as_str().unwrap().chars().count(), 256);
    }

    #[test]
    fn emoji_and_cjk_titles_are_counted_in_chars() {
        let mut a = alert();
        a.title = "🦀東".repeat(128); // 256 chars, 896 bytes
        let messages = render_alert(&a, 1);
        assert_eq!(messages[0].payload["embeds"][0]["title"], json!(a.title));
        a.title.push('京');
        let messages = render_alert(&a, 1);
        let title = messages[0].payload["embeds"][0]["title"].as_str().unwrap();
        assert_eq!(title.chars().count(), 256);
        assert!(title.ends_with('…'));
        assert_discord_accepts(&messages[0]);
    }

    #[test]
    fn unsafe_or_relative_links_and_images_are_dropped() {
        for bad in [
            "javascript:alert(1)",
            "/images/a.png",
            "//cdn.example.com/a.png",
            "data:image/png;base64,AAAA",
            "ftp://example.com/a.png",
            "https://exa mple.com/a.png",
        ] {
            let mut a = alert();
            a.image = Some(bad.into());
            a.link = Some(bad.into());
            let embed = render_alert(&a, 1)[0].payload["embeds"][0].clone();
            assert!(embed.get("thumbnail").is_none(), "kept image {bad}");
            assert!(embed.get("url").is_none(), "kept link {bad}");
        }
    }

    #[test]
    fn undated_alert_has_no_published_field_or_timestamp() {
        let mut a = alert();
        a.published = None;
        let embed = render_alert(&a, 1)[0].payload["embeds"][0].clone();
        assert!(embed.get("timestamp").is_none());
        assert_eq!(
            embed["fields"],
            json!([{ "name": "Matched", "value": "Meta", "inline": true }])
        );
    }

    #[test]
    fn matched_terms_are_listed_escaped() {
        let mut a = alert();
        a.matched = terms(&["Meta", "\"Google Cloud\"", "gem*", "title:Nestle"]);
        let embed = render_alert(&a, 1)[0].payload["embeds"][0].clone();
        assert_eq!(
            embed["fields"][0]["value"],
            json!("Meta, \"Google Cloud\", gem\\*, title:Nestle")
        );
    }

    #[test]
    fn untitled_item_still_has_a_title() {
        let mut a = alert();
        a.title = "  ".into();
        let embed = render_alert(&a, 1)[0].payload["embeds"][0].clone();
        assert_eq!(embed["title"], json!("Untitled item"));
    }

    #[test]
    fn nonce_fits_for_the_largest_outbox_id() {
        assert_eq!(nonce(42, 1), "nh42-1");
        assert_eq!(nonce(i64::MAX, 999).chars().count(), 25);
    }

    #[test]
    fn phrase_is_bolded_as_a_unit() {
        assert_eq!(
            bold_matches(
                "Google Cloud and Google launch a service",
                &terms(&["\"Google Cloud\""])
            ),
            "**Google Cloud** and Google launch a service"
        );
    }

    #[test]
    fn phrase_is_not_bolded_across_a_sentence_break() {
        let text = "They chose Google. Cloud costs fell.";
        assert_eq!(bold_matches(text, &terms(&["\"Google Cloud\""])), text);
    }

    #[test]
    fn possessive_and_all_caps_are_bolded_but_not_other_case_or_longer_words() {
        assert_eq!(
            bold_matches(
                "Meta’s deal: META, meta, metadata and Metaverse",
                &terms(&["Meta"])
            ),
            "**Meta**’s deal: **META**, meta, metadata and Metaverse"
        );
        assert_eq!(
            bold_matches("Meta and meta", &terms(&["meta"])),
            "**Meta** and **meta**"
        );
    }

    /// Issue 11, "Bolding drift": an alert matched on the name `Meta` bolded "meta" inside
    /// "meta-analysis" in its summary, although the matcher's case rule rejects that match.
    #[test]
    fn bolding_drift_name_is_not_bolded_inside_lowercase_compound() {
        let mut a = alert();
        a.summary = "A meta-analysis of 40 trials, published by Meta, found little. \
                     META shares were flat."
            .into();
        a.matched = terms(&["Meta"]);
        let messages = render_alert(&a, 1);
        assert_discord_accepts(&messages[0]);
        assert_eq!(
            messages[0].payload["embeds"][0]["description"],
            json!(
                "A meta-analysis of 40 trials, published by **Meta**, found little. \
                 **META** shares were flat."
            )
        );
    }

    #[test]
    fn a_title_term_bolds_nothing_in_the_summary() {
        assert_eq!(
            bold_matches("Nestlé and Nestle", &terms(&["title:Nestle"])),
            "Nestlé and Nestle"
        );
    }

    #[test]
    fn a_hyphenated_phrase_is_bolded_as_the_matcher_matches_it() {
        assert_eq!(
            bold_matches(
                "on Google-Cloud and Google: Cloud",
                &terms(&["\"Google Cloud\""])
            ),
            "on **Google-Cloud** and Google: Cloud"
        );
    }

    #[test]
    fn accents_fold_both_ways() {
        assert_eq!(
            bold_matches("Nestlé and Nestle", &terms(&["Nestle"])),
            "**Nestlé** and **Nestle**"
        );
        assert_eq!(
            bold_matches("Nestlé and Nestle", &terms(&["Nestlé"])),
            "**Nestlé** and **Nestle**"
        );
    }

    #[test]
    fn prefix_term_bolds_whole_words() {
        assert_eq!(
            bold_matches("Gemini and gems, not agem", &terms(&["gem*"])),
            "**Gemini** and **gems**, not agem"
        );
    }

    #[test]
    fn words_inside_links_are_not_bolded() {
        assert_eq!(
            bold_matches(
                "Meta at https://example.com/meta/story_1 and www.meta.com",
                &terms(&["Meta"])
            ),
            "**Meta** at https://example.com/meta/story_1 and www.meta.com"
        );
    }

    #[test]
    fn cjk_term_is_bolded_inside_unspaced_text() {
        assert_eq!(bold_matches("東京都で", &terms(&["東京"])), "**東京**都で");
    }

    #[test]
    fn bolded_text_is_still_escaped() {
        assert_eq!(
            bold_matches("_Meta_ pings @everyone", &terms(&["Meta", "everyone"])),
            format!("\\_**Meta**\\_ pings @{ZW}**everyone**")
        );
    }

    fn digest(entries: usize, title: &str, link: &str) -> Digest {
        Digest {
            id: 42,
            user: "201".into(),
            target: "channel:300".into(),
            reasons: vec![crate::core::digest::Reason::Hourly],
            entries: (0..entries)
                .map(|i| DigestEntry {
                    title: format!("{title} {i}"),
                    link: Some(format!("{link}/{i}")),
                    source: "Wire".into(),
                    matched: vec!["Meta".into()],
                    published: None,
                    also: Vec::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_digest_pings_only_its_member_and_renders_feed_text_literally() {
        let d = digest(
            1,
            "@everyone [click](https://evil.example) *now* <@&42>",
            "https://wire.example/a(b)",
        );
        let messages = render_digest(&d, Some(201));
        assert_eq!(messages.len(), 1);
        let p = &messages[0].payload;
        assert_eq!(p["content"], "<@201>");
        assert_eq!(
            p["allowed_mentions"],
            json!({"parse": [], "users": ["201"]})
        );
        assert_eq!(p["nonce"], "nd42-1");
        assert_eq!(p["embeds"][0]["title"], "Your hourly digest: 1 item");
        let description = p["embeds"][0]["description"].as_str().unwrap();
        assert!(!description.contains("@everyone"), "{description}");
        assert!(!description.contains("<@&42>"), "{description}");
        assert!(description.contains("\\[click\\]"), "{description}");
        assert!(description.contains("\\*now\\*"), "{description}");
        // The link's parentheses cannot end the markdown link early.
        assert!(
            description.contains("](https://wire.example/a%28b%29/0) — Wire · **Meta**"),
            "{description}"
        );
    }

    #[test]
    fn a_dm_digest_mentions_nobody() {
        let messages = render_digest(&digest(2, "Meta news", "https://wire.example"), None);
        let p = &messages[0].payload;
        assert!(p.get("content").is_none());
        assert_eq!(p["allowed_mentions"], json!({"parse": [], "users": []}));
        let description = p["embeds"][0]["description"].as_str().unwrap();
        assert_eq!(description.lines().count(), 2);
        assert!(description.starts_with("1. [Meta news 0](https://wire.example/0)"));
    }

    #[test]
    fn a_long_digest_is_split_within_discord_limits_and_keeps_every_item_once() {
        let long_title = "Meta ".repeat(60);
        let long_link = format!("https://wire.example/{}", "x".repeat(300));
        let d = digest(60, &long_title, &long_link);
        let messages = render_digest(&d, Some(201));
        assert!(messages.len() > 1, "should split");
        let mut numbers = Vec::new();
        for (n, m) in messages.iter().enumerate() {
            let p = &m.payload;
            let description = p["embeds"][0]["description"].as_str().unwrap();
            assert!(limits::char_count(description) <= EMBED_DESCRIPTION_MAX);
            let title = p["embeds"][0]["title"].as_str().unwrap();
            assert!(
                title.ends_with(&format!("({}/{})", n + 1, messages.len())),
                "{title}"
            );
            assert_eq!(p["nonce"], format!("nd42-{}", n + 1));
            // Only the first message pings.
            assert_eq!(p.get("content").is_some(), n == 0);
            for line in description.lines() {
                numbers.push(line.split('.').next().unwrap().parse::<usize>().unwrap());
            }
        }
        assert_eq!(numbers, (1..=60).collect::<Vec<_>>());
    }
}
