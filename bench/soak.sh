#!/usr/bin/env bash
# Soak with a PostgreSQL restart (issue 10, point 7): SOAK_SECONDS (default 60) of mixed REST
# traffic against SOAK_PROCESSES (default 3) `latchkey serve` processes on one private
# PostgreSQL cluster, which is stopped for SOAK_OUTAGE (default 6) seconds midway.
# Prints a table per second and a JSON line; exits non-zero if a write was lost or a request
# got a 5xx other than 503.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
cargo build --release --locked -p server -p bench >&2

PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# PostgreSQL refuses to run as root: the private cluster belongs to the postgres user then.
if [ "$(id -u)" -eq 0 ]; then chown postgres "$WORK"; AS_PG="runuser -u postgres --"; else AS_PG=""; fi
PG_CTL="$AS_PG $PGBIN/pg_ctl -D $WORK/data -l $WORK/postgres.log -w"
$AS_PG "$PGBIN/initdb" -D "$WORK/data" -A trust -U postgres > /dev/null
START="$PG_CTL -o '-p $PORT -k $WORK -c listen_addresses=127.0.0.1' start"
STOP="$PG_CTL -m fast stop"
trap 'sh -c "$STOP" > /dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
sh -c "$START" > /dev/null
$AS_PG "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres latchkey_soak

"$CARGO_TARGET_DIR/release/latchkey-bench" soak "$CARGO_TARGET_DIR/release/latchkey" \
  "postgres://postgres@127.0.0.1:$PORT/latchkey_soak" "${SOAK_SECONDS:-60}" "${SOAK_PROCESSES:-3}" \
  "${SOAK_OUTAGE:-6}" "$STOP" "$START"
