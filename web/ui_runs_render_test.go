package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

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
