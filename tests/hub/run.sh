#!/usr/bin/env bash
# The hub against the real parts: weft-hub's Redis backplane
# (crates/weft-hub/tests/redis.rs) and `weft serve --chat/--broadcast
# --redis` nodes behind nginx (crates/weft-cli/tests/cluster.rs), with
# nodes killed and Redis killed and restarted. redis-server and nginx are
# Debian's packages, installed here if missing; the tests start their own
# processes on free loopback ports (a system service the packages may
# have started is not used).
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo test -p weft-hub --features redis -- --include-ignored
cargo test -p weft-cli --test cluster -- --include-ignored
