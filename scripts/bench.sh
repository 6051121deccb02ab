#!/usr/bin/env bash
# make bench: the whole system under load on this machine, isolated from your dev data.
#
# It runs a private nats-server (JetStream in a temp dir, port 14222) and the three services
# (tracking 18081, scheduling 18082, notification 18083), each with its own fresh PostgreSQL
# schema (<run id>_<service>) and Redis key prefix (<run id>:<service>:), then the load generator
# (scripts/cmd/loadgen), which in one process and one report:
#   - measures the raw JetStream publish, Redis write and PostgreSQL COPY rates of this machine;
#   - books SUBSCRIBED containers for a shipper and subscribes them to a webhook receiver;
#   - runs RUNS ("rate:batch", "nats:rate:batch"; rate 0 = as fast as accepted) for DURATION each,
#     reporting accept latency, events/s end to end (history, live state, webhooks delivered)
#     and ingest-to-webhook latency;
#   - fills the live state to LIVE containers and measures GET /v1/containers/{no} and the geo
#     search, and the same reads straight from Redis;
#   - prints each figure against its floor and as a ratio to its raw limit, with the CPU and
#     memory of each process per phase (JSON=1: as JSON on stdout).
# Everything it created is removed at the end. Loopback only; every phase is bounded in time.
#
#   make bench                                            # the full run, about 10 minutes
#   RUNS=5000:100 DURATION=10s LIVE=100000 make bench     # a quick try
#   PPROF=1 make bench     # Go profiler of tracking, scheduling, notification on 127.0.0.1:16081-16083,
#                          # and nats-server's on 127.0.0.1:16084
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin="$root/.bin"
RUNS=${RUNS:-5000:100 10000:500 0:500 nats:5000:100}
DURATION=${DURATION:-30s}
LIVE=${LIVE:-1000000}
SUBSCRIBED=${SUBSCRIBED:-1000}
CONTAINERS=${CONTAINERS:-20000}
QUERIES=${QUERIES:-20000}
TIMEOUT=${TIMEOUT:-20m}
# The services run with GOGC=400 unless GOGC is set, as deploy/k8s runs them.
# Traces at high rates: one request in a hundred starts a sampled trace (the rest cost only
# non-recording spans); export them with OTEL_EXPORTER_OTLP_ENDPOINT as usual.
TRACE_SAMPLER=${OTEL_TRACES_SAMPLER:-parentbased_traceidratio}
TRACE_RATIO=${OTEL_TRACES_SAMPLER_ARG:-0.01}
DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:${PG_PORT:-5432}/scoda?sslmode=disable}
REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-6379}/0}
run_id="bench_$(date +%s)"
tmp=$(mktemp -d)
nats_port=14222
services=(tracking scheduling notification)
declare -A port=([tracking]=18081 [scheduling]=18082 [notification]=18083) pid=()
declare -A pprof_port=([tracking]=16081 [scheduling]=16082 [notification]=16083)
pids=()

say() { printf '[bench] %s\n' "$*" >&2; }
psql_() { psql "$DATABASE_URL" -qAtX "$@"; }

# ready PORT: /readyz answers 200.
ready() {
  local status
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  read -r -t 2 _ status _ <&3 || status=
  exec 3>&- 3<&-
  [ "$status" = 200 ]
}

cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    for s in nats "${services[@]}"; do
      [ -s "$tmp/$s.log" ] && { say "last lines of $s's log:"; tail -n 15 "$tmp/$s.log" >&2; }
    done
  fi
  for s in "${services[@]}" raw; do psql_ -c "DROP SCHEMA IF EXISTS ${run_id}_$s CASCADE" >/dev/null 2>&1 || true; done
  redis-cli -u "$REDIS_URL" --scan --pattern "$run_id:*" 2>/dev/null | xargs -r -n 5000 redis-cli -u "$REDIS_URL" unlink >/dev/null 2>&1 || true
  rm -rf "$tmp"
  say "cleaned up (processes, schemas ${run_id}_*, keys $run_id:*, $tmp)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for s in "${services[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/${port[$s]}") 2>/dev/null; then
    say "port ${port[$s]} is in use (another make bench?)"; exit 1
  fi
done
scripts/stack.sh up
say "building nats-server, the services and loadgen"
mkdir -p "$bin"
[ -x "$bin/nats-server" ] || (cd pkg && go build -o "$bin/nats-server" github.com/nats-io/nats-server/v2)
for s in "${services[@]}"; do go build -o "$bin/$s" "./services/$s/cmd/$s"; done
go build -o "$bin/loadgen" ./scripts/cmd/loadgen

nats_flags=()
[ -n "${PPROF:-}" ] && nats_flags=(--profile 16084)
"$bin/nats-server" -a 127.0.0.1 -p "$nats_port" -js -sd "$tmp/nats" "${nats_flags[@]}" >"$tmp/nats.log" 2>&1 &
pid[nats]=$!
pids+=("${pid[nats]}")
for s in "${services[@]}"; do
  pprof_addr=
  [ -n "${PPROF:-}" ] && pprof_addr="127.0.0.1:${pprof_port[$s]}"
  GOGC=${GOGC:-400} PPROF_ADDR="$pprof_addr" SCODA_ENV=test HTTP_ADDR="127.0.0.1:${port[$s]}" DATABASE_URL="$DATABASE_URL" DB_SCHEMA="${run_id}_$s" \
    REDIS_URL="$REDIS_URL" REDIS_KEY_PREFIX="$run_id:$s:" NATS_URL="nats://127.0.0.1:$nats_port" LOG_LEVEL=warn \
    NOTIFICATION_ALLOW_HTTP=true NOTIFICATION_ALLOWED_NETS=127.0.0.1/32 \
    OTEL_TRACES_SAMPLER="$TRACE_SAMPLER" OTEL_TRACES_SAMPLER_ARG="$TRACE_RATIO" \
    "$bin/$s" >"$tmp/$s.log" 2>&1 &
  pid[$s]=$!
  pids+=("${pid[$s]}")
done
for s in "${services[@]}"; do
  for ((i = 0; i < 600; i++)); do
    ready "${port[$s]}" && break
    kill -0 "${pid[$s]}" 2>/dev/null || { say "$s exited"; exit 1; }
    sleep 0.1
  done
  ready "${port[$s]}" || { say "$s did not become ready in 60 s"; exit 1; }
done

say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); run $run_id"
json=()
[ -n "${JSON:-}" ] && json=(-json)
# shellcheck disable=SC2086 # LOADGEN_FLAGS is a list of flags
"$bin/loadgen" -tracking "http://127.0.0.1:${port[tracking]}" -scheduling "http://127.0.0.1:${port[scheduling]}" \
  -notification "http://127.0.0.1:${port[notification]}" -nats "nats://127.0.0.1:$nats_port" \
  -database "$DATABASE_URL" -redis "$REDIS_URL" -tracking-prefix "$run_id:tracking:" -run-id "$run_id" \
  -pids "tracking=${pid[tracking]},scheduling=${pid[scheduling]},notification=${pid[notification]},nats-server=${pid[nats]}" \
  -runs "$RUNS" -duration "$DURATION" -live "$LIVE" -subscribed "$SUBSCRIBED" -containers "$CONTAINERS" \
  -queries "$QUERIES" -timeout "$TIMEOUT" "${json[@]}" ${LOADGEN_FLAGS:-}
