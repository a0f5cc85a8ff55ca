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

// The demo's OAuth path works as the summary tells a newcomer: create a services-oauth
// connection, open its authorization URL, accept, and the connection is authorized and lists
// the simulated organization's repositories.
func TestDemoOAuthWalkthrough(t *testing.T) {
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
	var service, key string
	sc := bufio.NewScanner(pr)
	for (service == "" || key == "") && sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "service":
			service = f[1]
		case len(f) == 3 && f[0] == "API" && f[1] == "key":
			key = f[2]
		}
	}
	if service == "" || key == "" {
		t.Fatalf("no service URL or API key in the demo summary (%v)", sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	api := func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, service+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, m)
		}
		return m
	}
	conn := api("POST", "/api/v1/connections", `{"name":"cloud","type":"services-oauth","organization":"fabrikam"}`)
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
	if got := api("GET", "/api/v1/connections/"+id, ""); got["status"] != "authorized" {
		t.Fatalf("after the sign-in: %v", got)
	}
	if repos := api("GET", "/api/v1/connections/"+id+"/repositories", ""); repos["count"].(float64) < 3 {
		t.Fatalf("repositories: %v", repos)
	}
}
