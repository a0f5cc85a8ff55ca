package web

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
)

// Screen 1 of the import flow, Connect: one form that reads a pasted clone URL, picks Azure
// DevOps Services or Server from it, fills the fields and names the connection after the
// organization or host; a kind switch for people who type instead. A refused Create comes
// back with one error summary listing every problem, each linked to its field.

// wizardForm is the new-connection form as typed. The PAT is read from the request but never
// written back into a page: after a failed attempt the user pastes it again. Neither is the
// user info of a pasted URL (a PAT pasted as https://PAT@host/… would be): Shown strips it.
type wizardForm struct {
	Kind             string // "server" or "services"; "" when the request named none
	Auth             string // "pat" or "oauth" (services only)
	Name             string
	NameDefaulted    bool // Name was empty and is the organization or host
	RemoteURL        string
	ServerURL        string // scheme://host[:port] (Server)
	VirtualDirectory string // e.g. "tfs"; "" for none
	Collection       string // the collection (Server) or organization (Services)
	CACertificate    string
	authAsked        string // the sign-in switch as posted, kept when a pasted URL changes the kind
}

// understood is what the pasted clone URL was read as.
type understood struct {
	Kind, Host, VirtualDirectory, Collection, Project, Repository string
	Guessed, Resolved, CanResolve                                 bool
}

// formError is one problem of a refused Create: the field it concerns (the element id the
// summary links to; "" when it concerns no one field), the summary's short item (Label and
// Short, e.g. "Connection name" "is missing") and the full sentence shown at the field
// (Detail). The summary never repeats Detail, except for a problem with no field to hold it.
type formError struct {
	ID, Label, Short, Detail string
	// TakenBy is the connection that has the name already (a refused name), linked from
	// the field; nil otherwise.
	TakenBy *services.Connection
}

// scopeSet is the permissions of one connection type, required and optional apart; Asked
// are those a sign-in asks for though the connection works without them ("Also asked for").
type scopeSet struct {
	Type                      string // services.TypeServerPAT, …
	Required, Optional, Asked []services.ScopeInfo
}

type wizardData struct {
	Form       wizardForm
	Understood *understood
	Check      *connections.CheckResult
	// Problem is a single problem of a fragment (the parser's, under the URL field; the
	// check's). A refused Create puts its problems in Errors instead.
	Problem *Problem
	Errors  []formError
	Scopes  []scopeSet
	Oob     bool // the kind switch is sent out of band (the parse answer)
	// PATPosted: a refused Create had a PAT; the field, empty again, says to paste it again.
	PATPosted bool
}

// whenData is what the hide-unless template needs: the form and the connection types an
// element is shown for.
type whenData struct {
	Form wizardForm
	When string
}

// The template helpers of the Connect screen, prefixed so no other part's helper clashes.
func init() {
	uiFuncs["connectErr"] = formErr
	uiFuncs["connectShow"] = showFor
	uiFuncs["connectWhen"] = func(d wizardData, when string) whenData { return whenData{Form: d.Form, When: when} }
	uiFuncs["connectOob"] = func(d wizardData) wizardData { d.Oob = true; return d }
	uiFuncs["connectProblemCount"] = problemCount
}

// formErr is the problem of errs at the field with element id, or nil.
func formErr(errs []formError, id string) *formError {
	for i := range errs {
		if errs[i].ID == id {
			return &errs[i]
		}
	}
	return nil
}

// showFor tells whether an element shown for the connection types in when (space-separated)
// is shown for the form's type: the page's first render, before connect.js takes over.
func showFor(f wizardForm, when string) bool {
	t := f.Type()
	return t == "" || strings.Contains(" "+when+" ", " "+t+" ")
}

// Type is the connection type the form makes: services.TypeServerPAT, TypeServicesPAT,
// TypeServicesOAuth, or "" without a kind.
func (f wizardForm) Type() string {
	switch {
	case f.Kind == "server":
		return services.TypeServerPAT
	case f.Kind == "services" && f.Auth == "pat":
		return services.TypeServicesPAT
	case f.Kind == "services":
		return services.TypeServicesOAuth
	}
	return ""
}

// AuthChoice is the sign-in switch's choice, "pat" or "oauth": a Server form keeps what the
// switch held, so switching to Services finds it as it was (signing in unless a PAT was chosen).
func (f wizardForm) AuthChoice() string {
	if f.Kind == "services" {
		return f.Auth
	}
	if f.authAsked == "pat" {
		return "pat"
	}
	return "oauth"
}

