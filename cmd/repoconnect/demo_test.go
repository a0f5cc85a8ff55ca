package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// demoRun is a `repoconnect serve --demo` running for a test: its URL and API key as the
// printed summary gives them.
type demoRun struct {
	t          *testing.T
	service    string
	key        string
	serverURL  string // the simulated Server, with its virtual directory
	collection string
	pat        string
	steps      []string // the shell lines the summary gives to try it, in order
	summary    string   // the summary's text up to the end of the steps
}

// runDemo starts `serve --demo` (with extra flags) on a free loopback port, reads the service
// URL and API key from its summary, and stops it (checking it exits cleanly) when t ends.
func runDemo(t *testing.T, extra ...string) *demoRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	root := newRootCommand()
	root.SetArgs(append([]string{"serve", "--demo", "--addr", "127.0.0.1:0", "--log-level", "error"}, extra...))
	root.SetOut(pw)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		go func() { _, _ = io.Copy(io.Discard, pr) }()
		if err := <-done; err != nil {
			t.Errorf("serve --demo: %v", err)
		}
	})
	d := &demoRun{t: t}
	sc := bufio.NewScanner(pr)
	var summary strings.Builder
	for d.pat == "" && sc.Scan() {
		summary.WriteString(sc.Text() + "\n")
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "service":
			d.service = f[1]
		case len(f) == 3 && f[0] == "API" && f[1] == "key":
			d.key = f[2]
		case len(f) == 3 && f[0] == "server" && f[1] == "URL":
			d.serverURL = f[2]
		case len(f) == 2 && f[0] == "collection":
			d.collection = f[1]
		case len(f) >= 2 && f[0] == "PAT":
			d.pat = f[1]
		}
	}
	if d.service == "" || d.key == "" || d.serverURL == "" || d.collection == "" || d.pat == "" {
		t.Fatalf("the demo summary lacks the service URL, API key or simulator (%+v, %v)", d, sc.Err())
	}
	for inSteps := false; sc.Scan(); {
		line := sc.Text()
		summary.WriteString(line + "\n")
		if strings.HasPrefix(line, "Try it in another shell") {
			inSteps = true
			continue
		}
		if !strings.HasPrefix(line, "  ") {
			if inSteps {
				break
			}
			continue
		}
		if inSteps {
			d.steps = append(d.steps, strings.TrimSpace(line))
		}
	}
	d.summary = summary.String()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return d
}

// api calls the demo's API with its key and decodes the JSON answer; a status of 300 or more
// fails the test.
func (d *demoRun) api(method, path, body string) map[string]any {
	d.t.Helper()
	code, m := d.call(method, path, body)
	if code >= 300 {
		d.t.Fatalf("%s %s: %d %v", method, path, code, m)
	}
	return m
}

