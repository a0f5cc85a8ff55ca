package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
	"github.com/repoconnect/repoconnect/services/store/storetest"
)

// prefixSeq numbers the key prefixes of the tests' stores, so stores on one server are
// isolated from each other.
var prefixSeq atomic.Int64

func nextPrefix() string { return fmt.Sprintf("test%d", prefixSeq.Add(1)) }

// openURL opens a Store on raw with a fresh prefix; the Store owns its client.
func openURL(t testing.TB, raw string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, raw, Options{Prefix: nextPrefix()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// TestContract runs the contract suite against one server; every store is New on one shared
// client with its own prefix (closing it leaves the client to the others).
func TestContract(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := srv.Client()
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := New(client, Options{Prefix: nextPrefix()})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	})
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("the shared client was closed by a Store: %v", err)
	}
}

// TestContractCluster runs the suite against a 3-master Redis Cluster, through the
// redis+cluster:// URL: every multi-key script must stay within its tenant's slot.
func TestContractCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	cluster := redistest.StartCluster(t, 3)
	storetest.Run(t, func(t *testing.T) store.Store {
		s := openURL(t, cluster.URL())
		if s.Client() == nil {
			t.Fatal("no client")
		}
		return s
	})
	// Besides the contract, on the same cluster:
	t.Run("EscapedKeys", func(t *testing.T) {
		s := openURL(t, cluster.URL())
		defer s.Close()
		testEscapedKeys(t, s)
	})
	t.Run("OneSlotPerTenant", func(t *testing.T) {
		s := openURL(t, cluster.URL())
		defer s.Close()
		fill(t, s, "h")
		ctx := context.Background()
		slots := map[int64][]string{}
		for _, k := range scanKeysWithPrefix(t, s) {
			if !strings.Contains(k, ":v1:t:") {
				continue
			}
			slot, err := s.Client().ClusterKeySlot(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			slots[slot] = append(slots[slot], k)
		}
		if len(slots) != 1 {
			t.Fatalf("the tenant's keys are in %d slots: %v", len(slots), slots)
		}
	})
	t.Run("CheckDurability", func(t *testing.T) {
		// The nodes keep nothing on disk: the weakest (every) master says so, by address.
		s := openURL(t, cluster.URL())
		defer s.Close()
		d, err := s.CheckDurability(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !d.Checked || d.AppendOnly || !strings.Contains(d.Warning, "nothing on disk") || !strings.Contains(d.Warning, "127.0.0.1:") {
			t.Fatalf("got %+v", d)
		}
	})
}

// TestContractSentinel runs the suite through a Sentinel (redis+sentinel://) that monitors
// one master.
func TestContractSentinel(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Sentinel")
	}
	master := redistest.Start(t, redistest.Options{})
	sentinel := redistest.StartSentinel(t, master, "mymaster")
	storetest.Run(t, func(t *testing.T) store.Store { return openURL(t, sentinel.URL(0)) })
}
