package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// runActiveProblem checks a 409 run_active answer: problem+json, the code, its type, field
// force, a detail naming run runID and the way on, a Link header to the run.
func runActiveProblem(t *testing.T, what string, code int, raw []byte, hdr http.Header, runID string) {
	t.Helper()
	var p map[string]any
	_ = json.Unmarshal(raw, &p)
	detail, _ := p["detail"].(string)
	if code != http.StatusConflict || hdr.Get("Content-Type") != "application/problem+json" || p["code"] != "run_active" ||
		p["type"] != "urn:repoconnect:problem:run_active" || p["status"] != float64(409) || p["field"] != "force" ||
		!strings.Contains(detail, "run "+runID+" of this build profile is ") || !strings.Contains(detail, `send "force": true`) ||
		hdr.Get("Link") != `</api/v1/runs/`+runID+`>; rel="related"` {
		t.Fatalf("%s: %d %s %s, want 409 run_active naming run %s", what, code, hdr.Get("Content-Type"), raw, runID)
	}
}

// The API refuses a second manual start of a build profile while a run of it is active:
// a double click (two POST .../runs at once; on Redis, on two instances) starts one run and answers the
// other 409 run_active naming it; Clone now (POST .../clones) is refused too; "force": true
// starts another run or clone job (202); once the runs finished, a start goes through again.
// On the embedded store and on Redis.
func TestRunActiveAPI(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, kind string) {
		// The embedded store serves one instance (its clone jobs live in that process); on
		// Redis the two clicks land on two instances.
		n := 1
		if kind == onRedis {
			n = 2
		}
		f := newFleet(t, kind, n, nil)
		pid, held, release := f.heldProfile()
		runs := "/api/v1/build-profiles/" + pid + "/runs"
		clones := "/api/v1/build-profiles/" + pid + "/clones"

		type answer struct {
			code int
			raw  []byte
			hdr  http.Header
		}
		var (
			wg  sync.WaitGroup
			got [2]answer
		)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i].code, got[i].raw, got[i].hdr = f.do(i%n, "acme", "POST", runs, map[string]any{})
			}()
		}
		wg.Wait()
		won, lost := got[0], got[1]
		if won.code != http.StatusAccepted {
			won, lost = lost, won
		}
		var run map[string]any
		_ = json.Unmarshal(won.raw, &run)
		runID, _ := run["id"].(string)
		if won.code != http.StatusAccepted || runID == "" || won.hdr.Get("Location") != "/api/v1/runs/"+runID {
			t.Fatalf("the double click: %d %s and %d %s, want one 202", got[0].code, got[0].raw, got[1].code, got[1].raw)
		}
		runActiveProblem(t, "the second click", lost.code, lost.raw, lost.hdr, runID)
		select {
		case <-held:
		case <-time.After(30 * time.Second):
			t.Fatal("the run's clone did not reach the server")
		}

		code, raw, hdr := f.do(n-1, "acme", "POST", clones, map[string]any{"depth": 1})
		runActiveProblem(t, "Clone now", code, raw, hdr, runID)
		code, raw, hdr = f.do(0, "acme", "POST", runs, map[string]any{"commit": ""})
		runActiveProblem(t, "a run without force", code, raw, hdr, runID)

		code, forced := f.json(n-1, "acme", "POST", runs, map[string]any{"force": true})
		if code != http.StatusAccepted || forced["id"] == runID || forced["trigger"].(map[string]any)["kind"] != "manual" {
			t.Fatalf("a forced run: %d %v", code, forced)
		}
		code, job := f.json(0, "acme", "POST", clones, map[string]any{"depth": 1, "force": true})
		if code != http.StatusAccepted || job["state"] != "queued" {
			t.Fatalf("a forced clone job: %d %v", code, job)
		}
		if code, p := f.json(0, "acme", "POST", runs, map[string]any{"force": "yes"}); code != http.StatusBadRequest {
			t.Fatalf("force not a boolean: %d %v", code, p)
		}

		release()
		_, l := f.json(0, "acme", "GET", runs, nil)
		var ids []string
		for _, r := range l["value"].([]any) {
			ids = append(ids, r.(map[string]any)["id"].(string))
		}
		if len(ids) != 3 {
			t.Fatalf("runs %v, want the first, the forced one and the forced clone job's", ids)
		}
		for _, id := range ids {
			waitFor(t, "run "+id+" to finish", func() bool {
				_, r := f.json(0, "acme", "GET", "/api/v1/runs/"+id, nil)
				return r["state"] == "succeeded" || r["state"] == "failed"
			})
		}
		if code, r := f.json(n-1, "acme", "POST", runs, map[string]any{}); code != http.StatusAccepted {
			t.Fatalf("a run after the others finished: %d %v", code, r)
		}
	})
}
