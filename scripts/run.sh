#!/usr/bin/env bash
# make run: the stores, the three services as three processes with prefixed logs, and a
# summary of where everything is. Ctrl-C stops the services (they drain) and the stores this
# run started.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin="$root/.bin"
services=(tracking scheduling notification)
declare -A port=([tracking]=${TRACKING_PORT:-8081} [scheduling]=${SCHEDULING_PORT:-8082} [notification]=${NOTIFICATION_PORT:-8083})

say() { printf '[run] %s\n' "$*" >&2; }

# ready PORT: /readyz answers 200 (plain bash, so a machine without curl can run this).
ready() {
  local status
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1 # braces: keep stderr for the rest
  printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  read -r -t 2 _ status _ <&3 || status=
  exec 3>&- 3<&-
  [ "$status" = 200 ]
}

scripts/stack.sh up

say "building services"
mkdir -p "$bin"
for s in "${services[@]}"; do
  go build -o "$bin/$s" "./services/$s/cmd/$s"
done
go build -o "$bin/token" ./scripts/cmd/token

pids=()
stopping=0
stop() {
  [ "$stopping" -eq 1 ] && return
  stopping=1
  say "stopping services (they drain consumers and in-flight requests)"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  scripts/stack.sh down
  say "stopped"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

export SCODA_ENV=${SCODA_ENV:-local}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:${PG_PORT:-5432}/scoda?sslmode=disable}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-6379}/0}
export NATS_URL=${NATS_URL:-nats://127.0.0.1:${NATS_PORT:-4222}}
for s in "${services[@]}"; do
  label=$(printf '%-12s' "$s")
  HTTP_ADDR="127.0.0.1:${port[$s]}" "$bin/$s" > >(trap '' INT TERM; exec sed -u "s/^/$label| /") 2>&1 &
  pids+=($!)
done

say "waiting for /readyz on each service"
for s in "${services[@]}"; do
  for ((i = 0; i < 600; i++)); do
    if ready "${port[$s]}"; then break; fi
    if ! kill -0 "${pids[0]}" 2>/dev/null && ! kill -0 "${pids[1]}" 2>/dev/null && ! kill -0 "${pids[2]}" 2>/dev/null; then
      say "the services exited; see their logs above"; exit 1
    fi
    sleep 0.2
  done
  ready "${port[$s]}" || { say "$s did not become ready"; exit 1; }
done

shipper=$("$bin/token" -role shipper -tenant acme)
dispatcher=$("$bin/token" -role dispatcher)
admin=$("$bin/token" -role admin)
cat >&2 <<INFO

  SCODA Track is running.

  tracking      http://127.0.0.1:${port[tracking]}      docs: http://127.0.0.1:${port[tracking]}/docs
  scheduling    http://127.0.0.1:${port[scheduling]}      docs: http://127.0.0.1:${port[scheduling]}/docs
  notification  http://127.0.0.1:${port[notification]}      docs: http://127.0.0.1:${port[notification]}/docs

  Tokens (12 h, development key):
    shipper (acme)  $shipper
    dispatcher      $dispatcher
    admin / SRE     $admin

  Try:
    curl -s http://127.0.0.1:${port[tracking]}/readyz
    curl -s -H "Authorization: Bearer $shipper" http://127.0.0.1:${port[tracking]}/v1/me
    curl -s -H "Authorization: Bearer $admin" http://127.0.0.1:${port[notification]}/v1/admin/consumers
    curl -s http://127.0.0.1:${port[scheduling]}/metrics | head

  Traces: set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://127.0.0.1:4318) before make run to
  export them; every log line carries trace_id either way.

  Ctrl-C stops everything.

INFO
wait
