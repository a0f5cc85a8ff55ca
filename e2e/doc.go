// Package e2e holds repoconnect's end-to-end tests. They build the real binaries (repoconnect
// and azdosim, the project's Azure DevOps simulator), start them as processes on free loopback
// ports, serve repositories made of real released Go modules fetched from the Go module proxy,
// and check the results with the real git (and, for the Redis store, a real redis-server).
//
// The tests carry the build tag e2e, so `go test ./...` does not run them; `make e2e` does:
//
//	go test -tags e2e -count=1 -timeout 60m -v ./e2e/
//
// What they need on the machine: Go (the go command builds the binaries and fetches the module
// versions), git, and redis-server for TestRedisSharedStore. TestCloneEngine builds a
// repository from twelve releases of github.com/aws/aws-sdk-go once (several minutes) and keeps
// it under $TMPDIR/repoconnect-e2e-cache for later runs.
package e2e
