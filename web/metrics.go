package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/repoconnect/repoconnect/telemetry"
)

// MetricsPath is where the Prometheus metrics are served (unless Options.MetricsElsewhere).
const MetricsPath = "/metrics"

// mountMetrics measures every request (observe) into the service's metric families and,
// unless opts.MetricsElsewhere, serves them at GET /metrics without an API key: they carry
// no tenant data (telemetry's labels are bounded sets, never ids, URLs or hosts).
func mountMetrics(e *echo.Echo, opts Options) {
	var m *telemetry.Metrics
	if opts.Service != nil {
		m = opts.Service.Metrics()
	}
	e.Use(observe(m))
	if m != nil && !opts.MetricsElsewhere {
		e.GET(MetricsPath, echo.WrapHandler(m.Handler()))
	}
}

// routeName is the name of a request's route in spans and the access log: echo's pattern
// (c.Path()), or "unmatched" when no route matched, as the metrics call it.
func routeName(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	return pattern
}

// observe is the middleware that measures a request: one count in
// repoconnect_http_requests_total and one observation of
// repoconnect_http_request_duration_seconds by the route's pattern (echo's c.Path(), never
// the raw path; "unmatched" when no route matched), method and status; and one server span
// named "{method} {route}", a child of the caller's W3C traceparent when it sent one (global
// propagator). An error the handler returns is handed to the error handler here, so the
// status recorded is the one answered, and then returned (the error handler ignores an
// answer already committed). It runs outside the recover middleware, which answers a panic
// with a 500 problem before this records it.
func observe(m *telemetry.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route := c.Path()
			name := routeName(route)
			ctx := otel.GetTextMapPropagator().Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			method := telemetry.BoundedMethod(req.Method)
			ctx, span := telemetry.Tracer().Start(ctx, method+" "+name, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("http.route", name)))
			c.SetRequest(req.WithContext(ctx))
			start := time.Now()
			finish := func(status int) {
				span.SetAttributes(attribute.Int("http.response.status_code", status))
				if status >= 500 {
					span.SetStatus(codes.Error, http.StatusText(status))
				}
				span.End()
				m.ObserveHTTP(route, req.Method, status, time.Since(start))
			}
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			finish(c.Response().Status)
			// The error is handed on, as echo's request logger does with HandleError: outer
			// middleware may want it, and the error handler leaves a committed answer alone.
			return err
		}
	}
}
