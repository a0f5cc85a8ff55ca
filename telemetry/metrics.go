// Package telemetry holds repoconnect's Prometheus metrics (one registry of its own, never
// the global default) and its OpenTelemetry tracing (off unless an OTLP endpoint is set in
// the environment). It imports nothing of this module: the layers that are measured call
// into it (web: HTTP requests; services: upstream calls, the store, clones, token
// refreshes, the clone queue and the catalog cache).
//
// Label values are bounded sets: route patterns, methods, status codes, operation names,
// outcomes. No tenant, connection, profile, repository or clone id, URL or host is ever a
// label value.
package telemetry

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every family of this package.
const namespace = "repoconnect"

// Buckets of the duration histograms, in seconds.
var (
	// requestBuckets: HTTP requests and upstream calls, 5 ms to 60 s.
	requestBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	// storeBuckets: store calls, 100 µs to 10 s (bbolt fsyncs, Redis round trips, lock waits).
	storeBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10}
	// cloneBuckets: clones, 100 ms to 1 h.
	cloneBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
)

// Metrics is the set of repoconnect's metric families on a registry of their own. The zero
// value is not usable: call NewMetrics. Safe for concurrent use; a nil *Metrics records
// nothing (every method is a no-op on nil).
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	upstreamRequests  *prometheus.CounterVec
	upstreamDuration  *prometheus.HistogramVec
	upstreamRetries   *prometheus.CounterVec
	upstreamThrottled *prometheus.CounterVec
	upstreamPaced     prometheus.Counter
	upstreamPaceWait  prometheus.Counter

	tokenRefreshes *prometheus.CounterVec

	clones              *prometheus.CounterVec
	cloneDuration       *prometheus.HistogramVec
	cloneFetchedBytes   *prometheus.CounterVec
	cloneFetchedObjects *prometheus.CounterVec
	cloneWrittenBytes   *prometheus.CounterVec

	storeDuration *prometheus.HistogramVec

	mu      sync.Mutex
	queue   func() (waiting, running int)
	catalog func() CatalogStats
}

// CatalogStats are the catalog cache's counts since it was made (see SetCatalogStats).
type CatalogStats struct {
	Hits, StaleHits, Misses, LoadErrors int64
}

