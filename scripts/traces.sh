#!/usr/bin/env bash
# make traces: Jaeger v2 on this machine, for people looking at traces of `make run` (never
# used by tests or CI: building Jaeger takes minutes). It runs in the foreground with its own
# configuration (scripts/traces.yaml: OTLP in, UI out, memory storage, 127.0.0.1 only) until
# Ctrl-C. The binary is built once with the Go toolchain into .bin/ and reused.
#
#   TRACES_OTLP_HTTP_PORT   OTLP/HTTP receiver, what the services export to (4318)
#   TRACES_OTLP_GRPC_PORT   OTLP/gRPC receiver (4317)
#   TRACES_UI_PORT          the Jaeger UI (16686)
#   TRACES_QUERY_GRPC_PORT  Jaeger's query API over gRPC (16685)
#   TRACES_MAX              traces kept in memory (50000)
#   JAEGER_VERSION          the Go module version of github.com/jaegertracing/jaeger (v1.76.0, Jaeger 2.x)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

export TRACES_OTLP_HTTP_PORT=${TRACES_OTLP_HTTP_PORT:-4318}
export TRACES_OTLP_GRPC_PORT=${TRACES_OTLP_GRPC_PORT:-4317}
export TRACES_UI_PORT=${TRACES_UI_PORT:-16686}
export TRACES_QUERY_GRPC_PORT=${TRACES_QUERY_GRPC_PORT:-16685}
export TRACES_MAX=${TRACES_MAX:-50000}
version=${JAEGER_VERSION:-v1.76.0}
bin="$root/.bin/jaeger-$version"

say() { printf '[traces] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for pair in "TRACES_OTLP_HTTP_PORT:$TRACES_OTLP_HTTP_PORT" "TRACES_OTLP_GRPC_PORT:$TRACES_OTLP_GRPC_PORT" \
  "TRACES_UI_PORT:$TRACES_UI_PORT" "TRACES_QUERY_GRPC_PORT:$TRACES_QUERY_GRPC_PORT"; do
  name=${pair%%:*} port=${pair##*:}
  if listening "$port"; then
    die "port $port is taken (the compose stack's collector or Jaeger?); stop it or set $name to a free port"
  fi
done

if [ ! -x "$bin/jaeger" ]; then
  say "building Jaeger $version into $bin (once; this takes a few minutes)"
  mkdir -p "$bin"
  # Outside the workspace: Jaeger's module resolves its own dependencies.
  (cd "$bin" && GOWORK=off GOBIN="$bin" go install "github.com/jaegertracing/jaeger/cmd/jaeger@$version")
fi

cat >&2 <<INFO
[traces] Jaeger UI:  http://127.0.0.1:$TRACES_UI_PORT
[traces] In another shell, run the services: make run finds Jaeger on :$TRACES_OTLP_HTTP_PORT and exports to it
[traces] (instead of starting its own trace recorder there):

  make run            # or, on another port: OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$TRACES_OTLP_HTTP_PORT make run

[traces] Then post an event to tracking and find its trace (service tracking, operation
[traces] "POST /v1/events"): publish, the consumers of tracking, scheduling and notification,
[traces] and the webhook call ("webhook POST") of each matching subscription. Ctrl-C stops Jaeger.

INFO
exec "$bin/jaeger" --config "$root/scripts/traces.yaml"
