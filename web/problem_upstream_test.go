package web

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
)

// Azure DevOps' own refusals after retries: 503 azure_devops_unavailable and 429 rate_limited,
// each with Retry-After in whole seconds rounded up, 30 when the error names none.
func TestUpstreamProblemsCarryRetryAfter(t *testing.T) {
	unavailable := connections.Errorf(connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable, "Azure DevOps is unavailable")
	unavailable.RetryAfter = 1500 * time.Millisecond
	limited := connections.Errorf(connections.ErrRateLimited, connections.ReasonRateLimited, "Azure DevOps is throttling")
	limited.RetryAfter = 20 * time.Second
	bare := connections.Errorf(connections.ErrRateLimited, connections.ReasonRateLimited, "throttled")
	for _, c := range []struct {
		err    error
		status int
		code   string
		after  int
	}{
		{fmt.Errorf("listing projects: %w", unavailable), http.StatusServiceUnavailable, "azure_devops_unavailable", 2},
		{limited, http.StatusTooManyRequests, "rate_limited", 20},
		{bare, http.StatusTooManyRequests, "rate_limited", defaultRetryAfter},
	} {
		p := problemFor(c.err)
		if p.Status != c.status || p.Code != c.code || p.RetryAfter != c.after {
			t.Errorf("%v: %+v, want %d %s Retry-After %d", c.err, p, c.status, c.code, c.after)
		}
	}
}