// Shown is the pasted URL as the page shows it again: without user info.
func (f wizardForm) Shown() string {
	u, err := url.Parse(f.RemoteURL)
	if err != nil {
		if strings.Contains(f.RemoteURL, "@") && strings.Contains(f.RemoteURL, "://") {
			return "" // unparsable, with something that may be user info: show nothing
		}
		return f.RemoteURL
	}
	if u.User == nil || (u.Scheme != "http" && u.Scheme != "https") {
		return f.RemoteURL
	}
	u.User = nil
	return u.String()
}

// DefaultName is the name a connection gets when none is typed: the organization (Services)
// or the server's host name without port (Server); "" when neither is known yet.
func (f wizardForm) DefaultName() string {
	if f.Kind == "services" {
		return f.Collection
	}
	if f.ServerURL != "" {
		return hostName(f.ServerURL)
	}
	return ""
}

// hostName is the host of a URL without port, or "".
func hostName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Hostname()
}

func readWizard(c echo.Context) wizardForm {
	f := wizardForm{Kind: c.FormValue("kind"), Auth: c.FormValue("auth"), Name: strings.TrimSpace(c.FormValue("name")),
		RemoteURL: strings.TrimSpace(c.FormValue("remoteUrl")), ServerURL: strings.TrimSpace(c.FormValue("serverUrl")),
		VirtualDirectory: strings.Trim(strings.TrimSpace(c.FormValue("virtualDirectory")), "/"),
		Collection:       strings.TrimSpace(c.FormValue("collection")), CACertificate: strings.TrimSpace(c.FormValue("caCertificate"))}
	f.authAsked = f.Auth
	f.setKind(f.Kind)
	return f
}

// setKind sets the kind ("server", "services", anything else for none) and the sign-in that
// goes with it: a Server connection uses a PAT; a Services one signs in unless it chose a PAT.
func (f *wizardForm) setKind(kind string) {
	f.Kind = kind
	switch kind {
	case "server":
		f.Auth = "pat"
	case "services":
		f.Auth = "oauth"
		if f.authAsked == "pat" {
			f.Auth = "pat"
		}
	default:
		f.Kind = ""
	}
}

// input turns the form into the service's ConnectionInput: the Server URL is the server's
// address plus its virtual directory; a Services connection names dev.azure.com and the
// organization. An OAuth connection carries no PAT (a hidden PAT field may still hold one).
func (f wizardForm) input(pat string) services.ConnectionInput {
	in := services.ConnectionInput{Name: f.Name, Collection: f.Collection, PAT: connections.Secret(pat)}
	switch {
	case f.Kind == "server":
		in.Type, in.CACertificate = services.TypeServerPAT, f.CACertificate
		if f.ServerURL == "" && f.RemoteURL != "" {
			// Pasted but not (yet) read into the fields: the service reads the URL itself,
			// settling a guessed split on the server.
			in.RemoteURL, in.Collection = f.RemoteURL, ""
			break
		}
		in.ServerURL = strings.TrimRight(f.ServerURL, "/")
		if f.VirtualDirectory != "" {
			in.ServerURL += "/" + f.VirtualDirectory
		}
	case f.Auth == "pat":
		in.Type, in.Organization, in.Collection = services.TypeServicesPAT, f.Collection, ""
	default:
		in.Type, in.Organization, in.Collection, in.PAT = services.TypeServicesOAuth, f.Collection, "", ""
		in.ReturnURL = "/ui/signed-in"
	}
	return in
}

// scopeSets are the permissions of every connection type, for the form's scope lists (the
// page shows the set of the chosen type).
func scopeSets() []scopeSet {
	var out []scopeSet
	for _, t := range []string{services.TypeServerPAT, services.TypeServicesPAT, services.TypeServicesOAuth} {
		req, opt := services.ScopesFor(t)
		out = append(out, scopeSet{Type: t, Required: req, Optional: opt, Asked: services.AlsoAskedFor(t)})
	}
	return out
}

// wizardPage: GET /ui/connections/new[?kind=server|services[&auth=pat|oauth]]: the Connect
// form, for Services (signing in) unless the link names another kind.
func (u *ui) wizardPage(c echo.Context) error {
	f := readWizard(c)
	if f.Kind == "" {
		f.setKind("services")
	}
	return u.renderWizard(c, http.StatusOK, wizardData{Form: f})
}

