package azuredevops_test

import (
	"context"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// BenchmarkCheckToken measures one whole token check (projects at 6.0, connectionData probe at
// 7.1-preview, retry at the ceiling) against the simulator on loopback: three requests.
func BenchmarkCheckToken(b *testing.B) {
	sim := azdosimtest.Start(b, azdosim.Options{VirtualDir: "tfs", Seed: true}, azdosim.PAT{Token: testPAT})
	ep, _ := azuredevops.NewEndpoint(sim.URL(), "DefaultCollection")
	c, err := azuredevops.New(ep, azuredevops.Credential{PAT: connections.Secret(testPAT)}, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.CheckToken(context.Background())
		if err != nil || !res.Valid {
			b.Fatalf("%v %+v", err, res)
		}
	}
}
