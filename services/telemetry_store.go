package services

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/telemetry"
)

// meteredStore is the store the service uses, measured: every call is one observation of
// repoconnect_store_call_duration_seconds (operation: the method's name; outcome: ok,
// not_found, conflict, error) and one span "store <method>" (no argument is recorded: ids
// and keys stay out of metrics and traces). It has the capabilities Runs and Polling of the
// store it wraps (instrumentStore wraps only a store that has both, found directly or through
// its Unwrap), so the service finds them on it directly; it has no Unwrap of its own (the
// service's runs() would then look past it, at a store that may lack them).
type meteredStore struct {
	s       store.Store
	runs    store.Runs
	polling store.Polling
	m       *telemetry.Metrics
}

// instrumentStore returns st measured with m, or st itself when it lacks the Runs or Polling
// capability (the service asserts them; a wrapper must not claim what st has not).
func instrumentStore(st store.Store, m *telemetry.Metrics) store.Store {
	rs, ok1 := capability[store.Runs](st)
	ps, ok2 := capability[store.Polling](st)
	if !ok1 || !ok2 {
		return st
	}
	return &meteredStore{s: st, runs: rs, polling: ps, m: m}
}

// begin starts the span and the clock of one call; end records both.
func (m *meteredStore) begin(ctx context.Context, op string) (context.Context, func(error)) {
	ctx, span := telemetry.Tracer().Start(ctx, "store "+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.operation.name", op)))
	start := time.Now()
	return ctx, func(err error) {
		outcome := "ok"
		switch {
		case err == nil:
		case errors.Is(err, store.ErrNotFound):
			outcome = "not_found"
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrStale):
			outcome = "conflict"
		default:
			outcome = "error"
			span.SetStatus(codes.Error, "store call failed")
		}
		span.SetAttributes(attribute.String("repoconnect.outcome", outcome))
		span.End()
		m.m.ObserveStore(op, outcome, time.Since(start))
	}
}

func (m *meteredStore) CreateConnection(ctx context.Context, c *store.Connection) (err error) {
	ctx, end := m.begin(ctx, "CreateConnection")
	defer func() { end(err) }()
	return m.s.CreateConnection(ctx, c)
}

func (m *meteredStore) GetConnection(ctx context.Context, tenantID, id string) (_ *store.Connection, err error) {
	ctx, end := m.begin(ctx, "GetConnection")
	defer func() { end(err) }()
	return m.s.GetConnection(ctx, tenantID, id)
}

func (m *meteredStore) ListConnections(ctx context.Context, tenantID string, page store.Page) (_ []*store.Connection, _ string, err error) {
	ctx, end := m.begin(ctx, "ListConnections")
	defer func() { end(err) }()
	return m.s.ListConnections(ctx, tenantID, page)
}

func (m *meteredStore) UpdateConnection(ctx context.Context, c *store.Connection) (err error) {
	ctx, end := m.begin(ctx, "UpdateConnection")
	defer func() { end(err) }()
	return m.s.UpdateConnection(ctx, c)
}

func (m *meteredStore) DeleteConnection(ctx context.Context, tenantID, id string) (err error) {
	ctx, end := m.begin(ctx, "DeleteConnection")
	defer func() { end(err) }()
	return m.s.DeleteConnection(ctx, tenantID, id)
}

func (m *meteredStore) CreateBuildProfile(ctx context.Context, p *store.BuildProfile) (err error) {
	ctx, end := m.begin(ctx, "CreateBuildProfile")
	defer func() { end(err) }()
	return m.s.CreateBuildProfile(ctx, p)
}

func (m *meteredStore) GetBuildProfile(ctx context.Context, tenantID, id string) (_ *store.BuildProfile, err error) {
	ctx, end := m.begin(ctx, "GetBuildProfile")
	defer func() { end(err) }()
	return m.s.GetBuildProfile(ctx, tenantID, id)
}

func (m *meteredStore) ListBuildProfiles(ctx context.Context, tenantID string, page store.Page) (_ []*store.BuildProfile, _ string, err error) {
	ctx, end := m.begin(ctx, "ListBuildProfiles")
	defer func() { end(err) }()
	return m.s.ListBuildProfiles(ctx, tenantID, page)
}

func (m *meteredStore) DeleteBuildProfile(ctx context.Context, tenantID, id string) (err error) {
	ctx, end := m.begin(ctx, "DeleteBuildProfile")
	defer func() { end(err) }()
	return m.s.DeleteBuildProfile(ctx, tenantID, id)
}

func (m *meteredStore) CreateAPIKey(ctx context.Context, k *store.APIKey) (err error) {
	ctx, end := m.begin(ctx, "CreateAPIKey")
	defer func() { end(err) }()
	return m.s.CreateAPIKey(ctx, k)
}

func (m *meteredStore) APIKeyByHash(ctx context.Context, hash string) (_ *store.APIKey, err error) {
	ctx, end := m.begin(ctx, "APIKeyByHash")
	defer func() { end(err) }()
	return m.s.APIKeyByHash(ctx, hash)
}

func (m *meteredStore) ListAPIKeys(ctx context.Context, tenantID string, page store.Page) (_ []*store.APIKey, _ string, err error) {
	ctx, end := m.begin(ctx, "ListAPIKeys")
	defer func() { end(err) }()
	return m.s.ListAPIKeys(ctx, tenantID, page)
}

