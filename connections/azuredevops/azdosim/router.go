package azdosim

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// statusWriter records the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streamed git answers reach the client as they are produced.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// route is a parsed request path (names percent-decoded).
type route struct {
	coll, project, repo string
	git                 bool     // under _git/{repo}
	rest                []string // segments after _apis, or after _git/{repo}
}

// serveHTTP logs, sets the correlation headers and dispatches.
func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	if s.opts.FaultControl && strings.HasPrefix(r.URL.Path, ControlPrefix) {
		s.serveControl(rw, r)
		return
	}
	w := &statusWriter{ResponseWriter: rw}
	if strings.Contains(r.URL.Path, "/_apis/") {
		s.apiRequests.Add(1)
	}
	s.setCommonHeaders(w)
	route := s.routeName(r)
	if f, ok := s.faults.take(route, r.Method, r.URL.EscapedPath(), time.Now()); ok && s.applyFault(w, rw, r, f) {
		// Only method, path, route and fault: never the Authorization header or the query.
		s.logger.Info("azdosim request", "method", r.Method, "path", r.URL.Path, "status", w.status, "fault", string(f.Kind))
		return
	}
	s.dispatch(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	// Only method, path and status: never the Authorization header or the query.
	s.logger.Info("azdosim request", "method", r.Method, "path", r.URL.Path, "status", w.status)
}

// APIRequests returns how many REST requests (paths with an "_apis" segment, any status)
// the server has received since it started. Safe while serving.
func (s *Server) APIRequests() int64 { return s.apiRequests.Load() }

// splitPath splits the escaped path into decoded segments; ok is false on a bad escape.
func splitPath(escaped string) ([]string, bool) {
	var segs []string
	for _, raw := range strings.Split(escaped, "/") {
		if raw == "" {
			continue
		}
		seg, err := url.PathUnescape(raw)
		if err != nil {
			return nil, false
		}
		segs = append(segs, seg)
	}
	return segs, true
}

// parseRoute maps path segments (virtual directory already removed) to a route. Shapes:
// /_apis/..., /{coll}/_apis/..., /{coll}/{project}/_apis/..., /{coll}/_git/{repo}/...,
// /{coll}/{project}/_git/{repo}/... with the optional limited-refs markers _optimized/_full
// before the repository name (docs/azure-devops-protocol.md §2).
func parseRoute(segs []string) (route, bool) {
	switch {
	case len(segs) >= 1 && segs[0] == "_apis":
		return route{rest: segs[1:]}, true
	case len(segs) >= 2 && segs[1] == "_apis":
		return route{coll: segs[0], rest: segs[2:]}, true
	case len(segs) >= 3 && segs[2] == "_apis":
		return route{coll: segs[0], project: segs[1], rest: segs[3:]}, true
	case len(segs) >= 3 && segs[1] == "_git":
		return gitRoute(segs[0], "", segs[2:])
	case len(segs) >= 4 && segs[2] == "_git":
		return gitRoute(segs[0], segs[1], segs[3:])
	}
	return route{}, false
}

func gitRoute(coll, project string, tail []string) (route, bool) {
	if len(tail) >= 2 && (tail[0] == "_optimized" || tail[0] == "_full") {
		tail = tail[1:]
	}
	if strings.HasPrefix(tail[0], "_") {
		return route{}, false
	}
	return route{coll: coll, project: project, repo: tail[0], git: true, rest: tail[1:]}, true
}

// stripVirtualDir removes the virtual directory segments (matched case-insensitively, as IIS
// does).
func (s *Server) stripVirtualDir(segs []string) ([]string, bool) {
	if len(segs) < len(s.vdir) {
		return nil, false
	}
	for i, v := range s.vdir {
		if !strings.EqualFold(segs[i], v) {
			return nil, false
		}
	}
	return segs[len(s.vdir):], true
}

// dispatch routes a request: the OAuth endpoints /_vssps/... (vssps.go) and /_entra/...
// (entra.go) at the root of the host, outside the virtual directory; everything else below
// the virtual directory (REST, vsts/info, git smart HTTP). In Services mode it sets
// X-VSS-ResourceTenant for existing organizations and answers 404 for unknown ones before
// authentication (services.go).
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	segs, ok := splitPath(r.URL.EscapedPath())
	if ok && len(segs) > 0 {
		switch segs[0] {
		case vsspsPrefix:
			s.serveVSSPS(w, r, segs[1:])
			return
		case entraPrefix:
			s.serveEntra(w, r, segs[1:])
			return
		}
	}
	if ok {
		segs, ok = s.stripVirtualDir(segs)
	}
	if ok {
		s.setTenantHeader(w, segs)
	}
	if ok && s.opts.Services && s.opts.PolicyPage && len(segs) == 3 && segs[1] == "_settings" && segs[2] == "organizationPolicy" {
		s.servePolicyPage(w, r, segs[0])
		return
	}
	var rt route
	if ok {
		rt, ok = parseRoute(segs)
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	if s.rejectUnknownOrg(w, rt) {
		return
	}
	if !rt.git {
		s.serveAPI(w, r, rt)
		return
	}
	switch {
	case len(rt.rest) == 2 && rt.rest[0] == "vsts" && rt.rest[1] == "info":
		s.serveVstsInfo(w, r, rt)
	case len(rt.rest) == 2 && rt.rest[0] == "info" && rt.rest[1] == "refs",
		len(rt.rest) == 1 && (rt.rest[0] == "git-upload-pack" || rt.rest[0] == "git-receive-pack"):
		s.serveGit(w, r, rt)
	default:
		http.NotFound(w, r)
	}
}
