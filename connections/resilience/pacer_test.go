package resilience_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/resilience"
)

// TestThrottleHeadersPaceOneConnection: a 200 carrying Retry-After: 1 and a low
// X-RateLimit-Remaining slows the next request of the same key by a second (simulator
// timestamps), while another key's request is not held at all (its pacer answer is zero).
func TestThrottleHeadersPaceOneConnection(t *testing.T) {
	sim := startSim(t, "projects=throttle-headers:1,retry-after=1")
	pacer := newRecordingPacer()
	opts := fastOptions()
	opts.Pacer = pacer
	c := newClient(t, sim, opts)
	ctxA := resilience.WithKey(context.Background(), "conn-a")
	ctxB := resilience.WithKey(context.Background(), "conn-b")
	for _, ctx := range []context.Context{ctxA, ctxB, ctxA} {
		if _, err := c.ListProjects(ctx); err != nil {
			t.Fatal(err)
		}
	}
	hits := sim.Hits("projects")
	if len(hits) != 3 || hits[0].Fault != "throttle-headers" {
		t.Fatalf("hits = %+v, want a throttled 200 then two clean requests", hits)
	}
	if gap := hits[2].At.Sub(hits[0].At); gap < time.Second {
		t.Fatalf("conn-a's second request came %v after Retry-After: 1 on a 200", gap)
	}
	a := pacer.answers("conn-a")
	if len(a) != 2 || !a[0].IsZero() || a[1].IsZero() {
		t.Fatalf("pacer answers for conn-a = %v, want none then a not-before time", a)
	}
	if b := pacer.answers("conn-b"); len(b) != 1 || !b[0].IsZero() {
		t.Fatalf("pacer answers for conn-b = %v, want one zero time (not held)", b)
	}
}

// TestPacingPastDeadlineFailsAtOnce: when the key's pacing outlasts the deadline the request
// fails at once with rate_limited and its RetryAfter, and never reaches the simulator.
func TestPacingPastDeadlineFailsAtOnce(t *testing.T) {
	sim := startSim(t)
	pacer := resilience.NewMemory(nil)
	if err := pacer.Defer(context.Background(), "conn-a", time.Now().Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	opts := fastOptions()
	opts.Pacer = pacer
	ctx, cancel := context.WithTimeout(resilience.WithKey(context.Background(), "conn-a"), time.Second)
	defer cancel()
	_, err := newClient(t, sim, opts).ListProjects(ctx)
	ce := connections.AsError(err)
	if ce == nil || ce.Reason != connections.ReasonRateLimited || ce.RetryAfter < 9*time.Second {
		t.Fatalf("err = %v (%#v), want rate_limited with RetryAfter about 10s", err, ce)
	}
	if n := sim.RouteRequests("projects"); n != 0 {
		t.Fatalf("simulator saw %d requests, want 0", n)
	}
}

// TestPaceFor covers the header rules without a server.
func TestPaceFor(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cases := []struct {
		name    string
		headers map[string]string
		want    time.Duration
	}{
		{"none", nil, 0},
		{"retry-after seconds", map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{"retry-after date", map[string]string{"Retry-After": now.Add(5 * time.Second).UTC().Format(http.TimeFormat)}, 5 * time.Second},
		{"retry-after garbage", map[string]string{"Retry-After": "soon"}, 0},
		{"delay", map[string]string{"X-RateLimit-Delay": "0.25"}, 250 * time.Millisecond},
		{"plenty remaining", map[string]string{"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "150"}, 0},
		{"low remaining spread to reset", map[string]string{"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "9",
			"X-RateLimit-Reset": strconv.FormatInt(now.Add(20*time.Second).Unix(), 10)}, 2 * time.Second},
		{"low remaining no reset", map[string]string{"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0"}, time.Second},
	}
	for _, tc := range cases {
		resp := &http.Response{Header: http.Header{}}
		for k, v := range tc.headers {
			resp.Header.Set(k, v)
		}
		if got := resilience.PaceFor(resp, now); got != tc.want {
			t.Errorf("%s: PaceFor = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestMemoryMaxSemantics: an earlier time never shortens a recorded wait.
func TestMemoryMaxSemantics(t *testing.T) {
	m := resilience.NewMemory(nil)
	ctx := context.Background()
	late := time.Now().Add(time.Hour)
	_ = m.Defer(ctx, "k", late)
	_ = m.Defer(ctx, "k", late.Add(-time.Minute))
	if got, _ := m.NotBefore(ctx, "k"); !got.Equal(late) {
		t.Fatalf("NotBefore = %v, want %v", got, late)
	}
}

// TestCredentialKeyHidesSecret: the key does not contain the secret and depends on the host.
func TestCredentialKeyHidesSecret(t *testing.T) {
	k1 := resilience.CredentialKey("dev.azure.com", "s3cr3t-pat")
	k2 := resilience.CredentialKey("other.example", "s3cr3t-pat")
	if k1 == k2 || len(k1) != len("cred:")+32 {
		t.Fatalf("keys %q %q", k1, k2)
	}
	for _, k := range []string{k1, k2} {
		if strings.Contains(k, "s3cr3t") {
			t.Fatalf("key %q holds the secret", k)
		}
	}
}
