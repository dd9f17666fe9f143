#!/usr/bin/env bash
# The main job: the tokio echo server and the blocking (std) client talking
# to it over loopback. The client sends each line below as a text message,
# prints each echo, then closes with 1000 and waits for the closing handshake.
set -euo pipefail
cd "$(dirname "$0")"
port="${PORT:-9321}"
bin="${CARGO_TARGET_DIR:-target}/release"

# The two crates' examples share names: build each, then copy it aside.
cargo build -q --release -p weft-tokio --example echo_server
cp "$bin/examples/echo_server" "$bin/demo_echo_server"
cargo build -q --release -p weft-std --example client
cp "$bin/examples/client" "$bin/demo_client"

log="$(mktemp)"
"$bin/demo_echo_server" "127.0.0.1:$port" > "$log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
# The server prints one line once it is listening.
for _ in $(seq 1 100); do grep -q listening "$log" && break; sleep 0.1; done
cat "$log"

printf 'hello from weft-std\nthe echo comes from weft-tokio\nbye\n' |
  "$bin/demo_client" "ws://127.0.0.1:$port/demo"
echo "client exited cleanly after the closing handshake"
