#!/usr/bin/env bash
# ctest fixture: a throwaway PostgreSQL for the integration tests.
#   pg_fixture.sh start STATE_DIR [--tls]
#                                   initdb into a temp folder, start on a free
#                                   127.0.0.1 port, create database "hookstream_test",
#                                   write its URL to STATE_DIR/database_url.
#                                   With --tls: ssl=on with a self-signed certificate
#                                   made here, and a URL that names the host
#                                   "localhost" and says sslmode=require.
#   pg_fixture.sh stop STATE_DIR    stop it and delete the folder
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

action=$1 state=$2 tls=${3:-}
mkdir -p "$state"
case "$action" in
  start)
    [ -f "$state/data_dir" ] && "$0" stop "$state"
    data=$(mktemp -d "$(pg_data_root /tmp)/hookstream-test-pg.XXXXXX")
    echo "$data" > "$state/data_dir"
    extra=""
    host=127.0.0.1 params=""
    if [ "$tls" = "--tls" ]; then
      # Outside the data folder (initdb wants it empty), readable by the server only.
      certs=$(mktemp -d "$(pg_data_root /tmp)/hookstream-test-tls.XXXXXX")
      echo "$certs" > "$state/certs_dir"
      make_self_signed_cert "$certs" localhost
      extra="-c ssl=on -c ssl_cert_file=$certs/server.crt -c ssl_key_file=$certs/server.key"
      host=localhost params="?sslmode=require"
    fi
    # fsync off: a test cluster lives for minutes and never needs crash safety.
    if port=$(PG_FSYNC=off PG_EXTRA_OPTS="$extra" pg_start_on_free_port "$data" "$state/start.err"); then
      url="postgresql://postgres@$host:$port/hookstream_test$params"
      "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres hookstream_test
      echo "$url" > "$state/database_url"
      echo "test PostgreSQL at $url (data in $data)"
      exit 0
    fi
    cat "$state/start.err" >&2
    exit 1
    ;;
  stop)
    if [ -f "$state/data_dir" ]; then
      data=$(cat "$state/data_dir")
      pg_stop "$data"
      rm -rf "$data"
      rm -f "$state/data_dir" "$state/database_url"
    fi
    if [ -f "$state/certs_dir" ]; then
      rm -rf "$(cat "$state/certs_dir")"
      rm -f "$state/certs_dir"
    fi
    ;;
  *) echo "usage: $0 start|stop STATE_DIR [--tls]" >&2; exit 2 ;;
esac
