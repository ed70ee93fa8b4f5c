//! `newshound run --output json`: the running bot printing alerts as JSON lines, so a script
//! (or a cluster check) can watch it without Discord.

mod support;

use std::time::Duration;

use support::binary::{command, once_json, ConsoleBot, TOKEN};
use support::config::Setup;
use support::feeds::{item, rss};

fn config(setup: &Setup, feed: &std::path::Path) -> std::path::PathBuf {
    setup.write_config(&format!(
        "[[sources]]\nname = \"Wire\"\nurl = \"{}\"\nschedule = \"* * * * * *\"\n\n\
         [[subscriptions]]\nuser = \"alice\"\nquery = \"Gemini\"\nchannel = \"news\"\n\n\
         [[subscriptions]]\nuser = \"bob\"\nquery = \"Meta\"\nchannel = \"news\"\n",
        feed.display()
    ))
}

const BEFORE: &[(&str, &str)] = &[("w0", "Markets open higher")];
const AFTER: &[(&str, &str)] = &[
    ("w0", "Markets open higher"),
    ("w1", "Google ships Gemini 3"),
    ("w2", "Meta cuts prices of its headsets"),
    ("w3", "Rain expected on Tuesday"),
];

fn write_feed(path: &std::path::Path, items: &[(&str, &str)]) {
    let items: Vec<_> = items.iter().map(|(g, t)| item(g, t)).collect();
    std::fs::write(path, rss(&items)).expect("write feed");
}

/// What `once --output json` prints for the same two steps: the reference.
fn once_reference() -> Vec<serde_json::Value> {
    let setup = Setup::new();
    let feed = setup.path("wire.xml");
    write_feed(&feed, BEFORE);
    let config = config(&setup, &feed);
    assert!(
        once_json(&config).alerts.is_empty(),
        "the first poll records"
    );
    write_feed(&feed, AFTER);
    once_json(&config).alerts
}

#[test]
fn run_output_json_prints_the_same_lines_as_once() {
    let expected = once_reference();
    assert_eq!(expected.len(), 2, "two of the three new items match");

    let setup = Setup::new();
    let feed = setup.path("wire.xml");
    write_feed(&feed, BEFORE);
    let config = config(&setup, &feed);
    let mut bot = ConsoleBot::start(&config, setup.path("run.log"));
    // Wait for the baseline poll (it records and prints nothing), then publish.
    let db = setup.db_path();
    let log_text = || std::fs::read_to_string(setup.path("run.log")).unwrap_or_default();
    let initialized = || {
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| {
                c.busy_timeout(Duration::from_secs(5))?;
                c.query_row(
                    "SELECT count(*) FROM sources WHERE initialized = 1",
                    [],
                    |r| r.get::<_, i64>(0),
                )
            })
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while initialized() < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "no first poll; log:\n{}",
            log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    write_feed(&feed, AFTER);

    let printed: Vec<serde_json::Value> = (0..expected.len())
        .map(|_| bot.next_alert(Duration::from_secs(30)))
        .collect();
    // A clean stop on SIGTERM.
    let pid = bot.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = bot.child.wait().expect("wait");
    assert!(status.success(), "exit {status:?}; log:\n{}", log_text());
    // Nothing more was printed: every alert exactly once.
    let rest = bot.printed();
    assert!(rest.is_empty(), "extra lines: {rest:?}");

    assert_eq!(
        printed, expected,
        "run --output json prints what once prints"
    );
}

#[test]
fn run_output_refuses_to_start_when_a_token_is_set() {
    let setup = Setup::new();
    let feed = setup.path("wire.xml");
    write_feed(&feed, BEFORE);
    let config = config(&setup, &feed);
    let out = command(&[
        "run",
        "--config",
        config.to_str().expect("utf-8"),
        "--output",
        "json",
    ])
    .env("DISCORD_TOKEN", TOKEN)
    .output()
    .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--output") && stderr.contains("DISCORD_TOKEN"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN), "the token never shows: {stderr}");
    assert!(!setup.db_path().exists(), "nothing started");
}
