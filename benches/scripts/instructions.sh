#!/usr/bin/env bash
# Instructions per frame, counted by valgrind's callgrind (the same figure
# on a noisy machine): each cell runs benches/examples/instructions.rs at
# two frame counts and divides the difference, so the setup drops out.
# Only the example's `decode*` and `encode*` functions are counted: building
# the frames to decode is not (until 2026-12-07 it was, which added the
# cost of writing each frame to every decode figure).
#
#   benches/scripts/instructions.sh [BINARY]
#
# BINARY defaults to this tree's release build of the example; pass another
# tree's build to compare two commits cell by cell. Prints two markdown
# tables: Weft's work in every mode, then Weft beside each peer (the same
# frames through tungstenite, fastwebsockets and tokio-websockets).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-}"
if [ -z "$bin" ]; then
  cargo build -q --release -p weft-benches --example instructions
  bin="${CARGO_TARGET_DIR:-target}/release/examples/instructions"
fi
command -v valgrind >/dev/null || { echo "valgrind is needed (Debian: apt-get install valgrind)" >&2; exit 1; }
# Frames counted at two counts per cell (fewer for 64 KiB frames, which
# valgrind runs slowly): the difference divided by the counts' difference.
counts() { if [ "$1" -ge 65536 ]; then echo "40 80"; else echo "2000 4000"; fi; }
count() {
  local out
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect='instructions::decode*' --toggle-collect='instructions::encode*' \
    "$bin" "$@" 2> "$out" >/dev/null
  # "==PID== Collected : N"
  awk '/Collected :/ {print $4}' "$out"
  rm -f "$out"
}
echo "| work | size | instructions per frame |"
echo "| --- | --- | --- |"
for mode in decode decode-ref; do
  for kind in binary text; do
    for masking in masked unmasked; do
      for size in 16 125 1024 65536; do
        extra=()
        [ "$kind" = text ] && extra+=(text)
        [ "$masking" = unmasked ] && extra+=(unmasked)
        read -r small large <<< "$(counts "$size")"
        a=$(count "$mode" "$size" "$small" "${extra[@]}")
        b=$(count "$mode" "$size" "$large" "${extra[@]}")
        echo "| $mode $kind $masking | $size | $(( (b - a) / (large - small) )) |"
      done
    done
  done
done
for mode in encode encode-batch encode-owned encode-batch-owned; do
  for size in 16 125 1024 65536; do
    read -r small large <<< "$(counts "$size")"
    a=$(count "$mode" "$size" "$small")
    b=$(count "$mode" "$size" "$large")
    echo "| $mode | $size | $(( (b - a) / (large - small) )) |"
  done
done
# The same work through each peer, beside Weft's owned API.
per_frame() {
  local small large a b
  read -r small large <<< "$(counts "$2")"
  a=$(count "$1" "$2" "$small" "${@:3}")
  b=$(count "$1" "$2" "$large" "${@:3}")
  echo $(( (b - a) / (large - small) ))
}
echo
echo "| work | size | weft | tungstenite | fastwebsockets | tokio-websockets |"
echo "| --- | --- | --- | --- | --- | --- |"
for work in "decode binary masked" "decode text masked" "encode binary"; do
  read -r verb kind _ <<< "$work"
  extra=()
  [ "$kind" = text ] && extra+=(text)
  for size in 16 125 1024 65536; do
    row="| $work | $size | $(per_frame "$verb" "$size" "${extra[@]}")"
    for peer in tungstenite fastwebsockets tokio-websockets; do
      row="$row | $(per_frame "$verb-$peer" "$size" "${extra[@]}")"
    done
    echo "$row |"
  done
done
