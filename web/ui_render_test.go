package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services"
)

// The clone panel says what happened in each state: a failure is an alert with the API's
// problem as a sentence, a success shows the commit and the path taken, a running clone a line
// that reads right in its phase (bytes while receiving, never "0 of N" objects) and a bar.
func TestUIClonePanel(t *testing.T) {
	pages := loadPages()
	done := time.Date(2026, 11, 22, 8, 0, 1, 500_000_000, time.UTC)
	failure := connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound, "the branch feature/gone does not exist in the repository any more")
	cases := []struct {
		name    string
		job     services.CloneJob
		want    []string
		notWant []string
	}{
		{"running", services.CloneJob{ID: "j1", State: services.CloneRunning,
			Progress: gitops.Progress{Phase: gitops.PhaseReceiving, ObjectsDone: 5, ObjectsTotal: 20, BytesReceived: 3 << 20}},
			[]string{`data-state="running"`, "Receiving: 3.0 MiB (20 objects)", `<progress id="clone-bar-j1" aria-label="Clone progress" >`, "3.0 MiB"},
			[]string{"role=\"alert\"", "data-testid=\"commit\"", "5 of 20", "value="}},
		{"succeeded", services.CloneJob{ID: "j2", State: services.CloneSucceeded, CreatedAt: done.Add(-1500 * time.Millisecond), FinishedAt: &done,
			Progress: gitops.Progress{Phase: gitops.PhaseDone, ObjectsDone: 20, ObjectsTotal: 20, BytesReceived: 2048},
			Result:   &gitops.Result{Commit: strings.Repeat("ab", 20), Branch: "main", Source: gitops.SourceCache}},
			[]string{`data-state="succeeded"`, "Cloned in 1.5s.", strings.Repeat("ab", 20), "2.0 KiB", `data-source="cache">From the repository cache<`},
			[]string{"<progress", "role=\"alert\""}},
		{"failed", services.CloneJob{ID: "j3", State: services.CloneFailed, FinishedAt: &done, Err: failure},
			[]string{`data-state="failed"`, "The clone failed.", `role="alert"`, "The branch feature/gone does not exist in the repository any more.", `data-code="not_found"`},
			[]string{"<progress", "data-testid=\"commit\"", ".."}},
		// The user's own Cancel: said once, as information, not in red.
		{"cancelled", services.CloneJob{ID: "j4", State: services.CloneFailed, FinishedAt: &done, Err: services.ErrCloneCancelled},
			[]string{`class="clone-headline alert info" role="status" data-code="cancelled"`, "<strong>The clone was cancelled:</strong> nothing of it was kept.</p>"},
			[]string{"<progress", `role="alert"`, "alert error", "The clone failed.", "before it finished"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := pages[""].ExecuteTemplate(&b, "clone-progress", cloneView(&c.job)); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("panel lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(b.String(), w) {
					t.Errorf("panel has %q:\n%s", w, b.String())
				}
			}
		})
	}
}

// sseEvent writes every line of a multi-line fragment as its own data field.
func TestSSEEventSplitsLines(t *testing.T) {
	got := sseEvent("done", "<p>\r\n a</p>\n<b>")
	if want := "event: done\ndata: <p>\ndata:  a</p>\ndata: <b>\n\n"; got != want {
		t.Fatalf("sseEvent = %q, want %q", got, want)
	}
}
