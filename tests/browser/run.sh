#!/usr/bin/env bash
# The browser end-to-end test of `weft serve --chat`: installs what it needs
# when missing (Debian's Chromium, playwright-core from package-lock.json),
# then runs tests/browser/chat.test.mjs from the repository root.
#
#   WEFT_BIN=target/debug/weft tests/browser/run.sh
#
# WEFT_BIN: the weft binary to test (default target/debug/weft).
# Screenshots are written to target/browser/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# Debian's Chromium; the emoji font only makes the screenshots readable.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
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
exec node tests/browser/chat.test.mjs
