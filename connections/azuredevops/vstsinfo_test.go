package azuredevops_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// TestResolveThroughSpecShapedVstsInfo resolves a guessed remote URL through the simulator's
// vsts/info, which answers in the REST specification's shape with the project's state as the
// number 1 (git/7.1/httpExamples/repositories/GET__git_repositories__remoteurl.json). Before
// the client read enums from numbers, this answer failed with "JSON this client does not
// understand".
func TestResolveThroughSpecShapedVstsInfo(t *testing.T) {
	sim := startSim(t, azdosim.Options{Seed: true, VirtualDir: "a/b"})
	host := strings.TrimSuffix(sim.URL(), "/a/b")

	// The answer really carries the number: the test would prove nothing against a string.
	req, _ := http.NewRequest(http.MethodGet, sim.URL()+"/DefaultCollection/_git/Platform/vsts/info", nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(":"+testPAT)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var shape struct {
		Repository struct {
			Project struct {
				State json.RawMessage `json:"state"`
			} `json:"project"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(raw, &shape); err != nil || string(shape.Repository.Project.State) != "1" {
		t.Fatalf("the simulator's vsts/info sends state %s (%v), want the number 1: %s", shape.Repository.Project.State, err, raw)
	}

	guess, got, err := resolve(t, host+"/a/b/DefaultCollection/_git/Platform", testPAT)
	if err != nil {
		t.Fatalf("ResolveRemoteURL: %v", err)
	}
	if guess.VirtualDirectory != "a" || got.Guessed || got.VirtualDirectory != "a/b" || got.Collection != "DefaultCollection" ||
		got.Project != "Platform" || got.Repository != "Platform" {
		t.Errorf("resolved %+v (guess %+v)", got, guess)
	}
}

// TestListProjectsEnumsAsNumbers: a projects answer with the enums as numbers, unknown values
// and fields of other types lists every project, with the states and visibilities named.
func TestListProjectsEnumsAsNumbers(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"count":"4","value":[
			{"id":"1","name":"a","state":1,"visibility":0,"revision":"9","lastUpdateTime":0},
			{"id":"2","name":"b","state":"createPending","visibility":"public","description":["x"]},
			{"id":"3","name":"c","state":42,"visibility":"futureVisibility","new":{"deep":[1]}},
			{"id":4,"name":"d","state":"2","visibility":2.0}]}`)
	}))
	t.Cleanup(ts.Close)
	ep, err := azuredevops.NewEndpoint(ts.URL, "DefaultCollection")
	if err != nil {
		t.Fatal(err)
	}
	c, err := azuredevops.New(ep, azuredevops.Credential{PAT: connections.Secret(testPAT)}, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ps, err := c.ListProjects(ctx)
	if err != nil {
		t.Fatalf("ListProjects: %v", err)
	}
	want := []connections.Project{
		{ID: "1", Name: "a", State: "wellFormed", Visibility: "private"},
		{ID: "2", Name: "b", State: "createPending", Visibility: "public"},
		{ID: "3", Name: "c", State: "unknown", Visibility: "futureVisibility"},
		{ID: "4", Name: "d", State: "deleting", Visibility: "unknown"},
	}
	if len(ps) != len(want) {
		t.Fatalf("%d projects: %+v", len(ps), ps)
	}
	for i := range want {
		if ps[i] != want[i] {
			t.Errorf("project %d: %+v, want %+v", i, ps[i], want[i])
		}
	}
}
