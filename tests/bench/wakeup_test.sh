#!/usr/bin/env bash
# hookstream-bench-wakeup: its JSON carries every figure (the two-CPU ones null
# only on a machine with one CPU), its text names them, it refuses bad
# arguments, and it leaves no process behind (the spinner that keeps the
# second CPU busy is killed).
#   wakeup_test.sh WAKEUP
set -euo pipefail
wakeup=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
tag=hookstream-wakeup-under-test-$$

# Under its own argv[0], which its forked children keep, so that any left
# behind can be found; into a file, as a child left behind would hold a pipe
# open.
out=$(mktemp)
trap 'pkill -f "^$tag" || true; rm -f "$out"' EXIT
(exec -a "$tag" "$wakeup" --json 200 > "$out") || fail "--json 200 exited with $?"
json=$(cat "$out")
python3 - "$json" "$(nproc)" <<'PY' || fail "unexpected JSON: $json"
import json, sys
d = json.loads(sys.argv[1]); cpus = int(sys.argv[2])
keys = ["syscall_us", "poll_us", "one_cpu_round_trip_us", "two_cpus_idle_round_trip_us", "two_cpus_busy_round_trip_us"]
assert sorted(d) == sorted(keys), d
for k in keys[:3]:
    assert d[k] > 0, k
for k in keys[3:]:
    assert (d[k] > 0) if cpus >= 2 else d[k] is None, k
# A wake-up round trip holds at least two system calls on each side.
assert d["one_cpu_round_trip_us"] > 2 * d["syscall_us"], d
PY
sleep 0.2
! pgrep -f "^$tag" >/dev/null || fail "processes left behind: $(pgrep -af "^$tag")"

text=$("$wakeup" 200) || fail "200 exited with $?"
for line in "system call (getppid)" "poll(2) of one socket" "wake-up round trip, one CPU" "wake-up round trip, two CPUs"; do
  grep -qF "$line" <<<"$text" || fail "no line '$line' in: $text"
done

for bad in 0 -5 12x --bogus; do
  status=0
  "$wakeup" "$bad" >/dev/null 2>&1 || status=$?
  [ "$status" = 2 ] || fail "argument '$bad': exit $status, expected 2"
done
echo "wakeup_test: ok"