// NewMetrics returns the metric families registered on a new registry, with the Go runtime
// and process collectors and repoconnect_build_info.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "http",
		Name: "requests_total", Help: "HTTP requests served, by route pattern (\"unmatched\" for unknown paths), method and status code."},
		[]string{"route", "method", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Subsystem: "http",
		Name: "request_duration_seconds", Help: "Time to serve an HTTP request (until the handler returned), by route pattern and method.",
		Buckets: requestBuckets}, []string{"route", "method"})
	m.upstreamRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "upstream",
		Name: "requests_total", Help: "Calls to Azure DevOps (retries included once), by operation and final status code (\"error\" when no answer came)."},
		[]string{"operation", "code"})
	m.upstreamDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Subsystem: "upstream",
		Name: "request_duration_seconds", Help: "Time of a call to Azure DevOps until its answer's headers, retries and pacing waits included, by operation.",
		Buckets: requestBuckets}, []string{"operation"})
	m.upstreamRetries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "upstream",
		Name: "retries_total", Help: "Attempts sent again after a fault (429, 5xx, connection reset), by operation."},
		[]string{"operation"})
	m.upstreamThrottled = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "upstream",
		Name: "throttled_total", Help: "Answers of Azure DevOps that throttled: 429, or 503 with Retry-After, by operation and status code."},
		[]string{"operation", "code"})
	m.upstreamPaced = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: "upstream",
		Name: "paced_total", Help: "Requests held back by client-side pacing (an earlier Retry-After or a low X-RateLimit-Remaining of the same connection)."})
	m.upstreamPaceWait = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: "upstream",
		Name: "pacing_wait_seconds_total", Help: "Time requests were held back by client-side pacing."})
	m.tokenRefreshes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "oauth",
		Name: "token_refreshes_total", Help: "OAuth access-token refreshes, by outcome: refreshed, reauthorization_needed (the refresh token was refused), failed (transient or store failure)."},
		[]string{"outcome"})
	m.clones = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace,
		Name: "clones_total", Help: "Finished clones (jobs and synchronous clones), by state (succeeded, failed, cancelled) and path (cold, cache, workspace; none when the clone failed before it took one)."},
		[]string{"state", "path"})
	m.cloneDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Subsystem: "clone",
		Name: "duration_seconds", Help: "Time of a clone from its start to its end (the wait for a clone slot excluded), by state and path.",
		Buckets: cloneBuckets}, []string{"state", "path"})
	m.cloneFetchedBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "clone",
		Name: "fetched_bytes_total", Help: "Pack bytes successful clones fetched from Azure DevOps, by path."}, []string{"path"})
	m.cloneFetchedObjects = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "clone",
		Name: "fetched_objects_total", Help: "Git objects successful clones fetched from Azure DevOps, by path."}, []string{"path"})
	m.cloneWrittenBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "clone",
		Name: "written_bytes_total", Help: "Bytes successful clones wrote to work trees, by path."}, []string{"path"})
	m.storeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Subsystem: "store",
		Name: "call_duration_seconds", Help: "Time of a call to the store (bbolt or Redis), by operation (the store method) and outcome (ok, not_found, conflict, error).",
		Buckets: storeBuckets}, []string{"operation", "outcome"})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "build_info",
		Help: "Always 1; the labels say which build runs: module version, VCS commit and Go version."},
		[]string{"version", "commit", "goversion"})
	v := ReadVersion()
	commit := v.Commit
	if commit == "" {
		commit = "unknown"
	}
	build.WithLabelValues(v.Version, commit, v.GoVersion).Set(1)

	// The known label values start at 0, so a scrape shows every series before it moves.
	for _, o := range []string{RefreshRefreshed, RefreshReauthorizationNeeded, RefreshFailed} {
		m.tokenRefreshes.WithLabelValues(o)
	}
	for _, s := range []string{CloneSucceeded, CloneFailed, CloneCancelled} {
		for _, p := range []string{"cold", "cache", "workspace"} {
			m.clones.WithLabelValues(s, p)
		}
	}
	m.clones.WithLabelValues(CloneFailed, "none")
	m.clones.WithLabelValues(CloneCancelled, "none")
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.upstreamRequests, m.upstreamDuration, m.upstreamRetries,
		m.upstreamThrottled, m.upstreamPaced, m.upstreamPaceWait, m.tokenRefreshes, m.clones, m.cloneDuration,
		m.cloneFetchedBytes, m.cloneFetchedObjects, m.cloneWrittenBytes, m.storeDuration, build,
		&funcCollector{m: m},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry the families are on (to gather them, or to add more).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the families in the Prometheus text (or negotiated OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Version is what build is running, from runtime/debug.ReadBuildInfo.
type Version struct {
	// Version is the main module's version ("v1.2.3", or "(devel)" for a build from a work
	// tree).
	Version string `json:"version"`
	// Commit is the VCS revision the build was made from (vcs.revision), with "-dirty" when
	// the work tree had changes (vcs.modified); "" when the build recorded none.
	Commit string `json:"commit,omitempty"`
	// Date is the commit's time (vcs.time, RFC 3339), "" when unknown.
	Date string `json:"date,omitempty"`
	// GoVersion is the Go release that built the binary ("go1.26.8").
	GoVersion string `json:"go"`
}

// ReadVersion returns the running build's Version.
func ReadVersion() Version {
	bi, _ := debug.ReadBuildInfo()
	return DescribeBuild(bi)
}

// DescribeBuild reads bi (nil: the binary has no build information) into a Version.
func DescribeBuild(bi *debug.BuildInfo) Version {
	v := Version{Version: "(devel)", GoVersion: runtime.Version()}
	if bi == nil {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.Date = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && v.Commit != "" {
		v.Commit += "-dirty"
	}
	return v
}

// ObserveHTTP records one served request: route is the router's pattern ("" for a path no
// route matched), code the answer's status.
func (m *Metrics) ObserveHTTP(route, method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	method = BoundedMethod(method)
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// BoundedMethod keeps the standard HTTP methods and folds anything else into "other" (a
// client may send any token as a method): for metric labels and span names alike.
func BoundedMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// Outcomes of ObserveTokenRefresh.
const (
	// RefreshRefreshed: the connection has a fresh access token (refreshed by this call, or
	// by another instance while this one waited for the connection's refresh lock).
	RefreshRefreshed = "refreshed"
	// RefreshReauthorizationNeeded: the provider refused the refresh token (or there was
	// none); the connection needs a new authorization.
	RefreshReauthorizationNeeded = "reauthorization_needed"
	// RefreshFailed: a transient failure (the provider or the store); the next use tries again.
	RefreshFailed = "failed"
)

// ObserveTokenRefresh records one OAuth token refresh's outcome: RefreshRefreshed,
// RefreshReauthorizationNeeded or RefreshFailed.
func (m *Metrics) ObserveTokenRefresh(outcome string) {
	if m == nil {
		return
	}
	m.tokenRefreshes.WithLabelValues(outcome).Inc()
}

// Clone states of ObserveClone.
const (
	CloneSucceeded = "succeeded"
	CloneFailed    = "failed"
	CloneCancelled = "cancelled"
)

// CloneStats is what a finished clone moved (zero for a failed one).
type CloneStats struct {
	FetchedBytes, FetchedObjects, WrittenBytes int64
}

// ObserveClone records a finished clone: state is CloneSucceeded, CloneFailed or
// CloneCancelled, path the clone's path (cold, cache, workspace; "" becomes "none").
func (m *Metrics) ObserveClone(state, path string, d time.Duration, st CloneStats) {
	if m == nil {
		return
	}
	if path == "" {
		path = "none"
	}
	m.clones.WithLabelValues(state, path).Inc()
	m.cloneDuration.WithLabelValues(state, path).Observe(d.Seconds())
	if state == CloneSucceeded {
		m.cloneFetchedBytes.WithLabelValues(path).Add(float64(st.FetchedBytes))
		m.cloneFetchedObjects.WithLabelValues(path).Add(float64(st.FetchedObjects))
		m.cloneWrittenBytes.WithLabelValues(path).Add(float64(st.WrittenBytes))
	}
}

// ObserveStore records one store call: op is the store method's name, outcome "ok",
// "not_found", "conflict" (a conflict or a stale update) or "error".
func (m *Metrics) ObserveStore(op, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.storeDuration.WithLabelValues(op, outcome).Observe(d.Seconds())
}

// ObservePacing records that a request waited d for its connection's pacing.
func (m *Metrics) ObservePacing(d time.Duration) {
	if m == nil || d <= 0 {
		return
	}
	m.upstreamPaced.Inc()
	m.upstreamPaceWait.Add(d.Seconds())
}

// SetQueueDepth sets the function read at each scrape for repoconnect_clone_queue_jobs:
// clones waiting for a slot and clones running in this instance. A later call replaces it.
func (m *Metrics) SetQueueDepth(fn func() (waiting, running int)) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.queue = fn
	m.mu.Unlock()
}

// SetCatalogStats sets the function read at each scrape for
// repoconnect_catalog_cache_lookups_total and repoconnect_catalog_cache_load_errors_total.
// A later call replaces it.
func (m *Metrics) SetCatalogStats(fn func() CatalogStats) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.catalog = fn
	m.mu.Unlock()
}

// funcCollector reports the families read from the service at scrape time.
type funcCollector struct{ m *Metrics }

var (
	queueDesc = prometheus.NewDesc(namespace+"_clone_queue_jobs",
		"Clones of this instance waiting for a clone slot (waiting) and holding one (running).", []string{"state"}, nil)
	catalogDesc = prometheus.NewDesc(namespace+"_catalog_cache_lookups_total",
		"Catalog cache lookups (projects, repositories, branches) by result: hit (fresh), stale (served while refreshed), miss (loaded from Azure DevOps).", []string{"result"}, nil)
	catalogErrDesc = prometheus.NewDesc(namespace+"_catalog_cache_load_errors_total",
		"Catalog loads from Azure DevOps that failed (misses and background refreshes).", nil, nil)
)

func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDesc
	ch <- catalogDesc
	ch <- catalogErrDesc
}

func (c *funcCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	queue, catalog := c.m.queue, c.m.catalog
	c.m.mu.Unlock()
	var waiting, running int
	if queue != nil {
		waiting, running = queue()
	}
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(waiting), "waiting")
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(running), "running")
	var st CatalogStats
	if catalog != nil {
		st = catalog()
	}
	ch <- prometheus.MustNewConstMetric(catalogDesc, prometheus.CounterValue, float64(st.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(catalogDesc, prometheus.CounterValue, float64(st.StaleHits), "stale")
	ch <- prometheus.MustNewConstMetric(catalogDesc, prometheus.CounterValue, float64(st.Misses), "miss")
	ch <- prometheus.MustNewConstMetric(catalogErrDesc, prometheus.CounterValue, float64(st.LoadErrors))
}
