# repoconnect: `make run` starts the demo (service + simulated Azure DevOps Server), `make test` runs
# every check CI runs.
GO ?= go
BIN := bin

.PHONY: run test vet unit screenshots build bench fuzz clean

run:
	$(GO) run ./cmd/repoconnect serve --demo

test: vet unit

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

# Browser tests save PNG screenshots under test-output/_artifacts/ (go test -artifacts).
unit:
	mkdir -p test-output
	$(GO) test -race -count=1 -timeout 20m -artifacts -outputdir $(CURDIR)/test-output ./...

# Refreshes the README's screenshots from a run of the browser tests.
screenshots:
	rm -rf test-output/screenshots && mkdir -p test-output/screenshots docs/screenshots
	$(GO) test -count=1 -run 'TestBrowserServerPATFlow' -artifacts -outputdir $(CURDIR)/test-output/screenshots ./cmd/repoconnect/
	cp test-output/screenshots/_artifacts/*/*-wrong-pat-explained.png docs/screenshots/wrong-pat-explained.png
	cp test-output/screenshots/_artifacts/*/*-cloned.png docs/screenshots/cloned.png

build:
	$(GO) build -o $(BIN)/repoconnect ./cmd/repoconnect
	$(GO) build -o $(BIN)/azdosim ./cmd/azdosim

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseRemoteURL -fuzztime 30s ./connections/azuredevops/

clean:
	rm -rf $(BIN) repoconnect-data test-output
