package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// demoEnv is the simulated Azure DevOps Server of demo mode.
type demoEnv struct {
	sim        *azdosim.Server
	collection string
	pat        string
}

// startDemo starts the simulator with its demo data on a free loopback port and a random PAT.
func startDemo(log *slog.Logger) (*demoEnv, error) {
	const collection = "DefaultCollection"
	sim, err := azdosim.New(azdosim.Options{VirtualDir: "tfs", Collections: []string{collection}, Seed: true,
		Logger: log.With("component", "azdosim")})
	if err != nil {
		return nil, err
	}
	var b [20]byte
	_, _ = rand.Read(b[:])
	pat := "demo" + hex.EncodeToString(b[:])
	sim.AddPAT(azdosim.PAT{Token: pat, UserName: "Demo User"})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		sim.Close()
		return nil, err
	}
	return &demoEnv{sim: sim, collection: collection, pat: pat}, nil
}

// printSummary writes what a newcomer needs: URLs, the API key, the simulator's PAT (a
// throwaway demo credential, valid only for this simulator), and curl commands to try.
func (d *demoEnv) printSummary(w io.Writer, serviceURL, apiKey string) {
	fmt.Fprintf(w, `
repoconnect demo is running.
  service      %[1]s
  API key      %[2]s
  simulated Azure DevOps Server 2022 (collection %[4]q):
  server URL   %[3]s
  collection   %[4]s
  PAT          %[5]s   (demo only: valid for this simulator alone)

Try it in another shell (copy and paste; ids are picked out with grep and cut):
  export RC=%[1]s KEY=%[2]s
  id() { grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4; }
  api() { curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"; }
  CONN=$(api -X POST $RC/api/v1/connections -d '{"name":"demo","type":"server-pat","serverUrl":"%[3]s","collection":"%[4]s","pat":"%[5]s"}' | id)
  api "$RC/api/v1/connections/$CONN/repositories"
  REPO=$(api "$RC/api/v1/connections/$CONN/repositories?q=ios-app" | id)
  PROF=$(api -X POST $RC/api/v1/build-profiles -d '{"name":"ios","connectionId":"'$CONN'","repositoryId":"'$REPO'","branch":"release/1.0"}' | id)
  api -X POST $RC/api/v1/build-profiles/$PROF/clone -d '{"depth":1}'
Press Ctrl-C to stop; the demo's data directory is removed on exit.
`, serviceURL, apiKey, d.sim.URL(), d.collection, d.pat)
}
