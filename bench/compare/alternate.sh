#!/usr/bin/env bash
# Two hookstream-server builds in alternated rounds, with the bare page in each
# round: per round the bare page (the first page's, and the event filter's when
# WHAT has event) under pgbench (force_generic_plan, 16 clients),
# then per build (order reversed every other round) a warm-up and a measured
# window of each request kind, 16 connections. Prints req/s and the server's
# and the database's CPU per request (from /proc) per window. These VMs drift
# by a quarter within minutes: compare the builds round by round.
#
#   bench/compare/alternate.sh ROUNDS SERVER_A SERVER_B
#   env: WHAT (any of "first range event", default "first range"), WARM (s, 3),
#        DUR (s, 10), ATTEMPTS (bench data size, 200000), PG_PORT (54361)
#
# Needs the bench cluster running with that data loaded (bench/run --pg-port
# PORT [--quick] does both).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/scripts/lib/common.sh"
source "$root/bench/lib/cpu_ticks.sh"
rounds=$1 A=$2 B=$3
attempts=${ATTEMPTS:-200000} port=${PG_PORT:-54361}
bin=$root/build
url="postgresql://postgres@127.0.0.1:$port/hookstream_bench_$attempts"
keys=$root/var/bench-keys-$attempts.txt
read -r _ org env _ api_key < <(grep '^KEY ' "$keys" | head -n 1)
hot_event=$(awk '/^HOT_EVENT /{print $2}' "$keys")
postmaster=$(head -n 1 "$(pg_data_root "$root/var")/bench-pg/postmaster.pid")
hz=$(getconf CLK_TCK)
pg_ticks() { cluster_ticks "$postmaster"; }
base=http://127.0.0.1:18080/v1/delivery-attempts
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/bench/hookstream-bench-sql" --bare --mode offset > "$work/bare.sql"
"$bin/bench/hookstream-bench-sql" --bare --filter event --mode offset > "$work/bare-event.sql"

bare_page() {  # [event]: the event filter's bare page instead of the first page's
  local before after out script=$work/bare.sql label="bare page   " defs=(-D p3=51 -D p4=0)
  [ "${1:-}" = event ] && script=$work/bare-event.sql label="bare event  " defs=(-D p3="$hot_event" -D p4=51 -D p5=0)
  before=$(pg_ticks)
  out=$(PGOPTIONS="-c plan_cache_mode=force_generic_plan -c jit=off -c max_parallel_workers_per_gather=0" \
    "$PG_BIN/pgbench" -n -M prepared -c 16 -j 2 -T "${DUR:-10}" -f "$script" \
    -D p1="$org" -D p2="$env" "${defs[@]}" "$url" 2>/dev/null)
  sleep 0.2
  after=$(pg_ticks)
  awk -v t=$((after - before)) -v hz="$hz" -v label="$label" '
    /actually processed/ {split($NF, x, "/"); n = x[1]}
    /^tps = / {tps = $3}
    END {printf "%s tps %7.0f                    db_us %6.1f\n", label, tps, t / hz * 1e6 / n}' <<<"$out"
}

measure() {  # LABEL SERVER URL
  local label=$1 server=$2 target=$3 pid s0 s1 p0 p1
  BETTER_AUTH_SECRET=bench-better-auth-secret-0123456789abcdef "$server" --database-url "$url" \
    --listen 127.0.0.1:18080 --threads 2 --pool-size 4 --rate-limit 0 \
    --cursor-secret bench-cursor-secret-0123456789 > "$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.1; done
  "$bin/bench/hookstream-bench" --url "$target" --header "X-API-Key: $api_key" --connections 16 --threads 1 \
    --duration "${WARM:-3}" --check-every 8 >/dev/null 2>&1
  s0=$(ticks_of "$pid") p0=$(pg_ticks)
  "$bin/bench/hookstream-bench" --url "$target" --header "X-API-Key: $api_key" --connections 16 --threads 1 \
    --duration "${DUR:-10}" --check-every 8 --json "$work/load.json" >/dev/null 2>&1
  s1=$(ticks_of "$pid") p1=$(pg_ticks)
  python3 - "$label" $((s1 - s0)) $((p1 - p0)) "$hz" "$work/load.json" <<'PY'
import json, sys
label, s, p, hz, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
r = json.load(open(path)); n = max(r["requests"], 1)
print(f"{label:<12} rps {r['rps']:7.0f}  server_us {s / hz * 1e6 / n:6.1f}  db_us {p / hz * 1e6 / n:6.1f}  errors {r.get('errors', 0)}")
PY
  kill "$pid"
  wait "$pid" 2>/dev/null
}

what=${WHAT:-first range}
for ((round = 1; round <= rounds; round++)); do
  echo "--- round $round"
  [[ $what == *first* || $what == *range* ]] && bare_page
  [[ $what == *event* ]] && bare_page event
  order="A B"
  ((round % 2)) || order="B A"
  for build in $order; do
    server=$A
    [ "$build" = B ] && server=$B
    [[ $what == *first* ]] && measure "$build first" "$server" "$base?limit=50"
    [[ $what == *range* ]] && measure "$build range" "$server" \
      "$base?limit=50&created_after=2026-11-20T09:17:31Z&created_before=2026-11-27T14:42:05Z"
    [[ $what == *event* ]] && measure "$build event" "$server" "$base?limit=50&event_id=$hot_event"
  done
done
