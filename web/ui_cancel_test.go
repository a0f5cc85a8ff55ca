package web_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// cancelFormOf is the start of the Cancel form of job id in a progress panel.
func cancelFormOf(id string) string {
	return `<form method="post" action="/ui/clones/` + id + `/cancel"`
}

// startHeldClone starts a clone of profile pid through the page's "Clone now" (htmx) and
// waits until the held proxy has its git request, so the job is running; it returns the job id.
func startHeldClone(t *testing.T, b *uiBrowser, pid string, held <-chan struct{}) string {
	t.Helper()
	resp, body := b.do("POST", "/ui/build-profiles/"+pid+"/clones", url.Values{}, "HX-Request", "true")
	m := sseConnectRE.FindStringSubmatch(body) // ui_test.go
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("start: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(body, cancelFormOf(m[1])) || !strings.Contains(body, `hx-post="/ui/clones/`+m[1]+`/cancel"`) {
		t.Errorf("the queued job's panel has no Cancel button: %s", body)
	}
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the clone did not reach the server")
	}
	return m[1]
}

// The Cancel button of a running clone (in the live panel, outside the part its events
// replace, so it stays under the pointer): POST /ui/clones/{id}/cancel answers htmx with the
// panel of the ended job (cancelled, no Cancel button), the API then reports it failed with
// the "cancelled" problem, and the panel's event stream ends with the same; a plain form post
// is sent back to the build profile (303). Another tenant's job is answered exactly as an
// unknown one (404) and stays running, and a cross-origin post is refused. On Redis the job
// is started through one instance and cancelled through another.
func TestUICancelClone(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, kind string) {
		n := 1
		if kind == onRedis {
			n = 2
		}
		f := newFleet(t, kind, n, nil)
		pid, held, _ := f.heldProfile() // clones_test.go
		b := newUIBrowser(t, f.apis[0].URL).signIn(f.keys["acme"])
		id := startHeldClone(t, b, pid, held)
		canceller := newUIBrowser(t, f.apis[n-1].URL).signIn(f.keys["acme"])

		// The live panel's first event: the running job, with its Cancel button.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", canceller.base+"/ui/clones/"+id+"/events", nil)
		stream, err := canceller.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Body.Close()
		rd := bufio.NewReader(stream.Body)
		var first []string
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("the first event: %q, %v", first, err)
			}
			if line == "\n" {
				break
			}
			first = append(first, line)
		}
		if ev := strings.Join(first, ""); !strings.HasPrefix(ev, "event: progress\n") || !strings.Contains(ev, `data-state="running"`) ||
			strings.Contains(ev, cancelFormOf(id)) { // the Cancel form is outside the panel the events replace
			t.Fatalf("first event of the running job: %s", ev)
		}

		path := "/ui/clones/" + id + "/cancel"
		other := newUIBrowser(t, f.apis[0].URL).signIn(f.keys["other"])
		for _, hx := range []string{"true", ""} {
			r1, b1 := other.do("POST", path, url.Values{}, "HX-Request", hx)
			r2, b2 := b.do("POST", "/ui/clones/"+missingID+"/cancel", url.Values{}, "HX-Request", hx)
			if r1.StatusCode != http.StatusNotFound || r2.StatusCode != http.StatusNotFound || b1 != b2 || !strings.Contains(b1, `role="alert"`) {
				t.Errorf("another tenant's job (HX-Request %q): %d vs unknown %d\n%s\n%s", hx, r1.StatusCode, r2.StatusCode, b1, b2)
			}
			if hx == "true" && (r1.Header.Get("HX-Retarget") != "#alerts" || strings.Contains(b1, "<html")) {
				t.Errorf("htmx: the 404 is not an alert fragment: %v %s", r1.Header, b1)
			}
			if hx == "" && !strings.Contains(b1, "<html") {
				t.Errorf("no htmx: the 404 is not a page: %s", b1)
			}
		}
		if resp, _ := b.do("POST", path, url.Values{}, "HX-Request", "true", "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site cancel: %d", resp.StatusCode)
		}
		if code, job := f.json(0, "acme", "GET", "/api/v1/clones/"+id, nil); code != http.StatusOK || job["state"] != "running" {
			t.Fatalf("after the refused cancels: %d %v", code, job)
		}

		resp, body := canceller.do("POST", path, url.Values{}, "HX-Request", "true")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, `<div class="clone-progress" data-state="failed" data-job="`+id+`"`) ||
			!strings.Contains(body, "The clone was cancelled:</strong> nothing of it was kept.") || !strings.Contains(body, `class="clone-headline alert info" role="status" data-code="cancelled"`) || strings.Contains(body, `role="alert"`) ||
			strings.Contains(body, "/cancel") || strings.Contains(body, "sse-connect") || strings.Contains(body, "<progress") {
			t.Fatalf("cancel: %d %s", resp.StatusCode, body)
		}
		code, job := f.json(0, "acme", "GET", "/api/v1/clones/"+id, nil)
		p, _ := job["error"].(map[string]any)
		if code != http.StatusOK || job["state"] != "failed" || p == nil || p["code"] != "cancelled" || job["finishedAt"] == nil {
			t.Fatalf("GET /api/v1/clones/%s after the cancel: %d %v", id, code, job)
		}
		evs, _ := readSSE(t, rd) // clones_test.go
		if len(evs) == 0 {
			t.Fatal("the live panel's stream ended without a done event")
		}
		if end := evs[len(evs)-1]; end.name != "done" || !strings.Contains(end.data, "The clone was cancelled") || strings.Contains(end.data, "/cancel") {
			t.Fatalf("the live panel's last event: %+v", end)
		}

		// Without htmx (a plain form post) the browser goes back to the build profile.
		id = startHeldClone(t, b, pid, held)
		resp, _ = canceller.do("POST", "/ui/clones/"+id+"/cancel", url.Values{})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/build-profiles/"+pid {
			t.Fatalf("plain cancel: %d %v", resp.StatusCode, resp.Header)
		}
		code, job = f.json(0, "acme", "GET", "/api/v1/clones/"+id, nil)
		if p, _ := job["error"].(map[string]any); code != http.StatusOK || job["state"] != "failed" || p == nil || p["code"] != "cancelled" {
			t.Fatalf("after the plain cancel: %d %v", code, job)
		}
	})
}
