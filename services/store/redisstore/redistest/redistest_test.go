package redistest_test

import (
	"context"
	"testing"

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
