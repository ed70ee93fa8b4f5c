//! Black-box: `/sources import file:` and `/sources export` through the fake Discord — the
//! uploaded OPML downloaded from the attachment URL, the server's quota and address rules,
//! hostile files refused, and the exported `.opml` attachment parsed back.

mod support;

use std::collections::BTreeSet;

use support::commands::{admin_cmd, member_cmd, reply_text, CAROL};
use support::fake_discord::{FakeConfig, InteractionResponse, DEFAULT_GUILD_ID};
use support::world::{seed, World};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/opml/feed-reader-export.opml"
);

async fn import(world: &World, filename: &str, bytes: Vec<u8>) -> InteractionResponse {
    let size = bytes.len();
    let url = world.fake.serve_attachment(filename, bytes);
    world
        .command_final(
            admin_cmd("sources")
                .subcommand("import", |o| {
                    o.attachment_option("file", filename, &url, size)
                })
                .build(),
        )
        .await
}

fn server_sources(world: &World) -> i64 {
    world
        .query_i64(&format!(
            "SELECT count(*) FROM sources WHERE guild_id = '{DEFAULT_GUILD_ID}'"
        ))
        .unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread")]
async fn import_and_export_through_discord() {
    let world = World::custom(
        FakeConfig::default(),
        |feeds| format!("[[sources]]\nname = \"Wire\"\nurl = \"{feeds}/feed.xml\"\n"),
        "max_sources_per_server = 5\n",
    )
    .await;
    world.publish(&[seed()]).await;
    let bot = world.start_bot();
    world.ready(&bot).await;

    // Seven importable feeds, one repeated, one ftp:, and a loopback one Discord may not add.
    let mut opml = std::fs::read_to_string(FIXTURE).unwrap();
    opml = opml.replace(
        "</body>",
        "<outline text=\"Router admin\" xmlUrl=\"http://192.168.1.1/rss\"/></body>",
    );
    let r = import(&world, "feedly.opml", opml.into_bytes()).await;
    assert_eq!(r.callback_type(), Some(5), "import is deferred");
    assert_eq!(r.callback_flags(), 64, "ephemeral");
    let text = reply_text(&r);
    assert!(
        text.starts_with("Imported **5** sources (1 skipped, 4 refused)"),
        "{text}"
    );
    assert!(text.contains("limit is reached"), "quota: {text}");
    assert!(text.contains("192.168.1.1"), "{text}");
    assert!(text.contains("private"), "address rule: {text}");
    assert!(text.contains("`ftp:`"), "{text}");
    assert_eq!(server_sources(&world), 5);

    // Export: an ephemeral reply with an .opml attachment listing Wire and the five.
    let r = world
        .command_final(admin_cmd("sources").subcommand("export", |o| o).build())
        .await;
    assert_eq!(r.callback_flags(), 64, "ephemeral");
    assert_eq!(r.files.len(), 1, "one attachment: {r:?}");
    let file = &r.files[0];
    assert_eq!(file.filename, "newshound-sources.opml");
    let exported = newshound::core::opml::parse(&file.bytes).expect("the export parses");
    let names: BTreeSet<_> = exported.iter().map(|f| f.title.as_str()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(
        names.contains("Wire") && names.contains("Ars Technica"),
        "{names:?}"
    );

    // Importing the export again adds nothing.
    let r = import(&world, "newshound-sources.opml", file.bytes.clone()).await;
    let text = reply_text(&r);
    assert!(text.starts_with("Imported **0** sources"), "{text}");
    assert_eq!(server_sources(&world), 5);

    world.fake.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_uploads_add_nothing() {
    let (world, _bot) = World::started().await;

    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE opml [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><opml version=\"2.0\"><body><outline text=\"&b;\" xmlUrl=\"https://x.example/\"/></body></opml>";
    let text = reply_text(&import(&world, "laughs.opml", laughs.into()).await);
    assert!(
        text.contains("`laughs.opml` was not imported") && text.contains("DOCTYPE"),
        "{text}"
    );
    assert!(text.contains("/sources import file:"), "{text}");

    let many = format!(
        "<opml version=\"2.0\"><body>{}</body></opml>",
        "<outline/>".repeat(100_000)
    );
    let text = reply_text(&import(&world, "many.opml", many.into_bytes()).await);
    assert!(text.contains("more than 5000 outlines"), "{text}");

    // Discord says how big the upload is: a 50 MB file is refused before any download.
    let url = world.fake.serve_attachment("big.opml", b"<opml/>".to_vec());
    let r = world
        .command_final(
            admin_cmd("sources")
                .subcommand("import", |o| {
                    o.attachment_option("file", "big.opml", &url, 50 * 1024 * 1024)
                })
                .build(),
        )
        .await;
    assert!(
        reply_text(&r).contains("at most 2097152 bytes"),
        "{}",
        reply_text(&r)
    );

    let text = reply_text(&import(&world, "notes.txt", b"just some text".to_vec()).await);
    assert!(text.contains("not well-formed XML"), "{text}");

    // An attachment URL that is not on Discord's hosts is never downloaded.
    let r = world
        .command_final(
            admin_cmd("sources")
                .subcommand("import", |o| {
                    o.attachment_option("file", "x.opml", "http://127.0.0.1:9/x.opml", 10)
                })
                .build(),
        )
        .await;
    assert!(
        reply_text(&r).contains("not on Discord's CDN"),
        "{}",
        reply_text(&r)
    );

    // Members without Manage Server are refused.
    let r = world
        .command_final(
            member_cmd("sources", CAROL)
                .subcommand("export", |o| o)
                .build(),
        )
        .await;
    assert!(
        reply_text(&r).contains("Manage Server"),
        "{}",
        reply_text(&r)
    );

    assert_eq!(server_sources(&world), 0);
}
