#!/usr/bin/env bash
# Bounded fuzzing runs (not part of CI). Needs cargo-fuzz
# (`cargo install cargo-fuzz`). Corpora live in fuzz/corpus/<target> and are
# kept in the repository; a crash is written to fuzz/artifacts/<target>/ and
# must become a regression test.
#
#   fuzz/run.sh [seconds per target, default 60] [target...]
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
command -v cargo-fuzz >/dev/null || { echo "fuzz: cargo-fuzz missing (cargo install cargo-fuzz)" >&2; exit 1; }
# cargo-fuzz needs nightly-only compiler flags; RUSTC_BOOTSTRAP lets the
# stable toolchain accept them.
export RUSTC_BOOTSTRAP=1
targets=("${@:2}")
[ ${#targets[@]} -gt 0 ] || targets=(msgpack_value raw_state_json sandbox_bodies odata_filter)
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  # Deep OData expressions need room: 200 levels of `not(` are 800 bytes.
  len=1024; [ "$target" = odata_filter ] && len=8192
  echo "== $target ($secs s)"
  cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
    -max_total_time="$secs" -max_len="$len" -rss_limit_mb=4096 -print_final_stats=1 2>&1 \
    | grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done|ERROR|panicked" || true
done
