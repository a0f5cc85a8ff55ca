package gitops

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

func TestParseProgressLine(t *testing.T) {
	cases := []struct {
		line string
		want progressLine
		ok   bool
	}{
		{"Enumerating objects: 12, done.", progressLine{PhaseCounting, 12, 0}, true},
		{"Enumerating objects: 5", progressLine{PhaseCounting, 5, 0}, true},
		{"Counting objects:  50% (5/10)", progressLine{PhaseCounting, 5, 10}, true},
		{"remote: Counting objects: 100% (10/10), done.", progressLine{PhaseCounting, 10, 10}, true},
		{"Counting objects: 12, done.", progressLine{PhaseCounting, 12, 0}, true},
		{"Compressing objects: 100% (3/3), done.", progressLine{PhaseCompressing, 3, 3}, true},
		{"remote: Compressing objects:   0% (0/3)   ", progressLine{PhaseCompressing, 0, 3}, true},
		{"Total 12 (delta 2), reused 0 (delta 0), pack-reused 0", progressLine{PhaseReceiving, 12, 12}, true},
		{"remote: Total 3 (delta 0), reused 0 (delta 0)", progressLine{PhaseReceiving, 3, 3}, true},
		{"remote: Azure Repos", progressLine{}, false},
		{"Receiving objects:  50% (1/2)", progressLine{}, false},
		{"Counting objects: lots", progressLine{}, false},
		{"", progressLine{}, false},
	}
	for _, c := range cases {
		got, ok := parseProgressLine(c.line)
		if got != c.want || ok != c.ok {
			t.Errorf("parseProgressLine(%q) = %+v, %v; want %+v, %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

// TestLineWriterSplits feeds the same sideband text in chunks of every size and at every
// two-way split: the lines must come out the same.
func TestLineWriterSplits(t *testing.T) {
	text := "Enumerating objects: 12, done.\nCounting objects:  50% (6/12)\rCounting objects: 100% (12/12)\r" +
		"Counting objects: 100% (12/12), done.\r\nremote: Compressing objects: 100% (7/7), done.\n" +
		"Total 12 (delta 1), reused 0 (delta 0), pack-reused 0\nunterminated"
	want := []string{"Enumerating objects: 12, done.", "Counting objects:  50% (6/12)", "Counting objects: 100% (12/12)",
		"Counting objects: 100% (12/12), done.", "remote: Compressing objects: 100% (7/7), done.",
		"Total 12 (delta 1), reused 0 (delta 0), pack-reused 0"}
	feed := func(chunks [][]byte) []string {
		var got []string
		w := &lineWriter{fn: func(s string) { got = append(got, s) }}
		for _, c := range chunks {
			if n, err := w.Write(c); n != len(c) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		return got
	}
	for size := 1; size <= 13; size++ {
		var chunks [][]byte
		for b := []byte(text); len(b) > 0; b = b[min(size, len(b)):] {
			chunks = append(chunks, b[:min(size, len(b))])
		}
		if got := feed(chunks); !reflect.DeepEqual(got, want) {
			t.Fatalf("chunks of %d: %q", size, got)
		}
	}
	for i := range len(text) {
		if got := feed([][]byte{[]byte(text[:i]), []byte(text[i:])}); !reflect.DeepEqual(got, want) {
			t.Fatalf("split at %d: %q", i, got)
		}
	}
	long := feed([][]byte{bytes.Repeat([]byte("x"), maxLine+1), []byte("\nTotal 1\n")})
	if !reflect.DeepEqual(long, []string{"Total 1"}) {
		t.Errorf("an overlong line was not dropped: %q", long)
	}
}

// TestTrackerThrottles drives the tracker with a fake clock: phase changes are reported at
// once, other changes at most every progressInterval, lines of an earlier phase are ignored.
func TestTrackerThrottles(t *testing.T) {
	now := time.Unix(1000, 0)
	var got []Progress
	tr := &tracker{report: func(p Progress) { got = append(got, p) }, now: func() time.Time { return now }}
	tr.lines.fn = tr.line
	write := func(s string) { _, _ = tr.lines.Write([]byte(s)) }

	write("Counting objects:  10% (1/10)\r")   // phase change: reported
	write("Counting objects:  20% (2/10)\r")   // same phase, too soon: not reported
	now = now.Add(progressInterval)            //
	write("Counting objects:  30% (3/10)\r")   // reported
	write("Compressing objects:  50% (1/2)\r") // phase change
	write("Counting objects: 100% (10/10)\n")  // earlier phase: ignored
	write("Total 10 (delta 0)\n")              // receiving
	want := []Progress{{Phase: PhaseCounting, ObjectsDone: 1, ObjectsTotal: 10}, {Phase: PhaseCounting, ObjectsDone: 3, ObjectsTotal: 10},
		{Phase: PhaseCompressing, ObjectsDone: 1, ObjectsTotal: 2}, {Phase: PhaseReceiving, ObjectsDone: 10, ObjectsTotal: 10}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reports\n%+v\nwant\n%+v", got, want)
	}
}

// TestOnProgressRealClone clones from the simulator: the phases only move forward, the last
// report is done with all objects and a positive byte count, and nothing comes after Clone.
func TestOnProgressRealClone(t *testing.T) {
	const pat = "progresstestpat0123456789"
	sim := azdosimtest.Start(t, azdosim.Options{Seed: true}, azdosim.PAT{Token: pat})
	r := azdosimtest.Repository(t, sim, "ios-app")
	var (
		mu      sync.Mutex
		reports []Progress
		busy    bool
	)
	var sideband bytes.Buffer
	res, err := Clone(context.Background(), CloneOptions{
		Door: LoopbackDoor, URL: sim.URL() + "/DefaultCollection/" + url.PathEscape(r.ProjectName) + "/_git/" + url.PathEscape(r.Name),
		Dir: filepath.Join(t.TempDir(), "clone"), PAT: pat, Progress: &sideband,
		OnProgress: func(p Progress) {
			mu.Lock()
			if busy {
				t.Error("OnProgress called concurrently")
			}
			busy = true
			mu.Unlock()
			defer func() { mu.Lock(); busy = false; mu.Unlock() }()
			mu.Lock()
			reports = append(reports, p)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) < 2 || reports[0].Phase != PhaseConnecting {
		t.Fatalf("reports %+v", reports)
	}
	for i := 1; i < len(reports); i++ {
		if phaseRank[reports[i].Phase] < phaseRank[reports[i-1].Phase] || reports[i].BytesReceived < reports[i-1].BytesReceived {
			t.Errorf("report %d went backwards: %+v", i, reports)
		}
	}
	last := reports[len(reports)-1]
	if last.Phase != PhaseDone || last.BytesReceived <= 0 || last.ObjectsTotal <= 0 || last.ObjectsDone != last.ObjectsTotal {
		t.Errorf("last report %+v", last)
	}
	seen := map[string]bool{}
	for _, p := range reports {
		seen[p.Phase] = true
	}
	for _, ph := range []string{PhaseCounting, PhaseReceiving, PhaseCheckout} {
		if !seen[ph] {
			t.Errorf("phase %s not reported: %+v", ph, reports)
		}
	}
	if sideband.Len() == 0 {
		t.Error("the Progress writer got nothing beside OnProgress")
	}
	if len(res.Commit) != 40 {
		t.Errorf("result %+v", res)
	}
}

// TestOnProgressFailure: a failed clone reports no done phase.
func TestOnProgressFailure(t *testing.T) {
	const pat = "progresstestpat0123456789"
	sim := azdosimtest.Start(t, azdosim.Options{Seed: true}, azdosim.PAT{Token: pat})
	r := azdosimtest.Repository(t, sim, "ios-app")
	var phases []string
	_, err := Clone(context.Background(), CloneOptions{
		Door: LoopbackDoor, URL: sim.URL() + "/DefaultCollection/" + url.PathEscape(r.ProjectName) + "/_git/" + url.PathEscape(r.Name),
		Dir: filepath.Join(t.TempDir(), "clone"), PAT: pat, Branch: "nope",
		OnProgress: func(p Progress) { phases = append(phases, p.Phase) },
	})
	if err == nil {
		t.Fatal("a clone of a missing branch succeeded")
	}
	if len(phases) == 0 || phases[0] != PhaseConnecting || phases[len(phases)-1] == PhaseDone {
		t.Errorf("phases %v", phases)
	}
}
