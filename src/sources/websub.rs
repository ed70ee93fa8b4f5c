//! WebSub (W3C Recommendation, 2018): what a subscriber decides. Finding a feed's hub, the
//! form sent to it, the answer to its intent verification, the check of a pushed body's
//! signature and when to renew a lease are pure functions here; the HTTP request to the hub
//! is [`request`], the callback endpoint is `ops::http`, the state is `store::websub`, and the
//! pushed body goes through the same parse -> dedup -> match -> outbox path as a poll
//! (`pipeline::ingest_push`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use quick_xml::events::Event;
use url::Url;

/// The lease asked of a hub (the hub decides; 10 days is common).
pub const REQUESTED_LEASE: Duration = Duration::from_secs(10 * 24 * 60 * 60);
/// A lease is renewed this long before it ends, or after three quarters of it for short ones.
pub const RENEW_BEFORE: Duration = Duration::from_secs(24 * 60 * 60);
/// A subscription request the hub never verified is sent again after this long.
pub const RETRY_UNVERIFIED: Duration = Duration::from_secs(60 * 60);
/// The largest pushed body accepted; larger ones are refused with 413 before they are read.
pub const MAX_PUSH_BYTES: usize = 4 * 1024 * 1024;
/// Hub discovery reads at most this much of a document (hub links sit at the top).
const DISCOVERY_SCAN_BYTES: usize = 256 * 1024;

/// A feed's hub and the topic URL to subscribe to at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubLinks {
    pub hub: Url,
    pub topic: Url,
}

/// Finds the hub: the HTTP `Link` header first (the spec's order), then `<link rel="hub">` /
/// `<atom:link rel="hub">` at the top of an XML feed, or JSON Feed's `hubs`. The topic is the
/// `rel="self"` URL, else the URL the document was fetched from. Only http(s) hubs count.
pub fn discover(body: &[u8], link_headers: &[String], fetched: Option<&Url>) -> Option<HubLinks> {
    let (mut hub, mut topic) = (None, None);
    for value in link_headers {
        for (url, rels) in parse_link_header(value) {
            let url = fetched.map_or_else(|| Url::parse(&url).ok(), |b| b.join(&url).ok());
            if rels.iter().any(|r| r == "hub") && hub.is_none() {
                hub.clone_from(&url);
            }
            if rels.iter().any(|r| r == "self") && topic.is_none() {
                topic = url;
            }
        }
    }
    if hub.is_none() {
        let (h, t) = document_links(body, fetched);
        hub = h;
        topic = topic.or(t);
    }
    let hub = hub.filter(|u| matches!(u.scheme(), "http" | "https"))?;
    let topic = topic.or_else(|| fetched.cloned())?;
    matches!(topic.scheme(), "http" | "https").then_some(HubLinks { hub, topic })
}

/// `<url>; rel="a b", <url2>; rel=c` as (url, rels), rels lower-cased.
pub fn parse_link_header(value: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let url = rest[start + 1..start + end].trim().to_string();
        rest = &rest[start + end + 1..];
        // Parameters run to the next link (a comma outside quotes followed by `<`).
        let params_end = next_link(rest);
        let params = &rest[..params_end];
        rest = &rest[params_end..];
        let rels = params
            .split(';')
            .filter_map(|p| {
                let (name, value) = p.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("rel")
                    .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
            })
            .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect();
        out.push((url, rels));
    }
    out
}

fn next_link(text: &str) -> usize {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted && text[i + 1..].trim_start().starts_with('<') => return i,
            _ => {}
        }
    }
    text.len()
}

