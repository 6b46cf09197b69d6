#!/usr/bin/env bash
# Where the throughput of many keep-alive clients goes: one hookstream-server,
# alternated windows at few and at many connections (order reversed every
# other round), each after a warm-up at its own count. Prints per window req/s,
# errors, the server's CPU per request (user + system, and user alone, from
# /proc), its context switches per request, and the load generator's CPU per
# request, and the database's (the bench cluster's processes); then each
# round's ratio of many to few. Run it with QUERY="limit=1"
# as well as the default: a cost that grows by the same microseconds with a
# one-row page as with a 50-row page does not come from the bytes in flight.
#
#   bench/compare/connections.sh ROUNDS [SERVER]
#   env: QUERY (default "limit=50"), FEW (16), MANY (1024), DUR (s, 8),
#        THREADS (2), POOL (4), ATTEMPTS (bench data size, 2000000), PG_PORT (54361)
#
# Needs the bench cluster running with that data loaded (bench/run --pg-port
# PORT does both).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/scripts/lib/common.sh"
source "$root/bench/lib/cpu_ticks.sh"
rounds=$1 server=${2:-$root/build/server/hookstream-server}
attempts=${ATTEMPTS:-2000000} port=${PG_PORT:-54361}
few=${FEW:-16} many=${MANY:-1024} dur=${DUR:-8}
loadgen=$root/build/bench/hookstream-bench
read -r _ _ _ _ api_key < <(grep '^KEY ' "$root/var/bench-keys-$attempts.txt" | head -n 1)
work=$(mktemp -d)
BETTER_AUTH_SECRET=bench-better-auth-secret-0123456789abcdef "$server" \
  --database-url "postgresql://postgres@127.0.0.1:$port/hookstream_bench_$attempts" --listen 127.0.0.1:18083 \
  --threads "${THREADS:-2}" --pool-size "${POOL:-4}" --rate-limit 0 --cursor-secret bench-cursor-secret-0123456789 \
  > "$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18083/readyz >/dev/null && break; sleep 0.1; done
curl -sf http://127.0.0.1:18083/readyz >/dev/null || { echo "the server did not become ready:" >&2; cat "$work/server.log" >&2; exit 1; }
target="http://127.0.0.1:18083/v1/delivery-attempts?${QUERY:-limit=50}"
hz=$(getconf CLK_TCK)
postmaster=$(head -n 1 "$(pg_data_root "$root/var")/bench-pg/postmaster.pid")

# "user system switches database" of the server so far (the last: the
# cluster's CPU ticks)
server_counts() {
  local cs
  cs=$(cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/{s += $2} END{print s}')
  echo "$(awk '{print $14, $15}' /proc/"$pid"/stat) $cs $(cluster_ticks "$postmaster")"
}

# One window at $1 connections; prints its figures and leaves its req/s in $work/rps-$1.
window() {
  local conns=$1 before after
  "$loadgen" --url "$target" --header "X-API-Key: $api_key" --connections "$conns" --threads 1 --duration 2 \
    >/dev/null 2>&1
  before=$(server_counts)
  "$loadgen" --url "$target" --header "X-API-Key: $api_key" --connections "$conns" --threads 1 --duration "$dur" \
    --check-every 8 --json "$work/load.json" >/dev/null 2>&1
  after=$(server_counts)
  python3 - "$work/load.json" "$conns" "$hz" $before $after > "$work/line" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); conns = sys.argv[2]; hz = float(sys.argv[3])
u0, s0, c0, p0, u1, s1, c1, p1 = map(int, sys.argv[4:12]); n = d["requests"]
us = lambda ticks: ticks / hz * 1e6 / n
print(f"{conns:>5} connections: {d['rps']:8,.0f} req/s, {d['errors']} errors; server {us(u1 - u0 + s1 - s0):6.1f} µs/req "
      f"(user {us(u1 - u0):5.1f}), {(c1 - c0) / n:4.2f} switches/req; load gen {d['cpu_s'] * 1e6 / n:5.1f} µs/req; "
      f"database {us(p1 - p0):6.1f} µs/req")
with open(sys.argv[1] + ".rps", "w") as f:
    print(d["rps"], file=f)
PY
  cat "$work/line"
  cp "$work/load.json.rps" "$work/rps-$conns"
}

echo "$(basename "$server"), ?${QUERY:-limit=50}, $few against $many connections, ${dur} s windows"
for r in $(seq "$rounds"); do
  echo "round $r"
  if ((r % 2)); then window "$few"; window "$many"; else window "$many"; window "$few"; fi
  echo "  ratio $(awk -v a="$(cat "$work/rps-$many")" -v b="$(cat "$work/rps-$few")" 'BEGIN{printf "%.2f", a / b}')"
done
