package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
)

// "New build profile" opens screen 1 without a connection, else screen 2 for the newest
// connection, or the one the browser chose from last.
func TestUIImportEntry(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	if resp, _ := b.do("GET", "/ui/new", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/connections/new" {
		t.Fatalf("no connection: %d %v", resp.StatusCode, resp.Header.Get("Location"))
	}
	first := e.connect("acme", "first")
	time.Sleep(2 * time.Millisecond) // distinct creation times
	second := e.connect("acme", "second")
	e.connect("other", "not-acme") // another tenant's is never offered
	if resp, _ := b.do("GET", "/ui/new", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/new/choose?connection="+second {
		t.Fatalf("newest connection: %d %v", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := b.do("GET", "/ui/new/choose?connection="+first, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `<option value="`+second+`">second</option>`) || strings.Contains(body, "not-acme") ||
		!strings.Contains(body, `href="/ui/connections/new"`) || !strings.Contains(body, `<li aria-current="step"><span class="step-n" aria-hidden="true">2</span> Choose</li>`) {
		t.Fatalf("screen 2 (switcher, connect another, step 2 current): %d %s", resp.StatusCode, body)
	}
	if resp, _ := b.do("GET", "/ui/new", nil); resp.Header.Get("Location") != "/ui/new/choose?connection="+first {
		t.Fatalf("last chosen connection: %v", resp.Header.Get("Location"))
	}
	if resp, _ := b.do("GET", "/ui/new/choose", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/new" {
		t.Fatalf("screen 2 without a connection: %d %v", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.do("GET", "/ui/new/choose?connection=no-such-connection", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown connection: %d", resp.StatusCode)
	}
}

var (
	countRE = regexp.MustCompile(`<p class="muted small repo-count" role="status">([^<]*)</p>`)
	moreRE  = regexp.MustCompile(`hx-get="(/ui/connections/[^"]+/repositories\?offset=\d+)"`)
)

// The list comes 50 rows at a time, sorted by project then name, with the total and a "Show
// more" row whose next page ends the list; the filter narrows it.
func TestUIImportChooseList(t *testing.T) {
	e := newUIEnv(t, false)
	platform := azdosimtest.Repository(t, e.sim, "Platform")
	for i := range 50 {
		if _, err := e.sim.ImportRepository("", "Bulk", fmt.Sprintf("bulk-%02d", i), platform.BarePath); err != nil {
			t.Fatal(err)
		}
	}
	total := len(e.sim.Repositories(""))
	id := e.connect("acme", "acme-conn")
	b := e.browser().signIn(e.keys["acme"])

	resp, body := b.do("GET", "/ui/new/choose?connection="+id, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="repo-list" class="repo-list" aria-busy="true" hx-get="/ui/connections/`+id+`/repositories"`) ||
		strings.Count(body, `class="skeleton-row"`) < 3 || !strings.Contains(body, `id="repo-filter"`) {
		t.Fatalf("screen 2 loads the list behind skeleton rows: %d %s", resp.StatusCode, body)
	}

	resp, body = b.do("GET", "/ui/connections/"+id+"/repositories", nil, "HX-Request", "true")
	items := repoItems(body)
	if m := countRE.FindStringSubmatch(body); resp.StatusCode != 200 || m == nil || m[1] != fmt.Sprintf("%d repositories.", total) || len(items) != 50 {
		t.Fatalf("first page: %d, count %v, %d rows", resp.StatusCode, m, len(items))
	}
	names := regexp.MustCompile(`data-repo="([^"]*)"`).FindAllStringSubmatch(body, -1)
	if names[0][1] != "bulk-00" || names[49][1] != "bulk-49" {
		t.Errorf("not sorted by project then name: first %q, 50th %q", names[0][1], names[49][1])
	}
	m := moreRE.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, fmt.Sprintf("Show %d more", total-50)) || !strings.Contains(body, fmt.Sprintf("50 of %d shown", total)) {
		t.Fatalf("no Show more: %s", body)
	}
	resp, body = b.do("GET", html.UnescapeString(m[1]), nil, "HX-Request", "true")
	items = repoItems(body)
	if resp.StatusCode != 200 || len(items) != total-50 || items["android app"] == "" || strings.Contains(body, "Show ") || strings.Contains(body, `id="repo-list"`) {
		t.Fatalf("next page: %d %d rows %s", resp.StatusCode, len(items), body)
	}

	resp, body = b.do("GET", "/ui/connections/"+id+"/repositories?q=DROID", nil, "HX-Request", "true")
	if m := countRE.FindStringSubmatch(body); resp.StatusCode != 200 || m == nil || m[1] != "1 repository matches “DROID”." || len(repoItems(body)) != 1 ||
		!strings.Contains(body, `data-single="/ui/new/configure?connection=`+id+`&amp;repository=`) {
		t.Fatalf("filter: %d %s", resp.StatusCode, body)
	}
	resp, body = b.do("GET", "/ui/connections/"+id+"/repositories?q=zzz", nil, "HX-Request", "true")
	if resp.StatusCode != 200 || len(repoItems(body)) != 0 || !strings.Contains(body, "0 repositories match “zzz”.") || !strings.Contains(body, "#authorize") {
		t.Fatalf("no match: %d %s", resp.StatusCode, body)
	}
}

// The filter form submitted (Enter without script) opens screen 3 when exactly one repository
// that can be built matches; otherwise the page lists the matches at once.
func TestUIImportSingleMatchOpens(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "acme-conn")
	b := e.browser().signIn(e.keys["acme"])
	android := azdosimtest.Repository(t, e.sim, "android app")
	resp, _ := b.do("GET", "/ui/new/choose?connection="+id+"&open=1&q=droid", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/new/configure?connection="+id+"&repository="+android.ID {
		t.Fatalf("one match: %d %v", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := b.do("GET", "/ui/new/choose?connection="+id+"&open=1&q=app", nil)
	if items := repoItems(body); resp.StatusCode != 200 || len(items) != 2 || items["ios-app"] == "" || strings.Contains(body, `aria-busy="true"`) {
		t.Fatalf("two matches: %d %v", resp.StatusCode, items)
	}
	resp, body = b.do("GET", "/ui/new/choose?connection="+id+"&open=1&q=empty", nil)
	if items := repoItems(body); resp.StatusCode != 200 || len(items) != 1 || !strings.Contains(items["empty-repo"], "no commits yet") {
		t.Fatalf("the only match cannot be built: %d %v", resp.StatusCode, items)
	}
}

// A connection that is not authorized says so on screen 2, with a link to its page, and
// lists nothing; screen 3 sends the browser back there.
func TestUIImportUnauthorizedConnection(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "acme-conn")
	e.sim.AddPAT(azdosim.PAT{Token: simPAT, UserName: "UI Tester", Expires: time.Now().Add(-time.Hour)})
	if res, err := e.svc.CheckConnection(context.Background(), "acme", id); err != nil || res.Valid {
		t.Fatalf("check of the expired PAT: %v %v", res, err)
	}
	b := e.browser().signIn(e.keys["acme"])
	resp, body := b.do("GET", "/ui/new/choose?connection="+id, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="not-authorized"`) || !strings.Contains(body, `<a href="/ui/connections/`+id+`">Open the connection acme-conn to fix it</a>`) ||
		strings.Contains(body, `id="repo-list"`) || strings.Contains(body, "Loading") {
		t.Fatalf("not authorized: %d %s", resp.StatusCode, body)
	}
	// The connection page's one message (conn-state-body), coloured by meaning: not a yellow
	// box with the status word.
	if !strings.Contains(body, `conn-state" data-state=`) || strings.Contains(body, `class="alert warn not-authorized"`) {
		t.Errorf("screen 2 does not show the connection's own message:\n%s", body)
	}
	android := azdosimtest.Repository(t, e.sim, "android app")
	if resp, _ := b.do("GET", "/ui/new/configure?connection="+id+"&repository="+android.ID, nil); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/ui/new/choose?connection="+id {
		t.Fatalf("screen 3 of an unauthorized connection: %d %v", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Screen 3 names the profile after the repository, chooses the default branch (first in the
// searchable list), runs on pushes and uses a fresh work tree; the branch search narrows and
// bounds the options; the old repository page address opens screen 3.
func TestUIImportConfigureDefaults(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "acme-conn")
	b := e.browser().signIn(e.keys["acme"])
	android := azdosimtest.Repository(t, e.sim, "android app")
	resp, body := b.do("GET", "/ui/new/configure?connection="+id+"&repository="+android.ID, nil)
	opts := regexp.MustCompile(`role="option" id="branch-opt-\d+" data-value="([^"]*)" aria-selected="(true|false)"`).FindAllStringSubmatch(body, -1)
	if resp.StatusCode != 200 || !strings.Contains(inputTag(body, "profile-name"), `value="android app"`) || !strings.Contains(inputTag(body, "branch"), `value="main"`) ||
		!strings.Contains(inputTag(body, "branch"), `role="combobox"`) || len(opts) != 2 || opts[0][1] != "main" || opts[0][2] != "true" || opts[1][1] != "feature/login" ||
		!strings.Contains(inputTag(body, "trigger-push"), "checked") || strings.Contains(inputTag(body, "trigger-pr"), "checked") ||
		!strings.Contains(inputTag(body, "workspace-fresh"), "checked") || !strings.Contains(body, `<li aria-current="step"><span class="step-n" aria-hidden="true">3</span> Configure and run</li>`) ||
		!strings.Contains(body, "Run on pushes to <code data-branch-label>main</code>") || !strings.Contains(body, `id="create-and-run"`) {
		t.Fatalf("defaults: %d %v %s", resp.StatusCode, opts, body)
	}
	resp, body = b.do("GET", "/ui/connections/"+id+"/repositories/"+android.ID+"/branches?default=main&branch=LOGIN", nil, "HX-Request", "true")
	if resp.StatusCode != 200 || !strings.Contains(body, `data-value="feature/login"`) || strings.Contains(body, `data-value="main"`) || !strings.Contains(body, "1 branch contains “LOGIN”.") {
		t.Fatalf("branch search: %d %s", resp.StatusCode, body)
	}
	if resp, _ := b.do("GET", "/ui/connections/"+id+"/repositories/"+android.ID, nil); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/ui/new/configure?connection="+id+"&repository="+android.ID {
		t.Fatalf("old repository page: %d %v", resp.StatusCode, resp.Header.Get("Location"))
	}
	empty := azdosimtest.Repository(t, e.sim, "empty-repo")
	if resp, body := b.do("GET", "/ui/new/configure?connection="+id+"&repository="+empty.ID, nil); resp.StatusCode != 200 ||
		!strings.Contains(body, `data-testid="blocked"`) || strings.Contains(body, `action="/ui/build-profiles"`) {
		t.Fatalf("an empty repository: %d %s", resp.StatusCode, body)
	}
}

// "Create and run" stores the profile with its branch, triggers and workspace, starts its
// first run (a manual run on the profile's runs list) and opens the profile on it.
func TestUIImportCreateAndRun(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "acme-conn")
	b := e.browser().signIn(e.keys["acme"])
	android := azdosimtest.Repository(t, e.sim, "android app")
	form := url.Values{"connectionId": {id}, "repositoryId": {android.ID}, "name": {"android login"}, "branch": {"feature/login"},
		"push": {"1"}, "pullRequest": {"1"}, "workspace": {"reuse"}, "run": {"1"}}
	resp, body := b.do("POST", "/ui/build-profiles", form)
	ps, _, err := e.svc.ListBuildProfiles(context.Background(), "acme", 10, "")
	uiMust(t, err)
	if len(ps) != 1 {
		t.Fatalf("profiles: %v (answer %d %s)", ps, resp.StatusCode, body)
	}
	p := ps[0]
	if p.Name != "android login" || p.Branch != "feature/login" || p.Workspace != services.WorkspaceReuse || p.Triggers == nil ||
		p.Triggers.Push == nil || strings.Join(p.Triggers.Push.Branches, ",") != "feature/login" ||
		p.Triggers.PullRequest == nil || strings.Join(p.Triggers.PullRequest.Branches, ",") != "feature/login" {
		t.Fatalf("stored profile: %+v triggers %+v", p, p.Triggers)
	}
	runs, _, err := e.svc.ListRuns(context.Background(), "acme", p.ID, 10, "")
	uiMust(t, err)
	if len(runs) != 1 || runs[0].Trigger.Kind != services.RunManual {
		t.Fatalf("runs: %v", runs)
	}
	switch resp.StatusCode {
	case http.StatusSeeOther:
		if loc := resp.Header.Get("Location"); loc != "/ui/build-profiles/"+p.ID+"?run="+runs[0].ID {
			t.Fatalf("redirect to %q", loc)
		}
	case http.StatusCreated: // a hook to set up by hand: its password is shown now
		if !strings.Contains(body, "its first run started") || !strings.Contains(body, `data-testid="hook-password"`) {
			t.Fatalf("profile page shown at once: %s", body)
		}
		// Shown at the POST's URL: the page names its own address, so a reload does not post
		// again (app.js replaces the URL with it).
		if !strings.Contains(body, `data-canonical="/ui/build-profiles/`+p.ID+`?run=`+runs[0].ID+`"`) || !strings.Contains(body, `class="alert ok" role="status" data-testid="notice"`) {
			t.Fatalf("the profile page answered to Create and run has no canonical URL or no ok notice:\n%s", body)
		}
	default:
		t.Fatalf("Create and run: %d %s", resp.StatusCode, body)
	}

	// "Create" alone makes no run, and a profile without triggers gets no hook.
	form = url.Values{"connectionId": {id}, "repositoryId": {android.ID}, "name": {"android main"}, "branch": {"main"}, "workspace": {"fresh"}}
	resp, _ = b.do("POST", "/ui/build-profiles", form)
	if resp.StatusCode != http.StatusSeeOther || strings.Contains(resp.Header.Get("Location"), "run=") {
		t.Fatalf("Create: %d %v", resp.StatusCode, resp.Header.Get("Location"))
	}
	loc := resp.Header.Get("Location")
	p2, err := e.svc.GetBuildProfile(context.Background(), "acme", strings.TrimPrefix(loc, "/ui/build-profiles/"))
	uiMust(t, err)
	if runs, _, _ := e.svc.ListRuns(context.Background(), "acme", p2.ID, 10, ""); len(runs) != 0 || p2.Triggers != nil || p2.Hook != nil {
		t.Fatalf("Create alone: runs %v, triggers %+v, hook %+v", runs, p2.Triggers, p2.Hook)
	}
}

var summaryItemRE = regexp.MustCompile(`<li id="([a-zA-Z]+)-problem-\d+"><a href="#([^"]+)">([^<]*)</a></li>`)

// Every problem of the form comes at once, in one summary at the top that takes the focus,
// each linked to its field (which points back to it); the answer is a 4xx and nothing is
// stored.
func TestUIImportValidationSummary(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "acme-conn")
	b := e.browser().signIn(e.keys["acme"])
	android := azdosimtest.Repository(t, e.sim, "android app")
	form := url.Values{"connectionId": {id}, "repositoryId": {android.ID}, "name": {"  "}, "branch": {"no-such-branch"}, "workspace": {"bogus"}, "run": {"1"}, "push": {"1"}}
	resp, body := b.do("POST", "/ui/build-profiles", form)
	items := summaryItemRE.FindAllStringSubmatch(body, -1)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `role="alert" tabindex="-1" data-error-summary`) ||
		!strings.Contains(body, "There are 3 problems:") || len(items) != 3 {
		t.Fatalf("summary: %d %v %s", resp.StatusCode, items, body)
	}
	targets := map[string]string{}
	for _, it := range items {
		targets[it[2]] = html.UnescapeString(it[3])
		if !strings.HasSuffix(it[3], ".") || strings.ToUpper(it[3][:1]) != it[3][:1] {
			t.Errorf("not a sentence: %q", it[3])
		}
	}
	if !strings.Contains(targets["profile-name"], "name") || !strings.Contains(targets["branch"], "has no branch “no-such-branch”") || !strings.Contains(targets["workspace-fresh"], "Fresh or Reuse") {
		t.Fatalf("problems: %v", targets)
	}
	if tag := inputTag(body, "profile-name"); !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, `aria-describedby="name-problem-`) {
		t.Errorf("name field: %s", tag)
	}
	if tag := inputTag(body, "branch"); !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, `value="no-such-branch"`) {
		t.Errorf("branch field: %s", tag)
	}
	for _, it := range items {
		if strings.Count(body, html.EscapeString(html.UnescapeString(it[3]))) != 1 {
			t.Errorf("sentence shown more than once: %q", it[3])
		}
	}
	// A name taken and a missing branch, together.
	_, err := e.svc.CreateBuildProfile(context.Background(), "acme", services.BuildProfileInput{Name: "taken", ConnectionID: id, RepositoryID: android.ID, Branch: "main"})
	uiMust(t, err)
	form = url.Values{"connectionId": {id}, "repositoryId": {android.ID}, "name": {"taken"}, "branch": {""}, "run": {"1"}}
	resp, body = b.do("POST", "/ui/build-profiles", form)
	items = summaryItemRE.FindAllStringSubmatch(body, -1)
	if resp.StatusCode != http.StatusBadRequest || len(items) != 2 || !strings.Contains(body, "exists already") || !strings.Contains(body, "default branch is “main”") {
		t.Fatalf("taken name and no branch: %d %v %s", resp.StatusCode, items, body)
	}
	ps, _, err := e.svc.ListBuildProfiles(context.Background(), "acme", 10, "")
	uiMust(t, err)
	if len(ps) != 1 {
		t.Fatalf("profiles after refused forms: %d", len(ps))
	}
	if runs, _, _ := e.svc.ListRuns(context.Background(), "acme", ps[0].ID, 10, ""); len(runs) != 0 {
		t.Fatalf("runs after refused forms: %v", runs)
	}
}

