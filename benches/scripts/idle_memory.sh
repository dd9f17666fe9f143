#!/usr/bin/env bash
# Memory per idle WebSocket connection: for each tokio-based echo server
# (weft-tokio, tokio-tungstenite, fastwebsockets, tokio-websockets, and the
# raw TCP echo as a reference), how much the server's resident set grows
# per open connection that has done its handshake and then sits idle.
#
# Per server: start it (release build), read VmRSS from /proc/PID/status,
# open COUNT connections with `weft bench --idle` (handshakes completed, then
# nothing sent), wait until it reports all of them open plus SETTLE
# seconds, read VmRSS again, stop both. The table gives
# (after - before) / COUNT in bytes: the server's own state per connection
# (buffers, the task, the socket's user-space side) plus whatever the
# allocator keeps around it; the kernel's socket buffers are not in VmRSS.
#
# The table goes to stdout and to target/idle_memory.md; progress goes to
# stderr. A server that does not start, or any connection that fails to
# open, stops the script with status 1.
#
#   benches/scripts/idle_memory.sh
#   COUNT=500 benches/scripts/idle_memory.sh      # a quick check
#
# Environment: COUNT (10000), SETTLE (1), PORT (first port used, 19600),
# CARGO_TARGET_DIR.

set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/../.."

COUNT=${COUNT:-10000}
SETTLE=${SETTLE:-1}
PORT=${PORT:-19600}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT="$TARGET_DIR/idle_memory.md"

# name|example|label
SERVERS=(
  "weft_tokio|echo_weft_tokio|weft-tokio"
  "tungstenite|echo_tungstenite|tokio-tungstenite 0.30"
  "fastwebsockets|echo_fastwebsockets|fastwebsockets 0.10"
  "tokio_websockets|echo_tokio_websockets|tokio-websockets 0.13"
  "raw_tcp|echo_raw_tcp|raw TCP (tokio::io::copy), reference"
)

log() { echo "idle_memory: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Each connection takes a descriptor in the server and one in weft bench,
# each process within its own limit, which both inherit from here.
ulimit -n "$(ulimit -Hn)"
limit=$(ulimit -n)
if [ "$limit" != unlimited ] && [ "$limit" -lt $((COUNT + 100)) ]; then
  die "COUNT=$COUNT needs more file descriptors than the hard limit of $limit allows"
fi

# Two builds: `--examples` would restrict weft-cli to its examples too,
# leaving the `weft` binary unbuilt.
cargo build --release -p weft-benches --examples >&2
cargo build --release -p weft-cli >&2

WEFT="$TARGET_DIR/release/weft"
EXAMPLES="$TARGET_DIR/release/examples"
[ -x "$WEFT" ] || die "$WEFT was not built"

WORK=$(mktemp -d)
SERVER_PID=""
LOAD_PID=""
stop() {
  local pid=$1
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$SERVER_PID"
  stop "$LOAD_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# VmRSS of process $1, in KiB.
rss_kib() {
  awk '/^VmRSS:/ { print $2; found = 1 } END { if (!found) exit 1 }' "/proc/$1/status" ||
    die "cannot read VmRSS of process $1"
}

declare -A BEFORE AFTER
port=$PORT
for entry in "${SERVERS[@]}"; do
  IFS='|' read -r name example _ <<<"$entry"
  port=$((port + 1))

  # Each run has its own files, created before the process starts, so no
  # wait below can see a previous run's output.
  server_log="$WORK/$name.server.log"
  load_out="$WORK/$name.load.out"
  load_err="$WORK/$name.load.err"
  : >"$server_log"
  : >"$load_out"
  : >"$load_err"
  "$EXAMPLES/$example" --port "$port" >"$server_log" 2>&1 &
  SERVER_PID=$!
  waited=0
  until grep -q "^listening on 127.0.0.1:$port" "$server_log"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$server_log" >&2; die "$example exited before listening"; }
    waited=$((waited + 1))
    [ "$waited" -le 200 ] || die "$example did not report listening within 10 s"
    sleep 0.05
  done
  before=$(rss_kib "$SERVER_PID")

  if [ "$name" = raw_tcp ]; then
    target="tcp://127.0.0.1:$port"
  else
    target="ws://127.0.0.1:$port/"
  fi
  # Held far longer than needed; stopped below once measured.
  "$WEFT" bench "$target" --idle --conns "$COUNT" --duration 3600 >"$load_out" 2>"$load_err" &
  LOAD_PID=$!
  waited=0
  until grep -q '^idle open=' "$load_out"; do
    if ! kill -0 "$LOAD_PID" 2>/dev/null; then
      cat "$load_out" "$load_err" >&2
      die "weft bench against $name exited before opening its connections"
    fi
    waited=$((waited + 1))
    [ "$waited" -le 2400 ] || die "weft bench against $name did not open $COUNT connections within 120 s"
    sleep 0.05
  done
  opened=$(grep '^idle open=' "$load_out")
  if [ "$opened" != "idle open=$COUNT errors=0" ]; then
    cat "$load_err" >&2
    die "against $name: $opened"
  fi
  sleep "$SETTLE"
  after=$(rss_kib "$SERVER_PID")

  # The server first: the connections it holds then end without it
  # reporting each one.
  stop "$SERVER_PID"
  SERVER_PID=""
  stop "$LOAD_PID"
  LOAD_PID=""

  BEFORE[$name]=$before
  AFTER[$name]=$after
  log "$name: VmRSS $before KiB before, $after KiB with $COUNT idle connections"
done

{
  echo "## Server memory per idle connection"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(uname -sr)); $COUNT connections"
  echo "opened by \`weft bench --idle\` (handshake done, then silent), VmRSS read ${SETTLE} s after the last opened."
  echo
  echo "| server | VmRSS before (KiB) | VmRSS with $COUNT idle (KiB) | bytes per connection |"
  echo "| --- | ---: | ---: | ---: |"
  for entry in "${SERVERS[@]}"; do
    IFS='|' read -r name _ label <<<"$entry"
    per=$(((AFTER[$name] - BEFORE[$name]) * 1024 / COUNT))
    echo "| $label | ${BEFORE[$name]} | ${AFTER[$name]} | $per |"
  done
} | tee "$OUT"

log "table written to $OUT"
