package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
)

// authorize: POST /api/v1/connections/{id}/authorize {oauth?, returnUrl?} → 200 connection with
// authorizationUrl: the re-authorize action of an OAuth connection (new app details or scopes
// optional). The answer shows the connection as it is: new app details apply only when the
// sign-in's callback succeeds (services.Authorize).
func (h *handlers) authorize(c echo.Context) error {
	var in services.ReauthorizeInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	conn, err := h.svc.Authorize(c.Request().Context(), tenantOf(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conn)
}

// deauthorize: POST /api/v1/connections/{id}/deauthorize → 200 connection (not_authorized, tokens
// deleted).
func (h *handlers) deauthorize(c echo.Context) error {
	conn, err := h.svc.Deauthorize(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conn)
}

// checkConnection: POST /api/v1/connections/{id}/check → 200 check result; the connection's
// status records the outcome.
func (h *handlers) checkConnection(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	res, err := h.svc.CheckConnection(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// statusHistory: GET /api/v1/connections/{id}/status-history → {count, value: [{at, from, to,
// reason, message}]}, oldest first.
func (h *handlers) statusHistory(c echo.Context) error {
	hs, err := h.svc.StatusHistory(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(hs))
}

// callback: GET /connector/callback?code=&state= (or ?error=&error_description=&state=), the
// redirect URI registered with the OAuth apps. It needs no API key: the single-use state names
// the tenant and the connection. A request that does carry an API key must belong to the
// state's tenant. The answer is a 303 to the sign-in's returnUrl (with connectionId, status and
// reason of the sign-in's outcome added to its query, and unchanged=true when a sign-in with
// new app details failed and left the connection as it was) or, without one, a small HTML page
// (JSON with Accept: application/json: the connection, or for such a failure the 422 problem
// of SignInOutcome.Err, code the reason) saying what happened and what to change. A refused state is a 400.
func (h *handlers) callback(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	q := c.Request().URL.Query()
	in := services.CallbackInput{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"),
		ErrorDescription: q.Get("error_description")}
	if auth := c.Request().Header.Get("Authorization"); auth != "" {
		tenant, err := h.tenantFromHeader(ctx, auth)
		if err != nil {
			return err
		}
		in.CallerTenant = tenant
	} else if ck, err := c.Cookie(sessionCookie); err == nil {
		// A browser signed in to the pages: its tenant must be the state's.
		if tenant, err := h.svc.BrowserSession(ctx, ck.Value); err == nil {
			in.CallerTenant = tenant
		}
	}
	if ck, err := c.Cookie(signInNonceCookie); err == nil {
		in.BrowserNonce = ck.Value
	}
	res, err := h.svc.CompleteSignIn(ctx, in)
	wantsJSON := strings.Contains(c.Request().Header.Get("Accept"), "application/json")
	if err != nil {
		if wantsJSON {
			return err
		}
		p := problemFor(err)
		setRetryAfter(c, p)
		return renderCallback(c, p.Status, callbackPage{Title: "Sign-in refused", Message: p.Detail})
	}
	conn, out := res.Connection, res.Outcome
	if res.ReturnURL != "" {
		if u, perr := url.Parse(res.ReturnURL); perr == nil {
			v := u.Query()
			v.Set("connectionId", conn.ID)
			v.Set("status", out.Status)
			if out.Reason != "" {
				v.Set("reason", out.Reason)
			}
			if !out.Applied {
				v.Set("unchanged", "true")
			}
			u.RawQuery = v.Encode()
			return c.Redirect(http.StatusSeeOther, u.String())
		}
	}
	if !out.Applied {
		// A sign-in with new app details failed; the connection kept its app, tokens and status.
		if wantsJSON {
			return out.Err()
		}
		msg := sentence(out.Message) + " The connection was left as it was: it keeps its previous app, its tokens and its status (" + conn.Status + ")."
		return renderCallback(c, http.StatusOK, callbackPage{Title: "The sign-in failed", Connection: conn.Name, Status: conn.Status, Message: msg})
	}
	if wantsJSON {
		return c.JSON(http.StatusOK, conn)
	}
	page := callbackPage{Title: "Connected to Azure DevOps", Connection: conn.Name, Status: conn.Status, OK: conn.Status == services.StatusAuthorized}
	if !page.OK {
		page.Title, page.Message = "The connection is not authorized", sentence(conn.StatusMessage)
		if conn.StatusReason == string(connections.ReasonAccessDenied) {
			page.Title, page.Message = "Nothing was authorized", "You declined the sign-in on Azure DevOps, so nothing was authorized."
		}
	}
	return renderCallback(c, http.StatusOK, page)
}

// tenantFromHeader resolves an optional "Bearer <API key>" on a callback.
func (h *handlers) tenantFromHeader(ctx context.Context, auth string) (string, error) {
	scheme, key, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", services.ErrInvalidAPIKey
	}
	tenant, err := h.svc.Authenticate(ctx, strings.TrimSpace(key))
	if errors.Is(err, services.ErrInvalidAPIKey) {
		return "", err
	}
	return tenant, err
}

type callbackPage struct {
	Title, Message, Connection, Status string
	OK                                 bool
}

var callbackTemplate = template.Must(template.New("callback").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>{{.Title}} · repoconnect</title></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Connection}}<p>Connection <strong>{{.Connection}}</strong>: <span data-status="{{.Status}}">{{.Status}}</span></p>{{end}}
{{if .Message}}<p role="{{if .OK}}status{{else}}alert{{end}}">{{.Message}}</p>{{end}}
<p>You can close this window.</p>
</main></body></html>
`))

func renderCallback(c echo.Context, status int, p callbackPage) error {
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	c.Response().WriteHeader(status)
	return callbackTemplate.Execute(c.Response(), p)
}
