#!/usr/bin/env bash
# Both adapters' clients through real proxies (tests/tests/proxies.rs):
# tinyproxy for HTTP CONNECT and microsocks for SOCKS5, Debian's packages,
# installed here if missing; the weft command's --proxy and proxy
# environment variables (crates/weft-cli/tests/proxies.rs). The tests
# start their own proxy processes on free loopback ports; a tinyproxy
# system service the package may have started is not used.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v tinyproxy >/dev/null || missing+=(tinyproxy)
command -v microsocks >/dev/null || missing+=(microsocks)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo test -p weft-tests --test proxies -- --include-ignored
cargo test -p weft-cli --test proxies -- --include-ignored
