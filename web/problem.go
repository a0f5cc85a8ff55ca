package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

// Problem is an RFC 9457 problem details body, sent as application/problem+json.
//
// Code is a stable machine-readable reason (e.g. "invalid_token", "invalid_input"); Field names
// the request field at fault, when there is one; Steps carries a failed token check's diagnosis;
// Checks carries a failed /readyz's checks; RequestID is the request's id (the X-Request-Id
// header of the answer), to quote to an operator, who finds it in every log line of the
// request.
type Problem struct {
	Type   string                  `json:"type"`
	Title  string                  `json:"title"`
	Status int                     `json:"status"`
	Detail string                  `json:"detail,omitempty"`
	Code   string                  `json:"code,omitempty"`
	Field  string                  `json:"field,omitempty"`
	Errors []FieldProblem          `json:"errors,omitempty"`
	Steps  []connections.CheckStep `json:"steps,omitempty"`
	Checks []CheckOutcome          `json:"checks,omitempty"`
	// RequestID is filled by writeProblem from the request's context.
	RequestID string `json:"requestId,omitempty"`
	// RetryAfter, when > 0, is sent as the Retry-After header (whole seconds, RFC 9110
	// §10.2.3), not in the body.
	RetryAfter int `json:"-"`
}

// FieldProblem names one field and what to fix in it.
type FieldProblem struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// statusClientClosedRequest is the de-facto status (nginx's 499) of a request whose client went
// away; nobody reads it, but logs and metrics do.
const statusClientClosedRequest = 499

// storeRetryAfter is the Retry-After, in seconds, of a store_unavailable answer: long enough
// for go-redis to reconnect after Redis restarts or a Sentinel/Cluster failover completes.
const storeRetryAfter = 5

// storeUnavailable is the answer to store.ErrUnavailable (API, pages and /healthz alike).
func storeUnavailable() Problem {
	return Problem{Status: http.StatusServiceUnavailable, Title: "Store unavailable", Code: "store_unavailable",
		RetryAfter: storeRetryAfter,
		Detail: "the store (Redis) is unavailable: it is down, restarting or failing over; try again in a few seconds " +
			"(see Retry-After); a change sent now may or may not have been saved, so read it back before sending it again"}
}

// problemFor is the one place where errors become HTTP statuses and problem bodies. Internal
// errors are answered with a generic 500 whose detail carries no internals.
func problemFor(err error) Problem {
	var (
		check   *services.CheckFailedError
		he      *echo.HTTPError
		limited *services.RateLimitedError
	)
	ce := connections.AsError(err)
	switch {
	case errors.Is(err, store.ErrUnavailable): // before DeadlineExceeded: a dial timeout wraps both
		return storeUnavailable()
	case errors.Is(err, context.DeadlineExceeded):
		return Problem{Status: http.StatusGatewayTimeout, Title: "Timeout", Code: "timeout",
			Detail: "Azure DevOps did not finish answering in time; try again, or check the server's load"}
	case errors.Is(err, services.ErrCloneCancelled):
		return Problem{Status: statusClientClosedRequest, Title: "Clone cancelled", Code: "cancelled",
			Detail: "the clone was cancelled before it finished; nothing of it was kept"}
	case errors.Is(err, services.ErrClonesStopped):
		return Problem{Status: statusClientClosedRequest, Title: "Clone cancelled", Code: "cancelled",
			Detail: "the instance running the clone shut down before it finished; start the clone again"}
	case errors.Is(err, services.ErrCloneLost):
		return Problem{Status: http.StatusServiceUnavailable, Title: "Clone lost", Code: "clone_lost",
			Detail: "the instance running the clone stopped answering before it finished; start the clone again"}
	case errors.Is(err, context.Canceled):
		return Problem{Status: statusClientClosedRequest, Title: "Request cancelled", Code: "cancelled",
			Detail: "the request was cancelled before it finished"}
	case errors.As(err, &limited):
		return Problem{Status: http.StatusTooManyRequests, Title: "Too many requests", Code: "rate_limited",
			Detail:     limited.Error() + " (see Retry-After); the operator sets the limits per tenant",
			RetryAfter: retryAfterSeconds(limited.RetryAfter)}
	case errors.As(err, &check):
		return Problem{Status: http.StatusUnprocessableEntity, Title: "The token check failed",
			Code: string(check.Result.Reason), Detail: check.Result.Message, Field: check.Field(), Steps: check.Result.Steps}
	case errors.Is(err, store.ErrConflict):
		p := Problem{Status: http.StatusConflict, Title: "Conflict", Code: "conflict", Detail: "a record with that name exists already"}
		if ce != nil {
			p.Detail, p.Field = ce.Message, ce.Field
		}
		return p
	case errors.Is(err, store.ErrStale):
		return Problem{Status: http.StatusConflict, Title: "Changed concurrently", Code: "stale",
			Detail: "the record changed while this request updated it; read it again and send the change again"}
	case errors.Is(err, store.ErrInvalid):
		return Problem{Status: http.StatusBadRequest, Title: "Invalid request", Code: "invalid_input",
			Detail: "the record is incomplete or holds a NUL character"}
	case errors.Is(err, store.ErrNotFound):
		return Problem{Status: http.StatusNotFound, Title: "Not found", Code: "not_found", Detail: "no such record"}
	case errors.Is(err, services.ErrInvalidAPIKey):
		return Problem{Status: http.StatusUnauthorized, Title: "Unauthorized", Code: "unauthorized",
			Detail: "send a valid API key as 'Authorization: Bearer <key>'; create one with 'repoconnect apikey create'"}
	case errors.As(err, &he):
		return httpErrorProblem(he)
	case ce != nil:
		return forgeProblem(ce)
	}
	return Problem{Status: http.StatusInternalServerError, Title: "Internal error", Code: "internal",
		Detail: "the service failed unexpectedly; the error is in the service log"}
}

