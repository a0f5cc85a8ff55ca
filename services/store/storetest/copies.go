package storetest

import (
	"sync"
	"testing"

	"github.com/repoconnect/repoconnect/services/store"
)

func testConnectionCopies(t *testing.T, s store.Store) {
	c := newOAuthConn("t1", "c1", "orig")
	must(t, s.CreateConnection(ctx(), c), "create")
	want := cloneConn(c)

	// Mutating the argument after Create must not reach the store.
	c.Name = "mutated-arg"
	c.SealedCredential[0] = 0xFF
	c.StatusHistory[0].Reason = "mutated-arg"
	c.OAuth.Scopes[0], c.OAuth.SealedClientSecret[0] = "mutated-arg", 0xFF
	*c.OAuth.ClientSecretExpiry = at(1)

	got, err := s.GetConnection(ctx(), "t1", "c1")
	must(t, err, "get")
	sameConn(t, "after mutating the create argument", got, want)

	// Mutating returned records must not reach the store.
	got.Name = "mutated-get"
	got.SealedCredential[1] = 0xFF
	got.StatusHistory[1].To = "mutated-get"
	got.OAuth.Provider = "mutated-get"
	*got.OAuth.ClientSecretExpiry = at(2)
	list, err := whole(s.ListConnections(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	list[0].Status = "mutated-list"
	list[0].SealedCredential[2] = 0xFF
	list[0].StatusHistory[0].At = at(3)
	list[0].OAuth.Scopes[1] = "mutated-list"
	*list[0].OAuth.ClientSecretExpiry = at(4)

	again, err := s.GetConnection(ctx(), "t1", "c1")
	must(t, err, "get again")
	sameConn(t, "after mutating returned records", again, want)

	// Mutating the argument after Update must not reach the store either.
	must(t, s.UpdateConnection(ctx(), again), "update")
	want.Version, want.UpdatedAt = again.Version, again.UpdatedAt
	again.SealedCredential[3] = 0xFF
	again.StatusHistory[1].Message = "mutated-update"
	again.OAuth.TokenIssuedAt = at(5)
	*again.OAuth.ClientSecretExpiry = at(6)
	after, err := s.GetConnection(ctx(), "t1", "c1")
	must(t, err, "get after update")
	sameConn(t, "after mutating the update argument", after, want)
}

func testConcurrentUpdateOneWins(t *testing.T, s store.Store) {
	must(t, s.CreateConnection(ctx(), newConn("t1", "c1", "race")), "create")
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newConn("t1", "c1", "race")
			c.Version = 1
			c.Status = statusOf(i)
			<-start
			errs[i] = s.UpdateConnection(ctx(), c)
		}()
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("updates %d and %d both succeeded with the same version", winner, i)
		case err == nil:
			winner = i
		default:
			wantErr(t, err, store.ErrStale, "losing update")
		}
	}
	if winner < 0 {
		t.Fatal("no update succeeded")
	}
	got, err := s.GetConnection(ctx(), "t1", "c1")
	must(t, err, "get")
	if got.Version != 2 || got.Status != statusOf(winner) {
		t.Fatalf("stored version %d status %q, want 2 %q", got.Version, got.Status, statusOf(winner))
	}
}

func testConcurrentCreateSameName(t *testing.T, s store.Store) {
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newConn("t1", statusOf(i), "same-name")
			<-start
			errs[i] = s.CreateConnection(ctx(), c)
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantErr(t, err, store.ErrConflict, "losing create")
	}
	list, err := whole(s.ListConnections(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	if wins != 1 || len(list) != 1 {
		t.Fatalf("%d creates succeeded and %d records stored, want 1 and 1", wins, len(list))
	}
}

func statusOf(i int) string { return "writer-" + string(rune('a'+i)) }
