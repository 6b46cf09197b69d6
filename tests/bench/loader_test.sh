#!/usr/bin/env bash
# hookstream-bench-load against a real PostgreSQL (the integration fixture's):
# a seed gives the same rows on every load, the counts it prints are the counts
# stored, and a database that holds data is refused unless --force.
#   loader_test.sh LOADER STATE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

loader=$1 state=$2
base_url=$(cat "$state/database_url")
db=hookstream_bench_loader_test
url=${base_url%/*}/$db
psql_at() { "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

psql_at "$base_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
trap 'psql_at "$base_url" -c "DROP DATABASE IF EXISTS $db" || true' EXIT
unset BETTER_AUTH_SECRET  # no COOKIE line: stdout is the same with and without a database

# The same seed prints the same ids and keys; another seed, others.
dry7=$("$loader" --dry-run --seed 7 --attempts 3000 2>/dev/null)
[ "$dry7" = "$("$loader" --dry-run --seed 7 --attempts 3000 2>/dev/null)" ] || fail "two dry runs of seed 7 differ"
[ "$dry7" != "$("$loader" --dry-run --seed 8 --attempts 3000 2>/dev/null)" ] || fail "seeds 7 and 8 print the same"
[ "$(grep -c '^KEY ' <<<"$dry7")" = 6 ] || fail "expected 6 KEY lines: $dry7"

# A real load prints what the dry run printed.
loaded=$("$loader" --database-url "$url" --seed 7 --attempts 3000 2>"$state/loader.err") ||
  { cat "$state/loader.err" >&2; fail "the load failed"; }
[ "$loaded" = "$dry7" ] || fail "the load printed other lines than the dry run"

# Every environment holds the attempts its KEY line announces, and the counters agree.
while read -r _ org env count _; do
  stored=$(psql_at "$url" -c "SELECT count(*) FROM delivery_attempts WHERE org_id = '$org' AND env_id = '$env'")
  counted=$(psql_at "$url" -c "SELECT coalesce(sum(n), 0) FROM attempt_counts WHERE org_id = '$org' AND env_id = '$env'")
  [ "$stored" = "$count" ] || fail "$env: $stored attempts stored, $count announced"
  [ "$counted" = "$count" ] || fail "$env: the counters say $counted, $count announced"
done < <(grep '^KEY ' <<<"$loaded")
orphans=$(psql_at "$url" -c "SELECT count(*) FROM delivery_attempts a WHERE NOT EXISTS
  (SELECT 1 FROM events e WHERE e.id = a.event_id AND e.env_id = a.env_id)")
[ "$orphans" = 0 ] || fail "$orphans attempts name an event that is not there"
hot_destination=$(awk '/^HOT_DESTINATION /{print $2}' <<<"$loaded")
[ "$(psql_at "$url" -c "SELECT count(*) > 0 FROM delivery_attempts WHERE destination_id = '$hot_destination'")" = t ] ||
  fail "the hot destination has no attempts"

# On top of data: refused (exit 3), nothing changed.
rows_sql="COPY (SELECT * FROM delivery_attempts ORDER BY id) TO STDOUT"
before=$(psql_at "$url" -c "$rows_sql" | md5sum)
set +e
"$loader" --database-url "$url" --seed 7 --attempts 3000 >/dev/null 2>&1
status=$?
set -e
[ "$status" = 3 ] || fail "a load on top of data exited $status, expected 3"
[ "$(psql_at "$url" -c "$rows_sql" | md5sum)" = "$before" ] || fail "a refused load changed the rows"

# --force loads again from scratch: the same seed, byte for byte the same rows.
"$loader" --database-url "$url" --seed 7 --attempts 3000 --force >/dev/null 2>"$state/loader.err" ||
  { cat "$state/loader.err" >&2; fail "the --force load failed"; }
[ "$(psql_at "$url" -c "$rows_sql" | md5sum)" = "$before" ] || fail "a reload of seed 7 stored other rows"
echo "bench loader: deterministic, counts agree, refuses data without --force"
