package web_test

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/repoconnect/repoconnect/telemetry"
)

// otlpReceiver is a loopback OTLP/HTTP trace receiver: it decodes the protobuf export
// requests POSTed to /v1/traces and keeps their spans and service names.
type otlpReceiver struct {
	mu       sync.Mutex
	spans    []*tracepb.Span
	services map[string]bool
}

func (r *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
		http.NotFound(w, req)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var ex coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &ex); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	for _, rs := range ex.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				r.services[a.GetValue().GetStringValue()] = true
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			r.spans = append(r.spans, ss.GetSpans()...)
		}
	}
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// TestTracesOfACloneOverOTLP: with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a loopback
// receiver, a clone through the API that carries a W3C traceparent is exported as one trace:
// the HTTP server span (a child of the caller's span), store calls, upstream calls (REST and
// git) and the clone with its phases, under service.name repoconnect.
func TestTracesOfACloneOverOTLP(t *testing.T) {
	recv := &otlpReceiver{services: map[string]bool{}}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_SDK_DISABLED", "")
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	shutdown, on, err := telemetry.StartTracing(context.Background())
	if err != nil || !on {
		t.Fatalf("StartTracing: on %v, %v", on, err)
	}
	flushed := false
	t.Cleanup(func() {
		if !flushed {
			_ = shutdown(context.Background())
		}
	})

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	e := metricsEnv(t)
	cloneThroughAPIWith(t, e, http.Header{"Traceparent": {"00-" + traceID + "-" + parentID + "-01"}})
	if err := shutdown(context.Background()); err != nil { // flushes the batch processor
		t.Fatalf("shutdown: %v", err)
	}
	flushed = true

	recv.mu.Lock()
	defer recv.mu.Unlock()
	if !recv.services[telemetry.ServiceName] {
		t.Errorf("service names %v, want %q", recv.services, telemetry.ServiceName)
	}
	names := map[string]int{}
	var server *tracepb.Span
	for _, s := range recv.spans {
		if hex.EncodeToString(s.GetTraceId()) != traceID {
			continue
		}
		names[s.GetName()]++
		if s.GetName() == "POST /api/v1/build-profiles/:id/clone" {
			server = s
		}
		for _, a := range s.GetAttributes() {
			if v := a.GetValue().GetStringValue(); strings.Contains(v, simPAT) || strings.Contains(v, e.key) {
				t.Errorf("span %s attribute %s carries a secret", s.GetName(), a.GetKey())
			}
		}
	}
	if server == nil {
		t.Fatalf("no server span of the clone in trace %s; spans of it: %v (all: %d)", traceID, names, len(recv.spans))
	}
	if got := hex.EncodeToString(server.GetParentSpanId()); got != parentID {
		t.Errorf("server span's parent = %s, want the caller's %s", got, parentID)
	}
	if server.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("server span kind %v", server.GetKind())
	}
	for _, want := range []string{"store APIKeyByHash", "store GetBuildProfile", "store GetConnection",
		"azure-devops repository", "azure-devops git-info-refs", "azure-devops git-upload-pack",
		"clone", "clone.connecting", "clone.receiving", "clone.checkout"} {
		if names[want] == 0 {
			t.Errorf("no span %q in the trace; it has %v", want, names)
		}
	}
	t.Logf("spans of the trace: %v", names)
	// The throttled lookup is one upstream span however many attempts it took.
	if names["azure-devops repository"] != 1 {
		t.Errorf("%d spans of the repository lookup, want 1 (retries inside it)", names["azure-devops repository"])
	}
}
