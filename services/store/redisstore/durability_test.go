package redisstore

import (
	"context"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

func TestCheckDurability(t *testing.T) {
	cases := []struct {
		name string
		opts redistest.Options
		want Durability
		says []string // in the warning
		// evicts, when not nil, are in the eviction warning (else there must be none)
		evicts []string
	}{
		{"aof always", redistest.Options{AppendOnly: true, AppendFsync: "always"},
			Durability{Checked: true, AppendOnly: true, AppendFsync: "always", MaxMemoryPolicy: "noeviction"}, nil, nil},
		{"aof everysec", redistest.Options{AppendOnly: true, AppendFsync: "everysec"},
			Durability{Checked: true, AppendOnly: true, AppendFsync: "everysec", MaxMemoryPolicy: "noeviction"},
			[]string{"up to a second", "appendfsync always", "redis.conf"}, nil},
		{"nothing on disk", redistest.Options{},
			Durability{Checked: true, AppendFsync: "everysec", MaxMemoryPolicy: "noeviction"},
			[]string{"nothing on disk", "a restart loses every connection", "CONFIG SET appendonly yes", "appendfsync always", "redis.conf"}, nil},
		{"rdb only", redistest.Options{Args: []string{"--save", "3600 1"}},
			Durability{Checked: true, AppendFsync: "everysec", Save: "3600 1", MaxMemoryPolicy: "noeviction"},
			[]string{"since the last snapshot", "CONFIG SET appendonly yes"}, nil},
		{"evicting", redistest.Options{AppendOnly: true, Args: []string{"--maxmemory-policy", "allkeys-lru"}},
			Durability{Checked: true, AppendOnly: true, AppendFsync: "always", MaxMemoryPolicy: "allkeys-lru"},
			nil, []string{"maxmemory-policy allkeys-lru", "locks", "CONFIG SET maxmemory-policy noeviction", "redis.conf"}},
		{"config refused", redistest.Options{Args: []string{"--rename-command", "CONFIG", ""}},
			Durability{}, []string{"refused CONFIG GET", "appendfsync always"}, []string{"maxmemory-policy is unknown", "noeviction"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t, tc.opts)
			s, err := New(srv.Client(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			d, err := s.CheckDurability(context.Background())
			if err != nil {
				t.Fatalf("CheckDurability: %v", err)
			}
			warning, evicts := d.Warning, d.EvictionWarning
			d.Warning, d.EvictionWarning = "", ""
			if tc.evicts == nil && evicts != "" {
				t.Errorf("unexpected eviction warning %q", evicts)
			}
			for _, w := range tc.evicts {
				if !strings.Contains(evicts, w) {
					t.Errorf("eviction warning %q does not say %q", evicts, w)
				}
			}
			if d != tc.want {
				t.Fatalf("got %+v, want %+v", d, tc.want)
			}
			if tc.says == nil && warning != "" {
				t.Fatalf("unexpected warning %q", warning)
			}
			for _, w := range tc.says {
				if !strings.Contains(warning, w) {
					t.Errorf("warning %q does not say %q", warning, w)
				}
			}
			if tc.says != nil && strings.Count(strings.TrimSuffix(warning, "."), ". ") != 0 {
				t.Errorf("warning is not one sentence: %q", warning)
			}
		})
	}
}

// TestSurvivesRestart: with appendfsync always, a record whose create was acknowledged is
// there after the server is killed (SIGKILL) and restarted, and the Store reconnects.
func TestSurvivesRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{AppendOnly: true, AppendFsync: "always"})
	s := openURL(t, srv.URL(0))
	defer s.Close()
	ctx := context.Background()
	c := &store.Connection{ID: "c1", TenantID: "t1", Name: "kept", SealedCredential: []byte("sealed")}
	if err := s.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(ctx, &store.APIKey{ID: "k1", TenantID: "t1", Hash: "h1"}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	srv.Restart()
	got, err := s.GetConnection(ctx, "t1", "c1")
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if got.Name != "kept" || string(got.SealedCredential) != "sealed" || got.Version != 1 {
		t.Fatalf("after restart: %+v", got)
	}
	if k, err := s.APIKeyByHash(ctx, "h1"); err != nil || k.ID != "k1" {
		t.Fatalf("api key after restart: %+v %v", k, err)
	}
	d, err := s.CheckDurability(ctx)
	if err != nil || d.Warning != "" {
		t.Fatalf("durability after restart: %+v %v", d, err)
	}
}
