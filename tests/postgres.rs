//! The PostgreSQL backend against the real server (127.0.0.1:5432 on every development and
//! CI machine; `NEWSHOUND_TEST_POSTGRES` names another). Each test makes a fresh database.
//! Where the server cannot be reached these tests say so and are skipped; CI sets
//! `NEWSHOUND_REQUIRE_POSTGRES=1`, which makes that a failure.

mod support;

use newshound::args;
use newshound::store::db::Conn;
use newshound::store::testing::fresh_database;
use newshound::store::{Database, Store};
use support::binary::{newshound_env, once_json_env};
use support::feeds::item;
use support::world::OnceWorld;

const SUBS: &str = r#"
[[subscriptions]]
user = "alice"
query = "Gemini"
channel = "news"
"#;

/// One integer from the database at `url`, on a thread of its own (the blocking client may
/// not run on an async worker).
fn count(url: &str, sql: &'static str) -> i64 {
    let url = url.to_string();
    std::thread::spawn(move || {
        let conn = Conn::postgres(&url).expect("connect");
        conn.query_row(sql, args![], |r| r.get::<i64>(0))
            .expect(sql)
    })
    .join()
    .expect("query thread")
}

fn database(test: &str) -> Option<String> {
    let test = test.to_string();
    std::thread::spawn(move || fresh_database(&test))
        .join()
        .expect("create a database")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_on_postgres_alerts_each_new_item_once() {
    let Some(url) = database("once_on_postgres_alerts_each_new_item_once") else {
        return;
    };
    let world = OnceWorld::new(SUBS).await;
    let env = [("NEWSHOUND_DATABASE_URL", url.as_str())];
    world
        .publish(&[item("old", "Markets open higher on Monday")])
        .await;
    let first = once_json_env(&world.config, &[], &env);
    assert!(
        first.alerts.is_empty(),
        "a first poll only records: {:?}",
        first.titles()
    );

    world
        .publish(&[
            item("old", "Markets open higher on Monday"),
            item("g1", "Google ships Gemini 3 to every Workspace customer"),
            item("n1", "Horoscope-free news about metadata standards"),
        ])
        .await;
    let second = once_json_env(&world.config, &[], &env);
    assert_eq!(
        second.titles(),
        ["Google ships Gemini 3 to every Workspace customer"],
        "{}",
        second.stderr
    );
    let third = once_json_env(&world.config, &[], &env);
    assert!(
        third.alerts.is_empty(),
        "alerted twice: {:?}",
        third.titles()
    );

    // The state is in PostgreSQL, not in the SQLite file the config names.
    assert!(
        !world.setup.db_path().exists(),
        "NEWSHOUND_DATABASE_URL must win over [storage] path"
    );
    assert_eq!(count(&url, "SELECT count(*) FROM items"), 3);
    assert_eq!(count(&url, "SELECT count(*) FROM outbox"), 1);
    assert!(
        count(&url, "SELECT count(*) FROM seen WHERE source_id = 1") >= 3,
        "every item remembered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_url_in_the_config_selects_postgres_and_a_bad_one_is_named() {
    let Some(url) = database("storage_url_in_the_config") else {
        return;
    };
    let world = OnceWorld::custom(|feeds| {
        format!("[[sources]]\nname = \"Wire\"\nurl = \"{feeds}/feed.xml\"\n\n{SUBS}")
    })
    .await;
    world
        .publish(&[item("a", "Gemini arrives in Chrome")])
        .await;
    // The same config with `[storage] url` instead of the SQLite path.
    let text = std::fs::read_to_string(&world.config).expect("config");
    let with_url = text.replacen("[storage]\n", &format!("[storage]\nurl = \"{url}\"\n"), 1);
    assert_ne!(with_url, text, "the test config has a [storage] table");
    std::fs::write(&world.config, &with_url).expect("write config");
    // (Empty: the PostgreSQL pass of the test command must not put its own URL first.)
    let no_env = [("NEWSHOUND_DATABASE_URL", "")];
    let run = once_json_env(&world.config, &[], &no_env);
    assert!(run.alerts.is_empty(), "{}", run.stderr);
    assert_eq!(count(&url, "SELECT count(*) FROM items"), 1);
    assert!(!world.setup.db_path().exists());

    let bad = text.replacen(
        "[storage]\n",
        "[storage]\nurl = \"mysql://root@db/news\"\n",
        1,
    );
    std::fs::write(&world.config, &bad).expect("write config");
    let out = newshound_env(
        &[
            "once",
            "--config",
            world.config.to_str().expect("utf-8 path"),
        ],
        &no_env,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("storage.url"), "{stderr}");
    assert!(
        stderr.contains("postgres://USER@HOST:PORT/DATABASE"),
        "{stderr}"
    );

    // A bad environment variable is named too, and never falls back to the file quietly.
    std::fs::write(&world.config, &text).expect("write config");
    let out = newshound_env(
        &[
            "once",
            "--config",
            world.config.to_str().expect("utf-8 path"),
        ],
        &[("NEWSHOUND_DATABASE_URL", "sqlite:///tmp/x.db")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("NEWSHOUND_DATABASE_URL"), "{stderr}");
}

/// A lost connection is a fault like any other: the call that meets it fails, the next one
/// reconnects, and what was committed is all there.
#[test]
fn a_lost_connection_is_reconnected_and_nothing_committed_is_lost() {
    let Some(url) = fresh_database("a_lost_connection_is_reconnected") else {
        return;
    };
    let store = Store::open_postgres(&url).expect("open");
    store
        .with(|c| {
            c.execute(
                "INSERT INTO targets (target, broken_reason) VALUES (?1, ?2)",
                args!["channel:1", "kept"],
            )?;
            Ok(())
        })
        .expect("write");
    // Every other session on this database is ended by the server (what a restart does).
    let name = url.rsplit('/').next().expect("database name").to_string();
    let admin = Conn::postgres(&newshound::store::testing::server_url()).expect("admin");
    let ended: i64 = admin
        .query_row(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = ?1 AND pid <> pg_backend_pid()) t",
            args![name],
            |r| r.get(0),
        )
        .expect("terminate");
    assert!(
        ended >= 2,
        "the store's two connections were open ({ended})"
    );
    let read = |store: &Store| {
        store.with(|c| {
            Ok(c.query_row(
                "SELECT broken_reason FROM targets WHERE target = ?1",
                args!["channel:1"],
                |r| r.get::<String>(0),
            )?)
        })
    };
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(read(&store).ok());
    }
    assert_eq!(
        answers.last(),
        Some(&Some("kept".to_string())),
        "reconnected and read: {answers:?}"
    );
    assert!(
        answers.iter().filter(|a| a.is_none()).count() <= 1,
        "only the call that met the dead connection fails: {answers:?}"
    );
    assert_eq!(store.engine(), newshound::store::db::Engine::Postgres);
    assert!(matches!(store.location(), Database::Postgres(_)));
}

/// `newshound migrate`: a SQLite installation with an alert still pending moves to
/// PostgreSQL; the pending alert is delivered once from there, nothing already seen alerts
/// again, and a second migrate into the now non-empty database is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_a_sqlite_installation_and_its_pending_alerts() {
    let Some(url) = database("migrate_moves_a_sqlite_installation") else {
        return;
    };
    let world = OnceWorld::new(SUBS).await;
    // On SQLite (the config's own file; empty: not the PostgreSQL pass's database).
    let sqlite = [("NEWSHOUND_DATABASE_URL", "")];
    world.publish(&[item("old", "Markets open higher")]).await;
    assert!(once_json_env(&world.config, &[], &sqlite).alerts.is_empty());
    let items = [
        item("old", "Markets open higher"),
        item("g1", "Gemini comes to Android Auto"),
        item("g2", "Gemini gets a memory feature"),
    ];
    world.publish(&items).await;
    let delivered = once_json_env(&world.config, &[], &sqlite);
    assert_eq!(delivered.alerts.len(), 2, "{}", delivered.stderr);
    // One of the two had not gone out yet when the installation moved.
    let db = rusqlite::Connection::open(world.setup.db_path()).expect("sqlite");
    let pending = db
        .execute(
            "UPDATE outbox SET delivered_at = NULL WHERE id = (SELECT max(id) FROM outbox)",
            [],
        )
        .expect("make one alert pending");
    assert_eq!(pending, 1);
    drop(db);

    let db_path = world.setup.db_path();
    let from = db_path.to_str().expect("utf-8 path");
    let out = newshound_env(&["migrate", "--from", from, "--to", &url], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = |table: &str| -> usize {
        stdout
            .lines()
            .find_map(|l| {
                let mut parts = l.split_whitespace();
                (parts.next() == Some(table)).then(|| parts.next()?.parse().ok())?
            })
            .unwrap_or_else(|| panic!("no count for {table} in:\n{stdout}"))
    };
    assert_eq!(rows("sources"), 1, "{stdout}");
    assert_eq!(rows("items"), 3, "{stdout}");
    assert_eq!(rows("outbox"), 2, "{stdout}");
    assert_eq!(rows("subscriptions"), 1, "{stdout}");
    assert!(rows("seen") >= 3, "{stdout}");

    // From PostgreSQL now: the pending alert goes out once, nothing seen alerts again, and a
    // new item still does (numbering carried on above the copied ids).
    let pg = [("NEWSHOUND_DATABASE_URL", url.as_str())];
    let after = once_json_env(&world.config, &[], &pg);
    assert_eq!(
        after.titles(),
        ["Gemini gets a memory feature"],
        "{}",
        after.stderr
    );
    assert!(once_json_env(&world.config, &[], &pg).alerts.is_empty());
    let mut more = items.to_vec();
    more.push(item("g3", "Gemini learns to read PDFs"));
    world.publish(&more).await;
    let fresh = once_json_env(&world.config, &[], &pg);
    assert_eq!(
        fresh.titles(),
        ["Gemini learns to read PDFs"],
        "{}",
        fresh.stderr
    );
    assert_eq!(count(&url, "SELECT count(*) FROM outbox"), 3);

    let again = newshound_env(&["migrate", "--from", from, "--to", &url], &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(stderr.contains("--replace"), "{stderr}");
    assert_eq!(
        count(&url, "SELECT count(*) FROM outbox"),
        3,
        "a refused migrate changes nothing"
    );
}
