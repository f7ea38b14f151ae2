#!/usr/bin/env bash
# Builds the single-page app into dist/ (release WASM, wasm-opt -Oz), with a gzip copy of each
# file beside it (zopfli) that the server sends to browsers that accept gzip.
#
# The screens are lazy (`lazy_screens!` in app/src/pages/mod.rs): Trunk's wasm-bindgen step goes
# through scripts/wasm-split/wasm-bindgen, which splits them out of the main module first. Their
# modules and shared chunks are optimised here, named after their content (a browser may keep
# them for good) and placed beside the main module with the loader that fetches them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
export LATCHKEY_WASM_BINDGEN="$(command -v wasm-bindgen)"
export LATCHKEY_WASM_SPLIT_DIR="$CARGO_TARGET_DIR/wasm-split"
PATH="$ROOT/scripts/wasm-split:$PATH" trunk build --release --offline --cargo-profile wasm-release >&2

split="$LATCHKEY_WASM_SPLIT_DIR/frontend"
main_js="$(cd dist && ls frontend-*.js)"
sed "s|from \"\./main\.js\"|from \"./$main_js\"|" "$split/__wasm_split.js" > dist/__wasm_split.js
for module in "$split"/*.wasm; do
  name="$(basename "$module" .wasm)"
  [ "$name" = main ] && continue
  # Quiet unless it fails: every module warns of a name subsection binaryen does not know.
  wasm-opt -Oz "$module" -o "dist/$name.wasm" 2> "$split/wasm-opt.log" || { cat "$split/wasm-opt.log" >&2; exit 1; }
  hashed="$name-$(sha256sum "dist/$name.wasm" | cut -c1-16)"
  mv "dist/$name.wasm" "dist/$hashed.wasm"
  sed -i "s|\"\./$name\.wasm\"|\"./$hashed.wasm\"|" dist/__wasm_split.js
done

# zopfli's gzip is standard gzip, about 5% smaller than gzip -9, and costs seconds at build time.
find dist -maxdepth 1 -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' \) \
  -exec zopfli --gzip {} +
