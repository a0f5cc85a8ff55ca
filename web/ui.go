package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
)

// The web UI: server-rendered pages (html/template) with htmx for partial updates, every
// asset embedded, nothing loaded from elsewhere. Pages call the same services as the /api/v1
// handlers; they hold no logic of their own beyond turning forms into service inputs.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Demo describes the simulated Azure DevOps of demo mode, shown in a banner on every page so
// a newcomer can fill the new-connection form at once. The PAT is a throwaway credential of
// the simulator alone; it is the one secret the UI ever shows.
type Demo struct {
	ServerURL    string // the simulated Server's URL, e.g. http://127.0.0.1:41234/tfs
	Collection   string // e.g. DefaultCollection
	PAT          string // valid for the simulator only
	Organization string // the simulated Services organization (OAuth sign-in)
	// APIKey signs every browser in as the demo tenant, with no sign-in page.
	APIKey string
}

// sessionCookie holds the sealed browser session (services.NewBrowserSession).
const sessionCookie = "rc_session"

// ui serves the pages; it shares the API's handlers (and so its services) where the answer
// is the same.
type ui struct {
	h     *handlers
	svc   *services.Service
	demo  *Demo
	pages map[string]*template.Template
}

// uiFuncs are the template helpers: presentation only.
var uiFuncs = template.FuncMap{
	"kindLabel": func(t string) string {
		switch t {
		case services.TypeServerPAT:
			return "Server · PAT"
		case services.TypeServicesPAT:
			return "Services · PAT"
		case services.TypeServicesOAuth:
			return "Services · OAuth"
		}
		return t
	},
	"stepLabel": func(name string) string {
		if l, ok := stepLabels[name]; ok {
			return l
		}
		return strings.ReplaceAll(name, "_", " ")
	},
	// failedStep tells whether a check's steps already say what failed.
	"failedStep": func(steps []connections.CheckStep) bool {
		for _, s := range steps {
			if !s.OK && s.Message != "" {
				return true
			}
		}
		return false
	},
	// sentence writes a message of the service (lower-case, as the API's details are) as a
	// sentence for people: a capital first letter and one full stop at the end.
	"sentence":    sentence,
	"pathEscape":  url.PathEscape,
	"statusLabel": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"bytes": humanBytes,
	// fieldErr is the problem's detail when it names field, for the message under that field.
	"fieldErr": func(p *Problem, field string) string {
		if p != nil && p.Field == field {
			return p.Detail
		}
		return ""
	},
	"pct": func(done, total int64) int64 {
		if total <= 0 {
			return 0
		}
		return min(100, done*100/total)
	},
}

// stepLabels names the steps of a token check (azuredevops.Step*) for people.
var stepLabels = map[string]string{
	"reach_host":     "Reached the host",
	"tls":            "TLS certificate trusted",
	"authenticate":   "Authenticated with the token",
	"collection":     "Collection found",
	"server_version": "Server version supported",
	"public_url":     "Public URL reachable (not localhost)",
	"oauth_policy":   "Organization allows OAuth apps",
}

// fragmentFiles are the shared fragments, one file per part of the pages: fragments.html
// (alerts, badges, the connection row), fragments_connect.html, fragments_check.html,
// fragments_choose.html, fragments_runs.html.
const fragmentFiles = "templates/fragments*.html"

// loadPages parses every page as layout.html, the fragment files and its own file, and the
// fragments alone under "". Each set is parsed from the files, never cloned: html/template
// escapes a set's trees in place when it first runs, so clones of one set would share
// (and rewrite) each other's trees.
func loadPages() map[string]*template.Template {
	parse := func(files ...string) *template.Template {
		return template.Must(template.New("").Funcs(uiFuncs).ParseFS(templateFS, files...))
	}
	names, err := fs.Glob(templateFS, "templates/page_*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{"": parse(fragmentFiles)}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/page_"), ".html")
		pages[name] = parse("templates/layout.html", fragmentFiles, n)
	}
	return pages
}

