# Shared by scripts/run, scripts/test and bench/run. Source it; do not run it.
# Installs what is missing, builds, and manages embedded PostgreSQL clusters.

HOOKSTREAM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the build, the tests and the embedded database need
# (pgbouncer: the tests run hookstream behind it; no service of it is used).
HOOKSTREAM_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev
  libpq-dev libssl-dev zlib1g-dev libmimalloc-dev
  postgresql-15 postgresql-client-15
  openssl
  pgbouncer
)

ensure_packages() {
  local missing=() p
  for p in "${HOOKSTREAM_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing missing packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # The postgresql-15 package would start a system cluster; we never use it.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The better-auth interop test and the OpenAPI contract test run on Node.js 20+
# (versions pinned by tests/better_auth/ and tests/openapi/package-lock.json).
ensure_node_deps() {
  local dir=$1
  if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    log "installing Node.js (the better-auth and OpenAPI tests need Node.js 20 or newer)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
  fi
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    log "installing the pinned Node.js test dependencies of ${dir#$HOOKSTREAM_ROOT/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) && touch "$dir/node_modules"
  fi
}

# build_project DIR BUILD_TYPE [extra cmake args...]
build_project() {
  local dir=$1 type=$2
  shift 2
  export CCACHE_DIR=${CCACHE_DIR:-$HOOKSTREAM_ROOT/var/ccache}
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$HOOKSTREAM_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  fi
  log "building ($type) in ${dir#$HOOKSTREAM_ROOT/}"
  cmake --build "$dir" -j "$(nproc)"
}

# PostgreSQL refuses to run as root: as root, clusters run as the 'postgres' user.
as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pg_start_on_free_port DATA_DIR ERR_FILE: pg_start on a random port below the
# kernel's ephemeral range (32768+), where no outgoing connection can hold it;
# retried on another port when the bind still fails (a race with another test).
# Prints the port. Settings come from the PG_* variables, as for pg_start.
pg_start_on_free_port() {
  local data=$1 err=$2 port attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
    port_is_free "$port" || continue
    # A subshell: pg_start dies on failure, and this loop must go on.
    if (pg_start "$data" "$port") 2>"$err"; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# pg_start DATA_DIR PORT: initdb on first use, then start on 127.0.0.1:PORT with
# its Unix socket inside DATA_DIR. Trust authentication, loopback only.
pg_start() {
  local data port=$2
  data=$(realpath -m "$1")
  mkdir -p "$data"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
  chmod 700 "$data"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg_user "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null \
      || die "initdb failed in $data"
  fi
  as_pg_user "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $data -c fsync=${PG_FSYNC:-on} -c max_connections=${PG_MAX_CONNECTIONS:-200} ${PG_EXTRA_OPTS:-}" \
    start >/dev/null || { tail -n 20 "$data/server.log" >&2; die "PostgreSQL did not start (see $data/server.log)"; }
}

# make_self_signed_cert DIR CN: server.crt and server.key for a TLS test cluster,
# owned by the user the cluster runs as (PostgreSQL refuses a key others can read).
make_self_signed_cert() {
  local dir=$1 cn=$2
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$cn" \
    -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null || die "openssl could not make a certificate"
  chmod 600 "$dir/server.key"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$dir"; fi
}

pg_stop() {
  local data=$1
  [ -f "$data/postmaster.pid" ] || return 0
  as_pg_user "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || true
}

# A folder the 'postgres' user can reach: the checkout may sit below a directory
# only root can enter, in which case clusters live under /var/tmp instead.
pg_data_root() {
  local wanted=$1
  mkdir -p "$wanted"
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$wanted"; then
    wanted=/var/tmp/hookstream-$(printf '%s' "$HOOKSTREAM_ROOT" | md5sum | cut -c1-12)
    mkdir -p "$wanted"
  fi
  printf '%s\n' "$wanted"
}
