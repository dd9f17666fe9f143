#!/usr/bin/env bash
# Builds and runs one fuzz target: fuzz/run.sh TARGET SECONDS [libFuzzer options]
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer, sanitizer coverage).
# This machine has one stable toolchain: RUSTC_BOOTSTRAP=1 lets stable rustc
# accept them. The committed seeds (fuzz/seeds/TARGET) start the corpus
# (fuzz/corpus/TARGET, not committed), which grows as the fuzzer runs; a crash
# is written to fuzz/artifacts/TARGET and makes this script fail.
set -euo pipefail
cd "$(dirname "$0")"
target="${1:?usage: run.sh TARGET SECONDS}"
seconds="${2:-60}"
shift 2 || true
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
mkdir -p "corpus/$target"
cp -n "seeds/$target"/seed-* "corpus/$target/" 2>/dev/null || true
cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 "$@"
