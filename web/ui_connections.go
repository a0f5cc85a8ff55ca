package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
)

// uiPageSize is the number of connections or build profiles on one page of a list.
const uiPageSize = 50

type connectionsData struct {
	Connections []*services.Connection
	Next        string
}

// connectionsPage: GET /ui/connections[?after=] lists the tenant's connections with their
// status, the time of the last check and their actions.
func (u *ui) connectionsPage(c echo.Context) error {
	cs, next, err := u.svc.ListConnections(c.Request().Context(), tenantOf(c), uiPageSize, c.QueryParam("after"))
	if err != nil {
		return u.fail(c, err)
	}
	return u.render(c, http.StatusOK, "connections", "", "Connections", "connections", connectionsData{Connections: cs, Next: next})
}

// connectionData is the connection page: the connection, the outcome of a check just made
// (Check, nil otherwise) and a notice after an action.
type connectionData struct {
	Conn   *services.Connection
	Check  *connections.CheckResult
	Notice string
	Scopes []services.Scope
	Error  *Problem
	// LegacyOAuth: the connection carries the legacy_oauth_app warning, so the page offers
	// the move to Microsoft Entra ID; EntraConfigured: the operator has an Entra app to move
	// to (otherwise the page says the operator must configure one).
	LegacyOAuth     bool
	EntraConfigured bool
}

// withMove fills the fields of the move to Microsoft Entra ID.
func (u *ui) withMove(d connectionData) connectionData {
	for _, w := range d.Conn.Warnings {
		if w.Code == services.WarningLegacyOAuthApp {
			d.LegacyOAuth = true
		}
	}
	d.EntraConfigured = u.svc.EntraConfigured()
	return d
}

