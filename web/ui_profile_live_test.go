package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	runsSigRE  = regexp.MustCompile(`<input type="hidden" name="sig" value="([^"]+)">`)
	cloneNowRE = regexp.MustCompile(`<button type="submit" id="clone-now"[^>]*>`)
)

// apiRuns is the profile's runs as GET /api/v1/build-profiles/{id}/runs answers them.
func apiRuns(t *testing.T, f *fleet, pid string) []map[string]any {
	t.Helper()
	code, res := f.json(0, "acme", "GET", "/api/v1/build-profiles/"+pid+"/runs", nil)
	if code != http.StatusOK {
		t.Fatalf("runs: %d %v", code, res)
	}
	var out []map[string]any
	for _, r := range res["value"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

// Clone now is guarded: while a run of the profile is running the page renders the button
// disabled with the reason and follows the run live (a reload reconnects to its job's
// events); a second manual start without force is refused in place (409 run_active) with a
// "Start another run anyway" button, and force=1 starts it. The runs fragment the page polls
// answers 204 when nothing changed, and sends the form and the live panel out of band when
// they changed. Once the runs end the button is back and a reload shows the last result.
func TestUIProfileCloneGuardAndForce(t *testing.T) {
	f := newFleet(t, onBolt, 1, nil)
	pid, held, release := f.heldProfile()
	b := newUIBrowser(t, f.apis[0].URL).signIn(f.keys["acme"])
	page := "/ui/build-profiles/" + pid

	_, body := b.do("GET", page, nil)
	if btn := cloneNowRE.FindString(body); btn != `<button type="submit" id="clone-now">` || strings.Contains(body, `data-testid="clone-blocked"`) ||
		!strings.Contains(body, `data-testid="no-runs"`) || !strings.Contains(body, `hx-disabled-elt="find button[type=submit]"`) {
		t.Fatalf("a profile without runs: %q\n%s", btn, body)
	}

	job := startHeldClone(t, b, pid, held) // ui_cancel_test.go
	resp, body := b.do("GET", page, nil)
	for _, want := range []string{`<button type="submit" id="clone-now" disabled aria-describedby="clone-blocked">`, `data-testid="clone-blocked"`,
		`sse-connect="/ui/clones/` + job + `/events"`, `data-runs-active="true"`, `<input type="hidden" name="blocked" value="1">`, `data-state="running"`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("reload with a running run lacks %q", want)
		}
	}
	// The run's own page follows it live too.
	runID := apiRuns(t, f, pid)[0]["id"].(string)
	if resp, rb := b.do("GET", page+"/runs/"+runID, nil); resp.StatusCode != http.StatusOK || !strings.Contains(rb, `sse-connect="/ui/clones/`+job+`/events"`) ||
		!strings.Contains(rb, `data-testid="cancel-clone"`) {
		t.Errorf("the running run's page: %d\n%s", resp.StatusCode, rb)
	}
	sig := runsSigRE.FindStringSubmatch(body)
	if sig == nil {
		t.Fatalf("no signature in the runs list:\n%s", body)
	}

	// The poll: unchanged → 204; the page showing another state → the parts out of band.
	frag := page + "/runs"
	resp, body = b.do("GET", frag+"?"+url.Values{"blocked": {"1"}, "shown": {job}, "sig": {sig[1]}}.Encode(), nil, "HX-Request", "true")
	if resp.StatusCode != http.StatusNoContent || body != "" {
		t.Errorf("unchanged poll: %d %q", resp.StatusCode, body)
	}
	resp, body = b.do("GET", frag, nil, "HX-Request", "true")
	for _, want := range []string{`data-runs-active="true"`, `<div id="clone-form" class="clone-form" data-blocked="true" hx-swap-oob="true">`,
		`<section id="clone" hx-swap-oob="innerHTML">`, `sse-connect="/ui/clones/` + job + `/events"`, `data-kind="manual"`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("poll from a page showing nothing lacks %q:\n%s", want, body)
		}
	}
	if resp, _ := b.do("GET", frag, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"#runs" {
		t.Errorf("the fragment as a page: %d %v", resp.StatusCode, resp.Header)
	}
	other := newUIBrowser(t, f.apis[0].URL).signIn(f.keys["other"])
	if resp, _ := other.do("GET", frag, nil, "HX-Request", "true"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another tenant's runs: %d", resp.StatusCode)
	}

	// A second Clone now (a second tab, or a click the page did not stop): refused in place.
	resp, body = b.do("POST", page+"/clones", url.Values{"shallow": {"1"}}, "HX-Request", "true")
	for _, want := range []string{`<div class="clone-refused" data-code="run_active">`, `role="alert"`, `name="force" value="1"`,
		`name="shallow" value="1"`, `data-testid="force-run">Start another run anyway</button>`, ": wait for it to end, or start another run anyway."} {
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, want) {
			t.Errorf("second start: %d lacks %q:\n%s", resp.StatusCode, want, body)
		}
	}
	if resp.Header.Get("HX-Retarget") != "" || strings.Contains(body, ".;") || strings.Contains(body, "..") {
		t.Errorf("the refusal is not shown in place as sentences: %v\n%s", resp.Header, body)
	}
	if n := len(apiRuns(t, f, pid)); n != 1 {
		t.Fatalf("the refused start made a run: %d runs", n)
	}
	resp, body = b.do("POST", page+"/clones", url.Values{"force": {"1"}}, "HX-Request", "true")
	m := sseConnectRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || m[1] == job {
		t.Fatalf("forced start: %d\n%s", resp.StatusCode, body)
	}
	if n := len(apiRuns(t, f, pid)); n != 2 {
		t.Fatalf("after the forced start: %d runs", n)
	}

	release()
	deadline := time.Now().Add(time.Minute)
	for {
		runs := apiRuns(t, f, pid)
		if runs[0]["state"] == "succeeded" && runs[1]["state"] == "succeeded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the runs did not end: %v", runs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	runs := apiRuns(t, f, pid)
	resp, body = b.do("GET", page, nil)
	for _, want := range []string{`<button type="submit" id="clone-now">`, `class="run-result" data-run="` + runs[0]["id"].(string) + `" data-state="succeeded"`,
		`data-testid="commit">` + runs[0]["commit"].(string) + "<", `data-testid="clone-source" data-source="cold">Full clone from the server`,
		`data-testid="elapsed">`, `data-testid="clone-path">`, `data-runs-active="false"`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("reload after the runs lacks %q", want)
		}
	}
	if strings.Contains(body, `data-testid="clone-blocked"`) || strings.Contains(body, "sse-connect") {
		t.Errorf("reload after the runs still blocks or follows:\n%s", body)
	}
	// ?run= (where "Create and run" lands) shows that run, not the newest.
	first := runs[1]["id"].(string)
	if _, body = b.do("GET", page+"?run="+first, nil); !strings.Contains(body, `class="run-result" data-run="`+first+`"`) {
		t.Errorf("?run= does not show that run:\n%s", body)
	}
	// The poll after the runs ended, from a page that still showed Clone now off: the form back.
	resp, body = b.do("GET", frag+"?blocked=1", nil, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-blocked="false" hx-swap-oob="true"`) || strings.Contains(body, `hx-swap-oob="innerHTML"`) {
		t.Errorf("poll after the runs: %d\n%s", resp.StatusCode, body)
	}
}

// A run that failed is shown after a reload with its error as a sentence, and Clone now is
// offered again; right after a Cancel, Clone now starts a new run (the cancelled run's record
// may still read running for a moment: the job has the last word).
func TestUIProfileReloadShowsFailureAndCancelFreesCloneNow(t *testing.T) {
	f := newFleet(t, onBolt, 1, nil)
	pid, held, _ := f.heldProfile()
	b := newUIBrowser(t, f.apis[0].URL).signIn(f.keys["acme"])
	page := "/ui/build-profiles/" + pid
	job := startHeldClone(t, b, pid, held)
	if resp, _ := b.do("POST", "/ui/clones/"+job+"/cancel", url.Values{}, "HX-Request", "true"); resp.StatusCode != http.StatusOK {
		t.Fatalf("cancel: %d", resp.StatusCode)
	}
	resp, body := b.do("GET", page, nil)
	if resp.StatusCode != http.StatusOK || cloneNowRE.FindString(body) != `<button type="submit" id="clone-now">` {
		t.Fatalf("right after the cancel Clone now is off:\n%s", body)
	}
	if !strings.Contains(body, "nothing of it was kept") && !strings.Contains(body, "failed.") {
		t.Errorf("reload after the cancel does not say the run ended:\n%s", body)
	}
	// A cancelled clone says so once, as information (the user's own action), not in red.
	if strings.Contains(body, `data-code="cancelled"`) {
		if n := strings.Count(body, "cancelled"); strings.Contains(body, `class="alert error" role="alert" data-code="cancelled"`) ||
			!strings.Contains(body, `class="clone-headline alert info" role="status" data-code="cancelled"`) {
			t.Errorf("the cancelled clone is not one info message (%d mentions):\n%s", n, body)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for apiRuns(t, f, pid)[0]["state"] != "failed" {
		if time.Now().After(deadline) {
			t.Fatal("the cancelled run did not fail")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, body = b.do("GET", page, nil)
	for _, want := range []string{`class="run-result"`, `data-state="failed"`, `data-testid="run-error"><strong>The run failed.</strong> `} {
		if !strings.Contains(body, want) {
			t.Errorf("reload after the failed run lacks %q:\n%s", want, body)
		}
	}
	if resp, body := b.do("POST", page+"/clones", url.Values{}, "HX-Request", "true"); resp.StatusCode != http.StatusOK || !sseConnectRE.MatchString(body) {
		t.Fatalf("Clone now after the cancel: %d %s", resp.StatusCode, body)
	}
}
