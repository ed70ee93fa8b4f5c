//! Databases for tests: a fresh PostgreSQL database per test, and the store a unit test runs
//! on (SQLite in memory, or PostgreSQL when `NEWSHOUND_TEST_DATABASE=postgres`, which the
//! test command's second pass sets).
//!
//! The server is `NEWSHOUND_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! the one every development and CI machine runs). Where it cannot be reached, a PostgreSQL
//! test says so on stderr and is skipped — unless `NEWSHOUND_REQUIRE_POSTGRES=1` (set in CI),
//! where it fails.

use std::sync::atomic::{AtomicU32, Ordering};

use super::db::Conn;
use super::Store;
use crate::args;

/// The server tests create their databases on.
pub fn server_url() -> String {
    std::env::var("NEWSHOUND_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Whether this test run must have PostgreSQL (CI): then an unreachable server fails the test.
pub fn postgres_required() -> bool {
    std::env::var("NEWSHOUND_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// Whether unit tests run on PostgreSQL (`NEWSHOUND_TEST_DATABASE=postgres`).
pub fn unit_tests_on_postgres() -> bool {
    std::env::var("NEWSHOUND_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

/// Creates an empty database and returns its URL; `None` (after saying why on stderr) when
/// the server cannot be reached and PostgreSQL is not required. Blocking.
pub fn fresh_database(test: &str) -> Option<String> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let server = server_url();
    let admin = match Conn::postgres(&server) {
        Ok(c) => c,
        Err(e) if !postgres_required() => {
            eprintln!(
                "SKIPPED {test}: PostgreSQL is not reachable at {} ({e}); set NEWSHOUND_TEST_POSTGRES to a server to run it",
                super::redact_url(&server)
            );
            return None;
        }
        Err(e) => panic!(
            "{test}: PostgreSQL is required (NEWSHOUND_REQUIRE_POSTGRES=1) but not reachable at {}: {e}",
            super::redact_url(&server)
        ),
    };
    let name = format!(
        "nh_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    );
    admin
        .execute(&format!("CREATE DATABASE {name}"), args![])
        .unwrap_or_else(|e| panic!("{test}: cannot create the database {name}: {e}"));
    let mut url = url::Url::parse(&server).expect("the test server URL parses");
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

/// The store a unit test runs on: SQLite in memory, or a fresh PostgreSQL database when the
/// run is the PostgreSQL pass. Blocking (call it outside a runtime, or through
/// [`test_store_async`]).
pub fn test_store() -> Store {
    if unit_tests_on_postgres() {
        let url =
            fresh_database("unit test").expect("NEWSHOUND_TEST_DATABASE=postgres needs the server");
        Store::open_postgres(&url).expect("open the test database")
    } else {
        Store::open_in_memory().expect("open an in-memory database")
    }
}

/// [`test_store`] from async code.
pub async fn test_store_async() -> Store {
    tokio::task::spawn_blocking(test_store)
        .await
        .expect("the test store opens")
}
