package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

// profileView is a build profile as the API answers it: the stored record without the sealed
// hook password, with the hook's URL, state and last delivery, and the hook's credential
// once, when it was just created or rotated.
//
//	{"id", "name", ..., "triggers": {"push": {"branches": [...]}, "pullRequest": {...}},
//	 "hook": {"url", "user", "state": "manual", "lastDeliveryAt"?, "password"? (once)}}
//
// "workspace" is always answered: "fresh" or "reuse" ("fresh" for profiles saved before the
// setting existed).
type profileView struct {
	*store.BuildProfile
	Workspace string    `json:"workspace"`
	Hook      *hookView `json:"hook,omitempty"`
}

// With subscriptions (services/subscriptions.go) the hook also answers "reason" (why the
// manual setup), "subscriptions": [{"id", "eventType", "branch"?, "status"?}], "events" (the
// event types to pick in the manual setup), and for an OAuth connection without
// vso.hooks_write "needsScope" and "reauthorize" (the path to re-authorize with that scope
// added). state is "subscribed", "manual" or "failing".
type hookView struct {
	URL            string                   `json:"url"`
	User           string                   `json:"user"`
	State          string                   `json:"state"`
	Reason         string                   `json:"reason,omitempty"`
	LastDeliveryAt *time.Time               `json:"lastDeliveryAt,omitempty"`
	Password       string                   `json:"password,omitempty"`
	Subscriptions  []store.HookSubscription `json:"subscriptions,omitempty"`
	Events         []string                 `json:"events,omitempty"`
	NeedsScope     string                   `json:"needsScope,omitempty"`
	Reauthorize    string                   `json:"reauthorize,omitempty"`
	// ReauthorizeScopes: the body to POST there is {"oauth": {"scopes": ReauthorizeScopes}}.
	ReauthorizeScopes []string `json:"reauthorizeScopes,omitempty"`
}

// hookPath is the path of a hook's endpoint below the public URL.
func hookPath(id string) string { return services.HookURLPath(id) }

// hookContext is the request's context carrying the public URL the subscriptions deliver to.
func (h *handlers) hookContext(c echo.Context, ctx context.Context) context.Context {
	return services.WithHookBase(ctx, h.publicBase(c))
}

