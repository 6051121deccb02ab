#!/usr/bin/env bash
# make bench: the tracking service under load on this machine, isolated from your dev data.
#
# It runs a private nats-server (JetStream in a temp dir, port 14222), the tracking service on
# 127.0.0.1:18081 with its own PostgreSQL schema and Redis key prefix, then the load generator:
# runs at fixed rates and one as fast as the service accepts (RUNS="rate:batch ..."). The raw
# JetStream publish rate is measured in the same run. Everything it created is removed at the end.
# Loopback only; every run is bounded in time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin="$root/.bin"
RUNS=${RUNS:-5000:100 10000:500 0:500} # events/s:events per request; rate 0 = as fast as accepted
DURATION=${DURATION:-30s}
run_id="bench_$(date +%s)"
tmp=$(mktemp -d)
nats_port=14222
http_port=18081
pids=()

say() { printf '[bench] %s\n' "$*" >&2; }
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -d scoda -qc "DROP SCHEMA IF EXISTS $run_id CASCADE" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "$run_id:*" 2>/dev/null | xargs -r -n 500 redis-cli unlink >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

scripts/stack.sh up
mkdir -p "$bin"
[ -x "$bin/nats-server" ] || (cd pkg && go build -o "$bin/nats-server" github.com/nats-io/nats-server/v2)
go build -o "$bin/tracking" ./services/tracking/cmd/tracking
go build -o "$bin/loadgen" ./scripts/cmd/loadgen

"$bin/nats-server" -a 127.0.0.1 -p "$nats_port" -js -sd "$tmp/nats" >"$tmp/nats.log" 2>&1 &
pids+=($!)
SCODA_ENV=test HTTP_ADDR="127.0.0.1:$http_port" DB_SCHEMA="$run_id" REDIS_KEY_PREFIX="$run_id:" \
  NATS_URL="nats://127.0.0.1:$nats_port" LOG_LEVEL=warn "$bin/tracking" >"$tmp/tracking.log" 2>&1 &
tracking_pid=$!
pids+=("$tracking_pid")
for ((i = 0; i < 300; i++)); do
  if { exec 3<>"/dev/tcp/127.0.0.1/$http_port"; } 2>/dev/null; then exec 3>&-; break; fi
  sleep 0.1
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$tracking_pid/stat"; }
rss_mb() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$tracking_pid/status"; }
hz=$(getconf CLK_TCK)

say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
for run in $RUNS; do
  rate=${run%%:*} batch=${run##*:}
  mode="rate-$rate-batch-$batch"
  [ "$rate" = 0 ] && mode="max-batch-$batch"
  t0=$(cpu_ticks); s0=$(date +%s.%N)
  "$bin/loadgen" -url "http://127.0.0.1:$http_port" -nats "nats://127.0.0.1:$nats_port" -rate "$rate" \
    -duration "$DURATION" -label "$mode" -concurrency 8 -batch "$batch"
  t1=$(cpu_ticks); s1=$(date +%s.%N)
  awk -v t="$((t1 - t0))" -v hz="$hz" -v s0="$s0" -v s1="$s1" -v rss="$(rss_mb)" \
    'BEGIN {printf "  tracking process: %.2f cores busy on average, peak RSS %s MiB\n", t / hz / (s1 - s0), rss}'
done
