#!/usr/bin/env bash
# Runs schemathesis against a live Latchkey: a fresh SQLite database with the demo data, an
# operator Administrator token, and the OpenAPI document the server itself serves. Checks: no
# 5xx, every status, content type and body as documented, bad input refused, auth enforced.
# Revoking tokens is left out: the fuzzer would find and revoke its own token (the HTTP tests
# cover it).
# Usage: scripts/api-fuzz.sh [path to the latchkey binary]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/latchkey/target}/debug/latchkey}"
CACHE="${LATCHKEY_CACHE:-$HOME/.cache/latchkey}"
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export LATCHKEY_DATABASE_URL="sqlite://$WORK/fuzz.db?mode=rwc"
export LATCHKEY_BASE_DOMAIN="localhost:$PORT"
export LATCHKEY_LISTEN="127.0.0.1:$PORT"
export LATCHKEY_SITE_DIR="$WORK"
export LATCHKEY_API_RATE_LIMIT=1000000
export RUST_LOG="${RUST_LOG:-warn}"
echo '<!doctype html><title>Latchkey</title>' > "$WORK/index.html"

"$BIN" demo > /dev/null
TOKEN="$("$BIN" token create --email admin@demo-msp.test --tenant admin --name schemathesis | grep -o 'lk_[A-Za-z0-9_-]*' | head -n 1)"
"$BIN" serve > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/readyz" > /dev/null && break; sleep 0.2; done

set +e
# One worker: CPython 3.11's ast is not thread-safe and hypothesis parses sources with it, so two
# workers now and then stop on "AST constructor recursion depth mismatch".
"$CACHE/py/bin/schemathesis" run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --exclude-operation-id revoke_token \
  --max-examples "${FUZZ_EXAMPLES:-30}" \
  --seed "${FUZZ_SEED:-20261123}" \
  --workers 1 \
  --no-color 2>&1 | tee "$WORK/schemathesis.log"
status=${PIPESTATUS[0]}
set -e
if grep -qE '(panicked|ERROR)' "$WORK/server.log"; then
  echo "server log:"; grep -E '(panicked|ERROR)' "$WORK/server.log" | head -n 20
  status=1
fi
exit "$status"