// publicBase is the service's public URL: Options.PublicURL, else the request's scheme and
// host.
func (h *handlers) publicBase(c echo.Context) string {
	if h.publicURL != "" {
		return strings.TrimRight(h.publicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

func (h *handlers) view(c echo.Context, p *store.BuildProfile, cred *services.HookCredential) profileView {
	return h.viewOf(c, p, cred, h.svc.HookStateOf(c.Request().Context(), p))
}

// checkedView is view with the hook's subscriptions checked and repaired (GET of a profile).
func (h *handlers) checkedView(c echo.Context, p *store.BuildProfile) profileView {
	return h.viewOf(c, p, nil, h.svc.CheckHookState(h.hookContext(c, c.Request().Context()), p))
}

func (h *handlers) viewOf(c echo.Context, p *store.BuildProfile, cred *services.HookCredential, hs *services.HookState) profileView {
	v := profileView{BuildProfile: p, Workspace: services.WorkspaceOf(p)}
	if hs != nil {
		v.Hook = &hookView{URL: h.publicBase(c) + hookPath(hs.ID), User: hs.User, State: hs.State, LastDeliveryAt: hs.LastDeliveryAt,
			Reason: hs.Reason, Subscriptions: hs.Subscriptions, Events: hs.Events, NeedsScope: hs.NeedsScope, Reauthorize: hs.Reauthorize,
			ReauthorizeScopes: hs.ReauthorizeScopes}
		if cred != nil && cred.HookID == hs.ID {
			v.Hook.Password = cred.Password
		}
	}
	return v
}

// patchProfileBody is PATCH /api/v1/build-profiles/{id}'s body; Triggers is kept raw to tell
// null (turn every trigger off) from absent.
type patchProfileBody struct {
	Name     *string         `json:"name"`
	Branch   *string         `json:"branch"`
	Triggers json.RawMessage `json:"triggers"`
	// ServiceEndpoints: a list of ids replaces the profile's; null or [] drops them.
	ServiceEndpoints json.RawMessage `json:"serviceEndpoints"`
	// Workspace: "fresh" or "reuse" (services.WorkspaceFresh, WorkspaceReuse).
	Workspace *string `json:"workspace"`
}

// patchBuildProfile: PATCH /api/v1/build-profiles/{id} {"name"?, "branch"?, "triggers"?,
// "serviceEndpoints"?, "workspace"?: "fresh"|"reuse"} →
// 200 with the profile (its hook's password once, when the first trigger created the hook).
// Everything is checked before anything is stored: 400 naming the field
// (triggers.push.branches[1], workspace, ...), 404, 409 for a concurrent update.
func (h *handlers) patchBuildProfile(c echo.Context) error {
	var body patchProfileBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	in := services.BuildProfilePatch{Name: body.Name, Branch: body.Branch, Workspace: body.Workspace}
	if len(body.Triggers) > 0 {
		if string(bytes.TrimSpace(body.Triggers)) == "null" {
			in.ClearTriggers = true
		} else {
			var t services.TriggersInput
			dec := json.NewDecoder(bytes.NewReader(body.Triggers))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&t); err != nil {
				return bodyError("triggers", "triggers must be {\"push\"?: {\"branches\": [...]}, \"pullRequest\"?: {\"branches\": [...]}}: "+triggersDecodeHint(err))
			}
			in.Triggers = &t
		}
	}
	if len(body.ServiceEndpoints) > 0 {
		var ids []string
		if err := json.Unmarshal(body.ServiceEndpoints, &ids); err != nil {
			return bodyError("serviceEndpoints", "serviceEndpoints must be a list of service endpoint ids (strings), or null")
		}
		if ids == nil {
			ids = []string{}
		}
		in.ServiceEndpoints = &ids
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	p, cred, err := h.svc.UpdateBuildProfile(h.hookContext(c, ctx), tenantOf(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.view(c, p, cred))
}

func triggersDecodeHint(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return "the field " + typ.Field + " has the wrong type"
	}
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "not valid JSON"
}

// rotateHook: POST /api/v1/build-profiles/{id}/hook/rotate → 200 with the profile and the
// new hook URL and password (shown this once); the old URL and password stop working.
func (h *handlers) rotateHook(c echo.Context) error {
	p, cred, err := h.svc.RotateHook(h.hookContext(c, c.Request().Context()), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.view(c, p, cred))
}

// listRuns: GET /api/v1/build-profiles/{id}/runs[?limit=&after=] → {count, value, next?},
// newest first.
func (h *handlers) listRuns(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	rs, next, err := h.svc.ListRuns(c.Request().Context(), tenantOf(c), c.Param("id"), limit, c.QueryParam("after"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pageOf(rs, next))
}

// getRun: GET /api/v1/runs/{id} → the run.
func (h *handlers) getRun(c echo.Context) error {
	r, err := h.svc.GetRun(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// startRun: POST /api/v1/build-profiles/{id}/runs {"commit"?, "force"?} → 202 with the run
// (kind manual) and Location: /api/v1/runs/{runId}: Clone now as a run. While another run of
// the profile is queued or running it answers 409 problem code run_active, field force, a
// detail naming the active run and a Link header to it (linkActiveRun), unless "force":
// true; of two concurrent starts (a double click) one is answered 409, on one instance or
// several.
func (h *handlers) startRun(c echo.Context) error {
	var in services.RunInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.StartRun(c.Request().Context(), tenantOf(c), c.Param("id"), in)
	if err != nil {
		return linkActiveRun(c, err)
	}
	c.Response().Header().Set("Location", "/api/v1/runs/"+r.ID)
	return c.JSON(http.StatusAccepted, r)
}

// hookDelivery: POST /hooks/azure-devops/{hookId}, outside /api/v1: no API key, the hook's
// Basic credential authenticates. Answers:
//
//   - 401 with an empty problem body (nothing about the hook or the delivery) when the hook
//     id or the credential is wrong; nothing stored, nothing logged of the payload;
//   - 413 hook_payload_too_large past the body bound; 400 hook_payload_invalid;
//     422 hook_repository_mismatch when the delivery names another repository or project;
//   - 202 {"runs": [{"id", ...}]} when runs started, 200 {"ignored": "<reason>"} otherwise
//     (duplicate_event, branch_not_matched, ref_deleted, no_matching_trigger, ...).
func (h *handlers) hookDelivery(c echo.Context) error {
	user, password, ok := c.Request().BasicAuth()
	if !ok {
		return hookUnauthorized(c)
	}
	res, err := h.svc.HandleHookDelivery(c.Request().Context(), c.Param("hookId"), user, password, c.Request().Body)
	if errors.Is(err, services.ErrHookUnauthorized) {
		return hookUnauthorized(c)
	}
	if err != nil {
		return err
	}
	if len(res.Runs) == 0 {
		return c.JSON(http.StatusOK, res)
	}
	return c.JSON(http.StatusAccepted, res)
}

// hookUnauthorized answers 401 with an empty problem body and a Basic challenge.
func hookUnauthorized(c echo.Context) error {
	c.Response().Header().Set("WWW-Authenticate", `Basic realm="repoconnect hook"`)
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(http.StatusUnauthorized)
	_, err := c.Response().Write([]byte("{}"))
	return err
}

// checkHook: GET /api/v1/build-profiles/{id}/hook/check[?since=RFC 3339 time] →
// {"delivered": bool, "lastDeliveryAt"?}: whether a delivery passed the hook's credential
// check at or after since (any delivery when since is absent). The manual setup's "did a test
// delivery arrive" button. 400 (field since) for a bad time, 404 for an unknown profile or one
// without a hook.
func (h *handlers) checkHook(c echo.Context) error {
	var since time.Time
	if raw := c.QueryParam("since"); raw != "" {
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return bodyError("since", "since must be an RFC 3339 time, such as 2026-12-07T01:02:03Z")
		}
		since = t
	}
	ok, at, err := h.svc.HookDelivered(c.Request().Context(), tenantOf(c), c.Param("id"), since)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"delivered": ok, "lastDeliveryAt": at})
}

// linkActiveRun returns err, and when it is the run guard's refusal (409 run_active) of an
// active run, sends the run's path as a Link header (rel "related"), so that an API client
// finds the run without reading the detail: Link: </api/v1/runs/{id}>; rel="related".
func linkActiveRun(c echo.Context, err error) error {
	var ra *services.RunActiveError
	if errors.As(err, &ra) && ra.RunID != "" {
		c.Response().Header().Set("Link", "</api/v1/runs/"+ra.RunID+`>; rel="related"`)
	}
	return err
}
