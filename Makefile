# repoconnect: `make run` starts the demo (service + simulated Azure DevOps Server), `make test` runs
# every check CI runs.
GO ?= go
BIN := bin

.PHONY: run test vet unit build acceptance bench fuzz clean

run:
	$(GO) run ./cmd/repoconnect serve --demo

test: vet unit

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

build:
	$(GO) build -o $(BIN)/repoconnect ./cmd/repoconnect
	$(GO) build -o $(BIN)/azdosim ./cmd/azdosim

# The outside-in checks of shared/acceptance (they build the binaries and fetch real sources).
acceptance:
	bash ../shared/acceptance/skeleton
	bash ../shared/acceptance/skeleton-api
	bash ../shared/acceptance/redis-shared-store

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseRemoteURL -fuzztime 30s ./connections/azuredevops/

clean:
	rm -rf $(BIN) repoconnect-data
