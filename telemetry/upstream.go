package telemetry

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// attemptsKey carries, in a request's context, the *callState of one upstream call (set by
// UpstreamTransport, kept by AttemptTransport).
type attemptsKey struct{}

// callState is what the attempts of one call tell the call: how many there were and the
// status of the last one answered (0: none).
type callState struct {
	attempts, lastStatus atomic.Int32
}

// UpstreamTransport returns rt measured as calls to Azure DevOps, for the outside of a
// retrying transport: each call (all its attempts) counts once in
// repoconnect_upstream_requests_total by operation and final status code (the last
// attempt's answer, also when the retries ran out and rt returned an error; "error" when no
// attempt was answered), its time in repoconnect_upstream_request_duration_seconds, and it is one client
// span named "azure-devops <operation>" (attributes: method, operation, status code, server
// address; never the URL's query, headers or credentials). operation maps a request to a
// bounded name (connections/azuredevops.Operation). A nil m records no metrics; spans follow
// the global tracer provider (no-op unless tracing is on).
func (m *Metrics) UpstreamTransport(rt http.RoundTripper, operation func(*http.Request) string) http.RoundTripper {
	return &upstream{base: rt, m: m, op: operation}
}

// AttemptTransport returns rt measured per attempt, for the inside of a retrying transport
// (below UpstreamTransport): every attempt after the first of a call counts in
// repoconnect_upstream_retries_total, and a 429 answer, or a 503 with Retry-After, in
// repoconnect_upstream_throttled_total.
func (m *Metrics) AttemptTransport(rt http.RoundTripper, operation func(*http.Request) string) http.RoundTripper {
	return &attempt{base: rt, m: m, op: operation}
}

type upstream struct {
	base http.RoundTripper
	m    *Metrics
	op   func(*http.Request) string
}

func (u *upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	op := u.op(req)
	ctx, span := Tracer().Start(req.Context(), "azure-devops "+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("repoconnect.operation", op),
			attribute.String("server.address", req.URL.Hostname())))
	state := new(callState)
	ctx = context.WithValue(ctx, attemptsKey{}, state)
	start := time.Now()
	resp, err := u.base.RoundTrip(req.WithContext(ctx))
	code := "error"
	if err != nil {
		span.SetStatus(codes.Error, "no answer")
		span.SetAttributes(attribute.String("error.type", errorType(err)))
		if last := state.lastStatus.Load(); last != 0 {
			code = strconv.Itoa(int(last))
			span.SetAttributes(attribute.Int("http.response.status_code", int(last)))
		}
	} else {
		code = strconv.Itoa(resp.StatusCode)
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if resp.StatusCode >= 400 {
			span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
		}
	}
	span.End()
	if u.m != nil {
		u.m.upstreamRequests.WithLabelValues(op, code).Inc()
		u.m.upstreamDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	}
	return resp, err
}

// CloseIdleConnections reaches the base transport's idle connections.
func (u *upstream) CloseIdleConnections() { closeIdle(u.base) }

// errorType is a bounded name of a transport failure: the context's end, or "transport".
func errorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	}
	return "transport"
}

type attempt struct {
	base http.RoundTripper
	m    *Metrics
	op   func(*http.Request) string
}

func (a *attempt) RoundTrip(req *http.Request) (*http.Response, error) {
	state, _ := req.Context().Value(attemptsKey{}).(*callState)
	if state != nil && state.attempts.Add(1) > 1 && a.m != nil {
		a.m.upstreamRetries.WithLabelValues(a.op(req)).Inc()
	}
	resp, err := a.base.RoundTrip(req)
	if err == nil && state != nil {
		state.lastStatus.Store(int32(resp.StatusCode))
	}
	if err == nil && a.m != nil {
		if resp.StatusCode == http.StatusTooManyRequests ||
			(resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "") {
			a.m.upstreamThrottled.WithLabelValues(a.op(req), strconv.Itoa(resp.StatusCode)).Inc()
		}
	}
	return resp, err
}

// CloseIdleConnections reaches the base transport's idle connections.
func (a *attempt) CloseIdleConnections() { closeIdle(a.base) }

func closeIdle(rt http.RoundTripper) {
	if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
