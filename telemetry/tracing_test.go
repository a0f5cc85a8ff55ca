package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/repoconnect/repoconnect/telemetry"
)

// clearOTEL unsets the variables that switch tracing, for the test's duration.
func clearOTEL(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED",
		"OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"} {
		t.Setenv(k, "")
	}
}

// Without an OTLP endpoint, tracing is off: spans do not record and nothing is exported.
func TestTracingOffWithoutEndpoint(t *testing.T) {
	clearOTEL(t)
	shutdown, on, err := telemetry.StartTracing(context.Background())
	if err != nil || on {
		t.Fatalf("StartTracing without an endpoint: on %v, %v", on, err)
	}
	_, span := telemetry.Tracer().Start(context.Background(), "x")
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Errorf("a span records with tracing off")
	}
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none keep tracing off even with an endpoint.
func TestTracingDisabledByTheEnvironment(t *testing.T) {
	for _, kv := range [][2]string{{"OTEL_SDK_DISABLED", "true"}, {"OTEL_TRACES_EXPORTER", "none"}} {
		clearOTEL(t)
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
		t.Setenv(kv[0], kv[1])
		if telemetry.TracingEnabled() {
			t.Errorf("%s=%s: tracing enabled", kv[0], kv[1])
		}
		shutdown, on, err := telemetry.StartTracing(context.Background())
		if err != nil || on {
			t.Errorf("%s=%s: on %v, %v", kv[0], kv[1], on, err)
		}
		_ = shutdown(context.Background())
	}
}

// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT alone turns tracing on; OTEL_SERVICE_NAME renames the
// service; shutdown flushes the spans and turns tracing off again.
func TestTracingTracesEndpointAndServiceName(t *testing.T) {
	clearOTEL(t)
	var mu sync.Mutex
	names := map[string]bool{}
	spans := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var ex coltracepb.ExportTraceServiceRequest
		if r.URL.Path != "/custom/traces" || proto.Unmarshal(raw, &ex) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range ex.GetResourceSpans() {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					names[a.GetValue().GetStringValue()] = true
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				spans += len(ss.GetSpans())
			}
		}
		mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", srv.URL+"/custom/traces")
	t.Setenv("OTEL_SERVICE_NAME", "repoconnect-eu")
	shutdown, on, err := telemetry.StartTracing(context.Background())
	if err != nil || !on {
		t.Fatalf("StartTracing: on %v, %v", on, err)
	}
	_, span := telemetry.Tracer().Start(context.Background(), "x")
	if !span.IsRecording() {
		t.Errorf("a span does not record with tracing on")
	}
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if spans != 1 || !names["repoconnect-eu"] || len(names) != 1 {
		t.Errorf("exported %d spans of services %v, want 1 of repoconnect-eu", spans, names)
	}
	_, after := telemetry.Tracer().Start(context.Background(), "y")
	if after.IsRecording() {
		t.Errorf("spans still record after shutdown")
	}
}
