#!/usr/bin/env bash
# Echo throughput and latency of Weft beside tungstenite, fastwebsockets,
# tokio-websockets and a raw TCP echo, measured with the closed-loop load
# generator `weft bench` (crates/weft-cli).
#
# For every number of connections in CONNS and message size in SIZES, the
# six servers run interleaved (A B C D E F, A B C D E F, ... ROUNDS times),
# so that a slow spell on the machine hits every server alike. Each
# measurement is a fresh server process plus one `weft bench` run of WARMUP +
# DURATION seconds; the table gives, per server, the median over the rounds
# of msgs/s, p50 and p99 round-trip times, and msgs/s as a ratio to the raw
# TCP echo (which is loaded with `weft bench tcp://...`: S bytes out, S bytes back,
# no framing). With taskset (util-linux) the server runs on CPU_SERVER and
# the load generator on CPU_LOAD, one core each.
#
# The table goes to stdout and to target/echo_compare.md; progress goes to
# stderr. Any load generator error (a failed connection, a wrong echo, an unclean
# close) or a server that does not start stops the script with status 1.
#
#   benches/scripts/echo_compare.sh
#   DURATION=1 ROUNDS=1 benches/scripts/echo_compare.sh     # a quick check
#
# Environment: DURATION (5), WARMUP (1), ROUNDS (3), CONNS ("1 100"),
# SIZES ("16 1024 65536"), PORT (first port used, 19100), CPU_SERVER (0),
# CPU_LOAD (1), CARGO_TARGET_DIR.

set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/../.."

DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-"1 100"}
SIZES=${SIZES:-"16 1024 65536"}
PORT=${PORT:-19100}
CPU_SERVER=${CPU_SERVER:-0}
CPU_LOAD=${CPU_LOAD:-1}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT="$TARGET_DIR/echo_compare.md"

# name|example|label; the first is the reference the ratios are taken to.
SERVERS=(
  "raw_tcp|echo_raw_tcp|raw TCP (tokio::io::copy)"
  "weft_tokio|echo_weft_tokio|weft-tokio"
  "weft_std|echo_weft_std|weft-std (thread per connection)"
  "tungstenite|echo_tungstenite|tokio-tungstenite 0.30"
  "fastwebsockets|echo_fastwebsockets|fastwebsockets 0.10"
  "tokio_websockets|echo_tokio_websockets|tokio-websockets 0.13"
)

log() { echo "echo_compare: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Two builds: `--examples` would restrict weft-cli to its examples too,
# leaving the `weft` binary unbuilt.
cargo build --release -p weft-benches --examples >&2
cargo build --release -p weft-cli >&2

WEFT="$TARGET_DIR/release/weft"
EXAMPLES="$TARGET_DIR/release/examples"
[ -x "$WEFT" ] || die "$WEFT was not built"

PIN_SERVER=()
PIN_LOAD=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc --all)" -gt "$CPU_LOAD" ] && [ "$(nproc --all)" -gt "$CPU_SERVER" ]; then
  PIN_SERVER=(taskset -c "$CPU_SERVER")
  PIN_LOAD=(taskset -c "$CPU_LOAD")
  PINNING="server on CPU $CPU_SERVER, weft bench on CPU $CPU_LOAD (taskset)"
else
  PINNING="not pinned (no taskset, or too few CPUs)"
  log "taskset unavailable: running unpinned"
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts example $1 on port $2 and waits for its "listening on" line.
start_server() {
  local example=$1 port=$2
  # A fresh log per server, created before it starts, so that the wait
  # below cannot see an earlier server's line.
  SERVER_LOG="$WORK/$port.server.log"
  : >"$SERVER_LOG"
  "${PIN_SERVER[@]}" "$EXAMPLES/$example" --port "$port" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  local waited=0
  until grep -q "^listening on 127.0.0.1:$port" "$SERVER_LOG"; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$SERVER_LOG" >&2
      die "$example exited before listening on port $port"
    fi
    waited=$((waited + 1))
    [ "$waited" -le 200 ] || die "$example did not report listening on port $port within 10 s"
    sleep 0.05
  done
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# The value of field $1 in a `weft bench --json` line $2.
field() {
  python3 -c 'import json, sys; print(json.loads(sys.argv[2])[sys.argv[1]])' "$1" "$2" ||
    die "no $1 in: $2"
}

# The median of the numbers given as arguments.
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

port=$PORT
declare -A RATE P50 P99

for conns in $CONNS; do
  for size in $SIZES; do
    for ((round = 1; round <= ROUNDS; round++)); do
      for entry in "${SERVERS[@]}"; do
        IFS='|' read -r name example _ <<<"$entry"
        port=$((port + 1))
        if [ "$name" = raw_tcp ]; then
          target="tcp://127.0.0.1:$port"
        else
          target="ws://127.0.0.1:$port/"
        fi
        start_server "$example" "$port"
        status=0
        : >"$WORK/load.out"
        : >"$WORK/load.err"
        "${PIN_LOAD[@]}" "$WEFT" bench "$target" --conns "$conns" --size "$size" \
          --duration "$DURATION" --warmup "$WARMUP" --json >"$WORK/load.out" 2>"$WORK/load.err" || status=$?
        stop_server
        line=$(grep '^{' "$WORK/load.out" || true)
        if [ "$status" -ne 0 ] || [ -z "$line" ] || [ "$(field errors "$line")" != 0 ]; then
          log "weft bench against $name (conns=$conns size=$size) failed with status $status:"
          cat "$WORK/load.out" "$WORK/load.err" >&2
          log "server output:"
          tail -n 20 "$SERVER_LOG" >&2
          exit 1
        fi
        key="$conns/$size/$name"
        RATE[$key]="${RATE[$key]:-} $(field msgs_per_sec "$line")"
        P50[$key]="${P50[$key]:-} $(field p50_us "$line")"
        P99[$key]="${P99[$key]:-} $(field p99_us "$line")"
        log "conns=$conns size=$size round $round/$ROUNDS $name: $(field msgs_per_sec "$line") msgs/s, p50 $(field p50_us "$line") us, p99 $(field p99_us "$line") us"
      done
    done
  done
done

{
  echo "## Echo round trips: msgs/s and latency"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(uname -sr)); $PINNING."
  echo "Each cell: the median of $ROUNDS run(s) of ${DURATION} s (after ${WARMUP} s of warm-up), a fresh"
  echo "server each run, servers interleaved. Closed loop: every connection has one message"
  echo "in flight. Ratio: msgs/s over the raw TCP echo's at the same connections and size."
  echo
  echo "| conns | size (B) | server | msgs/s | ratio to raw TCP | p50 (µs) | p99 (µs) |"
  echo "| ---: | ---: | --- | ---: | ---: | ---: | ---: |"
  for conns in $CONNS; do
    for size in $SIZES; do
      # shellcheck disable=SC2086 # the lists are space-separated numbers
      reference=$(median ${RATE[$conns/$size/raw_tcp]})
      for entry in "${SERVERS[@]}"; do
        IFS='|' read -r name _ label <<<"$entry"
        key="$conns/$size/$name"
        # shellcheck disable=SC2086
        rate=$(median ${RATE[$key]})
        # shellcheck disable=SC2086
        p50=$(median ${P50[$key]})
        # shellcheck disable=SC2086
        p99=$(median ${P99[$key]})
        ratio=$(awk -v a="$rate" -v b="$reference" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
        printf '| %s | %s | %s | %.0f | %s | %.1f | %.1f |\n' "$conns" "$size" "$label" "$rate" "$ratio" "$p50" "$p99"
      done
    done
  done
} | tee "$OUT"

log "table written to $OUT"