// call calls the demo's API with its key and returns the status and the decoded JSON answer.
func (d *demoRun) call(method, path, body string) (int, map[string]any) {
	d.t.Helper()
	req, _ := http.NewRequest(method, d.service+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+d.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// acceptConsent opens a services-oauth connection's authorizationUrl, as a browser would, and
// presses Accept on the simulator's consent page as "Demo User".
func (d *demoRun) acceptConsent(conn map[string]any) {
	d.t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second}
	page, err := hc.Get(conn["authorizationUrl"].(string))
	if err != nil {
		d.t.Fatal(err)
	}
	resp, err := azdosimtest.SubmitConsent(hc, page, "Demo User", true)
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
}

// The demo's OAuth path works as the summary tells a newcomer: create a services-oauth
// connection, open its authorization URL, accept, and the connection is authorized and lists
// the simulated organization's repositories.
func TestDemoOAuthWalkthrough(t *testing.T) {
	d := runDemo(t)
	conn := d.api("POST", "/api/v1/connections", `{"name":"cloud","type":"services-oauth","organization":"fabrikam"}`)
	d.acceptConsent(conn)
	id := conn["id"].(string)
	if got := d.api("GET", "/api/v1/connections/"+id, ""); got["status"] != "authorized" {
		t.Fatalf("after the sign-in: %v", got)
	}
	repos := d.api("GET", "/api/v1/connections/"+id+"/repositories", "")
	if repos["count"].(float64) < 3 {
		t.Fatalf("repositories: %v", repos)
	}
	// The default scopes include vso.serviceendpoint_query: the demo's service connections list.
	project := repos["value"].([]any)[0].(map[string]any)["project"].(map[string]any)["id"].(string)
	if eps := d.api("GET", "/api/v1/connections/"+id+"/projects/"+project+"/service-endpoints", ""); eps["count"] != float64(2) {
		t.Fatalf("service endpoints: %v", eps)
	}
}

// serve's clone flags reach the clones: with --max-clone-size 1KiB a build profile's clone is
// refused with 422 repository_too_large, synchronous or as a job; a commit of the branch
// is checked out when asked for, and a malformed one is a 400 naming the field.
func TestDemoCloneOptions(t *testing.T) {
	d := runDemo(t, "--max-clone-size", "1KiB", "--clone-timeout", "2m")
	conn := d.api("POST", "/api/v1/connections", fmt.Sprintf(`{"name":"onprem","type":"server-pat","serverUrl":%q,"collection":%q,"pat":%q}`,
		d.serverURL, d.collection, d.pat))
	repos := d.api("GET", "/api/v1/connections/"+conn["id"].(string)+"/repositories?q=ios-app", "")
	list, _ := repos["value"].([]any)
	if len(list) != 1 {
		t.Fatalf("repositories named ios-app: %v", repos)
	}
	repoID := list[0].(map[string]any)["id"].(string)
	prof := d.api("POST", "/api/v1/build-profiles", fmt.Sprintf(`{"name":"ios","connectionId":%q,"repositoryId":%q,"branch":"main"}`, conn["id"], repoID))
	path := "/api/v1/build-profiles/" + prof["id"].(string)
	code, p := d.call("POST", path+"/clone", `{}`)
	if code != http.StatusUnprocessableEntity || p["code"] != "repository_too_large" || !strings.Contains(p["detail"].(string), "1 KiB") {
		t.Fatalf("a clone past --max-clone-size: %d %v", code, p)
	}
	job := d.api("POST", path+"/clones", `{}`)
	deadline := time.Now().Add(time.Minute)
	for job["state"] != "failed" && job["state"] != "succeeded" && time.Now().Before(deadline) {
		job = d.api("GET", "/api/v1/clones/"+job["id"].(string), "")
	}
	if e, _ := job["error"].(map[string]any); job["state"] != "failed" || e["code"] != "repository_too_large" || e["status"] != 422.0 {
		t.Fatalf("the clone job: %v", job)
	}
	if code, p := d.call("POST", path+"/clones", `{"commit":"main"}`); code != 400 || p["field"] != "commit" {
		t.Fatalf("a malformed commit: %d %v", code, p)
	}
}

// The steps the summary prints run as printed in bash (with curl), from the connection to a
// clone of release/1.0: what a newcomer pastes must work.
func TestDemoPrintedStepsRun(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the printed steps need curl: apt-get install curl")
	}
	d := runDemo(t)
	if len(d.steps) < 8 {
		t.Fatalf("the summary printed %d steps: %q", len(d.steps), d.steps)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", strings.Join(d.steps, "\n"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the printed steps failed: %v\n%s", err, out)
	}
	var last map[string]any
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil || last["branch"] != "release/1.0" || len(fmt.Sprint(last["commit"])) != 40 {
		t.Fatalf("the last step did not answer a clone of release/1.0:\n%s", out)
	}
}

// The demo's second organization has the OAuth policy off, as the summary says, so the
// failure can be seen: a connection to it signs in and ends oauth_policy_disabled, with the
// organization's policy settings URL (the simulator's own) in its message.
func TestDemoPolicyOffOrganization(t *testing.T) {
	d := runDemo(t)
	if !strings.Contains(d.summary, "policy-off organization \"contoso-nopolicy\"") {
		t.Fatalf("the summary does not name the policy-off organization:\n%s", d.summary)
	}
	conn := d.api("POST", "/api/v1/connections", `{"name":"nopolicy","type":"services-oauth","organization":"contoso-nopolicy"}`)
	d.acceptConsent(conn)
	got := d.api("GET", "/api/v1/connections/"+conn["id"].(string), "")
	if msg, _ := got["statusMessage"].(string); got["status"] != "oauth_policy_disabled" || !strings.Contains(msg, "/contoso-nopolicy/_settings/organizationPolicy") {
		t.Fatalf("after the sign-in to the policy-off organization: %v", got)
	}
	// fabrikam still signs in (TestDemoOAuthWalkthrough): the policy is per organization.
}

// addKeyOnPage adds an authorized_keys line through the simulator's User settings > SSH public
// keys page at addKeyURL (a form post, as the page's Add button makes it).
func (d *demoRun) addKeyOnPage(addKeyURL, name, publicKey string) {
	d.t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.PostForm(addKeyURL, url.Values{"action": {"add"}, "name": {name}, "key": {publicKey}})
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		d.t.Fatalf("adding the key on %s: %d", addKeyURL, resp.StatusCode)
	}
}

