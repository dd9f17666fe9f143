#!/usr/bin/env bash
# Broadcast to many connections: Weft beside tokio-tungstenite,
# fastwebsockets and tokio-websockets, each serving the same broadcast
# (benches/examples/broadcast_*.rs: every message a client sends goes to
# every other client, through a bounded queue per client), loaded by
# benches/examples/broadcast_load.rs: CLIENTS subscribers, then a publisher
# sending MESSAGES messages of each size in SIZES with at most WINDOW not
# yet received by everyone.
#
# The four servers run interleaved (A B C D, ROUNDS times) for each size, a
# fresh server process each run; the table gives per server the median over
# the rounds of messages delivered per second and of the fan-out time (from
# the publisher's write until the last subscriber has the message: p50,
# p99), and the ratio of messages/s to the best peer's. The clients can be
# the bottleneck (they read as often as the server writes), so the table
# also gives the server's own CPU time per thousand messages delivered,
# from /proc/PID/stat between the clients' `subscribed` line and their end:
# what the broadcast costs the server, whoever is slower. With taskset the
# server runs on CPU_SERVER and the clients on CPU_LOAD. A run in which a
# subscriber was dropped or a message did not reach everyone stops the
# script with status 1.
#
#   benches/scripts/broadcast_compare.sh
#   CLIENTS=1000 ROUNDS=1 benches/scripts/broadcast_compare.sh    # a quick check
#
# Environment: CLIENTS (10000), MESSAGES (200), SIZES ("16 1024"),
# WINDOW (32), ROUNDS (3), PORT (first port used, 19300), CPU_SERVER (0),
# CPU_LOAD (1), CARGO_TARGET_DIR. Table: stdout and target/broadcast_compare.md.

set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."

CLIENTS=${CLIENTS:-10000}
MESSAGES=${MESSAGES:-200}
SIZES=${SIZES:-"16 1024"}
WINDOW=${WINDOW:-32}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-19300}
CPU_SERVER=${CPU_SERVER:-0}
CPU_LOAD=${CPU_LOAD:-1}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT="$TARGET_DIR/broadcast_compare.md"

# name|example|label; the first is Weft, the rest the peers.
SERVERS=(
  "weft_tokio|broadcast_weft_tokio|weft-tokio (PreparedMessage)"
  "tungstenite|broadcast_tungstenite|tokio-tungstenite 0.30"
  "fastwebsockets|broadcast_fastwebsockets|fastwebsockets 0.10"
  "tokio_websockets|broadcast_tokio_websockets|tokio-websockets 0.13"
)

log() { echo "broadcast_compare: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Two ends of CLIENTS connections on one machine, and the publisher's.
need=$((CLIENTS + 64))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  ulimit -n "$need" 2>/dev/null || die "open files limit $(ulimit -n) is below $need (raise it with ulimit -n)"
fi

cargo build --release -p weft-benches --examples >&2
EXAMPLES="$TARGET_DIR/release/examples"

PIN_SERVER=()
PIN_LOAD=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc --all)" -gt "$CPU_LOAD" ] && [ "$(nproc --all)" -gt "$CPU_SERVER" ]; then
  PIN_SERVER=(taskset -c "$CPU_SERVER")
  PIN_LOAD=(taskset -c "$CPU_LOAD")
  PINNING="server on CPU $CPU_SERVER, clients on CPU $CPU_LOAD (taskset)"
else
  PINNING="not pinned (no taskset, or too few CPUs)"
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

start_server() {
  local example=$1 port=$2
  SERVER_LOG="$WORK/$port.server.log"
  : >"$SERVER_LOG"
  "${PIN_SERVER[@]}" "$EXAMPLES/$example" --port "$port" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  local waited=0
  until grep -q "^listening on 127.0.0.1:$port" "$SERVER_LOG"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; die "$example exited before listening"; }
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

# The value of field $1 (`name=value`) in line $2.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

port=$PORT
# utime + stime of process $1, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

