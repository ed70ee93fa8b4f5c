//! WebSub push (issue 14), end to end: the real binary (`run --output json`), a feed served
//! from 127.0.0.1 that names a hub, and a hub written here — it records the subscription
//! requests newshound sends (a wiremock server answering 202) and then does what a hub does:
//! verifies intent by GETting the callback with a challenge, and POSTs signed content.

mod support;

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use support::binary::ConsoleBot;
use support::config::Setup;
use support::ops::{get, parse_exposition};
use support::world::WAIT;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An Atom feed that names `hub` and its own URL `self_url`, with `entries` (id, title).
fn atom(hub: &str, self_url: &str, entries: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (id, title) in entries {
        body.push_str(&format!(
            "  <entry><id>urn:wire:{id}</id><title>{title}</title><link href=\"https://wire.example/{id}\"/>\
             <updated>2026-12-04T09:00:00Z</updated><summary>{title}. More in the story.</summary></entry>\n"
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  \
         <title>Wire</title><id>urn:wire</id><updated>2026-12-04T09:00:00Z</updated>\n  \
         <link rel=\"self\" href=\"{self_url}\"/>\n  <link rel=\"hub\" href=\"{hub}\"/>\n{body}</feed>\n"
    )
}

/// A port nothing listens on now (bound and released), for `[http] listen` and `public_url`.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One (un)subscription request the hub received, as its form fields.
#[derive(Debug, Clone)]
struct HubRequest {
    mode: String,
    topic: String,
    callback: String,
    secret: Option<String>,
    lease_seconds: Option<String>,
}

async fn hub_requests(hub: &MockServer) -> Vec<HubRequest> {
    let received = hub.received_requests().await.unwrap_or_default();
    received
        .iter()
        .filter(|r| r.url.path() == "/hub")
        .map(|r| {
            let form: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(&r.body).into_owned().collect();
            HubRequest {
                mode: form.get("hub.mode").cloned().unwrap_or_default(),
                topic: form.get("hub.topic").cloned().unwrap_or_default(),
                callback: form.get("hub.callback").cloned().unwrap_or_default(),
                secret: form.get("hub.secret").cloned(),
                lease_seconds: form.get("hub.lease_seconds").cloned(),
            }
        })
        .collect()
}

/// Waits until the hub has received `count` requests with `mode`; returns them.
async fn wait_for_hub(
    hub: &MockServer,
    mode: &str,
    count: usize,
    bot: &ConsoleBot,
) -> Vec<HubRequest> {
    let deadline = Instant::now() + WAIT;
    loop {
        let found: Vec<HubRequest> = hub_requests(hub)
            .await
            .into_iter()
            .filter(|r| r.mode == mode)
            .collect();
        if found.len() >= count {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "the hub got {} {mode} requests, expected {count}; log:\n{}",
            found.len(),
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The hub's verification of intent: GET callback?hub.mode=...; (status, body).
async fn verify(
    callback: &str,
    mode: &str,
    topic: &str,
    challenge: &str,
    lease: u64,
) -> (u16, String) {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("hub.mode", mode)
        .append_pair("hub.topic", topic)
        .append_pair("hub.challenge", challenge)
        .append_pair("hub.lease_seconds", &lease.to_string())
        .finish();
    let response = reqwest::get(format!("{callback}?{query}"))
        .await
        .expect("the callback answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body);
    let hex = mac
        .finalize()
        .into_bytes()
        .iter()
        .fold(String::new(), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        });
    format!("sha256={hex}")
}

/// The hub's content distribution: POST the feed body to the callback; the status.
async fn push(callback: &str, body: &str, signature: Option<String>) -> u16 {
    let mut request = reqwest::Client::new()
        .post(callback)
        .header("content-type", "application/atom+xml")
        .body(body.to_string());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature", signature);
    }
    request
        .send()
        .await
        .expect("the callback answers")
        .status()
        .as_u16()
}

/// A push that declares a body of 4 MiB + 1 byte and sends none: the status line's code.
/// (A client that did send it all would meet a closed connection after the 413.)
async fn oversized_push(port: u16, callback: &str) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let path = callback
        .split_once(&format!("127.0.0.1:{port}"))
        .map(|(_, p)| p.to_string())
        .expect("callback on the listener");
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/atom+xml\r\n\
         X-Hub-Signature: sha256=00\r\nContent-Length: {}\r\n\r\n",
        4 * 1024 * 1024 + 1
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"))
}

struct Site {
    feed: MockServer,
    hub: MockServer,
    hub_url: String,
    feed_url: String,
}

impl Site {
    async fn start() -> Site {
        let hub = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hub"))
            .respond_with(ResponseTemplate::new(202))
            .mount(&hub)
            .await;
        let feed = MockServer::start().await;
        let hub_url = format!("{}/hub", hub.uri());
        let feed_url = format!("{}/feed.xml", feed.uri());
        Site {
            feed,
            hub,
            hub_url,
            feed_url,
        }
    }

    /// Serves the feed with `entries` from now on (replacing the earlier version).
    async fn publish(&self, entries: &[(&str, &str)]) {
        self.feed.reset().await;
        Mock::given(method("GET"))
            .and(path("/feed.xml"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                atom(&self.hub_url, &self.feed_url, entries),
                "application/atom+xml",
            ))
            .mount(&self.feed)
            .await;
    }

    fn config(&self, setup: &Setup, port: u16, with_source: bool) -> std::path::PathBuf {
        let source = if with_source {
            format!(
                "[[sources]]\nname = \"Wire\"\nurl = \"{}\"\nschedule = \"* * * * * *\"\n\n",
                self.feed_url
            )
        } else {
            String::new()
        };
        setup.write_config(&format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}/\"\npush_poll_secs = 3\n\n\
             {source}[[subscriptions]]\nuser = \"alice\"\nquery = \"Gemini\"\nchannel = \"news\"\n"
        ))
    }
}

/// Waits for newshound's subscription request and checks it; verifies intent the way a hub
/// does (a foreign topic and an unasked-for mode first, which must not be confirmed), with a
/// 4-second lease. Returns the callback and the secret.
async fn subscribed_and_verified(site: &Site, bot: &ConsoleBot, port: u16) -> (String, String) {
    // The first poll finds the hub and newshound asks it for a subscription.
    let subscribe = wait_for_hub(&site.hub, "subscribe", 1, bot).await.remove(0);
    assert_eq!(
        subscribe.topic, site.feed_url,
        "the feed's rel=self is the topic"
    );
    let public = public_prefix(port);
    assert!(
        subscribe.callback.starts_with(&public),
        "callback {} is under public_url",
        subscribe.callback
    );
    let secret = subscribe.secret.clone().expect("a hub.secret is sent");
    assert!(
        secret.len() >= 32,
        "the secret is long and random: {secret}"
    );
    assert!(subscribe.lease_seconds.is_some(), "a lease is asked for");
    let callback = subscribe.callback.clone();

    // Intent verification: only the topic that was asked for is confirmed.
    let (status, body) = verify(
        &callback,
        "subscribe",
        "https://evil.example/feed",
        "nope-1",
        600,
    )
    .await;
    assert_eq!(status, 404, "a foreign topic is not confirmed");
    assert!(
        !body.contains("nope-1"),
        "the challenge is not echoed: {body}"
    );
    let (status, body) = verify(&callback, "unsubscribe", &site.feed_url, "nope-2", 600).await;
    assert_eq!(
        status, 404,
        "an unsubscription nobody asked for is not confirmed"
    );
    assert!(!body.contains("nope-2"));
    // A short lease, so the renewal comes within the test.
    let (status, body) = verify(&callback, "subscribe", &site.feed_url, "challenge-7d1f", 4).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "challenge-7d1f"),
        "the challenge is echoed"
    );

    (callback, secret)
}

