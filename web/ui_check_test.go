package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
)

// checkEvent is one server-sent event of a live check.
type checkEvent struct {
	Name string
	Data map[string]any
	At   time.Duration // since the request was sent
}

func (ev checkEvent) String() string {
	if ev.Name == "step" {
		return "step " + str(ev.Data["name"]) + " " + str(ev.Data["state"])
	}
	if ev.Name == "result" {
		return "result valid=" + str(ev.Data["valid"]) + " field=" + str(ev.Data["field"])
	}
	return ev.Name
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// streamCheck posts form to path asking for text/event-stream and sends each event it reads
// on the returned channel, closed when the stream ends. ctx ends the request.
func streamCheck(t *testing.T, ctx context.Context, b *uiBrowser, path string, form url.Values) <-chan checkEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/event-stream")
	sent := time.Now()
	resp, err := b.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		t.Fatalf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan checkEvent, 32)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		var ev checkEvent
		var data strings.Builder
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data.WriteString(strings.TrimPrefix(line, "data: "))
			case line == "" && ev.Name != "":
				_ = json.Unmarshal([]byte(data.String()), &ev.Data)
				ev.At = time.Since(sent)
				out <- ev
				ev, data = checkEvent{}, strings.Builder{}
			}
		}
	}()
	return out
}

// allEvents reads events until the stream ends, failing the test after a minute.
func allEvents(t *testing.T, ch <-chan checkEvent) []checkEvent {
	t.Helper()
	var evs []checkEvent
	deadline := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-deadline:
			t.Fatalf("the stream did not end; events so far: %v", evs)
		}
	}
}

func eventNames(evs []checkEvent) string {
	var s []string
	for _, ev := range evs {
		s = append(s, ev.String())
	}
	return strings.Join(s, ", ")
}

// The form's Check streams what it does: a start event naming the host and the real bound
// (the driver's 30 s request timeout) with every step pending, one event per step as it
// completes, then the result; a failure names its field and says its sentence once.
func TestUICheckStream(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	host := strings.TrimPrefix(e.sim.URL(), "http://")
	host = strings.SplitN(host, "/", 2)[0]

	evs := allEvents(t, streamCheck(t, context.Background(), b, "/ui/connections/new/check", e.serverForm("checked", simPAT)))
	want := "start, step reach_host ok, step authenticate ok, step collection ok, step server_version ok, step public_url ok, result valid=true field="
	if got := eventNames(evs); got != want {
		t.Fatalf("passing check events:\n got %s\nwant %s", got, want)
	}
	t.Logf("passing check against the simulator: start event after %v, result after %v", evs[0].At, evs[len(evs)-1].At)
	start := evs[0].Data
	if doing := str(start["doing"]); doing != "Reaching "+host+"… up to 30 s" || start["timeoutSeconds"] != 30.0 {
		t.Errorf("start says %q (bound %v)", doing, start["timeoutSeconds"])
	}
	if html := str(start["html"]); strings.Count(html, `class="pending"`) != 5 || !strings.Contains(html, `data-step="server_version"`) {
		t.Errorf("start panel does not show the five steps pending: %s", html)
	}
	if html := str(evs[len(evs)-1].Data["html"]); !strings.Contains(html, `data-valid="true"`) || !strings.Contains(html, "UI Tester") ||
		!strings.Contains(html, `class="check-heading" tabindex="-1"`) || strings.Contains(html, `class="fail"`) {
		t.Errorf("passing result panel: %s", html)
	}

	evs = allEvents(t, streamCheck(t, context.Background(), b, "/ui/connections/new/check", e.serverForm("checked", "not-the-pat")))
	want = "start, step reach_host ok, step authenticate fail, result valid=false field=pat"
	if got := eventNames(evs); got != want {
		t.Fatalf("wrong PAT events:\n got %s\nwant %s", got, want)
	}
	html := str(evs[len(evs)-1].Data["html"])
	const said = "The server rejected the personal access token"
	if n := strings.Count(html, said); n != 1 || strings.Contains(html, `class="check passed`) || !strings.Contains(html, `data-reason="invalid_token"`) {
		t.Errorf("wrong PAT result says %q %d times: %s", said, n, html)
	}
	if !strings.Contains(html, `href="`+e.sim.URL()+`/DefaultCollection/_usersSettings/tokens"`) {
		t.Errorf("wrong PAT result has no link to the PAT page: %s", html)
	}

	// No kind: the result names the field, with no step.
	form := e.serverForm("checked", simPAT)
	form.Del("kind")
	evs = allEvents(t, streamCheck(t, context.Background(), b, "/ui/connections/new/check", form))
	if got := eventNames(evs); got != "result valid=false field=kind" {
		t.Fatalf("no kind: %s", got)
	}
}

