package azdosim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Options configures a simulated Azure DevOps Server (azure-devops.md §1).
type Options struct {
	// VirtualDir is the IIS virtual directory in front of the collections: "" (the default
	// since Server 2019), "tfs" (TFS 2018 and before) or a nested path such as "a/b".
	// Leading and trailing slashes are ignored.
	VirtualDir string
	// Collections lists the project collections; the first is the default collection
	// (seeded and imported data go there). Default ["DefaultCollection"].
	Collections []string
	// ServerVersion selects the REST API version ceiling: "2019" (5.0), "2020" (6.0),
	// "2022" (7.0) or "2022.1" (7.1). Default "2022". azure-devops.md §1.
	ServerVersion string
	// PublicURL is the server's configured public URL including the virtual directory
	// (e.g. "http://localhost:8080/tfs"). When set, every URL in answers is built from it, as
	// a misconfigured real server does (azure-devops.md §3); when empty, URLs are built from
	// the request's scheme, Host header and the virtual directory.
	PublicURL string
	// DataDir is where created bare repositories live. Default: a temporary directory that
	// Close removes.
	DataDir string
	// Seed creates the demo data (see seed.go) in the default collection.
	Seed bool
	// ImportDir holds bare repositories laid out as {Project}/{repo}.git; they are imported
	// in place into the default collection.
	ImportDir string
	// GitHTTPBackend is the path of git-http-backend. Default: `git --exec-path`/git-http-backend.
	GitHTTPBackend string
	// StripsSuppressHeader simulates a reverse proxy or federation front end in front of the
	// server that drops the X-TFS-FedAuthRedirect header: every bad or expired credential then
	// gets the 203 HTML sign-in page, even from clients that send "Suppress"
	// (azure-devops.md §3, reported).
	StripsSuppressHeader bool
	// Logger receives one record per request (method, path, status). Credentials are never
	// logged. nil discards.
	Logger *slog.Logger
}

// Server is a simulated Azure DevOps Server. Its methods are safe for concurrent use, also
// while it serves requests.
type Server struct {
	opts       Options
	vdir       []string // virtual directory segments
	ceiling    apiVersion
	backend    string
	dataDir    string
	removeData bool
	logger     *slog.Logger
	processID  string
	deployID   string

	mu          sync.Mutex
	collections []*collection // in configuration order; [0] is the default
	pats        map[string]PAT

	srvMu   sync.Mutex
	httpSrv *http.Server
	baseURL string
}

// ceilingFor maps Options.ServerVersion to the highest REST API version (azure-devops.md §1).
func ceilingFor(serverVersion string) (apiVersion, error) {
	switch serverVersion {
	case "2019":
		return apiVersion{Major: 5, Minor: 0}, nil
	case "2020":
		return apiVersion{Major: 6, Minor: 0}, nil
	case "", "2022":
		return apiVersion{Major: 7, Minor: 0}, nil
	case "2022.1":
		return apiVersion{Major: 7, Minor: 1}, nil
	}
	return apiVersion{}, fmt.Errorf("azdosim: unknown server version %q (want 2019, 2020, 2022 or 2022.1)", serverVersion)
}

// New builds a server from opts: it validates the options, locates git-http-backend,
// creates the collections, imports Options.ImportDir and seeds the demo data when asked.
// It does not listen; use Handler or Start. Errors: unknown ServerVersion, malformed
// PublicURL, missing git-http-backend, or a failed import/seed (the temporary data directory
// is removed again in that case).
func New(opts Options) (*Server, error) {
	ceiling, err := ceilingFor(opts.ServerVersion)
	if err != nil {
		return nil, err
	}
	if opts.PublicURL != "" {
		if err := checkPublicURL(opts.PublicURL); err != nil {
			return nil, err
		}
	}
	backend := opts.GitHTTPBackend
	if backend == "" {
		out, err := exec.Command("git", "--exec-path").Output()
		if err != nil {
			return nil, fmt.Errorf("azdosim: locating git-http-backend: %w", err)
		}
		backend = filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	}
	if _, err := os.Stat(backend); err != nil {
		return nil, fmt.Errorf("azdosim: git-http-backend: %w", err)
	}
	s := &Server{
		opts:      opts,
		vdir:      splitVirtualDir(opts.VirtualDir),
		ceiling:   ceiling,
		backend:   backend,
		logger:    opts.Logger,
		processID: uuid.NewString(),
		deployID:  deterministicID("deployment", opts.VirtualDir),
		pats:      map[string]PAT{},
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.dataDir = opts.DataDir
	if s.dataDir == "" {
		dir, err := os.MkdirTemp("", "azdosim-")
		if err != nil {
			return nil, fmt.Errorf("azdosim: data dir: %w", err)
		}
		s.dataDir, s.removeData = dir, true
	} else if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("azdosim: data dir: %w", err)
	}
	names := opts.Collections
	if len(names) == 0 {
		names = []string{"DefaultCollection"}
	}
	for _, n := range names {
		if err := s.addCollection(n); err != nil {
			s.Close()
			return nil, err
		}
	}
	if opts.ImportDir != "" {
		if err := s.importDir(opts.ImportDir); err != nil {
			s.Close()
			return nil, err
		}
	}
	if opts.Seed {
		if err := s.seed(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// splitVirtualDir turns "a/b", "/tfs/" or "" into path segments.
func splitVirtualDir(v string) []string {
	var out []string
	for _, p := range strings.Split(v, "/") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Handler returns the whole server as an http.Handler; it works under httptest.NewServer and
// httptest.NewTLSServer as well (URLs in answers then use the request's scheme and Host).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background until Close.
// Errors: listen failure, or the server already started.
func (s *Server) Start(addr string) error {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.httpSrv != nil {
		return errors.New("azdosim: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("azdosim: listen: %w", err)
	}
	s.httpSrv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	s.baseURL = strings.TrimSuffix("http://"+ln.Addr().String()+"/"+strings.Join(s.vdir, "/"), "/")
	go func(srv *http.Server) { _ = srv.Serve(ln) }(s.httpSrv)
	return nil
}

// URL returns the base URL after Start: scheme, listen address and virtual directory, without
// a trailing slash (e.g. "http://127.0.0.1:43121/tfs"). Empty before Start.
func (s *Server) URL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.baseURL
}

// Close stops serving (closing open connections) and removes the temporary data directory
// when New created it. Imported repositories and an explicit DataDir are left alone.
func (s *Server) Close() error {
	s.srvMu.Lock()
	srv := s.httpSrv
	s.httpSrv = nil
	s.srvMu.Unlock()
	var errs []error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, srv.Close())
		}
		cancel()
	}
	if s.removeData && s.dataDir != "" {
		errs = append(errs, os.RemoveAll(s.dataDir))
	}
	return errors.Join(errs...)
}
