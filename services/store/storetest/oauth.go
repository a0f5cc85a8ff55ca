package storetest

import (
	"bytes"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services/store"
)

// newState returns a state with every field set, keyed by hashOf(seed) and expiring an hour
// after the wall clock (the suite cannot set a backend's clock, so expiry is relative to it).
func newState(seed, tenant, connID string) *store.OAuthState {
	now := time.Now().UTC().Round(0)
	secretExpiry := at(86400)
	return &store.OAuthState{
		Key: hashOf(seed), TenantID: tenant, ConnectionID: connID,
		SealedVerifier: []byte{7, 8, 9}, ReturnURL: "/connections/" + connID + "?done=1",
		PendingApp: &store.OAuthDetails{Provider: "entra", Scopes: []string{"vso.code", "vso.project"},
			EntraTenant: "0d7c6a3e-tenant", ClientID: "client-" + connID, SealedClientSecret: []byte{4, 5, 6},
			ClientSecretExpiry: &secretExpiry, CallbackURL: "https://repoconnect.example/connector/callback"},
		CreatedAt: now.Add(-time.Second), ExpiresAt: now.Add(time.Hour),
	}
}

// cloneState returns a deep copy of st.
func cloneState(st *store.OAuthState) *store.OAuthState {
	n := *st
	n.SealedVerifier = bytes.Clone(st.SealedVerifier)
	if st.PendingApp != nil {
		a := *st.PendingApp
		a.Scopes = slices.Clone(a.Scopes)
		a.SealedClientSecret = bytes.Clone(a.SealedClientSecret)
		if a.ClientSecretExpiry != nil {
			e := *a.ClientSecretExpiry
			a.ClientSecretExpiry = &e
		}
		n.PendingApp = &a
	}
	return &n
}

// sameState fails the test unless got and want hold the same data (times compared as instants).
func sameState(t *testing.T, what string, got, want *store.OAuthState) {
	t.Helper()
	g, w := *got, *want
	g.CreatedAt, g.ExpiresAt = g.CreatedAt.UTC(), g.ExpiresAt.UTC()
	w.CreatedAt, w.ExpiresAt = w.CreatedAt.UTC(), w.ExpiresAt.UTC()
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, g, w)
	}
}

func testOAuthStateRoundTrip(t *testing.T, s store.Store) {
	st := newState("s1", "t1", "c1")
	must(t, s.PutOAuthState(ctx(), st), "put")
	want := cloneState(st)
	// Mutating the argument after Put must not reach the store.
	st.SealedVerifier[0], st.ReturnURL, st.TenantID = 0xFF, "/mutated", "mutated"
	st.PendingApp.SealedClientSecret[0], st.PendingApp.ClientID, st.PendingApp.Scopes[0] = 0xFF, "mutated", "mutated"

	// Every field comes back, the pending app's included.
	got, err := s.TakeOAuthState(ctx(), want.Key)
	must(t, err, "take")
	sameState(t, "taken", got, want)
	_, err = s.TakeOAuthState(ctx(), want.Key)
	wantErr(t, err, store.ErrNotFound, "take twice")
	_, err = s.TakeOAuthState(ctx(), hashOf("never"))
	wantErr(t, err, store.ErrNotFound, "take unknown key")
	_, err = s.TakeOAuthState(ctx(), "")
	wantErr(t, err, store.ErrNotFound, "take empty key")

	// The key is free again once taken; optional fields may be empty; a zero CreatedAt is filled.
	bare := &store.OAuthState{Key: want.Key, TenantID: "t1", ConnectionID: "c2", ExpiresAt: want.ExpiresAt}
	must(t, s.PutOAuthState(ctx(), bare), "put again after take")
	got, err = s.TakeOAuthState(ctx(), want.Key)
	must(t, err, "take bare")
	if got.CreatedAt.IsZero() || len(got.SealedVerifier) != 0 || got.ReturnURL != "" || got.ConnectionID != "c2" || got.PendingApp != nil {
		t.Fatalf("bare state came back as %+v", got)
	}
}