// Without Accept: text/event-stream the Check answers the plain fragment, as htmx and the
// scripts-off path expect; the server's words in a refusal are set apart, said once.
func TestUICheckPlainFragment(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	resp, body := b.do("POST", "/ui/connections/new/check", e.serverForm("checked", simPAT), "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, `data-valid="true"`) || strings.Contains(body, "event:") || strings.Contains(body, "<html") {
		t.Fatalf("plain check: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	_, body = b.do("POST", "/ui/connections/new/check", e.serverForm("checked", "not-the-pat"))
	if !strings.Contains(body, `data-valid="false"`) || !strings.Contains(body, `data-field="pat"`) ||
		strings.Count(body, "rejected the personal access token") != 1 {
		t.Fatalf("plain wrong PAT: %s", body)
	}
	if strings.Contains(body, "rejected the personal access token") && strings.Contains(body, "TF") &&
		!strings.Contains(body, `<blockquote class="server-quote">`) {
		t.Fatalf("the server's words are not set apart: %s", body)
	}
}

// Check again streams the same way, the status badge in the result's oob; view=row still
// answers the list row.
func TestUICheckAgainStream(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "acme-conn")
	b := e.browser().signIn(e.keys["acme"])
	evs := allEvents(t, streamCheck(t, context.Background(), b, "/ui/connections/"+id+"/check", url.Values{}))
	if got := eventNames(evs); !strings.HasPrefix(got, "start, step reach_host ok") || !strings.HasSuffix(got, "result valid=true field=") {
		t.Fatalf("check again events: %s", got)
	}
	oob, _ := evs[len(evs)-1].Data["oob"].(map[string]any)
	if !strings.Contains(str(oob["#conn-status"]), "authorized") {
		t.Fatalf("check again oob: %v", evs[len(evs)-1].Data["oob"])
	}
	resp, body := b.do("POST", "/ui/connections/"+id+"/check", url.Values{"view": {"row"}}, "HX-Request", "true", "Accept", "text/event-stream")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "event:") || !strings.Contains(body, "acme-conn") {
		t.Fatalf("view=row: %d %s", resp.StatusCode, body)
	}
	// Another tenant's connection is a 404 before any stream.
	other := e.browser().signIn(e.keys["other"])
	req, _ := http.NewRequest("POST", other.base+"/ui/connections/"+id+"/check", nil)
	req.Header.Set("Accept", "text/event-stream")
	r, err := other.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNotFound {
		t.Fatalf("another tenant's check again: %d", r.StatusCode)
	}
}

