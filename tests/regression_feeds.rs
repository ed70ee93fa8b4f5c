//! Black-box regression tests for issue 17 ("Read every feed feedparser reads"): one test per
//! failure class, each through the real binary's `newshound fetch <file> --output json` (one
//! JSON object per item per line on stdout, warnings on stderr), on the fixtures under
//! `tests/fixtures/corpus/` (`own/` written for these tests, `feedparser/` vendored from
//! feedparser's test corpus). The damaged-feed class is also checked through `newshound once`
//! and `newshound sources`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn corpus(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corpus")
        .join(relative)
}

fn newshound(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newshound"))
        .args(args)
        .env_remove("DISCORD_TOKEN")
        .env_remove("NEWSHOUND_CONFIG")
        .env("NEWSHOUND_LOG", "warn")
        .output()
        .expect("run newshound")
}

/// What `newshound fetch <file> --output json` printed.
struct Fetched {
    items: Vec<Value>,
    stderr: String,
}

impl Fetched {
    fn titles(&self) -> Vec<&str> {
        self.items
            .iter()
            .map(|i| i["title"].as_str().expect("every item has a title string"))
            .collect()
    }

    /// Each item's link (`None` when the JSON says `null`).
    fn links(&self) -> Vec<Option<&str>> {
        self.items.iter().map(|i| i["link"].as_str()).collect()
    }

    fn ids(&self) -> Vec<&str> {
        self.items
            .iter()
            .map(|i| i["id"].as_str().expect("every item has an id"))
            .collect()
    }
}

