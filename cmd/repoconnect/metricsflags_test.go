package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// freeAddr returns a loopback address no one listened on a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With --metrics-addr, the metrics are served on that listener only: the API's listener
// answers /metrics 404, and the separate one counts the API's requests by route.
func TestServeMetricsAddr(t *testing.T) {
	addr := freeAddr(t)
	d := runDemo(t, "--metrics-addr", addr)
	d.api("GET", "/api/v1/connections", "")
	if code, _ := get(t, d.service+"/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics on --addr: %d, want 404", code)
	}
	code, body := get(t, "http://"+addr+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics on --metrics-addr: %d", code)
	}
	for _, want := range []string{`repoconnect_build_info{`, `repoconnect_http_requests_total{code="200",method="GET",route="/api/v1/connections"} 1`,
		`repoconnect_http_requests_total{code="404",method="GET",route="unmatched"} 1`, "go_goroutines "} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if code, _ := get(t, "http://"+addr+"/api/v1/connections"); code != http.StatusNotFound {
		t.Errorf("the metrics listener answered the API: %d", code)
	}
}

// Without --metrics-addr, /metrics is on the API's listener, without an API key.
func TestServeMetricsOnTheAPIListener(t *testing.T) {
	d := runDemo(t)
	code, body := get(t, d.service+"/metrics")
	if code != 200 || !strings.Contains(body, "repoconnect_build_info{") {
		t.Fatalf("GET /metrics: %d, build info found: %v", code, strings.Contains(body, "repoconnect_build_info{"))
	}
}

// A --metrics-addr that cannot be listened on stops serve with an error naming the flag.
func TestServeMetricsAddrRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, errs, code := run(t, "", "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--metrics-addr", ln.Addr().String(), "--log-level", "error")
	if code == 0 || !strings.Contains(errs, "--metrics-addr") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}
