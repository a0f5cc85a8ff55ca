package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/telemetry"
	"github.com/repoconnect/repoconnect/web"
)

// metricsFlags are serve's observability flags: where GET /metrics is served. Tracing has
// no flag: it follows the standard OTEL_* environment variables (telemetry.StartTracing).
type metricsFlags struct {
	addr string
}

func (m *metricsFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&m.addr, "metrics-addr", "", "serve the Prometheus metrics on this address (host:port) at /metrics, instead of on --addr (where /metrics then answers 404); empty: on --addr")
}

// elsewhere reports whether /metrics has a listener of its own (web.Options.MetricsElsewhere).
func (m *metricsFlags) elsewhere() bool { return m.addr != "" }

// startTracing turns on OpenTelemetry tracing when the environment asks for it
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and returns the
// function that flushes and stops it (within 5 s), to defer.
func startTracing(ctx context.Context, log *slog.Logger) (stop func(), err error) {
	shutdown, on, err := telemetry.StartTracing(ctx)
	if err != nil {
		return func() {}, fmt.Errorf("start tracing (OTEL_EXPORTER_OTLP_*): %w", err)
	}
	if on {
		log.Info("tracing on: spans are exported over OTLP/HTTP (OTEL_EXPORTER_OTLP_* variables)")
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			log.Warn("tracing: spans could not all be exported at shutdown", "err", err)
		}
	}, nil
}

// serve starts the metrics listener of --metrics-addr, when set, serving metrics' handler
// at /metrics (anything else 404), and returns the function that closes it, to defer.
// Errors: the address cannot be listened on.
func (m *metricsFlags) serve(log *slog.Logger, metrics *telemetry.Metrics) (stop func(), err error) {
	if m.addr == "" || metrics == nil {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: listen on %s: %w", m.addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+web.MetricsPath, metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+web.MetricsPath)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
