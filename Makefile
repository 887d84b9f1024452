# The README's commands: `make test` passes the tests; `make run` serves the demo.
GO ?= go
BIN := bin/broker

.PHONY: test lint build run bench bench-faults pg-ready

test: pg-ready
	$(GO) test -race -count=1 ./...

# pg-ready fails with one clear line when Postgres is down; where Docker is
# available it starts the compose file's Postgres first.
pg-ready:
	@$(GO) build -o bin/pgcheck ./tools/pgcheck
	@bin/pgcheck 2>/dev/null || { \
	  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	    docker compose up -d --wait postgres >/dev/null && bin/pgcheck; \
	  else bin/pgcheck; fi; }

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./cmd/broker

run: build
	./$(BIN) demo

bench: pg-ready
	$(GO) run ./bench/tokenbench

# The four faults of issue 10 replayed: slow Microsoft, rolling key rotation,
# back-off, Postgres outage (docs/benchmarks.md).
bench-faults: pg-ready
	$(GO) run ./bench/tokenbench -faults
