#!/usr/bin/env bash
# make run: the stores, the three services as three processes with prefixed logs, and a
# summary of where everything is. Ctrl-C stops the services (they drain) and the stores this
# run started.
#
# Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, the services export there (as you said). Without
# it, they export over OTLP/HTTP to 127.0.0.1:$TRACES_OTLP_HTTP_PORT (4318): to whatever already
# listens there (`make traces`' Jaeger, say), or else to the trace recorder scripts/cmd/tracesink,
# started here (recent spans in memory with a curl API, every span in .data/traces.jsonl) and
# stopped after the services have flushed. TRACES=off exports nothing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin="$root/.bin"
services=(tracking scheduling notification)
declare -A port=([tracking]=${TRACKING_PORT:-8081} [scheduling]=${SCHEDULING_PORT:-8082} [notification]=${NOTIFICATION_PORT:-8083})

say() { printf '[run] %s\n' "$*" >&2; }

# answers PORT PATH: GET PATH on 127.0.0.1:PORT answers 200 (plain bash, so a machine without
# curl can run this).
answers() {
  local status
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1 # braces: keep stderr for the rest
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  read -r -t 2 _ status _ <&3 || status=
  exec 3>&- 3<&-
  [ "$status" = 200 ]
}
ready() { answers "$1" /readyz; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

scripts/stack.sh up

say "building services"
mkdir -p "$bin"
for s in "${services[@]}"; do
  go build -o "$bin/$s" "./services/$s/cmd/$s"
done
go build -o "$bin/token" ./scripts/cmd/token
simulator=${SIMULATOR:-on}
[ "$simulator" = off ] || go build -o "$bin/simulator" ./scripts/cmd/simulator

# Where traces go (see the top). sink=on: this run starts tracesink.
traces_port=${TRACES_OTLP_HTTP_PORT:-4318}
traces_api=http://127.0.0.1:$traces_port
traces_file="$root/.data/traces.jsonl"
traces_max=${TRACES_MAX_SPANS:-20000}
sink=off
if [ -n "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ]; then
  traces_to=endpoint
elif [ "${TRACES:-on}" = off ]; then
  traces_to=off
elif listening "$traces_port"; then
  if answers "$traces_port" '/api/traces?limit=1'; then traces_to=running-sink; else traces_to=listener; fi
else
  traces_to=sink sink=on
  go build -o "$bin/tracesink" ./scripts/cmd/tracesink
fi

pids=()
sink_pid=
stopping=0
stop() {
  [ "$stopping" -eq 1 ] && return
  stopping=1
  say "stopping services (they drain consumers and in-flight requests)"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$sink_pid" ]; then # after the services: they flush their last spans to it
    kill -TERM "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
  fi
  scripts/stack.sh down
  say "stopped"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

export SCODA_ENV=${SCODA_ENV:-local}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:${PG_PORT:-5432}/scoda?sslmode=disable}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-6379}/0}
export NATS_URL=${NATS_URL:-nats://127.0.0.1:${NATS_PORT:-4222}}
# The simulator's webhook receiver listens on 127.0.0.1: let notification deliver there (local only).
export NOTIFICATION_ALLOWED_NETS=${NOTIFICATION_ALLOWED_NETS:-127.0.0.1/32}
if [ "$sink" = on ]; then
  # Its own session, so Ctrl-C (sent to the terminal's process group) does not stop it before
  # the services have flushed to it; stop() ends it.
  setsid=$(command -v setsid || true)
  label=$(printf '%-12s' traces)
  $setsid "$bin/tracesink" -addr "127.0.0.1:$traces_port" -file "$traces_file" -max-spans "$traces_max" \
    > >(trap '' INT TERM; exec sed -u "s/^/$label| /") 2>&1 &
  sink_pid=$!
  for ((i = 0; i < 50; i++)); do
    listening "$traces_port" && break
    kill -0 "$sink_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! listening "$traces_port"; then
    say "tracesink did not start on 127.0.0.1:$traces_port (see its log above); traces are not exported"
    kill -TERM "$sink_pid" 2>/dev/null || true
    traces_to=off sink_pid=
  fi
fi
if [ "$traces_to" != endpoint ] && [ "$traces_to" != off ]; then
  export OTEL_EXPORTER_OTLP_ENDPOINT=$traces_api OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
  export OTEL_TRACES_SAMPLER=${OTEL_TRACES_SAMPLER:-parentbased_always_on}
fi
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

booked_file="$root/.data/simulator.booked"
container=CSQU3054383 departure='<departure id>'
if [ "$simulator" != off ]; then
  mkdir -p "$root/.data"
  rm -f "$booked_file"
  label=$(printf '%-12s' simulator)
  "$bin/simulator" -tracking "http://127.0.0.1:${port[tracking]}" -scheduling "http://127.0.0.1:${port[scheduling]}" \
    -notification "http://127.0.0.1:${port[notification]}" -booked-file "$booked_file" ${SIMULATOR_FLAGS:-} \
    > >(trap '' INT TERM; exec sed -u "s/^/$label| /") 2>&1 &
  pids+=($!)
  for ((i = 0; i < 150; i++)); do [ -s "$booked_file" ] && break; sleep 0.2; done
  [ -s "$booked_file" ] && read -r container departure < "$booked_file"
fi

shipper=$("$bin/token" -role shipper -tenant acme)
dispatcher=$("$bin/token" -role dispatcher)
admin=$("$bin/token" -role admin)
query="
    # recent traces, newest first (also service=, name=, min_duration=250ms, limit=; JSON without format=text)
    curl -s '$traces_api/api/traces?format=text&limit=10'
    # the latest trace with a webhook call, as a tree (any trace id works: the list, or trace_id in a log line)
    id=\$(curl -s '$traces_api/api/traces?name=webhook&limit=1&format=text' | cut -d' ' -f1)
    curl -s \"$traces_api/api/traces/\$id?format=text\""
case $traces_to in
endpoint) traces="exported to $OTEL_EXPORTER_OTLP_ENDPOINT (OTLP ${OTEL_EXPORTER_OTLP_PROTOCOL:-http/protobuf})." ;;
off) traces="not exported (TRACES=off, or no recorder); trace ids in the logs." ;;
sink) traces="recorded by tracesink on 127.0.0.1:$traces_port: the last $traces_max spans in memory, every
  span in ${traces_file#"$root"/} (TRACES=off: none; \`make traces\` first: Jaeger instead).$query" ;;
running-sink) traces="exported to the tracesink already listening on 127.0.0.1:$traces_port (not started by this run).$query" ;;
listener) traces="exported to $traces_api/v1/traces (OTLP http/protobuf), where something already listens:
  \`make traces\`' Jaeger? Its UI: http://127.0.0.1:${TRACES_UI_PORT:-16686}." ;;
esac
if [ "$simulator" != off ]; then
  sim_line="The simulator runs trains on the corridor (a simulated day per real minute); its webhook
  receiver on 127.0.0.1:8090 logs acme's verified deliveries. SIMULATOR=off runs without it."
else
  sim_line="The simulator is off (SIMULATOR=off)."
fi
t=http://127.0.0.1:${port[tracking]} s=http://127.0.0.1:${port[scheduling]} n=http://127.0.0.1:${port[notification]}
cat >&2 <<INFO

  SCODA Track is running.

  tracking      $t      docs: $t/docs
  scheduling    $s      docs: $s/docs
  notification  $n      docs: $n/docs

  Tokens (12 h, development key):
    shipper (acme)  $shipper
    dispatcher      $dispatcher
    admin / SRE     $admin

  $sim_line

  Try (acme's container $container on departure $departure):
    # where is it now
    curl -s -H "Authorization: Bearer $shipper" $t/v1/containers/$container
    # its history, newest first
    curl -s -H "Authorization: Bearer $shipper" $t/v1/containers/$container/events
    # acme's live stream (Server-Sent Events)
    curl -N -H 'Accept: text/event-stream' -H "Authorization: Bearer $shipper" $n/v1/stream
    # delay the departure by 2 h: read its ETag, then If-Match
    etag=\$(curl -s -D - -o /dev/null -H "Authorization: Bearer $dispatcher" $s/v1/departures/$departure | tr -d '\r' | awk 'tolower(\$1)=="etag:" {print \$2}')
    curl -s -X POST -H "Authorization: Bearer $dispatcher" -H "If-Match: \$etag" -H 'Content-Type: application/json' -d '{"by":"2h","reason":"demo"}' $s/v1/departures/$departure/delay
    curl -s -H "Authorization: Bearer $admin" $n/v1/admin/consumers

  Traces: $traces

  Ctrl-C stops everything.

INFO
# The services and the simulator (not tracesink: it outlives them until stop()).
wait "${pids[@]}" || true
