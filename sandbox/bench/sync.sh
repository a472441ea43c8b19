#!/usr/bin/env bash
# Benchmark of the cross-tenant synchronization engine, release build, file-backed database.
#
#   sandbox/bench/sync.sh            both scenarios
#   sandbox/bench/sync.sh 10000 1    one scenario: USERS in-scope users shared to TARGETS tenants
#   sandbox/bench/sync.sh mesh 20 1000   TENANTS tenants of USERS users each, every one sharing
#                                    with every other (TENANTS x (TENANTS-1) jobs); after the full
#                                    cycle, 1 % of every tenant's users change, and an incremental
#                                    cycle runs
#
# Scenarios: 10,000 users into 1 target; 100,000 users into 9 targets (9 jobs). For each: seed a
# fresh data directory, start mto-sandbox under /usr/bin/time -v, configure through Graph
# (sandbox/examples/sync_bench.rs setup), then time POST /_sandbox/sync/run twice — the first
# cycle creates every user, the second finds nothing to do (steady state) — check the user
# counts in every target, and report the server's peak RSS (VmHWM, and /usr/bin/time's maximum
# resident set size). Loopback only; the server and the driver share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --release -p mto-sandbox --bin mto-sandbox --example sync_bench >&2
BIN=target/release/mto-sandbox
GEN=target/release/examples/sync_bench

scenario() {
  local users=$1 targets=$2 mesh=${3:-}
  local work; work="$(mktemp -d)"
  local topology=(--targets "$targets")
  if [[ -n "$mesh" ]]; then
    topology=(--mesh --tenants "$mesh")
    echo "== mesh of $mesh tenants x $users users =="
  else
    echo "== $users users -> $targets target(s) =="
  fi
  "$GEN" seed --users "$users" "${topology[@]}" > "$work/seed.json"
  local t0; t0=$(date +%s.%N)
  MTO_SANDBOX_LOG=warn /usr/bin/time -v -o "$work/time.txt" \
    "$BIN" serve --data "$work/data" --seed "$work/seed.json" --sync-interval 1d \
    > "$work/stdout" 2> "$work/stderr" &
  local tpid=$!
  for _ in $(seq 1 1200); do grep -q "listening on" "$work/stdout" 2>/dev/null && break; sleep 0.1; done
  local url; url="$(sed -n 's/^mto-sandbox listening on //p' "$work/stdout")"
  [[ -n "$url" ]] || { echo "server did not start"; cat "$work/stderr"; exit 1; }
  local spid; spid="$(cat /proc/$tpid/task/$tpid/children | tr -d ' ')"
  echo "startup incl. seeding: $(echo "$(date +%s.%N) - $t0" | bc) s"
  "$GEN" setup --url "$url" "${topology[@]}" > /dev/null
  awk '/^VmRSS|^VmHWM/ {printf "%s %.1f MiB  ", $1, $2/1024} END {print ""}' "/proc/$spid/status" | sed 's/^/RSS before the first cycle: /'
  "$GEN" run --url "$url" --label "first cycle (creates)"
  if [[ -n "$mesh" ]]; then
    "$GEN" check --url "$url" "${topology[@]}" --users "$users" | tail -n 1
    "$GEN" change --url "$url" "${topology[@]}" --users "$users" --percent 1
    "$GEN" run --url "$url" --label "incremental cycle (1 % changed)"
    "$GEN" run --url "$url" --label "steady cycle (nothing to do)"
  else
    "$GEN" run --url "$url" --label "second cycle (steady state)"
  fi
  "$GEN" check --url "$url" "${topology[@]}" --users "$users" | tail -n 1
  awk '/^VmRSS|^VmHWM/ {printf "%s %.1f MiB  ", $1, $2/1024} END {print ""}' "/proc/$spid/status" | sed 's/^/RSS after: /'
  kill -TERM "$spid"
  wait "$tpid" || true
  grep -E "Maximum resident set size|Elapsed \(wall clock\)" "$work/time.txt" | sed 's/^\s*/time -v: /'
  echo "database size: $(du -sh "$work/data" | cut -f1)"
  rm -rf "$work"
}

if [[ "${1:-}" == mesh ]]; then
  scenario "${3:-1000}" 0 "${2:-20}"
elif [[ $# -ge 2 ]]; then
  scenario "$1" "$2"
else
  scenario 10000 1
  scenario 100000 9
fi
