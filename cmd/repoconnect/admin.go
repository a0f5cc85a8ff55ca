package main

// The admin socket: with the embedded store, serve holds the bbolt file (an exclusive file
// lock) for as long as it runs, so `apikey create|list|revoke` cannot open it. serve therefore
// listens on a unix socket in the data directory, {data-dir}/admin.sock, and the apikey
// commands run through it when a service answers there.
//
// Who may use it: only the socket's file mode (0600, owned by the user serve runs as) and the
// data directory's (owned by that user, not writable by group or others: serve checks) guard
// it; on Linux serve also refuses a connection whose peer (SO_PEERCRED) is neither that user
// nor root. Whoever passes these checks could open the bbolt file when the service is stopped
// anyway, so the socket grants nothing new.
//
// The protocol is HTTP/1.1 with JSON bodies on that socket, local only (no TCP listener):
//
//	GET  /v1/info                → 200 {"store": "/abs/path/repoconnect.db", "pid": 1234}
//	POST /v1/apikeys             {"tenant": "acme"}
//	                             → 201 {"key": "rck_…", "apiKey": {"id", "tenantId", "createdAt"}}
//	GET  /v1/apikeys[?tenant=T]  → 200 {"keys": [{"id", "tenantId", "createdAt"}, …]} (no T: every tenant)
//	POST /v1/apikeys/revoke      {"tenant": "" | "acme", "ref": {"id": "id or prefix"} | {"hash": "hex SHA-256 of the key"}}
//	                             → 200 {"apiKey": {…}, "searched": ["acme", "default"]}
//
// Errors are application/problem+json bodies with "code" (invalid_input and "field",
// apikey_not_found and "searched", apikey_ambiguous and "matches", internal), "status" and
// "detail". The created key travels once, in the answer to POST /v1/apikeys; it is never
// logged. A key named for revocation travels as its hash only.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

// adminSocketName is the admin socket's file name in the data directory.
const adminSocketName = "admin.sock"

// maxSocketPath is the longest unix socket path accepted: sun_path holds 108 bytes on Linux
// and 104 on the BSDs and macOS, the terminating NUL included.
const maxSocketPath = 103

// adminSocketPath is the admin socket of the data directory dir.
func adminSocketPath(dir string) string { return filepath.Join(dir, adminSocketName) }

// boltPath is the embedded store's file, for openStore and the admin socket alike: {data-dir}/repoconnect.db,
// or the path of a bolt:// --store. Errors: a usage error for another scheme.
func (f *storeFlags) boltPath() (string, error) {
	if f.storeURL == "" {
		return filepath.Join(f.dataDir, "repoconnect.db"), nil
	}
	u, err := url.Parse(f.storeURL)
	if err != nil || u.Scheme != "bolt" {
		return "", usageError("--store must be bolt://PATH, redis://…, rediss://…, redis+sentinel://… or redis+cluster://… (see --help)")
	}
	if u.Opaque != "" {
		return u.Opaque, nil
	}
	return u.Host + u.Path, nil
}

// checkAdminDir refuses a data directory the admin socket would not be private in: one
// owned by another user (Linux, ownerProblem), or writable by group or others (who could
// replace the socket).
func checkAdminDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := ownerProblem(dir, fi); err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("the data directory %s is writable by group or others (mode %04o): chmod go-w it to have the admin socket", dir, fi.Mode().Perm())
	}
	return nil
}

// serveAdmin starts the admin socket of a serve on the embedded store (a no-op on Redis,
// which every process opens directly) and returns the function that stops it and removes
// the socket file. When the socket cannot be had (see listenAdmin) serve runs on without
// it and the log says why.
func serveAdmin(log *slog.Logger, dataDir string, be *backend, svc *services.Service) (stop func()) {
	if be.redis != nil {
		return func() {}
	}
	storePath, err := filepath.Abs(be.boltPath)
	if err != nil {
		storePath = be.boltPath
	}
	sock, err := listenAdmin(dataDir, log)
	if err != nil {
		log.Warn("no admin socket: apikey create, list and revoke cannot reach this instance while it runs", "err", err)
		return func() {}
	}
	srv := &http.Server{
		Handler:           adminHandler(svc, storePath, log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(sock) }()
	log.Info("admin socket for apikey create, list and revoke", "path", sock.path)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		sock.remove()
	}
}

