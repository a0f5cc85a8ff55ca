package web

import (
	"bytes"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services"
)

// The live panel's line and bar read right in each phase of a clone (gitops.Phase*): bytes
// while receiving (with the objects' count once the server gave it, never "0 of N" objects
// while megabytes arrive), deltas while resolving and files while checking out, each with a
// bar of done/total; the bar is indeterminate (no value) where no total is known.
func TestUIClonePhaseWording(t *testing.T) {
	pages := loadPages()
	cases := []struct {
		p       gitops.Progress
		line    string
		bar     string // the <progress> element's attributes after its label
		notWant []string
	}{
		{gitops.Progress{Phase: gitops.PhaseConnecting}, "Connecting to the server", ` >`, nil},
		{gitops.Progress{Phase: gitops.PhaseCounting, ObjectsDone: 7737}, "Counting objects on the server: 7,737", ` >`, nil},
		{gitops.Progress{Phase: gitops.PhaseCompressing, ObjectsDone: 50, ObjectsTotal: 200}, "Compressing objects on the server: 50 of 200", ` max="100" value="25">`, nil},
		{gitops.Progress{Phase: gitops.PhaseReceiving, ObjectsDone: 0, ObjectsTotal: 7737, BytesReceived: 28101018},
			"Receiving: 26.7 MiB (7,737 objects)", ` >`, []string{"0 of 7,737", "0 of 7737", "value="}},
		{gitops.Progress{Phase: gitops.PhaseReceiving, BytesReceived: 12_897_485}, "Receiving: 12.3 MiB", ` >`, []string{"objects", "value="}},
		{gitops.Progress{Phase: gitops.PhaseResolving, ObjectsDone: 340, ObjectsTotal: 1200, BytesReceived: 30 << 20}, "Resolving deltas: 340 of 1,200", ` max="100" value="28">`, nil},
		{gitops.Progress{Phase: gitops.PhaseCheckout, ObjectsDone: 80, ObjectsTotal: 200, BytesReceived: 30 << 20}, "Checking out files: 80 of 200", ` max="100" value="40">`, []string{"objects"}},
		{gitops.Progress{Phase: gitops.PhaseCheckout}, "Checking out files", ` >`, []string{"of 0"}},
	}
	for _, c := range cases {
		t.Run(c.p.Phase+"/"+c.line, func(t *testing.T) {
			job := services.CloneJob{ID: "j1", State: services.CloneRunning, Progress: c.p}
			var b bytes.Buffer
			if err := pages[""].ExecuteTemplate(&b, "clone-progress", cloneView(&job)); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if !strings.Contains(got, `<span data-testid="phase-line">`+c.line+`</span>`) {
				t.Errorf("line: want %q in\n%s", c.line, got)
			}
			if !strings.Contains(got, `<progress id="clone-bar-j1" aria-label="Clone progress"`+c.bar) {
				t.Errorf("bar: want attributes %q in\n%s", c.bar, got)
			}
			for _, w := range c.notWant {
				if strings.Contains(got, w) {
					t.Errorf("panel has %q:\n%s", w, got)
				}
			}
		})
	}
	if got := groupDigits(1234567); got != "1,234,567" {
		t.Errorf("groupDigits(1234567) = %q", got)
	}
	if got := groupDigits(999); got != "999" {
		t.Errorf("groupDigits(999) = %q", got)
	}
}

// The path a run took, the statuses it posted and the hook's state read as words; every
// hook sentence starts with a capital and ends with one full stop.
func TestUIRunWords(t *testing.T) {
	for src, want := range map[string]string{"cold": "Full clone from the server", "cache": "From the repository cache",
		"workspace": "Reused workspace, updated in place", "": ""} {
		if got := sourceWords(src); got != want {
			t.Errorf("sourceWords(%q) = %q, want %q", src, got, want)
		}
	}
	for in, want := range map[string]string{"commitStatus:pending": "Commit status: pending",
		"pullRequestStatus:succeeded": "Pull request status: succeeded", "thread:failed": "Pull request comment: failed"} {
		if got := postedWords(in); got != want {
			t.Errorf("postedWords(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range [][2]string{{services.HookSubscribed, ""}, {services.HookFailing, ""}, {services.HookManual, ""},
		{services.HookManual, services.ManualCannotManage}, {services.HookManual, services.ManualNeedsScope},
		{services.HookManual, services.ManualNoURL}, {services.HookManual, services.ManualUpstream}} {
		w := hookWords(c[0], c[1])
		if w == "" || strings.ToUpper(w[:1]) != w[:1] || !strings.HasSuffix(w, ".") || strings.HasSuffix(w, "..") || strings.Contains(w, ".;") {
			t.Errorf("hookWords(%q, %q) = %q: not one sentence", c[0], c[1], w)
		}
	}
}
