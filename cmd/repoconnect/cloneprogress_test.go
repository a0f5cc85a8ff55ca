package main

import (
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/gitops"
)

// writes records each Write call apart.
type writes struct{ calls []string }

func (w *writes) Write(p []byte) (int, error) {
	w.calls = append(w.calls, string(p))
	return len(p), nil
}

// Without a terminal every write is one whole line ending in a newline, with no carriage
// return: the start, a line every lineEvery of a long phase, one line per phase at its end.
func TestCloneProgressWholeLines(t *testing.T) {
	w := &writes{}
	p := newCloneProgress(w)
	if p.tty {
		t.Fatal("a buffer is not a terminal")
	}
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return now }
	p.start("https://dev.azure.com/o/p/_git/r", "/tmp/r")
	p.report(gitops.Progress{Phase: gitops.PhaseConnecting})
	for i := int64(1); i <= 50; i++ { // 50 reports 1 s apart; the phase began at the first: 4 periodic lines
		now = now.Add(time.Second)
		p.report(gitops.Progress{Phase: gitops.PhaseReceiving, ObjectsDone: i * 10, ObjectsTotal: 500, BytesReceived: i << 20})
	}
	p.report(gitops.Progress{Phase: gitops.PhaseCheckout, ObjectsDone: 3, ObjectsTotal: 3})
	p.report(gitops.Progress{Phase: gitops.PhaseDone})
	p.done()

	for _, c := range w.calls {
		if !strings.HasSuffix(c, "\n") || strings.Count(c, "\n") != 1 || strings.Contains(c, "\r") {
			t.Errorf("a write that is not one whole line: %q", c)
		}
	}
	all := strings.Join(w.calls, "")
	if !strings.HasPrefix(all, "cloning https://dev.azure.com/o/p/_git/r into /tmp/r\n") {
		t.Errorf("no start line:\n%s", all)
	}
	if n := strings.Count(all, "receiving   "); n != 5 || strings.Count(all, " …\n") != 4 {
		t.Errorf("%d receiving lines, want 4 while running and 1 at the end:\n%s", n, all)
	}
	for _, want := range []string{"receiving   110/500 objects, 11.0 MiB …\n", "receiving   500/500 objects, 50.0 MiB\n", "checkout    3/3 files,"} {
		if !strings.Contains(all, want) {
			t.Errorf("progress lacks %q:\n%s", want, all)
		}
	}
}