// The demo serves SSH, said in one line of its summary: a Server connection's generated key,
// added on the simulator's page its addKeyUrl names, checks once its host key (the
// simulator's own) is confirmed, and a clone goes over SSH.
func TestDemoSSHServer(t *testing.T) {
	d := runDemo(t)
	n := 0
	for _, line := range strings.Split(d.summary, "\n") {
		if strings.Contains(line, "SSH") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d lines of the summary mention SSH (one at most, and it says the demo serves it):\n%s", n, d.summary)
	}
	conn := d.api("POST", "/api/v1/connections", fmt.Sprintf(`{"name":"onprem","type":"server-pat","serverUrl":%q,"collection":%q,"pat":%q}`,
		d.serverURL, d.collection, d.pat))
	id := conn["id"].(string)
	ssh := d.api("PUT", "/api/v1/connections/"+id+"/ssh-key", `{"generate":true}`)["ssh"].(map[string]any)
	d.addKeyOnPage(ssh["addKeyUrl"].(string), "repoconnect", ssh["publicKey"].(string))
	chk := d.api("POST", "/api/v1/connections/"+id+"/ssh-check", "")
	if chk["reason"] != "host_key_unconfirmed" || chk["hostKeyFingerprint"] != azdosim.DefaultSSHHostKeyFingerprint {
		t.Fatalf("the first check: %v", chk)
	}
	d.api("POST", "/api/v1/connections/"+id+"/ssh-host-key", fmt.Sprintf(`{"fingerprint":%q}`, chk["hostKeyFingerprint"]))
	if chk = d.api("POST", "/api/v1/connections/"+id+"/ssh-check", ""); chk["ok"] != true {
		t.Fatalf("the check with the key added and the host key confirmed: %v", chk)
	}
	repo := d.api("GET", "/api/v1/connections/"+id+"/repositories?q=ios-app", "")["value"].([]any)[0].(map[string]any)
	prof := d.api("POST", "/api/v1/build-profiles", fmt.Sprintf(`{"name":"ios","connectionId":%q,"repositoryId":%q,"branch":"main"}`, id, repo["id"]))
	if cl := d.api("POST", "/api/v1/build-profiles/"+prof["id"].(string)+"/clone", `{"depth":1}`); len(fmt.Sprint(cl["commit"])) != 40 {
		t.Fatalf("the clone over SSH: %v", cl)
	}
}

// In the demo the service pins the Services simulator's host key where it pins Microsoft's:
// a services-oauth connection's key, added on the organization's page, checks at once (no
// host key to confirm) and clones over SSH.
func TestDemoSSHServicesPinned(t *testing.T) {
	d := runDemo(t)
	conn := d.api("POST", "/api/v1/connections", `{"name":"cloud","type":"services-oauth","organization":"fabrikam"}`)
	d.acceptConsent(conn)
	id := conn["id"].(string)
	ssh := d.api("PUT", "/api/v1/connections/"+id+"/ssh-key", `{"generate":true}`)["ssh"].(map[string]any)
	if hk, _ := ssh["hostKey"].(map[string]any); hk["source"] != "published" {
		t.Errorf("a Services connection's host key is not the pinned one: %v", ssh["hostKey"])
	}
	d.addKeyOnPage(ssh["addKeyUrl"].(string), "repoconnect", ssh["publicKey"].(string))
	chk := d.api("POST", "/api/v1/connections/"+id+"/ssh-check", "")
	if chk["ok"] != true {
		// host_key_changed here: serve does not pass demoEnv.servicesHostKeys to
		// services.Options.ServicesSSHHostKeyFingerprints (see notes/web.md).
		t.Fatalf("the Services check: %v", chk)
	}
	repo := d.api("GET", "/api/v1/connections/"+id+"/repositories", "")["value"].([]any)[0].(map[string]any)
	prof := d.api("POST", "/api/v1/build-profiles", fmt.Sprintf(`{"name":"cloud","connectionId":%q,"repositoryId":%q,"branch":%q}`,
		id, repo["id"], strings.TrimPrefix(fmt.Sprint(repo["defaultBranch"]), "refs/heads/")))
	if cl := d.api("POST", "/api/v1/build-profiles/"+prof["id"].(string)+"/clone", `{"depth":1}`); len(fmt.Sprint(cl["commit"])) != 40 {
		t.Fatalf("the clone over SSH: %v", cl)
	}
}
