# Kubestats developer tasks. `make help` lists them.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     ?= bin/kubestats
# Run settings for `make run`: a local database and a first admin (change the password).
KUBESTATS_DB ?= ./kubestats.db
KUBESTATS_ADMIN_EMAIL ?= admin@example.org
KUBESTATS_ADMIN_PASSWORD ?= change-me-now
export KUBESTATS_DB KUBESTATS_ADMIN_EMAIL KUBESTATS_ADMIN_PASSWORD

.PHONY: help run build generate test lint bench memory load-db load vendor-assets check-generated

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

run: build ## build and serve on :8080 with a local database and first admin
	$(BIN) serve

build: ## build the static binary (CGO_ENABLED=0) into bin/
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

generate: ## regenerate *_templ.go from the .templ sources
	go tool templ generate
	go tool templ fmt views

test: ## the whole suite: real SQLite, real HTTP, Chromium browser test, race detector
	go test -race -count=1 ./...
	@# Tests at production scale (5,000 repositories) skip themselves under -race, which
	@# slows SQLite ~50x; they run here without it.
	go test -count=1 -run 'At5000' ./jobs/

check-generated: ## fail when generated or formatted code drifts from its sources
	go tool templ generate -check
	go tool templ fmt -fail views
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

lint: check-generated ## vet, gofmt, templ drift and staticcheck
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench: ## benchmarks, without the race detector
	go test -run '^$$' -bench . -benchmem ./...

# GC settings `make memory` compares: the binary as shipped, and its defaults before issue 12.
MEMORY_SETTINGS ?= default;GOGC=400,GOMEMLIMIT=1GiB

memory: ## peak RSS of the real binary: 100 concurrent logins, a 200 MB repository synced by serve and the CLI (~8 min)
	KUBESTATS_MEMORY=1 KUBESTATS_MEMORY_SETTINGS='$(MEMORY_SETTINGS)' go test -count=1 -run '^TestMemory$$' -v -timeout 60m .

# The load test's database: 5,000 repositories, ~500,000 resources, a year of history (~1 GB, ~17 min).
LOAD_DB ?= /tmp/kubestats-load.db

load-db: ## generate the load-test database into $(LOAD_DB) through the real store (store/storegen)
	rm -f $(LOAD_DB) $(LOAD_DB)-wal $(LOAD_DB)-shm
	KUBESTATS_LOAD_GENERATE=$(LOAD_DB) go test -count=1 -run '^TestGenerateLoadDB$$' -v -timeout 60m ./handlers/

load: ## 32 connections on every page and API list of $(LOAD_DB) while a sync runs: p50/p99 per URL (wrk if installed)
	@test -f $(LOAD_DB) || { echo "no $(LOAD_DB): run make load-db first"; exit 1; }
	# GOGC and GOMEMLIMIT as the kubestats binary sets them by default (see main.go).
	GOGC=400 GOMEMLIMIT=112MiB KUBESTATS_LOAD_DB=$(LOAD_DB) go test -count=1 -run '^(TestLoad|TestAPILoad)$$' -v -timeout 30m ./handlers/

vendor-assets: ## re-download pinned, integrity-checked front-end assets into static/vendor
	static/vendor.sh
