package azdosim_test

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/microsoft/azure-devops-go-api/azuredevops/v7"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/core"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/git"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/location"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/serviceendpoint"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// TestCompatFieldsKnownToTheSDK checks every key of the simulator's answers against the json
// names of the SDK's models, exactly (encoding/json matches names case-insensitively, so a
// "remoteURL" would pass Go's decoder but not a case-sensitive client), and decodes each answer
// into its model. A field the simulator misspells would otherwise be dropped silently by
// Microsoft's client and the suite above would only see it missing. The one exception is
// changeCounts, which the SDK models as an empty struct although the spec's example (and the
// simulator) fill it.
func TestCompatFieldsKnownToTheSDK(t *testing.T) {
	for _, services := range []bool{false, true} {
		opts := azdosim.Options{Seed: true, Services: services}
		sim := azdosimtest.Start(t, opts, azdosim.PAT{Token: compatPAT})
		base := sim.URL() + "/DefaultCollection"
		if services {
			base = sim.URL() + "/fabrikam"
		}
		ios := azdosimtest.Repository(t, sim, "ios-app")
		pr, err := sim.CreatePullRequest("", ios.ID, "develop", "main", "Settings")
		if err != nil {
			t.Fatal(err)
		}
		repo := base + "/Fabrikam%20Mobile/_apis/git/repositories/" + ios.ID
		mainSHA := azdosimtest.Git(t, "", "--git-dir", ios.BarePath, "rev-parse", "refs/heads/main")
		prAPI := repo + "/pullRequests/" + strconv.Itoa(pr)
		seedIssue17(t, sim, repo+"/commits/"+mainSHA+"/statuses", prAPI)
		cases := []struct {
			method, url string
			into        any
		}{
			{"OPTIONS", base + "/_apis", &list[azuredevops.ApiResourceLocation]{}},
			{"GET", base + "/_apis/ResourceAreas", &list[azuredevops.ResourceAreaInfo]{}},
			{"GET", base + "/_apis/connectionData?connectOptions=includeServices&api-version=7.0-preview", &location.ConnectionData{}},
			{"GET", base + "/_apis/projects", &list[core.TeamProjectReference]{}},
			{"GET", base + "/_apis/projects/Platform", &core.TeamProject{}},
			{"GET", base + "/_apis/git/repositories", &list[git.GitRepository]{}},
			{"GET", repo, &git.GitRepository{}},
			{"GET", repo + "/refs?filter=heads/", &list[git.GitRef]{}},
			{"GET", repo + "/items?path=/README.md&includeContent=true&includeContentMetadata=true", &git.GitItem{}},
			{"GET", repo + "/commits", &list[git.GitCommitRef]{}},
			{"GET", repo + "/commits/" + azdosimtest.Git(t, "", "--git-dir", ios.BarePath, "rev-parse", "refs/heads/main"), &git.GitCommit{}},
			{"GET", repo + "/pullRequests", &list[git.GitPullRequest]{}},
			{"GET", repo + "/pullRequests/" + strconv.Itoa(pr), &git.GitPullRequest{}},
			{"GET", repo + "/commits/" + mainSHA + "/statuses", &list[git.GitStatus]{}},
			{"GET", prAPI + "/statuses", &list[git.GitPullRequestStatus]{}},
			{"GET", prAPI + "/iterations", &list[git.GitPullRequestIteration]{}},
			{"GET", prAPI + "/iterations/1", &git.GitPullRequestIteration{}},
			{"GET", prAPI + "/threads", &list[git.GitPullRequestCommentThread]{}},
			{"GET", prAPI + "/threads/1", &git.GitPullRequestCommentThread{}},
			{"GET", base + "/Fabrikam%20Mobile/_apis/serviceendpoint/endpoints", &list[serviceendpoint.ServiceEndpoint]{}},
		}
		for _, c := range cases {
			req, _ := http.NewRequest(c.method, c.url, nil)
			req.SetBasicAuth("", compatPAT)
			req.Header.Set("Accept", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d %s", c.method, c.url, resp.StatusCode, body)
			}
			body = dropChangeCounts(t, body)
			where := fmt.Sprintf("services %v, %s %s", services, c.method, strings.TrimPrefix(c.url, sim.URL()))
			if err := json.Unmarshal(body, c.into); err != nil {
				t.Errorf("%s: %v\n%s", where, err, body)
			}
			var raw any
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatal(err)
			}
			for _, bad := range unknownKeys("", raw, reflect.TypeOf(c.into)) {
				t.Errorf("%s: key %s is not a field of %T", where, bad, c.into)
			}
		}
	}
}

// unknownKeys lists the object keys of v (decoded JSON, at path) that are not, exactly, the json
// name of a field of typ; it stops at interfaces, maps and types that decode themselves.
func unknownKeys(path string, v any, typ reflect.Type) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if reflect.PointerTo(typ).Implements(reflect.TypeFor[json.Unmarshaler]()) ||
		reflect.PointerTo(typ).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return nil
	}
	var bad []string
	switch x := v.(type) {
	case []any:
		if typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array {
			for i, e := range x {
				bad = append(bad, unknownKeys(fmt.Sprintf("%s[%d]", path, i), e, typ.Elem())...)
			}
		}
	case map[string]any:
		if typ.Kind() != reflect.Struct {
			return nil
		}
		fields := map[string]reflect.Type{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			fields[name] = f.Type
		}
		for k, e := range x {
			ft, ok := fields[k]
			if !ok {
				bad = append(bad, path+"."+k)
				continue
			}
			bad = append(bad, unknownKeys(path+"."+k, e, ft)...)
		}
	}
	return bad
}

// list is the {"count","value"} envelope of collections.
type list[T any] struct {
	Count int `json:"count"`
	Value []T `json:"value"`
}

// dropChangeCounts removes "changeCounts" objects (see TestCompatFieldsKnownToTheSDK).
func dropChangeCounts(t *testing.T, body []byte) []byte {
	t.Helper()
	if !bytes.Contains(body, []byte(`"changeCounts"`)) {
		return body
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			delete(x, "changeCounts")
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
