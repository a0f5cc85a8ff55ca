package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// startServe runs `serve` in process on a free loopback port with JSON logs, until the test
// ends; it returns the service's URL and the log lines written before it served.
func startServe(t *testing.T, extra ...string) (string, []map[string]any) {
	t.Helper()
	t.Setenv("REPOCONNECT_SEALING_KEYS", "")
	t.Setenv("REPOCONNECT_SEALING_KEYS_FILE", "")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	root := newRootCommand()
	root.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", "json"}, extra...))
	root.SetOut(io.Discard)
	root.SetErr(pw)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	var logs []map[string]any
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("--log-format json wrote a line that is not JSON: %q", sc.Text())
		}
		logs = append(logs, m)
		if m["msg"] == "serving" {
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			return m["url"].(string), logs
		}
	}
	t.Fatalf("serve ended before serving: %v", logs)
	return "", nil
}

// serve logs its build first; with --log-format json every line is a JSON object.
func TestServeLogsBuildAsJSON(t *testing.T) {
	_, logs := startServe(t)
	first := logs[0]
	if first["msg"] != "repoconnect starting" || first["version"] != readBuildInfo().Version || first["go"] != readBuildInfo().GoVersion || first["level"] != "INFO" {
		t.Fatalf("first log line %v", first)
	}
	if _, ok := first["commit"]; !ok {
		t.Errorf("the start line has no commit field: %v", first)
	}
}

func TestHealthcheckURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/readyz",
		":8080":          "http://127.0.0.1:8080/readyz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/readyz",
		"[::]:9000":      "http://[::1]:9000/readyz",
		"10.1.2.3:80":    "http://10.1.2.3:80/readyz",
		"[fd00::5]:81":   "http://[fd00::5]:81/readyz",
	} {
		got, err := (&healthcheckFlags{addr: addr}).healthURL()
		if err != nil || got != want {
			t.Errorf("--addr %s: %q %v, want %q", addr, got, err, want)
		}
	}
}

// healthcheck against a real serve: 0 and one line when the answer is 200; the default URL
// is derived from --addr or REPOCONNECT_ADDR (a wildcard host asked on loopback).
func TestHealthcheckCommand(t *testing.T) {
	service, _ := startServe(t)
	u, _ := url.Parse(service)
	_, port, _ := net.SplitHostPort(u.Host)

	out, errs, code := run(t, "", "healthcheck", "--url", service+"/healthz")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, service+"/healthz answered 200 OK") {
		t.Fatalf("healthy service: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	// /readyz is the default, asked on loopback when serve listens on every address.
	readyz := "http://127.0.0.1:" + port + "/readyz"
	for _, args := range [][]string{{"--addr", "0.0.0.0:" + port}, nil} {
		if args == nil {
			t.Setenv("REPOCONNECT_ADDR", ":"+port)
		}
		out, errs, code := run(t, "", append([]string{"healthcheck"}, args...)...)
		if code != 0 || !strings.Contains(out, readyz+" answered 200 OK") {
			t.Errorf("healthcheck %v: exit %d, stdout %q, stderr %q (want %s asked)", args, code, out, errs, readyz)
		}
	}
}

// healthcheck fails (1) with one line saying what answered, or that nothing did; bad flags are
// usage errors (2).
func TestHealthcheckUnhealthy(t *testing.T) {
	t.Setenv("REPOCONNECT_ADDR", "")
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"title":"not ready","detail":"the store does not answer"}`)
	}))
	defer sick.Close()
	_, errs, code := run(t, "", "healthcheck", "--url", sick.URL+"/readyz")
	if code != 1 || !strings.Contains(errs, "answered 503 Service Unavailable") || !strings.Contains(errs, "the store does not answer") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("503: exit %d, %q", code, errs)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if _, errs, code := run(t, "", "healthcheck", "--addr", closed); code != 1 || !strings.Contains(errs, "nothing answered at http://"+closed+"/readyz") {
		t.Errorf("nothing listening: exit %d, %q", code, errs)
	}

	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	if _, errs, code := run(t, "", "healthcheck", "--url", hang.URL, "--timeout", "200ms"); code != 1 || !strings.Contains(errs, "no answer within 200ms") {
		t.Errorf("no answer: exit %d, %q", code, errs)
	}

	for _, args := range [][]string{{"--url", "ftp://x/readyz"}, {"--addr", "nonsense"}, {"--timeout", "0s"}, {"--timeout", "soon"}, {"extra"}} {
		if _, errs, code := run(t, "", append([]string{"healthcheck"}, args...)...); code != 2 {
			t.Errorf("healthcheck %v: exit %d, %q", args, code, errs)
		}
	}
}
