#!/usr/bin/env bash
# Builds the single-page app into dist/ (release WASM, wasm-opt -Oz), with a gzip copy of each
# file beside it (zopfli) that the server sends to browsers that accept gzip.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
trunk build --release --offline --cargo-profile wasm-release >&2
# zopfli's gzip is standard gzip, about 5% smaller than gzip -9, and costs seconds at build time.
find dist -maxdepth 1 -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' \) \
  -exec zopfli --gzip {} +
