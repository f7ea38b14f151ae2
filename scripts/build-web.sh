#!/usr/bin/env bash
# Builds the single-page app into dist/ (release WASM, wasm-opt -Oz).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
trunk build --release --offline --cargo-profile wasm-release >&2
