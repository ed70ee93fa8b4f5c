#!/usr/bin/env bash
# The whole test suite, as the README's test command runs it: every test on SQLite (the
# embedded default), then the PostgreSQL pass — the unit tests (whose stores are then fresh
# PostgreSQL databases) and the black-box tests listed below, whose every newshound run gets a
# fresh database through NEWSHOUND_DATABASE_URL (tests/support/binary.rs).
#
# PostgreSQL: NEWSHOUND_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres).
# Where it cannot be reached, the PostgreSQL tests say SKIPPED — unless
# NEWSHOUND_REQUIRE_POSTGRES=1 (CI), which makes that a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Test databases of earlier runs (nh_test_*), dropped when psql can reach the server.
if command -v psql >/dev/null; then
    server="${NEWSHOUND_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
    psql "$server" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'nh\_test\_%'" 2>/dev/null \
        | while read -r db; do psql "$server" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done
fi

echo "== cargo test (SQLite)"
cargo test --locked "$@"

echo "== cargo test (PostgreSQL pass)"
NEWSHOUND_TEST_DATABASE=postgres cargo test --locked "$@" \
    --lib --test postgres --test once_pipeline --test digests --test discord_e2e \
    --test discord_rest --test discord_notices --test discord_opml --test discord_shards \
    --test discord_stats --test discord_trend --test discovery --test html_pages --test opml \
    --test regressions --test sitemaps --test summaries --test websub