/// Hub and self links in the document itself.
fn document_links(body: &[u8], base: Option<&Url>) -> (Option<Url>, Option<Url>) {
    let head = &body[..body.len().min(DISCOVERY_SCAN_BYTES)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    if start.is_some_and(|i| head[i] == b'{') {
        return json_links(body, base);
    }
    xml_links(head, base)
}

fn resolve(base: Option<&Url>, href: &str) -> Option<Url> {
    match base {
        Some(b) => b.join(href.trim()).ok(),
        None => Url::parse(href.trim()).ok(),
    }
}

fn xml_links(head: &[u8], base: Option<&Url>) -> (Option<Url>, Option<Url>) {
    let (mut hub, mut topic) = (None, None);
    let mut reader = quick_xml::Reader::from_reader(head);
    let mut buf = Vec::new();
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        if let Event::Start(e) | Event::Empty(e) = &event {
            let local = e.local_name();
            let name = local.as_ref();
            // Hub links belong to the feed, before its first item.
            if name == "item" || name == "entry" {
                break;
            }
            if name == "link" {
                let (mut rel, mut href) = (None, None);
                for attr in e.attributes().flatten() {
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(std::borrow::Cow::into_owned)
                        .unwrap_or_default();
                    match attr.key.local_name().as_ref() {
                        "rel" => rel = Some(value.to_ascii_lowercase()),
                        "href" => href = Some(value),
                        _ => {}
                    }
                }
                if let (Some(rel), Some(href)) = (rel, href) {
                    let rels: Vec<&str> = rel.split_whitespace().collect();
                    if rels.contains(&"hub") && hub.is_none() {
                        hub = resolve(base, &href);
                    }
                    if rels.contains(&"self") && topic.is_none() {
                        topic = resolve(base, &href);
                    }
                }
            }
        }
        buf.clear();
    }
    (hub, topic)
}

fn json_links(body: &[u8], base: Option<&Url>) -> (Option<Url>, Option<Url>) {
    #[derive(serde::Deserialize)]
    struct Hub {
        #[serde(default, rename = "type")]
        kind: String,
        url: String,
    }
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(default)]
        hubs: Vec<Hub>,
        feed_url: Option<String>,
    }
    let Ok(doc) = serde_json::from_slice::<Doc>(body) else {
        return (None, None);
    };
    let hub = doc
        .hubs
        .iter()
        .find(|h| h.kind.eq_ignore_ascii_case("websub"))
        .and_then(|h| resolve(base, &h.url));
    (hub, doc.feed_url.and_then(|u| resolve(base, &u)))
}

// ---- requests to the hub ------------------------------------------------------------------

/// `subscribe` or `unsubscribe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Subscribe,
    Unsubscribe,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }
}

/// The form body of a (un)subscription request (spec §5.1).
pub fn request_form(
    mode: Mode,
    topic: &str,
    callback: &str,
    secret: &str,
) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("hub.mode", mode.as_str().to_string()),
        ("hub.topic", topic.to_string()),
        ("hub.callback", callback.to_string()),
    ];
    if mode == Mode::Subscribe {
        form.push(("hub.secret", secret.to_string()));
        form.push(("hub.lease_seconds", REQUESTED_LEASE.as_secs().to_string()));
    }
    form
}

/// The callback URL for one subscription: `public_url` + `websub/<id>`.
pub fn callback_url(public_url: &Url, callback_id: &str) -> Option<Url> {
    let mut base = public_url.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.join(&format!("websub/{callback_id}")).ok()
}

/// A random token of `bytes` random bytes, hex-encoded: callback ids and secrets.
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore as _;
    let mut raw = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut raw);
    crate::core::dedup::hex(&raw)
}

// ---- what to ask the hub, and when ---------------------------------------------------------

/// One source's push subscription, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRow {
    pub source_id: crate::core::model::SourceId,
    pub hub: String,
    pub topic: String,
    pub callback_id: String,
    pub secret: String,
    pub state: PushState,
    pub requested_at: Option<DateTime<Utc>>,
    pub verified_at: Option<DateTime<Utc>>,
    pub lease_ends_at: Option<DateTime<Utc>>,
    pub last_push_at: Option<DateTime<Utc>>,
    pub pushes: u64,
    pub last_error: Option<String>,
}

impl PushRow {
    /// Verified and the lease not over: pushes arrive, so polling may slow down.
    pub fn is_healthy(&self, now: DateTime<Utc>) -> bool {
        self.state == PushState::Active && self.lease_ends_at.is_some_and(|t| t > now)
    }
}

/// What a poll's discovery changes about a source's push subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnPoll {
    Nothing,
    /// No subscription yet: create one (state `wanted`).
    Create(HubLinks),
    /// The feed now names another hub or topic: subscribe there instead.
    Retarget(HubLinks),
    /// The feed no longer names a hub: unsubscribe.
    Unsubscribe,
}

