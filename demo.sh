#!/usr/bin/env bash
# The main job: `weft serve` (an echo server on weft-tokio) and
# `weft connect` talking over loopback. The client sends each line below as
# a text message, prints each echo, then closes with 1000 and waits for the
# closing handshake; -v shows the handshake on stderr. `weft inspect` then
# diagnoses the same server step by step.
set -euo pipefail
cd "$(dirname "$0")"
port="${PORT:-9321}"
weft="${CARGO_TARGET_DIR:-target}/release/weft"

cargo build -q --release -p weft-cli

log="$(mktemp)"
"$weft" serve "127.0.0.1:$port" > "$log" &
server=$!
trap 'kill -INT $server 2>/dev/null || true; rm -f "$log"' EXIT
# The server prints one line once it is listening.
for _ in $(seq 1 100); do grep -q listening "$log" && break; sleep 0.1; done
cat "$log"

printf 'hello from weft connect\nthe echo comes from weft serve\nnaïve ünïcödé ✓\n' |
  "$weft" connect -v "ws://127.0.0.1:$port/demo"
echo "weft connect exited cleanly after the closing handshake"
"$weft" inspect "ws://127.0.0.1:$port/demo"
