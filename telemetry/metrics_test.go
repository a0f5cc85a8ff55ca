package telemetry_test

import (
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/repoconnect/repoconnect/telemetry"
)

// A nil *Metrics records nothing and does not panic (code paths without metrics).
func TestNilMetricsAreNoOps(t *testing.T) {
	var m *telemetry.Metrics
	m.ObserveHTTP("/x", "GET", 200, time.Second)
	m.ObserveClone(telemetry.CloneSucceeded, "cold", time.Second, telemetry.CloneStats{})
	m.ObserveStore("GetConnection", "ok", time.Millisecond)
	m.ObserveTokenRefresh(telemetry.RefreshFailed)
	m.ObservePacing(time.Second)
	m.SetQueueDepth(func() (int, int) { return 1, 1 })
	m.SetCatalogStats(func() telemetry.CatalogStats { return telemetry.CatalogStats{} })
}

// Methods outside the standard set fold into "other", and an unmatched route is "unmatched".
func TestHTTPLabelsAreBounded(t *testing.T) {
	m := telemetry.NewMetrics()
	for i := range 5 {
		m.ObserveHTTP("", "X-CUSTOM-"+strings.Repeat("A", i), 404, time.Millisecond)
	}
	want := `
# HELP repoconnect_http_requests_total HTTP requests served, by route pattern ("unmatched" for unknown paths), method and status code.
# TYPE repoconnect_http_requests_total counter
repoconnect_http_requests_total{code="404",method="other",route="unmatched"} 5
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "repoconnect_http_requests_total"); err != nil {
		t.Error(err)
	}
}

// The scrape-time families read the functions set last; build info names the Go version.
func TestQueueCatalogAndBuildInfo(t *testing.T) {
	m := telemetry.NewMetrics()
	m.SetQueueDepth(func() (int, int) { return 3, 2 })
	m.SetCatalogStats(func() telemetry.CatalogStats {
		return telemetry.CatalogStats{Hits: 7, StaleHits: 1, Misses: 4, LoadErrors: 2}
	})
	want := `
# HELP repoconnect_clone_queue_jobs Clones of this instance waiting for a clone slot (waiting) and holding one (running).
# TYPE repoconnect_clone_queue_jobs gauge
repoconnect_clone_queue_jobs{state="running"} 2
repoconnect_clone_queue_jobs{state="waiting"} 3
# HELP repoconnect_catalog_cache_lookups_total Catalog cache lookups (projects, repositories, branches) by result: hit (fresh), stale (served while refreshed), miss (loaded from Azure DevOps).
# TYPE repoconnect_catalog_cache_lookups_total counter
repoconnect_catalog_cache_lookups_total{result="hit"} 7
repoconnect_catalog_cache_lookups_total{result="miss"} 4
repoconnect_catalog_cache_lookups_total{result="stale"} 1
# HELP repoconnect_catalog_cache_load_errors_total Catalog loads from Azure DevOps that failed (misses and background refreshes).
# TYPE repoconnect_catalog_cache_load_errors_total counter
repoconnect_catalog_cache_load_errors_total 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "repoconnect_clone_queue_jobs",
		"repoconnect_catalog_cache_lookups_total", "repoconnect_catalog_cache_load_errors_total"); err != nil {
		t.Error(err)
	}
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fams {
		if f.GetName() != "repoconnect_build_info" {
			continue
		}
		for _, l := range f.GetMetric()[0].GetLabel() {
			found = found || (l.GetName() == "goversion" && l.GetValue() == runtime.Version())
		}
	}
	if !found {
		t.Errorf("repoconnect_build_info lacks goversion %s", runtime.Version())
	}
}

// roundTripper answers with the statuses given in turn (an error after them).
type roundTripper struct{ statuses []int }

func (r *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(r.statuses) == 0 {
		return nil, errors.New("no answer")
	}
	s := r.statuses[0]
	r.statuses = r.statuses[1:]
	h := http.Header{}
	if s == 503 {
		h.Set("Retry-After", "1")
	}
	return &http.Response{StatusCode: s, Header: h, Body: http.NoBody, Request: req}, nil
}

// retrying sends a request until it is answered 200 or fails, as resilience does.
type retrying struct{ base http.RoundTripper }

func (r retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	for {
		resp, err := r.base.RoundTrip(req)
		if err != nil || resp.StatusCode == 200 {
			return resp, err
		}
	}
}

// One call through a retrying transport counts once, its extra attempts as retries, and
// its 429 and 503-with-Retry-After answers as throttled; a call without an answer is "error".
func TestUpstreamTransports(t *testing.T) {
	m := telemetry.NewMetrics()
	op := func(*http.Request) string { return "projects" }
	base := &roundTripper{statuses: []int{429, 503, 500, 200}}
	rt := m.UpstreamTransport(retrying{m.AttemptTransport(base, op)}, op)
	req, _ := http.NewRequest("GET", "http://example.invalid/_apis/projects?secret=no", nil)
	if resp, err := rt.RoundTrip(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("round trip: %v %v", resp, err)
	}
	if _, err := rt.RoundTrip(req); err == nil {
		t.Fatal("no error after the answers ran out")
	}
	want := `
# HELP repoconnect_upstream_requests_total Calls to Azure DevOps (retries included once), by operation and final status code ("error" when no answer came).
# TYPE repoconnect_upstream_requests_total counter
repoconnect_upstream_requests_total{code="200",operation="projects"} 1
repoconnect_upstream_requests_total{code="error",operation="projects"} 1
# HELP repoconnect_upstream_retries_total Attempts sent again after a fault (429, 5xx, connection reset), by operation.
# TYPE repoconnect_upstream_retries_total counter
repoconnect_upstream_retries_total{operation="projects"} 3
# HELP repoconnect_upstream_throttled_total Answers of Azure DevOps that throttled: 429, or 503 with Retry-After, by operation and status code.
# TYPE repoconnect_upstream_throttled_total counter
repoconnect_upstream_throttled_total{code="429",operation="projects"} 1
repoconnect_upstream_throttled_total{code="503",operation="projects"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "repoconnect_upstream_requests_total",
		"repoconnect_upstream_retries_total", "repoconnect_upstream_throttled_total"); err != nil {
		t.Error(err)
	}
}