// adminListener is the admin socket's listener: it refuses peers of other users (Linux) and
// knows the file it bound, to remove it only while it is still its own.
type adminListener struct {
	net.Listener
	path string
	info os.FileInfo
	log  *slog.Logger
}

// Accept returns the next connection of an allowed peer, closing the others.
func (l *adminListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if uid, ok := peerAllowed(c); !ok {
			l.log.Warn("admin socket: refused a connection from another user", "uid", uid)
			c.Close()
			continue
		}
		return c, nil
	}
}

// remove deletes the socket file if it is still the one this listener bound.
func (l *adminListener) remove() {
	if cur, err := os.Lstat(l.path); err == nil && os.SameFile(cur, l.info) {
		_ = os.Remove(l.path)
	}
}

// listenAdmin binds {dir}/admin.sock with mode 0600. Errors: the directory is not the
// user's or is writable by group or others, the path is too long for a unix socket, a
// file that is not a socket is in the way, or something answers on the socket already (a
// second serve on the data directory with another store file). A socket nothing answers on
// (left by a crash) is replaced. The socket is bound in a private directory, given its mode
// and renamed into place, so it is never reachable with a wider mode.
func listenAdmin(dir string, log *slog.Logger) (*adminListener, error) {
	if err := checkAdminDir(dir); err != nil {
		return nil, err
	}
	path := adminSocketPath(dir)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("the socket path %s has %d bytes, more than the %d a unix socket path may have: use a shorter --data-dir", path, len(path), maxSocketPath)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket: move it away", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		switch {
		case err == nil:
			c.Close()
			return nil, fmt.Errorf("another process answers on %s (a second serve on this data directory, with another store?)", path)
		case errors.Is(err, syscall.ECONNREFUSED):
			log.Info("replacing a stale admin socket (nothing answers on it)", "path", path)
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, fmt.Errorf("check the existing socket %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	tmp, err := os.MkdirTemp(dir, ".admin")
	if err != nil {
		return nil, fmt.Errorf("create the admin socket: %w", err)
	}
	defer os.RemoveAll(tmp)
	bind := filepath.Join(tmp, "s")
	if len(bind) > maxSocketPath {
		return nil, fmt.Errorf("the socket path %s has %d bytes, more than the %d a unix socket path may have: use a shorter --data-dir", bind, len(bind), maxSocketPath)
	}
	ln, err := net.Listen("unix", bind)
	if err != nil {
		return nil, fmt.Errorf("listen on the admin socket: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(bind, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("set the admin socket's mode: %w", err)
	}
	if err := os.Rename(bind, path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("create the admin socket: %w", err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &adminListener{Listener: ln, path: path, info: info, log: log}, nil
}

// adminKey is an API key as the admin protocol shows it: never its hash.
type adminKey struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenantId"`
	CreatedAt time.Time `json:"createdAt"`
}

func toAdminKey(k *store.APIKey) adminKey {
	return adminKey{ID: k.ID, TenantID: k.TenantID, CreatedAt: k.CreatedAt}
}

func (k adminKey) record() *store.APIKey {
	return &store.APIKey{ID: k.ID, TenantID: k.TenantID, CreatedAt: k.CreatedAt}
}

// adminProblem is the admin protocol's error body.
type adminProblem struct {
	Status   int        `json:"status"`
	Code     string     `json:"code"`
	Detail   string     `json:"detail"`
	Field    string     `json:"field,omitempty"`
	Ref      string     `json:"ref,omitempty"`
	Searched []string   `json:"searched,omitempty"`
	Matches  []adminKey `json:"matches,omitempty"`
}

type adminCreateRequest struct {
	Tenant string `json:"tenant"`
}

type adminCreateAnswer struct {
	Key    string   `json:"key"`
	APIKey adminKey `json:"apiKey"`
}

type adminListAnswer struct {
	Keys []adminKey `json:"keys"`
}

type adminRevokeRequest struct {
	Tenant string             `json:"tenant"`
	Ref    services.APIKeyRef `json:"ref"`
}

type adminRevokeAnswer struct {
	APIKey   adminKey `json:"apiKey"`
	Searched []string `json:"searched"`
}

type adminInfo struct {
	Store string `json:"store"`
	PID   int    `json:"pid"`
}

// adminHandler serves the admin protocol (see the top of this file) for svc, whose
// embedded store is the file storePath. Each change is logged with the key id and tenant
// (never the key).
func adminHandler(svc *services.Service, storePath string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, adminInfo{Store: storePath, PID: os.Getpid()})
	})
	mux.HandleFunc("POST /v1/apikeys", func(w http.ResponseWriter, r *http.Request) {
		var req adminCreateRequest
		if !readJSON(w, r, &req) {
			return
		}
		key, rec, err := svc.CreateAPIKey(r.Context(), req.Tenant)
		if err != nil {
			writeAdminError(w, log, err)
			return
		}
		log.Info("API key created through the admin socket", "id", rec.ID, "tenant", rec.TenantID)
		writeJSON(w, http.StatusCreated, adminCreateAnswer{Key: key, APIKey: toAdminKey(rec)})
	})
	mux.HandleFunc("GET /v1/apikeys", func(w http.ResponseWriter, r *http.Request) {
		keys, err := svc.ListAPIKeys(r.Context(), r.URL.Query().Get("tenant"))
		if err != nil {
			writeAdminError(w, log, err)
			return
		}
		out := adminListAnswer{Keys: make([]adminKey, len(keys))}
		for i, k := range keys {
			out.Keys[i] = toAdminKey(k)
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /v1/apikeys/revoke", func(w http.ResponseWriter, r *http.Request) {
		var req adminRevokeRequest
		if !readJSON(w, r, &req) {
			return
		}
		rev, err := svc.RevokeAPIKeyRef(r.Context(), req.Tenant, req.Ref)
		if err != nil {
			writeAdminError(w, log, err)
			return
		}
		log.Info("API key revoked through the admin socket", "id", rev.Key.ID, "tenant", rev.Key.TenantID)
		writeJSON(w, http.StatusOK, adminRevokeAnswer{APIKey: toAdminKey(rev.Key), Searched: rev.Searched})
	})
	mountAdminHostKey(mux, svc, log) // admin_hostkey.go
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, adminProblem{Status: http.StatusNotFound, Code: "not_found",
			Detail: fmt.Sprintf("the admin socket has no %s %s (this repoconnect and the running service may differ in version)", r.Method, r.URL.Path)})
	})
	return mux
}

