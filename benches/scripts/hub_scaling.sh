#!/usr/bin/env bash
# Fan-out across nodes: `weft serve --broadcast` on one node with the
# in-process backplane, against nodes sharing a real Redis
# (`--redis`), loaded by benches/examples/broadcast_load.rs: CLIENTS
# subscribers per node, then a publisher (on the first node) sending
# MESSAGES messages of SIZE bytes with at most WINDOW not yet received by
# everyone. The setups run interleaved, ROUNDS times, each with fresh
# processes and a Redis emptied first:
#
#   one node, in-process, CLIENTS subscribers
#   one node, in-process, 2 x CLIENTS subscribers (the two nodes' load)
#   one node, Redis, CLIENTS subscribers (what Redis costs per message)
#   two nodes, Redis, CLIENTS subscribers on each
#
# Each line is broadcast_load's: delivered messages per second, and the
# fan-out time from the publisher's write until the last subscriber has
# the message (p50, p99, max), which includes the trip through Redis.
# Then the memory of a node holding CLIENTS idle members, in-process and
# with Redis (RSS after the connections open, minus before, per
# connection).
#
#   benches/scripts/hub_scaling.sh
#   CLIENTS=200 ROUNDS=1 benches/scripts/hub_scaling.sh    # a quick check
#
# Environment: CLIENTS (1000), MESSAGES (2000), SIZE (64), WINDOW (32),
# ROUNDS (3), PORT (first port, 19400), CARGO_TARGET_DIR.
# Needs redis-server (tests/hub/run.sh installs it).

set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."

CLIENTS=${CLIENTS:-1000}
MESSAGES=${MESSAGES:-2000}
SIZE=${SIZE:-64}
WINDOW=${WINDOW:-32}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-19400}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
ulimit -n 65536 2>/dev/null || ulimit -n 16384

cargo build -q --release -p weft-cli
cargo build -q --release -p weft-benches --example broadcast_load
WEFT="$TARGET_DIR/release/weft"
LOAD="$TARGET_DIR/release/examples/broadcast_load"

redis_port=$((PORT + 9))
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
redis_pid=$!
pids=()
cleanup() { kill "${pids[@]}" "$redis_pid" 2>/dev/null || true; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
wait_port "$redis_port"
redis_cli() { printf '%s\r\n' "$*" > "/dev/tcp/127.0.0.1/$redis_port"; }

# node PORT [--redis]: a broadcast node in the background.
node() {
  local port=$1; shift
  "$WEFT" serve "127.0.0.1:$port" --broadcast --send-queue 4096 "$@" >/dev/null 2>&1 &
  pids+=($!)
  wait_port "$port"
}

stop_nodes() { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; pids=(); }

run() {
  local label=$1 clients=$2 ports=$3
  local line
  line=$("$LOAD" --ports "$ports" --clients "$clients" --messages "$MESSAGES" --size "$SIZE" --window "$WINDOW" 2>/dev/null)
  echo "$label: $line"
}

a=$PORT; b=$((PORT + 1))
for round in $(seq 1 "$ROUNDS"); do
  echo "# round $round"
  node "$a"; run "1 node, in-process, $CLIENTS" "$CLIENTS" "$a"; stop_nodes
  node "$a"; run "1 node, in-process, $((2 * CLIENTS))" "$((2 * CLIENTS))" "$a"; stop_nodes
  redis_cli FLUSHALL
  node "$a" --redis "redis://127.0.0.1:$redis_port"
  run "1 node, redis, $CLIENTS" "$CLIENTS" "$a"; stop_nodes
  redis_cli FLUSHALL
  node "$a" --redis "redis://127.0.0.1:$redis_port"; node "$b" --redis "redis://127.0.0.1:$redis_port"
  run "2 nodes, redis, $CLIENTS each" "$((2 * CLIENTS))" "$a,$b"; stop_nodes
done

# Memory per member: RSS of a node before and after CLIENTS idle
# broadcast members connect.
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
for backplane in in-process redis; do
  extra=()
  [ "$backplane" = redis ] && extra=(--redis "redis://127.0.0.1:$redis_port")
  node "$a" "${extra[@]}"
  pid=${pids[-1]}
  before=$(rss_kib "$pid")
  "$WEFT" bench "ws://127.0.0.1:$a/" --idle --conns "$CLIENTS" --duration 3 --warmup 0 > /tmp/hub_idle.$$ 2>&1 &
  bench=$!
  for _ in $(seq 1 100); do grep -q '^idle open=' /tmp/hub_idle.$$ && break; sleep 0.1; done
  sleep 0.5
  after=$(rss_kib "$pid")
  wait "$bench" || true
  echo "memory, $backplane: $(grep -o 'idle open=[0-9]* errors=[0-9]*' /tmp/hub_idle.$$) rss_before_kib=$before rss_after_kib=$after per_connection_kib=$(( (after - before) / CLIENTS ))"
  rm -f /tmp/hub_idle.$$
  stop_nodes
done
