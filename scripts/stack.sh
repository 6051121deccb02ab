#!/usr/bin/env bash
# The local stores: PostgreSQL, Redis and NATS JetStream on their standard ports.
#
#   scripts/stack.sh up      use the servers already listening; start the missing ones
#   scripts/stack.sh down    stop the servers this script started (project-local, under .data/)
#   scripts/stack.sh status  say what listens where
#
# A server already listening on its port is used as it is. A missing one is started
# project-local with its data under .data/ (git-ignored): nats-server built from the Go module
# pinned in pkg/go.mod, redis-server and PostgreSQL from the OS. When the OS package is missing
# and we are root, it is installed with apt-get; otherwise the script names the package.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data="$root/.data"
bin="$root/.bin"
PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
NATS_PORT=${NATS_PORT:-4222}
DEV_DB=${DEV_DB:-scoda}

say() { printf '[stack] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port name seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    listening "$1" && return 0
    sleep 0.1
  done
  die "$2 did not start listening on 127.0.0.1:$1 within $3 s (see .data/$2.log)"
}

apt_install() { # package...
  if [ "$(id -u)" -ne 0 ]; then
    die "missing OS package(s): $*. Install them (sudo apt-get install -y $*) and run again."
  fi
  command -v apt-get >/dev/null || die "missing OS package(s): $* and no apt-get to install them"
  say "installing $* with apt-get"
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -newermt '-1 day' 2>/dev/null | head -1)" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# The Debian cluster ("15/main") configured for port $1, if any.
os_cluster_on_port() {
  command -v pg_lsclusters >/dev/null || return 0
  pg_lsclusters -h 2>/dev/null | awk -v p="$1" '$3 == p {print $1 "/" $2; exit}'
}

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

postgres_up() {
  if listening "$PG_PORT"; then
    say "PostgreSQL: using the server on 127.0.0.1:$PG_PORT"
  elif cluster=$(os_cluster_on_port "$PG_PORT") && [ -n "$cluster" ]; then
    say "PostgreSQL: starting the OS cluster $cluster on port $PG_PORT"
    pg_ctlcluster --skip-systemctl-redirect ${cluster/\// } start
    wait_port "$PG_PORT" postgres 30
  else
    [ -n "$(pg_bindir)" ] || apt_install postgresql
    local pgbin pgdata="$data/postgres"
    pgbin=$(pg_bindir)
    [ -n "$pgbin" ] || die "PostgreSQL binaries not found under /usr/lib/postgresql"
    mkdir -p "$data"
    local as=()
    if [ "$(id -u)" -eq 0 ]; then # initdb and postgres refuse to run as root
      as=(runuser -u postgres --)
      mkdir -p "$pgdata" && chown postgres "$pgdata" && chmod 700 "$pgdata"
      touch "$data/postgres.log" && chown postgres "$data/postgres.log"
    fi
    if [ ! -s "$pgdata/PG_VERSION" ]; then
      say "PostgreSQL: initialising a project-local cluster in .data/postgres"
      "${as[@]}" "$pgbin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 >/dev/null
    fi
    say "PostgreSQL: starting project-local server on 127.0.0.1:$PG_PORT"
    "${as[@]}" "$pgbin/pg_ctl" -D "$pgdata" -l "$data/postgres.log" -w \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k /tmp -c fsync=on" start >/dev/null
    touch "$data/postgres.started"
  fi
  ensure_db test
  ensure_db "$DEV_DB"
}

ensure_db() {
  local db=$1 psql=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qAt)
  command -v psql >/dev/null || psql=("$(pg_bindir)/psql" "${psql[@]:1}")
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    say "PostgreSQL: creating database $db"
    "${psql[@]}" -c "CREATE DATABASE \"$db\""
  fi
}

redis_up() {
  if listening "$REDIS_PORT"; then
    say "Redis: using the server on 127.0.0.1:$REDIS_PORT"
    return
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$data/redis"
  say "Redis: starting project-local server on 127.0.0.1:$REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$data/redis" --logfile "$data/redis.log" --pidfile "$data/redis.pid"
  wait_port "$REDIS_PORT" redis 15
}

nats_up() {
  if listening "$NATS_PORT"; then
    say "NATS: using the server on 127.0.0.1:$NATS_PORT"
    return
  fi
  mkdir -p "$data/nats" "$bin"
  if [ ! -x "$bin/nats-server" ]; then
    say "NATS: building nats-server from the module pinned in pkg/go.mod"
    (cd "$root/pkg" && go build -o "$bin/nats-server" github.com/nats-io/nats-server/v2)
  fi
  say "NATS: starting project-local JetStream server on 127.0.0.1:$NATS_PORT"
  nohup "$bin/nats-server" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$data/nats" \
    -l "$data/nats.log" -P "$data/nats.pid" >/dev/null 2>&1 &
  wait_port "$NATS_PORT" nats 15
}

down() {
  if [ -f "$data/nats.pid" ]; then
    say "NATS: stopping the project-local server"
    kill "$(cat "$data/nats.pid")" 2>/dev/null || true
    rm -f "$data/nats.pid"
  fi
  if [ -f "$data/redis.pid" ]; then
    say "Redis: stopping the project-local server"
    kill "$(cat "$data/redis.pid")" 2>/dev/null || true
    rm -f "$data/redis.pid"
  fi
  if [ -f "$data/postgres.started" ]; then
    say "PostgreSQL: stopping the project-local server"
    local as=()
    [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$(pg_bindir)/pg_ctl" -D "$data/postgres" -m fast stop >/dev/null || true
    rm -f "$data/postgres.started"
  fi
}

status() {
  local name port
  for pair in "postgres:$PG_PORT" "redis:$REDIS_PORT" "nats:$NATS_PORT"; do
    name=${pair%%:*} port=${pair##*:}
    if listening "$port"; then say "$name: listening on 127.0.0.1:$port"; else say "$name: down"; fi
  done
}

case "${1:-up}" in
  up) postgres_up; redis_up; nats_up ;;
  down) down ;;
  status) status ;;
  *) die "usage: $0 up|down|status" ;;
esac
