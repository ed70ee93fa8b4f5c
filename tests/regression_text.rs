//! Regression tests for issue 11's text defects, black-box: the real binary's `once --output
//! json` over feed files written to a temp directory.

mod support;

use std::collections::BTreeSet;

use support::binary::once_json;
use support::commands::ALICE;
use support::config::Setup;
use support::feeds::{item, rss};
use support::world::World;

/// Runs `newshound once --output json` on a config of `sources` (TOML) subscribed to
/// `"Google Cloud"`, and returns the titles alerted.
fn alerted_titles(setup: &Setup, sources: &str) -> BTreeSet<String> {
    let config = setup.write_config(&format!(
        "[defaults]\nbackfill = 20\n\n{sources}\n\
         [[subscriptions]]\nuser = \"alice\"\nquery = '\"Google Cloud\"'\nchannel = \"news\"\n"
    ));
    once_json(&config)
        .alerts
        .iter()
        .map(|alert| {
            assert_eq!(alert["matched"], serde_json::json!(["\"Google Cloud\""]));
            alert["title"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

/// Writes `name` into the setup's directory.
fn write(setup: &Setup, name: &str, text: &str) {
    std::fs::write(setup.path(name), text).expect("write test file");
}

/// Issue 11, "Phrases across a line wrap": a phrase wrapped across a newline and indentation
/// in a feed's HTML (or by a single hard wrap in plain text) was missed, because the line
/// break was taken for a sentence break. Only a sentence end, a block or a blank line parts a
/// phrase.
#[test]
fn phrases_across_a_line_wrap_match_but_not_across_a_paragraph() {
    let setup = Setup::new();
    let feed = rss(&[
        item("html-wrap", "Migration news")
            .description("<p>The bank moves its systems to Google\n      Cloud this year.</p>"),
        item("plain-wrap", "Plain migration news")
            .description("The bank moves its systems to Google\nCloud this year."),
        item("paragraphs", "Two paragraphs")
            .description("<p>The bank already uses Google</p><p>Cloud costs rose again.</p>"),
        item("blank-line", "Two plain paragraphs")
            .description("The bank already uses Google\n\nCloud costs rose again."),
        item("sentence", "Two sentences")
            .description("<p>The bank already uses Google.\n   Cloud costs rose again.</p>"),
    ]);
    write(&setup, "feed.xml", &feed);
    let atom = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
        <feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Atom wire</title><id>urn:a</id>\
        <updated>2026-11-29T09:00:00Z</updated>\
        <entry><id>urn:a:1</id><title>Atom summary news</title>\
        <link href=\"https://atom.example/1\"/><updated>2026-11-29T09:00:00Z</updated>\
        <summary type=\"html\">&lt;p&gt;Moving to Google\n    Cloud.&lt;/p&gt;</summary></entry>\
        <entry><id>urn:a:2</id><title>Atom content news</title>\
        <link href=\"https://atom.example/2\"/><updated>2026-11-29T09:00:00Z</updated>\
        <content type=\"html\">&lt;p&gt;Moving to Google\n    Cloud.&lt;/p&gt;</content></entry>\
        </feed>\n";
    write(&setup, "atom.xml", atom);
    let json_feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON wire",
        "items": [{
            "id": "j1",
            "url": "https://json.example/1",
            "title": "JSON Feed news",
            "date_published": "2026-11-29T09:00:00Z",
            "content_html": "<p>Moving to Google\n    Cloud.</p>",
        }],
    });
    write(&setup, "feed.json", &json_feed.to_string());

    let titles = alerted_titles(
        &setup,
        "[[sources]]\nname = \"Wire\"\nurl = \"feed.xml\"\n\n\
         [[sources]]\nname = \"Atom\"\nurl = \"atom.xml\"\n\n\
         [[sources]]\nname = \"Json\"\nurl = \"feed.json\"\n",
    );
    let expected: BTreeSet<String> = [
        "Migration news",
        "Plain migration news",
        "Atom summary news",
        "Atom content news",
        "JSON Feed news",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(titles, expected);
}

/// Issue 11, "Bolding drift": an alert matched on the name `Meta` bolded "meta" inside
/// "meta-analysis" in its summary, although the matcher's case rule rejects that match. Seen
/// as a member sees it: the embed the real bot posts to the fake Discord.
#[tokio::test]
async fn bolding_drift_bolds_exactly_what_the_matcher_matched() {
    let (world, _bot) = World::started().await;
    world.subscribed(ALICE, "Meta", None).await;
    world
        .publish(&[item("meta-1", "Meta trial results").description(
            "A meta-analysis of 40 trials, published by Meta, found little. \
             Metadata from the study is online.",
        )])
        .await;
    let body = world.wait_for_title("Meta trial results").await;
    let description = body
        .pointer("/embeds/0/description")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    assert!(
        description.contains("published by **Meta**"),
        "the matched name is bolded: {description}"
    );
    assert!(
        description.contains("A meta-analysis") && !description.contains("**meta"),
        "lower-case meta (not what `Meta` matches) is not bolded: {description}"
    );
    assert!(
        description.contains("Metadata") && !description.contains("**Metadata"),
        "a longer word is not bolded: {description}"
    );
    world.fake.assert_no_violations();
}
