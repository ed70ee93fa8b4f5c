//! Source shorthands (issue 14): `reddit:`, `youtube:`, `mastodon:`, `bluesky:`, `hn:` and
//! `gnews:` in the config and in `newshound fetch`, each service's response shape served from
//! 127.0.0.1 through the documented `NEWSHOUND_SHORTHAND_BASE_<SERVICE>` override.

mod support;

use std::process::Output;

use support::binary::{newshound_env, once_json_env};
use support::config::Setup;
use support::feeds::{html_response, respond, xml_escape};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn out_text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_titles_links(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("one JSON object per line");
            (
                v["title"].as_str().unwrap_or_default().to_string(),
                v["link"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A subreddit's `.rss` as Reddit serves it: Atom, one `<entry>` per post.
fn reddit_atom(posts: &[(&str, &str)]) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"><category term="rust" label="r/rust"/><updated>2026-11-29T09:00:00+00:00</updated><icon>https://www.redditstatic.com/icon.png/</icon><id>/r/rust/.rss</id><link rel="self" href="https://www.reddit.com/r/rust/.rss" type="application/atom+xml" /><link rel="alternate" href="https://www.reddit.com/r/rust/" type="text/html" /><subtitle>A place for all things related to the Rust programming language</subtitle><title>The Rust Programming Language</title>"#,
    );
    for (id, title) in posts {
        out.push_str(&format!(
            r#"<entry><author><name>/u/ferris</name><uri>https://www.reddit.com/user/ferris</uri></author><category term="rust" label="r/rust"/><content type="html">&lt;!-- SC_OFF --&gt;&lt;div class="md"&gt;&lt;p&gt;{t}&lt;/p&gt;&lt;/div&gt;</content><id>t3_{id}</id><link href="https://www.reddit.com/r/rust/comments/{id}/post/" /><updated>2026-11-29T08:00:00+00:00</updated><published>2026-11-29T08:00:00+00:00</published><title>{t}</title></entry>"#,
            t = xml_escape(title)
        ));
    }
    out.push_str("</feed>");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reddit_shorthand_in_the_config_polls_the_subreddit_feed() {
    let reddit = MockServer::start().await;
    respond(
        &reddit,
        "/r/rust/.rss",
        ResponseTemplate::new(200).set_body_string(reddit_atom(&[("1a", "Announcing Tokio 2.0")])),
    )
    .await;
    let setup = Setup::new();
    let config = setup.write_config(
        "[[sources]]\nname = \"r/rust\"\nurl = \"reddit:r/rust\"\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"Tokio\"\nchannel = \"news\"\n",
    );
    let base = reddit.uri();
    let env = [("NEWSHOUND_SHORTHAND_BASE_REDDIT", base.as_str())];

    let first = once_json_env(&config, &[], &env);
    assert!(first.alerts.is_empty(), "the first poll only records");
    assert!(first.line("r/rust").contains("1 item"), "{}", first.stderr);

    reddit.reset().await;
    respond(
        &reddit,
        "/r/rust/.rss",
        ResponseTemplate::new(200).set_body_string(reddit_atom(&[
            ("2b", "Tokio 2.0 migration guide"),
            ("1a", "Announcing Tokio 2.0"),
        ])),
    )
    .await;
    let second = once_json_env(&config, &["--force"], &env);
    assert_eq!(second.titles(), ["Tokio 2.0 migration guide"]);
    assert_eq!(
        second.alerts[0]["link"],
        "https://www.reddit.com/r/rust/comments/2b/post/"
    );
}

/// A subreddit's JSON listing (`/r/NAME/.json`) as Reddit serves it: `(id, title, score)`.
fn reddit_listing(posts: &[(&str, &str, i64)]) -> String {
    let children: Vec<serde_json::Value> = posts
        .iter()
        .map(|(id, title, score)| {
            serde_json::json!({"kind": "t3", "data": {
                "subreddit": "rust", "subreddit_name_prefixed": "r/rust", "name": format!("t3_{id}"),
                "id": id, "title": title, "author": "ferris", "score": score, "ups": score,
                "num_comments": 12, "created_utc": 1_795_852_800.0, "is_self": false,
                "url": format!("https://blog.example/{id}"),
                "permalink": format!("/r/rust/comments/{id}/post/"), "thumbnail": "default"
            }})
        })
        .collect();
    serde_json::json!({"kind": "Listing", "data": {"after": null, "dist": posts.len(), "children": children}})
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reddit_post_alerts_once_it_crosses_min_points() {
    let reddit = MockServer::start().await;
    let serve = |posts: Vec<(&'static str, &'static str, i64)>| {
        let reddit = &reddit;
        async move {
            reddit.reset().await;
            Mock::given(method("GET"))
                .and(path("/r/rust/.json"))
                .and(query_param("raw_json", "1"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_raw(reddit_listing(&posts), "application/json"),
                )
                .mount(reddit)
                .await;
        }
    };
    serve(vec![("1a", "Tokio 2.0 released", 400)]).await;
    let setup = Setup::new();
    let config = setup.write_config(
        "[[sources]]\nname = \"r/rust\"\nurl = \"reddit:r/rust\"\nmin_points = 100\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"Tokio\"\nchannel = \"news\"\n",
    );
    let base = reddit.uri();
    let env = [("NEWSHOUND_SHORTHAND_BASE_REDDIT", base.as_str())];
    assert!(
        once_json_env(&config, &[], &env).alerts.is_empty(),
        "the first poll records"
    );

    // A new post below the threshold: nothing yet.
    serve(vec![
        ("2b", "Tokio console tips", 40),
        ("1a", "Tokio 2.0 released", 420),
    ])
    .await;
    let below = once_json_env(&config, &["--force"], &env);
    assert!(
        below.alerts.is_empty(),
        "40 points is below 100: {:?}",
        below.titles()
    );

    // It crosses the threshold: one alert, with the publisher's link and the score.
    serve(vec![
        ("2b", "Tokio console tips", 180),
        ("1a", "Tokio 2.0 released", 450),
    ])
    .await;
    let crossed = once_json_env(&config, &["--force"], &env);
    assert_eq!(crossed.titles(), ["Tokio console tips"]);
    assert_eq!(crossed.alerts[0]["link"], "https://blog.example/2b");
    assert!(
        crossed.alerts[0]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("180 points"),
        "{}",
        crossed.alerts[0]
    );

    // Higher still: never again.
    serve(vec![
        ("2b", "Tokio console tips", 900),
        ("1a", "Tokio 2.0 released", 500),
    ])
    .await;
    assert!(once_json_env(&config, &["--force"], &env).alerts.is_empty());
}

/// With a Reddit app's credentials set, `reddit:` reads the OAuth API: a token from the
/// client-credentials grant (basic auth with the app's id and secret), then the listing with
/// `Authorization: bearer`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_app_credentials_reddit_is_read_through_oauth() {
    use wiremock::matchers::{body_string_contains, header};
    let reddit = MockServer::start().await;
    // base64("app-id:app-secret")
    Mock::given(method("POST"))
        .and(path("/api/v1/access_token"))
        .and(header("authorization", "Basic YXBwLWlkOmFwcC1zZWNyZXQ="))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token": "tok-7f3a", "token_type": "bearer", "expires_in": 86400, "scope": "*"}"#,
            "application/json",
        ))
        .expect(2)
        .mount(&reddit)
        .await;
    let listing = |posts: Vec<(&'static str, &'static str, i64)>| {
        Mock::given(method("GET"))
            .and(path("/r/rust/.json"))
            .and(header("authorization", "Bearer tok-7f3a"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(reddit_listing(&posts), "application/json"),
            )
    };
    let first = listing(vec![("1a", "Tokio 2.0 released", 3)])
        .mount_as_scoped(&reddit)
        .await;
    let setup = Setup::new();
    let config = setup.write_config(
        "[[sources]]\nname = \"r/rust\"\nurl = \"reddit:r/rust\"\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"Tokio\"\nchannel = \"news\"\n",
    );
    let base = reddit.uri();
    let token_url = format!("{base}/api/v1/access_token");
    let env = [
        ("NEWSHOUND_SHORTHAND_BASE_REDDIT", base.as_str()),
        ("NEWSHOUND_REDDIT_CLIENT_ID", "app-id"),
        ("NEWSHOUND_REDDIT_CLIENT_SECRET", "app-secret"),
        ("NEWSHOUND_REDDIT_TOKEN_URL", token_url.as_str()),
    ];
    let recorded = once_json_env(&config, &[], &env);
    assert!(recorded.alerts.is_empty());
    assert!(
        recorded.line("r/rust").contains("1 item"),
        "{}",
        recorded.stderr
    );
    drop(first);
    let _second = listing(vec![
        ("2b", "Tokio console tips", 2),
        ("1a", "Tokio 2.0 released", 9),
    ])
    .mount_as_scoped(&reddit)
    .await;
    let next = once_json_env(&config, &["--force"], &env);
    assert_eq!(next.titles(), ["Tokio console tips"]);
    assert!(
        !next.stderr.contains("app-secret"),
        "the secret is never logged"
    );
}

#[test]
fn min_points_on_a_plain_feed_is_a_config_error() {
    let setup = Setup::new();
    let config = setup.write_config(
        "[[sources]]\nname = \"a\"\nurl = \"https://example.com/feed.xml\"\nmin_points = 10\n",
    );
    let out = newshound_env(&["check-config", "--config", config.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let (stdout, stderr) = out_text(&out);
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("sources[1].min_points") && all.contains("hn: and reddit: sources only"),
        "{all}"
    );
}

#[test]
fn a_malformed_shorthand_is_a_config_error_with_the_fix() {
    let setup = Setup::new();
    let config = setup.write_config(
        "[[sources]]\nname = \"a\"\nurl = \"reddit:rust\"\n\n[[sources]]\nname = \"b\"\nurl = \"youtube:@x\"\n\n[[sources]]\nname = \"c\"\nurl = \"hn:best\"\n",
    );
    let out = newshound_env(&["check-config", "--config", config.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let (stdout, stderr) = out_text(&out);
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("sources[1].url")
            && all.contains("write the subreddit as r/NAME")
            && all.contains("reddit:r/rust"),
        "{all}"
    );
    assert!(
        all.contains("sources[2].url") && all.contains("3-30 letters"),
        "{all}"
    );
    assert!(
        all.contains("sources[3].url") && all.contains("hn:front, hn:newest"),
        "{all}"
    );
}

const ALGOLIA_FRONT: &str = r#"{"exhaustive":{"nbHits":false,"typo":false},"exhaustiveNbHits":false,"exhaustiveTypo":false,
"hits":[
 {"_highlightResult":{"author":{"matchLevel":"none","matchedWords":[],"value":"steveklabnik"}},"_tags":["story","author_steveklabnik","story_42000001","front_page"],
  "author":"steveklabnik","children":[42000100],"created_at":"2026-11-29T08:30:00Z","created_at_i":1795854600,"num_comments":318,"objectID":"42000001",
  "points":912,"story_id":42000001,"title":"The Rust compiler is now 30% faster","updated_at":"2026-11-29T09:00:00Z","url":"https://blog.rust-lang.org/faster.html"},
 {"_tags":["story","author_pg","story_42000002","front_page","ask_hn"],"author":"pg","created_at":"2026-11-29T07:10:00Z","num_comments":45,
  "objectID":"42000002","points":120,"story_id":42000002,"story_text":"Curious what people use.","title":"Ask HN: Which feed reader do you use?"}
],"hitsPerPage":30,"nbHits":2,"nbPages":1,"page":0,"params":"tags=front_page","processingTimeMS":2,"query":"","serverTimeMS":3}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hn_front_page_is_read_from_the_algolia_api() {
    let hn = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/search"))
        .and(query_param("tags", "front_page"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(ALGOLIA_FRONT, "application/json; charset=utf-8"),
        )
        .mount(&hn)
        .await;
    let base = hn.uri();
    let out = newshound_env(
        &["fetch", "hn:front", "--output", "json"],
        &[("NEWSHOUND_SHORTHAND_BASE_HN", base.as_str())],
    );
    let (stdout, stderr) = out_text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("hn:front is {base}/api/v1/search?tags=front_page")),
        "{stderr}"
    );
    assert_eq!(
        json_titles_links(&stdout),
        [
            (
                "The Rust compiler is now 30% faster".to_string(),
                "https://blog.rust-lang.org/faster.html".to_string()
            ),
            (
                "Ask HN: Which feed reader do you use?".to_string(),
                "https://news.ycombinator.com/item?id=42000002".to_string()
            ),
        ]
    );
    assert!(stdout.contains("912 points by steveklabnik"), "{stdout}");
}

const FIRESHIP: &str = "UCsBjURrPoezykLs9EqgamOA";

/// Fireship's channel page, as far as the channel id goes.
fn channel_page() -> String {
    let channel = FIRESHIP;
    format!(
        r#"<!DOCTYPE html><html><head><title>Fireship - YouTube</title><link rel="canonical" href="https://www.youtube.com/channel/{channel}"><meta property="og:title" content="Fireship"></head><body><script>var ytInitialData = {{"metadata":{{"channelMetadataRenderer":{{"title":"Fireship","externalId":"{channel}"}}}}}};</script></body></html>"#
    )
}

/// The channel's uploads-without-Shorts feed with `videos` (id, title), newest first.
fn uploads(videos: &[(&str, &str)]) -> String {
    let channel = FIRESHIP;
    let mut entries = String::new();
    for (id, title) in videos {
        use std::fmt::Write as _;
        let _ = write!(
            entries,
            r#"<entry><id>yt:video:{id}</id><yt:videoId>{id}</yt:videoId><yt:channelId>{channel}</yt:channelId><title>{title}</title><link rel="alternate" href="https://www.youtube.com/watch?v={id}"/><author><name>Fireship</name></author><published>2026-11-28T17:00:00+00:00</published><updated>2026-11-28T18:00:00+00:00</updated><media:group><media:title>{title}</media:title><media:thumbnail url="https://i.ytimg.com/vi/{id}/hqdefault.jpg" width="480" height="360"/><media:description>Learn Rust fast.</media:description></media:group></entry>"#
        );
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom"><link rel="self" href="http://www.youtube.com/feeds/videos.xml?playlist_id=UULFsBjURrPoezykLs9EqgamOA"/><id>yt:playlist:UULFsBjURrPoezykLs9EqgamOA</id><yt:playlistId>UULFsBjURrPoezykLs9EqgamOA</yt:playlistId><yt:channelId>{channel}</yt:channelId><title>Fireship</title><author><name>Fireship</name><uri>https://www.youtube.com/channel/{channel}</uri></author><published>2017-04-07T00:00:00+00:00</published>{entries}</feed>"#
    )
}

fn uploads_mock(videos: &[(&str, &str)]) -> Mock {
    Mock::given(method("GET"))
        .and(path("/feeds/videos.xml"))
        .and(query_param("playlist_id", "UULFsBjURrPoezykLs9EqgamOA"))
        .respond_with(ResponseTemplate::new(200).set_body_string(uploads(videos)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_youtube_handle_is_looked_up_on_its_channel_page() {
    let yt = MockServer::start().await;
    respond(&yt, "/@Fireship", html_response(channel_page())).await;
    uploads_mock(&[("abc123def45", "Rust in 100 seconds")])
        .mount(&yt)
        .await;
    let base = yt.uri();
    let out = newshound_env(
        &["fetch", "youtube:@Fireship", "--output", "json"],
        &[("NEWSHOUND_SHORTHAND_BASE_YOUTUBE", base.as_str())],
    );
    let (stdout, stderr) = out_text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "youtube:@Fireship is {base}/feeds/videos.xml?playlist_id=UULFsBjURrPoezykLs9EqgamOA"
        )),
        "{stderr}"
    );
    assert_eq!(
        json_titles_links(&stdout),
        [(
            "Rust in 100 seconds".to_string(),
            "https://www.youtube.com/watch?v=abc123def45".to_string()
        )]
    );
}

/// In the config, `youtube:@handle` is looked up at the first poll and the feed URL stored:
/// the channel page is fetched once, however often newshound runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_youtube_handle_in_the_config_is_looked_up_once() {
    let yt = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/@Fireship"))
        .respond_with(html_response(channel_page()))
        .expect(1)
        .mount(&yt)
        .await;
    let first = uploads_mock(&[("abc123def45", "Rust in 100 seconds")])
        .mount_as_scoped(&yt)
        .await;
    let setup = Setup::new();
    let config = setup.write_config(
        "[[sources]]\nname = \"Fireship\"\nurl = \"youtube:@Fireship\"\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"Rust\"\nchannel = \"news\"\n",
    );
    let base = yt.uri();
    let env = [("NEWSHOUND_SHORTHAND_BASE_YOUTUBE", base.as_str())];
    let recorded = once_json_env(&config, &[], &env);
    assert!(recorded.alerts.is_empty());
    assert!(
        recorded.line("Fireship").contains("1 item"),
        "{}",
        recorded.stderr
    );
    drop(first);
    let _second = uploads_mock(&[
        ("zzz999yyy88", "Rust 2027 in 100 seconds"),
        ("abc123def45", "Rust in 100 seconds"),
    ])
    .mount_as_scoped(&yt)
    .await;
    let next = once_json_env(&config, &["--force"], &env);
    assert_eq!(next.titles(), ["Rust 2027 in 100 seconds"]);
    let db = rusqlite::Connection::open(setup.db_path()).expect("db");
    let stored: String = db
        .query_row("SELECT url FROM sources WHERE name = 'Fireship'", [], |r| {
            r.get(0)
        })
        .expect("the source");
    assert_eq!(
        stored,
        format!("{base}/feeds/videos.xml?playlist_id=UULFsBjURrPoezykLs9EqgamOA"),
        "the feed URL the handle stands for is stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_alert_links_are_unwrapped_to_the_publisher() {
    let gnews = MockServer::start().await;
    let rss = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><generator>NFE/5.0</generator><title>"Gemini" - Google News</title><link>https://news.google.com/search?q=Gemini</link><language>en-US</language><description>Google News</description><item><title>Google ships Gemini 4 - The Verge</title><link>https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://www.theverge.com/2026/11/29/gemini-4&amp;ct=ga&amp;cd=CAIyGjE&amp;usg=AOvVaw</link><guid isPermaLink="false">CBMiXWh0dHBz</guid><pubDate>Sun, 29 Nov 2026 08:00:00 GMT</pubDate><description>Google ships Gemini 4</description><source url="https://www.theverge.com">The Verge</source></item><item><title>Gemini exchange expands - Reuters</title><link>https://news.google.com/rss/articles/CBMiPmh0dHBzOi8vd3d3LnJldXRlcnMuY29tL3RlY2hub2xvZ3kvZ2VtaW5pLWV4Y2hhbmdlLTIwMjYtMTEtMjkv0gEA?oc=5</link><guid isPermaLink="false">CBMiPmh0dHBzOi8vd3d3LnJldXRlcnMuY29tL3RlY2hub2xvZ3kvZ2VtaW5pLWV4Y2hhbmdlLTIwMjYtMTEtMjkv0gEA</guid><pubDate>Sun, 29 Nov 2026 07:00:00 GMT</pubDate><description>Gemini exchange expands</description><source url="https://www.reuters.com">Reuters</source></item></channel></rss>"#;
    Mock::given(method("GET"))
        .and(path("/rss/search"))
        .and(query_param("q", "Gemini"))
        .and(query_param("ceid", "US:en"))
        .respond_with(ResponseTemplate::new(200).set_body_string(rss))
        .mount(&gnews)
        .await;
    let base = gnews.uri();
    let out = newshound_env(
        &[
            "fetch",
            "gnews:Gemini?hl=en-US&gl=US&ceid=US:en",
            "--output",
            "json",
        ],
        &[("NEWSHOUND_SHORTHAND_BASE_GNEWS", base.as_str())],
    );
    let (stdout, stderr) = out_text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        json_titles_links(&stdout),
        [
            (
                "Google ships Gemini 4 - The Verge".to_string(),
                "https://www.theverge.com/2026/11/29/gemini-4".to_string()
            ),
            (
                "Gemini exchange expands - Reuters".to_string(),
                "https://www.reuters.com/technology/gemini-exchange-2026-11-29/".to_string()
            )
        ],
        "a Google Alerts link and a Google News article link both give the publisher's URL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_and_bluesky_accounts_are_their_rss_feeds() {
    let server = MockServer::start().await;
    let toot = r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:webfeeds="http://webfeeds.org/rss/1.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Eugen Rochko</title><description>Public posts from @Gargron@mastodon.social</description><link>https://mastodon.social/@Gargron</link><item><guid isPermaLink="true">https://mastodon.social/@Gargron/113000000000000001</guid><link>https://mastodon.social/@Gargron/113000000000000001</link><pubDate>Sun, 29 Nov 2026 08:00:00 +0000</pubDate><description>&lt;p&gt;Mastodon 5.0 is out&lt;/p&gt;</description></item></channel></rss>"#;
    let skeet = r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><description>Official Bluesky account</description><link>https://bsky.app/profile/bsky.app</link><title>@bsky.app - Bluesky</title><item><link>https://bsky.app/profile/bsky.app/post/3lbx</link><description>Custom feeds are here</description><pubDate>29 Nov 2026 08:00 +0000</pubDate><guid isPermaLink="false">at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lbx</guid></item></channel></rss>"#;
    respond(
        &server,
        "/@Gargron.rss",
        ResponseTemplate::new(200).set_body_string(toot),
    )
    .await;
    respond(
        &server,
        "/profile/bsky.app/rss",
        ResponseTemplate::new(200).set_body_string(skeet),
    )
    .await;
    let base = server.uri();
    for (shorthand, var, link) in [
        (
            "mastodon:@Gargron@mastodon.social",
            "NEWSHOUND_SHORTHAND_BASE_MASTODON",
            "https://mastodon.social/@Gargron/113000000000000001",
        ),
        (
            "bluesky:bsky.app",
            "NEWSHOUND_SHORTHAND_BASE_BLUESKY",
            "https://bsky.app/profile/bsky.app/post/3lbx",
        ),
    ] {
        let out = newshound_env(
            &["fetch", shorthand, "--output", "json"],
            &[(var, base.as_str())],
        );
        let (stdout, stderr) = out_text(&out);
        assert!(out.status.success(), "{shorthand}: {stderr}");
        let links: Vec<String> = json_titles_links(&stdout)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(links, [link], "{shorthand}");
    }
}

/// An Algolia answer with `stories` (id, title, points).
fn algolia(stories: &[(&str, &str, u32)]) -> String {
    let hits: Vec<serde_json::Value> = stories
        .iter()
        .map(|(id, title, points)| {
            serde_json::json!({
                "_tags": ["story", format!("story_{id}"), "front_page"],
                "author": "ferris", "created_at": "2026-11-29T08:00:00Z", "num_comments": 12,
                "objectID": id, "points": points, "story_id": id, "title": title,
                "url": format!("https://blog.example/{id}")
            })
        })
        .collect();
    serde_json::json!({"hits": hits, "hitsPerPage": 30, "nbHits": stories.len(), "nbPages": 1, "page": 0,
        "params": "tags=front_page&numericFilters=points%3E%3D100", "query": ""})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hn_story_alerts_once_it_crosses_min_points_not_before() {
    let hn = MockServer::start().await;
    // Algolia applies `numericFilters`: a story under 100 points is not in its answer. A
    // request without the filter gets nothing (the mock only answers the filtered one).
    let answer = |body: String| {
        Mock::given(method("GET"))
            .and(path("/api/v1/search"))
            .and(query_param("tags", "front_page"))
            .and(query_param("numericFilters", "points>=100"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
    };
    answer(algolia(&[("500", "SQLite turns 25", 480)]))
        .mount(&hn)
        .await;
    let setup = Setup::new();
    let config = setup.write_config(
        "[[sources]]\nname = \"HN\"\nurl = \"hn:front?min_points=100\"\n\n[[subscriptions]]\nuser = \"alice\"\nquery = \"SQLite OR Rust\"\nchannel = \"news\"\n",
    );
    let base = hn.uri();
    let env = [("NEWSHOUND_SHORTHAND_BASE_HN", base.as_str())];
    let first = once_json_env(&config, &[], &env);
    assert!(first.alerts.is_empty());
    assert!(first.line("HN").contains("1 item"), "{}", first.stderr);

    // "Rust in the kernel" was at 40 points (so absent); now it has 130.
    hn.reset().await;
    answer(algolia(&[
        ("500", "SQLite turns 25", 510),
        ("501", "Rust in the kernel, two years on", 130),
    ]))
    .mount(&hn)
    .await;
    let second = once_json_env(&config, &["--force"], &env);
    assert_eq!(second.titles(), ["Rust in the kernel, two years on"]);
    let third = once_json_env(&config, &["--force"], &env);
    assert!(third.alerts.is_empty(), "{:?}", third.titles());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_add_explains_a_malformed_shorthand() {
    let (world, _bot) = support::world::World::started().await;
    let text = support::commands::reply_text(&world.add_source("reddit:rust", "Rust").await);
    assert!(
        text.contains(
            "`reddit:rust` is not a valid reddit: shorthand: write the subreddit as r/NAME"
        ) && text.contains("reddit:r/rust"),
        "{text}"
    );
    let text = support::commands::reply_text(&world.add_source("youtube:@a", "Tube").await);
    assert!(text.contains("3-30 letters"), "{text}");
    world.fake.assert_no_violations();
}
