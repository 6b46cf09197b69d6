# CPU time of processes, in clock ticks (getconf CLK_TCK), from /proc; sourced
# by bench/run and bench/compare/alternate.sh.

# ticks_of PID...: the processes' user + system ticks summed (0 for one that
# has exited meanwhile).
ticks_of() {
  local t=0 p
  for p; do t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) )); done
  echo "$t"
}

# cluster_ticks POSTMASTER_PID: a PostgreSQL cluster's CPU ticks: the
# postmaster's own and its reaped children's (the backends that have exited:
# pgbench's, when its run ends), plus those of its children alive (the server's
# pooled connections, the background processes).
cluster_ticks() {
  local own
  own=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat")
  echo $(( own + $(ticks_of $(pgrep -P "$1")) ))
}
