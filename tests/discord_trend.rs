//! Black-box: `/trend` through the fake Discord answers with a real PNG chart.

mod support;

use std::collections::HashSet;

use support::commands::{member_cmd, reply_text, ALICE};
use support::feeds::item;
use support::world::{seed, World};

#[tokio::test(flavor = "multi_thread")]
async fn trend_replies_with_a_png_chart() {
    let (world, _bot) = World::started().await;
    world
        .publish(&[
            item("t1", "Meta opens a new data centre"),
            item("t2", "Meta trims its budget"),
            item("t3", "Meta tests a new model"),
            item("t4", "Apple ships a phone"),
            seed(),
        ])
        .await;
    world
        .wait_until_sql(
            "the new items stored",
            "SELECT count(*) FROM items WHERE title LIKE 'Meta%'",
            3,
        )
        .await;
    // One of them was seen three days ago.
    let earlier = (chrono::Utc::now() - chrono::Duration::days(3))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    world.execute(
        "UPDATE items SET fetched_at = ?1 WHERE title = 'Meta trims its budget'",
        newshound::args![earlier],
    );

    let r = world
        .command_final(
            member_cmd("trend", ALICE)
                .string_option("query", "Meta")
                .integer_option("days", 7)
                .build(),
        )
        .await;
    assert_eq!(r.callback_type(), Some(5), "deferred");
    let caption = reply_text(&r);
    assert!(
        caption.starts_with("`Meta`: 3 matching items in the last 7 days, most on"),
        "{caption}"
    );
    assert_eq!(r.files.len(), 1, "{r:?}");
    assert_eq!(r.files[0].filename, "trend.png");

    let decoder = png::Decoder::new(r.files[0].bytes.as_slice());
    let mut reader = decoder.read_info().expect("a PNG");
    let (width, height) = (reader.info().width, reader.info().height);
    assert_eq!((width, height), (800, 400));
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).expect("decodes");
    let pixels = &pixels[..frame.buffer_size()];
    let channels = frame.color_type.samples();
    let colours: HashSet<&[u8]> = pixels.chunks(channels).collect();
    let not_white = pixels
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|c| *c < 250))
        .count();
    assert!(colours.len() >= 3, "only {} colours", colours.len());
    assert!(
        not_white > (width * height / 100) as usize,
        "almost blank: {not_white} drawn pixels"
    );
    // The bars are drawn in their colour.
    assert!(colours.contains(&[88u8, 101, 242][..]), "no bars drawn");

    // A bad query is an ephemeral error saying what to type.
    let r = world
        .command_final(
            member_cmd("trend", ALICE)
                .string_option("query", "   ")
                .build(),
        )
        .await;
    assert!(r.files.is_empty());
    assert!(
        reply_text(&r).contains("/subscribe query: Meta"),
        "{}",
        reply_text(&r)
    );
    world.fake.assert_no_violations();
}