declare -A RATE P50 P99 CPU
for size in $SIZES; do
  for ((round = 1; round <= ROUNDS; round++)); do
    for entry in "${SERVERS[@]}"; do
      IFS='|' read -r name example _ <<<"$entry"
      port=$((port + 1))
      start_server "$example" "$port"
      status=0
      : >"$WORK/load.err"
      "${PIN_LOAD[@]}" "$EXAMPLES/broadcast_load" --port "$port" --clients "$CLIENTS" \
        --messages "$MESSAGES" --size "$size" --window "$WINDOW" >"$WORK/load.out" 2>"$WORK/load.err" &
      load_pid=$!
      until grep -q '^subscribed' "$WORK/load.err" || ! kill -0 "$load_pid" 2>/dev/null; do sleep 0.05; done
      cpu_before=$(cpu_ticks "$SERVER_PID")
      wait "$load_pid" || status=$?
      cpu_after=$(cpu_ticks "$SERVER_PID")
      line=$(cat "$WORK/load.out")
      stop_server
      if [ "$status" -ne 0 ] || [ "$(field complete "$line")" != "$MESSAGES" ] || [ "$(field dropped "$line")" != 0 ]; then
        log "$name (size $size) failed (status $status): $line"
        cat "$WORK/load.err" >&2
        tail -n 20 "$SERVER_LOG" >&2
        exit 1
      fi
      key="$size/$name"
      # Clock ticks (1/100 s) per thousand deliveries, as milliseconds.
      cpu=$(awk -v t="$((cpu_after - cpu_before))" -v hz="$(getconf CLK_TCK)" -v n="$((CLIENTS * MESSAGES))" \
        'BEGIN { printf "%.3f", t / hz * 1000 / (n / 1000) }')
      CPU[$key]="${CPU[$key]:-} $cpu"
      RATE[$key]="${RATE[$key]:-} $(field delivered_per_s "$line")"
      P50[$key]="${P50[$key]:-} $(field fanout_p50_ms "$line")"
      P99[$key]="${P99[$key]:-} $(field fanout_p99_ms "$line")"
      log "size=$size round $round/$ROUNDS $name: $line server_cpu_ms_per_1000=$cpu"
      # Let the sockets of the run before leave TIME_WAIT's way.
      sleep 1
    done
  done
done

{
  echo "## Broadcast to $CLIENTS clients"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(uname -sr)); $PINNING."
  echo "Each cell: the median of $ROUNDS run(s), a fresh server each run, servers interleaved;"
  echo "$MESSAGES messages per run, at most $WINDOW not yet received by every client."
  echo
  echo "| size (B) | server | messages delivered/s | ratio to best peer | fan-out p50 (ms) | fan-out p99 (ms) | server CPU per 1000 delivered (ms) |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
  for size in $SIZES; do
    best=0
    for entry in "${SERVERS[@]:1}"; do
      IFS='|' read -r name _ _ <<<"$entry"
      # shellcheck disable=SC2086
      r=$(median ${RATE[$size/$name]})
      best=$(awk -v a="$r" -v b="$best" 'BEGIN { print (a > b) ? a : b }')
    done
    for entry in "${SERVERS[@]}"; do
      IFS='|' read -r name _ label <<<"$entry"
      # shellcheck disable=SC2086
      rate=$(median ${RATE[$size/$name]})
      # shellcheck disable=SC2086
      p50=$(median ${P50[$size/$name]})
      # shellcheck disable=SC2086
      p99=$(median ${P99[$size/$name]})
      # shellcheck disable=SC2086
      cpu=$(median ${CPU[$size/$name]})
      ratio=$(awk -v a="$rate" -v b="$best" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
      printf '| %s | %s | %.0f | %s | %.1f | %.1f | %.3f |\n' "$size" "$label" "$rate" "$ratio" "$p50" "$p99" "$cpu"
    done
  done
} | tee "$OUT"
log "table written to $OUT"