// A client that goes away ends the check's request to Azure DevOps: the server holding the
// request sees it cancelled.
func TestUICheckClientGoneEndsUpstream(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	target, _ := url.Parse(e.sim.URL())
	var held, ended atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/_apis/") {
			held.Add(1)
			<-r.Context().Done() // held until the client (the service) gives up
			ended.Add(1)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	u, _ := url.Parse(front.URL)
	form := e.serverForm("held", simPAT)
	form.Set("serverUrl", "http://"+u.Host)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := streamCheck(t, ctx, b, "/ui/connections/new/check", form)
	var got []checkEvent
	deadline := time.After(20 * time.Second)
	for len(got) < 2 {
		select {
		case ev := <-ch:
			got = append(got, ev)
		case <-deadline:
			t.Fatalf("events before the held answer: %v", eventNames(got))
		}
	}
	if s := eventNames(got); s != "start, step reach_host ok" {
		t.Fatalf("while the server holds its answer: %s", s)
	}
	for stop := time.Now().Add(10 * time.Second); held.Load() != 1; {
		if time.Now().After(stop) {
			t.Fatalf("the check's request never reached the server (held %d)", held.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ended.Load() != 0 {
		t.Fatalf("the held request ended (%d) before the client went away", ended.Load())
	}
	cancel() // the browser goes away
	for stop := time.Now().Add(10 * time.Second); ended.Load() != 1; {
		if time.Now().After(stop) {
			t.Fatalf("the held request to Azure DevOps was not ended when the client went away (held %d, ended %d)", held.Load(), ended.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if held.Load() != 1 {
		t.Fatalf("the service sent %d requests after the client went away", held.Load()-1)
	}
}

// With the organization's OAuth policy off, Check again of an OAuth connection fails on the
// policy step, on the organization field, with the policy settings as a link, said once.
func TestUICheckAgainPolicyOff(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	c := e.create(map[string]any{"name": "cloud"})
	if code, page := e.consent(c["authorizationUrl"].(string), "Ada Lovelace", true); code != http.StatusOK {
		t.Fatalf("consent: %d %s", code, page)
	}
	id := c["id"].(string)
	b := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	evs := allEvents(t, streamCheck(t, context.Background(), b, "/ui/connections/"+id+"/check", url.Values{}))
	if got := eventNames(evs); !strings.HasPrefix(got, "start, step reach_host ok") || !strings.Contains(got, "step oauth_policy fail") ||
		!strings.HasSuffix(got, "result valid=false field=collection") {
		t.Fatalf("policy off events: %s", got)
	}
	html := str(evs[len(evs)-1].Data["html"])
	link := `<a href="` + e.sim.URL() + `/` + org + `/_settings/organizationPolicy">`
	if !strings.Contains(html, link) || strings.Count(html, "does not allow third-party application access via OAuth") != 1 ||
		strings.Contains(html, `class="check passed`) || !strings.Contains(html, `data-reason="oauth_policy_disabled"`) {
		t.Fatalf("policy off result (want the link %s, the sentence once): %s", link, html)
	}
	oob, _ := evs[len(evs)-1].Data["oob"].(map[string]any)
	if !strings.Contains(str(oob["#conn-status"]), "oauth_policy_disabled") {
		t.Errorf("the status badge: %v", evs[len(evs)-1].Data["oob"])
	}
	// What the page offers next follows the status: no way on to screen 2 yet.
	if next := str(oob["#conn-next"]); !strings.Contains(next, "cannot be listed until it is authorized") || strings.Contains(next, "/ui/new/choose") {
		t.Errorf("#conn-next while the policy is off: %q", next)
	}
	// The policy turned on: Check again makes the connection authorized, and #conn-next
	// offers Choose a repository in place of "cannot be listed".
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	evs = allEvents(t, streamCheck(t, context.Background(), b, "/ui/connections/"+id+"/check", url.Values{}))
	oob, _ = evs[len(evs)-1].Data["oob"].(map[string]any)
	if next := str(oob["#conn-next"]); !strings.Contains(next, `href="/ui/new/choose?connection=`+id+`"`) || strings.Contains(next, "cannot be listed") {
		t.Errorf("#conn-next after the policy was turned on: %q", next)
	}
	if !strings.Contains(str(oob["#conn-status"]), `data-status="authorized"`) {
		t.Errorf("the status badge after the policy was turned on: %v", oob["#conn-status"])
	}
}
