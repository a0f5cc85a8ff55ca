package azuredevops

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/resilience"
)

// maxRequestBody bounds the JSON body of a write (bytes); statuses, threads and comments are
// far smaller (a comment's content is capped by Azure DevOps at 150,000 characters, reported).
const maxRequestBody = 1 << 20

// send is getURL for writes: method (POST, PATCH, PUT, DELETE) {collectionURL}/{path}?{query}
// with body marshalled as JSON (Content-Type application/json; nil: no body), the same headers, credential, door,
// timeout, body bound, logging (URL redacted, never the credential or the body) and error
// classification (classifyResponse) as a GET; a 2xx JSON answer is decoded into out (may be
// nil; an empty answer leaves out alone; pass lenient(&v) for a wire type). Writes are not retried by the resilience transport
// (resilience.Idempotent: GET and HEAD only), so a 500, 502, 503 or 504 answer is reported as
// ErrUpstreamUnavailable (reason azure_devops_unavailable, RetryAfter from Retry-After when
// sent) for the caller's retry policy. Errors: ErrInvalidInput for a body over maxRequestBody,
// else as getURL.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body, out any) (*response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, invalid("body", "the request body cannot be encoded: %v", err)
		}
	}
	if len(payload) > maxRequestBody {
		return nil, invalid("body", "the request body is %d bytes, more than the %d allowed", len(payload), maxRequestBody)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	rawURL := c.ep.CollectionURL() + "/" + path
	if len(query) > 0 {
		rawURL += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, invalid("serverUrl", "cannot build a request for this server URL")
	}
	c.setHeaders(req)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.log.DebugContext(ctx, "azure devops request failed", "method", method, "url", req.URL.Redacted(), "err", err)
		return nil, classifyTransport(err, c.ep, c.timeout)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, classifyTransport(err, c.ep, c.timeout)
	}
	r := &response{status: resp.StatusCode, header: resp.Header, body: answer}
	c.log.DebugContext(ctx, "azure devops request", "method", method, "url", req.URL.Redacted(),
		"status", resp.StatusCode, "ms", time.Since(start).Milliseconds(),
		"activityId", resp.Header.Get("ActivityId"), "e2eid", resp.Header.Get("X-VSS-E2EID"))
	if err := classifyResponse(r, c.ep, c.cred); err != nil {
		if r.status >= 500 && r.status <= 504 && r.status != http.StatusNotImplemented {
			// Writes are not retried by the resilience transport (not idempotent), so the
			// caller decides; tell it the upstream failed rather than "protocol error".
			e := connections.Errorf(connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable,
				"Azure DevOps failed the %s request (HTTP %d); it may be tried again", method, r.status).Wrap(err)
			e.RetryAfter = resilience.ParseRetryAfter(r.header.Get("Retry-After"), time.Now())
			return r, withRequestIDs(e, r.header)
		}
		return r, withRequestIDs(c.explainRefusal(ctx, err), r.header)
	}
	if out != nil && len(bytes.TrimSpace(answer)) > 0 {
		if err := json.Unmarshal(answer, out); err != nil {
			return r, connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
				"the server answered %s %s with JSON this client does not understand", method, req.URL.Path).Wrap(err)
		}
	}
	return r, nil
}

// previewQuery is the api-version of pull request statuses: APIVersion with -preview.1, as
// the resource is still in preview at 6.0 (vsts-rest-api-specs specification/git/6.0/git.json,
// Pull Request Statuses_Create takes api-Version-preview.1 = "6.0-preview.1").
func previewQuery() url.Values { return url.Values{"api-version": {APIVersion + "-preview.1"}} }