func (m *meteredStore) DeleteAPIKey(ctx context.Context, tenantID, id string) (err error) {
	ctx, end := m.begin(ctx, "DeleteAPIKey")
	defer func() { end(err) }()
	return m.s.DeleteAPIKey(ctx, tenantID, id)
}

func (m *meteredStore) PutOAuthState(ctx context.Context, st *store.OAuthState) (err error) {
	ctx, end := m.begin(ctx, "PutOAuthState")
	defer func() { end(err) }()
	return m.s.PutOAuthState(ctx, st)
}

func (m *meteredStore) TakeOAuthState(ctx context.Context, key string) (_ *store.OAuthState, err error) {
	ctx, end := m.begin(ctx, "TakeOAuthState")
	defer func() { end(err) }()
	return m.s.TakeOAuthState(ctx, key)
}

// Lock measures the wait for the lock (the time it is held is not a store call).
func (m *meteredStore) Lock(ctx context.Context, name string, ttl time.Duration) (_ store.Unlock, err error) {
	ctx, end := m.begin(ctx, "Lock")
	defer func() { end(err) }()
	return m.s.Lock(ctx, name, ttl)
}

func (m *meteredStore) Close() error { return m.s.Close() }

func (m *meteredStore) UpdateBuildProfile(ctx context.Context, p *store.BuildProfile) (err error) {
	ctx, end := m.begin(ctx, "UpdateBuildProfile")
	defer func() { end(err) }()
	return m.runs.UpdateBuildProfile(ctx, p)
}

func (m *meteredStore) HookByID(ctx context.Context, hookID string) (_ *store.HookRef, err error) {
	ctx, end := m.begin(ctx, "HookByID")
	defer func() { end(err) }()
	return m.runs.HookByID(ctx, hookID)
}

func (m *meteredStore) TouchHook(ctx context.Context, hookID string, at time.Time) (err error) {
	ctx, end := m.begin(ctx, "TouchHook")
	defer func() { end(err) }()
	return m.runs.TouchHook(ctx, hookID, at)
}

func (m *meteredStore) ClaimEvent(ctx context.Context, key string, ttl time.Duration) (_ bool, err error) {
	ctx, end := m.begin(ctx, "ClaimEvent")
	defer func() { end(err) }()
	return m.runs.ClaimEvent(ctx, key, ttl)
}

func (m *meteredStore) CreateRun(ctx context.Context, r *store.Run, keep int) (err error) {
	ctx, end := m.begin(ctx, "CreateRun")
	defer func() { end(err) }()
	return m.runs.CreateRun(ctx, r, keep)
}

func (m *meteredStore) UpdateRun(ctx context.Context, r *store.Run) (err error) {
	ctx, end := m.begin(ctx, "UpdateRun")
	defer func() { end(err) }()
	return m.runs.UpdateRun(ctx, r)
}

func (m *meteredStore) GetRun(ctx context.Context, tenantID, id string) (_ *store.Run, err error) {
	ctx, end := m.begin(ctx, "GetRun")
	defer func() { end(err) }()
	return m.runs.GetRun(ctx, tenantID, id)
}

func (m *meteredStore) ListRuns(ctx context.Context, tenantID, profileID string, page store.Page) (_ []*store.Run, _ string, err error) {
	ctx, end := m.begin(ctx, "ListRuns")
	defer func() { end(err) }()
	return m.runs.ListRuns(ctx, tenantID, profileID, page)
}

func (m *meteredStore) PruneRuns(ctx context.Context, tenantID, profileID string, cutoff time.Time) (_ int, err error) {
	ctx, end := m.begin(ctx, "PruneRuns")
	defer func() { end(err) }()
	return m.runs.PruneRuns(ctx, tenantID, profileID, cutoff)
}

func (m *meteredStore) HookRefs(ctx context.Context) (_ []*store.HookRef, err error) {
	ctx, end := m.begin(ctx, "HookRefs")
	defer func() { end(err) }()
	return m.polling.HookRefs(ctx)
}

func (m *meteredStore) PollRefs(ctx context.Context, tenantID, profileID string) (_ map[string]string, _ bool, err error) {
	ctx, end := m.begin(ctx, "PollRefs")
	defer func() { end(err) }()
	return m.polling.PollRefs(ctx, tenantID, profileID)
}

func (m *meteredStore) PutPollRefs(ctx context.Context, tenantID, profileID string, refs map[string]string) (err error) {
	ctx, end := m.begin(ctx, "PutPollRefs")
	defer func() { end(err) }()
	return m.polling.PutPollRefs(ctx, tenantID, profileID, refs)
}

var (
	_ store.Store   = (*meteredStore)(nil)
	_ store.Runs    = (*meteredStore)(nil)
	_ store.Polling = (*meteredStore)(nil)
)

// APIKeyTenants is the wrapped store's (apiKeyTenantLister, found directly or through its
// Unwrap), measured like every other call; a store without the capability answers
// []string{DefaultTenant}, as Service.APIKeyTenants does.
func (m *meteredStore) APIKeyTenants(ctx context.Context) (tenants []string, err error) {
	ctx, end := m.begin(ctx, "APIKeyTenants")
	defer func() { end(err) }()
	return apiKeyTenantsOf(ctx, m.s)
}