// readJSON decodes a request body of at most 64 KiB into v, answering 400 when it is not
// one JSON object of v's fields.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeProblem(w, adminProblem{Status: http.StatusBadRequest, Code: "invalid_input", Detail: "the body is not the JSON object this request takes: " + err.Error()})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, p adminProblem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeAdminError answers a service error as a problem; a store failure is logged and
// answered with its text (the store's errors carry no secret).
func writeAdminError(w http.ResponseWriter, log *slog.Logger, err error) {
	var (
		ce       *connections.Error
		notFound *services.APIKeyNotFoundError
		ambig    *services.AmbiguousAPIKeyError
	)
	switch {
	case errors.As(err, &ce) && errors.Is(err, connections.ErrInvalidInput):
		writeProblem(w, adminProblem{Status: http.StatusBadRequest, Code: "invalid_input", Detail: ce.Message, Field: ce.Field})
	case errors.As(err, &notFound):
		writeProblem(w, adminProblem{Status: http.StatusNotFound, Code: "apikey_not_found", Detail: notFound.Error(),
			Ref: notFound.Ref, Searched: notFound.Searched})
	case errors.As(err, &ambig):
		p := adminProblem{Status: http.StatusConflict, Code: "apikey_ambiguous", Detail: ambig.Error(), Ref: ambig.Ref}
		for _, k := range ambig.Matches {
			p.Matches = append(p.Matches, toAdminKey(k))
		}
		writeProblem(w, p)
	default:
		log.Error("admin socket request failed", "err", err)
		writeProblem(w, adminProblem{Status: http.StatusInternalServerError, Code: "internal", Detail: err.Error()})
	}
}

