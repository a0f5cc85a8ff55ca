package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
)

// The token check of the pages: the new-connection form's Check (wizardCheck) and a stored
// connection's Check again (checkAgain).
//
// Both answer in two ways. A request with "Accept: text/event-stream" (web/static/js/check.js)
// gets the check live as server-sent events over the POST's answer:
//
//	event: start   data: {"host","timeoutSeconds","doing","html"}   before the first request
//	event: step    data: {"name","state","doing","html"}           each step as it is known
//	event: result  data: {"valid","reason","field","html","oob"}   the whole result, last
//
// ("html" is the rendered fragment: the live panel with the steps still to come pending, one
// step's <li>, the result's panel; "field" is the form field the result concerns; "oob" maps
// a selector to HTML to put in it, the connection's status badge). The check's context ends
// when the client goes away. Any other request gets the plain fragment, as htmx asks.

// wantsStream tells a request that asked for the check as server-sent events.
func wantsStream(c echo.Context) bool {
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/event-stream")
}

// wizardCheck: POST /ui/connections/new/check runs the token check of the form (the service
// of POST /api/v1/check-token) and answers its steps: live as server-sent events when asked
// (see above), else the "check-result" fragment.
func (u *ui) wizardCheck(c echo.Context) error {
	f := readWizard(c)
	pat := strings.TrimSpace(c.FormValue("pat"))
	base := wizardFixBase(f)
	if wantsStream(c) {
		return u.streamCheck(c, func(cs *checkStream) {
			if f.Kind == "" {
				cs.result(problemView(kindProblem()), nil)
				return
			}
			res, err := u.svc.CheckToken(cs.ctx, tenantOf(c), f.input(pat))
			cs.finish(res, err, base, nil)
		})
	}
	if f.Kind == "" {
		return u.fragment(c, http.StatusOK, "check-result", wizardData{Form: f, Problem: kindProblem()})
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	res, err := u.svc.CheckToken(ctx, tenantOf(c), f.input(pat))
	if err != nil {
		p := problemFor(err)
		if p.Status >= 500 || p.Status == statusClientClosedRequest {
			return u.fail(c, err)
		}
		return u.fragment(c, http.StatusOK, "check-result", wizardData{Form: f, Problem: &p})
	}
	return u.fragment(c, http.StatusOK, "check-result", wizardData{Form: f, Check: res})
}

// checkAgain: POST /ui/connections/{id}/check runs the connection's check (the same service
// as POST /api/v1/connections/{id}/check). With view=row it answers the list row; asked for
// server-sent events it streams the check (see above; the status badge comes in the result's
// "oob"); otherwise it answers the check's steps with the status badge updated out of band.
func (u *ui) checkAgain(c echo.Context) error {
	tenant, id := tenantOf(c), c.Param("id")
	if wantsStream(c) && c.FormValue("view") != "row" {
		ctx, cancel := reqContext(c)
		conn, err := u.svc.GetConnection(ctx, tenant, id) // an unknown connection is a 404, before any stream
		cancel()
		if err != nil {
			return u.fail(c, err)
		}
		base := connFixBase(conn)
		return u.streamCheck(c, func(cs *checkStream) {
			res, err := u.svc.CheckConnection(cs.ctx, tenant, id)
			var oob map[string]string
			if err == nil {
				if now, gerr := u.svc.GetConnection(cs.ctx, tenant, id); gerr == nil {
					var b bytes.Buffer
					if u.pages[""].ExecuteTemplate(&b, "badge", now.Status) == nil {
						oob = map[string]string{"#conn-status": b.String()}
					}
					// The page's one message about the connection follows its new status.
					var st bytes.Buffer
					if oob != nil && u.pages[""].ExecuteTemplate(&st, "conn-state-body", connectionData{Conn: now}) == nil {
						oob["#conn-state"] = st.String()
					}
					// So does what the page offers next (Choose a repository, or why not).
					var nx bytes.Buffer
					if oob != nil && u.pages[""].ExecuteTemplate(&nx, "conn-next-body", connectionData{Conn: now}) == nil {
						oob["#conn-next"] = nx.String()
					}
				}
			}
			cs.finish(res, err, base, oob)
		})
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	res, err := u.svc.CheckConnection(ctx, tenant, id)
	if err != nil {
		return u.fail(c, err)
	}
	conn, err := u.svc.GetConnection(ctx, tenant, id)
	if err != nil {
		return u.fail(c, err)
	}
	if c.FormValue("view") == "row" {
		return u.fragment(c, http.StatusOK, "conn-row", conn)
	}
	return u.fragment(c, http.StatusOK, "check-outcome", connectionData{Conn: conn, Check: res})
}

// checkStream is one check answered as server-sent events.
type checkStream struct {
	u   *ui
	c   echo.Context
	ctx context.Context

	mu     sync.Mutex
	closed bool
	plan   connections.CheckPlan
	bound  time.Duration
	done   map[string]bool
}

// streamCheck answers the check run makes as server-sent events: headers at once, then what
// run's check tells through the observer in cs.ctx, then the result run hands to cs.result.
// A keep-alive comment goes every keepAliveInterval; nothing is written after it returns.
func (u *ui) streamCheck(c echo.Context, run func(cs *checkStream)) error {
	w := c.Response()
	beginEventStream(w)
	ctx, cancel := reqContext(c)
	defer cancel()
	cs := &checkStream{u: u, c: c, done: map[string]bool{}}
	cs.ctx = connections.WithCheckObserver(ctx, connections.CheckObserver{Start: cs.start, Step: cs.step})
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(keepAliveInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				cs.write(": keep-alive\n\n")
			case <-stop:
				return
			}
		}
	}()
	run(cs)
	close(stop)
	cs.mu.Lock()
	cs.closed = true
	cs.mu.Unlock()
	return nil
}

