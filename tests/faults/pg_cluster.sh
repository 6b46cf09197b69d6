#!/usr/bin/env bash
# Fault-tier clusters: each fault test makes its own PostgreSQL and kills,
# restarts and destroys it at will (the shared ctest fixture is never touched).
#   pg_cluster.sh create MAX_CONNECTIONS   initdb + start on a free port, role "app"
#                                          owning database "hookstream"; prints "DATA PORT"
#   pg_cluster.sh start DATA PORT MAX      start again (after kill9: retries while the
#                                          old server's processes are still exiting)
#   pg_cluster.sh restart DATA MODE        pg_ctl restart -m fast|immediate, waits until up
#   pg_cluster.sh kill9 DATA               SIGKILL the postmaster (its backends stay)
#   pg_cluster.sh standby PORT MAX         a streaming standby of the cluster on PORT
#                                          (pg_basebackup -R), started on a free port;
#                                          prints "DATA PORT"
#   pg_cluster.sh stop DATA MODE           pg_ctl stop -m fast|immediate
#   pg_cluster.sh destroy DATA             stop at once and delete
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

cmd=$1
case "$cmd" in
  create)
    max=$2
    data=$(mktemp -d "$(pg_data_root /tmp)/hookstream-fault-pg.XXXXXX")
    if port=$(PG_FSYNC=off PG_MAX_CONNECTIONS=$max pg_start_on_free_port "$data" "$data.start.err"); then
      rm -f "$data.start.err"
      "$PG_BIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE app LOGIN" -c "CREATE DATABASE hookstream OWNER app" >/dev/null
      echo "$data $port"
      exit 0
    fi
    cat "$data.start.err" >&2
    rm -rf "$data" "$data.start.err"
    exit 1
    ;;
  start)
    data=$2 port=$3 max=$4
    for attempt in $(seq 1 50); do
      if PG_FSYNC=off PG_MAX_CONNECTIONS=$max pg_start "$data" "$port" 2>/dev/null; then exit 0; fi
      sleep 0.2  # "pre-existing shared memory block is still in use": old backends exiting
    done
    tail -n 20 "$data/server.log" >&2
    exit 1
    ;;
  restart)
    data=$2 mode=$3
    as_pg_user "$PG_BIN/pg_ctl" -D "$data" -m "$mode" -w -t 60 restart >/dev/null
    ;;
  standby)
    primary_port=$2 max=$3
    data=$(mktemp -d "$(pg_data_root /tmp)/hookstream-standby-pg.XXXXXX")
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    # -R writes standby.signal and primary_conninfo; -X stream brings the WAL the
    # copy needs; -c fast: no wait for a scheduled checkpoint.
    if ! as_pg_user "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$data" -R -X stream          -c fast 2>"$data.start.err"; then
      cat "$data.start.err" >&2
      rm -rf "$data" "$data.start.err"
      exit 1
    fi
    # A hot standby needs max_connections at least the primary's.
    if port=$(PG_FSYNC=off PG_MAX_CONNECTIONS=$max pg_start_on_free_port "$data" "$data.start.err"); then
      rm -f "$data.start.err"
      echo "$data $port"
      exit 0
    fi
    cat "$data.start.err" >&2
    rm -rf "$data" "$data.start.err"
    exit 1
    ;;
  stop)
    data=$2 mode=$3
    as_pg_user "$PG_BIN/pg_ctl" -D "$data" -m "$mode" -w -t 60 stop >/dev/null
    ;;
  kill9)
    data=$2
    kill -9 "$(head -n 1 "$data/postmaster.pid")"
    ;;
  destroy)
    data=$2
    if [ -f "$data/postmaster.pid" ]; then
      as_pg_user "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$data"
    ;;
  *) echo "usage: $0 create|start|restart|standby|stop|kill9|destroy ..." >&2; exit 2 ;;
esac
