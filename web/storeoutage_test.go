package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store/redisstore"
	"github.com/repoconnect/repoconnect/web"
)

// outageAnswer is one answer seen during TestRedisOutageAnswers503.
type outageAnswer struct {
	status     int
	code       string // problem code of a JSON answer
	retryAfter string
	html       bool
	body       string
}

// Redis killed under load: requests of the API (reads, a create), the pages (a signed-in
// browser) and /healthz keep coming from four clients; every failed answer is 503 with code
// store_unavailable and Retry-After (an HTML page with that status for the browser), none is
// 500. Redis restarts on the same port and the same instance serves again without a restart.
func TestRedisOutageAnswers503(t *testing.T) {
	f := newFleet(t, onRedis, 1, nil)
	id := f.create(0, "acme", "before")

	// An instance with a readiness check, as serve builds it.
	st, cache, _ := f.be.instance(nil)
	rs := st.(*redisstore.Store)
	log := slog.New(slog.NewTextHandler(f.logs, nil))
	svc, err := services.New(services.Options{Door: loopbackDoor, Store: st, Keyring: f.kr, WorkDir: filepath.Join(f.dir, "work2"), Logger: log, Catalog: cache})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	api := httptest.NewServer(validated(t, web.New(web.Options{Service: svc, Logger: log, Ready: rs.Ping})))
	t.Cleanup(api.Close)
	session, _, _, err := svc.NewBrowserSession(context.Background(), f.keys["acme"])
	if err != nil {
		t.Fatal(err)
	}

	send := func(method, path string, body any, browser bool) (outageAnswer, error) {
		var rd io.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			rd = strings.NewReader(string(raw))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, method, api.URL+path, rd)
		if browser {
			req.AddCookie(&http.Cookie{Name: "rc_session", Value: session})
		} else {
			req.Header.Set("Authorization", "Bearer "+f.keys["acme"])
		}
		if rd != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return outageAnswer{}, err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		a := outageAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"),
			html: strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html"), body: string(raw)}
		var p struct{ Code string }
		if json.Unmarshal(raw, &p) == nil {
			a.code = p.Code
		}
		return a, nil
	}
	kinds := []struct {
		name string
		try  func(n int) (outageAnswer, error)
	}{
		{"list", func(int) (outageAnswer, error) { return send("GET", "/api/v1/connections", nil, false) }},
		{"get", func(int) (outageAnswer, error) { return send("GET", "/api/v1/connections/"+id, nil, false) }},
		{"create", func(n int) (outageAnswer, error) {
			return send("POST", "/api/v1/connections", f.connectionBody(fmt.Sprintf("load-%d", n)), false)
		}},
		{"page", func(int) (outageAnswer, error) { return send("GET", "/ui/connections", nil, true) }},
		{"healthz", func(int) (outageAnswer, error) { return send("GET", "/healthz", nil, false) }},
	}

	var (
		down, stop atomic.Bool
		ok, failed [5]atomic.Int32
		wg         sync.WaitGroup
		mu         sync.Mutex
		wrong      []string
		seq        atomic.Int32
		okSinceUp  [5]atomic.Int32
		restarted  atomic.Bool
	)
	for k := range kinds {
		wg.Go(func() {
			for i := 0; i < 5000 && !stop.Load(); i++ {
				a, err := kinds[k].try(int(seq.Add(1)))
				switch {
				case err != nil:
					mu.Lock()
					wrong = append(wrong, fmt.Sprintf("%s: %v", kinds[k].name, err))
					mu.Unlock()
					return
				case a.status < 300:
					ok[k].Add(1)
					if restarted.Load() {
						okSinceUp[k].Add(1)
					}
				case a.status == http.StatusServiceUnavailable && a.retryAfter == "5" &&
					(a.code == "store_unavailable" || kinds[k].name == "page" && a.html && strings.Contains(a.body, "Store unavailable")):
					failed[k].Add(1)
				default:
					mu.Lock()
					wrong = append(wrong, fmt.Sprintf("%s (Redis down: %v): %d Retry-After %q %.200s", kinds[k].name, down.Load(), a.status, a.retryAfter, a.body))
					mu.Unlock()
					return
				}
			}
		})
	}
	all := func(c *[5]atomic.Int32, min int32) func() bool {
		return func() bool {
			for k := range c {
				if c[k].Load() < min {
					return false
				}
			}
			return true
		}
	}
	noneWrong := func() {
		mu.Lock()
		defer mu.Unlock()
		if len(wrong) > 0 {
			stop.Store(true)
			t.Fatalf("%d wrong answers, first: %s", len(wrong), wrong[0])
		}
	}
	waitFor(t, "every kind of request served before the outage", func() bool { noneWrong(); return all(&ok, 3)() })
	down.Store(true)
	f.be.redis.Kill()
	waitFor(t, "every kind of request answered 503 during the outage", func() bool { noneWrong(); return all(&failed, 3)() })
	f.be.redis.Restart()
	restarted.Store(true)
	down.Store(false)
	waitFor(t, "every kind of request served again after Redis restarted", func() bool { noneWrong(); return all(&okSinceUp, 3)() })
	stop.Store(true)
	wg.Wait()
	noneWrong()
	for k := range kinds {
		t.Logf("%s: %d served, %d answered 503 store_unavailable", kinds[k].name, ok[k].Load(), failed[k].Load())
	}
}