// write writes raw event-stream text and flushes it, unless the stream is closed.
func (cs *checkStream) write(s string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.writeLocked(s)
}

func (cs *checkStream) writeLocked(s string) {
	if cs.closed {
		return
	}
	if _, err := io.WriteString(cs.c.Response(), s); err != nil {
		cs.closed = true // the client went away; the request's context ends the check
		return
	}
	cs.c.Response().Flush()
}

// send writes one event whose data is v as JSON.
func (cs *checkStream) sendLocked(event string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	cs.writeLocked(sseEvent(event, string(data)))
}

// render executes a fragment template into a string ("" when it fails).
func (cs *checkStream) render(name string, data any) string {
	var b bytes.Buffer
	if err := cs.u.pages[""].ExecuteTemplate(&b, name, data); err != nil {
		cs.c.Logger().Error(err)
		return ""
	}
	return b.String()
}

// checkLive is the data of the live panel ("check-live").
type checkLive struct {
	Doing string
	Steps []stepView
}

// start is the observer's Start: the "start" event, naming the host and the bound, every
// planned step pending.
func (cs *checkStream) start(p connections.CheckPlan) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.plan = p
	cs.bound = p.Timeout
	if dl, ok := cs.ctx.Deadline(); ok {
		if left := time.Until(dl); cs.bound <= 0 || left < cs.bound {
			cs.bound = left.Round(time.Second)
		}
	}
	live := checkLive{Doing: cs.doingLocked()}
	for _, name := range p.Steps {
		live.Steps = append(live.Steps, pendingStep(name))
	}
	cs.sendLocked("start", map[string]any{"host": p.Host, "timeoutSeconds": cs.bound.Seconds(),
		"doing": live.Doing, "steps": p.Steps, "html": cs.render("check-live", live)})
}

// step is the observer's Step: one "step" event.
func (cs *checkStream) step(s connections.CheckStep) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if s.OK {
		cs.done[s.Name] = true
	}
	v := newStepView(s, fixLink{})
	cs.sendLocked("step", map[string]any{"name": s.Name, "state": v.State, "doing": cs.doingLocked(),
		"html": cs.render("check-step", v)})
}

