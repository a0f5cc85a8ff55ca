package services

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/resilience"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/telemetry"
)

// Metrics returns the service's metric families (Options.Metrics, or the set New made), for
// the web layer's HTTP metrics and GET /metrics.
func (s *Service) Metrics() *telemetry.Metrics { return s.metrics }

// instrument sets up the service's telemetry (telemetry package): the metric families
// (Options.Metrics, or new ones), the measured store and pacer, and the scrape-time readers
// of the clone queue's depth and the catalog cache's counts. New calls it before it builds
// the door (upstream) and the clone queue.
func (s *Service) instrument() {
	if s.metrics = s.opts.Metrics; s.metrics == nil {
		s.metrics = telemetry.NewMetrics()
	}
	s.store = instrumentStore(s.store, s.metrics)
	s.pacer = &meteredPacer{Pacer: s.pacer, m: s.metrics, now: s.now}
	s.metrics.SetQueueDepth(func() (int, int) {
		if s.clones.slots.ch == nil {
			return 0, 0
		}
		return int(s.clones.slots.waiting.Load()), len(s.clones.slots.ch)
	})
	s.metrics.SetCatalogStats(func() telemetry.CatalogStats {
		if s.catalog == nil {
			return telemetry.CatalogStats{}
		}
		st := s.catalog.Stats()
		return telemetry.CatalogStats{Hits: st.Hits, StaleHits: st.StaleHits, Misses: st.Misses, LoadErrors: st.LoadErrors}
	})
}

// upstream is the transport stack of every request to Azure DevOps above the door's policy
// check: calls measured (telemetry.UpstreamTransport: one count, duration and span per call)
// around the retrying, pacing transport (resilience), around attempts measured (retries,
// throttled answers), around rt.
func (s *Service) upstream(rt http.RoundTripper, ro resilience.Options) http.RoundTripper {
	return s.metrics.UpstreamTransport(resilience.NewTransport(s.metrics.AttemptTransport(rt, azuredevops.Operation), ro), azuredevops.Operation)
}

// meteredPacer counts, in telemetry, the requests a Pacer holds back and for how long
// (capped as resilience caps a wait: resilience.DefaultMaxRetryAfter).
type meteredPacer struct {
	resilience.Pacer
	m   *telemetry.Metrics
	now func() time.Time
}

func (p *meteredPacer) NotBefore(ctx context.Context, key string) (time.Time, error) {
	t, err := p.Pacer.NotBefore(ctx, key)
	if err == nil {
		p.m.ObservePacing(min(t.Sub(p.now()), resilience.DefaultMaxRetryAfter))
	}
	return t, err
}

// observeRefresh records a token refresh's outcome (oauth_tokens.go).
func (s *Service) observeRefresh(err error) {
	outcome := telemetry.RefreshRefreshed
	switch {
	case err == nil:
	case errors.Is(err, connections.ErrUnauthorized):
		outcome = telemetry.RefreshReauthorizationNeeded
	default:
		outcome = telemetry.RefreshFailed
	}
	s.metrics.ObserveTokenRefresh(outcome)
}

// trackedClone is cloneProfile measured: one span "clone" (with a child span per progress
// phase while tracing records: clone.connecting, clone.counting, clone.compressing,
// clone.receiving, clone.resolving, clone.checkout), and on return one observation of the
// clone families (state, path, duration, bytes and objects).
func (s *Service) trackedClone(ctx context.Context, tenant string, p *store.BuildProfile, in CloneInput, progress io.Writer, onProgress func(gitops.Progress)) (*gitops.Result, error) {
	ctx, span := telemetry.Tracer().Start(ctx, "clone")
	var phases *phaseSpans
	if span.IsRecording() {
		// The engine reports phases only to an OnProgress (its tracker samples the clone's
		// size), so one is passed only while a trace records.
		phases = &phaseSpans{ctx: ctx, next: onProgress}
		onProgress = phases.report
	}
	start := time.Now()
	res, err := s.cloneProfile(ctx, tenant, p, in, progress, onProgress)
	phases.end()
	state, path, stats := telemetry.CloneSucceeded, "", telemetry.CloneStats{}
	switch {
	case err == nil:
		path = string(res.Source)
		stats = telemetry.CloneStats{FetchedBytes: res.Stats.FetchedBytes, FetchedObjects: res.Stats.FetchedObjects, WrittenBytes: res.Stats.WrittenBytes}
		span.SetAttributes(attribute.String("repoconnect.clone.path", path), attribute.Int64("repoconnect.clone.fetched_bytes", stats.FetchedBytes),
			attribute.Int64("repoconnect.clone.fetched_objects", stats.FetchedObjects))
	case errors.Is(err, context.Canceled) || errors.Is(context.Cause(ctx), context.Canceled) || errors.Is(err, ErrCloneCancelled):
		state = telemetry.CloneCancelled
	default:
		state = telemetry.CloneFailed
		span.SetStatus(codes.Error, "clone failed")
	}
	if ce := (*connections.Error)(nil); errors.As(err, &ce) {
		span.SetAttributes(attribute.String("repoconnect.reason", string(ce.Reason)))
	}
	span.SetAttributes(attribute.String("repoconnect.clone.state", state))
	span.End()
	s.metrics.ObserveClone(state, path, time.Since(start), stats)
	return res, err
}

// phaseSpans opens a span per clone progress phase, each ending when the next begins.
type phaseSpans struct {
	ctx   context.Context
	next  func(gitops.Progress)
	phase string
	span  trace.Span
}

func (ps *phaseSpans) report(p gitops.Progress) {
	if p.Phase != ps.phase {
		ps.end()
		ps.phase = p.Phase
		if p.Phase != gitops.PhaseDone {
			_, ps.span = telemetry.Tracer().Start(ps.ctx, "clone."+p.Phase)
		}
	}
	if ps.span != nil {
		// What is counted follows the phase: objects, deltas (resolving), files (checkout).
		ps.span.SetAttributes(attribute.Int64("repoconnect.clone.done", p.ObjectsDone), attribute.Int64("repoconnect.clone.total", p.ObjectsTotal),
			attribute.String("repoconnect.clone.unit", gitops.CountUnit(p.Phase)), attribute.Int64("repoconnect.clone.bytes", p.BytesReceived))
	}
	if ps.next != nil {
		ps.next(p)
	}
}

// end ends the current phase's span; nil-safe.
func (ps *phaseSpans) end() {
	if ps == nil || ps.span == nil {
		return
	}
	ps.span.End()
	ps.span = nil
}
