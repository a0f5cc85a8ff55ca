// Package resilience absorbs Azure DevOps faults for any HTTP client: NewTransport wraps a
// base http.RoundTripper so that idempotent requests are retried with jittered exponential
// backoff on 429, 500, 502, 503, 504 and reset connections, Retry-After is honoured up to a
// cap and within the request's deadline, and a Pacer slows every later request of the same
// connection (the key carried by WithKey) when Azure DevOps asks for it, even on a 200.
//
// Azure DevOps throttles per identity: 200 TSTUs per sliding 5-minute window; requests are
// delayed (up to 30 s) and then blocked with 429 TF400733. Retry-After may arrive on any
// answer and must be honoured before the next call for that identity; X-RateLimit-Limit,
// -Remaining, -Reset and -Delay smooth bursts (docs/azure-devops-protocol.md §8; Microsoft Learn,
// "Rate and usage limits", https://learn.microsoft.com/azure/devops/integrate/concepts/rate-limits).
//
// When retries run out the transport returns (as the round trip's error) a
// *connections.Error of kind connections.ErrRateLimited (reason rate_limited) or
// connections.ErrUpstreamUnavailable (reason azure_devops_unavailable) whose RetryAfter says
// when to try again; connections.RecognizeTransport passes it through unchanged, so the REST
// client and the clone engine report it as is and the web layer answers 429 or 503 with a
// Retry-After header.
//
// The package depends on nothing but the standard library, package connections and
// cenkalti/backoff, so it composes above any transport (the outbound policy's, a test's).
package resilience
