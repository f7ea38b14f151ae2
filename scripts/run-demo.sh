#!/usr/bin/env bash
# Builds Latchkey, seeds demo data into a SQLite file and serves it on http://*.localhost:3000.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
"$ROOT/scripts/build-web.sh"
cargo build --release -p server >&2
LATCHKEY="$CARGO_TARGET_DIR/release/latchkey"
export LATCHKEY_DATABASE_URL="${LATCHKEY_DATABASE_URL:-sqlite://$ROOT/latchkey-demo.db?mode=rwc}"
export LATCHKEY_SITE_DIR="$ROOT/dist"
"$LATCHKEY" demo
echo
echo "Serving on ${LATCHKEY_LISTEN:-127.0.0.1:3000}; open the URLs above in Chromium (Ctrl-C stops)."
exec "$LATCHKEY" serve
