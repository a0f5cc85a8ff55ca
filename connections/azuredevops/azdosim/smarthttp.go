package azdosim

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/cgi"
	"path/filepath"
	"strings"
)

// azureUploadPackCaps is the capability set Azure DevOps advertises for upload-pack, in its
// order, without symref (docs/azure-devops-protocol.md §7): no ofs-delta, no agent.
const azureUploadPackCaps = "multi_ack thin-pack side-band side-band-64k no-progress multi_ack_detailed no-done shallow allow-tip-sha1-in-want filter"

// tf401041 is the answer to an upload-pack request without multi_ack (docs/azure-devops-protocol.md §7).
const tf401041 = "TF401041: The Git protocol sent is not as expected (Clients must support multi-ack.)"

// serveGit answers git smart HTTP (info/refs, git-upload-pack, git-receive-pack) through the
// real git http-backend, speaking protocol v0 as Azure DevOps does. Authentication is Basic
// with the PAT as password and any user name (the empty one too), or the PAT as user name
// with an empty password, or in Services mode an OAuth access token as Bearer or as the
// Basic password (authenticateBasic lists the sources); failures answer 401
// with WWW-Authenticate and a plain-text reason (TF400813 naming the user while the
// organization's OAuth policy is off or the user is not a member of it, VS30063 for an expired
// token), and another scheme gets the 203 sign-in page in Services mode. A disabled repository
// answers 404 with TF401019's text, as a missing one (captured in renovatebot/renovate#13013: git
// printed "remote: TF401019 ..." then "repository ... not found"). Upload-pack
// requests whose first want line lacks multi_ack and multi_ack_detailed answer 400 TF401041.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request, rt route) {
	service := rt.rest[0]
	if service == "info" {
		service = r.URL.Query().Get("service")
		if r.Method != http.MethodGet || (service != "git-upload-pack" && service != "git-receive-pack") {
			// The dumb protocol is not offered (exact real answer unconfirmed).
			http.Error(w, "The dumb HTTP git protocol is not supported.", http.StatusForbidden)
			return
		}
	} else if r.Method != http.MethodPost {
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	pat, res := s.authenticate(r, true, rt.coll)
	switch res {
	case authOK:
	case authWrongScheme:
		writeSignInPage(w)
		return
	case authExpired:
		s.writeGitAuthFailure(w, r, "Access Denied: The Personal Access Token used has expired.")
		return
	case authTokenExpired:
		s.writeGitAuthFailure(w, r, errTokenExpired(r).message)
		return
	case authPolicy, authNotMember:
		s.writeGitAuthFailure(w, r, errPolicyDisabled(identityOf(pat)).message)
		return
	default:
		s.writeGitAuthFailure(w, r, "TF400813: Resource not available for anonymous access. Client authentication required.")
		return
	}
	id := identityOf(pat)
	setUserData(w, id)
	need := "vso.code"
	if service == "git-receive-pack" {
		need = "vso.code_write"
	}
	if !hasScope(pat, need) {
		// Status for a git request with too narrow a PAT is unconfirmed; 401 like other
		// credential failures.
		s.writeGitAuthFailure(w, r, errMissingScope(id, need).message)
		return
	}
	s.mu.Lock()
	c := s.findCollectionLocked(rt.coll)
	s.mu.Unlock()
	if c == nil {
		http.Error(w, errCollectionNotFound(rt.coll).message, http.StatusNotFound)
		return
	}
	rp, e := s.resolveGitRepo(c, rt.project, rt.repo)
	if e != nil {
		http.Error(w, e.message, http.StatusNotFound)
		return
	}
	s.mu.Lock()
	disabled := rp.disabled
	s.mu.Unlock()
	if disabled {
		http.Error(w, errRepoNotFound(rp.name).message, http.StatusNotFound)
		return
	}
	var body []byte
	if r.Method == http.MethodPost {
		b, err := readGitBody(r)
		if err != nil {
			http.Error(w, "Bad request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		body = b
		if service == "git-upload-pack" && !wantsMultiAck(body) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, tf401041)
			return
		}
	}
	h := s.cgiHandler(rp.barePath, id.UniqueName)
	req := cgiRequest(r, rp.barePath, rt.rest, body)
	switch {
	case r.Method == http.MethodGet && service == "git-upload-pack":
		buf := &bufferedResponse{header: http.Header{}}
		h.ServeHTTP(buf, req)
		for k, v := range buf.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		out := buf.body.Bytes()
		if buf.status == 0 || buf.status == http.StatusOK {
			out = rewriteAdvertisement(out, defaultBranch(rp.barePath))
		}
		w.WriteHeader(max(buf.status, http.StatusOK))
		_, _ = w.Write(out)
	case service == "git-receive-pack" && r.Method == http.MethodPost:
		// The refs before and after the push give git.push's refUpdates (hookevents.go);
		// the hooks run after the answer is written, with s.mu not held.
		before := refSnapshot(rp.barePath)
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, req)
		fixHead(rp.barePath)
		if rec.status == 0 || rec.status == http.StatusOK {
			s.hooks.mu.Lock()
			s.hooks.base = s.publicBase(r)
			s.hooks.mu.Unlock()
			if ups := diffRefs(before, refSnapshot(rp.barePath)); len(ups) > 0 {
				s.onPush(c, rp, id, ups)
			}
		}
	default:
		h.ServeHTTP(w, req)
	}
}