/// What a poll that found `found` changes about `stored`.
pub fn on_poll(stored: Option<&PushRow>, found: Option<&HubLinks>) -> OnPoll {
    match (stored, found) {
        (None, None) => OnPoll::Nothing,
        (None, Some(links)) => OnPoll::Create(links.clone()),
        // Polled again (resumed, or the hub came back) while an unsubscription is pending.
        (Some(row), Some(links)) if row.state == PushState::Unsubscribing => {
            OnPoll::Retarget(links.clone())
        }
        (Some(row), Some(links)) => {
            if row.hub == links.hub.as_str() && row.topic == links.topic.as_str() {
                OnPoll::Nothing
            } else {
                OnPoll::Retarget(links.clone())
            }
        }
        (Some(row), None) if row.state == PushState::Unsubscribing => OnPoll::Nothing,
        (Some(_), None) => OnPoll::Unsubscribe,
    }
}

/// The next request to send to a subscription's hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Subscribe,
    Unsubscribe,
    /// The unsubscription was never confirmed for a day: forget the row.
    Forget,
}

/// What to do now about `row`, whose source is still polled (`alive`); `None`: nothing yet.
pub fn next_action(row: &PushRow, alive: bool, now: DateTime<Utc>) -> Option<Action> {
    let retry = chrono::Duration::from_std(RETRY_UNVERIFIED).unwrap_or_default();
    let waited = |since: Option<DateTime<Utc>>| since.is_none_or(|t| now - t >= retry);
    if !alive && row.state != PushState::Unsubscribing {
        return Some(Action::Unsubscribe);
    }
    match row.state {
        PushState::Wanted => Some(Action::Subscribe),
        PushState::Requested => waited(row.requested_at).then_some(Action::Subscribe),
        PushState::Active => match (row.verified_at, row.lease_ends_at) {
            (Some(v), Some(end)) if now < renew_at(v, end) => None,
            // Renewed, and not yet verified again: wait as for any request.
            _ if row.requested_at > row.verified_at && !waited(row.requested_at) => None,
            _ => Some(Action::Subscribe),
        },
        PushState::Unsubscribing => match row.requested_at {
            None => Some(Action::Unsubscribe),
            Some(t) if now - t >= chrono::Duration::days(1) => Some(Action::Forget),
            Some(_) => None,
        },
        PushState::Denied => None,
    }
}

/// When [`next_action`] next has something to do for `row` (a hint for the maintainer's
/// sleep; it also wakes when told).
pub fn next_due(row: &PushRow) -> Option<DateTime<Utc>> {
    let retry = chrono::Duration::from_std(RETRY_UNVERIFIED).unwrap_or_default();
    match row.state {
        PushState::Wanted | PushState::Denied => None,
        PushState::Requested => row.requested_at.map(|t| t + retry),
        PushState::Active => match (row.verified_at, row.lease_ends_at) {
            (Some(v), Some(end)) => {
                let renew = renew_at(v, end);
                Some(match row.requested_at {
                    Some(r) if r > v => renew.max(r + retry),
                    _ => renew,
                })
            }
            _ => row.requested_at.map(|t| t + retry),
        },
        PushState::Unsubscribing => row.requested_at.map(|t| t + chrono::Duration::days(1)),
    }
}

// ---- the hub's verification of intent -----------------------------------------------------

/// What the store holds about one subscription, as far as a verification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub topic: String,
    pub state: PushState,
}

/// Where a subscription is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushState {
    /// The feed advertises a hub; no request sent yet.
    Wanted,
    /// Subscription requested, waiting for the hub's verification.
    Requested,
    /// Verified: pushes are accepted until the lease ends.
    Active,
    /// The source is gone or no longer advertises the hub: unsubscription requested.
    Unsubscribing,
    /// The hub refused the subscription (`hub.mode=denied`).
    Denied,
}

impl PushState {
    pub fn as_str(self) -> &'static str {
        match self {
            PushState::Wanted => "wanted",
            PushState::Requested => "requested",
            PushState::Active => "active",
            PushState::Unsubscribing => "unsubscribing",
            PushState::Denied => "denied",
        }
    }

    pub fn parse(text: &str) -> PushState {
        match text {
            "requested" => PushState::Requested,
            "active" => PushState::Active,
            "unsubscribing" => PushState::Unsubscribing,
            "denied" => PushState::Denied,
            _ => PushState::Wanted,
        }
    }
}

