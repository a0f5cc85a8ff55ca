package redistest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

func TestStartKillRestartKeepsAOF(t *testing.T) {
	s := redistest.Start(t, redistest.Options{AppendOnly: true})
	c := s.Client()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Restart()
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after restart: %q %v", v, err)
	}
}

func TestStartCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	c := redistest.StartCluster(t, 3)
	if len(c.Addrs()) != 3 || !strings.HasPrefix(c.URL(), "redis+cluster://127.0.0.1:") {
		t.Fatalf("addrs %q url %q", c.Addrs(), c.URL())
	}
	cl := c.Client()
	ctx := context.Background()
	// Keys in many slots: every one is served by some master.
	for i := range 50 {
		k := fmt.Sprintf("k%d", i)
		if err := cl.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	if n := cl.DBSize(ctx).Val(); n != 50 {
		t.Fatalf("DBSIZE %d", n)
	}
}

func TestStartSentinel(t *testing.T) {
	master := redistest.Start(t, redistest.Options{})
	s := redistest.StartSentinel(t, master, "main")
	if want := "redis+sentinel://" + s.Addr() + "/main/0"; s.URL(0) != want {
		t.Fatalf("URL %q, want %q", s.URL(0), want)
	}
	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "main", SentinelAddrs: []string{s.Addr()}})
	defer fc.Close()
	ctx := context.Background()
	if err := fc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v := master.Client().Get(ctx, "k").Val(); v != "v" {
		t.Fatalf("the master has %q", v)
	}
}
