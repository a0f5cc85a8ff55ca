package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
)

// wizardForm is the new-connection form as typed. The PAT is read from the request but never
// written back into a page: after a failed attempt the user pastes it again. Neither is the
// user info of a pasted URL (a PAT pasted as https://PAT@host/… would be): Shown strips it.
type wizardForm struct {
	Kind             string // "server" or "services"
	Auth             string // "pat" or "oauth" (services only)
	Name             string
	RemoteURL        string
	ServerURL        string // scheme://host[:port] (Server)
	VirtualDirectory string // e.g. "tfs"; "" for none
	Collection       string // the collection (Server) or organization (Services)
	CACertificate    string
}

// understood is what the pasted clone URL was read as.
type understood struct {
	Kind, Host, VirtualDirectory, Collection, Project, Repository string
	Guessed, Resolved, CanResolve                                 bool
	OtherKind                                                     bool // a Services URL on the Server form or the other way round
}

type wizardData struct {
	Form       wizardForm
	Understood *understood
	Check      *connections.CheckResult
	Problem    *Problem
	Scopes     []services.Scope
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

func readWizard(c echo.Context) wizardForm {
	f := wizardForm{Kind: c.FormValue("kind"), Auth: c.FormValue("auth"), Name: strings.TrimSpace(c.FormValue("name")),
		RemoteURL: strings.TrimSpace(c.FormValue("remoteUrl")), ServerURL: strings.TrimSpace(c.FormValue("serverUrl")),
		VirtualDirectory: strings.Trim(strings.TrimSpace(c.FormValue("virtualDirectory")), "/"),
		Collection:       strings.TrimSpace(c.FormValue("collection")), CACertificate: strings.TrimSpace(c.FormValue("caCertificate"))}
	if f.Kind != "services" && f.Kind != "server" {
		f.Kind = ""
	}
	if f.Kind == "services" && f.Auth != "pat" {
		f.Auth = "oauth"
	}
	if f.Kind == "server" {
		f.Auth = "pat"
	}
	return f
}

// input turns the form into the service's ConnectionInput: the Server URL is the server's
// address plus its virtual directory; a Services connection names dev.azure.com and the
// organization.
func (f wizardForm) input(pat string) services.ConnectionInput {
	in := services.ConnectionInput{Name: f.Name, Collection: f.Collection, PAT: connections.Secret(pat), CACertificate: f.CACertificate}
	switch {
	case f.Kind == "server":
		in.Type = services.TypeServerPAT
		if f.ServerURL == "" && f.RemoteURL != "" {
			// Pasted but not (yet) read into the fields: the service reads the URL itself.
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
		in.Type, in.Organization, in.Collection = services.TypeServicesOAuth, f.Collection, ""
		in.ReturnURL = "/ui/signed-in"
	}
	return in
}

// wizardPage: GET /ui/connections/new[?kind=server|services[&auth=pat|oauth]]: step 1 chooses
// the kind, step 2 is the form of that kind.
func (u *ui) wizardPage(c echo.Context) error {
	return u.render(c, http.StatusOK, "wizard", "", "New connection", "connections", wizardData{Form: readWizard(c), Scopes: services.RequiredScopes()})
}

// wizardParse: POST /ui/connections/new/parse reads the pasted clone URL with the parser of
// POST /api/v1/parse-url (asking the server to settle a guessed split when a PAT is filled in)
// and answers the server fields filled from it, with what was understood.
func (u *ui) wizardParse(c echo.Context) error {
	f := readWizard(c)
	d := wizardData{Form: f}
	if f.RemoteURL == "" {
		return u.fragment(c, http.StatusOK, "server-fields", d)
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
		d.Problem = &p
		return u.fragment(c, http.StatusOK, "server-fields", d)
	}
	ep := r.Endpoint()
	un := &understood{Kind: string(r.Kind), Host: ep.Host, VirtualDirectory: ep.VirtualDirectory, Collection: ep.Collection,
		Project: r.Project, Repository: r.Repository, Guessed: r.Guessed, Resolved: in.Resolve && !r.Guessed, CanResolve: pat != ""}
	un.OtherKind = (f.Kind == "server") != (un.Kind == "server")
	if !un.OtherKind {
		d.Form.ServerURL, d.Form.VirtualDirectory, d.Form.Collection = ep.Scheme+"://"+ep.Host, ep.VirtualDirectory, ep.Collection
	}
	d.Understood = un
	return u.fragment(c, http.StatusOK, "server-fields", d)
}

// wizardCreate: POST /ui/connections creates the connection (services.CreateConnection, as
// POST /api/v1/connections). A PAT connection opens its page; an OAuth connection goes on to
// the sign-in. On failure the form comes back with the status of the API's answer, the field
// marked and, for a failed check, its steps.
func (u *ui) wizardCreate(c echo.Context) error {
	f := readWizard(c)
	if f.Kind == "" {
		return u.render(c, http.StatusBadRequest, "wizard", "", "New connection", "connections", wizardData{Form: f, Problem: kindProblem()})
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	in := f.input(strings.TrimSpace(c.FormValue("pat")))
	if in.Type == services.TypeServicesOAuth {
		in.BrowserNonce = signInNonce(c)
	}
	conn, err := u.svc.CreateConnection(ctx, tenantOf(c), in)
	if err != nil {
		p := problemFor(err)
		if p.Status >= 500 || p.Status == statusClientClosedRequest {
			return u.fail(c, err)
		}
		d := wizardData{Form: f, Problem: &p, Scopes: services.RequiredScopes()}
		if len(p.Steps) > 0 {
			d.Check = &connections.CheckResult{Valid: false, Message: p.Detail, Steps: p.Steps}
		}
		return u.render(c, p.Status, "wizard", "", "New connection", "connections", d)
	}
	if conn.AuthorizationURL != "" {
		return u.toSignIn(c, conn)
	}
	return c.Redirect(http.StatusSeeOther, "/ui/connections/"+url.PathEscape(conn.ID))
}

// kindProblem is the answer to a form without its kind (server or services).
func kindProblem() *Problem {
	return &Problem{Status: http.StatusBadRequest, Title: "Invalid request", Code: "invalid_input", Field: "kind",
		Detail: "choose Azure DevOps Services or Azure DevOps Server first"}
}

//END
