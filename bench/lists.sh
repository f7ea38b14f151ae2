#!/usr/bin/env bash
# Lists at scale (issue 9): seeds BENCH_USERS users (default 1,000,000) in BENCH_TENANTS
# workspaces (1,000) with BENCH_EVENTS security events (5,000,000) on SQLite and on a
# PostgreSQL database, then times the users lists and the MFA error log (p50, p95).
# BENCH_DB=sqlite or BENCH_DB=postgres runs one of them. Prints tables and JSON lines.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
cargo build --release --locked -p server -p bench >&2
BIN="$CARGO_TARGET_DIR/release/latchkey"
BENCH="$CARGO_TARGET_DIR/release/latchkey-bench"
USERS="${BENCH_USERS:-1000000}" TENANTS="${BENCH_TENANTS:-1000}" EVENTS="${BENCH_EVENTS:-5000000}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

run() { # database url
  LATCHKEY_DATABASE_URL="$1" RUST_LOG=warn "$BIN" demo > /dev/null
  "$BENCH" seed "$1" "$USERS" "$TENANTS" "$EVENTS"
  "$BENCH" lists "$BIN" "$1"
}

if [ "${BENCH_DB:-sqlite}" != postgres ]; then
  echo "==> SQLite"
  run "sqlite://$WORK/lists.db?mode=rwc"
  du -h "$WORK/lists.db" | awk '{print "database file: " $1}'
fi
if [ "${BENCH_DB:-postgres}" != sqlite ]; then
  echo "==> PostgreSQL"
  PG="${LATCHKEY_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS latchkey_lists" -qc "CREATE DATABASE latchkey_lists"
  run "$PG/latchkey_lists"
  psql "$PG/postgres" -qc "DROP DATABASE latchkey_lists"
fi