func testOAuthStateNotScopedByTenant(t *testing.T, s store.Store) {
	a, b := newState("a", "t1", "c1"), newState("b", "t2", "c1")
	must(t, s.PutOAuthState(ctx(), a), "put t1")
	must(t, s.PutOAuthState(ctx(), b), "put t2")
	for _, want := range []*store.OAuthState{b, a} {
		got, err := s.TakeOAuthState(ctx(), want.Key)
		must(t, err, "take "+want.TenantID)
		sameState(t, "taken by key alone", got, want)
	}
}

func testOAuthStateInvalid(t *testing.T, s store.Store) {
	wantErr(t, s.PutOAuthState(ctx(), nil), store.ErrInvalid, "nil")
	cases := map[string]func(st *store.OAuthState){
		"empty key":        func(st *store.OAuthState) { st.Key = "" },
		"empty tenant":     func(st *store.OAuthState) { st.TenantID = "" },
		"empty connection": func(st *store.OAuthState) { st.ConnectionID = "" },
		"zero expiry":      func(st *store.OAuthState) { st.ExpiresAt = time.Time{} },
		"NUL in key":       func(st *store.OAuthState) { st.Key += "\x00" },
		"NUL in tenant":    func(st *store.OAuthState) { st.TenantID = "t\x00" },
		"NUL in conn":      func(st *store.OAuthState) { st.ConnectionID = "\x00c" },
	}
	for name, spoil := range cases {
		st := newState("bad "+name, "t1", "c1")
		spoil(st)
		wantErr(t, s.PutOAuthState(ctx(), st), store.ErrInvalid, name)
		_, err := s.TakeOAuthState(ctx(), st.Key)
		wantErr(t, err, store.ErrNotFound, name+": take")
		_, err = s.TakeOAuthState(ctx(), hashOf("bad "+name))
		wantErr(t, err, store.ErrNotFound, name+": take by the valid key")
	}
}

func testOAuthStateConflict(t *testing.T, s store.Store) {
	first := newState("dup", "t1", "c1")
	must(t, s.PutOAuthState(ctx(), first), "put")
	second := newState("dup", "t2", "c9")
	second.ReturnURL = "/other"
	wantErr(t, s.PutOAuthState(ctx(), second), store.ErrConflict, "same key, other tenant")
	got, err := s.TakeOAuthState(ctx(), first.Key)
	must(t, err, "take")
	sameState(t, "the first state is kept", got, first)
	_, err = s.TakeOAuthState(ctx(), first.Key)
	wantErr(t, err, store.ErrNotFound, "take twice")
}

func testOAuthStateExpiry(t *testing.T, s store.Store) {
	past := newState("past", "t1", "c1")
	past.CreatedAt, past.ExpiresAt = time.Now().Add(-11*time.Minute), time.Now().Add(-time.Minute)
	must(t, s.PutOAuthState(ctx(), past), "put expired state")
	_, err := s.TakeOAuthState(ctx(), past.Key)
	wantErr(t, err, store.ErrNotFound, "take expired")
	_, err = s.TakeOAuthState(ctx(), past.Key)
	wantErr(t, err, store.ErrNotFound, "take expired twice")

	// An expired state that nobody took does not block its key.
	must(t, s.PutOAuthState(ctx(), past), "put expired state again")
	fresh := newState("past", "t1", "c2")
	fresh.ExpiresAt = time.Now().Add(24 * time.Hour)
	must(t, s.PutOAuthState(ctx(), fresh), "put over an expired state")
	got, err := s.TakeOAuthState(ctx(), fresh.Key)
	must(t, err, "take unexpired")
	sameState(t, "taken", got, fresh)
}

func testOAuthStateConcurrentTake(t *testing.T, s store.Store) {
	st := newState("race", "t1", "c1")
	must(t, s.PutOAuthState(ctx(), st), "put")
	const n = 32
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			got, err := s.TakeOAuthState(ctx(), st.Key)
			if err == nil && got.ConnectionID != "c1" {
				t.Errorf("taker %d got connection %q", i, got.ConnectionID)
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantErr(t, err, store.ErrNotFound, "losing take")
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent takes succeeded, want exactly 1", wins, n)
	}
}