/// A hub's GET to the callback (spec §5.3 and §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub mode: String,
    pub topic: String,
    pub challenge: Option<String>,
    pub lease_seconds: Option<u64>,
    pub reason: Option<String>,
}

impl Intent {
    /// Reads `hub.*` from a query string; `None` without `hub.mode` and `hub.topic`.
    pub fn from_query(query: &str) -> Option<Intent> {
        let (mut mode, mut topic, mut challenge, mut lease, mut reason) =
            (None, None, None, None, None);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "hub.mode" => mode = Some(v.into_owned()),
                "hub.topic" => topic = Some(v.into_owned()),
                "hub.challenge" => challenge = Some(v.into_owned()),
                "hub.lease_seconds" => lease = v.trim().parse().ok(),
                "hub.reason" => reason = Some(v.into_owned()),
                _ => {}
            }
        }
        Some(Intent {
            mode: mode?,
            topic: topic?,
            challenge,
            lease_seconds: lease,
            reason,
        })
    }
}

/// What to do with a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Echo the challenge; the subscription is active until `lease_ends`.
    Confirm {
        challenge: String,
        lease_ends: DateTime<Utc>,
    },
    /// Echo the challenge; the subscription row is deleted.
    ConfirmUnsubscribe { challenge: String },
    /// The hub refused: record the reason, answer 200 with no body.
    Denied { reason: String },
    /// Not ours (unknown callback, other topic, a mode we did not ask for): 404, no echo.
    Refuse(&'static str),
}

/// The answer to a verification of `intent` for the subscription stored under its callback.
pub fn verify_intent(
    stored: Option<&Subscription>,
    intent: &Intent,
    now: DateTime<Utc>,
) -> Verdict {
    let Some(stored) = stored else {
        return Verdict::Refuse("unknown callback");
    };
    if stored.topic != intent.topic {
        return Verdict::Refuse("the topic is not the one subscribed to at this callback");
    }
    match (intent.mode.as_str(), stored.state, &intent.challenge) {
        ("denied", _, _) => Verdict::Denied {
            reason: intent
                .reason
                .clone()
                .unwrap_or_else(|| "the hub gave no reason".to_string()),
        },
        (_, _, None) => Verdict::Refuse("no hub.challenge"),
        // `Wanted` too: a hub may verify synchronously, before its answer to the request
        // (and so before the request is recorded) arrives.
        (
            "subscribe",
            PushState::Wanted | PushState::Requested | PushState::Active,
            Some(challenge),
        ) => {
            let lease = intent
                .lease_seconds
                .unwrap_or(REQUESTED_LEASE.as_secs())
                .min(365 * 24 * 60 * 60);
            Verdict::Confirm {
                challenge: challenge.clone(),
                lease_ends: now + chrono::Duration::seconds(lease as i64),
            }
        }
        ("unsubscribe", PushState::Unsubscribing, Some(challenge)) => Verdict::ConfirmUnsubscribe {
            challenge: challenge.clone(),
        },
        _ => Verdict::Refuse("this callback did not ask for that"),
    }
}

/// When to renew a lease verified at `verified_at` that ends at `lease_ends`: a day before
/// the end, or after three quarters of the lease when it is shorter than four days.
pub fn renew_at(verified_at: DateTime<Utc>, lease_ends: DateTime<Utc>) -> DateTime<Utc> {
    let lease = lease_ends - verified_at;
    let margin = chrono::Duration::from_std(RENEW_BEFORE)
        .unwrap_or_default()
        .min(lease / 4);
    lease_ends - margin
}

// ---- pushed content -------------------------------------------------------------------------

