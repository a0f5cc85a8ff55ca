// Package storetest is the contract test suite every store.Store backend runs:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openMyBackend(t) })
//	}
//
// Besides the contract written in package store, the suite pins these behaviours, which every
// backend must share:
//   - Create* refuse a nil record, an empty ID or TenantID (and an empty Name, ConnectionID or
//     Hash where the record has one) with an error wrapping store.ErrInvalid; nothing is stored.
//   - Create* set Version to 1 in the argument and fill a zero CreatedAt.
//   - UpdateConnection keeps CreatedAt and refuses a rename onto a taken name (ErrConflict).
//   - CreateBuildProfile returns store.ErrNotFound when ConnectionID is not a connection of
//     the same tenant.
//   - CreateAPIKey returns store.ErrConflict for a Hash that exists in any tenant.
//   - List* return an empty slice (len 0) for a tenant without records.
//   - Every returned record is a copy, and the store keeps no reference to arguments (nested
//     ones included: Connection.StatusHistory, Connection.OAuth and its ClientSecretExpiry).
//   - PutOAuthState refuses NUL bytes in Key, TenantID and ConnectionID (ErrInvalid), accepts a
//     state whose ExpiresAt has already passed (TakeOAuthState then returns ErrNotFound), and
//     lets a new state reuse the key of an expired one. OAuth state keys are global: a Key in
//     use by another tenant is ErrConflict, and TakeOAuthState needs only the key.
//   - Lock refuses an empty name and a ttl <= 0 with ErrInvalid. Unlock returns nil only for
//     the current, unexpired holder; every later Unlock of the same holder, and the Unlock of
//     a holder whose ttl passed and whose lock another took, return ErrLockLost and release
//     nothing. A lock whose ttl passed is taken by the next waiter without an Unlock.
//
// The OAuth state and lock tests use the wall clock (the suite cannot set a backend's clock):
// expired states lie a minute in the past, and one lock test waits for a 50ms ttl to pass.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services/store"
)

// Run runs the whole suite as subtests of t. open must return a fresh, empty store for each
// call; Run closes every store it opens when the subtest ends and fails the subtest when
// Close returns an error, so open must not close the store itself.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"ConnectionCRUD", testConnectionCRUD},
		{"ConnectionInvalid", testConnectionInvalid},
		{"ConnectionTenantIsolation", testConnectionTenantIsolation},
		{"ConnectionNameConflict", testConnectionNameConflict},
		{"ConnectionVersioning", testConnectionVersioning},
		{"ConnectionOrdering", testConnectionOrdering},
		{"ConnectionCopies", testConnectionCopies},
		{"ConcurrentUpdateOneWins", testConcurrentUpdateOneWins},
		{"ConcurrentCreateSameName", testConcurrentCreateSameName},
		{"BuildProfileCRUD", testBuildProfileCRUD},
		{"BuildProfileInvalid", testBuildProfileInvalid},
		{"BuildProfileTenantIsolation", testBuildProfileTenantIsolation},
		{"BuildProfileNameConflict", testBuildProfileNameConflict},
		{"BuildProfileNeedsConnection", testBuildProfileNeedsConnection},
		{"BuildProfileOrderingAndCopies", testBuildProfileOrderingAndCopies},
		{"DeleteConnectionCascades", testDeleteConnectionCascades},
		{"APIKeyCRUD", testAPIKeyCRUD},
		{"APIKeyInvalid", testAPIKeyInvalid},
		{"APIKeyTenantIsolation", testAPIKeyTenantIsolation},
		{"APIKeyConflicts", testAPIKeyConflicts},
		{"APIKeyOrderingAndCopies", testAPIKeyOrderingAndCopies},
		{"OAuthStateRoundTrip", testOAuthStateRoundTrip},
		{"OAuthStateNotScopedByTenant", testOAuthStateNotScopedByTenant},
		{"OAuthStateInvalid", testOAuthStateInvalid},
		{"OAuthStateConflict", testOAuthStateConflict},
		{"OAuthStateExpiry", testOAuthStateExpiry},
		{"OAuthStateConcurrentTake", testOAuthStateConcurrentTake},
		{"Paging", testPaging},
		{"LockBasics", testLockBasics},
		{"LockMutualExclusion", testLockMutualExclusion},
		{"LockWaiterBlocked", testLockWaiterBlocked},
		{"LockContextCancel", testLockContextCancel},
		{"LockExpiry", testLockExpiry},
		{"RunsNewestFirstAndPaging", testRunsNewestFirstAndPaging},
		{"RunsRetention", testRunsRetention},
		{"HookIndex", testHookIndex},
		{"ProfileServiceEndpoints", testProfileServiceEndpoints},
		{"ClaimEventOnce", testClaimEventOnce},
		{"DeleteConnectionDropsRunsAndHook", testDeleteConnectionDropsRunsAndHook},
		{"Polling", testPolling},
		{"ProfileWorkspace", testProfileWorkspace},
		{"RunSourceAndStats", testRunSourceAndStats},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// base is a fixed, UTC instant used to build deterministic CreatedAt values.
var base = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func at(seconds int) time.Time { return base.Add(time.Duration(seconds) * time.Second) }

func newConn(tenant, id, name string) *store.Connection {
	return &store.Connection{
		ID: id, TenantID: tenant, Name: name, Type: "server-pat",
		ServerURL: "https://forge.example/", VirtualDirectory: "tfs", Collection: "Default",
		Status: "ok", UserID: "u-1", UserDisplayName: "User One",
		SealedCredential: []byte{1, 2, 3, 4},
		CheckedAt:        at(-10), CreatedAt: at(0), UpdatedAt: at(0),
	}
}

func newProfile(tenant, id, name, connID string) *store.BuildProfile {
	return &store.BuildProfile{
		ID: id, TenantID: tenant, Name: name, ConnectionID: connID,
		RepositoryID: "repo-" + id, RepositoryName: "Repo " + id, ProjectName: "Project",
		RemoteURL: "https://forge.example/_git/" + id, Branch: "main", CreatedAt: at(0),
	}
}

func newKey(tenant, id, hash string) *store.APIKey {
	return &store.APIKey{ID: id, TenantID: tenant, Hash: hash, CreatedAt: at(0)}
}

// must fails the test immediately when err is not nil.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantErr fails the test when err does not wrap target.
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// checkIDs fails the test unless got lists exactly the ids want, in order.
func checkIDs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
		t.Fatalf("%s: got ids %q, want %q", what, got, want)
	}
}

func ctx() context.Context { return context.Background() }

// whole drops the next-page cursor of a List* call made with an empty store.Page (which lists
// every record), failing nothing itself: callers check err.
func whole[T any](list []T, _ string, err error) ([]T, error) { return list, err }
