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
	"github.com/repoconnect/repoconnect/services/store"
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
// (Check, nil otherwise), a notice after an action that succeeded, and the outcome of a
// sign-in the browser just came back from (Outcome, from the callback's query parameters).
type connectionData struct {
	Conn   *services.Connection
	Check  *connections.CheckResult
	Notice string
	// Scopes are the permissions a new PAT of the connection needs, required and optional
	// apart (services.ScopesFor of its type), for "Replace the PAT".
	Scopes  scopeSet
	Error   *Problem
	Outcome signInOutcome
	// LegacyOAuth: the connection carries the legacy_oauth_app warning, so the page offers
	// the move to Microsoft Entra ID; EntraConfigured: the operator has an Entra app to move
	// to (otherwise the page says the operator must configure one).
	LegacyOAuth     bool
	EntraConfigured bool
	// SSH is the SSH section (ui_ssh.go); its Conn nil means the section of Conn as stored.
	SSH sshData
	// Canonical is the page's own URL (/ui/connections/{id}) when it answers a POST, so
	// app.js puts it in the address bar and a reload does not post again; "" otherwise.
	Canonical string
}

// SSHSection is the data of the SSH section: SSH, or the section of Conn as stored.
func (d connectionData) SSHSection() sshData {
	if d.SSH.Conn != nil {
		return d.SSH
	}
	return sshData{Conn: d.Conn}
}

// connectionScopes is the scope lists of a connection of type t.
func connectionScopes(t string) scopeSet {
	req, opt := services.ScopesFor(t)
	return scopeSet{Type: t, Required: req, Optional: opt, Asked: services.AlsoAskedFor(t)}
}

// Warnings are the connection's warnings the page lists under About: all but the legacy
// OAuth app's when the page has its own section for the move to Microsoft Entra ID.
func (d connectionData) Warnings() []connections.Warning {
	var out []connections.Warning
	for _, w := range d.Conn.Warnings {
		if d.LegacyOAuth && w.Code == services.WarningLegacyOAuthApp {
			continue
		}
		out = append(out, w)
	}
	return out
}

func init() {
	// connState is a connection's one message for the list (conn-row): connectionData.State
	// without a sign-in outcome, so the list and the page say the same.
	uiFuncs["connState"] = func(c *services.Connection) *connState { return connectionData{Conn: c}.State() }
}

// signInOutcome is what the OAuth callback reported when it sent the browser back (web/oauth.go
// callback: status, reason, unchanged): Status is the connection's status after the sign-in
// ("" when the page was not reached from a sign-in), Reason a reason code
// (connections.Reason*, e.g. access_denied), Unchanged that a sign-in with new app details
// failed and the connection kept its app.
type signInOutcome struct {
	Status    string
	Reason    string
	Unchanged bool
}

// outcomeOf reads the callback's query parameters; a reason that is not a plain code
// (lower-case letters and underscores, at most 64) is dropped.
func outcomeOf(q url.Values) signInOutcome {
	o := signInOutcome{Status: q.Get("status"), Reason: q.Get("reason"), Unchanged: q.Get("unchanged") == "true"}
	if !plainCode(o.Status) {
		o.Status = ""
	}
	if !plainCode(o.Reason) {
		o.Reason = ""
	}
	return o
}

// plainCode reports whether s is a code of the service: 1 to 64 lower-case letters and
// underscores.
func plainCode(s string) bool {
	return s != "" && len(s) <= 64 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz_") == ""
}

// connState is the one message the connection page shows about the connection's state:
// what is wrong (or that a sign-in just succeeded) and the one way to fix it. Kind names the
// case for the template and the tests (data-state): declined, policy, pending, deauthorized,
// signin_failed, needs_reauth, pat_refused, problem, unchanged, signed_in, replaced. Class is
// the colour by meaning: error (a failure), info (nothing failed, something is to do), ok (a
// success). Lead and Detail are sentences; Detail may be empty. SignIn is the label of the
// sign-in button ("" for none); PolicyURL is the organization's policy settings page
// (https://dev.azure.com/{org}/_settings/organizationPolicy on Azure DevOps Services).
type connState struct {
	Kind      string
	Class     string
	Lead      string
	Detail    string
	SignIn    string
	PolicyURL string
	Org       string
	// Focus: the browser just came back from a sign-in (or an action), so the message takes
	// the focus (autofocus) and is what a screen reader reads first.
	Focus bool
}

// State is the page's one message, or nil when there is nothing to say (an authorized
// connection). A failed PAT replacement (Error) has its own message, so State is nil then.
// It follows the connection's stored status and reason, so a reload says the same; the
// sign-in outcome only adds what the status cannot tell (the page was reached from a sign-in
// that succeeded, or one with new app details that changed nothing).
func (d connectionData) State() *connState {
	st := d.state()
	if st != nil && (d.Outcome.Status != "" || d.Outcome.Unchanged || d.Notice != "") {
		st.Focus = true
	}
	return st
}

