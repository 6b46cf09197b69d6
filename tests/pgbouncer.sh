#!/usr/bin/env bash
# A throwaway pgbouncer (Debian's 1.18) in front of a test PostgreSQL, in
# transaction mode, as the postgres user (pgbouncer refuses to run as root).
#   pgbouncer.sh start STATE_DIR DB_URL|URL_FILE [POOL_SIZE]
#       every database of DB_URL's server behind one pgbouncer on a free port of
#       127.0.0.1, at most POOL_SIZE (default 2) server connections per database
#       and user, so that clients share server sessions as in production; trust
#       authentication for the users "postgres" and "app". Writes
#       STATE_DIR/database_url (DB_URL with pgbouncer's port) and prints the port.
#       URL_FILE: a file holding the URL (the ctest fixture's database_url).
#   pgbouncer.sh stop STATE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

action=$1 state=$2
mkdir -p "$state"
case "$action" in
  start)
    target=$3 pool_size=${4:-2}
    [ -f "$target" ] && target=$(cat "$target")
    [ -f "$state/pgbouncer_dir" ] && "$0" stop "$state"
    command -v pgbouncer >/dev/null || die "pgbouncer is not installed (scripts/test installs it)"
    # postgresql://user@host:port/db?params
    [[ "$target" =~ ^postgresql://([^@/]+)@([^:/]+):([0-9]+)/([^?]*)(\?.*)?$ ]] \
      || die "not a postgresql://user@host:port/db URL: $target"
    db_host=${BASH_REMATCH[2]} db_port=${BASH_REMATCH[3]}
    dir=$(mktemp -d "$(pg_data_root /tmp)/hookstream-pgbouncer.XXXXXX")
    echo "$dir" > "$state/pgbouncer_dir"
    printf '"postgres" ""\n"app" ""\n' > "$dir/userlist.txt"
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
      port_is_free "$port" || continue
      cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=$db_host port=$db_port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = $pool_size
max_client_conn = 2000
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
      [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir/pgbouncer.ini"
      if as_pg_user pgbouncer -d "$dir/pgbouncer.ini" 2>>"$dir/start.err"; then
        for _ in $(seq 50); do
          if ! port_is_free "$port"; then
            echo "${target/:$db_port\//:$port/}" > "$state/database_url"
            echo "$port"
            exit 0
          fi
          sleep 0.1
        done
      fi
    done
    cat "$dir/start.err" "$dir/pgbouncer.log" >&2 2>/dev/null || true
    die "pgbouncer did not start"
    ;;
  stop)
    if [ -f "$state/pgbouncer_dir" ]; then
      dir=$(cat "$state/pgbouncer_dir")
      if [ -f "$dir/pgbouncer.pid" ]; then
        pid=$(cat "$dir/pgbouncer.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
      rm -rf "$dir"
      rm -f "$state/pgbouncer_dir" "$state/database_url"
    fi
    ;;
  *) echo "usage: $0 start STATE_DIR DB_URL|URL_FILE [POOL_SIZE] | stop STATE_DIR" >&2; exit 2 ;;
esac
