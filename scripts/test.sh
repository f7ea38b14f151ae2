#!/usr/bin/env bash
# Runs every test: format and lint, unit and HTTP integration tests on SQLite and on PostgreSQL,
# then the Playwright end-to-end tests in Chromium against the real WASM app.
# The last line is the total: "N passed, N failed".
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
set +e
cd "$ROOT"
LOGS="$(mktemp -d)"
PASSED=0
FAILED=0

# Adds one stage's counts; a stage that failed without counting anything counts as one failure.
tally() {
  local name="$1" status="$2" passed="$3" failed="$4"
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  PASSED=$((PASSED + passed)); FAILED=$((FAILED + failed))
  printf '==> %-28s %s passed, %s failed\n' "$name" "$passed" "$failed"
}

cargo_counts() { # sums "test result: ... N passed; M failed" lines of a cargo test log
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
       END { printf "%d %d", p, f }' "$1"
}

run_stage() { # name, command...: passes or fails as one test
  local name="$1"; shift
  "$@" > "$LOGS/$name.log" 2>&1
  local status=$?
  [ $status -ne 0 ] && tail -n 40 "$LOGS/$name.log"
  if [ $status -eq 0 ]; then tally "$name" 0 1 0; else tally "$name" 1 0 1; fi
}

PG_URL="${LATCHKEY_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"
start_postgres

run_stage "cargo fmt" cargo fmt --all -- --check
run_stage "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
# The browser build has its own cfgs (no `ssr`): lint it as the browser gets it.
run_stage "cargo clippy (wasm)" cargo clippy -p frontend --target wasm32-unknown-unknown --locked -- -D warnings

echo "==> unit and integration tests on SQLite"
cargo test --workspace --locked 2>&1 | tee "$LOGS/sqlite.log" | grep -E '^(test result|test .* FAILED|failures:|---- )|panicked' 
status=${PIPESTATUS[0]}
read -r p f <<< "$(cargo_counts "$LOGS/sqlite.log")"
tally "tests (SQLite)" "$status" "$p" "$f"

echo "==> database tests on PostgreSQL"
# Each test makes its own database; clear out those of earlier runs.
for db in $(psql -h 127.0.0.1 -U postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'latchkey_test_%'" 2>/dev/null); do
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
done
LATCHKEY_TEST_PG_URL="$PG_URL" cargo test --locked -p server -p migration --tests 2>&1 | tee "$LOGS/pg.log" | grep -E '^(test result|test .* FAILED|failures:|---- )|panicked'
status=${PIPESTATUS[0]}
read -r p f <<< "$(cargo_counts "$LOGS/pg.log")"
tally "tests (PostgreSQL)" "$status" "$p" "$f"

echo "==> end-to-end tests in Chromium"
if "$ROOT/scripts/build-web.sh" > "$LOGS/web.log" 2>&1 && cargo build --locked -p server > "$LOGS/server-build.log" 2>&1; then
  LATCHKEY_BIN="$CARGO_TARGET_DIR/debug/latchkey" LATCHKEY_SITE_DIR="$ROOT/dist" NODE_PATH="$CACHE/node/node_modules" \
    node --test --test-reporter=tap --test-concurrency=1 "$ROOT"/end2end/*.spec.cjs > "$LOGS/e2e.log" 2>&1
  status=$?
  grep -E '^(not ok|ok) |^# (pass|fail)' "$LOGS/e2e.log"
  [ $status -ne 0 ] && grep -A 30 '^not ok' "$LOGS/e2e.log" | head -n 80
  p=$(awk '/^# pass/ {print $3}' "$LOGS/e2e.log"); f=$(awk '/^# fail/ {print $3}' "$LOGS/e2e.log")
  tally "end-to-end (Chromium)" "$status" "${p:-0}" "${f:-0}"
else
  tail -n 40 "$LOGS/web.log" "$LOGS/server-build.log"
  tally "end-to-end (build)" 1 0 1
fi

echo "==> REST API fuzzing (schemathesis against /api/v1/openapi.json)"
if [ -x "$CARGO_TARGET_DIR/debug/latchkey" ]; then
  "$ROOT/scripts/api-fuzz.sh" "$CARGO_TARGET_DIR/debug/latchkey" > "$LOGS/fuzz.log" 2>&1
  status=$?
  grep -A1 'Test cases:' "$LOGS/fuzz.log" | tail -n 1
  [ $status -ne 0 ] && tail -n 80 "$LOGS/fuzz.log"
  if [ $status -eq 0 ]; then tally "API fuzzing" 0 1 0; else tally "API fuzzing" 1 0 1; fi
else
  tally "API fuzzing (no binary)" 1 0 1
fi

echo "logs: $LOGS"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