// errNoAdmin is tryAdmin's answer when no service answers on the socket: there is no socket
// file, or nothing listens on it (left by a crash).
var errNoAdmin = errors.New("no service answers on the admin socket")

// adminClient runs the apikey commands through a running service's admin socket.
type adminClient struct {
	path string
	hc   *http.Client
}

// tryAdmin connects to the admin socket at path and checks that the service there serves
// the store file storePath. Errors: errNoAdmin (no socket, nothing listening, or a service
// of another store: the caller opens the store itself), else a sentence saying what is
// wrong with the socket (another user's, not answering).
func tryAdmin(ctx context.Context, path, storePath string) (*adminClient, error) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return nil, errNoAdmin
	}
	c := &adminClient{path: path, hc: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
			DisableKeepAlives: true,
		},
	}}
	conn, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "unix", path)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, os.ErrNotExist):
		return nil, errNoAdmin
	case errors.Is(err, os.ErrPermission):
		return nil, fmt.Errorf("the admin socket %s is another user's (permission denied): run this command as the user the service runs as", path)
	case err != nil:
		return nil, fmt.Errorf("the admin socket %s: %w", path, err)
	}
	conn.Close()
	var info adminInfo
	if err := c.do(ctx, http.MethodGet, "/v1/info", nil, &info); err != nil {
		return nil, fmt.Errorf("the service on the admin socket %s did not answer as one: %w", path, err)
	}
	if abs, err := filepath.Abs(storePath); err == nil {
		storePath = abs
	}
	if info.Store != storePath {
		return nil, errNoAdmin // that service holds another file; this one may be free
	}
	return c, nil
}

// do sends a request with body in JSON (nil: none) and decodes a 2xx answer into out; any
// other answer is the error adminError makes of its problem body.
func (c *adminClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://admin.sock"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var p adminProblem
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&p); err != nil || p.Detail == "" {
			return fmt.Errorf("the service answered %s", resp.Status)
		}
		return adminError(p)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// adminError turns a problem body back into the error the service returned, so that the
// apikey commands print the same through the socket as on the store.
func adminError(p adminProblem) error {
	switch p.Code {
	case "invalid_input":
		e := connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, "%s", p.Detail)
		e.Field = p.Field
		return e
	case "apikey_not_found":
		return &services.APIKeyNotFoundError{Ref: p.Ref, Searched: p.Searched}
	case "apikey_ambiguous":
		e := &services.AmbiguousAPIKeyError{Ref: p.Ref}
		for _, k := range p.Matches {
			e.Matches = append(e.Matches, k.record())
		}
		return e
	}
	return errors.New(p.Detail)
}

func (c *adminClient) create(ctx context.Context, tenant string) (string, *store.APIKey, error) {
	var a adminCreateAnswer
	if err := c.do(ctx, http.MethodPost, "/v1/apikeys", adminCreateRequest{Tenant: tenant}, &a); err != nil {
		return "", nil, err
	}
	return a.Key, a.APIKey.record(), nil
}

func (c *adminClient) list(ctx context.Context, tenant string) ([]*store.APIKey, error) {
	var a adminListAnswer
	if err := c.do(ctx, http.MethodGet, "/v1/apikeys?tenant="+url.QueryEscape(tenant), nil, &a); err != nil {
		return nil, err
	}
	out := make([]*store.APIKey, len(a.Keys))
	for i, k := range a.Keys {
		out[i] = k.record()
	}
	return out, nil
}

func (c *adminClient) revoke(ctx context.Context, tenant string, ref services.APIKeyRef) (*services.APIKeyRevocation, error) {
	var a adminRevokeAnswer
	if err := c.do(ctx, http.MethodPost, "/v1/apikeys/revoke", adminRevokeRequest{Tenant: tenant, Ref: ref}, &a); err != nil {
		return nil, err
	}
	return &services.APIKeyRevocation{Key: a.APIKey.record(), Searched: a.Searched}, nil
}

func (c *adminClient) close() {}
func (c *adminClient) where() string {
	return "the running service, through its admin socket " + c.path
}