fn public_prefix(port: u16) -> String {
    format!("http://127.0.0.1:{port}/websub/")
}

const FIRST: (&str, &str) = ("w0", "Markets open higher");
const PUSHED: (&str, &str) = ("w1", "Google ships Gemini 3");
const FORGED: (&str, &str) = ("w9", "Gemini forged by an attacker");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_push_alerts_at_once_and_the_next_poll_alerts_nothing() {
    let site = Site::start().await;
    site.publish(&[FIRST]).await;
    let setup = Setup::new();
    let port = free_port();
    let config = site.config(&setup, port, true);
    let bot = ConsoleBot::start(&config, setup.path("run.log"));

    let (callback, secret) = subscribed_and_verified(&site, &bot, port).await;

    // Refused pushes: no signature, a wrong one, an unknown callback, an oversized body.
    let forged = atom(&site.hub_url, &site.feed_url, &[FORGED, FIRST]);
    assert_eq!(push(&callback, &forged, None).await, 403);
    assert_eq!(
        push(
            &callback,
            &forged,
            Some(signature("not-the-secret", forged.as_bytes()))
        )
        .await,
        403
    );
    let unknown = format!("{}0123456789abcdef", public_prefix(port));
    assert_eq!(
        push(
            &unknown,
            &forged,
            Some(signature(&secret, forged.as_bytes()))
        )
        .await,
        404
    );
    assert_eq!(
        oversized_push(port, &callback).await,
        413,
        "a body larger than 4 MiB is refused before it is read"
    );

    // A signed push with a new item alerts without waiting for a poll: the feed itself does
    // not have the item yet.
    let pushed = atom(&site.hub_url, &site.feed_url, &[PUSHED, FIRST]);
    let sent = Instant::now();
    assert_eq!(
        push(
            &callback,
            &pushed,
            Some(signature(&secret, pushed.as_bytes()))
        )
        .await,
        202
    );
    let alert = bot.next_alert(WAIT);
    let latency = sent.elapsed();
    eprintln!("push to alert: {} ms", latency.as_millis());
    assert_eq!(alert["title"], PUSHED.1, "the pushed item alerted: {alert}");

    // The lease is renewed before it ends.
    let renewals = wait_for_hub(&site.hub, "subscribe", 2, &bot).await;
    assert_eq!(
        renewals[1].callback, callback,
        "renewed at the same callback"
    );
    assert_eq!(renewals[1].topic, site.feed_url);
    let (status, body) = verify(&callback, "subscribe", &site.feed_url, "renewed-2", 600).await;
    assert_eq!((status, body.as_str()), (200, "renewed-2"));

    // The feed now has the pushed item: the next poll reads it and alerts nothing.
    site.publish(&[PUSHED, FIRST]).await;
    let deadline = Instant::now() + WAIT;
    while !bot
        .log()
        .lines()
        .any(|l| l.contains("polled") && l.contains("items=2"))
    {
        assert!(
            Instant::now() < deadline,
            "no poll of the updated feed; log:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = bot.printed();
    assert!(later.is_empty(), "the poll alerted again: {later:?}");

    // What was refused is counted, and never reached the pipeline.
    let (status, text) = get(&format!("127.0.0.1:{port}"), "/metrics", &[]).await;
    assert_eq!(status, 200);
    let metrics = parse_exposition(&text);
    let pushes = |result: &str| {
        metrics
            .value("newshound_websub_pushes_total", &[("result", result)])
            .map_or(0, |v| v as u64)
    };
    assert_eq!(pushes("bad_signature"), 2);
    assert_eq!(pushes("unknown_topic"), 1);
    assert_eq!(pushes("too_large"), 1);
    assert_eq!(pushes("accepted"), 1);
    assert!(
        !bot.log().contains(FORGED.1),
        "the forged item was never processed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_source_is_unsubscribed() {
    let site = Site::start().await;
    site.publish(&[FIRST]).await;
    let setup = Setup::new();
    let port = free_port();
    let config = site.config(&setup, port, true);
    let bot = ConsoleBot::start(&config, setup.path("run.log"));
    let subscribe = wait_for_hub(&site.hub, "subscribe", 1, &bot)
        .await
        .remove(0);
    let (status, _) = verify(
        &subscribe.callback,
        "subscribe",
        &site.feed_url,
        "c-1",
        86_400,
    )
    .await;
    assert_eq!(status, 200);
    drop(bot);

    // The source leaves the config: on the next start newshound unsubscribes.
    let config = site.config(&setup, port, false);
    let bot = ConsoleBot::start(&config, setup.path("run2.log"));
    let unsubscribe = wait_for_hub(&site.hub, "unsubscribe", 1, &bot)
        .await
        .remove(0);
    assert_eq!(unsubscribe.callback, subscribe.callback);
    assert_eq!(unsubscribe.topic, site.feed_url);
    assert_eq!(
        unsubscribe.secret, None,
        "an unsubscription sends no secret"
    );
    let (status, body) = verify(
        &subscribe.callback,
        "unsubscribe",
        &site.feed_url,
        "bye-3",
        0,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (200, "bye-3"),
        "the unsubscription is confirmed"
    );
    // Gone: a push to the old callback is refused.
    let body = atom(&site.hub_url, &site.feed_url, &[PUSHED]);
    let secret = subscribe.secret.expect("secret");
    assert_eq!(
        push(
            &subscribe.callback,
            &body,
            Some(signature(&secret, body.as_bytes()))
        )
        .await,
        404
    );
}
