package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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
}

// runDemo starts `serve --demo` on a free loopback port, reads the service URL and API key
// from its summary, and stops it (checking it exits cleanly) when t ends.
func runDemo(t *testing.T) *demoRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	root := newRootCommand()
	root.SetArgs([]string{"serve", "--demo", "--addr", "127.0.0.1:0", "--log-level", "error"})
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
	for d.pat == "" && sc.Scan() {
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
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return d
}

// api calls the demo's API with its key and decodes the JSON answer; a status of 300 or more
// fails the test.
func (d *demoRun) api(method, path, body string) map[string]any {
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
	if resp.StatusCode >= 300 {
		d.t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, m)
	}
	return m
}

// The demo's OAuth path works as the summary tells a newcomer: create a services-oauth
// connection, open its authorization URL, accept, and the connection is authorized and lists
// the simulated organization's repositories.
func TestDemoOAuthWalkthrough(t *testing.T) {
	d := runDemo(t)
	conn := d.api("POST", "/api/v1/connections", `{"name":"cloud","type":"services-oauth","organization":"fabrikam"}`)
	hc := &http.Client{Timeout: 30 * time.Second}
	page, err := hc.Get(conn["authorizationUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := azdosimtest.SubmitConsent(hc, page, "Demo User", true)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := conn["id"].(string)
	if got := d.api("GET", "/api/v1/connections/"+id, ""); got["status"] != "authorized" {
		t.Fatalf("after the sign-in: %v", got)
	}
	if repos := d.api("GET", "/api/v1/connections/"+id+"/repositories", ""); repos["count"].(float64) < 3 {
		t.Fatalf("repositories: %v", repos)
	}
}