// mountUI adds the pages under /ui, the embedded assets under /static and / → /ui/connections.
func mountUI(e *echo.Echo, h *handlers, demo *Demo) *ui {
	u := &ui{h: h, svc: h.svc, demo: demo, pages: loadPages()}
	static, _ := fs.Sub(staticFS, "static")
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", immutable(http.FileServer(http.FS(static))))))
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/ui/connections") })

	cop := http.NewCrossOriginProtection() // refuses cross-origin form posts (Sec-Fetch-Site / Origin)
	cop.SetDenyHandler(http.HandlerFunc(crossOriginRefused))
	guard := echo.WrapMiddleware(cop.Handler)
	e.GET("/ui/sign-in", u.signInPage, pageHeaders)
	e.POST("/ui/sign-in", u.signIn, pageHeaders, guard)
	e.POST("/ui/sign-out", u.signOut, pageHeaders, guard)

	g := e.Group("/ui", pageHeaders, guard, u.session)
	g.GET("", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/ui/connections") })
	g.GET("/signed-in", u.signedIn)
	g.GET("/new", u.newProfile)
	g.GET("/new/choose", u.chooseScreen)
	g.GET("/new/configure", u.configureScreen)
	g.GET("/connections", u.connectionsPage)
	g.GET("/connections/new", u.wizardPage)
	g.POST("/connections/new/parse", u.wizardParse)
	g.POST("/connections/new/check", u.wizardCheck)
	g.POST("/connections", u.wizardCreate)
	g.GET("/connections/:id", u.connectionPage)
	g.POST("/connections/:id/check", u.checkAgain)
	g.POST("/connections/:id/authorize", u.reauthorize)
	g.POST("/connections/:id/pat", u.replacePAT)
	g.GET("/connections/:id/delete", u.deletePage)
	g.POST("/connections/:id/delete", u.deleteConnection)
	g.POST("/connections/:id/ssh-key", u.setSSHKey) // ui_ssh.go
	g.GET("/connections/:id/ssh-key/remove", u.confirmRemoveSSHKey)
	g.POST("/connections/:id/ssh-key/remove", u.removeSSHKey)
	g.POST("/connections/:id/ssh-check", u.checkSSH)
	g.POST("/connections/:id/ssh-host-key", u.acceptHostKey)
	g.GET("/connections/:id/repositories", u.repositoryList)
	g.GET("/connections/:id/repositories/:repositoryId", u.choosePage)
	g.GET("/connections/:id/repositories/:repositoryId/branches", u.branchList)
	g.POST("/build-profiles", u.createProfile)
	g.GET("/build-profiles", u.profilesPage)
	g.GET("/build-profiles/:id", u.profilePage)
	g.POST("/build-profiles/:id/clones", u.startClone)
	g.POST("/build-profiles/:id/triggers", u.saveTriggers)
	g.POST("/build-profiles/:id/workspace", u.saveWorkspace)
	g.POST("/build-profiles/:id/hook/rotate", u.rotateHook)
	g.GET("/build-profiles/:id/hook/delivery", u.checkDelivery)
	g.GET("/build-profiles/:id/runs", u.runsFragment)
	g.GET("/build-profiles/:id/runs/:runId", u.runPage)
	g.GET("/build-profiles/:id/runs/:runId/facts", u.runFacts)
	g.GET("/clones/:id/events", u.cloneEvents)
	g.POST("/clones/:id/cancel", u.cancelClone)
	return u
}

// immutable marks embedded assets as cacheable: they change only with the binary.
func immutable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// pageHeaders sets the security headers of every page: a content security policy that allows
// this origin's scripts and styles only (htmx runs without eval and without inline styles),
// no framing, no referrer beyond the origin.
func pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// session resolves the browser's session cookie to a tenant. Demo mode signs a browser
// without one in as the demo tenant when the request names a loopback host (so a page on
// another site that rebinds its DNS name to 127.0.0.1 gets no session); otherwise it is sent
// to the sign-in page (htmx requests
// through HX-Redirect, since a fragment cannot be a page).
func (u *ui) session(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if ck, err := c.Cookie(sessionCookie); err == nil {
			tenant, err := u.svc.BrowserSession(ctx, ck.Value)
			if err == nil {
				c.Set(tenantKey, tenant)
				return next(c)
			}
			if !errors.Is(err, services.ErrInvalidAPIKey) {
				return u.fail(c, err)
			}
		}
		if u.demo != nil && u.demo.APIKey != "" && loopbackHost(c.Request().Host) {
			if err := u.startSession(c, u.demo.APIKey); err != nil {
				return u.fail(c, err)
			}
			return next(c)
		}
		to := "/ui/sign-in?next=" + url.QueryEscape(c.Request().URL.RequestURI())
		if isHX(c) {
			c.Response().Header().Set("HX-Redirect", to)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, to)
	}
}

// loopbackHost tells whether a Host header names this machine: localhost or a loopback
// address, with or without a port.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// startSession signs the browser in with an API key: the sealed session goes in an HttpOnly,
// SameSite=Lax cookie (Lax, so the OAuth callback's top-level redirect still carries it).
func (u *ui) startSession(c echo.Context, apiKey string) error {
	token, tenant, expires, err := u.svc.NewBrowserSession(c.Request().Context(), apiKey)
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: expires, HttpOnly: true,
		Secure: c.Scheme() == "https", SameSite: http.SameSiteLaxMode})
	c.Set(tenantKey, tenant)
	return nil
}

