package storetest

import (
	"slices"
	"testing"

	"github.com/repoconnect/repoconnect/services/store"
)

// testPolling checks store.Polling: the hook index across tenants, and the branch tips a poll
// records per profile (absent before the first poll, replaced on each put, per tenant).
func testPolling(t *testing.T, s store.Store) {
	ps, ok := s.(store.Polling)
	if !ok {
		t.Skip("backend does not implement store.Polling")
	}
	rs := runsOf(t, s)
	p := withProfile(t, s) // t1/p1
	must(t, s.CreateConnection(ctx(), newConn("t2", "c1", "conn")), "create t2 connection")
	q := newProfile("t2", "p9", "other", "c1")
	must(t, s.CreateBuildProfile(ctx(), q), "create t2 profile")
	refs, err := ps.HookRefs(ctx())
	must(t, err, "hook refs before hooks")
	if len(refs) != 0 {
		t.Fatalf("hook refs without hooks: %+v", refs)
	}
	p.Hook = &store.Hook{ID: "h1", User: "u", SealedPassword: []byte{1}, CreatedAt: at(0)}
	must(t, rs.UpdateBuildProfile(ctx(), p), "hook on t1")
	q.Hook = &store.Hook{ID: "h9", User: "u", SealedPassword: []byte{2}, CreatedAt: at(0)}
	must(t, rs.UpdateBuildProfile(ctx(), q), "hook on t2")
	_, err = rs.ClaimEvent(ctx(), "t1/p1/e1", 60e9) // a hook_event key must not be listed
	must(t, err, "claim event")
	refs, err = ps.HookRefs(ctx())
	must(t, err, "hook refs")
	var got []string
	for _, r := range refs {
		got = append(got, r.TenantID+"/"+r.ProfileID+"/"+r.HookID)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"t1/p1/h1", "t2/p9/h9"}) {
		t.Fatalf("hook refs across tenants: %v", got)
	}

	_, found, err := ps.PollRefs(ctx(), "t1", "p1")
	must(t, err, "poll refs before a poll")
	if found {
		t.Fatal("poll refs found before any poll")
	}
	must(t, ps.PutPollRefs(ctx(), "t1", "p1", map[string]string{}), "put empty refs")
	m, found, err := ps.PollRefs(ctx(), "t1", "p1")
	must(t, err, "poll refs after an empty poll")
	if !found || m == nil || len(m) != 0 {
		t.Fatalf("empty poll read back: %v %v", m, found)
	}
	a, b := "0123456789abcdef0123456789abcdef01234567", "89abcdef0123456789abcdef0123456789abcdef"
	must(t, ps.PutPollRefs(ctx(), "t1", "p1", map[string]string{"refs/heads/main": a, "refs/heads/dev": b}), "put refs")
	must(t, ps.PutPollRefs(ctx(), "t1", "p1", map[string]string{"refs/heads/main": b}), "replace refs")
	m, found, err = ps.PollRefs(ctx(), "t1", "p1")
	must(t, err, "poll refs")
	if !found || len(m) != 1 || m["refs/heads/main"] != b {
		t.Fatalf("refs read back: %v %v", m, found)
	}
	if _, found, _ := ps.PollRefs(ctx(), "t2", "p1"); found {
		t.Fatal("another tenant sees t1's poll refs")
	}
	wantErr(t, ps.PutPollRefs(ctx(), "", "p1", nil), store.ErrInvalid, "refs without a tenant")
}
