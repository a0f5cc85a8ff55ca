package resilience

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/repoconnect/repoconnect/connections"
)

// failure is one retryable fault: an HTTP status (429, 5xx) or, with status 0, a reset
// connection; retryAfter is the answer's Retry-After (0 when absent).
type failure struct {
	status     int
	retryAfter time.Duration
	err        error
	header     http.Header // the failed answer's, for its ActivityId and X-VSS-E2EID
}

// classify reports whether an attempt's outcome is a retryable fault.
func classify(resp *http.Response, err error) (failure, bool) {
	if err != nil {
		if isReset(err) {
			return failure{err: err}, true
		}
		return failure{}, false
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return failure{status: resp.StatusCode, header: resp.Header}, true
	}
	return failure{}, false
}

// isReset reports whether err is a connection the server closed or reset before answering:
// ECONNRESET, EPIPE, or io.EOF / io.ErrUnexpectedEOF while reading the status line.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "server closed connection")
}

// retryAfter parses resp's Retry-After: delay-seconds or an HTTP date (RFC 9110 §10.2.3);
// 0 when absent, malformed or in the past.
func retryAfter(resp *http.Response, now time.Time) time.Duration {
	if resp == nil {
		return 0
	}
	return ParseRetryAfter(resp.Header.Get("Retry-After"), now)
}

// ParseRetryAfter parses a Retry-After value, delay-seconds ("120") or an HTTP date ("Wed,
// 21 Oct 2015 07:28:00 GMT"), relative to now (RFC 9110 §10.2.3). It returns 0 for an
// empty, malformed or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 1<<20)) * time.Second // ~12 days: a sane ceiling before capping
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// exhausted builds the error of a request whose retries ran out after attempts attempts.
func (t *Transport) exhausted(req *http.Request, f failure, attempts int) error {
	after := f.retryAfter // as Azure DevOps said, even past MaxRetryAfter: the caller waits, not us
	if after <= 0 {
		after = t.opts.DefaultRetryAfter
	}
	tries := "once"
	if attempts > 1 {
		tries = "on each of " + strconv.Itoa(attempts) + " attempts"
	}
	wait := after.Round(time.Second).String()
	var e *connections.Error
	switch {
	case f.status == http.StatusTooManyRequests:
		e = connections.Errorf(connections.ErrRateLimited, connections.ReasonRateLimited,
			"Azure DevOps is throttling this connection (HTTP 429 %s); try again in %s", tries, wait)
	case f.status != 0:
		e = connections.Errorf(connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable,
			"Azure DevOps at %s is unavailable (HTTP %d %s); try again in %s", req.URL.Hostname(), f.status, tries, wait)
	default:
		e = connections.Errorf(connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable,
			"Azure DevOps at %s closed the connection without an answer %s; try again in %s", req.URL.Hostname(), tries, wait)
	}
	e.RetryAfter = after
	e.ActivityID, e.E2EID = f.header.Get("ActivityId"), f.header.Get("X-VSS-E2EID")
	return e.Wrap(f.err)
}

// RateLimitedError is the error of a request that may not be sent before the connection's
// pacing allows it, when that is past the request's deadline: kind ErrRateLimited, reason
// rate_limited, RetryAfter wait (rounded up to a second, at least one).
func RateLimitedError(wait time.Duration) *connections.Error {
	wait = max(time.Second, (wait+time.Second-1)/time.Second*time.Second)
	e := connections.Errorf(connections.ErrRateLimited, connections.ReasonRateLimited,
		"Azure DevOps asked this connection to slow down (Retry-After or X-RateLimit headers) and the next request may not be sent within the operation's deadline; try again in %s", wait)
	e.RetryAfter = wait
	return e
}