// doingLocked says what the check is doing now, from the steps passed so far.
func (cs *checkStream) doingLocked() string {
	host, bound := cs.plan.Host, boundWords(cs.bound)
	switch {
	case !cs.done["reach_host"]:
		return fmt.Sprintf("Reaching %s… up to %s", host, bound)
	case !cs.done["authenticate"]:
		return fmt.Sprintf("Connected to %s, waiting for its answer… up to %s", host, bound)
	case !cs.done["server_version"]:
		return fmt.Sprintf("Asking %s which release it runs… up to %s", host, bound)
	}
	return "Finishing the check…"
}

// boundWords writes a timeout for people: "30 s", "1.5 s".
func boundWords(d time.Duration) string {
	if d <= 0 {
		return "the request timeout"
	}
	if d%time.Second == 0 {
		return fmt.Sprintf("%d s", int(d/time.Second))
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// finish sends the result of a check that returned (res, err): a failure to run it (a
// cancelled context says nothing: the client is gone) as a problem.
func (cs *checkStream) finish(res *connections.CheckResult, err error, base fixLink, oob map[string]string) {
	if err != nil {
		p := problemFor(err)
		if p.Status == statusClientClosedRequest || cs.ctx.Err() != nil && cs.c.Request().Context().Err() != nil {
			return
		}
		if p.Status >= 500 {
			cs.c.Logger().Error(err) // the detail shown is problemFor's, never err's text
		}
		cs.result(problemView(&p), nil)
		return
	}
	cs.result(resultView(res, base), oob)
}

// result sends the "result" event.
func (cs *checkStream) result(v checkView, oob map[string]string) {
	html := cs.render("check-view", v)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.sendLocked("result", map[string]any{"valid": v.Valid, "reason": v.Reason, "field": v.Field,
		"html": html, "oob": oob})
}

// checkView is what the check's panel shows ("check-view"): a result or a problem that kept
// the check from running.
type checkView struct {
	Valid   bool
	Warned  bool   // valid, with a warning
	Reason  string // the failure's reason, or the problem's code
	Field   string // id of the form field the result concerns ("" for none)
	Heading string
	Steps   []stepView
	// Words is the failure's sentence when no step carries it (a problem, a failure
	// without a failed step), with its server quote.
	Words    []wordPart
	Quote    string
	Fix      fixLink
	Warnings []connections.Warning // those no step tells already
	Result   *connections.CheckResult
}

// stepView is one step as shown: State is "ok", "fail", "warn" or "pending".
type stepView struct {
	Name, Label, State string
	Words              []wordPart
	Quote              string
	Fix                fixLink
}

// wordPart is a piece of a sentence: text, or a link when URL is set.
type wordPart struct {
	Text, URL string
}

// fixLink is a link that fixes a problem (the PAT page).
type fixLink struct {
	URL, Label string
}

// checkStepLabels names each step in each state, for the live panel and the results.
var checkStepLabels = map[string][3]string{ // pending, ok, fail
	"reach_host":     {"Reach the host", "Reached the host", "Could not reach the host"},
	"tls":            {"Trust its TLS certificate", "TLS certificate trusted", "TLS certificate not trusted"},
	"authenticate":   {"Authenticate with the token", "Authenticated with the token", "The token was refused"},
	"collection":     {"Find the collection", "Collection found", "Collection not found"},
	"oauth_policy":   {"Check the organization allows OAuth apps", "Organization allows OAuth apps", "Organization does not allow OAuth apps"},
	"org_membership": {"Check the user is a member of the organization", "The user is a member of the organization", "The user is not a member of the organization"},
	"server_version": {"Read the server's release", "Server version supported", "Server version not supported"},
	"public_url":     {"Compare the server's public URL", "Public URL names this host", "Public URL names another host"},
}

func stepLabelIn(name string, state int) string {
	if l, ok := checkStepLabels[name]; ok {
		return l[state]
	}
	s := strings.ReplaceAll(name, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

func pendingStep(name string) stepView {
	return stepView{Name: name, Label: stepLabelIn(name, 0), State: "pending"}
}

// newStepView turns a step into its view; a failed step's message becomes its words (the one
// place the failure's sentence is shown), with the server's quote apart and fix.
func newStepView(s connections.CheckStep, fix fixLink) stepView {
	v := stepView{Name: s.Name}
	switch {
	case s.OK && s.Message != "" && s.Name == "public_url":
		v.State, v.Label = "warn", stepLabelIn(s.Name, 2)
	case s.OK:
		v.State, v.Label = "ok", stepLabelIn(s.Name, 1)
	case s.Name == "public_url": // a warning: the check passed
		v.State, v.Label = "warn", stepLabelIn(s.Name, 2)
	default:
		v.State, v.Label = "fail", stepLabelIn(s.Name, 2)
		v.Fix = fix
	}
	if s.Message != "" {
		if v.State == "ok" {
			v.Words = []wordPart{{Text: sentence(s.Message)}}
		} else {
			v.Words, v.Quote = checkWords(s.Message)
		}
	}
	return v
}

// resultView is the panel of a check's result; base is the PAT page for an invalid token.
func resultView(res *connections.CheckResult, base fixLink) checkView {
	v := checkView{Valid: res.Valid, Reason: string(res.Reason), Result: res}
	var fix fixLink
	if res.Reason == connections.ReasonInvalidToken || res.Reason == connections.ReasonForbidden {
		fix = base
	}
	told := map[string]bool{}
	failedStep := false
	for _, s := range res.Steps {
		sv := newStepView(s, fix)
		if sv.State == "fail" && s.Message != "" {
			failedStep = true
		}
		if s.Message != "" {
			told[s.Message] = true
		}
		if sv.State == "warn" {
			v.Warned = true
		}
		v.Steps = append(v.Steps, sv)
	}
	for _, w := range res.Warnings {
		if !told[w.Message] {
			v.Warnings = append(v.Warnings, w)
		}
	}
	v.Warned = v.Warned || len(v.Warnings) > 0
	switch {
	case res.Valid && v.Warned:
		v.Heading, v.Field = "The token check passed, with a warning", "serverUrl"
	case res.Valid:
		v.Heading = "The token check passed"
	default:
		v.Heading, v.Field = "The token check failed", reasonField(res.Reason)
		if !failedStep && res.Message != "" {
			v.Words, v.Quote = checkWords(res.Message)
			v.Fix = fix
		}
	}
	return v
}

// problemView is the panel of a problem that kept the check from running (a missing field,
// throttling): its detail as the sentence, on the field it names.
func problemView(p *Problem) checkView {
	v := checkView{Reason: p.Code, Field: problemField(p.Field), Heading: "The check could not run"}
	d := p.Detail
	if d == "" {
		d = p.Title
	}
	v.Words, v.Quote = checkWords(d)
	return v
}

// reasonField names the form field (its id) a failed check concerns.
func reasonField(r connections.Reason) string {
	switch r {
	case connections.ReasonInvalidToken, connections.ReasonForbidden:
		return "pat"
	case connections.ReasonCollectionNotFound, connections.ReasonOAuthPolicyDisabled, connections.ReasonNotOrgMember:
		return "collection" // the collection, or on Services the organization
	case connections.ReasonUnreachable, connections.ReasonTLS, connections.ReasonServerTooOld,
		connections.ReasonDestinationNotAllowed, connections.ReasonPublicURLLocalhost, "public_url_mismatch", connections.ReasonProtocol:
		return "serverUrl"
	}
	return ""
}

// problemField maps a problem's field (the API's names) to the form field's id.
func problemField(f string) string {
	switch f {
	case "organization":
		return "collection"
	case "serverUrl", "collection", "pat", "remoteUrl", "name", "virtualDirectory", "caCertificate", "kind":
		return f
	}
	return ""
}

// Server words inside the service's messages: "…rejected the personal access token: <server's
// words>; create a new PAT…" (classify.go), and "HTTP 403: <server's words>" (describeStatus).
var (
	quotedAfterColon = regexp.MustCompile(`^(the server rejected the (?:personal|OAuth) access token): (.+?)(; (?:create a new PAT|authorize the connection again).*)$`)
	quotedHTTP       = regexp.MustCompile(`^(.*HTTP \d{3}): (.+?)(\); .*|\))?$`)
	linkInText       = regexp.MustCompile(`https?://[^\s;,"<>()]+`)
)

// checkWords makes a service message into the sentence shown (through sentence) and the
// server's own words it quotes, set apart; URLs in the sentence become links.
func checkWords(msg string) ([]wordPart, string) {
	text, quote := msg, ""
	if m := quotedAfterColon.FindStringSubmatch(msg); m != nil {
		text, quote = m[1]+m[3], m[2]
	} else if m := quotedHTTP.FindStringSubmatch(msg); m != nil && !strings.Contains(m[2], "without an Azure DevOps error") {
		text, quote = m[1]+m[3], m[2]
	}
	return linkWords(sentence(text)), strings.TrimSpace(quote)
}

// linkWords splits s into text and links (http and https URLs, a trailing full stop left out).
func linkWords(s string) []wordPart {
	var out []wordPart
	for s != "" {
		loc := linkInText.FindStringIndex(s)
		if loc == nil {
			out = append(out, wordPart{Text: s})
			break
		}
		link := strings.TrimRight(s[loc[0]:loc[1]], ".")
		if loc[0] > 0 {
			out = append(out, wordPart{Text: s[:loc[0]]})
		}
		out = append(out, wordPart{Text: link, URL: link})
		s = s[loc[0]+len(link):]
	}
	return out
}

// patPage is the personal access tokens page of a collection (Server) or organization
// (Services) URL: {collectionURL}/_usersSettings/tokens; none for an address that is not
// plain http(s).
func patPage(collectionURL string) fixLink {
	u, err := url.Parse(collectionURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fixLink{}
	}
	u.RawQuery, u.Fragment = "", ""
	return fixLink{URL: strings.TrimRight(u.String(), "/") + "/_usersSettings/tokens",
		Label: "Create a personal access token on " + u.Host}
}

// wizardFixBase is the PAT page of the form's server and collection, or organization.
func wizardFixBase(f wizardForm) fixLink {
	if f.Auth != "pat" || f.Collection == "" {
		return fixLink{}
	}
	if f.Kind == "services" {
		return patPage("https://dev.azure.com/" + url.PathEscape(f.Collection))
	}
	if f.ServerURL == "" {
		return fixLink{}
	}
	s := strings.TrimRight(f.ServerURL, "/")
	if f.VirtualDirectory != "" {
		s += "/" + f.VirtualDirectory
	}
	return patPage(s + "/" + url.PathEscape(f.Collection))
}

// connFixBase is the PAT page of a stored PAT connection.
func connFixBase(c *services.Connection) fixLink {
	if c == nil || c.Type == services.TypeServicesOAuth || c.Collection == "" {
		return fixLink{}
	}
	if strings.HasSuffix(strings.ToLower(c.ServerURL), ".visualstudio.com") { // the organization is the host
		return patPage(c.ServerURL)
	}
	return patPage(strings.TrimRight(c.ServerURL, "/") + "/" + url.PathEscape(c.Collection))
}

func init() {
	// checkViewOf is the panel of the check fragments: wizardData (the form's check) or
	// connectionData (Check again).
	uiFuncs["checkViewOf"] = func(d any) *checkView {
		var v checkView
		switch d := d.(type) {
		case wizardData:
			switch {
			case d.Check != nil: // a check's result, perhaps of a refused create (Problem too)
				v = resultView(d.Check, wizardFixBase(d.Form))
				if d.Problem != nil && v.Reason == "" {
					v.Reason = d.Problem.Code
					if v.Field = reasonField(connections.Reason(d.Problem.Code)); v.Field == "" {
						v.Field = problemField(d.Problem.Field)
					}
				}
			case d.Problem != nil:
				v = problemView(d.Problem)
			default:
				return nil
			}
		case connectionData:
			if d.Check == nil {
				return nil
			}
			v = resultView(d.Check, connFixBase(d.Conn))
		default:
			return nil
		}
		return &v
	}
	// stepViews shows steps of a check (a problem's steps) with the check's labels.
	uiFuncs["stepViews"] = func(steps []connections.CheckStep) []stepView {
		out := make([]stepView, 0, len(steps))
		for _, s := range steps {
			out = append(out, newStepView(s, fixLink{}))
		}
		return out
	}
}
