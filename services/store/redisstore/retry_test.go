package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
	"github.com/repoconnect/repoconnect/services/store/storetest"
)

// sendTwice is a go-redis hook that sends every write (EVALSHA, EVAL, SET) a second time
// after it ran, keeping the second reply, as go-redis does when the reply of the first copy
// is lost to io.EOF. Lock keys are left alone (a retried lock take waits for its ttl, by
// design; see scripts.go).
type sendTwice struct{ twice atomic.Int64 }

func (h *sendTwice) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *sendTwice) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil || !h.isWrite(cmd) {
			return err
		}
		h.twice.Add(1)
		return next(ctx, cmd)
	}
}

func (h *sendTwice) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *sendTwice) isWrite(cmd redis.Cmder) bool {
	switch strings.ToLower(cmd.Name()) {
	case "evalsha", "eval", "set":
	default:
		return false
	}
	for _, a := range cmd.Args() {
		if s, ok := a.(string); ok && strings.Contains(s, ":v1:lock:") {
			return false
		}
	}
	return true
}

// TestContractWritesSentTwice runs the whole contract suite with every write sent twice:
// the memoized scripts and the compare-and-set fixes make the second copy a no-op that
// answers like the first, so no create reports ErrConflict, no update ErrStale, no delete
// ErrNotFound, and no record is doubled.
func TestContractWritesSentTwice(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := srv.Client()
	hook := &sendTwice{}
	client.AddHook(hook)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := New(client, Options{Prefix: nextPrefix()})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	})
	if hook.twice.Load() == 0 {
		t.Fatal("no write was sent twice: the hook did not run")
	}
}

// TestWriteSentTwiceLeavesOneRecord pins the retried create, update and delete one by one.
func TestWriteSentTwiceLeavesOneRecord(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := srv.Client()
	hook := &sendTwice{}
	client.AddHook(hook)
	s, err := New(client, Options{Prefix: nextPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := &store.Connection{ID: "c1", TenantID: "t1", Name: "one", Type: "server-pat"}
	if err := s.CreateConnection(ctx, c); err != nil {
		t.Fatalf("create sent twice: %v (want nil, not ErrConflict)", err)
	}
	list, _, err := s.ListConnections(ctx, "t1", store.Page{})
	if err != nil || len(list) != 1 {
		t.Fatalf("list after a create sent twice: %d records, %v; want 1", len(list), err)
	}
	c.Name = "renamed"
	if err := s.UpdateConnection(ctx, c); err != nil {
		t.Fatalf("update sent twice: %v (want nil, not ErrStale)", err)
	}
	if got, err := s.GetConnection(ctx, "t1", "c1"); err != nil || got.Version != 2 || got.Name != "renamed" {
		t.Fatalf("after an update sent twice: %+v, %v; want version 2, renamed", got, err)
	}
	k := &store.APIKey{ID: "k1", TenantID: "t1", Hash: strings.Repeat("ab", 32)}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatalf("create api key sent twice: %v", err)
	}
	if got, err := s.APIKeyByHash(ctx, k.Hash); err != nil || got.ID != "k1" {
		t.Fatalf("api key by hash after a create sent twice: %v, %v", got, err)
	}
	if err := s.DeleteAPIKey(ctx, "t1", "k1"); err != nil {
		t.Fatalf("delete api key sent twice: %v (want nil, not ErrNotFound)", err)
	}
	if err := s.DeleteConnection(ctx, "t1", "c1"); err != nil {
		t.Fatalf("delete sent twice: %v (want nil, not ErrNotFound)", err)
	}
	if _, err := s.GetConnection(ctx, "t1", "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after delete: %v, want ErrNotFound", err)
	}
	if hook.twice.Load() < 5 {
		t.Fatalf("only %d writes were sent twice", hook.twice.Load())
	}
}

// TestUnavailableClassifies pins which errors are outages.
func TestUnavailableClassifies(t *testing.T) {
	outages := []error{
		fmt.Errorf("redisstore: %w", errors.Join(errors.New("read"), io.EOF)),
		&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
		redis.ErrPoolTimeout, redis.ErrClosed,
		redisErr("LOADING Redis is loading the dataset in memory"),
		redisErr("READONLY You can't write against a read only replica."),
		redisErr("MASTERDOWN Link with MASTER is down"),
		redisErr("CLUSTERDOWN The cluster is down"),
		redisErr("TRYAGAIN Multiple keys request during rehashing of slot"),
		errors.New("redis: all sentinels specified in configuration are unreachable"),
	}
	for _, err := range outages {
		if got := Unavailable(err); !errors.Is(got, store.ErrUnavailable) || !errors.Is(got, err) {
			t.Errorf("Unavailable(%v) = %v: want it to wrap store.ErrUnavailable and the cause", err, got)
		}
	}
	for _, err := range []error{nil, redis.Nil, context.Canceled, context.DeadlineExceeded,
		redisErr("WRONGTYPE Operation against a key holding the wrong kind of value"),
		redisErr("NOPERM this user has no permissions"), store.ErrNotFound} {
		if got := Unavailable(err); got != err {
			t.Errorf("Unavailable(%v) = %v: want it unchanged", err, got)
		}
	}
}

// TestStoreMethodsReportUnavailable kills Redis and checks that every kind of method (read,
// script write, lock) answers an error wrapping store.ErrUnavailable, promptly, and that the
// same Store works again once Redis is back on its port.
func TestStoreMethodsReportUnavailable(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := redis.NewClient(&redis.Options{Addr: srv.Addr(), DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	s, err := New(client, Options{Prefix: nextPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.CreateConnection(ctx, &store.Connection{ID: "c1", TenantID: "t1", Name: "one"}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	checks := map[string]func() error{
		"get":    func() error { _, err := s.GetConnection(ctx, "t1", "c1"); return err },
		"list":   func() error { _, _, err := s.ListConnections(ctx, "t1", store.Page{}); return err },
		"create": func() error { return s.CreateConnection(ctx, &store.Connection{ID: "c2", TenantID: "t1", Name: "two"}) },
		"delete": func() error { return s.DeleteConnection(ctx, "t1", "c1") },
		"apikey": func() error { _, err := s.APIKeyByHash(ctx, "ab"); return err },
		"take":   func() error { _, err := s.TakeOAuthState(ctx, "k"); return err },
		"lock":   func() error { _, err := s.Lock(ctx, "l", time.Second); return err },
		"ping":   func() error { return s.Ping(ctx) },
	}
	for name, f := range checks {
		if err := f(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with Redis down: %v, want store.ErrUnavailable", name, err)
		}
	}
	if ctx.Err() != nil {
		t.Fatal("the calls waited for the context's end instead of reporting the outage")
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.GetConnection(ctx, "t1", "c1")
		if errors.Is(err, store.ErrNotFound) { // no persistence: the restarted server is empty
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover after Redis restarted: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// redisErr is a server error reply, as go-redis reports one.
type redisErr string

func (e redisErr) Error() string { return string(e) }
func (redisErr) RedisError()     {}