// renderWizard writes the Connect page with status.
func (u *ui) renderWizard(c echo.Context, status int, d wizardData) error {
	d.Scopes = scopeSets()
	return u.render(c, status, "wizard", "", "New connection", "new", d)
}

// understand fills what the pasted URL was read as into d, and the form's kind and fields
// from it: the URL tells Services from Server, whatever the kind switch said. fill says
// whether the fields are overwritten (the parse endpoint) or only filled where empty and the
// split is certain (a refused Create, whose fields the user may have corrected).
func understand(d *wizardData, r *services.RemoteURL, resolved, canResolve, fill bool) {
	ep := r.Endpoint()
	d.Understood = &understood{Kind: string(r.Kind), Host: ep.Host, VirtualDirectory: ep.VirtualDirectory, Collection: ep.Collection,
		Project: r.Project, Repository: r.Repository, Guessed: r.Guessed, Resolved: resolved && !r.Guessed, CanResolve: canResolve}
	f := &d.Form
	f.setKind(string(r.Kind))
	switch {
	case r.Kind == services.KindServices && (fill || f.Collection == ""):
		f.ServerURL, f.VirtualDirectory, f.Collection = "", "", ep.Collection
	case r.Kind == services.KindServer && (fill || (f.ServerURL == "" && !r.Guessed)):
		f.ServerURL, f.VirtualDirectory, f.Collection = ep.Scheme+"://"+ep.Host, ep.VirtualDirectory, ep.Collection
	}
}

