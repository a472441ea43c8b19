#!/usr/bin/env bash
# Benchmark: GET /v1.0/users/{id} with 50 concurrent connections against a release build of
# mto-sandbox seeded with 3 tenants x 10,000 users. Reports requests/s, latency percentiles and
# the server's RSS. Uses wrk when installed (apt-get install wrk), and always the Rust load
# generator sandbox/examples/loadgen.rs.
#
#   sandbox/bench/get_user.sh [DURATION_SECONDS]   (default 10)
#
# Loopback only; the server and the load generator share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-10}"
CONNS=50
USERS=10000

cargo build --release -p mto-sandbox --bin mto-sandbox --example loadgen >&2
BIN=target/release/mto-sandbox
GEN=target/release/examples/loadgen

WORK="$(mktemp -d)"
cleanup() { [[ -n "${PID:-}" ]] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

"$GEN" seed --tenants 3 --users "$USERS" > "$WORK/seed.json"
start=$(date +%s.%N)
"$BIN" serve --data "$WORK/data" --seed "$WORK/seed.json" > "$WORK/stdout" 2> "$WORK/stderr" &
PID=$!
for _ in $(seq 1 600); do grep -q "listening on" "$WORK/stdout" 2>/dev/null && break; sleep 0.1; done
URL="$(sed -n 's/^mto-sandbox listening on //p' "$WORK/stdout")"
[[ -n "$URL" ]] || { echo "server did not start"; cat "$WORK/stderr"; exit 1; }
ready=$(date +%s.%N)
echo "startup incl. seeding 30,000 users: $(echo "$ready - $start" | bc) s"
rss() { awk '/^VmRSS|^VmHWM/ {printf "%s %.1f MiB  ", $1, $2/1024}' "/proc/$PID/status"; echo; }
echo "server RSS after seeding: $(rss)"

"$GEN" ids --tenant 1 --users "$USERS" > "$WORK/ids.txt"
TOKEN="$("$GEN" token --url "$URL" --tenant 1)"

if command -v wrk >/dev/null; then
  cat > "$WORK/get_user.lua" <<LUA
local ids = {}
for line in io.lines("$WORK/ids.txt") do ids[#ids + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/v1.0/users/" .. ids[(i % #ids) + 1], {["Authorization"] = "Bearer $TOKEN"})
end
done = function(summary, latency, requests)
  io.write(string.format("wrk: requests=%d errors(non-2xx/socket)=%d/%d rps=%.0f p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
  wrk -t2 -c"$CONNS" -d2s -s "$WORK/get_user.lua" "$URL" > /dev/null   # warm-up
  wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$WORK/get_user.lua" "$URL" | grep '^wrk:'
  echo "server RSS after wrk: $(rss)"
fi

echo -n "loadgen: "
"$GEN" run --url "$URL" --tenant 1 --users "$USERS" --connections "$CONNS" --duration "${DURATION}s"
echo "server RSS after loadgen: $(rss)"
echo "access log lines written: $(wc -l < "$WORK/stderr")"
