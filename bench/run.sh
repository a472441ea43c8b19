#!/usr/bin/env bash
# Benchmarks against the floor: everything is measured in one run on this
# machine and reported as a ratio against a baseline measured alongside it
# (Terraform's own terraform_data for plans). Needs hyperfine and GNU time
# (Debian packages `hyperfine`, `time`), python3, and Terraform.
#
#   bench/run.sh           full run (N = 100 and 1000; medians of >= 5 runs)
#   bench/run.sh --quick   N = 100 only, fewer runs (under 5 minutes)
#   bench/run.sh --scale [mesh] [per-tenant] [sync] [--tenants 20] [--runs 3]
#                          a 20-tenant organization (bench/scale.py): the full mesh in one
#                          state and as 20 per-tenant states against latency=100ms, and the
#                          sandbox's engine over 20 x 1,000 users (about 25 minutes)
#
# Results: a markdown table on stdout and in bench/results/<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine python3 terraform cargo; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (hyperfine: apt-get install hyperfine)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: GNU time is missing (apt-get install time)" >&2; exit 1; }
cargo build --release -q -p terraform-provider-mto -p mto-sandbox
cargo build --release -q -p terraform-provider-mto --example plugin_floor
for a in "$@"; do
  if [ "$a" = --scale ]; then
    exec python3 bench/scale.py "$@"
  fi
done
exec python3 bench/bench.py "$@"
