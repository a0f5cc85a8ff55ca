package azdosim

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
)

// TestVstsInfoSpecShape: GET {remoteUrl}/vsts/info answers in the shape of the REST
// specification's example (git/7.1/httpExamples/repositories/GET__git_repositories__remoteurl.json):
// the same keys at every level, the project's state as the number 1 and its revision a number.
func TestVstsInfoSpecShape(t *testing.T) {
	s := startServer(t, Options{Seed: true, VirtualDir: "tfs"})
	a := get(t, s.URL()+"/DefaultCollection/Platform/_git/Platform/vsts/info", testPAT, false)
	mustStatus(t, a, 200)
	var body map[string]any
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	keys := func(v any) []string {
		m, _ := v.(map[string]any)
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	repo, _ := body["repository"].(map[string]any)
	project, _ := repo["project"].(map[string]any)
	for _, c := range []struct {
		what string
		got  []string
		want []string
	}{
		{"top level", keys(body), []string{"collection", "repository", "serverUrl"}},
		{"collection", keys(body["collection"]), []string{"id", "name", "url"}},
		{"repository", keys(repo), []string{"id", "name", "project", "remoteUrl", "url"}},
		{"project", keys(project), []string{"id", "name", "revision", "state", "url"}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s keys %v, want %v (the spec example's)", c.what, c.got, c.want)
		}
	}
	if state, ok := project["state"].(float64); !ok || state != 1 {
		t.Errorf("project state %#v, want the number 1 (ProjectState.WellFormed)", project["state"])
	}
	if rev, ok := project["revision"].(float64); !ok || rev <= 0 {
		t.Errorf("project revision %#v, want a positive number", project["revision"])
	}
	if repo["url"] != s.URL()+"/DefaultCollection/_apis/git/repositories/"+repo["id"].(string) {
		t.Errorf("repository url %v", repo["url"])
	}
}
