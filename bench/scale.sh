#!/usr/bin/env bash
# Issue 9's figures at scale, on SQLite and on PostgreSQL: seeds BENCH_USERS users (default
# 1,000,000) in BENCH_TENANTS workspaces (1,000) with BENCH_EVENTS security events (5,000,000),
# then measures the users lists and the MFA error log (p50, p95), the CSV export, sign-in at
# the hashing limit with cheap requests timed meanwhile, and the time to the first user row in
# headless Chromium; on PostgreSQL also 1, 2 and 3 processes behind nginx.
#
# BENCH_DB=sqlite or BENCH_DB=postgres runs one database. A seeded database is kept under
# ~/.cache/latchkey/bench and used again by later runs with the same sizes (BENCH_RESEED=1
# seeds anew). Prints tables; every figure's JSON line is also in the results folder it names.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
for tool in wrk nginx; do
  command -v "$tool" > /dev/null || {
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk nginx-light >&2
    else sudo apt-get install -y -qq wrk nginx-light >&2; fi
  }
done
"$ROOT/scripts/build-web.sh" >&2
cargo build --release --locked -p server -p bench >&2
BIN="$CARGO_TARGET_DIR/release/latchkey"
BENCH="$CARGO_TARGET_DIR/release/latchkey-bench"
export NODE_PATH="$CACHE/node/node_modules"
USERS="${BENCH_USERS:-1000000}" TENANTS="${BENCH_TENANTS:-1000}" EVENTS="${BENCH_EVENTS:-5000000}"
DATA="$CACHE/bench"
OUT="$DATA/results-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
SIZES="$USERS-$TENANTS-$EVENTS"

step() { # name, then the command: prints its output and keeps its last line (JSON)
  local name="$1"; shift
  echo "--- $name"
  "$@" | tee "$OUT/$name.txt"
  tail -n 1 "$OUT/$name.txt" >> "$OUT/figures.jsonl"
}

run() { # name, database url, command that empties the database
  local name="$1" url="$2"
  if [ ! -f "$DATA/seeded-$name-$SIZES" ] || [ -n "${BENCH_RESEED:-}" ]; then
    rm -f "$DATA"/seeded-"$name"-*
    $3
    LATCHKEY_DATABASE_URL="$url" RUST_LOG=warn "$BIN" demo > /dev/null
    step "seed-$name" "$BENCH" seed "$url" "$USERS" "$TENANTS" "$EVENTS"
    touch "$DATA/seeded-$name-$SIZES"
  fi
  step "lists-$name" "$BENCH" lists "$BIN" "$url"
  step "load-$name" "$BENCH" load "$BIN" "$url" "${BENCH_LOAD_SECS:-20}"
  step "first-row-$name" node "$ROOT/bench/first-row.cjs" "$BIN" "$ROOT/dist" "$url"
}

if [ "${BENCH_DB:-sqlite}" != postgres ]; then
  echo "==> SQLite"
  run sqlite "sqlite://$DATA/bench.db?mode=rwc" "rm -f $DATA/bench.db $DATA/bench.db-wal $DATA/bench.db-shm"
  du -h "$DATA/bench.db" | awk '{print "database file: " $1}'
fi
if [ "${BENCH_DB:-postgres}" != sqlite ]; then
  echo "==> PostgreSQL"
  start_postgres
  PG="${LATCHKEY_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"
  reset_pg() { psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS latchkey_bench" -qc "CREATE DATABASE latchkey_bench"; }
  run postgres "$PG/latchkey_bench" reset_pg
  step scaleout-postgres "$BENCH" scaleout "$BIN" "$PG/latchkey_bench" "${BENCH_LOAD_SECS:-15}"
fi
echo "figures: $OUT/figures.jsonl"