// forgeProblem maps the error categories of package connections.
func forgeProblem(ce *connections.Error) Problem {
	p := Problem{Code: string(ce.Reason), Detail: ce.Message, Field: ce.Field}
	switch ce.Kind {
	case connections.ErrInvalidInput:
		p.Status, p.Title = http.StatusBadRequest, "Invalid request"
		if title, ok := cloneLimitTitles[ce.Reason]; ok { // the request was fine; the repository is not
			p.Status, p.Title = http.StatusUnprocessableEntity, title
		}
		switch ce.Reason {
		case services.ReasonHookMismatch: // the delivery was well formed, for another repository
			p.Status, p.Title = http.StatusUnprocessableEntity, "The delivery is about another repository"
		case services.ReasonHookPayloadTooLarge:
			p.Status, p.Title = http.StatusRequestEntityTooLarge, "Delivery too large"
		}
		if ce.Field != "" {
			p.Errors = []FieldProblem{{Field: ce.Field, Detail: ce.Message}}
		}
	case connections.ErrNotFound:
		p.Status, p.Title = http.StatusNotFound, "Not found"
	case connections.ErrUnauthorized, connections.ErrForbidden, connections.ErrServerTooOld,
		connections.ErrPolicyDisabled, connections.ErrScopeMismatch:
		p.Status, p.Title = http.StatusUnprocessableEntity, "Azure DevOps refused the connection's credential"
	case connections.ErrRateLimited:
		p.Status, p.Title = http.StatusTooManyRequests, "Azure DevOps is throttling this connection"
		p.RetryAfter = retryAfterSeconds(ce.RetryAfter)
	case connections.ErrUpstreamUnavailable:
		p.Status, p.Title = http.StatusServiceUnavailable, "Azure DevOps is unavailable"
		p.RetryAfter = retryAfterSeconds(ce.RetryAfter)
	case connections.ErrDestinationNotAllowed: // the outbound policy (connections/egress)
		p.Status, p.Title = http.StatusUnprocessableEntity, "The destination is not allowed"
	case connections.ErrHostKey: // SSH host key changed or not confirmed: accept it first
		p.Status, p.Title = http.StatusConflict, "The SSH host key is not the one trusted"
	case connections.ErrRunActive: // the run guard (services/runguard.go): wait, or force
		p.Status, p.Title = http.StatusConflict, "A run of this build profile is already active"
	default: // unreachable, tls, protocol
		p.Status, p.Title = http.StatusBadGateway, "Azure DevOps could not be used"
	}
	return p
}

// defaultRetryAfter is the Retry-After (seconds) of a 429 or 503 from Azure DevOps when the
// error carries none (resilience.DefaultRetryAfter).
const defaultRetryAfter = 30

// retryAfterSeconds is d in whole seconds, rounded up; defaultRetryAfter when d is unknown.
func retryAfterSeconds(d time.Duration) int {
	if d <= 0 {
		return defaultRetryAfter
	}
	return int((d + time.Second - 1) / time.Second)
}

