package resilience

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Defaults of Options.
const (
	// DefaultMaxAttempts is how many times a retryable request is sent at most (the first
	// attempt included).
	DefaultMaxAttempts = 4
	// DefaultMaxRetryAfter caps a Retry-After (and a pacing delay) the transport honours; Azure
	// DevOps delays throttled requests by up to 30 s (docs/azure-devops-protocol.md §8).
	DefaultMaxRetryAfter = 30 * time.Second
	// DefaultInitialInterval is the first backoff wait before jitter.
	DefaultInitialInterval = 500 * time.Millisecond
	// DefaultMaxInterval caps one backoff wait.
	DefaultMaxInterval = 8 * time.Second
	// DefaultRetryAfter is the RetryAfter of the final error when Azure DevOps named none.
	DefaultRetryAfter = 30 * time.Second
)

// maxDrain bounds how much of a retried answer's body is read so that its connection can be
// reused (bytes); a longer body is closed unread.
const maxDrain = 64 << 10

// Options configures NewTransport. The zero value gives the defaults above and no pacing.
type Options struct {
	// MaxAttempts bounds the attempts of one retryable request (first one included); 0 means
	// DefaultMaxAttempts, 1 disables retries.
	MaxAttempts int
	// MaxRetryAfter caps a Retry-After or pacing delay honoured; 0 means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// InitialInterval and MaxInterval shape the jittered exponential backoff (factor 2,
	// randomization ±50 %) used when the answer names no Retry-After; 0 means the defaults.
	InitialInterval, MaxInterval time.Duration
	// DefaultRetryAfter is the final error's RetryAfter when Azure DevOps named none; 0 means
	// DefaultRetryAfter. A Retry-After Azure DevOps did name is passed on uncapped.
	DefaultRetryAfter time.Duration
	// Pacer records, per key (see WithKey), when the next request may be sent; nil disables
	// pacing (retries still work). Requests without a key are not paced.
	Pacer Pacer
	// Logger receives one debug line per retry and a warning when the pacer fails; nil
	// discards. Lines carry method, host, status and attempt, never URLs with credentials.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if o.InitialInterval <= 0 {
		o.InitialInterval = DefaultInitialInterval
	}
	if o.MaxInterval <= 0 {
		o.MaxInterval = DefaultMaxInterval
	}
	if o.DefaultRetryAfter <= 0 {
		o.DefaultRetryAfter = DefaultRetryAfter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Transport is the retrying, pacing round tripper NewTransport returns.
type Transport struct {
	base http.RoundTripper
	opts Options
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a round tripper that sends requests through base (nil means
// http.DefaultTransport) and:
//   - before each attempt waits until the request's pacing key (WithKey) may send again,
//     failing at once with ErrRateLimited when that is past the context's deadline;
//   - after each answer lets the pacer observe its Retry-After and X-RateLimit-* headers;
//   - retries idempotent requests (GET, HEAD, and git's POST …/git-upload-pack when
//     req.GetBody can replay the body) on 429, 500, 502, 503, 504 and on a connection reset
//     or EOF before an answer, at most MaxAttempts times, waiting Retry-After or a jittered
//     exponential backoff, never past the context's deadline (a Retry-After above
//     MaxRetryAfter, or one that ends past the deadline, stops the retries at once);
//   - returns, when retries run out, a *connections.Error (ErrRateLimited or
//     ErrUpstreamUnavailable) with RetryAfter set, as the round trip's error.
//
// A git-upload-pack request is retried only on a status answer or a failure before the
// answer: the transport never hands a body to its caller and then retries, so no pack byte
// has been read when it retries. Other POSTs, PUTs, PATCHes and DELETEs are never retried.
// Bodies of retried answers are drained (up to 64 KiB) and closed.
func NewTransport(base http.RoundTripper, opts Options) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, opts: opts.withDefaults()}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	key := KeyFrom(ctx)
	retryable := Idempotent(req)
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = t.opts.InitialInterval, t.opts.MaxInterval
	var last failure
	for attempt := 1; ; attempt++ {
		if err := t.pace(ctx, key); err != nil {
			return nil, err
		}
		r := req
		if attempt > 1 {
			var err error
			if r, err = rewind(req); err != nil {
				return nil, err
			}
		}
		resp, err := t.base.RoundTrip(r)
		if resp != nil && key != "" && t.opts.Pacer != nil {
			t.observe(ctx, key, resp)
		}
		f, fault := classify(resp, err)
		if !fault || !retryable || ctx.Err() != nil {
			return resp, err
		}
		f.retryAfter = retryAfter(resp, t.opts.Now())
		last = f
		wait := bo.NextBackOff()
		if f.retryAfter > 0 {
			wait = min(f.retryAfter, t.opts.MaxRetryAfter)
		}
		// A Retry-After beyond the cap is not worth waiting for here: the caller is told.
		stop := attempt >= t.opts.MaxAttempts || f.retryAfter > t.opts.MaxRetryAfter
		if dl, ok := ctx.Deadline(); ok && !stop && t.opts.Now().Add(wait).After(dl) {
			stop = true
		}
		discard(resp)
		if stop {
			return nil, t.exhausted(req, last, attempt)
		}
		t.opts.Logger.DebugContext(ctx, "azure devops request retried", "method", req.Method,
			"host", req.URL.Host, "status", f.status, "reset", f.status == 0, "attempt", attempt, "wait", wait)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// CloseIdleConnections closes the base transport's idle connections, when it has any
// (http.Client.CloseIdleConnections reaches the base through this).
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Idempotent reports whether req may be sent again after a fault: GET and HEAD, and git's
// POST …/git-upload-pack (a read: the negotiation request) when its body can be replayed
// (req.GetBody set, or no body).
func Idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	case http.MethodPost:
		return strings.HasSuffix(req.URL.Path, "/git-upload-pack") &&
			(req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	}
	return false
}

// rewind returns a copy of req with a fresh body for another attempt.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}

// discard drains and closes a retried answer's body.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	_ = resp.Body.Close()
}

// sleep waits d or until ctx ends (its error).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
