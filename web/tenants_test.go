package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/ratelimit"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/web"
)

// missingID is an id no tenant has; another tenant's id must be answered exactly like it.
const missingID = "0123456789abcdef0123456789abcdef"

// Tenant isolation: tenant "other" tries every endpoint of the API with the ids of tenant
// "acme" (connection, repository, build profile) and gets exactly the answer it gets for an id
// that exists nowhere (404 for ids in the path, the same field error for ids in bodies); its
// lists never show acme's records, and acme's records are unchanged afterwards. Every route
// of the router must be classified here, so a new endpoint cannot skip the suite.
func TestTenantIsolationEveryEndpoint(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, kind string) {
		f := newFleet(t, kind, 1, nil)
		conn := f.create(0, "acme", "acme-conn")
		rid := f.repoID(0, "acme", conn, "ios-app")
		code, prof := f.json(0, "acme", "POST", "/api/v1/build-profiles", map[string]any{"name": "ios", "connectionId": conn, "repositoryId": rid, "branch": "main"})
		if code != 201 {
			t.Fatalf("acme's build profile: %d %v", code, prof)
		}
		pid := prof["id"].(string)
		// A finished clone job of acme's (the events stream ends with its done event).
		_, job := f.json(0, "acme", "POST", "/api/v1/build-profiles/"+pid+"/clones", map[string]any{"depth": 1})
		jid := job["id"].(string)
		if code, raw, _ := f.do(0, "acme", "GET", "/api/v1/clones/"+jid+"/events", nil); code != 200 || !bytes.Contains(raw, []byte("event: done")) {
			t.Fatalf("acme's clone job: %d %s", code, raw)
		}
		// A run of acme's (manual).
		code, run := f.json(0, "acme", "POST", "/api/v1/build-profiles/"+pid+"/runs", map[string]any{})
		if code != 202 {
			t.Fatalf("acme's run: %d %v", code, run)
		}
		runID := run["id"].(string)
		_, connBefore, _ := f.do(0, "acme", "GET", "/api/v1/connections/"+conn, nil)
		// Tenant other has a connection of its own with the same name: names are per tenant, so
		// creating it neither conflicts nor reveals acme's.
		own := f.create(0, "other", "acme-conn")

		// same asks one request as "other" with acme's ids and with missing ids, and wants the two
		// answers equal (status and body, ids aside) and with status want.
		same := func(method, path string, body func(id string) any, ids func(missing bool) (string, string), want int) {
			t.Helper()
			pa, ida := ids(false)
			pm, idm := ids(true)
			var ba, bm any
			if body != nil {
				ba, bm = body(ida), body(idm)
			}
			ca, ra, _ := f.do(0, "other", method, pa, ba)
			cm, rm, _ := f.do(0, "other", method, pm, bm)
			ra = bytes.ReplaceAll(ra, []byte(ida), []byte("ID"))
			rm = bytes.ReplaceAll(rm, []byte(idm), []byte("ID"))
			ra, rm = withoutRequestID(ra), withoutRequestID(rm) // each request has its own
			if ca != want || cm != want || !bytes.Equal(ra, rm) {
				t.Errorf("%s %s: another tenant's id answered %d %s; a missing id %d %s (want %d, identical)", method, path, ca, ra, cm, rm, want)
			}
			if bytes.Contains(ra, []byte(conn)) || bytes.Contains(ra, []byte(pid)) {
				t.Errorf("%s %s: the answer names acme's record: %s", method, path, ra)
			}
		}
		inPath := func(tmpl string) func(bool) (string, string) {
			return func(missing bool) (string, string) {
				c, r, p := conn, rid, pid
				if missing {
					c, r, p = missingID, missingID[:31]+"e", missingID[:31]+"f"
				}
				path := strings.NewReplacer(":id@c", c, ":repositoryId", r, ":id@p", p).Replace(tmpl)
				// The id the answer might echo: the first one in the path.
				switch {
				case strings.Contains(tmpl, ":id@c"):
					return path, c
				case strings.Contains(tmpl, ":id@p"):
					return path, p
				}
				return path, r
			}
		}
		inBody := func(path string, missing bool) (string, string) {
			if missing {
				return path, missingID
			}
			return path, conn
		}

		routes := web.New(web.Options{Service: f.svcs[0]}).(*echo.Echo).Routes()
		covered := map[string]bool{}
		for _, r := range routes {
			if !strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/api/v1/*" { // echo's not-found route of the group
				continue
			}
			key := r.Method + " " + r.Path
			covered[key] = true
			switch key {
			case "PATCH /api/v1/connections/:id":
				same(r.Method, r.Path, func(string) any { return map[string]any{"name": "taken-over"} }, inPath("/api/v1/connections/:id@c"), http.StatusNotFound)
			case "GET /api/v1/connections/:id", "DELETE /api/v1/connections/:id",
				"GET /api/v1/connections/:id/projects", "GET /api/v1/connections/:id/repositories",
				"GET /api/v1/connections/:id/status-history",
				"POST /api/v1/connections/:id/authorize", "POST /api/v1/connections/:id/deauthorize",
				"POST /api/v1/connections/:id/check":
				tmpl := strings.Replace(r.Path, ":id", ":id@c", 1)
				same(r.Method, r.Path, func(string) any {
					if r.Method == "POST" {
						return map[string]any{}
					}
					return nil
				}, inPath(tmpl), http.StatusNotFound)
			case "PUT /api/v1/connections/:id/ssh-key", "DELETE /api/v1/connections/:id/ssh-key",
				"POST /api/v1/connections/:id/ssh-check", "POST /api/v1/connections/:id/ssh-host-key":
				tmpl := strings.Replace(r.Path, ":id", ":id@c", 1)
				same(r.Method, r.Path, func(string) any {
					switch {
					case strings.HasSuffix(r.Path, "/ssh-key") && r.Method == "PUT":
						return map[string]any{"generate": true}
					case strings.HasSuffix(r.Path, "/ssh-host-key"):
						return map[string]any{"fingerprint": "SHA256:3/6USJ7MhrUMbMj7Pl3+xras/SPCB3Jginqw9NLz5Jw"}
					case r.Method == "POST":
						return map[string]any{}
					}
					return nil
				}, inPath(tmpl), http.StatusNotFound)
			case "GET /api/v1/connections/:id/repositories/:repositoryId/branches":
				same(r.Method, r.Path, nil, inPath("/api/v1/connections/:id@c/repositories/:repositoryId/branches"), http.StatusNotFound)
			case "GET /api/v1/connections/:id/projects/:projectId/service-endpoints":
				same(r.Method, r.Path, nil, inPath("/api/v1/connections/:id@c/projects/Platform/service-endpoints"), http.StatusNotFound)
			case "GET /api/v1/build-profiles/:id", "DELETE /api/v1/build-profiles/:id", "POST /api/v1/build-profiles/:id/clone":
				tmpl := strings.Replace(r.Path, ":id", ":id@p", 1)
				same(r.Method, r.Path, func(string) any {
					if r.Method == "POST" {
						return map[string]any{"depth": 1}
					}
					return nil
				}, inPath(tmpl), http.StatusNotFound)
			case "PATCH /api/v1/build-profiles/:id":
				same(r.Method, r.Path, func(string) any {
					return map[string]any{"name": "taken-over", "triggers": map[string]any{"push": map[string]any{}}}
				}, inPath("/api/v1/build-profiles/:id@p"), http.StatusNotFound)
			case "POST /api/v1/build-profiles/:id/hook/rotate", "GET /api/v1/build-profiles/:id/hook/check", "GET /api/v1/build-profiles/:id/runs", "POST /api/v1/build-profiles/:id/runs":
				tmpl := strings.Replace(r.Path, ":id", ":id@p", 1)
				same(r.Method, r.Path, func(string) any {
					if r.Method == "POST" {
						return map[string]any{}
					}
					return nil
				}, inPath(tmpl), http.StatusNotFound)
			case "GET /api/v1/runs/:id":
				same(r.Method, r.Path, nil, func(missing bool) (string, string) {
					id := runID
					if missing {
						id = missingID
					}
					return strings.Replace(r.Path, ":id", id, 1), id
				}, http.StatusNotFound)
			case "POST /api/v1/build-profiles/:id/clones":
				same(r.Method, r.Path, func(string) any { return map[string]any{"depth": 1} }, inPath("/api/v1/build-profiles/:id@p/clones"), http.StatusNotFound)
			case "GET /api/v1/clones/:id", "GET /api/v1/clones/:id/events", "DELETE /api/v1/clones/:id":
				same(r.Method, r.Path, nil, func(missing bool) (string, string) {
					id := jid
					if missing {
						id = missingID
					}
					return strings.Replace(r.Path, ":id", id, 1), id
				}, http.StatusNotFound)
			case "POST /api/v1/build-profiles":
				same(r.Method, r.Path, func(id string) any {
					return map[string]any{"name": "stolen", "connectionId": id, "repositoryId": rid, "branch": "main"}
				}, func(m bool) (string, string) { return inBody(r.Path, m) }, http.StatusBadRequest)
			case "POST /api/v1/check-token":
				same(r.Method, r.Path, func(id string) any { return map[string]any{"connectionId": id} },
					func(m bool) (string, string) { return inBody(r.Path, m) }, http.StatusNotFound)
			case "POST /api/v1/parse-url":
				same(r.Method, r.Path, func(id string) any {
					return map[string]any{"remoteUrl": f.sim.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/ios-app", "connectionId": id, "resolve": true}
				}, func(m bool) (string, string) { return inBody(r.Path, m) }, http.StatusNotFound)
			case "GET /api/v1/connections", "GET /api/v1/build-profiles":
				code, raw, _ := f.do(0, "other", "GET", r.Path, nil)
				if code != 200 || bytes.Contains(raw, []byte(conn)) || bytes.Contains(raw, []byte(pid)) {
					t.Errorf("GET %s as other: %d %s", r.Path, code, raw)
				}
			case "POST /api/v1/connections":
				// Covered above: other created its own "acme-conn" (201).
			case "GET /api/v1/openapi.json", "GET /api/v1/docs":
				// The OpenAPI document and its page: public, the same for every tenant.
				code, raw, _ := f.do(0, "other", "GET", r.Path, nil)
				if code != 200 || bytes.Contains(raw, []byte(conn)) || bytes.Contains(raw, []byte(pid)) {
					t.Errorf("GET %s as other: %d", r.Path, code)
				}
			default:
				t.Errorf("route %s is not covered by the tenant-isolation suite; add it", key)
			}
		}
		if len(covered) < 22 {
			t.Fatalf("only %d API routes found: %v", len(covered), covered)
		}

		// acme's records are untouched, and other's list holds only its own connection.
		code, connAfter, _ := f.do(0, "acme", "GET", "/api/v1/connections/"+conn, nil)
		if code != 200 || !bytes.Equal(connBefore, connAfter) {
			t.Fatalf("acme's connection changed:\nbefore %s\nafter  %d %s", connBefore, code, connAfter)
		}
		if code, _, _ := f.do(0, "acme", "GET", "/api/v1/build-profiles/"+pid, nil); code != 200 {
			t.Fatalf("acme's build profile: %d", code)
		}
		if _, l := f.json(0, "other", "GET", "/api/v1/connections", nil); l["count"].(float64) != 1 || l["value"].([]any)[0].(map[string]any)["id"] != own {
			t.Fatalf("other's list: %v", l)
		}
		// API keys: another tenant cannot revoke acme's key, and its own revocation works.
		keys, err := f.svcs[0].ListAPIKeys(context.Background(), "acme")
		if err != nil || len(keys) != 1 {
			t.Fatalf("acme's keys: %v %v", keys, err)
		}
		if err := f.svcs[0].RevokeAPIKey(context.Background(), "other", keys[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other revoked acme's key: %v", err)
		}
		if code, _, _ := f.do(0, "acme", "GET", "/api/v1/connections", nil); code != 200 {
			t.Fatalf("acme's key stopped working: %d", code)
		}
	})
}

// Rate limits per tenant: past its budget a tenant gets 429 with Retry-After and a problem
// naming rate_limited; another tenant is not affected; on Redis the budget is shared by the
// instances.
func TestRateLimits(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, kind string) {
		limits := map[string]ratelimit.Limit{
			services.ActionCheckToken:       {Rate: 3, Per: time.Hour},
			services.ActionCreateConnection: {Rate: 2, Per: time.Hour},
			services.ActionClone:            {Rate: 1, Per: time.Hour},
		}
		n := 1
		if kind == onRedis {
			n = 2
		}
		f := newFleet(t, kind, n, limits)
		check := map[string]any{"serverUrl": f.sim.URL(), "collection": "DefaultCollection", "pat": simPAT}
		for i := range 3 {
			if code, m := f.json(i%n, "acme", "POST", "/api/v1/check-token", check); code != 200 {
				t.Fatalf("check %d: %d %v", i, code, m)
			}
		}
		code, raw, hdr := f.do((3)%n, "acme", "POST", "/api/v1/check-token", check)
		ra := hdr.Get("Retry-After")
		if code != http.StatusTooManyRequests || ra == "" || ra == "0" || !bytes.Contains(raw, []byte(`"code":"rate_limited"`)) ||
			hdr.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("the 4th check: %d Retry-After %q %s", code, ra, raw)
		}
		// POST …/check counts as a token check too.
		id := f.create(0, "other", "o1")
		for range 3 {
			f.json(0, "other", "POST", "/api/v1/connections/"+id+"/check", nil)
		}
		if code, _, _ := f.do(n-1, "other", "POST", "/api/v1/connections/"+id+"/check", nil); code != http.StatusTooManyRequests {
			t.Fatalf("the 4th connection check of other: %d", code)
		}
		// acme's creation budget is its own (2), independent of its spent check budget.
		f.create(0, "acme", "a1")
		f.create(n-1, "acme", "a2")
		if code, _, _ := f.do(0, "acme", "POST", "/api/v1/connections", f.connectionBody("a3")); code != http.StatusTooManyRequests {
			t.Fatalf("the 3rd creation: %d", code)
		}
		// Nothing was stored for the refused creation.
		if _, l := f.json(0, "acme", "GET", "/api/v1/connections", nil); l["count"].(float64) != 2 {
			t.Fatalf("acme has %v connections after a refused creation", l["count"])
		}
		// Clones have their own budget (1), synchronous and queued alike.
		_, l := f.json(0, "acme", "GET", "/api/v1/connections", nil)
		a1 := l["value"].([]any)[0].(map[string]any)["id"].(string)
		_, repos := f.json(0, "acme", "GET", "/api/v1/connections/"+a1+"/repositories?q=ios-app", nil)
		repo := repos["value"].([]any)[0].(map[string]any)["id"].(string)
		code, prof := f.json(0, "acme", "POST", "/api/v1/build-profiles", map[string]any{"name": "p", "connectionId": a1, "repositoryId": repo, "branch": "main"})
		if code != http.StatusCreated {
			t.Fatalf("profile: %d %v", code, prof)
		}
		clones := "/api/v1/build-profiles/" + prof["id"].(string) + "/clones"
		if code, m := f.json(0, "acme", "POST", clones, map[string]any{"depth": 1}); code != http.StatusAccepted {
			t.Fatalf("the first clone: %d %v", code, m)
		}
		if code, _, _ := f.do(n-1, "acme", "POST", strings.TrimSuffix(clones, "s"), map[string]any{"depth": 1}); code != http.StatusTooManyRequests {
			t.Fatalf("the 2nd clone: %d", code)
		}
	})
}

// Paged lists through the API: limit and after walk every connection once, oldest first;
// bad values are field errors.
func TestConnectionPaging(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, kind string) {
		f := newFleet(t, kind, 1, nil)
		var want []string
		for i := range 5 {
			want = append(want, f.create(0, "acme", fmt.Sprintf("p%d", i)))
		}
		var got []string
		after := ""
		for page := 0; page < 10; page++ {
			code, l := f.json(0, "acme", "GET", "/api/v1/connections?limit=2&after="+after, nil)
			if code != 200 || l["count"].(float64) > 2 {
				t.Fatalf("page %d: %d %v", page, code, l)
			}
			for _, v := range l["value"].([]any) {
				got = append(got, v.(map[string]any)["id"].(string))
			}
			next, _ := l["next"].(string)
			if next == "" {
				break
			}
			after = next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pages listed %v, want %v", got, want)
		}
		for _, q := range []struct{ query, field string }{{"limit=0x", "limit"}, {"limit=-1", "limit"}, {"limit=501", "limit"}, {"after=!!", "after"}, {"after=AAAA", "after"}} {
			code, p := f.json(0, "acme", "GET", "/api/v1/connections?"+q.query, nil)
			if code != 400 || p["field"] != q.field {
				t.Errorf("?%s: %d %v, want 400 naming %s", q.query, code, p, q.field)
			}
		}
	})
}
