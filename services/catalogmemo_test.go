package services

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services/catalogcache"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/bolt"
)

const memoPAT = "memotestpat0123456789abcdef"

// memoEnv is two Service instances on one store and one catalog cache (as instances share
// the Redis backend), a connection to a seeded simulator, and the simulator.
type memoEnv struct {
	a, b *Service
	sim  *azdosim.Server
	conn string
}

func newMemoEnv(t *testing.T) *memoEnv {
	t.Helper()
	sim := azdosimtest.Start(t, azdosim.Options{VirtualDir: "tfs", Seed: true}, azdosim.PAT{Token: memoPAT, UserName: "Memo"})
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	kr, err := secrets.NewKeyring("k", map[string][]byte{"k": key})
	if err != nil {
		t.Fatal(err)
	}
	catalog := catalogcache.New(catalogcache.NewMemory(DefaultCatalogEntries), catalogcache.Options{})
	t.Cleanup(catalog.Close)
	open := func() *Service {
		s, err := New(Options{Store: st, Keyring: kr, Door: LoopbackDoor, WorkDir: t.TempDir(), Catalog: catalog})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	e := &memoEnv{a: open(), b: open(), sim: sim}
	c, err := e.a.CreateConnection(context.Background(), "acme", ConnectionInput{Name: "c", Type: TypeServerPAT,
		ServerURL: sim.URL(), Collection: "DefaultCollection", PAT: memoPAT})
	if err != nil {
		t.Fatal(err)
	}
	e.conn = c.ID
	return e
}

func (e *memoEnv) list(t *testing.T, s *Service, q string) []connections.Repository {
	t.Helper()
	rs, err := s.ListRepositories(context.Background(), "acme", e.conn, "", q)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func names(rs []connections.Repository) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Project.Name + "/" + r.Name
	}
	return out
}

