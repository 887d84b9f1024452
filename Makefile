# The README's commands: `make test` passes the tests; `make run` serves the demo.
GO ?= go
BIN := bin/broker

.PHONY: test lint build run bench bench-faults bench-scale bench-keepalive bench-webhooks pg-ready axe fuzz

# axe-core (npm, pinned) for the page tests' accessibility check, fetched
# once into .cache/ (ignored by git); the tests find it through BROKER_AXE_JS.
AXE_VERSION := 4.14.1
AXE_JS := $(CURDIR)/.cache/axe-core-$(AXE_VERSION)/axe.min.js

test: export BROKER_AXE_JS := $(AXE_JS)
# -timeout: internal/app's browser tests (every page at two widths, the SSO
# round trips) pass 10 minutes on a loaded shared machine.
test: pg-ready axe
	$(GO) test -race -count=1 -timeout 30m ./...
	cd client && $(GO) test -race -count=1 ./...

# pg-ready fails with one clear line when Postgres is down; where Docker is
# available it starts the compose file's Postgres first.
pg-ready:
	@$(GO) build -o bin/pgcheck ./tools/pgcheck
	@bin/pgcheck 2>/dev/null || { \
	  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	    docker compose up -d --wait postgres >/dev/null && bin/pgcheck; \
	  else bin/pgcheck; fi; }

axe: $(AXE_JS)

$(AXE_JS):
	@command -v npm >/dev/null || { echo "axe: npm is needed to fetch axe-core (apt-get install npm)"; exit 1; }
	@mkdir -p $(@D)
	@cd $(@D) && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null \
	  && tar -xzf axe-core-$(AXE_VERSION).tgz --strip-components=1 package/axe.min.js \
	  && rm axe-core-$(AXE_VERSION).tgz && touch axe.min.js

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	cd client && $(GO) vet ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./cmd/broker

run: build
	./$(BIN) demo

# bench: warm token fetches as deployed (the real binary in its own
# process, wrk or a Go load generator in another, beside a bare net/http
# ceiling), then the in-process token benchmark (for profiling: cache
# misses, refresh storms) and the Graph proxy. A few minutes in all.
bench: pg-ready
	$(GO) run ./bench/deployedbench
	$(GO) run ./bench/tokenbench
	$(GO) run ./bench/proxybench

# bench-scale: the database's work at SCALE connections (seeding, the admin
# list, counts and search, change feed, usage flush, start-up, keep-alive;
# docs/benchmarks.md). Makes and drops a database of its own.
SCALE ?= 100000
bench-scale: pg-ready
	$(GO) run ./bench/scalebench -connections $(SCALE)

# bench-keepalive: keep-alive refreshes per second per replica, as
# deployed: `broker simulate-microsoft` (+50 ms per refresh) and each
# replica in its own process, one then two replicas, then a throttled phase
# (docs/benchmarks.md "Keep-alive claims"). CONNECTIONS=1000000 for a million.
bench-keepalive: pg-ready
	$(GO) run ./bench/keepalivebench -connections $(or $(CONNECTIONS),100000)

# bench-webhooks: one replica's webhook deliveries per second and the
# latency from a status change to its receipt (docs/benchmarks.md).
bench-webhooks: pg-ready
	$(GO) run ./bench/webhookbench

# fuzz runs every fuzz target for FUZZTIME each (their seed corpora already
# run in `make test`). A failing input is saved under the package's
# testdata/fuzz/ and then replays in every `go test`.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	internal/secrets:FuzzOpen internal/secrets:FuzzSealOpen internal/secrets:FuzzParseRing \
	internal/store:FuzzListCursor internal/api:FuzzTokenQuery \
	internal/connections:FuzzCallbackParams internal/connections:FuzzForm \
	internal/oauth:FuzzTokenError internal/oauth:FuzzVerifyIDToken internal/api:FuzzTokenJSON

fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "== $$name ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg || exit 1; done

# The four faults of issue 10 replayed: slow Microsoft, rolling key rotation,
# back-off, Postgres outage (docs/benchmarks.md).
bench-faults: pg-ready
	$(GO) run ./bench/tokenbench -faults