// state is State without the focus.
func (d connectionData) state() *connState {
	c := d.Conn
	if c == nil || d.Error != nil {
		return nil
	}
	if d.Notice != "" {
		return &connState{Kind: "replaced", Class: "ok", Lead: sentence(d.Notice)}
	}
	if d.Outcome.Unchanged {
		st := &connState{Kind: "unchanged", Class: "error",
			Lead:   "The sign-in with the new app details did not complete.",
			Detail: "The connection was left as it was, on its previous app, and is " + statusWords(c.Status) + "."}
		if d.Outcome.Reason == string(connections.ReasonAccessDenied) {
			st.Lead = "The sign-in with the new app details did not complete (access_denied): you declined it on Azure DevOps."
		} else if d.Outcome.Reason != "" {
			st.Lead = "The sign-in with the new app details did not complete (" + d.Outcome.Reason + ")."
		}
		return st
	}
	oauth := c.Type == services.TypeServicesOAuth
	switch c.Status {
	case services.StatusAuthorized:
		if d.Outcome.Status == services.StatusAuthorized {
			return &connState{Kind: "signed_in", Class: "ok", Lead: "Signed in: the connection is authorized."}
		}
		return nil
	case services.StatusOAuthPolicyDisabled:
		return &connState{Kind: "policy", Class: "error", Org: c.Collection, PolicyURL: policyURL(c),
			Lead: "The organization " + c.Collection + " does not allow third-party applications to use OAuth, so Azure DevOps refuses this connection's sign-in."}
	case services.StatusNeedsReauth:
		return &connState{Kind: "needs_reauth", Class: "error", SignIn: "Sign in again",
			Lead: "Azure DevOps no longer accepts this connection's sign-in, so it cannot be used until you sign in again.", Detail: sentence(c.StatusMessage)}
	case services.StatusInvalidToken:
		return &connState{Kind: "pat_refused", Class: "error",
			Lead: "The connection's personal access token no longer works, so the connection cannot be used until the PAT is replaced.", Detail: sentence(c.StatusMessage)}
	case services.StatusNotAuthorized:
		if !oauth {
			break
		}
		switch c.StatusReason {
		case string(connections.ReasonAccessDenied):
			// Nothing failed: the user pressed Deny. Information, not an error.
			return &connState{Kind: "declined", Class: "info", SignIn: "Sign in again",
				Lead: "You declined the sign-in on Azure DevOps, so nothing was authorized."}
		case services.ReasonAuthorizationPending, "":
			return &connState{Kind: "pending", Class: "info", SignIn: "Sign in with Azure DevOps",
				Lead: "The connection is not authorized yet: the sign-in with Azure DevOps was not completed."}
		case services.ReasonDeauthorized:
			return &connState{Kind: "deauthorized", Class: "info", SignIn: "Sign in again",
				Lead: "The connection was deauthorized and its tokens deleted; sign in again to use it."}
		}
		return &connState{Kind: "signin_failed", Class: "error", SignIn: "Sign in again",
			Lead: "The sign-in did not authorize the connection.", Detail: sentence(c.StatusMessage)}
	}
	if c.StatusMessage == "" {
		return nil
	}
	st := &connState{Kind: "problem", Class: "error", Lead: sentence(c.StatusMessage)}
	if oauth {
		st.SignIn = "Sign in again"
	}
	return st
}

// statusWords is a status for a sentence: "not_authorized" reads "not authorized".
func statusWords(s string) string { return strings.ReplaceAll(s, "_", " ") }

// policyURL is the page of the organization's policies, where "Third-party application
// access via OAuth" is turned on: {organization URL}/_settings/organizationPolicy
// (https://dev.azure.com/{org}/_settings/organizationPolicy; for the simulator, its own URL).
func policyURL(c *services.Connection) string {
	return c.CollectionURL() + "/_settings/organizationPolicy"
}

// Authorized reports whether the connection can list repositories (the page then leads to
// screen 2 of the import flow).
func (d connectionData) Authorized() bool {
	return d.Conn != nil && d.Conn.Status == services.StatusAuthorized
}

// renderConnection renders the connection page of d.Conn with the given status, after
// filling what follows from the connection: its scope lists and the fields of the move to
// Microsoft Entra ID.
func (u *ui) renderConnection(c echo.Context, status int, d connectionData) error {
	d.Scopes = connectionScopes(d.Conn.Type)
	for _, w := range d.Conn.Warnings {
		if w.Code == services.WarningLegacyOAuthApp {
			d.LegacyOAuth = true
		}
	}
	d.EntraConfigured = u.svc.EntraConfigured()
	return u.render(c, status, "connection", "", d.Conn.Name, "connections", d)
}

