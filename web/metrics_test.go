package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/resilience"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/web"
)

// scrape reads GET {base}/metrics without credentials and parses the text exposition.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample finds the series of family name whose labels include want, and returns its value
// (a counter's or gauge's value, a histogram's sample count).
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, found
}

// metricsEnv is a service whose REST requests retry quickly (faults_test.go's settings).
func metricsEnv(t *testing.T) *env {
	return newEnvWith(t, azdosim.Options{VirtualDir: "tfs", Seed: true}, func(o *services.Options) {
		o.Retry = resilience.Options{MaxAttempts: 3, InitialInterval: time.Millisecond,
			MaxInterval: 5 * time.Millisecond, MaxRetryAfter: 2 * time.Second}
	})
}

// cloneThroughAPI creates a connection and a build profile of "android app", lists projects
// twice (a catalog miss, then a hit) and clones the profile synchronously, its repository
// lookup throttled once; it returns the connection's and profile's ids.
func cloneThroughAPI(t *testing.T, e *env) (connID, profileID string) {
	return cloneThroughAPIWith(t, e, nil)
}

// cloneThroughAPIWith is cloneThroughAPI whose clone request carries header as well.
func cloneThroughAPIWith(t *testing.T, e *env, header http.Header) (connID, profileID string) {
	t.Helper()
	connID = e.createConnection()
	if code, body, _ := e.call("GET", "/api/v1/connections/"+connID+"/projects", nil); code != 200 {
		t.Fatalf("projects: %d %v", code, body)
	}
	code, repos, _ := e.call("GET", "/api/v1/connections/"+connID+"/repositories?project=Fabrikam%20Mobile", nil)
	if code != 200 {
		t.Fatalf("repositories: %d %v", code, repos)
	}
	var rid string
	for _, r := range repos["value"].([]any) {
		if m := r.(map[string]any); m["name"] == "android app" {
			rid = m["id"].(string)
		}
	}
	if rid == "" {
		t.Fatalf("no android app in %v", repos)
	}
	code, prof, _ := e.call("POST", "/api/v1/build-profiles", map[string]any{"name": "android", "connectionId": connID, "repositoryId": rid, "branch": "main"})
	if code != 201 {
		t.Fatalf("build profile: %d %v", code, prof)
	}
	profileID = prof["id"].(string)
	// Throttled once: the repository lookup of the clone answers 429 with Retry-After: 1, and
	// its retry answers 200 with Retry-After: 1, which paces the clone's git requests.
	for _, spec := range []string{"repositories=429:1,retry-after=1", "repositories=throttle-headers:1,retry-after=1"} {
		f, err := azdosim.ParseFault(spec)
		if err != nil {
			t.Fatal(err)
		}
		e.sim.AddFault(f)
	}
	req, _ := http.NewRequest("POST", e.api.URL+"/api/v1/build-profiles/"+profileID+"/clone", strings.NewReader(`{"depth":1}`))
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("clone: %d %s", resp.StatusCode, raw)
	}
	if code, body, _ := e.call("GET", "/api/v1/connections/"+connID+"/projects", nil); code != 200 {
		t.Fatalf("projects again: %d %v", code, body)
	}
	return connID, profileID
}

