package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store/redisstore"
)

// sseEvent is one Server-Sent Event: its type and its data lines joined by "\n".
type sseEvent struct {
	name string
	data string
}

// readSSE parses an event stream until it ends (event type "message" when none is named;
// comments are counted, not returned).
func readSSE(t *testing.T, r io.Reader) (events []sseEvent, comments int) {
	t.Helper()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cur sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != nil {
				if cur.name == "" {
					cur.name = "message"
				}
				cur.data = strings.Join(data, "\n")
				events = append(events, cur)
			}
			cur, data = sseEvent{}, nil
		case strings.HasPrefix(line, ":"):
			comments++
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				cur.name = value
			case "data":
				data = append(data, value)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the event stream: %v", err)
	}
	return events, comments
}

// events opens GET path on instance i as tenant with a plain client; the caller closes the
// body.
func (f *fleet) events(i int, tenant, path string) *http.Response {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	f.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", f.apis[i].URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+f.keys[tenant])
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp
}

// cloneProfile makes tenant acme's connection and a build profile of repo@branch.
func (f *fleet) cloneProfile(repo, branch string) (profileID, repoID string) {
	f.t.Helper()
	conn := f.create(0, "acme", "acme-conn")
	repoID = f.repoID(0, "acme", conn, repo)
	code, prof := f.json(0, "acme", "POST", "/api/v1/build-profiles", map[string]any{"name": repo, "connectionId": conn, "repositoryId": repoID, "branch": branch})
	if code != http.StatusCreated {
		f.t.Fatalf("build profile: %d %v", code, prof)
	}
	return prof["id"].(string), repoID
}

var hex40 = regexp.MustCompile(`^[0-9a-f]{40}$`)

// cloneQueue is the clone queue of one more instance, as `repoconnect serve` builds it: nil
// (in-process) on bolt; on Redis one sharing the deployment's jobs, on a client of its own.
func (b *backend) cloneQueue() services.CloneQueue {
	if b.kind != onRedis {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := redisstore.Open(ctx, b.redis.URL(0), redisstore.Options{Now: b.now, Prefix: "rctest"})
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { rs.Close() })
	return services.NewRedisCloneQueue(rs.Client(), rs.Prefix(), services.RedisCloneQueueOptions{PollInterval: 50 * time.Millisecond})
}