// A list that cannot be read says why in its own place, with a Retry button that asks again
// (not an alert elsewhere on the page); the retry, once the server answers, shows the list.
func TestUIImportListFailsInPlace(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "acme-conn")
	b := e.browser().signIn(e.keys["acme"])
	e.sim.AddFault(azdosim.Fault{Route: "repositories", Kind: azdosim.Fault500})
	resp, body := b.do("GET", "/ui/connections/"+id+"/repositories?q=app", nil, "HX-Request", "true")
	if resp.StatusCode < 500 || resp.Header.Get("HX-Retarget") != "" || !strings.HasPrefix(body, `<div id="repo-list"`) ||
		!strings.Contains(body, "The repositories could not be loaded.") ||
		!strings.Contains(body, `hx-get="/ui/connections/`+id+`/repositories?q=app" hx-target="#repo-list" hx-swap="outerHTML">Retry</button>`) {
		t.Fatalf("failed list: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	e.sim.ClearFaults()
	if resp, body := b.do("GET", "/ui/connections/"+id+"/repositories?q=app", nil, "HX-Request", "true"); resp.StatusCode != 200 || len(repoItems(body)) != 2 {
		t.Fatalf("retry: %d %s", resp.StatusCode, body)
	}
}

// "New build profile" prefers the remembered connection only while it is authorized;
// otherwise the newest authorized one. A form of screen 3 sent after its connection lost its
// authorization renders no form: the connection's message with a link to its page, the
// repository kept, nothing stored; a repository gone from the connection says so with the
// way back to screen 2.
func TestUIImportUnauthorizedAtSubmit(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	good := e.connect("acme", "good")
	const brokenPAT = "brokenpat0123456789abcdefghijklmnop"
	e.sim.AddPAT(azdosim.PAT{Token: brokenPAT, UserName: "Broken User"})
	time.Sleep(2 * time.Millisecond) // distinct creation times: broken is the newest
	c, err := e.svc.CreateConnection(context.Background(), "acme", services.ConnectionInput{Name: "broken", Type: services.TypeServerPAT,
		ServerURL: e.sim.URL(), Collection: "DefaultCollection", PAT: connections.Secret(brokenPAT)})
	uiMust(t, err)
	broken := c.ID
	android := azdosimtest.Repository(t, e.sim, "android app")
	// Screen 3 is open while the connection is authorized; then its PAT expires.
	resp, body := b.do("GET", "/ui/new/configure?connection="+broken+"&repository="+android.ID, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `maxlength="100"`) {
		t.Fatalf("screen 3: %d (a name field of at most 100 characters, the service's limit)\n%s", resp.StatusCode, body)
	}
	e.sim.AddPAT(azdosim.PAT{Token: brokenPAT, UserName: "Broken User", Expires: time.Now().Add(-time.Hour)})
	if res, err := e.svc.CheckConnection(context.Background(), "acme", broken); err != nil || res.Valid {
		t.Fatalf("check of the expired PAT: %v %v", res, err)
	}

	// The remembered connection (the cookie of screen 2) is not authorized: the newest
	// authorized one is opened instead.
	b.do("GET", "/ui/new/choose?connection="+broken, nil)
	if resp, _ := b.do("GET", "/ui/new", nil); resp.Header.Get("Location") != "/ui/new/choose?connection="+good {
		t.Fatalf("/ui/new with a broken remembered connection: %v, want %s", resp.Header.Get("Location"), good)
	}

	form := url.Values{"connectionId": {broken}, "repositoryId": {android.ID}, "name": {"android"}, "branch": {"main"}, "run": {"1"}}
	resp, body = b.do("POST", "/ui/build-profiles", form)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `data-testid="not-authorized"`) || !strings.Contains(body, `conn-state" data-state=`) ||
		!strings.Contains(body, `<a href="/ui/connections/`+broken+`" data-testid="open-connection">`) || !strings.Contains(body, `data-repository="`+android.ID+`"`) {
		t.Fatalf("submit after the connection lost its authorization: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, `hx-get=""`) || strings.Contains(body, `action="/ui/build-profiles"`) || strings.Contains(body, "data-error-summary") {
		t.Errorf("a form (or an empty hx-get) is rendered for an unauthorized connection:\n%s", body)
	}
	// The repository is gone from the (authorized) connection.
	form = url.Values{"connectionId": {good}, "repositoryId": {"00000000-0000-0000-0000-000000000000"}, "name": {"ghost"}, "branch": {"main"}, "run": {"1"}}
	resp, body = b.do("POST", "/ui/build-profiles", form)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `data-testid="repository-gone"`) || !strings.Contains(body, `href="/ui/new/choose?connection=`+good+`"`) ||
		strings.Contains(body, `action="/ui/build-profiles"`) {
		t.Errorf("submit for a repository gone: %d\n%s", resp.StatusCode, body)
	}
	if ps, _, _ := e.svc.ListBuildProfiles(context.Background(), "acme", 10, ""); len(ps) != 0 {
		t.Fatalf("profiles stored: %v", ps)
	}
	// Every connection not authorized: the remembered one is opened (screen 2 says why).
	e.sim.AddPAT(azdosim.PAT{Token: simPAT, UserName: "UI Tester", Expires: time.Now().Add(-time.Hour)})
	if res, err := e.svc.CheckConnection(context.Background(), "acme", good); err != nil || res.Valid {
		t.Fatalf("check of the expired PAT: %v %v", res, err)
	}
	if resp, _ := b.do("GET", "/ui/new", nil); resp.Header.Get("Location") != "/ui/new/choose?connection="+broken {
		t.Fatalf("/ui/new without an authorized connection: %v, want the remembered %s", resp.Header.Get("Location"), broken)
	}
}
