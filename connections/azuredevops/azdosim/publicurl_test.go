package azdosim

import (
	"encoding/json"
	"strings"
	"testing"
)

// collectURLs returns every string in a JSON document that looks like a URL.
func collectURLs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			collectURLs(e, out)
		}
	case []any:
		for _, e := range x {
			collectURLs(e, out)
		}
	case string:
		if strings.Contains(x, "://") {
			*out = append(*out, x)
		}
	}
}

func TestPublicURLAppearsInEveryURL(t *testing.T) {
	const public = "http://localhost:8080/tfs"
	s := startServer(t, Options{Seed: true, VirtualDir: "tfs", PublicURL: public + "/"})
	info := findRepo(t, s, "android app")
	paths := []string{
		"/_apis/connectionData?api-version=7.0-preview",
		"/DefaultCollection/_apis/connectionData?api-version=7.0-preview",
		"/DefaultCollection/_apis/projects?api-version=7.0",
		"/DefaultCollection/_apis/projects/Platform?api-version=7.0",
		"/DefaultCollection/_apis/git/repositories?api-version=7.0",
		"/DefaultCollection/Fabrikam%20Mobile/_apis/git/repositories/" + info.ID + "?api-version=7.0",
		"/DefaultCollection/Fabrikam%20Mobile/_apis/git/repositories/" + info.ID + "/refs?api-version=7.0",
		"/DefaultCollection/Fabrikam%20Mobile/_git/android%20app/vsts/info",
	}
	total := 0
	for _, p := range paths {
		a := get(t, s.URL()+p, testPAT, false)
		mustStatus(t, a, 200)
		var doc any
		if err := json.Unmarshal(a.body, &doc); err != nil {
			t.Fatal(err)
		}
		var urls []string
		collectURLs(doc, &urls)
		if len(urls) == 0 {
			t.Errorf("%s: no URLs", p)
		}
		for _, u := range urls {
			total++
			if u != public && !strings.HasPrefix(u, public+"/") && !strings.HasPrefix(u, "ssh://localhost:22/tfs/") {
				t.Errorf("%s: URL %q not built from the public URL", p, u)
			}
		}
		if strings.Contains(string(a.body), "127.0.0.1") {
			t.Errorf("%s: answer names the listen address: %s", p, a.body)
		}
	}
	if total < 20 {
		t.Errorf("only %d URLs checked", total)
	}
	if _, err := New(Options{PublicURL: "localhost:8080"}); err == nil {
		t.Errorf("New accepted a public URL without scheme")
	}
}
