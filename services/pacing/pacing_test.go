package pacing_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/connections/resilience"
	"github.com/repoconnect/repoconnect/services/pacing"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

// TestRedisMaxSemanticsAndTTL: a later time wins, an earlier one changes nothing, and the key
// expires shortly after its time.
func TestRedisMaxSemanticsAndTTL(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client()
	p := pacing.NewRedis(rdb, "pacetest", nil)
	ctx := context.Background()
	if got, err := p.NotBefore(ctx, "conn-1"); err != nil || !got.IsZero() {
		t.Fatalf("NotBefore of a fresh key = %v, %v", got, err)
	}
	late := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	if err := p.Defer(ctx, "conn-1", late); err != nil {
		t.Fatal(err)
	}
	if err := p.Defer(ctx, "conn-1", late.Add(-30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err := p.NotBefore(ctx, "conn-1"); err != nil || !got.Equal(late) {
		t.Fatalf("NotBefore = %v, %v; want %v", got, err, late)
	}
	ttl, err := rdb.PTTL(ctx, "pacetest:v1:pace:conn-1").Result()
	if err != nil || ttl <= 0 || ttl > 62*time.Second {
		t.Fatalf("PTTL = %v, %v; want about 61s", ttl, err)
	}
}

// pacingPAT is the simulator's PAT in these tests.
const pacingPAT = "pacing-test-pat"

// throttlingSim starts a simulator whose first project list answers 200 with Retry-After: 1
// (and the other throttling headers), and returns it with its collection's endpoint.
func throttlingSim(t *testing.T) (*azdosim.Server, azuredevops.Endpoint) {
	t.Helper()
	f, err := azdosim.ParseFault("projects=throttle-headers:1,retry-after=1")
	if err != nil {
		t.Fatal(err)
	}
	sim := azdosimtest.Start(t, azdosim.Options{Faults: []azdosim.Fault{f}}, azdosim.PAT{Token: pacingPAT})
	ep, err := azuredevops.NewEndpoint(sim.URL(), "DefaultCollection")
	if err != nil {
		t.Fatal(err)
	}
	return sim, ep
}

// TestRedisPacerSharedByTwoClients: Retry-After on a 200 seen by one client (one instance)
// holds the same connection's next request made by another client with its own transport.
func TestRedisPacerSharedByTwoClients(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	sim, ep := throttlingSim(t)
	var clients []*azuredevops.Client
	for range 2 { // two instances: their own Redis client, pacer and transport
		p := pacing.NewRedis(srv.Client(), "pacetest", nil)
		c, err := azuredevops.New(ep, azuredevops.Credential{PAT: pacingPAT},
			azuredevops.Options{Transport: resilience.NewTransport(nil, resilience.Options{Pacer: p})})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	ctx := resilience.WithKey(context.Background(), "conn-shared")
	if _, err := clients[0].ListProjects(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := clients[1].ListProjects(ctx); err != nil {
		t.Fatal(err)
	}
	hits := sim.Hits("projects")
	if len(hits) != 2 || hits[0].Fault != "throttle-headers" {
		t.Fatalf("hits = %+v", hits)
	}
	if gap := hits[1].At.Sub(hits[0].At); gap < time.Second {
		t.Fatalf("the second instance sent %v after Retry-After: 1; the pacing was not shared", gap)
	}
	// A deadline shorter than the shared wait fails at once, without a request.
	if err := pacing.NewRedis(srv.Client(), "pacetest", nil).Defer(context.Background(), "conn-shared", time.Now().Add(20*time.Second)); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := clients[1].ListProjects(short)
	if !isRateLimited(err) {
		t.Fatalf("err = %v, want rate_limited", err)
	}
	if n := sim.RouteRequests("projects"); n != 2 {
		t.Fatalf("simulator saw %d requests, want 2", n)
	}
}

// TestRedisPacerHungRedisFailsOpenPromptly: a Redis that accepts commands and never answers
// (paused, frozen, or behind a network that drops packets) does not hold the connection's
// requests: go-redis does not cut a command at its context's deadline, so the transport
// bounds each pacer call itself and sends unpaced, before and after the answer (a Retry-After
// on a 200 to record).
func TestRedisPacerHungRedisFailsOpenPromptly(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	sim, ep := throttlingSim(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ReadTimeout: -1, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil { // a pooled connection, as in a running service
		t.Fatal(err)
	}
	c, err := azuredevops.New(ep, azuredevops.Credential{PAT: pacingPAT},
		azuredevops.Options{Transport: resilience.NewTransport(nil, resilience.Options{Pacer: pacing.NewRedis(rdb, "pacetest", nil)})})
	if err != nil {
		t.Fatal(err)
	}
	// Every client's commands wait from now on, for longer than the test waits.
	if err := srv.Client().Do(ctx, "CLIENT", "PAUSE", "60000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.ListProjects(resilience.WithKey(ctx, "conn-hung"))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a request while the pacer's Redis hangs: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a request while the pacer's Redis hangs did not end within 20 s")
	}
	if n := sim.RouteRequests("projects"); n != 1 {
		t.Fatalf("simulator saw %d requests, want 1", n)
	}
}