func TestCloneJobAPI(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, kind string) {
		n := 1 // on Redis, the job is started through one instance and followed through another
		if kind == onRedis {
			n = 2
		}
		f := newFleet(t, kind, n, nil)
		pid, _ := f.cloneProfile("ios-app", "main")

		code, raw, hdr := f.do(0, "acme", "POST", "/api/v1/build-profiles/"+pid+"/clones", map[string]any{"depth": 1})
		var job map[string]any
		_ = json.Unmarshal(raw, &job)
		if code != http.StatusAccepted || job["state"] != "queued" || job["buildProfileId"] != pid || hdr.Get("Location") != "/api/v1/clones/"+job["id"].(string) {
			t.Fatalf("start: %d %s %v", code, raw, hdr)
		}
		if _, ok := job["progress"].(map[string]any); !ok || job["createdAt"] == nil || job["result"] != nil || job["error"] != nil {
			t.Errorf("queued job JSON %s", raw)
		}
		loc := hdr.Get("Location")

		resp := f.events(n-1, "acme", loc+"/events")
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" ||
			resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Accel-Buffering") != "no" {
			t.Fatalf("events: %d %v", resp.StatusCode, resp.Header)
		}
		evs, _ := readSSE(t, resp.Body)
		if len(evs) == 0 {
			t.Fatal("no events")
		}
		for _, ev := range evs[:len(evs)-1] {
			if ev.name != "progress" {
				t.Errorf("event before the last: %+v", ev)
			}
		}
		end := evs[len(evs)-1]
		var done struct {
			ID       string `json:"id"`
			State    string `json:"state"`
			Progress struct {
				Phase string `json:"phase"`
				Bytes int64  `json:"bytes"`
			} `json:"progress"`
			Result struct {
				Commit, Branch string
			} `json:"result"`
			FinishedAt string `json:"finishedAt"`
		}
		if err := json.Unmarshal([]byte(end.data), &done); err != nil {
			t.Fatalf("done event data %q: %v", end.data, err)
		}
		if end.name != "done" || done.State != "succeeded" || !hex40.MatchString(done.Result.Commit) || done.Result.Branch != "main" ||
			done.Progress.Phase != "done" || done.Progress.Bytes <= 0 || done.FinishedAt == "" || done.ID != job["id"] {
			t.Fatalf("last event %s %s", end.name, end.data)
		}

		code, got := f.json(n-1, "acme", "GET", loc, nil)
		if code != 200 || got["state"] != "succeeded" || got["result"].(map[string]any)["commit"] != done.Result.Commit {
			t.Errorf("GET %s: %d %v", loc, code, got)
		}
		// Another tenant's job and an unknown one: the same 404 problem, on both reads.
		for _, c := range []struct{ tenant, path string }{{"other", loc}, {"acme", "/api/v1/clones/" + missingID}} {
			for _, p := range []string{c.path, c.path + "/events"} {
				code, raw, hdr := f.do(0, c.tenant, "GET", p, nil)
				var pr map[string]any
				_ = json.Unmarshal(raw, &pr)
				if code != 404 || hdr.Get("Content-Type") != "application/problem+json" || pr["code"] != "not_found" || pr["status"] != 404.0 {
					t.Errorf("GET %s as %s: %d %s %s", p, c.tenant, code, hdr.Get("Content-Type"), raw)
				}
			}
		}
		if code, _ := f.json(0, "other", "POST", "/api/v1/build-profiles/"+pid+"/clones", nil); code != 404 {
			t.Errorf("another tenant started a clone of acme's profile: %d", code)
		}
		if code, p := f.json(0, "acme", "POST", "/api/v1/build-profiles/"+pid+"/clones", map[string]any{"depth": -1}); code != 400 || p["field"] != "depth" {
			t.Errorf("depth -1: %d %v", code, p)
		}
	})
}

// A failed job carries the problem the synchronous clone answers, under "error".
func TestCloneJobFailureCarriesTheProblem(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, kind string) {
		f := newFleet(t, kind, 1, nil)
		pid, rid := f.cloneProfile("ios-app", "main")
		if err := f.sim.SetDisabled("", rid, true); err != nil {
			t.Fatal(err)
		}
		syncCode, syncProblem := f.json(0, "acme", "POST", "/api/v1/build-profiles/"+pid+"/clone", nil)
		code, job := f.json(0, "acme", "POST", "/api/v1/build-profiles/"+pid+"/clones", nil)
		if code != http.StatusAccepted {
			t.Fatalf("start: %d %v", code, job)
		}
		resp := f.events(0, "acme", "/api/v1/clones/"+job["id"].(string)+"/events")
		defer resp.Body.Close()
		evs, _ := readSSE(t, resp.Body)
		if len(evs) == 0 || evs[len(evs)-1].name != "done" {
			t.Fatalf("events %+v", evs)
		}
		var end map[string]any
		_ = json.Unmarshal([]byte(evs[len(evs)-1].data), &end)
		p, _ := end["error"].(map[string]any)
		if end["state"] != "failed" || p == nil || p["status"] != float64(syncCode) || p["code"] != syncProblem["code"] ||
			p["field"] != "repositoryId" || p["detail"] != syncProblem["detail"] || p["type"] != syncProblem["type"] || end["result"] != nil {
			t.Fatalf("failed job %v; the synchronous clone answered %d %v", end, syncCode, syncProblem)
		}
	})
}