// readGitBody reads the request body, decoding Content-Encoding gzip (git sends large
// negotiation requests compressed).
func readGitBody(r *http.Request) ([]byte, error) {
	var src io.Reader = r.Body
	switch strings.ToLower(r.Header.Get("Content-Encoding")) {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		src = zr
	}
	return io.ReadAll(src)
}

// wantsMultiAck reports whether the first want line of an upload-pack request lists
// multi_ack or multi_ack_detailed; a request without want lines passes.
func wantsMultiAck(body []byte) bool {
	pkts, _ := parsePkts(body)
	for _, p := range pkts {
		line := strings.TrimRight(string(p.data), "\n")
		if !strings.HasPrefix(line, "want ") {
			continue
		}
		for _, c := range strings.Fields(line)[2:] {
			if c == "multi_ack" || c == "multi_ack_detailed" {
				return true
			}
		}
		return false
	}
	return true
}

// cgiHandler runs git-http-backend for the bare repository at barePath.
func (s *Server) cgiHandler(barePath, user string) *cgi.Handler {
	env := append(gitIsolation(),
		"GIT_PROJECT_ROOT="+filepath.Dir(barePath),
		"GIT_HTTP_EXPORT_ALL=1",
		"REMOTE_USER="+user,
	)
	return &cgi.Handler{Path: s.backend, Env: env, Stderr: io.Discard}
}

// cgiRequest is r rewritten for git-http-backend: PATH_INFO /{repo dir}/{rest}, no
// credentials, no Git-Protocol header (so protocol v0 is spoken, like Azure DevOps), and the
// decoded body.
func cgiRequest(r *http.Request, barePath string, rest []string, body []byte) *http.Request {
	req := r.Clone(r.Context())
	req.URL.Path = "/" + filepath.Base(barePath) + "/" + strings.Join(rest, "/")
	req.URL.RawPath = ""
	req.Header.Del("Authorization")
	req.Header.Del("Git-Protocol")
	req.Header.Del("Content-Encoding")
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	return req
}

// rewriteAdvertisement replaces the capabilities of the first ref line of an upload-pack
// advertisement with Azure DevOps' set plus symref=HEAD:{defaultRef} (docs/azure-devops-protocol.md §7),
// and drops a "capabilities^{}" placeholder line so that an empty repository advertises no
// capability line at all.
func rewriteAdvertisement(body []byte, defaultRef string) []byte {
	pkts, rest := parsePkts(body)
	first := -1
	for i, p := range pkts {
		if p.flush {
			first = i + 1
			break
		}
	}
	if first < 0 || first >= len(pkts) || pkts[first].flush {
		return body
	}
	line := string(pkts[first].data)
	refPart, caps, hasCaps := strings.Cut(strings.TrimSuffix(line, "\n"), "\x00")
	if strings.HasSuffix(refPart, " capabilities^{}") {
		pkts = append(pkts[:first], pkts[first+1:]...)
		return append(encodePkts(pkts), rest...)
	}
	if !hasCaps {
		return body
	}
	symref := ""
	for _, c := range strings.Fields(caps) {
		if strings.HasPrefix(c, "symref=HEAD:") {
			symref = c
		}
	}
	if symref == "" && defaultRef != "" {
		symref = "symref=HEAD:" + defaultRef
	}
	newCaps := azureUploadPackCaps
	if symref != "" {
		newCaps += " " + symref
	}
	pkts[first].data = []byte(refPart + "\x00" + newCaps + "\n")
	return append(encodePkts(pkts), rest...)
}

// bufferedResponse collects a handler's answer so it can be rewritten.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// statusRecorder passes an answer through and remembers its status.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