// A list fetched from the forge is kept as it is encoded (no decode); cached bytes this
// instance did not write are decoded once, and later reads reuse the decoded list (no decode,
// far fewer allocations); every read is the caller's own copy: changing it, or filtering in
// place, does not change what the next read answers.
func TestCatalogMemoSameBytesDecodedOnce(t *testing.T) {
	e := newMemoEnv(t)
	first := e.list(t, e.a, "")
	if len(first) < 2 {
		t.Fatalf("the seeded collection lists %d repositories", len(first))
	}
	want := names(first)
	if _, _, decodes := e.a.memo().stats(); decodes != 0 {
		t.Fatalf("instance a decoded the list it fetched %d times, want 0", decodes)
	}
	// Instance b reads the bytes a cached: one decode, then none.
	for i := range 6 {
		if got := names(e.list(t, e.b, "")); !slices.Equal(got, want) {
			t.Fatalf("read %d of instance b answers %v, want %v", i, got, want)
		}
		if _, _, decodes := e.b.memo().stats(); decodes != 1 {
			t.Fatalf("after read %d of the same bytes: %d decodes, want 1", i, decodes)
		}
	}
	if got := names(e.list(t, e.a, "")); !slices.Equal(got, want) {
		t.Fatalf("instance a answers %v, want %v", got, want)
	}
	// Allocations: a memoized read copies the list; it does not decode it (the decode
	// allocates several times per repository).
	warm := testing.AllocsPerRun(10, func() { e.list(t, e.a, "") })
	cold := testing.AllocsPerRun(10, func() {
		e.a.memo().drop("acme", e.conn)
		e.list(t, e.a, "")
	})
	if warm+float64(5*len(first)) > cold {
		t.Errorf("%d repositories: a memoized read allocates %.0f times, a decoding one %.0f", len(first), warm, cold)
	}
	t.Logf("%d repositories: a memoized read allocates %.0f times, a decoding one %.0f", len(first), warm, cold)

	// Callers change their copy: the next read is unchanged.
	mine := e.list(t, e.a, "")
	mine[0].Name, mine[1] = "changed", connections.Repository{Name: "replaced"}
	slices.Reverse(mine)
	if got := names(e.list(t, e.a, "")); !slices.Equal(got, want) {
		t.Fatalf("after a caller changed its copy: %v, want %v", got, want)
	}
	// The filter (in place on the copy) keeps the next unfiltered read whole.
	q := first[len(first)-1].Name
	if f := e.list(t, e.a, q); len(f) == 0 || len(f) == len(first) {
		t.Fatalf("filter %q kept %d of %d", q, len(f), len(first))
	}
	if got := names(e.list(t, e.a, "")); !slices.Equal(got, want) {
		t.Fatalf("after a filtered read: %v, want %v", got, want)
	}
	// Branches and projects go through the same memo.
	bs, err := e.a.ListBranches(context.Background(), "acme", e.conn, first[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) > 0 {
		bs[0].Name = "changed"
		again, _ := e.a.ListBranches(context.Background(), "acme", e.conn, first[0].ID)
		if again[0].Name == "changed" {
			t.Fatal("a caller changed the memoized branches")
		}
	}
}

// New bytes under the same key (a refresh by another instance sharing the catalog cache) are
// decoded, and the new list is answered; a dropped catalog forgets the decoded lists.
func TestCatalogMemoRefreshedBytes(t *testing.T) {
	ctx := context.Background()
	e := newMemoEnv(t)
	before := e.list(t, e.b, "")
	if _, err := e.sim.CreateRepository("DefaultCollection", "Platform", "zz-added"); err != nil {
		t.Fatal(err)
	}
	// Still cached (fresh): the same bytes, the same list, no decode.
	if got := e.list(t, e.b, ""); len(got) != len(before) {
		t.Fatalf("a fresh cache entry answered %d repositories, want %d", len(got), len(before))
	}
	// Instance a drops the shared catalog and reads the forge again: new bytes under the same
	// key (same generation), which b must decode.
	e.a.dropCatalog(ctx, "acme", e.conn)
	if got := e.list(t, e.a, ""); len(got) != len(before)+1 {
		t.Fatalf("instance a after the refresh: %d repositories, want %d", len(got), len(before)+1)
	}
	if _, _, d := e.a.memo().stats(); d != 0 {
		t.Fatalf("instance a decoded what it fetched %d times, want 0", d)
	}
	_, _, decodes := e.b.memo().stats()
	after := e.list(t, e.b, "")
	if !slices.Contains(names(after), "Platform/zz-added") {
		t.Fatalf("instance b after a refresh elsewhere answers the old list: %v", names(after))
	}
	if _, _, d := e.b.memo().stats(); d != decodes+1 {
		t.Fatalf("instance b decoded %d times for new bytes, want 1", d-decodes)
	}
	// dropCatalog forgets the connection's decoded lists.
	if n, _, _ := e.b.memo().stats(); n == 0 {
		t.Fatal("instance b holds no decoded list")
	}
	e.b.dropCatalog(ctx, "acme", e.conn)
	if n, cost, _ := e.b.memo().stats(); n != 0 || cost != 0 {
		t.Fatalf("after dropCatalog: %d lists (%d bytes) held", n, cost)
	}
}

// A new catalog generation (re-authorized, updated, status changed) is never answered the
// old generation's list, even when the old cache entry and decoded list are still there.
func TestCatalogMemoGeneration(t *testing.T) {
	ctx := context.Background()
	e := newMemoEnv(t)
	before := e.list(t, e.a, "")
	if _, err := e.sim.CreateRepository("DefaultCollection", "Platform", "zz-new-generation"); err != nil {
		t.Fatal(err)
	}
	// A new generation written without dropping anything (as another instance whose drop
	// failed would leave it).
	rec, err := e.a.store.GetConnection(ctx, "acme", e.conn)
	if err != nil {
		t.Fatal(err)
	}
	rec.CatalogGeneration++
	if err := e.a.store.UpdateConnection(ctx, rec); err != nil {
		t.Fatal(err)
	}
	after := e.list(t, e.a, "")
	if len(after) != len(before)+1 || !slices.Contains(names(after), "Platform/zz-new-generation") {
		t.Fatalf("after a new generation: %v (before %d)", names(after), len(before))
	}
	// Through the service's own path (mutate drops the catalog and the memo).
	if _, err := e.a.mutate(ctx, "acme", e.conn, func(rec *store.Connection) error { rec.CatalogGeneration++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := e.a.memo().stats(); n != 0 {
		t.Fatalf("after a generation change through mutate: %d decoded lists held", n)
	}
}

// The memo keeps within its bounds: the least recently used list goes first when there are
// more lists than allowed or their estimated size is over the bound; a list larger than the
// bound alone is not kept; a list held is answered only for the same fingerprint.
func TestCatalogMemoBounds(t *testing.T) {
	m := newCatalogMemo(3, 1000)
	k := func(i int) memoKey { return memoKey{tenant: "t", conn: "c", key: fmt.Sprint(i)} }
	list := []connections.Branch{{Name: "main"}}
	for i := range 5 {
		memoPut(m, k(i), 10, uint64(i), list)
	}
	if n, _, _ := m.stats(); n != 3 {
		t.Fatalf("%d lists held, want 3", n)
	}
	if _, ok := memoGet[connections.Branch](m, k(0), 10, 0); ok {
		t.Fatal("the oldest list was kept")
	}
	if got, ok := memoGet[connections.Branch](m, k(4), 10, 4); !ok || got[0].Name != "main" {
		t.Fatal("the newest list was not kept")
	}
	// Another fingerprint, or another type, is a miss.
	if _, ok := memoGet[connections.Branch](m, k(4), 10, 5); ok {
		t.Fatal("a list was answered for other bytes")
	}
	if _, ok := memoGet[connections.Repository](m, k(4), 10, 4); ok {
		t.Fatal("a list was answered as another type")
	}
	// By size (each small list is estimated at 52 bytes): k(2) was used least recently; a
	// list of 450 bytes of JSON (estimated at 932) makes room by evicting it and then k(3),
	// keeping k(4) (just read).
	memoGet[connections.Branch](m, k(3), 10, 3)
	memoGet[connections.Branch](m, k(4), 10, 4)
	memoPut(m, k(9), 450, 9, list)
	n, cost, _ := m.stats()
	if _, ok := memoGet[connections.Branch](m, k(9), 450, 9); !ok || cost > 1000 || n != 2 {
		t.Fatalf("after a big list: %d lists, %d bytes, big kept %v", n, cost, ok)
	}
	if _, ok := memoGet[connections.Branch](m, k(2), 10, 2); ok {
		t.Fatal("the least recently used list was kept over the byte bound")
	}
	if _, ok := memoGet[connections.Branch](m, k(4), 10, 4); !ok {
		t.Fatal("the most recently used small list was evicted before the least recent one")
	}
	// A list over the bound alone is not kept, and replaces nothing else.
	memoPut(m, k(10), 1000, 10, list)
	if _, ok := memoGet[connections.Branch](m, k(10), 1000, 10); ok {
		t.Fatal("a list over the byte bound was kept")
	}
	if n2, _, _ := m.stats(); n2 != 2 {
		t.Fatalf("a list over the bound changed the others: %d held", n2)
	}
}
