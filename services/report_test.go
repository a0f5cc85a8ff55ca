package services

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
)

func TestReportStateMapping(t *testing.T) {
	for _, c := range []struct {
		state string
		err   error
		want  string
	}{
		{CloneSucceeded, nil, "succeeded"},
		{CloneFailed, connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound, "no such commit"), "failed"},
		{CloneFailed, connections.Errorf(connections.ErrInvalidInput, connections.ReasonTooLarge, "too large"), "failed"},
		{CloneFailed, connections.Errorf(connections.ErrUnreachable, connections.ReasonUnreachable, "down"), "error"},
		{CloneFailed, connections.Errorf(connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable, "503"), "error"},
		{CloneFailed, connections.Errorf(connections.ErrUnauthorized, connections.ReasonInvalidToken, "pat"), "error"},
		{CloneFailed, fmt.Errorf("stopped: %w", context.Canceled), "error"},
		{CloneFailed, errors.New("queue full"), "error"},
		{CloneFailed, nil, "error"},
	} {
		if got := ReportState(c.state, c.err); got != c.want {
			t.Errorf("ReportState(%s, %v) = %s, want %s", c.state, c.err, got, c.want)
		}
	}
}

// retryPost retries only retryable errors, at most MaxAttempts times, and hands back the
// last error itself (its reason and message), not the backoff library's.
func TestRetryPostPolicy(t *testing.T) {
	s := &Service{opts: Options{Runs: RunSettings{Report: ReportSettings{MaxAttempts: 4, InitialInterval: time.Millisecond}}}}
	unavailable := connections.Errorf(connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable, "HTTP 503")
	for _, c := range []struct {
		name      string
		fail      error
		succeedAt int // attempt that succeeds; 0 = never
		calls     int
		reason    connections.Reason
	}{
		{"unavailable always", unavailable, 0, 4, connections.ReasonUpstreamUnavailable},
		{"unavailable once", unavailable, 2, 2, ""},
		{"rate limited always", connections.Errorf(connections.ErrRateLimited, connections.ReasonRateLimited, "429"), 0, 4, connections.ReasonRateLimited},
		{"unreachable always", connections.Errorf(connections.ErrUnreachable, connections.ReasonUnreachable, "refused"), 0, 4, connections.ReasonUnreachable},
		{"forbidden: not retried", connections.Errorf(connections.ErrForbidden, connections.ReasonForbidden, "scope"), 0, 1, connections.ReasonForbidden},
		{"not found: not retried", connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound, "commit"), 0, 1, connections.ReasonNotFound},
	} {
		calls := 0
		err := s.retryPost(context.Background(), func() error {
			calls++
			if c.succeedAt > 0 && calls >= c.succeedAt {
				return nil
			}
			return c.fail
		})
		if calls != c.calls {
			t.Errorf("%s: %d calls, want %d", c.name, calls, c.calls)
		}
		if c.reason == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		} else if e := connections.AsError(err); e == nil || e.Reason != c.reason {
			t.Errorf("%s: error %v, want reason %s", c.name, err, c.reason)
		}
	}
	// A Retry-After is waited (1 s, rounded up), then the post succeeds.
	throttled := connections.Errorf(connections.ErrRateLimited, connections.ReasonRateLimited, "429")
	throttled.RetryAfter = 300 * time.Millisecond
	calls, start := 0, time.Now()
	if err := s.retryPost(context.Background(), func() error {
		calls++
		if calls == 1 {
			return throttled
		}
		return nil
	}); err != nil || calls != 2 {
		t.Fatalf("after a Retry-After: %v, %d calls", err, calls)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Fatalf("waited %v, want the Retry-After (rounded up to 1 s)", waited)
	}
	// A Retry-After past the cap ends the post at once.
	long := connections.Errorf(connections.ErrRateLimited, connections.ReasonRateLimited, "429")
	long.RetryAfter = 10 * time.Minute
	calls = 0
	if err := s.retryPost(context.Background(), func() error { calls++; return long }); calls != 1 || !errors.Is(err, connections.ErrRateLimited) {
		t.Fatalf("a Retry-After past the cap: %v after %d calls", err, calls)
	}
}