// connectionPage: GET /ui/connections/{id}[?status=&reason=&unchanged=] shows one connection,
// its repository picker and the way to authorize more repositories. The status, reason and
// unchanged query parameters are what the OAuth callback adds when it sends the browser back
// here (unchanged=true: a sign-in with new app details failed and the connection kept its app).
func (u *ui) connectionPage(c echo.Context) error {
	conn, err := u.svc.GetConnection(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	d := u.withMove(connectionData{Conn: conn, Scopes: services.RequiredScopes()})
	switch {
	case c.QueryParam("unchanged") == "true":
		// A sign-in with new app details (e.g. the move to Entra) failed: nothing changed.
		d.Notice = "The sign-in with the new app details did not complete"
		if r := c.QueryParam("reason"); r != "" && len(r) <= 64 && strings.Trim(r, "abcdefghijklmnopqrstuvwxyz_") == "" {
			d.Notice += " (" + r + ")"
		}
		d.Notice += "; the connection was left as it was, on its previous app, and is " + conn.Status + "."
	case c.QueryParam("status") == "":
	case conn.Status == services.StatusAuthorized:
		d.Notice = "Signed in: the connection is authorized."
	default:
		d.Notice = "The sign-in did not authorize the connection; see its status below."
	}
	return u.render(c, http.StatusOK, "connection", "", conn.Name, "connections", d)
}

// reauthorize: POST /ui/connections/{id}/authorize starts a new sign-in of an OAuth
// connection (services.Authorize) and sends the browser to Azure DevOps; the callback brings
// it back to the connection page. With the form field to=entra it is the move of a connection
// on an Azure DevOps OAuth app to Microsoft Entra ID (services.MoveToEntra): the sign-in
// goes to the operator's Entra app.
func (u *ui) reauthorize(c echo.Context) error {
	id := c.Param("id")
	in := services.ReauthorizeInput{ReturnURL: "/ui/connections/" + id, BrowserNonce: signInNonce(c)}
	var (
		conn *services.Connection
		err  error
	)
	if c.FormValue("to") == "entra" {
		conn, err = u.svc.MoveToEntra(c.Request().Context(), tenantOf(c), id, in)
	} else {
		conn, err = u.svc.Authorize(c.Request().Context(), tenantOf(c), id, in)
	}
	if err != nil {
		return u.fail(c, err)
	}
	return u.toSignIn(c, conn)
}

// toSignIn sends the browser to a connection's authorization URL.
func (u *ui) toSignIn(c echo.Context, conn *services.Connection) error {
	if conn.AuthorizationURL == "" {
		return c.Redirect(http.StatusSeeOther, "/ui/connections/"+conn.ID)
	}
	return c.Redirect(http.StatusSeeOther, conn.AuthorizationURL)
}

// signInNonceCookie holds the browser's sign-in nonce. Its path is "/", not the callback's
// alone: the pages read it back, so one browser keeps one nonce across sign-ins.
const signInNonceCookie = "rc_signin"

// signInNonce returns this browser's sign-in nonce (32 random bytes, base64url), making and
// setting it when the browser has none. Sign-ins started from the pages carry its hash, and
// the callback completes them only in a browser that sends the nonce back (services
// CallbackInput.BrowserNonce). One nonce per browser, so two sign-ins in two tabs both work.
func signInNonce(c echo.Context) string {
	var n string
	if ck, err := c.Cookie(signInNonceCookie); err == nil && len(ck.Value) == 43 {
		n = ck.Value
	} else {
		var b [32]byte
		_, _ = rand.Read(b[:])
		n = base64.RawURLEncoding.EncodeToString(b[:])
	}
	// Set again even when kept: its lifetime starts anew.
	c.SetCookie(&http.Cookie{Name: signInNonceCookie, Value: n, Path: "/", MaxAge: int(BrowserNonceTTL / time.Second),
		HttpOnly: true, Secure: c.Scheme() == "https", SameSite: http.SameSiteLaxMode})
	return n
}

// BrowserNonceTTL is how long a browser keeps its sign-in nonce cookie.
const BrowserNonceTTL = 24 * time.Hour

// replacePAT: POST /ui/connections/{id}/pat {pat} replaces the PAT of a PAT connection after
// checking it (services.UpdateConnection, as PATCH /api/v1/connections/{id}): the way to let
// the connection see more repositories.
func (u *ui) replacePAT(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	tenant, id := tenantOf(c), c.Param("id")
	pat := connections.Secret(strings.TrimSpace(c.FormValue("pat")))
	conn, err := u.svc.UpdateConnection(ctx, tenant, id, services.ConnectionUpdate{PAT: &pat})
	if err != nil {
		cur, gerr := u.svc.GetConnection(ctx, tenant, id)
		if gerr != nil {
			return u.fail(c, gerr)
		}
		p := problemFor(err)
		if p.Status >= 500 || p.Status == statusClientClosedRequest {
			return u.fail(c, err)
		}
		return u.render(c, p.Status, "connection", "", cur.Name, "connections", connectionData{Conn: cur, Scopes: services.RequiredScopes(), Error: &p})
	}
	return u.render(c, http.StatusOK, "connection", "", conn.Name, "connections", connectionData{Conn: conn, Scopes: services.RequiredScopes(),
		Notice: "The new PAT passed the check and replaces the old one; the repository list is read again with it."})
}

// deletePage: GET /ui/connections/{id}/delete asks for confirmation.
func (u *ui) deletePage(c echo.Context) error {
	conn, err := u.svc.GetConnection(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	return u.render(c, http.StatusOK, "delete", "", "Delete "+conn.Name, "connections", conn)
}

// deleteConnection: POST /ui/connections/{id}/delete deletes it (services.DeleteConnection).
func (u *ui) deleteConnection(c echo.Context) error {
	if err := u.svc.DeleteConnection(c.Request().Context(), tenantOf(c), c.Param("id")); err != nil {
		return u.fail(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/ui/connections")
}

// signedIn: GET /ui/signed-in?connectionId=&status=&reason= is the returnUrl of sign-ins
// started from the pages; it opens the connection's page.
func (u *ui) signedIn(c echo.Context) error {
	id := c.QueryParam("connectionId")
	if id == "" {
		return c.Redirect(http.StatusSeeOther, "/ui/connections")
	}
	return c.Redirect(http.StatusSeeOther, "/ui/connections/"+url.PathEscape(id)+"?status="+url.QueryEscape(c.QueryParam("status")))
}
