//! Regression tests named after the bug they pin (issue 11's defects), black-box where a
//! user would see them.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{item, once_json, rss, Setup};

/// Two local feed files as sources, and alice subscribed to "Meta".
fn two_sources(setup: &Setup) -> std::path::PathBuf {
    let wire = setup.path("wire.xml");
    let herald = setup.path("herald.xml");
    std::fs::write(&wire, rss(&[item("w0", "Markets open higher", "https://wire.example/0")]))
        .unwrap();
    std::fs::write(
        &herald,
        rss(&[item("h0", "Rain expected on Tuesday", "https://herald.example/0")]),
    )
    .unwrap();
    setup.write_config(&format!(
        "[[sources]]\nname = \"Wire\"\nurl = \"{}\"\n\n[[sources]]\nname = \"Herald\"\nurl = \"{}\"\n\n\
         [[subscriptions]]\nuser = \"alice\"\nquery = \"Meta\"\nchannel = \"news\"\n\n\
         [[subscriptions]]\nuser = \"bob\"\nquery = \"glasses\"\nchannel = \"news\"\n",
        wire.display(),
        herald.display()
    ))
}

#[test]
fn same_story_same_cycle_two_alerts() {
    let setup = Setup::new();
    let config = two_sources(&setup);
    assert!(once_json(&config).alerts.is_empty(), "first polls only record");
    // Both sources publish the same story; both items are new in the same cycle.
    let title = "Meta unveils new smart glasses at its Connect event";
    std::fs::write(
        setup.path("wire.xml"),
        rss(&[
            item("w0", "Markets open higher", "https://wire.example/0"),
            item("w1", title, "https://wire.example/meta-glasses"),
        ]),
    )
    .unwrap();
    std::fs::write(
        setup.path("herald.xml"),
        rss(&[
            item("h0", "Rain expected on Tuesday", "https://herald.example/0"),
            item("h1", title, "https://herald.example/2026/meta-glasses"),
        ]),
    )
    .unwrap();
    let run = once_json(&config);
    assert_eq!(
        run.alerts.len(),
        1,
        "one story, one alert for every member: {:#?}",
        run.alerts
    );
    let alert = &run.alerts[0];
    assert_eq!(alert["title"], title);
    let subscribers: Vec<&str> = alert["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert_eq!(subscribers.len(), 2, "alice (Meta) and bob (glasses): {alert}");
    let also = alert["also_covered_by"].as_array().expect("also_covered_by");
    assert_eq!(also.len(), 1, "{alert}");
    let other = if alert["source"] == "Wire" { "Herald" } else { "Wire" };
    assert_eq!(also[0]["source"], other, "{alert}");
    assert!(run.stderr.contains("delivered 1 alerts"), "{}", run.stderr);
    // Nothing left to deliver: the merged report was not lost, and is not sent again.
    assert!(once_json(&config).alerts.is_empty());
}

/// A feed that counts its requests.
async fn counting_feed() -> (wiremock::MockServer, Arc<AtomicUsize>) {
    let server = wiremock::MockServer::start().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let body = rss(&[item("a", "Markets open higher", "https://wire.example/a")]);
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(move |_: &wiremock::Request| {
            counter.fetch_add(1, Ordering::SeqCst);
            wiremock::ResponseTemplate::new(200)
                .set_body_string(body.clone())
                .insert_header("content-type", "application/rss+xml")
        })
        .mount(&server)
        .await;
    (server, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jitter_longer_than_the_schedule() {
    let (server, hits) = counting_feed().await;
    let setup = Setup::new();
    // The default jitter (30 s) is far longer than this source's 2 s interval.
    let config = setup.path("jitter.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\npath = \"state/n.db\"\n\n[fetch]\njitter_secs = 30\n\n\
             [[sources]]\nname = \"Fast\"\nurl = \"{}/feed.xml\"\nschedule = \"*/2 * * * * *\"\n",
            server.uri()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_newshound"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env_remove("DISCORD_TOKEN")
        .env("NEWSHOUND_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start newshound run");
    let mut first_poll = None;
    // Every 2 s with at most 0.2 s of jitter: three polls in well under 12 s. With up to 30 s
    // of jitter per poll, three polls would take about 45 s.
    while started.elapsed() < Duration::from_secs(12) && hits.load(Ordering::SeqCst) < 3 {
        if first_poll.is_none() && hits.load(Ordering::SeqCst) > 0 {
            first_poll = Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let polled = hits.load(Ordering::SeqCst);
    let _ = child.kill();
    let _ = child.wait();
    assert!(polled >= 3, "only {polled} polls in 12 s of a */2 s schedule");
    let first_poll = first_poll.unwrap_or_else(|| started.elapsed());
    assert!(
        first_poll < Duration::from_secs(5),
        "a new source's baseline poll came {first_poll:?} after start"
    );
}
