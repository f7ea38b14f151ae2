#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for FUZZ_SECONDS each (default 60) from the
# committed corpus and prints executions and crashes per target. Needs the nightly toolchain
# and cargo-fuzz; both are installed on first use.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal >&2
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz"
  CARGO_TARGET_DIR="$CACHE/tools-target" cargo install cargo-fuzz --locked --root "$TOOLS" >&2
fi
cd "$ROOT/fuzz"
export CARGO_TARGET_DIR="$CACHE/fuzz-target"
LOGS="$(mktemp -d)"
printf '%-16s %12s %10s %8s\n' target executions "exec/s" crashes
total_crashes=0
for target in $(cargo +nightly fuzz list); do
  # A scratch copy of the corpus: new inputs found here do not dirty the committed one.
  work="$LOGS/corpus-$target"; mkdir -p "$work"; cp -r "corpus/$target/." "$work/" 2>/dev/null || true
  status=0
  cargo +nightly fuzz run "$target" "$work" -- -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
    > "$LOGS/$target.log" 2>&1 || status=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$LOGS/$target.log" | grep -oE '[0-9]+$' | tail -n1)
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$LOGS/$target.log" | grep -oE '[0-9]+$' | tail -n1)
  crashes=$(ls "artifacts/$target" 2>/dev/null | grep -c '^crash-' || true)
  [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1
  total_crashes=$((total_crashes + crashes))
  printf '%-16s %12s %10s %8s\n' "$target" "${runs:-0}" "${rate:-0}" "$crashes"
  [ "$status" -ne 0 ] && tail -n 30 "$LOGS/$target.log" >&2
done
echo "{\"seconds_per_target\": $SECONDS_EACH, \"crashes\": $total_crashes}"
[ "$total_crashes" -eq 0 ]
