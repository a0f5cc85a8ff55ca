# repoconnect: `make run` starts the demo (service + simulated Azure DevOps Server), `make test` runs
# the checks and tests CI runs first, `make e2e` the end-to-end tests CI runs after them.
GO ?= go
BIN := bin

.PHONY: run test tidy vet unit e2e screenshots build bench fuzz clean

run:
	$(GO) run ./cmd/repoconnect serve --demo

test: tidy vet unit

# go.mod and go.sum must be what `go mod tidy` makes of them: the diff is printed otherwise. It
# also fetches into the module cache every module tidy reads (the tests of the dependencies'
# packages), so a later `go mod tidy` on the same machine needs no network.
tidy:
	$(GO) mod tidy -diff

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

# Browser tests save PNG screenshots under test-output/_artifacts/ (go test -artifacts).
unit:
	mkdir -p test-output
	$(GO) test -race -count=1 -timeout 20m -artifacts -outputdir $(CURDIR)/test-output ./...

# End-to-end tests (e2e/, build tag e2e): the real binaries as processes on loopback, the
# simulator serving releases of real modules from the Go module proxy, real git and
# redis-server. E2E_RUN picks tests by name (go test -run), e.g. make e2e E2E_RUN=TestSkeleton;
# RUNS sets the clone-engine pairs (default 5). The first run builds the clone-engine repository
# (several minutes) and keeps it under $TMPDIR/repoconnect-e2e-cache.
E2E_RUN ?= .
e2e:
	$(GO) vet -tags e2e ./e2e/
	$(GO) test -tags e2e -count=1 -timeout 60m -v -run '$(E2E_RUN)' ./e2e/

# Refreshes the README's screenshots from a run of the browser tests (every TestBrowser* of
# ./cmd/repoconnect/, SCREENSHOT_RUN to narrow it). Each SCREENSHOTS item is Test:shot, copied
# from the Test's artifact directory (the "=== ARTIFACTS" line of go test -v) as
# docs/screenshots/shot.png, the shot being the name a test gave b.Shot (saved as NN-shot.png).
# A failing test, or an item that matches no file or more than one, stops with an error.
SCREENSHOT_RUN ?= TestBrowser
SCREENSHOTS ?= \
	TestBrowserFirstRunFromNothing/desktop:desktop-connect-pasted \
	TestBrowserFirstRunFromNothing/desktop:desktop-choose \
	TestBrowserFirstRunFromNothing/desktop:desktop-configure \
	TestBrowserFirstRunFromNothing/desktop:desktop-first-run \
	TestBrowserFirstRunFromNothing/mobile:mobile-choose \
	TestBrowserCheckLive:check-waiting-1280 \
	TestBrowserCheckLive:check-wrong-pat-1280 \
	TestBrowserOAuthDenyAndPolicyOff:oauth-policy-off \
	TestBrowserProfileTriggersHookAndRuns:wide-profile-runs \
	TestBrowserSSHKeyCheckAndClone/desktop:desktop-ssh-key \
	TestBrowserSSHKeyCheckAndClone/desktop:desktop-ssh-host-key \
	TestBrowserSSHKeyCheckAndClone/desktop:desktop-ssh-ok \
	TestBrowserSSHKeyCheckAndClone/mobile:mobile-ssh-key
screenshots: SHELL := /bin/bash
screenshots:
	rm -rf test-output/screenshots && mkdir -p test-output/screenshots docs/screenshots
	set -o pipefail; $(GO) test -count=1 -timeout 30m -v -run '$(SCREENSHOT_RUN)' -artifacts -outputdir $(CURDIR)/test-output/screenshots ./cmd/repoconnect/ | tee test-output/screenshots/test.log | grep -E '^(=== ARTIFACTS|--- FAIL|FAIL|ok)'
	@set -e; for item in $(SCREENSHOTS); do \
	  test="$${item%%:*}"; shot="$${item#*:}"; \
	  dir=$$(awk -v t="$$test" '$$1 == "===" && $$2 == "ARTIFACTS" && $$3 == t { print $$4 }' test-output/screenshots/test.log | head -n 1); \
	  if [ -z "$$dir" ]; then echo "screenshots: $$test ran no browser (no artifact directory in test-output/screenshots/test.log)" >&2; exit 1; fi; \
	  n=$$(ls "$$dir" | grep -cE "^[0-9]+-$$shot\.png$$" || true); \
	  if [ "$$n" != 1 ]; then echo "screenshots: $$test saved $$n screenshots named NN-$$shot.png in $$dir (want 1); its shots: $$(ls $$dir | tr '\n' ' ')" >&2; exit 1; fi; \
	  f=$$(ls "$$dir" | grep -E "^[0-9]+-$$shot\.png$$"); \
	  cp "$$dir/$$f" "docs/screenshots/$$shot.png"; echo "docs/screenshots/$$shot.png <- $$test $$f"; \
	done

build:
	$(GO) build -o $(BIN)/repoconnect ./cmd/repoconnect
	$(GO) build -o $(BIN)/azdosim ./cmd/azdosim

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Runs every fuzz target of the repository (each func FuzzXxx in a _test.go file) for FUZZTIME,
# one after another; FUZZFLAGS is passed on (e.g. FUZZFLAGS='-parallel 1' on a small machine).
# FUZZMINIMIZETIME bounds the minimizing of each new input (Go's default, 60s, would spend a
# short run on its first one). A failing input is saved under the package's
# testdata/fuzz/FuzzXxx/ and stops the run. Go before 1.27 may end a loaded run with a bare
# "context deadline exceeded" and no failing input (go.dev/issue/75804): that is reported and
# the run goes on.
FUZZTIME ?= 30s
FUZZMINIMIZETIME ?= 5s
FUZZFLAGS ?=
fuzz:
	@set -e; out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for name in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | cut -c6- | sort); do \
			echo "== $$name ($$dir) for $(FUZZTIME)"; rc=0; \
			$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $(FUZZFLAGS) $$dir/ >$$out 2>&1 || rc=$$?; \
			grep '^fuzz: elapsed: ' $$out | tail -1 || true; grep -v '^fuzz: elapsed: [0-9]*s, ' $$out || true; \
			if [ $$rc -ne 0 ]; then \
				if grep -q 'Failing input written' $$out || ! grep -q 'context deadline exceeded' $$out; then exit $$rc; fi; \
				echo "   (go.dev/issue/75804: a spurious 'context deadline exceeded' at the end of the run, no failing input)"; \
			fi; \
		done; \
	done

clean:
	rm -rf $(BIN) repoconnect-data test-output