// TestMetricsAfterAClone: after a clone through the API, GET /metrics (no API key) holds
// every family with a plausible value, labelled by route pattern, operation and outcome.
func TestMetricsAfterAClone(t *testing.T) {
	e := metricsEnv(t)
	_, profileID := cloneThroughAPI(t, e)
	fams := scrape(t, e.api.URL)

	atLeast := func(name string, labels map[string]string, min float64) {
		t.Helper()
		v, ok := sample(fams, name, labels)
		if !ok {
			t.Errorf("%s%v: no such series", name, labels)
		} else if v < min {
			t.Errorf("%s%v = %v, want at least %v", name, labels, v, min)
		}
	}
	atLeast("repoconnect_http_requests_total", map[string]string{"route": "/api/v1/build-profiles/:id/clone", "method": "POST", "code": "200"}, 1)
	atLeast("repoconnect_http_requests_total", map[string]string{"route": "/api/v1/connections", "method": "POST", "code": "201"}, 1)
	atLeast("repoconnect_http_request_duration_seconds", map[string]string{"route": "/api/v1/build-profiles/:id/clone", "method": "POST"}, 1)
	atLeast("repoconnect_upstream_requests_total", map[string]string{"operation": "connectionData", "code": "200"}, 1)
	atLeast("repoconnect_upstream_requests_total", map[string]string{"operation": "projects", "code": "200"}, 1)
	atLeast("repoconnect_upstream_requests_total", map[string]string{"operation": "repository", "code": "200"}, 1)
	atLeast("repoconnect_upstream_requests_total", map[string]string{"operation": "git-info-refs", "code": "200"}, 1)
	atLeast("repoconnect_upstream_requests_total", map[string]string{"operation": "git-upload-pack", "code": "200"}, 1)
	atLeast("repoconnect_upstream_request_duration_seconds", map[string]string{"operation": "git-upload-pack"}, 1)
	atLeast("repoconnect_upstream_retries_total", map[string]string{"operation": "repository"}, 1)
	atLeast("repoconnect_upstream_throttled_total", map[string]string{"operation": "repository", "code": "429"}, 1)
	atLeast("repoconnect_upstream_paced_total", nil, 1)
	atLeast("repoconnect_upstream_pacing_wait_seconds_total", nil, 0.01)
	atLeast("repoconnect_oauth_token_refreshes_total", map[string]string{"outcome": "refreshed"}, 0) // no OAuth connection here: 0
	atLeast("repoconnect_clones_total", map[string]string{"state": "succeeded"}, 1)
	atLeast("repoconnect_clone_duration_seconds", map[string]string{"state": "succeeded"}, 1)
	atLeast("repoconnect_clone_fetched_bytes_total", nil, 1)
	atLeast("repoconnect_clone_fetched_objects_total", nil, 1)
	atLeast("repoconnect_clone_written_bytes_total", nil, 1)
	atLeast("repoconnect_clone_queue_jobs", map[string]string{"state": "waiting"}, 0)
	atLeast("repoconnect_clone_queue_jobs", map[string]string{"state": "running"}, 0)
	atLeast("repoconnect_catalog_cache_lookups_total", map[string]string{"result": "miss"}, 1)
	atLeast("repoconnect_catalog_cache_lookups_total", map[string]string{"result": "hit"}, 1)
	atLeast("repoconnect_catalog_cache_load_errors_total", nil, 0)
	atLeast("repoconnect_store_call_duration_seconds", map[string]string{"operation": "GetBuildProfile", "outcome": "ok"}, 1)
	atLeast("repoconnect_store_call_duration_seconds", map[string]string{"operation": "APIKeyByHash", "outcome": "ok"}, 1)
	atLeast("repoconnect_build_info", map[string]string{"goversion": runtime.Version()}, 1)
	atLeast("go_goroutines", nil, 1)
	atLeast("process_cpu_seconds_total", nil, 0)

	// The clone's path is one of the three, and nothing ran once the clone returned.
	var paths float64
	for _, p := range []string{"cold", "cache", "workspace"} {
		v, _ := sample(fams, "repoconnect_clones_total", map[string]string{"state": "succeeded", "path": p})
		paths += v
	}
	if paths != 1 {
		t.Errorf("succeeded clones by path sum to %v, want 1", paths)
	}
	if v, _ := sample(fams, "repoconnect_clone_queue_jobs", map[string]string{"state": "running"}); v != 0 {
		t.Errorf("clone_queue_jobs{running} = %v after the clone returned", v)
	}
	// An unknown path is one series, not one per path.
	for _, p := range []string{"/nope/1", "/nope/2"} {
		resp, err := http.Get(e.api.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	fams = scrape(t, e.api.URL)
	for _, m := range fams["repoconnect_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), "nope") {
				t.Errorf("a raw path became a route label: %v", m)
			}
			if l.GetName() == "route" && strings.Contains(l.GetValue(), profileID) {
				t.Errorf("an id became a route label: %v", m)
			}
		}
	}
	atLeast("repoconnect_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "code": "404"}, 2)
}

// TestMetricsLabelsCarryNoIDs: no label value of any family names a tenant, connection,
// profile, repository, clone, API key, host or secret, after a clone and a clone job.
func TestMetricsLabelsCarryNoIDs(t *testing.T) {
	e := metricsEnv(t)
	connID, profileID := cloneThroughAPI(t, e)
	code, job, _ := e.call("POST", "/api/v1/build-profiles/"+profileID+"/clones", map[string]any{"depth": 1})
	if code != http.StatusAccepted {
		t.Fatalf("clone job: %d %v", code, job)
	}
	jobID := job["id"].(string)
	deadline := time.Now().Add(time.Minute)
	for {
		_, j, _ := e.call("GET", "/api/v1/clones/"+jobID, nil)
		if j["state"] == "succeeded" || j["state"] == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %v", j["state"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, conn, _ := e.call("GET", "/api/v1/connections/"+connID, nil)
	forbidden := []string{connID, profileID, jobID, e.key, simPAT, services.DefaultTenant, strings.TrimPrefix(e.sim.URL(), "http://"), "127.0.0.1", "DefaultCollection", "Fabrikam", "android"}
	if tenant, _ := conn["tenantId"].(string); tenant != "" {
		forbidden = append(forbidden, tenant)
	}
	fams := scrape(t, e.api.URL)
	if v, _ := sample(fams, "repoconnect_clones_total", map[string]string{"state": "succeeded"}); v < 2 {
		t.Fatalf("succeeded clones = %v, want the synchronous one and the job", v)
	}
	labels := 0
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels++
				for _, bad := range forbidden {
					if bad != "" && strings.Contains(strings.ToLower(l.GetValue()), strings.ToLower(bad)) {
						t.Errorf("%s{%s=%q} carries %q", name, l.GetName(), l.GetValue(), bad)
					}
				}
			}
		}
	}
	if labels < 50 {
		t.Fatalf("only %d labels scraped", labels)
	}
}

