#!/usr/bin/env bash
# The browser end-to-end tests of `weft serve --chat`: installs what they
# need when missing (Debian's Chromium, redis-server and nginx;
# playwright-core from package-lock.json), then runs from the repository
# root tests/browser/chat.test.mjs (one server alone) and
# tests/browser/chat_cluster.test.mjs (two nodes sharing one Redis, behind
# nginx). Both run even if the first fails; the exit status is non-zero if
# either did.
#
#   WEFT_BIN=target/debug/weft tests/browser/run.sh
#
# WEFT_BIN: the weft binary to test (default target/debug/weft).
# Screenshots are written to target/browser/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# Debian's Chromium, Redis and nginx (the light build has the proxy and
# upgrade support the cluster test needs); the emoji font only makes the
# screenshots readable.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
command -v redis-server > /dev/null || missing+=(redis-server)
command -v nginx > /dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "browser: installing ${missing[*]}"
  apt-get update -q > /dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" > /dev/null
fi

# playwright-core, exactly as locked; it downloads no browser of its own.
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

cd "$root"
export WEFT_BIN="${WEFT_BIN:-target/debug/weft}"
status=0
node tests/browser/chat.test.mjs || status=1
node tests/browser/chat_cluster.test.mjs || status=1
exit "$status"