// Events are flushed as they happen: the first arrives while the clone is held up at the
// server, the done event after it is let go.
func TestCloneEventsAreFlushed(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, kind string) {
		f := newFleet(t, kind, 1, nil)
		pid, held, release := f.heldProfile()
		_, _, hdr := f.do(0, "acme", "POST", "/api/v1/build-profiles/"+pid+"/clones", nil)
		select {
		case <-held:
		case <-time.After(30 * time.Second):
			t.Fatal("the clone did not reach the server")
		}
		resp := f.events(0, "acme", hdr.Get("Location")+"/events")
		defer resp.Body.Close()
		rd := bufio.NewReader(resp.Body)
		first, err := rd.ReadString('\n')
		if err != nil || first != "event: progress\n" {
			t.Fatalf("first line %q, %v", first, err)
		}
		data, _ := rd.ReadString('\n')
		if !strings.Contains(data, `"state":"running"`) || !strings.Contains(data, `"phase":"connecting"`) {
			t.Fatalf("first event's data %q", data)
		}
		release()
		evs, _ := readSSE(t, rd)
		if len(evs) == 0 || evs[len(evs)-1].name != "done" || !strings.Contains(evs[len(evs)-1].data, `"state":"succeeded"`) {
			t.Fatalf("after the release: %+v", evs)
		}
	})
}

// DELETE /api/v1/clones/{id} of a running job answers once it failed, with the "cancelled"
// problem, and so again; its event stream ends with that. On Redis the job is cancelled and
// followed through another instance than the one it was started on.
func TestCancelCloneJobAPI(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, kind string) {
		n := 1
		if kind == onRedis {
			n = 2
		}
		f := newFleet(t, kind, n, nil)
		pid, held, _ := f.heldProfile()
		_, job := f.json(0, "acme", "POST", "/api/v1/build-profiles/"+pid+"/clones", nil)
		select {
		case <-held:
		case <-time.After(30 * time.Second):
			t.Fatal("the clone did not reach the server")
		}
		loc := "/api/v1/clones/" + job["id"].(string)
		resp := f.events(n-1, "acme", loc+"/events")
		defer resp.Body.Close()
		code, got := f.json(n-1, "acme", "DELETE", loc, nil)
		p, _ := got["error"].(map[string]any)
		if code != http.StatusOK || got["state"] != "failed" || p == nil || p["code"] != "cancelled" || got["finishedAt"] == nil || got["result"] != nil {
			t.Fatalf("DELETE %s: %d %v", loc, code, got)
		}
		if code, again := f.json(0, "acme", "DELETE", loc, nil); code != http.StatusOK || again["state"] != "failed" || again["finishedAt"] != got["finishedAt"] {
			t.Errorf("DELETE of the finished job: %d %v", code, again)
		}
		evs, _ := readSSE(t, resp.Body)
		if len(evs) == 0 || evs[len(evs)-1].name != "done" || !strings.Contains(evs[len(evs)-1].data, `"code":"cancelled"`) {
			t.Fatalf("events of the cancelled job: %+v", evs)
		}
	})
}

// heldProfile makes tenant acme's build profile of ios-app@main on a connection through a
// proxy that holds every git-upload-pack request until release: held receives a value per
// held request.
func (f *fleet) heldProfile() (profileID string, held <-chan struct{}, release func()) {
	f.t.Helper()
	hold, heldc := make(chan struct{}), make(chan struct{}, 4)
	target, _ := url.Parse(f.sim.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			heldc <- struct{}{}
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	f.t.Cleanup(front.Close)
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	f.t.Cleanup(release)
	body := f.connectionBody("held")
	body["serverUrl"] = front.URL
	code, conn := f.json(0, "acme", "POST", "/api/v1/connections", body)
	if code != http.StatusCreated {
		f.t.Fatalf("connection: %d %v", code, conn)
	}
	rid := f.repoID(0, "acme", conn["id"].(string), "ios-app")
	code, prof := f.json(0, "acme", "POST", "/api/v1/build-profiles", map[string]any{"name": "held", "connectionId": conn["id"], "repositoryId": rid, "branch": "main"})
	if code != http.StatusCreated {
		f.t.Fatalf("build profile: %d %v", code, prof)
	}
	return prof["id"].(string), heldc, release
}
