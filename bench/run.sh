#!/usr/bin/env bash
# Builds the release server and web app, then prints the figures (last line: JSON).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
"$ROOT/scripts/build-web.sh"
cargo build --release --locked -p server -p bench >&2
"$CARGO_TARGET_DIR/release/latchkey-bench" "$CARGO_TARGET_DIR/release/latchkey" "$ROOT/dist"
