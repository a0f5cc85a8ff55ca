package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

// A run's row and page show what results reporting recorded in run.report, in words: each
// posted status ("commitStatus:failed" as "Commit status: failed") and the reason posting
// failed as a sentence; "none" when nothing was posted. A pull-request run links to
// {repository web URL}/pullrequest/{id}.
func TestUIRunReportRendered(t *testing.T) {
	pages := loadPages()
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	p := &store.BuildProfile{ID: "p1", Name: "ios", RemoteURL: "https://dev.azure.com/fabrikam/Fabrikam/_git/ios-app"}
	withReport := &store.Run{ID: "r1", BuildProfileID: "p1", State: "failed", Commit: strings.Repeat("ab", 20), CreatedAt: at, FinishedAt: &at,
		Trigger: store.RunTrigger{Kind: "pullRequest", Ref: "refs/pull/7/merge", PullRequestID: 7},
		Report:  &store.RunReport{Statuses: []string{"commitStatus:failed", "pullRequestStatus:failed", "thread:succeeded"}, Error: "posting the thread: 403 forbidden"}}
	bare := &store.Run{ID: "r2", BuildProfileID: "p1", State: "queued", CreatedAt: at, Trigger: store.RunTrigger{Kind: "manual", Ref: "refs/heads/main"}}
	render := func(name string, data any) string {
		var b bytes.Buffer
		if err := pages[""].ExecuteTemplate(&b, name, data); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	row := render("run-row", newRunRow(p, withReport))
	for _, want := range []string{">Commit status: failed<", ">Pull request status: failed<", ">Pull request comment: succeeded<",
		`data-testid="report-error">Posting the thread: 403 forbidden.<`, `href="https://dev.azure.com/fabrikam/Fabrikam/_git/ios-app/pullrequest/7"`, ">abababab<"} {
		if !strings.Contains(row, want) {
			t.Errorf("row lacks %q:\n%s", want, row)
		}
	}
	row = render("run-row", newRunRow(p, bare))
	if !strings.Contains(row, `<span class="muted">none</span>`) || strings.Contains(row, "report") || strings.Contains(row, "pr-link") {
		t.Errorf("a run without report or pull request:\n%s", row)
	}
	var b bytes.Buffer
	if err := pages["run"].ExecuteTemplate(&b, "layout", pageData{Title: "Run", Data: runData{Profile: p, Run: newRunRow(p, withReport)}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Posting the thread: 403 forbidden.") || strings.Contains(b.String(), "commitStatus:") || !strings.Contains(b.String(), "pull request #7") {
		t.Errorf("run page:\n%s", b.String())
	}
}

// The profile page: a notice keeps its class (a profile created whose first run did not
// start is a warning, not green); a page answered to a POST names its own address in
// data-canonical; the breadcrumb ends with the page's name; a past run's failure is history
// (no role=alert); the hook's fixes are links: the connection page's #authorize (sign in
// again for an OAuth connection, replace the PAT for a PAT one) and the project's service
// hooks settings; a hook not checked in time says so.
func TestUIProfilePageRendered(t *testing.T) {
	pages := loadPages()
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	p := &store.BuildProfile{ID: "p1", Name: "ios", ProjectName: "Fabrikam Web", RepositoryName: "ios-app", Hook: &store.Hook{ID: "h1"}}
	failed := newRunRow(p, &store.Run{ID: "r1", BuildProfileID: "p1", State: "failed", CreatedAt: at, FinishedAt: &at, Error: "the branch is gone",
		Trigger: store.RunTrigger{Kind: "manual", Ref: "refs/heads/main"}})
	patConn := &services.Connection{ID: "c1", Name: "fabrikam", Type: services.TypeServerPAT, ServerURL: "https://tfs.example.com/tfs", Collection: "DefaultCollection"}
	oauthConn := &services.Connection{ID: "c2", Name: "contoso", Type: "services-oauth", ServerURL: "https://dev.azure.com", Collection: "contoso", OAuth: &services.OAuthView{}}
	render := func(d profileData) string {
		t.Helper()
		var b bytes.Buffer
		if err := pages["profile"].ExecuteTemplate(&b, "layout", pageData{Title: "ios", Data: d}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	body := render(profileData{Profile: p, Conn: patConn, Notice: "Build profile created, but its first run did not start: No.", NoticeClass: "warn",
		Canonical: "/ui/build-profiles/p1?run=r1", Runs: []runRow{failed}, Panel: runPanel{Run: &failed},
		Hook: &hookView{State: services.HookManual, Reason: services.ManualNeedsScope}, HookUnchecked: true})
	for _, want := range []string{`<p class="alert warn" role="status" data-testid="notice"`, `data-canonical="/ui/build-profiles/p1?run=r1"`,
		`<span aria-current="page">ios</span></nav>`, `<div class="alert error" data-testid="run-error">`,
		`<a href="/ui/connections/c1#authorize" data-testid="hook-fix-replace-pat">Replace the PAT`,
		`href="https://tfs.example.com/tfs/DefaultCollection/Fabrikam%20Web/_settings/serviceHooks"`, `data-testid="hook-unchecked"`,
		`name="hook" value="h1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("profile page lacks %q", want)
		}
	}
	if strings.Contains(body, `role="alert" data-testid="run-error"`) || strings.Contains(body, "› </p>") || strings.Contains(body, "hook-fix-reauthorize") {
		t.Errorf("profile page: a past failure as an alert, a bare › or the OAuth fix for a PAT connection:\n%s", body)
	}
	body = render(profileData{Profile: p, Conn: oauthConn, Notice: "Triggers saved.", Hook: &hookView{State: services.HookManual, Reason: services.ManualNeedsScope}})
	if !strings.Contains(body, `<p class="alert ok" role="status" data-testid="notice"`) || !strings.Contains(body, `<a href="/ui/connections/c2#authorize" data-testid="hook-fix-reauthorize">`) ||
		strings.Contains(body, "data-canonical") || strings.Contains(body, "hook-unchecked") {
		t.Errorf("profile page of an OAuth connection:\n%s", body)
	}
	body = render(profileData{Profile: p, Conn: oauthConn, Hook: &hookView{State: services.HookFailing}})
	if !strings.Contains(body, `data-testid="hook-fix-settings"`) || !strings.Contains(body, "https://dev.azure.com/contoso/Fabrikam%20Web/_settings/serviceHooks") {
		t.Errorf("a failing hook does not link the project's service hooks settings:\n%s", body)
	}
}

// The run page's facts refresh when its live clone ends (hx-get of the run-facts fragment on
// htmx:sseClose), and a facts answer whose run has not finished asks again a moment later; a
// finished run's facts ask nothing more.
func TestUIRunFactsRendered(t *testing.T) {
	pages := loadPages()
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	p := &store.BuildProfile{ID: "p1", Name: "ios"}
	running := newRunRow(p, &store.Run{ID: "r1", BuildProfileID: "p1", State: "running", CreatedAt: at, CloneJobID: "j1",
		Trigger: store.RunTrigger{Kind: "manual", Ref: "refs/heads/main"}})
	done := newRunRow(p, &store.Run{ID: "r1", BuildProfileID: "p1", State: "succeeded", CreatedAt: at, FinishedAt: &at, Commit: strings.Repeat("cd", 20),
		Source: services.SourceCache, Stats: &store.CloneStats{FetchedObjects: 0}, Trigger: store.RunTrigger{Kind: "manual", Ref: "refs/heads/main"}})
	var b bytes.Buffer
	if err := pages["run"].ExecuteTemplate(&b, "layout", pageData{Title: "Run", Data: runData{Profile: p, Run: running,
		Live: &cloneViewData{Job: services.CloneJob{ID: "j1", State: services.CloneRunning}}}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `hx-get="/ui/build-profiles/p1/runs/r1/facts?tries=0" hx-swap="outerHTML" hx-trigger="htmx:sseClose from:body"`) ||
		!strings.Contains(b.String(), `<span aria-current="page">Run r1</span></nav>`) {
		t.Errorf("live run page:\n%s", b.String())
	}
	frag := func(d runData) string {
		var b bytes.Buffer
		if err := pages[""].ExecuteTemplate(&b, "run-facts", d); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if f := frag(runData{Profile: p, Run: running, Refresh: true, Tries: 1}); !strings.Contains(f, `facts?tries=1" hx-swap="outerHTML" hx-trigger="load delay:1s"`) {
		t.Errorf("unfinished facts do not ask again:\n%s", f)
	}
	f := frag(runData{Profile: p, Run: done, Tries: 1})
	if strings.Contains(f, "hx-get") || !strings.Contains(f, strings.Repeat("cd", 20)) || !strings.Contains(f, "From the repository cache") ||
		!strings.Contains(f, `data-finished="true"`) || strings.Contains(f, "Not finished") {
		t.Errorf("finished facts:\n%s", f)
	}
}
