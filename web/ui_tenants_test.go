package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/services"
)

// Another tenant's build profile, clone job, repository page and PAT form answer exactly as
// unknown ids do (404, same page), and nothing of theirs shows or changes.
func TestUIOtherTenantProfilesAndClonesAre404(t *testing.T) {
	e := newUIEnv(t, false)
	ctx := context.Background()
	conn := e.connect("other", "their-conn")
	repos, err := e.svc.ListRepositories(ctx, "other", conn, "", "android")
	uiMust(t, err)
	prof, err := e.svc.CreateBuildProfile(ctx, "other", services.BuildProfileInput{Name: "their-profile", ConnectionID: conn,
		RepositoryID: repos[0].ID, Branch: "main"})
	uiMust(t, err)
	job, err := e.svc.StartClone(ctx, "other", prof.ID, services.CloneInput{Depth: 1})
	uiMust(t, err)
	flip := func(id string) string {
		return id[:len(id)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(id, "0")]
	}

	b := e.browser().signIn(e.keys["acme"])
	for _, c := range []struct{ method, path, id, hx string }{
		{"GET", "/ui/build-profiles/%s", prof.ID, ""},
		{"POST", "/ui/build-profiles/%s/clones", prof.ID, "true"},
		{"POST", "/ui/build-profiles/%s/clones?force=1", prof.ID, "true"},
		{"GET", "/ui/build-profiles/%s/runs", prof.ID, "true"},
		{"GET", "/ui/clones/%s/events", job.ID, ""},
		{"GET", "/ui/connections/%s/repositories/" + repos[0].ID, conn, ""},
		{"POST", "/ui/connections/%s/pat", conn, ""},
	} {
		var form url.Values
		if c.method == "POST" {
			form = url.Values{"pat": {simPAT}}
		}
		r1, b1 := b.do(c.method, strings.Replace(c.path, "%s", c.id, 1), form, "HX-Request", c.hx)
		r2, b2 := b.do(c.method, strings.Replace(c.path, "%s", flip(c.id), 1), form, "HX-Request", c.hx)
		if r1.StatusCode != http.StatusNotFound || r2.StatusCode != http.StatusNotFound || b1 != b2 || strings.Contains(b1, "their-") {
			t.Errorf("%s %s: %d vs unknown %d\n%s\n%s", c.method, c.path, r1.StatusCode, r2.StatusCode, b1, b2)
		}
	}
	if _, body := b.do("GET", "/ui/build-profiles", nil); strings.Contains(body, "their-profile") {
		t.Error("acme's profile list shows another tenant's profile")
	}
	// Their run named in ?run= on acme's own profile page is not shown.
	theirRuns, _, err := e.svc.ListRuns(ctx, "other", prof.ID, 10, "")
	uiMust(t, err)
	if len(theirRuns) != 1 {
		t.Fatalf("their runs: %d", len(theirRuns))
	}
	mine := e.connect("acme", "acme-conn")
	acmeRepos, err := e.svc.ListRepositories(ctx, "acme", mine, "", "android")
	uiMust(t, err)
	own, err := e.svc.CreateBuildProfile(ctx, "acme", services.BuildProfileInput{Name: "acme-profile", ConnectionID: mine,
		RepositoryID: acmeRepos[0].ID, Branch: "main"})
	uiMust(t, err)
	if resp, body := b.do("GET", "/ui/build-profiles/"+own.ID+"?run="+theirRuns[0].ID, nil); resp.StatusCode != http.StatusOK ||
		strings.Contains(body, theirRuns[0].ID) || strings.Contains(body, job.ID) || !strings.Contains(body, `data-testid="no-runs"`) {
		t.Errorf("?run= with another tenant's run: %d\n%s", resp.StatusCode, body)
	}
}