// TestMetricsElsewhere: with Options.MetricsElsewhere (serve --metrics-addr), the API's
// listener answers GET /metrics 404 and still measures its requests.
func TestMetricsElsewhere(t *testing.T) {
	e := newEnv(t)
	api := httptest.NewServer(web.New(web.Options{Service: e.svc, MetricsElsewhere: true}))
	t.Cleanup(api.Close)
	resp, err := http.Get(api.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /metrics with MetricsElsewhere: %d, want 404", resp.StatusCode)
	}
	other := httptest.NewServer(e.svc.Metrics().Handler())
	t.Cleanup(other.Close)
	fams := scrape(t, other.URL)
	if v, _ := sample(fams, "repoconnect_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}); v != 1 {
		t.Errorf("the 404 of /metrics counted %v times, want 1", v)
	}
}

// Token refreshes are counted by outcome: an expired access token refreshed, then a refresh
// token whose authorization the user revoked (reauthorization needed); the token requests
// are upstream calls of operation oauthToken.
func TestMetricsTokenRefreshes(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	id := e.authorized("cloud")
	e.sim.ExpireAccessTokens()
	e.clock.Advance(2 * time.Hour)
	if code, m := e.call("GET", "/api/v1/connections/"+id+"/projects", nil); code != http.StatusOK {
		t.Fatalf("projects after expiry: %d %v", code, m)
	}
	fams := scrape(t, e.apis[0].URL)
	if v, _ := sample(fams, "repoconnect_oauth_token_refreshes_total", map[string]string{"outcome": "refreshed"}); v != 1 {
		t.Errorf("refreshed = %v, want 1", v)
	}
	if v, _ := sample(fams, "repoconnect_upstream_requests_total", map[string]string{"operation": "oauthToken", "code": "200"}); v < 1 {
		t.Errorf("oauthToken calls = %v, want at least 1", v)
	}

	if err := e.sim.RevokeAuthorization(azdoClientID, "Ada Lovelace"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	if code, _ := e.call("GET", "/api/v1/connections/"+id+"/repositories", nil); code == http.StatusOK {
		t.Fatal("a revoked authorization still lists repositories")
	}
	fams = scrape(t, e.apis[0].URL)
	if v, _ := sample(fams, "repoconnect_oauth_token_refreshes_total", map[string]string{"outcome": "reauthorization_needed"}); v != 1 {
		t.Errorf("reauthorization_needed = %v, want 1", v)
	}
}

// A clone that fails and a clone job cancelled while it runs are counted by their state,
// with path "none" (neither took a path).
func TestMetricsCloneStates(t *testing.T) {
	e := metricsEnv(t)
	_, profileID := cloneThroughAPI(t, e)
	fault := func(spec string) {
		t.Helper()
		f, err := azdosim.ParseFault(spec)
		if err != nil {
			t.Fatal(err)
		}
		e.sim.ClearFaults()
		e.sim.AddFault(f)
	}
	fault("info/refs=500")
	if code, body, _ := e.call("POST", "/api/v1/build-profiles/"+profileID+"/clone", map[string]any{"depth": 1}); code < 400 {
		t.Fatalf("clone with info/refs failing: %d %v", code, body)
	}
	fault("git-upload-pack=slow,delay=30s")
	code, job, _ := e.call("POST", "/api/v1/build-profiles/"+profileID+"/clones", map[string]any{"depth": 1})
	if code != http.StatusAccepted {
		t.Fatalf("clone job: %d %v", code, job)
	}
	jobID := job["id"].(string)
	deadline := time.Now().Add(time.Minute)
	for {
		_, j, _ := e.call("GET", "/api/v1/clones/"+jobID, nil)
		if j["state"] == "running" {
			break
		}
		if time.Now().After(deadline) || j["state"] == "succeeded" || j["state"] == "failed" {
			t.Fatalf("job %v, want running", j["state"])
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v, _ := sample(scrape(t, e.api.URL), "repoconnect_clone_queue_jobs", map[string]string{"state": "running"}); v != 1 {
		t.Errorf("clone_queue_jobs{running} = %v while the job runs, want 1", v)
	}
	if code, body, _ := e.call("DELETE", "/api/v1/clones/"+jobID, nil); code != 200 {
		t.Fatalf("cancel: %d %v", code, body)
	}
	fams := scrape(t, e.api.URL)
	for _, c := range []struct {
		state string
		want  float64
	}{{"failed", 1}, {"cancelled", 1}} {
		if v, _ := sample(fams, "repoconnect_clones_total", map[string]string{"state": c.state, "path": "none"}); v != c.want {
			t.Errorf("clones_total{state=%s,path=none} = %v, want %v", c.state, v, c.want)
		}
	}
	if v, _ := sample(fams, "repoconnect_upstream_requests_total", map[string]string{"operation": "git-info-refs", "code": "500"}); v != 1 {
		t.Errorf("info/refs 500s counted %v times, want 1 call (its retries inside it)", v)
	}
	if v, _ := sample(fams, "repoconnect_upstream_retries_total", map[string]string{"operation": "git-info-refs"}); v != 2 {
		t.Errorf("info/refs retries = %v, want 2 (3 attempts)", v)
	}
}