// cloneLimitTitles are the titles of the clone limits (gitops.CloneOptions), each answered
// 422 with its own code; the detail names the setting that raises the limit.
var cloneLimitTitles = map[connections.Reason]string{
	connections.ReasonTooLarge:             "The repository is larger than the clone size limit",
	connections.ReasonWorkTreeTooLarge:     "The work tree is larger than the clone size limit",
	connections.ReasonTooManyFiles:         "The work tree has more files than the clone file limit",
	connections.ReasonObjectTooLarge:       "The repository has an object larger than the object size limit",
	connections.ReasonDiskSpaceLow:         "The clone's disk is below its free-space reserve",
	connections.ReasonMemoryBudgetExceeded: "An object needs more memory than the clones' memory budget",
}

// httpErrorCodes are the codes of the statuses echo and its middleware answer themselves
// (routing, body limit, binding), so that every problem body has a code.
var httpErrorCodes = map[int]string{
	http.StatusBadRequest:            "invalid_input",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestTimeout:        "timeout",
	http.StatusRequestEntityTooLarge: "body_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusServiceUnavailable:    "unavailable",
}

// httpErrorProblem is the problem of an *echo.HTTPError: its status and message, a code by
// status (httpErrorCodes; else "http_<status>"), and for the statuses echo answers by itself
// a detail that says what to fix.
func httpErrorProblem(he *echo.HTTPError) Problem {
	p := Problem{Status: he.Code, Title: http.StatusText(he.Code), Detail: messageOf(he), Code: httpErrorCodes[he.Code]}
	if p.Code == "" {
		p.Code = "http_" + strconv.Itoa(he.Code)
	}
	if p.Title == "" {
		p.Title = "Error"
	}
	switch {
	case he == echo.ErrNotFound || (he.Code == http.StatusNotFound && he.Message == http.StatusText(http.StatusNotFound)):
		p.Detail = "no such path; the API's paths and methods are listed in its OpenAPI document, GET /api/v1/openapi.json"
	case he.Code == http.StatusMethodNotAllowed:
		p.Detail = "this path does not take this method; the methods it takes are in the Allow header, and the API's paths and methods in GET /api/v1/openapi.json"
	case he.Code == http.StatusRequestEntityTooLarge:
		p.Detail = "the request body is larger than 1 MiB, the bound of API requests; send a smaller body"
	case he.Code == http.StatusUnsupportedMediaType:
		p.Detail = "send the body as JSON with 'Content-Type: application/json'"
	}
	return p
}

func messageOf(he *echo.HTTPError) string {
	if s, ok := he.Message.(string); ok {
		return s
	}
	return http.StatusText(he.Code)
}

// problemType is p's type URI: its own, else urn:repoconnect:problem:{code}, else
// about:blank (RFC 9457 §4.2.1).
func problemType(p Problem) string {
	switch {
	case p.Type != "":
		return p.Type
	case p.Code != "":
		return "urn:repoconnect:problem:" + p.Code
	}
	return "about:blank"
}

// writeProblem sends p with the problem+json media type (RFC 9457), with the request's id.
func writeProblem(c echo.Context, p Problem) error {
	setRetryAfter(c, p)
	return sendProblem(c.Response(), c.Request(), p)
}

// sendProblem writes p to w with its type and r's request id: application/problem+json, the
// status p.Status, the body as a reader would write it (no \u003c for "<": details quote
// server messages and "Bearer <key>").
func sendProblem(w http.ResponseWriter, r *http.Request, p Problem) error {
	p.Type = problemType(p)
	p.RequestID = RequestID(r.Context())
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return err
	}
	w.Header().Set(echo.HeaderContentType, "application/problem+json")
	w.WriteHeader(p.Status)
	_, err := w.Write(bytes.TrimSuffix(body.Bytes(), []byte("\n")))
	return err
}

// setRetryAfter sends p.RetryAfter, when > 0, as the Retry-After header (whole seconds): on
// problem bodies, pages and the OAuth callback alike, so a client or proxy knows when to retry.
func setRetryAfter(c echo.Context, p Problem) {
	if p.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
}

// crossOriginRefused answers a state-changing request that http.CrossOriginProtection refused
// (another site's form or script posting to a page of the UI): 403 problem+json, code
// cross_origin_refused, with the request's id.
func crossOriginRefused(w http.ResponseWriter, r *http.Request) {
	p := Problem{Status: http.StatusForbidden, Title: "Cross-origin request refused", Code: "cross_origin_refused",
		Detail: "the browser said this request came from another site (Sec-Fetch-Site or Origin), and the pages take changes only from their own origin; submit the form from the service's own pages"}
	_ = sendProblem(w, r, p) // a Problem always encodes; a failed write is the client's going
}
