package storetest

import (
	"fmt"
	"testing"

	"github.com/repoconnect/repoconnect/services/store"
)

// pager is one List* method of a store, for the paging tests shared by the three record kinds.
type pager struct {
	kind   string
	create func(t *testing.T, s store.Store, tenant, id string, createdAt int)
	list   func(s store.Store, tenant string, p store.Page) (ids []string, next string, err error)
	delete func(s store.Store, tenant, id string) error
}

func ids[T any](list []T, next string, err error, id func(T) string) ([]string, string, error) {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = id(v)
	}
	return out, next, err
}

var pagers = []pager{
	{
		kind: "connections",
		create: func(t *testing.T, s store.Store, tenant, id string, sec int) {
			c := newConn(tenant, id, "name-"+id)
			c.CreatedAt = at(sec)
			must(t, s.CreateConnection(ctx(), c), "create connection "+id)
		},
		list: func(s store.Store, tenant string, p store.Page) ([]string, string, error) {
			l, n, err := s.ListConnections(ctx(), tenant, p)
			return ids(l, n, err, func(c *store.Connection) string { return c.ID })
		},
		delete: func(s store.Store, tenant, id string) error { return s.DeleteConnection(ctx(), tenant, id) },
	},
	{
		kind: "build profiles",
		create: func(t *testing.T, s store.Store, tenant, id string, sec int) {
			if _, err := s.GetConnection(ctx(), tenant, "conn"); err != nil {
				must(t, s.CreateConnection(ctx(), newConn(tenant, "conn", "conn")), "create connection")
			}
			p := newProfile(tenant, id, "name-"+id, "conn")
			p.CreatedAt = at(sec)
			must(t, s.CreateBuildProfile(ctx(), p), "create build profile "+id)
		},
		list: func(s store.Store, tenant string, p store.Page) ([]string, string, error) {
			l, n, err := s.ListBuildProfiles(ctx(), tenant, p)
			return ids(l, n, err, func(p *store.BuildProfile) string { return p.ID })
		},
		delete: func(s store.Store, tenant, id string) error { return s.DeleteBuildProfile(ctx(), tenant, id) },
	},
	{
		kind: "API keys",
		create: func(t *testing.T, s store.Store, tenant, id string, sec int) {
			k := newKey(tenant, id, hashOf(tenant+"/"+id))
			k.CreatedAt = at(sec)
			must(t, s.CreateAPIKey(ctx(), k), "create API key "+id)
		},
		list: func(s store.Store, tenant string, p store.Page) ([]string, string, error) {
			l, n, err := s.ListAPIKeys(ctx(), tenant, p)
			return ids(l, n, err, func(k *store.APIKey) string { return k.ID })
		},
		delete: func(s store.Store, tenant, id string) error { return s.DeleteAPIKey(ctx(), tenant, id) },
	},
}

// walk lists every page of tenant with the given limit and returns the ids in order and the
// number of pages; it fails the test on an error, an empty page before the end, or more pages
// than records.
func walk(t *testing.T, s store.Store, pg pager, tenant string, limit int, between func(page int)) ([]string, int) {
	t.Helper()
	var all []string
	after := ""
	for page := 1; ; page++ {
		got, next, err := pg.list(s, tenant, store.Page{After: after, Limit: limit})
		must(t, err, fmt.Sprintf("%s page %d", pg.kind, page))
		if len(got) > limit {
			t.Fatalf("%s page %d: %d records, limit %d", pg.kind, page, len(got), limit)
		}
		if len(got) == 0 && next != "" {
			t.Fatalf("%s page %d: empty page with a next cursor", pg.kind, page)
		}
		all = append(all, got...)
		if next == "" {
			return all, page
		}
		if page > 100 {
			t.Fatalf("%s: more than 100 pages", pg.kind)
		}
		if between != nil {
			between(page)
		}
		after = next
	}
}

func testPaging(t *testing.T, s store.Store) {
	for _, pg := range pagers {
		t.Run(pg.kind, func(t *testing.T) {
			// Seven records; c and d share a CreatedAt, so ID breaks the tie; creation order differs
			// from list order.
			for _, r := range []struct {
				id  string
				sec int
			}{{"e", 50}, {"a", 10}, {"d", 30}, {"c", 30}, {"g", 70}, {"b", 20}, {"f", 60}} {
				pg.create(t, s, "t1", r.id, r.sec)
			}
			pg.create(t, s, "t2", "x", 5) // another tenant's record sorts first and must not show

			full, next, err := pg.list(s, "t1", store.Page{})
			must(t, err, "list all")
			checkIDs(t, pg.kind+": no limit", full, "a", "b", "c", "d", "e", "f", "g")
			if next != "" {
				t.Fatalf("%s: a list without a limit has a next cursor %q", pg.kind, next)
			}
			for limit, wantPages := range map[int]int{1: 7, 3: 3, 7: 1, 8: 1, 100: 1} {
				got, pages := walk(t, s, pg, "t1", limit, nil)
				checkIDs(t, fmt.Sprintf("%s: pages of %d", pg.kind, limit), got, full...)
				// A last page that is exactly full may or may not announce an empty page after it.
				if pages != wantPages && !(7%limit == 0 && pages == wantPages+1) {
					t.Fatalf("%s: %d pages of %d, want %d", pg.kind, pages, limit, wantPages)
				}
			}
			for _, bad := range []string{"!!", "bm90IGEgc29ydCBrZXk", "AAAA"} {
				_, _, err := pg.list(s, "t1", store.Page{After: bad, Limit: 2})
				wantErr(t, err, store.ErrInvalid, pg.kind+": cursor "+bad)
			}
			empty, next, err := pg.list(s, "nobody", store.Page{Limit: 5})
			must(t, err, "list an empty tenant")
			if len(empty) != 0 || next != "" {
				t.Fatalf("%s: empty tenant listed %v, next %q", pg.kind, empty, next)
			}

			// Writes between pages: the record at the cursor is deleted, one is added before the
			// cursor (not listed now) and one after it (listed). Nothing is listed twice.
			got, _ := walk(t, s, pg, "t1", 2, func(page int) {
				if page == 1 {
					must(t, pg.delete(s, "t1", "b"), "delete the cursor's record")
					pg.create(t, s, "t1", "a0", 15)
					pg.create(t, s, "t1", "h", 80)
				}
			})
			checkIDs(t, pg.kind+": pages with writes between them", got, "a", "b", "c", "d", "e", "f", "g", "h")
		})
	}
}