// wizardParse: POST /ui/connections/new/parse reads the pasted clone URL with the parser of
// POST /api/v1/parse-url (asking the server to settle a guessed split when "Ask the server"
// sends resolve=1 with a PAT filled in) and answers the fields filled from it, the kind it
// picked (the kind switch, out of band) and what was understood.
func (u *ui) wizardParse(c echo.Context) error {
	f := readWizard(c)
	d := wizardData{Form: f}
	if f.RemoteURL == "" {
		return u.fragment(c, http.StatusOK, "connect-parsed", d)
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	pat := strings.TrimSpace(c.FormValue("pat"))
	in := services.ParseURLInput{RemoteURL: f.RemoteURL, PAT: connections.Secret(pat), CACertificate: f.CACertificate}
	// Only the "Ask the server" button resolves: typing must not send the PAT to every host
	// a half-typed URL names.
	in.Resolve = c.FormValue("resolve") == "1" && pat != ""
	r, err := u.svc.ParseRemoteURL(ctx, tenantOf(c), in)
	if err != nil {
		p := problemFor(err)
		if p.Status >= 500 {
			return u.fail(c, err)
		}
		if !unfinishedURL(f.RemoteURL) { // while the host is still being typed, say nothing
			d.Problem = &p
		}
		return u.fragment(c, http.StatusOK, "connect-parsed", d)
	}
	understand(&d, r, in.Resolve, pat != "", true)
	return u.fragment(c, http.StatusOK, "connect-parsed", d)
}

// unfinishedURL tells a clone URL that is still being typed: a beginning of "https://",
// "http://", "ssh://" or "git@", or a URL whose host is not typed yet ("https://",
// "https://user@"). Its parse error is not shown while typing.
func unfinishedURL(raw string) bool {
	s := strings.ToLower(strings.TrimSpace(raw))
	for _, start := range []string{"https://", "http://", "ssh://", "git@"} {
		if strings.HasPrefix(start, s) {
			return true
		}
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	} else if strings.HasPrefix(s, "git@") {
		s = s[len("git@"):]
	} else {
		return false
	}
	host, _, _ := strings.Cut(s, "/")
	if j := strings.LastIndex(host, "@"); j >= 0 {
		host = host[j+1:]
	}
	host, _, _ = strings.Cut(host, ":")
	return host == ""
}

// The fields of the form, for the summary's links and items: element id → label.
var formLabels = map[string]string{
	"kind-services": "Where Azure DevOps is", "remoteUrl": "Clone URL", "serverUrl": "Server URL",
	"virtualDirectory": "Virtual directory", "collection": "Collection", "organization": "Organization",
	"name": "Connection name", "pat": "Personal access token", "caCertificate": "CA certificate",
}

// fieldID is the element id of a field the service names (its problem's Field).
func fieldID(field string) string {
	switch field {
	case "kind", "type":
		return "kind-services"
	case "organization":
		return "collection"
	case "remoteUrl", "serverUrl", "virtualDirectory", "collection", "name", "pat", "caCertificate":
		return field
	}
	return ""
}

// missing checks every field the form's type needs, all at once (a form is refused with every
// problem in one answer): a kind, the server (its URL and collection, or a clone URL), the
// organization, the PAT, and a name (which defaults to the organization or host).
func missing(f wizardForm, pat string) []formError {
	var errs []formError
	add := func(id, detail string) {
		errs = append(errs, formError{ID: id, Label: formLabels[id], Short: "is missing", Detail: detail})
	}
	if f.Kind == "" {
		add("kind-services", "Choose Azure DevOps Services (dev.azure.com) or Azure DevOps Server (on-premises).")
	}
	fromURL := f.RemoteURL != "" && f.ServerURL == ""
	switch f.Kind {
	case "server":
		if !fromURL && f.ServerURL == "" {
			add("serverUrl", "Enter the server URL, such as https://tfs.example.com, or paste a clone URL above.")
		}
		if !fromURL && f.Collection == "" {
			add("collection", "Enter the collection, such as DefaultCollection.")
		}
	case "services":
		if f.Collection == "" {
			errs = append(errs, formError{ID: "collection", Label: formLabels["organization"], Short: "is missing",
				Detail: "Enter the organization: the name after https://dev.azure.com/."})
		}
	}
	if f.Name == "" {
		add("name", "Enter a name for the connection.")
	}
	if f.Type() != services.TypeServicesOAuth && f.Kind != "" && pat == "" {
		add("pat", "Paste the personal access token.")
	}
	// In the order of the page: URL, kind, server fields, name, PAT.
	order := map[string]int{"remoteUrl": 0, "kind-services": 1, "serverUrl": 2, "collection": 3, "name": 4, "pat": 5}
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && order[errs[j].ID] < order[errs[j-1].ID]; j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
	return errs
}

// serviceError is the service's one problem as an item of the summary: linked to its field,
// which holds the sentence; with no field to hold it the summary item is the sentence.
func serviceError(p Problem, f wizardForm) formError {
	id := fieldID(p.Field)
	label := formLabels[id]
	if id == "collection" && f.Kind == "services" {
		label = formLabels["organization"]
	}
	detail := p.Detail
	switch { // the API's words name its type field; the page has the kind switch
	case p.Field == "type" && strings.Contains(detail, "use type services-pat"):
		detail = "The server URL is Azure DevOps Services: choose Azure DevOps Services above."
	case p.Field == "type" && strings.Contains(detail, "use type server-pat"):
		detail = "The address is not Azure DevOps Services (dev.azure.com): choose Azure DevOps Server above."
	}
	e := formError{ID: id, Label: label, Short: "is not accepted", Detail: sentence(detail)}
	if id == "" {
		e.Label, e.Short = "", ""
	}
	if len(p.Steps) > 0 {
		// The check's steps (under the PAT) hold the sentence; the field points to them.
		e.Short = "failed the token check"
		e.Detail = "The token check failed here: its steps, under the token, say why and how to fix it."
		if id == "" || id == "pat" {
			e.ID, e.Label, e.Detail = "pat", formLabels["pat"], "The token check failed: its steps, below, say why and how to fix it."
		}
	}
	return e
}

// wizardCreate: POST /ui/connections creates the connection (services.CreateConnection, as
// POST /api/v1/connections). A pasted URL decides the kind and fills what was left empty; an
// empty name becomes the organization or host. Every missing field is reported at once (400)
// before the service is asked; the service's problem comes back with its status, linked to
// its field, with the check's steps when the check failed. Nothing is stored then. A PAT
// connection goes on to screen 2 (choosing a repository); an OAuth connection to the sign-in.
func (u *ui) wizardCreate(c echo.Context) error {
	f := readWizard(c)
	d := wizardData{Form: f}
	ctx, cancel := reqContext(c)
	defer cancel()
	pat := strings.TrimSpace(c.FormValue("pat"))
	if f.RemoteURL != "" {
		r, err := u.svc.ParseRemoteURL(ctx, tenantOf(c), services.ParseURLInput{RemoteURL: f.RemoteURL})
		if err != nil {
			p := problemFor(err)
			if p.Status >= 500 || p.Status == statusClientClosedRequest {
				return u.fail(c, err)
			}
			d.Errors = append(d.Errors, formError{ID: "remoteUrl", Label: formLabels["remoteUrl"], Short: "is not accepted", Detail: sentence(p.Detail)})
			d.Form.RemoteURL = "" // judge the rest by the fields
		} else {
			understand(&d, r, false, pat != "", false)
		}
	}
	if d.Form.Name == "" {
		d.Form.Name = d.Form.DefaultName()
		if d.Form.Name == "" && d.Understood != nil && d.Form.Kind == "server" { // the service reads the URL
			d.Form.Name = d.Understood.Host
			if h, _, err := net.SplitHostPort(d.Understood.Host); err == nil {
				d.Form.Name = h
			}
		}
		d.Form.NameDefaulted = d.Form.Name != ""
	}
	d.Errors = append(d.Errors, missing(d.Form, pat)...)
	if len(d.Errors) > 0 {
		d.PATPosted = pat != "" && d.Form.Type() != services.TypeServicesOAuth
		d.Form.RemoteURL = f.RemoteURL
		return u.renderWizard(c, http.StatusBadRequest, d)
	}
	in := d.Form.input(pat)
	// The name may be taken already: by this connection's own earlier sign-in that was not
	// finished (Back, Deny, the wrong account), whose retry signs in again for it; otherwise
	// the refusal links the connection that has the name.
	same, err := u.connectionNamed(ctx, tenantOf(c), in.Name)
	if err != nil {
		return u.fail(c, err)
	}
	if same != nil && in.Type == services.TypeServicesOAuth && same.Type == in.Type &&
		strings.EqualFold(same.Collection, in.Organization) && same.Status != services.StatusAuthorized {
		conn, err := u.svc.Authorize(ctx, tenantOf(c), same.ID, services.ReauthorizeInput{ReturnURL: "/ui/signed-in", BrowserNonce: signInNonce(c)})
		if err != nil {
			return u.fail(c, err)
		}
		return u.toSignIn(c, conn)
	}
	if in.Type == services.TypeServicesOAuth {
		in.BrowserNonce = signInNonce(c)
	}
	conn, err := u.svc.CreateConnection(ctx, tenantOf(c), in)
	if err != nil {
		p := problemFor(err)
		if p.Status >= 500 || p.Status == statusClientClosedRequest {
			return u.fail(c, err)
		}
		d.PATPosted = pat != "" && d.Form.Type() != services.TypeServicesOAuth
		fe := serviceError(p, d.Form)
		if same != nil && fe.ID == "name" {
			fe.TakenBy = same
		}
		d.Errors = append(d.Errors, fe)
		if len(p.Steps) > 0 {
			d.Check = &connections.CheckResult{Valid: false, Message: p.Detail, Steps: p.Steps}
		}
		return u.renderWizard(c, p.Status, d)
	}
	if conn.AuthorizationURL != "" {
		return u.toSignIn(c, conn)
	}
	return c.Redirect(http.StatusSeeOther, "/ui/new/choose?connection="+url.QueryEscape(conn.ID))
}

// connectionNamed is the tenant's connection named name (names are unique per tenant), or
// nil; it pages through the list (services.MaxPageSize a page).
func (u *ui) connectionNamed(ctx context.Context, tenant, name string) (*services.Connection, error) {
	if name == "" {
		return nil, nil
	}
	after := ""
	for {
		cs, next, err := u.svc.ListConnections(ctx, tenant, services.MaxPageSize, after)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if c.Name == name {
				return c, nil
			}
		}
		if next == "" || next == after {
			return nil, nil
		}
		after = next
	}
}

// kindProblem is the answer to a check without its kind (server or services).
func kindProblem() *Problem {
	return &Problem{Status: http.StatusBadRequest, Title: "Invalid request", Code: "invalid_input", Field: "kind",
		Detail: "choose Azure DevOps Services or Azure DevOps Server first"}
}

// problemCount is the summary's title: "There is 1 problem:" or "There are N problems:".
func problemCount(n int) string {
	if n == 1 {
		return "There is 1 problem:"
	}
	return "There are " + strconv.Itoa(n) + " problems:"
}
