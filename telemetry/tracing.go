package telemetry

import (
	"context"
	"errors"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name of repoconnect's spans unless OTEL_SERVICE_NAME (or
// service.name in OTEL_RESOURCE_ATTRIBUTES) names another.
const ServiceName = "repoconnect"

// instrumentation is the name of the tracer of every span repoconnect makes.
const instrumentation = "github.com/repoconnect/repoconnect"

// Tracer returns repoconnect's tracer from the global tracer provider: a no-op one (no
// allocation per span, nothing recorded) unless StartTracing turned tracing on.
func Tracer() trace.Tracer { return otel.Tracer(instrumentation) }

// TracingEnabled reports whether the environment asks for traces: OTEL_EXPORTER_OTLP_ENDPOINT
// or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set, and OTEL_SDK_DISABLED not "true", and
// OTEL_TRACES_EXPORTER not "none" (the OpenTelemetry SDK environment specification).
func TracingEnabled() bool {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") ||
		strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")), "none") {
		return false
	}
	return strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != "" ||
		strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != ""
}

// StartTracing turns tracing on when TracingEnabled: an OTLP/HTTP exporter configured by the
// standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout, compression,
// certificates), a batch span processor (OTEL_BSP_* variables), the sampler of
// OTEL_TRACES_SAMPLER (default: parent-based, always on), a resource with service.name
// ServiceName (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override it) and
// service.version, installed as the global tracer provider, with W3C tracecontext and baggage
// as the global propagator. It reports whether tracing is on. shutdown flushes the spans
// still queued (bounded by ctx), and restores the previous global provider and propagator;
// it is never nil and may be called when tracing is off. Errors: an invalid exporter
// configuration (a malformed endpoint URL), or a resource the environment describes
// wrongly.
func StartTracing(ctx context.Context) (shutdown func(context.Context) error, on bool, err error) {
	noop := func(context.Context) error { return nil }
	if !TracingEnabled() {
		return noop, false, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return noop, false, err
	}
	v := ReadVersion()
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", ServiceName), attribute.String("service.version", v.Version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		_ = exp.Shutdown(ctx)
		return noop, false, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return func(ctx context.Context) error {
		err := tp.Shutdown(ctx)
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
		return err
	}, true, nil
}
