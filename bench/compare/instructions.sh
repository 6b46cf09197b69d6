#!/usr/bin/env bash
# Instructions per request of a hookstream-server build: the server under
# valgrind's callgrind, one thread, instrumentation on only for the measured
# window (after a 3 s warm-up), one keep-alive connection. Deterministic where
# the VMs' timings are not: compare builds by it, then confirm in time with
# alternate.sh.
#
#   bench/compare/instructions.sh SERVER QUERY [SECONDS]
#     SERVER   a hookstream-server binary
#     QUERY    the listing's query string, e.g. "?limit=50"
#   env: ATTEMPTS (bench data size, default 200000), PG_PORT (default 54361),
#        TOP (lines of the profile to print, default 12)
#
# Needs the bench cluster running with that data loaded (bench/run --pg-port
# PORT [--quick] does both) and valgrind (apt-get install valgrind).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
srv=$1 query=$2 secs=${3:-5}
attempts=${ATTEMPTS:-200000} port=${PG_PORT:-54361}
loadgen=$root/build/bench/hookstream-bench
read -r _ _ _ _ api_key < <(grep '^KEY ' "$root/var/bench-keys-$attempts.txt" | head -n 1)
url=postgresql://postgres@127.0.0.1:$port/hookstream_bench_$attempts
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && cp "$work/callgrind.out" "$KEEP"; rm -rf "$work"' EXIT
BETTER_AUTH_SECRET=bench-better-auth-secret-0123456789abcdef valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$work/callgrind.out" "$srv" --database-url "$url" --listen 127.0.0.1:18082 --threads 1 \
  --pool-size 2 --rate-limit 0 --cursor-secret bench-cursor-secret-0123456789 > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 300); do curl -sf http://127.0.0.1:18082/readyz >/dev/null && break; sleep 0.2; done
target="http://127.0.0.1:18082/v1/delivery-attempts$query"
"$loadgen" --url "$target" --header "X-API-Key: $api_key" --connections 1 --duration 3 --timeout-ms 20000 >/dev/null 2>&1 || true
callgrind_control -i on "$pid" >/dev/null
"$loadgen" --url "$target" --header "X-API-Key: $api_key" --connections 1 --duration "$secs" --timeout-ms 20000 \
  --json "$work/load.json" >/dev/null 2>&1 || true
callgrind_control -i off "$pid" >/dev/null
kill "$pid"
wait "$pid" 2>/dev/null || true
requests=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['requests'])" "$work/load.json")
total=$(awk '/Collected :/{print $NF}' "$work/server.log")
echo "$(basename "$srv") $query: $requests requests, $((total / requests)) instructions per request"
callgrind_annotate --inclusive=no "$work/callgrind.out" 2>/dev/null | grep -v '^--\|^$' \
  | sed -n '/file:function/,$p' | sed -n "2,${TOP:-12}p" | cut -c1-150
