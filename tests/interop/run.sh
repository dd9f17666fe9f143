#!/usr/bin/env bash
# Interoperability tests: weft against real peers, python-websockets and the
# Node `ws` package, each as client and as server, with permessage-deflate
# on and off; then the chat snippets of docs/interop.md against
# `weft serve --chat`. docs/interop.md tells what each pairing checks.
#
# Usage: tests/interop/run.sh
# Environment: WEFT_BIN, the weft binary (default: target/debug/weft under
# CARGO_TARGET_DIR or the repository root); PYTHON, the Python that makes
# the virtualenv (default python3, 3.11 or newer).
#
# Prints one line per pairing, `interop: ...: ok` or `interop: ...: FAILED`
# followed by what went wrong, and exits 1 if any failed.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
WEFT_BIN="${WEFT_BIN:-$target_dir/debug/weft}"
case "$WEFT_BIN" in /*) ;; *) WEFT_BIN="$root/$WEFT_BIN" ;; esac
PYTHON="${PYTHON:-python3}"

die() { echo "interop: $*" >&2; exit 1; }
[ -x "$WEFT_BIN" ] || die "no weft binary at $WEFT_BIN (build it, or set WEFT_BIN)"
command -v node >/dev/null || die "node is not installed"
command -v npm >/dev/null || die "npm is not installed"

# --- The peers' packages: a virtualenv and node_modules, redone only when
# requirements.txt or package-lock.json changed.
venv="$here/.venv"
if ! cmp -s "$here/requirements.txt" "$venv/requirements.installed" 2>/dev/null; then
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv" || die "could not make a virtualenv with $PYTHON"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" ||
    die "pip could not install tests/interop/requirements.txt"
  cp "$here/requirements.txt" "$venv/requirements.installed"
fi
py="$venv/bin/python"
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.interop-lock.json" 2>/dev/null; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed in tests/interop"
  cp "$here/package-lock.json" "$here/node_modules/.interop-lock.json"
fi

# --- Servers: each prints a line with its address once it listens (all bind
# port 0, so the system picks a free port); all are stopped on exit.
work="$(mktemp -d)"
server_pids=()
cleanup() {
  local pid
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server NAME COMMAND...: starts a server with its output in
# $work/NAME.out and .err; sets server_pid and server_addr (HOST:PORT).
start_server() {
  local name="$1"
  shift
  "$@" > "$work/$name.out" 2> "$work/$name.err" &
  server_pid=$!
  server_pids+=("$server_pid")
  server_addr=""
  for _ in $(seq 1 100); do
    server_addr="$(head -n 1 "$work/$name.out" | grep -oE '[0-9.]+:[0-9]+' | head -n 1 || true)"
    [ -n "$server_addr" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "interop: server $name did not start: $*" >&2
  sed 's/^/    /' "$work/$name.out" "$work/$name.err" >&2
  exit 1
}

# stop_server PID SIGNAL: sends the signal and waits up to 5 s; returns the
# server's exit status (124 if it did not exit).
stop_server() {
  local pid="$1" signal="$2" status=0
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; return 124; fi
  wait "$pid" || status=$?
  return "$status"
}

failures=0
pairing_count=0
# pairing LABEL FUNCTION ARGS...: runs the function with `set -e` in a
# subshell and prints its verdict; its output is shown only on failure.
pairing() {
  local label="$1" status=0
  shift
  pairing_count=$((pairing_count + 1))
  local log="$work/pairing-$pairing_count.log"
  set +e
  (set -e; "$@") > "$log" 2>&1
  status=$?
  set -e
  if [ "$status" = 0 ]; then
    echo "interop: $label: ok"
  else
    echo "interop: $label: FAILED"
    sed 's/^/    /' "$log"
    failures=$((failures + 1))
  fi
}

# wait_closed NAME N: waits up to 5 s for server NAME to have logged N
# `closed` lines, then prints the Nth.
wait_closed() {
  local name="$1" n="$2" line=""
  for _ in $(seq 1 50); do
    line="$(grep '^closed ' "$work/$name.out" | sed -n "${n}p")"
    [ -n "$line" ] && { echo "$line"; return 0; }
    sleep 0.1
  done
  echo "server $name logged no end of connection $n" >&2
  return 1
}

# --- Peers as clients of `weft serve --echo`.
peer_client() { # CLIENT URL DEFLATE EXPECT_DEFLATE
  case "$1" in
    python) timeout 30 "$py" "$here/echo_client.py" "$2" --deflate "$3" --expect-deflate "$4" ;;
    node) timeout 30 node "$here/echo_client.mjs" "$2" --deflate "$3" --expect-deflate "$4" ;;
  esac
}

start_server weft-serve "$WEFT_BIN" serve --echo 127.0.0.1:0
weft_pid=$server_pid
weft_url="ws://$server_addr/"
start_server weft-serve-no-deflate "$WEFT_BIN" serve --echo --no-deflate 127.0.0.1:0
weft_no_deflate_pid=$server_pid
weft_no_deflate_url="ws://$server_addr/"

for client in python node; do
  case $client in python) who="python-websockets client" ;; node) who="ws client" ;; esac
  pairing "$who -> weft serve (deflate on)" peer_client "$client" "$weft_url" on yes
  pairing "$who -> weft serve (deflate off)" peer_client "$client" "$weft_url" off no
  pairing "$who -> weft serve --no-deflate (deflate offered, refused)" \
    peer_client "$client" "$weft_no_deflate_url" on no
done

expect_exit_0() { # STATUS
  [ "$1" = 0 ] || { echo "weft serve exited with $1 after SIGINT (expected 0)"; return 1; }
}
status=0
stop_server "$weft_pid" INT || status=$?
pairing "weft serve exits 0 on SIGINT" expect_exit_0 "$status"
status=0
stop_server "$weft_no_deflate_pid" INT || status=$?
pairing "weft serve --no-deflate exits 0 on SIGINT" expect_exit_0 "$status"

# --- `weft connect` as a client of the peers' echo servers.
"$py" "$here/make_connect_inputs.py" "$work"

# feed INPUT OUTPUT: writes INPUT, then keeps stdin open until OUTPUT has as
# many lines (at most 20 s), so that the close at the end of stdin comes
# only after every echo: an echo server may drop the echoes it has not sent
# yet once the close arrives.
feed() {
  cat "$1"
  local want
  want=$(wc -l < "$1")
  for _ in $(seq 1 400); do
    [ "$(wc -l < "$2")" -ge "$want" ] && return 0
    sleep 0.05
  done
}

# weft_connect SERVER N INPUT EXPECT_DEFLATE WEFT_ARGS...: connection N to
# SERVER; checks exit 0, output = input, and the server's record of it.
weft_connect() {
  local server="$1" n="$2" input="$3" expect_deflate="$4"
  shift 4
  local out="$work/$server.$n.stdout" status=0
  : > "$out"
  feed "$input" "$out" | timeout 30 "$WEFT_BIN" connect "$@" > "$out" || status=$?
  [ "$status" = 0 ] || { echo "weft connect $* exited with $status (expected 0)"; return 1; }
  cmp "$input" "$out" || { echo "the output of weft connect $* differs from its input"; return 1; }
  local record
  record="$(wait_closed "$server" "$n")"
  case "$record" in
    "closed code=1000 "*) ;;
    *) echo "the server did not receive close code 1000: $record"; return 1 ;;
  esac
  case "$expect_deflate,$record" in
    yes,*"extensions=permessage-deflate"*) ;;
    no,*"extensions=none") ;;
    *) echo "deflate expected: $expect_deflate; the server agreed to: ${record#*extensions=}"; return 1 ;;
  esac
}

for server in python node; do
  case $server in python) who="python-websockets server" ;; node) who="ws server" ;; esac
  for deflate in on off; do
    name="$server-echo-deflate-$deflate"
    case $server in
      python) start_server "$name" "$py" "$here/echo_server.py" --deflate "$deflate" ;;
      node) start_server "$name" node "$here/echo_server.mjs" --deflate "$deflate" ;;
    esac
    url="ws://$server_addr/"
    expect=no
    [ "$deflate" = on ] && expect=yes
    pairing "weft connect -> $who (deflate $deflate), text" \
      weft_connect "$name" 1 "$work/text.txt" "$expect" "$url"
    pairing "weft connect -> $who (deflate $deflate), binary --hex" \
      weft_connect "$name" 2 "$work/binary.hex" "$expect" --binary --hex "$url"
    if [ "$deflate" = on ]; then
      pairing "weft connect --no-deflate -> $who (deflate on), text" \
        weft_connect "$name" 3 "$work/text.txt" no --no-deflate "$url"
    fi
    stop_server "$server_pid" TERM || true
  done
done

# --- The snippets of docs/interop.md: the same text as the files, and each
# file run against `weft serve --chat`.
chat_files=(tests/interop/chat_client.py tests/interop/chat_client.mjs tests/interop/chat_client_browser.js)
check_docs() { "$py" "$here/check_doc_snippets.py" "$root" docs/interop.md "${chat_files[@]}"; }
pairing "docs/interop.md code blocks = tests/interop/chat_client*" check_docs

# Node 20 has the browser's WebSocket API behind a flag; later Nodes have it by default.
browser_node=(node)
node -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null ||
  browser_node=(node --experimental-websocket --no-warnings)

chat_client() { # CLIENT URL NICK EXPECTED_LINE
  local out="$work/chat-$1.stdout" status=0
  case "$1" in
    python) timeout 20 "$py" "$here/chat_client.py" "$2" "$3" > "$out" || status=$? ;;
    node) timeout 20 node "$here/chat_client.mjs" "$2" "$3" > "$out" || status=$? ;;
    browser) timeout 20 "${browser_node[@]}" "$here/run_browser_snippet.mjs" \
      "$here/chat_client_browser.js" "$2" > "$out" || status=$? ;;
  esac
  cat "$out"
  [ "$status" = 0 ] || { echo "the chat client exited with $status (expected 0)"; return 1; }
  grep -qxF "$4" "$out" || { echo "its own message did not come back as: $4"; return 1; }
}

chat_page() { # URL
  "$py" - "$1" <<'EOF'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
    body = response.read().decode("utf-8", "replace")
    assert response.status == 200, response.status
    assert "<html" in body.lower(), "the page at / is not HTML"
EOF
}

start_server weft-chat "$WEFT_BIN" serve --chat 127.0.0.1:0
chat_url="ws://$server_addr/ws"
pairing "weft serve --chat: the page at /" chat_page "http://$server_addr/"
pairing "docs/interop.md chat snippet, python-websockets -> weft serve --chat" \
  chat_client python "$chat_url" ada "ada: hello from Python: héllo wörld ✓ 🚀 日本語"
pairing "docs/interop.md chat snippet, ws -> weft serve --chat" \
  chat_client node "$chat_url" grace "grace: hello from Node: héllo wörld ✓ 🚀 日本語"
pairing "docs/interop.md chat snippet, browser WebSocket API (${browser_node[*]}) -> weft serve --chat" \
  chat_client browser "$chat_url" alan "alan: hello from the browser: héllo wörld ✓ 🚀 日本語"
stop_server "$server_pid" INT || true

if [ "$failures" -gt 0 ]; then
  echo "interop: $failures of $pairing_count checks FAILED"
  exit 1
fi
echo "interop: all $pairing_count checks ok"
