package resilience

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Pacer records, per key (a connection), the time before which no request of that key may be
// sent. Implementations: Memory (one process) and services/pacing's Redis pacer (shared by
// every instance on one Redis). Safe for concurrent use.
type Pacer interface {
	// NotBefore returns the time before which key may not send; the zero time (or a past
	// one) when it may send now. An error (store down) lets the request go unpaced.
	NotBefore(ctx context.Context, key string) (time.Time, error)
	// Defer records that key may not send before t. It keeps the later of t and the time
	// already recorded (max semantics), so concurrent observers never shorten a wait.
	Defer(ctx context.Context, key string, t time.Time) error
}

type keyType struct{}

// WithKey returns ctx carrying the pacing key of the requests made with it: a connection id,
// or CredentialKey for a credential not yet stored. Never the credential itself.
func WithKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, keyType{}, key)
}

// KeyFrom returns the pacing key WithKey put in ctx, or "".
func KeyFrom(ctx context.Context) string {
	k, _ := ctx.Value(keyType{}).(string)
	return k
}

// CredentialKey is a pacing key for a credential that has no connection id yet (the token
// check of a connection being created): "cred:" and 32 hex digits of SHA-256 over host and
// secret. Azure DevOps throttles per identity (docs/azure-devops-protocol.md §8), which the credential
// stands for; the secret cannot be read back from the key.
func CredentialKey(host, secret string) string {
	sum := sha256.Sum256([]byte("repoconnect/pace\x00" + strings.ToLower(host) + "\x00" + secret))
	return "cred:" + hex.EncodeToString(sum[:16])
}

// lowRemaining is the share of X-RateLimit-Limit below which X-RateLimit-Remaining slows
// the key down.
const lowRemaining = 0.10

// PaceFor returns how long key should wait before its next request after resp (0: no
// wait), from the headers Azure DevOps sends (docs/azure-devops-protocol.md §8):
//   - Retry-After (seconds or an HTTP date), on any answer, 200 included;
//   - X-RateLimit-Delay (seconds, fractional): the server delayed this request, so space the
//     next one as much;
//   - X-RateLimit-Remaining below 10 % of X-RateLimit-Limit: the remaining budget is spread
//     until X-RateLimit-Reset (Unix seconds): (reset - now) / (remaining + 1).
//
// The largest applies; the caller caps it.
func PaceFor(resp *http.Response, now time.Time) time.Duration {
	h := resp.Header
	wait := ParseRetryAfter(h.Get("Retry-After"), now)
	if d, err := strconv.ParseFloat(strings.TrimSpace(h.Get("X-RateLimit-Delay")), 64); err == nil && d > 0 && d < 1e6 {
		wait = max(wait, time.Duration(d*float64(time.Second)))
	}
	limit, errL := strconv.ParseFloat(strings.TrimSpace(h.Get("X-RateLimit-Limit")), 64)
	rem, errR := strconv.ParseFloat(strings.TrimSpace(h.Get("X-RateLimit-Remaining")), 64)
	if errL == nil && errR == nil && limit > 0 && rem >= 0 && rem < limit*lowRemaining {
		spread := time.Second // no reset named: one request a second
		if reset, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil {
			if until := time.Unix(reset, 0).Sub(now); until > 0 {
				spread = until / time.Duration(rem+1)
			}
		}
		wait = max(wait, spread)
	}
	return wait
}

// observe records in the pacer the wait resp asks for (capped at MaxRetryAfter).
func (t *Transport) observe(ctx context.Context, key string, resp *http.Response) {
	now := t.opts.Now()
	wait := min(PaceFor(resp, now), t.opts.MaxRetryAfter)
	if wait <= 0 {
		return
	}
	_, err := bounded(context.WithoutCancel(ctx), func(ctx context.Context) (struct{}, error) {
		return struct{}{}, t.opts.Pacer.Defer(ctx, key, now.Add(wait))
	})
	if err != nil {
		t.opts.Logger.WarnContext(ctx, "could not record an Azure DevOps pacing delay", "key", key, "err", err)
	}
}

// pace waits until key may send. A wait past ctx's deadline fails at once with
// RateLimitedError; a pacer failure is logged and the request goes unpaced.
func (t *Transport) pace(ctx context.Context, key string) error {
	if key == "" || t.opts.Pacer == nil {
		return nil
	}
	nb, err := bounded(ctx, func(ctx context.Context) (time.Time, error) { return t.opts.Pacer.NotBefore(ctx, key) })
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t.opts.Logger.WarnContext(ctx, "could not read an Azure DevOps pacing delay; sending unpaced", "key", key, "err", err)
		return nil
	}
	now := t.opts.Now()
	wait := min(nb.Sub(now), t.opts.MaxRetryAfter)
	if wait <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(wait).After(dl) {
		return RateLimitedError(wait)
	}
	return sleep(ctx, wait)
}

// pacerTimeout bounds each Pacer call of the transport; past it the request goes unpaced
// (NotBefore) or the delay is not recorded (Defer), as on a pacer error.
const pacerTimeout = time.Second

// bounded runs call with ctx bounded by pacerTimeout and returns its result, or the bound's
// error when that ends first: go-redis does not cut a command at its context's deadline
// (ContextTimeoutEnabled off; only its read timeout does), so a Redis that accepts commands
// and never answers would otherwise hold every request of the connection. The call left
// behind ends with the Redis client's read timeout.
func bounded[T any](ctx context.Context, call func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, pacerTimeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := call(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("resilience: the pacer did not answer within %v: %w", pacerTimeout, ctx.Err())
	}
}

// Memory is an in-process Pacer: a map of keys to not-before times, pruned of past entries
// when it passes maxKeys. Safe for concurrent use. The zero value is not usable; use
// NewMemory.
type Memory struct {
	mu      sync.Mutex
	until   map[string]time.Time
	maxKeys int
	now     func() time.Time
}

var _ Pacer = (*Memory)(nil)

// NewMemory returns an empty in-process pacer; now nil means time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{until: map[string]time.Time{}, maxKeys: 4096, now: now}
}

// NotBefore implements Pacer; it never fails.
func (m *Memory) NotBefore(_ context.Context, key string) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.until[key], nil
}

// Defer implements Pacer (max semantics); it never fails.
func (m *Memory) Defer(_ context.Context, key string, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.After(m.until[key]) {
		m.until[key] = t
	}
	if len(m.until) > m.maxKeys {
		now := m.now()
		for k, u := range m.until {
			if !u.After(now) {
				delete(m.until, k)
			}
		}
	}
	return nil
}
