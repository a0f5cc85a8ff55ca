package web_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/services"
)

// Repeat builds (issue 18) through the API and the pages: the workspace setting (validated on
// POST and PATCH, answered, editable on the profile page), the clone answer's source and
// stats, the runs' source and stats, and the pages showing the path each run took.

// cloneSources are the paths a clone can take.
var cloneSources = map[string]bool{"cold": true, "cache": true, "workspace": true}

// statsKeys are the keys of a clone's "stats".
var statsKeys = []string{"fetchedObjects", "fetchedBytes", "writtenFiles", "writtenBytes", "removedFiles"}

func hasStats(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, k := range statsKeys {
		if _, ok := m[k].(float64); !ok {
			return false
		}
	}
	return true
}

func TestWorkspaceSettingAPI(t *testing.T) {
	h := newHookEnv(t, func(o *services.Options) { o.CacheDir = filepath.Join(t.TempDir(), "cache") })
	prof := "/api/v1/build-profiles/" + h.profile
	if _, p, _ := h.call("GET", prof, nil); p["workspace"] != "fresh" {
		t.Fatalf("a new profile's workspace: %v", p["workspace"])
	}
	_, list, _ := h.call("GET", "/api/v1/build-profiles", nil)
	before := list["count"]
	// A bad value is a 400 problem naming the field and the allowed values; nothing stored.
	_, conn, _ := h.call("GET", prof, nil)
	for _, c := range []struct {
		method, path string
		body         map[string]any
	}{
		{"POST", "/api/v1/build-profiles", map[string]any{"name": "bad", "connectionId": conn["connectionId"],
			"repositoryId": h.repo.ID, "branch": "main", "workspace": "sometimes"}},
		{"PATCH", prof, map[string]any{"workspace": "always", "name": "renamed"}},
	} {
		status, raw, hdr := h.raw(c.method, c.path, c.body)
		body := string(raw)
		if status != http.StatusBadRequest || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") ||
			!strings.Contains(body, `"field":"workspace"`) || !strings.Contains(body, `\"fresh\"`) || !strings.Contains(body, `\"reuse\"`) {
			t.Fatalf("%s %s with a bad workspace: %d %s %s", c.method, c.path, status, hdr.Get("Content-Type"), body)
		}
	}
	if _, list, _ := h.call("GET", "/api/v1/build-profiles", nil); list["count"] != before {
		t.Fatalf("a refused POST stored a profile: %v profiles, was %v", list["count"], before)
	}
	if _, p, _ := h.call("GET", prof, nil); p["workspace"] != "fresh" || p["name"] != "ios" {
		t.Fatalf("a refused PATCH changed the profile: %v", p)
	}
	code, created, _ := h.call("POST", "/api/v1/build-profiles", map[string]any{"name": "reusing", "connectionId": conn["connectionId"],
		"repositoryId": h.repo.ID, "branch": "main", "workspace": "reuse"})
	if code != 201 || created["workspace"] != "reuse" {
		t.Fatalf("create with reuse: %d %v", code, created)
	}
	code, p, _ := h.call("PATCH", prof, map[string]any{"workspace": "reuse"})
	if code != 200 || p["workspace"] != "reuse" {
		t.Fatalf("PATCH to reuse: %d %v", code, p)
	}

	// The clone answers the workspace's path, the source and the stats.
	code, res, _ := h.call("POST", prof+"/clone", map[string]any{})
	ws := h.svc.WorkspacePath(conn["tenantId"].(string), h.profile)
	if code != 200 || res["path"] != ws || res["source"] != "cold" || !hasStats(res["stats"]) || res["stats"].(map[string]any)["fetchedObjects"] == 0.0 {
		t.Fatalf("first clone of a reusing profile: %d %v, want path %s, source cold (an empty cache), objects fetched", code, res, ws)
	}
	t.Run("the second clone answers the same path", func(t *testing.T) {
		h.commitOn("main", "a change")
		status, raw, _ := h.raw("POST", prof+"/clone", map[string]any{})
		code, again, _ := h.call("POST", prof+"/clone", map[string]any{})
		if status != 200 || code != 200 || again["path"] != ws || again["source"] != "workspace" {
			t.Fatalf("repeat clones: %d %s; %d %v; want path %s, source workspace", status, raw, code, again, ws)
		}
	})

	// A run records the source and stats; the run page and the runs list show them. The run
	// is of the other reusing profile, on the same repository: its objects come from the
	// cache the first profile's clones filled.
	other := created["id"].(string)
	code, run, _ := h.call("POST", "/api/v1/build-profiles/"+other+"/runs", map[string]any{})
	if code != 202 {
		t.Fatalf("start a run: %d %v", code, run)
	}
	r := h.finished(run["id"].(string))
	src, _ := r["source"].(string)
	if r["state"] != "succeeded" || !cloneSources[src] || !hasStats(r["stats"]) {
		t.Fatalf("finished run: %v", r)
	}
	if src != "cache" {
		t.Errorf("the other profile's first run took %q, want cache (the repository's store is warm)", src)
	}
	_, runs, _ := h.call("GET", "/api/v1/build-profiles/"+other+"/runs", nil)
	listed, _ := runs["value"].([]any)
	if len(listed) != 1 || listed[0].(map[string]any)["source"] != src || !hasStats(listed[0].(map[string]any)["stats"]) {
		t.Fatalf("the runs list: %v", runs)
	}
	b := h.pageBrowser()
	resp, body := b.do("GET", "/ui/build-profiles/"+other+"/runs/"+run["id"].(string), nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="clone" data-source="`+src+`">From the repository cache<div class="small muted">Fetched `) ||
		!strings.Contains(body, ", wrote ") {
		t.Fatalf("run page: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.do("GET", "/ui/build-profiles/"+other, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="source" data-source="`+src+`"`) ||
		!strings.Contains(body, `<th scope="col">Path taken</th>`) || !strings.Contains(body, `data-workspace="reuse"`) ||
		!strings.Contains(body, template_escape(h.svc.WorkspacePath(conn["tenantId"].(string), other))) {
		t.Fatalf("profile page: %d\n%s", resp.StatusCode, body)
	}

	// The page's workspace form: a bad value is shown under the field, nothing stored; fresh
	// is saved.
	page := "/ui/build-profiles/" + h.profile
	resp, body = b.do("POST", page+"/workspace", url.Values{"workspace": {"sometimes"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="workspace-error"`) {
		t.Fatalf("bad workspace on the page: %d\n%s", resp.StatusCode, body)
	}
	if _, p, _ := h.call("GET", prof, nil); p["workspace"] != "reuse" {
		t.Fatalf("a refused form changed the workspace: %v", p["workspace"])
	}
	resp, body = b.do("POST", page+"/workspace", url.Values{"workspace": {"fresh"}})
	if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="notice"`) || !strings.Contains(body, `data-workspace="fresh"`) {
		t.Fatalf("save fresh on the page: %d\n%s", resp.StatusCode, body)
	}
	if _, p, _ := h.call("GET", prof, nil); p["workspace"] != "fresh" {
		t.Fatalf("the page did not store fresh: %v", p["workspace"])
	}
}