/// Why a pushed body is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no X-Hub-Signature header")]
    Missing,
    #[error("X-Hub-Signature `{0}` is not `method=hex` with sha1, sha256, sha384 or sha512")]
    Malformed(String),
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks `X-Hub-Signature: method=hex` (spec §8: sha1, sha256, sha384 or sha512) against
/// the HMAC of `body` under `secret`, in constant time.
pub fn verify_signature(
    header: Option<&str>,
    secret: &[u8],
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let malformed = || SignatureError::Malformed(header.chars().take(80).collect());
    let (method, hex) = header.split_once('=').ok_or_else(malformed)?;
    let expected = decode_hex(hex.trim()).ok_or_else(malformed)?;
    let ok = match method.trim().to_ascii_lowercase().as_str() {
        "sha1" => check::<Hmac<sha1::Sha1>>(secret, body, &expected),
        "sha256" => check::<Hmac<sha2::Sha256>>(secret, body, &expected),
        "sha384" => check::<Hmac<sha2::Sha384>>(secret, body, &expected),
        "sha512" => check::<Hmac<sha2::Sha512>>(secret, body, &expected),
        _ => return Err(malformed()),
    };
    ok.then_some(()).ok_or(SignatureError::Mismatch)
}

fn check<M: Mac + hmac::digest::KeyInit>(secret: &[u8], body: &[u8], expected: &[u8]) -> bool {
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(expected).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.is_empty() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_link_header_wins_over_the_document() {
        let body = br#"<feed xmlns="http://www.w3.org/2005/Atom"><link rel="hub" href="https://doc.example/hub"/></feed>"#;
        let headers = vec![
            r#"<https://head.example/hub>; rel="hub", <https://site.example/feed>; rel="self""#
                .to_string(),
        ];
        let found = discover(body, &headers, Some(&url("https://site.example/x"))).unwrap();
        assert_eq!(found.hub.as_str(), "https://head.example/hub");
        assert_eq!(found.topic.as_str(), "https://site.example/feed");
    }

    #[test]
    fn atom_and_rss_hub_links_are_found_before_the_first_item() {
        let atom = br#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
            <link rel="self" href="/feed.xml"/><link rel="hub" href="https://hub.example/"/>
            <entry><link rel="hub" href="https://late.example/"/></entry></feed>"#;
        let found = discover(atom, &[], Some(&url("https://site.example/a/b"))).unwrap();
        assert_eq!(found.hub.as_str(), "https://hub.example/");
        assert_eq!(found.topic.as_str(), "https://site.example/feed.xml");

        let rss = br#"<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
            <link>https://site.example/</link>
            <atom:link rel="hub" href="https://pubsubhubbub.appspot.com/"/>
            <item><title>x</title></item></channel></rss>"#;
        let found = discover(rss, &[], Some(&url("https://site.example/rss"))).unwrap();
        assert_eq!(found.hub.as_str(), "https://pubsubhubbub.appspot.com/");
        assert_eq!(
            found.topic.as_str(),
            "https://site.example/rss",
            "no self link: the fetched URL"
        );

        let late = br#"<rss><channel><item><atom:link rel="hub" href="https://h.example/"/></item></channel></rss>"#;
        assert_eq!(discover(late, &[], Some(&url("https://s.example/"))), None);
    }

    #[test]
    fn json_feed_hubs_are_found() {
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","feed_url":"https://s.example/feed.json",
            "hubs":[{"type":"rssCloud","url":"https://cloud.example/"},{"type":"WebSub","url":"https://hub.example/"}],"items":[]}"#;
        let found = discover(json, &[], Some(&url("https://s.example/other"))).unwrap();
        assert_eq!(found.hub.as_str(), "https://hub.example/");
        assert_eq!(found.topic.as_str(), "https://s.example/feed.json");
    }

    #[test]
    fn no_hub_or_a_non_http_hub_is_none() {
        let body = br#"<feed><link rel="hub" href="javascript:alert(1)"/></feed>"#;
        assert_eq!(discover(body, &[], None), None);
        assert_eq!(discover(b"<rss><channel/></rss>", &[], None), None);
        assert_eq!(discover(b"not xml at all", &["garbage".into()], None), None);
    }

    #[test]
    fn link_headers_with_several_links_and_quoted_commas() {
        let links =
            parse_link_header(r#"<https://a/>; rel="hub"; title="x, y", <https://b/>; rel=self"#);
        assert_eq!(
            links,
            vec![
                ("https://a/".to_string(), vec!["hub".to_string()]),
                ("https://b/".to_string(), vec!["self".to_string()]),
            ]
        );
    }

    #[test]
    fn callback_urls_keep_the_public_path() {
        assert_eq!(
            callback_url(&url("https://bot.example/newshound"), "abc")
                .unwrap()
                .as_str(),
            "https://bot.example/newshound/websub/abc"
        );
        assert_eq!(
            callback_url(&url("https://bot.example/"), "abc")
                .unwrap()
                .as_str(),
            "https://bot.example/websub/abc"
        );
    }

    fn intent(mode: &str, topic: &str, challenge: Option<&str>) -> Intent {
        Intent {
            mode: mode.into(),
            topic: topic.into(),
            challenge: challenge.map(Into::into),
            lease_seconds: Some(300),
            reason: None,
        }
    }

    #[test]
    fn only_the_asked_for_intent_is_confirmed() {
        let now = Utc::now();
        let requested = Subscription {
            topic: "https://s/feed".into(),
            state: PushState::Requested,
        };
        assert_eq!(
            verify_intent(
                Some(&requested),
                &intent("subscribe", "https://s/feed", Some("c1")),
                now
            ),
            Verdict::Confirm {
                challenge: "c1".into(),
                lease_ends: now + chrono::Duration::seconds(300)
            }
        );
        assert!(matches!(
            verify_intent(
                Some(&requested),
                &intent("subscribe", "https://other/feed", Some("c1")),
                now
            ),
            Verdict::Refuse(_)
        ));
        assert!(matches!(
            verify_intent(
                Some(&requested),
                &intent("unsubscribe", "https://s/feed", Some("c1")),
                now
            ),
            Verdict::Refuse(_)
        ));
        assert!(matches!(
            verify_intent(
                None,
                &intent("subscribe", "https://s/feed", Some("c1")),
                now
            ),
            Verdict::Refuse(_)
        ));
        assert!(matches!(
            verify_intent(
                Some(&requested),
                &intent("subscribe", "https://s/feed", None),
                now
            ),
            Verdict::Refuse(_)
        ));
        let not_yet_recorded = Subscription {
            topic: "https://s/feed".into(),
            state: PushState::Wanted,
        };
        assert!(
            matches!(
                verify_intent(
                    Some(&not_yet_recorded),
                    &intent("subscribe", "https://s/feed", Some("c0")),
                    now
                ),
                Verdict::Confirm { .. }
            ),
            "a hub that verifies before answering the request is confirmed"
        );
        let leaving = Subscription {
            topic: "https://s/feed".into(),
            state: PushState::Unsubscribing,
        };
        assert_eq!(
            verify_intent(
                Some(&leaving),
                &intent("unsubscribe", "https://s/feed", Some("c2")),
                now
            ),
            Verdict::ConfirmUnsubscribe {
                challenge: "c2".into()
            }
        );
    }

    #[test]
    fn intents_read_from_the_query() {
        let i = Intent::from_query(
            "hub.mode=subscribe&hub.topic=https%3A%2F%2Fs%2Ff&hub.challenge=xyz&hub.lease_seconds=86400",
        )
        .unwrap();
        assert_eq!(i.topic, "https://s/f");
        assert_eq!(i.lease_seconds, Some(86400));
        assert_eq!(Intent::from_query("hub.mode=subscribe"), None);
    }

    #[test]
    fn renewal_is_a_day_early_or_at_three_quarters() {
        let t = Utc::now();
        let ten_days = t + chrono::Duration::days(10);
        assert_eq!(renew_at(t, ten_days), ten_days - chrono::Duration::days(1));
        let four_secs = t + chrono::Duration::seconds(4);
        assert_eq!(renew_at(t, four_secs), t + chrono::Duration::seconds(3));
    }

    fn row(state: PushState) -> PushRow {
        PushRow {
            source_id: crate::core::model::SourceId(1),
            hub: "https://hub.example/".into(),
            topic: "https://s.example/feed".into(),
            callback_id: "cb".into(),
            secret: "s".into(),
            state,
            requested_at: None,
            verified_at: None,
            lease_ends_at: None,
            last_push_at: None,
            pushes: 0,
            last_error: None,
        }
    }

    #[test]
    fn what_to_ask_the_hub_and_when() {
        let now = Utc::now();
        let hour = chrono::Duration::hours(1);
        assert_eq!(
            next_action(&row(PushState::Wanted), true, now),
            Some(Action::Subscribe)
        );
        let mut requested = row(PushState::Requested);
        requested.requested_at = Some(now - chrono::Duration::minutes(5));
        assert_eq!(
            next_action(&requested, true, now),
            None,
            "waiting for the hub"
        );
        requested.requested_at = Some(now - hour - hour);
        assert_eq!(
            next_action(&requested, true, now),
            Some(Action::Subscribe),
            "asked again"
        );

        let mut active = row(PushState::Active);
        active.requested_at = Some(now - chrono::Duration::days(2));
        active.verified_at = Some(now - chrono::Duration::days(2));
        active.lease_ends_at = Some(now + chrono::Duration::days(8));
        assert_eq!(next_action(&active, true, now), None, "the lease runs");
        assert!(active.is_healthy(now));
        active.lease_ends_at = Some(now + hour);
        assert_eq!(
            next_action(&active, true, now),
            Some(Action::Subscribe),
            "renewed"
        );
        active.requested_at = Some(now - chrono::Duration::minutes(1));
        assert_eq!(
            next_action(&active, true, now),
            None,
            "a renewal is in flight"
        );
        active.lease_ends_at = Some(now - hour);
        assert!(!active.is_healthy(now), "a lapsed lease is not healthy");

        assert_eq!(
            next_action(&row(PushState::Active), false, now),
            Some(Action::Unsubscribe),
            "the source is gone"
        );
        let mut leaving = row(PushState::Unsubscribing);
        assert_eq!(next_action(&leaving, false, now), Some(Action::Unsubscribe));
        leaving.requested_at = Some(now - hour);
        assert_eq!(next_action(&leaving, false, now), None);
        leaving.requested_at = Some(now - chrono::Duration::days(2));
        assert_eq!(next_action(&leaving, false, now), Some(Action::Forget));
        assert_eq!(next_action(&row(PushState::Denied), true, now), None);
    }

    #[test]
    fn a_poll_keeps_the_subscription_in_line_with_the_feed() {
        let links = HubLinks {
            hub: url("https://hub.example/"),
            topic: url("https://s.example/feed"),
        };
        let moved = HubLinks {
            hub: url("https://other-hub.example/"),
            topic: url("https://s.example/feed"),
        };
        let stored = row(PushState::Active);
        assert_eq!(on_poll(None, None), OnPoll::Nothing);
        assert_eq!(on_poll(None, Some(&links)), OnPoll::Create(links.clone()));
        assert_eq!(on_poll(Some(&stored), Some(&links)), OnPoll::Nothing);
        assert_eq!(
            on_poll(Some(&stored), Some(&moved)),
            OnPoll::Retarget(moved.clone())
        );
        assert_eq!(on_poll(Some(&stored), None), OnPoll::Unsubscribe);
        assert_eq!(
            on_poll(Some(&row(PushState::Unsubscribing)), None),
            OnPoll::Nothing
        );
        assert_eq!(
            on_poll(Some(&row(PushState::Unsubscribing)), Some(&links)),
            OnPoll::Retarget(links.clone()),
            "a source polled again while leaving subscribes again"
        );
    }

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(body);
        let bytes = mac.finalize().into_bytes();
        format!("sha256={}", crate::core::dedup::hex(&bytes))
    }

    #[test]
    fn signatures_are_checked() {
        let body = b"<feed/>";
        let good = sign(b"s3cret", body);
        assert_eq!(verify_signature(Some(&good), b"s3cret", body), Ok(()));
        assert_eq!(
            verify_signature(Some(&good), b"other", body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(Some(&good), b"s3cret", b"<feed/> "),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(None, b"s3cret", body),
            Err(SignatureError::Missing)
        );
        assert!(matches!(
            verify_signature(Some("md5=abcd"), b"s3cret", body),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify_signature(Some("sha256=zz"), b"s3cret", body),
            Err(SignatureError::Malformed(_))
        ));
        let upper = good.replace("sha256=", "SHA256=").to_uppercase();
        assert_eq!(verify_signature(Some(&upper), b"s3cret", body), Ok(()));
    }
}
