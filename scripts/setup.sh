#!/usr/bin/env bash
# Installs what building and testing Latchkey needs, once; later runs find it in the cache.
# Sourced by scripts/run-demo.sh and scripts/test.sh, which then have PATH and CARGO_TARGET_DIR set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LATCHKEY_CACHE:-$HOME/.cache/latchkey}"
TOOLS="$CACHE/tools"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
export PATH="$TOOLS/bin:$CACHE/node/node_modules/.bin:$HOME/.cargo/bin:$PATH"
mkdir -p "$TOOLS" "$CACHE/node"

TRUNK_VERSION=0.21.14
# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' "$ROOT/Cargo.lock")"

say() { printf '==> %s\n' "$*" >&2; }

if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown >&2
fi

if ! trunk --version 2>/dev/null | grep -q "$TRUNK_VERSION"; then
  say "installing trunk $TRUNK_VERSION (takes several minutes, once)"
  CARGO_TARGET_DIR="$CACHE/tools-target" cargo install trunk --version "$TRUNK_VERSION" --locked --root "$TOOLS" >&2
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Without --locked: its own lock file names a crate release the registry no longer serves.
  CARGO_TARGET_DIR="$CACHE/tools-target" cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$TOOLS" --force >&2
fi

# Splits the lazily loaded screens out of the main WASM (scripts/wasm-split/wasm-bindgen). 0.2.4 is
# the first release that keeps wasm-bindgen 0.2.128's descriptors in the main module.
WASM_SPLIT_VERSION=0.2.4
if [ ! -x "$TOOLS/bin/wasm-split-cli" ] || ! grep -q "wasm_split_cli_support $WASM_SPLIT_VERSION" "$TOOLS/.crates.toml" 2>/dev/null; then
  say "installing wasm-split-cli $WASM_SPLIT_VERSION"
  CARGO_TARGET_DIR="$CACHE/tools-target" cargo install wasm_split_cli_support --version "$WASM_SPLIT_VERSION" \
    --features build-binary --locked --root "$TOOLS" --force >&2
fi

# wasm-opt from npm: Debian's binaryen 108 produces modules Chromium refuses. playwright-core
# drives Debian's Chromium in the end-to-end tests; axe-core checks each screen's accessibility;
# oidc-provider is the OpenID provider the SSO tests sign in through (end2end/idp/).
if [ ! -x "$CACHE/node/node_modules/.bin/wasm-opt" ] || [ ! -d "$CACHE/node/node_modules/playwright-core" ] \
    || [ ! -f "$CACHE/node/node_modules/axe-core/axe.min.js" ] || [ ! -d "$CACHE/node/node_modules/oidc-provider" ]; then
  say "installing binaryen, playwright-core, axe-core and oidc-provider from npm"
  (cd "$CACHE/node" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
    && npm install --no-audit --no-fund --silent binaryen@132 playwright-core@1 axe-core@4 oidc-provider@9 >&2)
fi

# aiosmtpd is the SMTP server the mail tests deliver to; schemathesis fuzzes the REST API
# against its OpenAPI document.
if [ ! -x "$CACHE/py/bin/python" ] || ! "$CACHE/py/bin/python" -c 'import aiosmtpd' 2>/dev/null \
  || [ ! -x "$CACHE/py/bin/schemathesis" ]; then
  say "installing aiosmtpd and schemathesis from PyPI"
  { [ -x "$CACHE/py/bin/python" ] || python3 -m venv "$CACHE/py"; } >&2 \
    && "$CACHE/py/bin/pip" install --quiet aiosmtpd 'schemathesis>=4,<5' >&2
fi
export LATCHKEY_TEST_PYTHON="$CACHE/py/bin/python"

# Chromium for the end-to-end tests; zopfli writes the web app's gzip copies (smaller than gzip -9).
if ! command -v chromium >/dev/null 2>&1 || ! command -v zopfli >/dev/null 2>&1; then
  say "installing chromium and zopfli"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium zopfli >&2
  else sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium zopfli >&2; fi
fi

# PostgreSQL: the machine has a server; start it if it is down.
start_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "==> starting PostgreSQL"
    for version in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>&1 | tail -n 2
    done
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
}