// pageData is what every page template gets.
type pageData struct {
	Title  string
	Nav    string // "connections" or "profiles": the current section
	Demo   *Demo
	Signed bool
	Data   any
}

// render writes a whole page (or, with fragment set, only that template) with status.
func (u *ui) render(c echo.Context, status int, page, fragment string, title, nav string, data any) error {
	t, ok := u.pages[page]
	if !ok {
		return errors.New("web: no page " + page)
	}
	name := fragment
	if name == "" {
		name = "layout"
	}
	var buf bytes.Buffer
	pd := pageData{Title: title, Nav: nav, Demo: u.demo, Signed: tenantOf(c) != "", Data: data}
	var in any = pd
	if fragment != "" {
		in = data
	}
	if err := t.ExecuteTemplate(&buf, name, in); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// fragment writes one shared fragment (fragments.html) with status.
func (u *ui) fragment(c echo.Context, status int, name string, data any) error {
	return u.render(c, status, "", name, "", "", data)
}

// isHX tells a request made by htmx (a fragment is wanted) from a page load.
func isHX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// failure is the data of the error page and the alert fragment.
type failure struct {
	Problem Problem
	Back    string
}

// fail answers an error the way the API does (problemFor), as an alert fragment for htmx or a
// page otherwise.
func (u *ui) fail(c echo.Context, err error) error {
	p := problemFor(err)
	if p.Status == statusClientClosedRequest {
		return err
	}
	if p.Status >= 500 {
		c.Logger().Error(err) // the detail shown is problemFor's, never err's text
	}
	setRetryAfter(c, p) // as writeProblem: a browser or proxy may retry the page
	if isHX(c) {
		// Errors go to the page's alert region, whatever the request meant to replace.
		c.Response().Header().Set("HX-Retarget", "#alerts")
		c.Response().Header().Set("HX-Reswap", "innerHTML")
		return u.fragment(c, p.Status, "alert", failure{Problem: p})
	}
	return u.render(c, p.Status, "error", "", p.Title, "", failure{Problem: p, Back: "/ui/connections"})
}

// isPagePath tells a path of the pages (/ui and below), whose errors are pages, not JSON.
func isPagePath(path string) bool { return path == "/ui" || strings.HasPrefix(path, "/ui/") }

// failPage answers an error of the echo router under /ui (no such page, a method the page
// does not take) or one a page handler returned unanswered, as the pages answer errors:
// the error page, or the alert fragment for htmx (u.fail), never the API's JSON.
func (u *ui) failPage(c echo.Context, err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) && (he.Code == http.StatusNotFound || he.Code == http.StatusMethodNotAllowed) {
		p := Problem{Status: http.StatusNotFound, Title: "Page not found", Code: "not_found",
			Detail: "There is no such page here. Start again from the connections or the build profiles."}
		if isHX(c) {
			c.Response().Header().Set("HX-Retarget", "#alerts")
			c.Response().Header().Set("HX-Reswap", "innerHTML")
			return u.fragment(c, p.Status, "alert", failure{Problem: p})
		}
		return u.render(c, p.Status, "error", "", p.Title, "", failure{Problem: p, Back: "/ui/connections"})
	}
	return u.fail(c, err)
}

// signInPage asks for an API key (not in demo mode, where nobody signs in).
func (u *ui) signInPage(c echo.Context) error {
	return u.render(c, http.StatusOK, "signin", "", "Sign in", "", signInData{Next: safeNext(c.QueryParam("next"))})
}

type signInData struct {
	Next  string
	Error string
}

func (u *ui) signIn(c echo.Context) error {
	next := safeNext(c.FormValue("next"))
	if err := u.startSession(c, strings.TrimSpace(c.FormValue("apiKey"))); err != nil {
		if errors.Is(err, services.ErrInvalidAPIKey) {
			return u.render(c, http.StatusUnauthorized, "signin", "", "Sign in", "", signInData{Next: next,
				Error: "That API key is not valid: paste a key made with 'repoconnect apikey create', starting with rck_."})
		}
		return u.fail(c, err)
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (u *ui) signOut(c echo.Context) error {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return c.Redirect(http.StatusSeeOther, "/ui/sign-in")
}

// safeNext keeps a post-sign-in destination inside /ui.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/ui/") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/ui/connections"
}

// humanBytes writes a byte count as B, KiB, MiB or GiB with one decimal.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return itoa(n) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 2; m /= unit {
		div *= unit
		exp++
	}
	whole, tenth := n/div, (n%div)*10/div
	return itoa(whole) + "." + itoa(tenth) + " " + string("KMG"[exp]) + "iB"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