// connectionPage: GET /ui/connections/{id}[?status=&reason=&unchanged=] shows one connection:
// one message about its state with the way to fix it (connectionData.State), the way on to
// screen 2 of the import flow when it is authorized, Check again, and the way to authorize
// more repositories. The status, reason and unchanged query parameters are what the OAuth
// callback adds when it sends the browser back (unchanged=true: a sign-in with new app
// details failed and the connection kept its app).
func (u *ui) connectionPage(c echo.Context) error {
	conn, err := u.svc.GetConnection(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	return u.renderConnection(c, http.StatusOK, connectionData{Conn: conn, Outcome: outcomeOf(c.QueryParams())})
}

// reauthorize: POST /ui/connections/{id}/authorize starts a new sign-in of an OAuth
// connection (services.Authorize) and sends the browser to Azure DevOps; the callback brings
// it back through signedIn (screen 2 on success, the connection page otherwise). With the form field to=entra it is the move of a connection
// on an Azure DevOps OAuth app to Microsoft Entra ID (services.MoveToEntra): the sign-in
// goes to the operator's Entra app.
func (u *ui) reauthorize(c echo.Context) error {
	id := c.Param("id")
	// A sign-in comes back through /ui/signed-in, which goes on to screen 2 of the import flow
	// when it succeeded; the move to Entra comes back to the connection's page.
	in := services.ReauthorizeInput{ReturnURL: "/ui/signed-in", BrowserNonce: signInNonce(c)}
	if c.FormValue("to") == "entra" {
		in.ReturnURL = "/ui/connections/" + id
	}
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
		return u.renderConnection(c, p.Status, connectionData{Conn: cur, Error: &p, Canonical: "/ui/connections/" + cur.ID})
	}
	return u.renderConnection(c, http.StatusOK, connectionData{Conn: conn,
		Notice: "The new PAT passed the check and replaces the old one.", Canonical: "/ui/connections/" + conn.ID})
}

// deleteData is the delete page: the connection and its build profiles, which are deleted
// with it (and their runs).
type deleteData struct {
	Conn     *services.Connection
	Profiles []*store.BuildProfile
}

// deletePage: GET /ui/connections/{id}/delete asks for confirmation, naming the build
// profiles deleted with the connection.
func (u *ui) deletePage(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	conn, err := u.svc.GetConnection(ctx, tenant, c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	d := deleteData{Conn: conn}
	after := ""
	for {
		ps, next, err := u.svc.ListBuildProfiles(ctx, tenant, services.MaxPageSize, after)
		if err != nil {
			return u.fail(c, err)
		}
		for _, p := range ps {
			if p.ConnectionID == conn.ID {
				d.Profiles = append(d.Profiles, p)
			}
		}
		if next == "" || next == after {
			break
		}
		after = next
	}
	return u.render(c, http.StatusOK, "delete", "", "Delete "+conn.Name, "connections", d)
}

// deleteConnection: POST /ui/connections/{id}/delete deletes it (services.DeleteConnection).
func (u *ui) deleteConnection(c echo.Context) error {
	if err := u.svc.DeleteConnection(c.Request().Context(), tenantOf(c), c.Param("id")); err != nil {
		return u.fail(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/ui/connections")
}

// signedIn: GET /ui/signed-in?connectionId=&status=&reason=[&unchanged=true] is the returnUrl
// of sign-ins started from the pages (the callback adds the parameters, web/oauth.go). A
// sign-in that authorized the connection goes on to screen 2 of the import flow,
// /ui/new/choose?connection={id}; any other outcome opens the connection's page with the
// status and reason, where it is explained (connectionData.State).
func (u *ui) signedIn(c echo.Context) error {
	id := c.QueryParam("connectionId")
	if id == "" {
		return c.Redirect(http.StatusSeeOther, "/ui/connections")
	}
	o := outcomeOf(c.QueryParams())
	if o.Status == services.StatusAuthorized && !o.Unchanged {
		return c.Redirect(http.StatusSeeOther, "/ui/new/choose?connection="+url.QueryEscape(id))
	}
	q := url.Values{}
	if o.Status != "" {
		q.Set("status", o.Status)
	}
	if o.Reason != "" {
		q.Set("reason", o.Reason)
	}
	if o.Unchanged {
		q.Set("unchanged", "true")
	}
	to := "/ui/connections/" + url.PathEscape(id)
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// DemoPolicyOffOrganization is the second organization of demo mode's Services simulator:
// its policy "Third-party application access via OAuth" is off, so signing in to it shows
// the oauth_policy_disabled failure and its fix (cmd/repoconnect demo.go creates it).
const DemoPolicyOffOrganization = "contoso-nopolicy"

// PolicyOffOrganization is the demo organization whose OAuth policy is off
// (DemoPolicyOffOrganization), shown in the demo banner; "" when the demo has no Services
// organization.
func (d *Demo) PolicyOffOrganization() string {
	if d == nil || d.Organization == "" {
		return ""
	}
	return DemoPolicyOffOrganization
}
