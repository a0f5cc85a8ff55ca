package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services/store/redisstore"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
	"github.com/repoconnect/repoconnect/web"
)

// A Redis that accepts commands but never answers them (paused, frozen, or behind a network
// that drops packets) makes /healthz answer 503 store_unavailable within its own bound, not
// when go-redis' read timeout ends: go-redis does not cut a command at its context's
// deadline (ContextTimeoutEnabled is off), so with no read timeout set the PING alone would
// hold the probe for as long as Redis stays silent.
func TestHealthzBoundedWhenRedisHangs(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	rs, err := redisstore.Open(ctx, srv.URL(0)+"?read_timeout=-1", redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	api := httptest.NewServer(validated(t, web.New(web.Options{Ready: rs.Ping})))
	t.Cleanup(api.Close)
	if resp, err := http.Get(api.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz with Redis up: %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// Every client's commands wait from now on, for longer than the test's own deadline.
	if err := srv.Client().Do(ctx, "CLIENT", "PAUSE", fmt.Sprint((time.Minute).Milliseconds()), "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(hctx, http.MethodGet, api.URL+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("healthz while Redis hangs: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("healthz while Redis hangs: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// With Redis stopped, /readyz answers 503 not_ready naming the store, /healthz 503
// store_unavailable, and /livez still 200; once Redis is back, /readyz is 200 again.
func TestReadyzWhenRedisStops(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	rs, err := redisstore.Open(ctx, srv.URL(0), redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	api := httptest.NewServer(web.New(web.Options{Ready: rs.Ping}))
	t.Cleanup(api.Close)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(api.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `{"name":"store","status":"ok"}`) {
		t.Fatalf("readyz with Redis up: %d %s", code, body)
	}
	srv.Kill()
	code, body := get("/readyz")
	if code != 503 || !strings.Contains(body, `"code":"not_ready"`) || !strings.Contains(body, `"name":"store","status":"`) ||
		strings.Contains(body, `{"name":"store","status":"ok"}`) || strings.Contains(body, srv.Addr()) {
		t.Errorf("readyz with Redis stopped: %d %s", code, body)
	}
	if code, body := get("/healthz"); code != 503 || !strings.Contains(body, "store_unavailable") {
		t.Errorf("healthz with Redis stopped: %d %s", code, body)
	}
	if code, body := get("/livez"); code != 200 || body != "{\"status\":\"ok\"}\n" {
		t.Errorf("livez with Redis stopped: %d %q", code, body)
	}
	srv.Restart()
	waitFor(t, "readyz after Redis restarted", func() bool { code, _ := get("/readyz"); return code == 200 })
}