/// Runs `fetch` on a corpus file; panics unless it exits 0 with one JSON object per line.
fn fetch(relative: &str) -> Fetched {
    let path = corpus(relative);
    let out = newshound(&[
        "fetch",
        path.to_str().expect("UTF-8 path"),
        "--output",
        "json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "fetch {relative} failed: {stderr}\n{stdout}"
    );
    let items = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    Fetched { items, stderr }
}

/// Runs `fetch` on a corpus file that must be refused; returns its stderr.
fn fetch_refused(relative: &str) -> String {
    let path = corpus(relative);
    let out = newshound(&[
        "fetch",
        path.to_str().expect("UTF-8 path"),
        "--output",
        "json",
    ]);
    assert!(
        !out.status.success(),
        "fetch {relative} should fail, printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "a refused feed prints no items");
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn assert_not_damaged(fetched: &Fetched) {
    assert!(
        !fetched.stderr.contains("warning"),
        "a whole document is not damaged: {}",
        fetched.stderr
    );
}

// 1. An unusual `type` on an Atom 1.0 text construct failed the whole feed.

#[test]
fn atom_text_construct_with_unusual_type_is_read_as_text() {
    let feed = fetch("own/atom_text_types.xml");
    assert_eq!(
        feed.titles(),
        [
            "Footbridge reopens after repairs", // type="text/plain"
            "Flood warning lifted for the weir & the mill", // base64 (binary MIME type)
            "Council agrees new cycle lanes",   // type="" with markup
        ]
    );
    assert_eq!(
        feed.links(),
        [
            Some("https://courier.example.org/2024/04/footbridge"),
            Some("https://courier.example.org/2024/04/flood-warning"),
            Some("https://courier.example.org/2024/04/cycle-lanes"),
        ]
    );
    // type="TEXT" summary, mode="base64" HTML content, application/xhtml+xml summary.
    let summaries: Vec<_> = feed.items.iter().map(|i| i["summary"].clone()).collect();
    assert_eq!(
        summaries,
        [
            "The bridge was closed for six weeks.",
            "Levels are back to normal.",
            "Three routes in May."
        ]
    );
    assert_not_damaged(&feed);
}

#[test]
fn atom_text_construct_base64_title_from_feedparser_is_decoded() {
    let feed = fetch("feedparser/wellformed/atom10/entry_title_base64.xml");
    assert_eq!(feed.titles(), ["Example Atom"]);
    let feed = fetch("feedparser/wellformed/atom10/entry_title_base64_2.xml");
    assert_eq!(feed.titles(), ["History of the <blink> tag"]);
    let feed = fetch("feedparser/wellformed/atom10/entry_title_text_plain.xml");
    assert_eq!(feed.titles(), ["Example Atom"]);
    let feed = fetch("feedparser/wellformed/atom10/entry_title_type_empty-no-crash.xml");
    assert_eq!(feed.titles(), ["evil"]);
}

// 2. RSS 1.0 items without a <link> were dropped silently.

#[test]
fn rdf_item_without_link_is_still_an_item() {
    let feed = fetch("own/rdf_items_without_link.rdf");
    assert_eq!(
        feed.titles(),
        [
            "Partial eclipse visible on Tuesday morning",
            "Open night moved to Friday",
            "Telescope dome repainted",
        ]
    );
    assert_eq!(
        feed.links(),
        [
            Some("https://observatory.example.net/notes/eclipse"),
            None,
            None
        ]
    );
    let mut ids = feed.ids();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each item has its own identity: {ids:?}");
}

#[test]
fn rdf_items_without_any_link_take_their_identity_from_rdf_about() {
    let feed = fetch("own/rdf_no_links_at_all.rdf");
    assert_eq!(
        feed.titles(),
        [
            "Water main works on Station Road",
            "Polling station moved to the library"
        ]
    );
    assert_eq!(feed.links(), [None, None]);
    assert_eq!(
        feed.ids(),
        ["g:urn:notice:2024-117", "g:urn:notice:2024-118"]
    );

    // feedparser's rdf_item_description.xml: a description, an rdf:about, nothing else.
    let feed = fetch("feedparser/wellformed/rdf/rdf_item_description.xml");
    assert_eq!(feed.items.len(), 1);
    assert_eq!(feed.items[0]["summary"], "Example description");
    assert_eq!(feed.links(), [None]);
    assert_eq!(feed.ids(), ["g:http://example.com/1"]);
}

// 3. RSS without <channel>: items directly under <rss>; an empty <rss></rss>.

#[test]
fn rss_items_without_channel_are_read() {
    let feed = fetch("own/rss_items_without_channel.xml");
    assert_eq!(
        feed.titles(),
        [
            "Road closed at Miller's Bridge",
            "School reopens after boiler repair"
        ]
    );
    assert_eq!(
        feed.links(),
        [
            Some("https://valleyradio.example.com/bulletins/millers-bridge"),
            Some("https://valleyradio.example.com/bulletins/school-boiler"),
        ]
    );
    let feed = fetch("feedparser/encoding/encoding_attribute_crash.xml");
    assert_eq!(feed.items.len(), 1, "feedparser's encoding test item");
}

#[test]
fn rss_empty_document_is_an_empty_feed() {
    for file in ["own/rss_empty.xml", "own/rss_empty_self_closing.xml"] {
        let feed = fetch(file);
        assert!(feed.items.is_empty(), "{file}: {:?}", feed.items);
        assert_not_damaged(&feed);
    }
}

// 4. Malformed or cut-off XML was rejected whole.

fn assert_damaged(feed: &Fetched, kept: usize) {
    let warning = feed
        .stderr
        .lines()
        .find(|l| l.starts_with("warning: the feed is damaged"))
        .unwrap_or_else(|| panic!("no damaged warning on stderr: {}", feed.stderr));
    assert!(
        warning.contains(&format!("read the {kept} complete item(s)")),
        "{warning}"
    );
}

#[test]
fn damaged_feed_cut_off_inside_a_link_keeps_only_complete_items() {
    let feed = fetch("own/rss_cut_off_in_link.xml");
    assert_eq!(
        feed.titles(),
        [
            "Ferry timetable changes from Monday",
            "Lifeboat crew honoured"
        ],
        "the item whose <link> was cut is never an item"
    );
    assert_eq!(feed.ids(), ["g:hw-881", "g:hw-882"]);
    assert_damaged(&feed, 2);
}

#[test]
fn damaged_atom_feed_cut_off_inside_an_id_keeps_only_complete_entries() {
    let feed = fetch("own/atom_cut_off_in_id.xml");
    assert_eq!(feed.titles(), ["Drainage board sets new rates"]);
    assert_eq!(
        feed.links(),
        [Some("https://fenland.example.org/2024/drainage-rates")]
    );
    assert_damaged(&feed, 1);
}

#[test]
fn damaged_feed_cut_after_its_last_item_keeps_every_item() {
    let feed = fetch("own/rss_cut_after_last_item.xml");
    assert_eq!(
        feed.titles(),
        [
            "Market stalls move indoors for winter",
            "Castle tours resume in March"
        ]
    );
    assert_damaged(&feed, 2);
}

#[test]
fn damaged_feed_with_broken_markup_midway_keeps_the_items_before_it() {
    let feed = fetch("own/rss_broken_markup_midway.xml");
    assert_eq!(
        feed.titles(),
        [
            "Sheep fair returns to the green",
            "Bus route 12 extended to the reservoir"
        ]
    );
    assert_damaged(&feed, 2);
}

#[test]
fn damaged_feed_cut_inside_its_first_item_is_still_refused() {
    // feedparser finds one "entry" here: an item cut inside its title, with no guid or link.
    let stderr = fetch_refused("feedparser/illformed/rss_incomplete_cdata.xml");
    assert!(stderr.contains("malformed XML"), "{stderr}");
    assert!(stderr.contains("cut off"), "{stderr}");
}

fn write_config(dir: &Path, feed: &Path) -> PathBuf {
    let config = dir.join("newshound.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\npath = \"state/newshound.db\"\n\n[fetch]\njitter_secs = 0\n\n\
             [[sources]]\nname = \"Harbour\"\nurl = \"{}\"\n\n\
             [[subscriptions]]\nuser = \"alice\"\nquery = \"harbour\"\nchannel = \"news\"\n",
            feed.display()
        ),
    )
    .expect("write config");
    config
}

fn once(config: &Path) -> (Vec<Value>, String) {
    let out = newshound(&[
        "once",
        "--config",
        config.to_str().expect("UTF-8 path"),
        "--output",
        "json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "once failed: {stderr}\n{stdout}");
    let alerts = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (alerts, stderr)
}

fn harbour_item(n: u32, title: &str) -> String {
    format!(
        "<item><guid>hb-{n}</guid><title>{title}</title>\
         <link>https://harbour.example.com/{n}</link></item>\n"
    )
}

#[test]
fn damaged_feed_polled_by_once_alerts_on_complete_items_and_reads_damaged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let feed = dir.path().join("harbour.xml");
    let head = "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>Harbour</title>\
                <link>https://harbour.example.com/</link>\n";
    std::fs::write(
        &feed,
        format!(
            "{head}{}</channel></rss>\n",
            harbour_item(1, "Harbour dues unchanged")
        ),
    )
    .expect("write feed");
    let config = write_config(dir.path(), &feed);
    let (first, _) = once(&config);
    assert!(first.is_empty(), "the first poll only records: {first:?}");

    // Two new complete items, then a third cut off inside its link.
    std::fs::write(
        &feed,
        format!(
            "{head}{}{}{}<item><guid>hb-4</guid><title>Harbour wall repaired</title>\
             <link>https://harbour.exa",
            harbour_item(2, "Harbour master retires"),
            harbour_item(3, "Harbour festival dates set"),
            harbour_item(1, "Harbour dues unchanged"),
        ),
    )
    .expect("write feed");
    let (alerts, _) = once(&config);
    let mut titles: Vec<_> = alerts
        .iter()
        .map(|a| a["title"].as_str().unwrap_or_default())
        .collect();
    titles.sort_unstable();
    assert_eq!(
        titles,
        ["Harbour festival dates set", "Harbour master retires"],
        "alerts on the complete new items only: {alerts:?}"
    );
    for alert in &alerts {
        assert!(
            alert["link"]
                .as_str()
                .is_some_and(|l| l.starts_with("https://harbour.example.com/")),
            "{alert}"
        );
    }

    let out = newshound(&["sources", "--config", config.to_str().expect("UTF-8 path")]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "sources failed: {table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("Harbour |"))
        .unwrap_or_else(|| panic!("no Harbour row: {table}"));
    let columns: Vec<_> = row.split(" | ").collect();
    assert_eq!(columns[1], "damaged", "{row}");
    assert!(
        columns[5].starts_with("the feed is damaged") && columns[5].contains("3 complete item(s)"),
        "the last error says what was lost: {row}"
    );

    // The same damaged bytes again: nothing new, and still damaged (not reset to ok).
    let (again, _) = once(&config);
    assert!(again.is_empty(), "nothing new: {again:?}");
    let out = newshound(&["sources", "--config", config.to_str().expect("UTF-8 path")]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let row = table
        .lines()
        .find(|l| l.starts_with("Harbour |"))
        .unwrap_or_else(|| panic!("no Harbour row: {table}"));
    let columns: Vec<_> = row.split(" | ").collect();
    assert_eq!(
        columns[1], "damaged",
        "an unchanged damaged document stays damaged: {row}"
    );
    assert!(columns[5].starts_with("the feed is damaged"), "{row}");
}

// 5. JSON Feed with a bare version was refused with a self-contradicting message.

#[test]
fn jsonfeed_bare_version_is_read() {
    let feed = fetch("own/jsonfeed_bare_version_10.json");
    assert_eq!(
        feed.titles(),
        ["Waiting list reopens", "Seed swap on Saturday"]
    );
    assert_eq!(
        feed.links(),
        [
            Some("https://allotments.example.org/waiting-list"),
            Some("https://allotments.example.org/seed-swap"),
        ]
    );
    let feed = fetch("own/jsonfeed_bare_version_11.json");
    assert_eq!(feed.titles(), ["Spring tide warning for Friday"]);
    assert_eq!(feed.links(), [Some("https://tides.example.com/2024-04-12")]);
}

#[test]
fn jsonfeed_unknown_version_names_it_without_contradiction() {
    let stderr = fetch_refused("own/jsonfeed_unknown_version.json");
    assert!(
        stderr.contains("unsupported JSON Feed version \"https://jsonfeed.org/version/2\""),
        "{stderr}"
    );
    assert!(!stderr.contains("only 1.0 and 1.1"), "{stderr}");
}

// 6. The smaller ones.

#[test]
fn cdf_channel_is_read_as_a_feed() {
    let feed = fetch("own/cdf_channel.cdf");
    assert_eq!(
        feed.titles(),
        [
            "Canteen opens at 7:30 from Monday",
            "Car park resurfacing this weekend"
        ]
    );
    assert_eq!(
        feed.links(),
        [
            Some("https://intranet.example.com/news/canteen.htm"),
            Some("https://intranet.example.com/news/parking.htm"),
        ]
    );
    assert_eq!(feed.items[0]["summary"], "Breakfast is served until 10.");
    let feed = fetch("feedparser/wellformed/cdf/item_title.xml");
    assert_eq!(feed.titles(), ["Example item"]);
    let feed = fetch("feedparser/wellformed/cdf/item_href_map_link.xml");
    assert_eq!(feed.links(), [Some("http://www.example.org/")]);
}

#[test]
fn rss2_in_userland_namespace_has_its_items() {
    let feed = fetch("own/rss2_userland_namespace.xml");
    assert_eq!(feed.titles(), ["Outliners are back"]);
    assert_eq!(
        feed.links(),
        [Some("https://scripting.example.com/2024/04/outliners")]
    );
    for (file, title) in [
        (
            "feedparser/wellformed/namespace/rss2.0NSwithModules.xml",
            "Test Item - RSS2.0 w/ NS",
        ),
        (
            "feedparser/wellformed/namespace/rss2.0NSwithModulesNoDefNS.xml",
            "Test Item - - RSS2.0 w/ NS no default NS",
        ),
    ] {
        let feed = fetch(file);
        assert_eq!(feed.titles(), [title], "{file}");
        assert_eq!(feed.links().len(), 1, "{file}");
        assert!(feed.links()[0].is_some(), "{file}: {:?}", feed.links());
    }
}

#[test]
fn atom_feed_using_item_for_entries_is_read() {
    let feed = fetch("own/atom_item_entries.xml");
    assert_eq!(
        feed.titles(),
        ["Laser cutter back in service", "Soldering class full"]
    );
    assert_eq!(
        feed.links(),
        [
            Some("https://makers.example.org/log/laser-cutter"),
            Some("https://makers.example.org/log/soldering"),
        ]
    );
}

#[test]
fn rss_with_xhtml_doctype_is_not_an_html_page() {
    let feed = fetch("own/rss_xhtml_doctype.xml");
    assert_eq!(feed.titles(), ["Newsletter archive moved"]);
    assert_eq!(
        feed.links(),
        [Some("https://oldcms.example.com/newsletter-archive")]
    );
}

#[test]
fn html_page_is_still_not_a_feed() {
    let stderr = fetch_refused("own/html_page_not_a_feed.html");
    assert!(
        stderr.contains("not a feed: the server sent an HTML page"),
        "{stderr}"
    );
}

#[test]
fn rss_in_json_is_read() {
    let feed = fetch("own/rss_in_json.json");
    assert_eq!(
        feed.titles(),
        ["Podcasting is still RSS", "Blogrolls, again"]
    );
    assert_eq!(
        feed.links(),
        [
            Some("https://scripting.example.com/2024/04/10/podcasting"),
            Some("https://scripting.example.com/2024/04/09/blogrolls"),
        ]
    );
    assert_eq!(
        feed.ids(),
        [
            "g:sn-20240410-1",
            "g:https://scripting.example.com/2024/04/09/blogrolls"
        ]
    );
}

#[test]
fn rss_link_written_atom_style_keeps_its_href() {
    let feed = fetch("own/rss_atom_style_link.xml");
    assert_eq!(
        feed.titles(),
        ["Episode 1: Fiat Lux", "Episode 2: Chapters"]
    );
    assert_eq!(
        feed.links(),
        [
            Some("https://podcast.example.org/episodes/1?from=rss&v=2"),
            Some("https://podcast.example.org/episodes/2"),
        ],
        "the page's href, not the enclosure's"
    );
    let feed = fetch("feedparser/wellformed/psc/rss2.0simplechapter.xml");
    assert_eq!(feed.links(), [Some("http://podlove.org/podcast/1")]);
}

#[test]
fn relative_links_without_a_base_are_kept_as_written() {
    let feed = fetch("own/rss_relative_links_no_base.xml");
    assert_eq!(
        feed.links(),
        [
            Some("minutes/2024-04.html"),
            Some("/reports/treasurer-2024.html")
        ]
    );
    let feed = fetch("own/rss_xml_base_relative_links.xml");
    assert_eq!(
        feed.links(),
        [Some("https://parish.example.org/news/bell-ringers.html")],
        "xml:base resolves them"
    );
}
