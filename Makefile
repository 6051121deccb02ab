# SCODA Track. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Every module of the workspace, as "<module path>/..." patterns, derived from go.work.
MODULE_PATTERNS = $(shell go list -m -f '{{.Path}}/...')
MODULE_DIRS = $(shell go list -m -f '{{.Dir}}')
BIN := $(CURDIR)/.bin
TOOLS := $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/staticcheck
export PATH := $(BIN):$(PATH)

ROLE ?= shipper
TENANT ?=

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_\/-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## run the stores and the three services with prefixed logs (Ctrl-C stops all)
	@scripts/run.sh

.PHONY: traces
traces: ## run Jaeger v2 (UI :16686, OTLP :4318) which `make run` then exports to (instead of its own trace recorder); for people, not CI
	@scripts/traces.sh

.PHONY: stores
stores: ## start PostgreSQL, Redis and NATS JetStream where they are not running
	@scripts/stack.sh up

.PHONY: stores-down
stores-down: ## stop the project-local stores started by `make stores`
	@scripts/stack.sh down

.PHONY: build
build: ## build the service binaries into .bin/
	@mkdir -p $(BIN)
	go build -o $(BIN)/ ./services/tracking/cmd/tracking ./services/scheduling/cmd/scheduling ./services/notification/cmd/notification

.PHONY: test
test: stores ## run every module's unit and integration tests with -race against the real stores
	go test -race -count=1 -timeout 15m $(MODULE_PATTERNS)

.PHONY: test-short
test-short: ## run the tests without the race detector (faster feedback)
	go test -count=1 $(MODULE_PATTERNS)

.PHONY: vet
vet: ## go vet every module
	go vet $(MODULE_PATTERNS)

.PHONY: lint
lint: vet $(TOOLS) ## go vet, staticcheck, gofmt, buf lint and buf breaking (against HEAD)
	staticcheck $(MODULE_PATTERNS)
	@out=$$(gofmt -l $(MODULE_DIRS)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	buf lint proto
	scripts/buf-breaking.sh

.PHONY: proto
proto: $(TOOLS) ## regenerate pkg/gen from proto/ (offline, pinned buf and protoc-gen-go)
	buf generate --template proto/buf.gen.yaml

.PHONY: verify
verify: proto ## fail when generated code or go.mod files are stale
	@git diff --exit-code -- pkg/gen || { echo "pkg/gen is stale: run make proto and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- pkg/gen); \
	  if [ -n "$$untracked" ]; then echo "untracked generated files:"; echo "$$untracked"; exit 1; fi
	@for d in $(MODULE_DIRS); do (cd $$d && go mod tidy -diff) || { echo "go.mod/go.sum of $$d are not tidy"; exit 1; }; done

.PHONY: tools
tools: $(TOOLS) ## build the pinned tools (buf, protoc-gen-go, staticcheck) into .bin/

$(TOOLS) &: scripts/tools/go.mod scripts/tools/go.sum
	@mkdir -p $(BIN)
	cd scripts/tools && GOWORK=off go build -o $(BIN)/ github.com/bufbuild/buf/cmd/buf google.golang.org/protobuf/cmd/protoc-gen-go honnef.co/go/tools/cmd/staticcheck

.PHONY: migrate
migrate: stores ## apply every service's migrations to DATABASE_URL (default: local scoda database)
	go run ./scripts/cmd/migrate

.PHONY: token
token: ## print a development token: make token ROLE=shipper TENANT=acme
	@go run ./scripts/cmd/token -role '$(ROLE)' -tenant '$(TENANT)'

.PHONY: fmt
fmt: ## gofmt every module
	gofmt -w $(MODULE_DIRS)

.PHONY: clean
clean: ## remove build output (.bin); local store data in .data is kept
	rm -rf $(BIN)

.PHONY: bench
bench: ## whole-system load benchmark (isolated NATS, schemas, keys; ~10 min); quick: RUNS=5000:100 DURATION=10s LIVE=100000 make bench
	@scripts/bench.sh

.PHONY: bench-go
bench-go: ## run the Go benchmarks of every module
	go test -run '^$$' -bench . -benchmem $(MODULE_PATTERNS)
