package azdosim

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Options configures a simulated Azure DevOps Server (docs/azure-devops-protocol.md §1).
type Options struct {
	// VirtualDir is the IIS virtual directory in front of the collections: "" (the default
	// since Server 2019), "tfs" (TFS 2018 and before) or a nested path such as "a/b".
	// Leading and trailing slashes are ignored.
	VirtualDir string
	// Collections lists the project collections; the first is the default collection
	// (seeded and imported data go there). Default ["DefaultCollection"].
	Collections []string
	// ServerVersion selects the REST API version ceiling: "2019" (5.0), "2020" (6.0),
	// "2022" (7.0) or "2022.1" (7.1). Default "2022". docs/azure-devops-protocol.md §1.
	ServerVersion string
	// PublicURL is the server's configured public URL including the virtual directory
	// (e.g. "http://localhost:8080/tfs"). When set, every URL in answers is built from it, as
	// a misconfigured real server does (docs/azure-devops-protocol.md §3); when empty, URLs are built from
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
	// (docs/azure-devops-protocol.md §3, reported).
	StripsSuppressHeader bool
	// Logger receives one record per request (method, path, status). Credentials are never
	// logged. nil discards.
	Logger *slog.Logger

	// Services makes the server behave like Azure DevOps Services (docs/azure-devops-protocol.md §1, §4,
	// §6): Collections are organizations (default ["fabrikam"]) served at /{org}/...,
	// VirtualDir must be empty, the REST ceiling is 7.2-preview (ServerVersion is ignored),
	// connectionData answers deploymentType "hosted", answers under /{org}/ carry
	// X-VSS-ResourceTenant, unauthenticated requests get the Bearer authorization_uri
	// challenge, unknown organizations answer 404 before authentication, and OAuth access
	// tokens (Bearer) are accepted. See services.go and bearer.go.
	Services bool
	// TenantID is the Microsoft Entra tenant (a GUID) every organization belongs to in
	// Services mode (ignored in Server mode). Default: a deterministic GUID derived from the
	// first organization name.
	TenantID string
	// AccessTokenLifetime is the lifetime of OAuth access tokens issued by the /_vssps and
	// /_entra token endpoints. Default one hour; expires_in answers it minus one second
	// ("3599"), as Azure DevOps does (docs/azure-devops-protocol.md §6).
	AccessTokenLifetime time.Duration

	// Faults are injected from the start (faults.go): 429 with Retry-After, 5xx, reset, slow
	// answers, throttling headers on a 200, per route. AddFault and ClearFaults change them
	// while serving.
	Faults []Fault
	// FaultControl enables the test-only control endpoint /_azdosim/faults (faultserve.go),
	// which lets anyone who can reach the server add or remove faults. Off by default.
	FaultControl bool
	// PolicyPage serves, in Services mode, /{org}/_settings/organizationPolicy: a page that
	// shows the organization's "Third-party application access via OAuth" policy and turns
	// it on or off (policypage.go), as the organization settings page of Azure DevOps does
	// for a Project Collection Administrator. Anyone who can reach the server may use it, so
	// it is for demos: off by default.
	PolicyPage bool

	// SSHAddr turns on the SSH server (sshserver.go): the address Start listens on for SSH,
	// e.g. "127.0.0.1:0" for a free port; "" (the default) serves no SSH. It serves
	// git-upload-pack for the Azure DevOps SSH paths (sshpath.go) to users' public keys
	// (AddSSHPublicKey, and the page /{collection}/_usersSettings/keys: sshkeyspage.go).
	SSHAddr string
	// SSHHostKey is the SSH host key, a PEM private key (OpenSSH, PKCS#1, PKCS#8 or SEC 1,
	// unencrypted). Default: DefaultSSHHostKey, the simulator's own stable RSA 3072 key.
	SSHHostKey string
	// SSHKeyTypes lists the user key types the SSH server accepts and AddSSHPublicKey takes:
	// "rsa", "ecdsa", "ed25519". Default: defaultSSHKeyTypes (RSA only for now, in every
	// mode). A key of another type is refused like a key not added.
	SSHKeyTypes []string
	// SSHRSASHA1Only makes the SSH server offer its RSA host key with ssh-rsa (SHA-1)
	// signatures only and accept RSA user keys only with ssh-rsa signatures, as Azure DevOps
	// did before it added rsa-sha2-256/512: OpenSSH 8.8 and later then refuse to connect
	// ("no matching host key type found. Their offer: ssh-rsa") unless told
	// HostKeyAlgorithms=+ssh-rsa and PubkeyAcceptedAlgorithms=+ssh-rsa. Which releases behave
	// so is for defaultSSHKeyTypes' table to settle; off by default.
	SSHRSASHA1Only bool

	// HookClient is the only HTTP client service hook deliveries go through (hookdelivery.go).
	// nil means a client that connects to loopback addresses only and follows no redirects.
	HookClient *http.Client
	// HookTimeout bounds one delivery attempt; 0 means DefaultHookTimeout.
	HookTimeout time.Duration
	// HookRetryDelay is the wait before the first retry after a transient failure (408, 502,
	// 503, 504, transport error), doubled per retry up to 60×; 0 means DefaultHookRetryDelay
	// (1 s, as Azure DevOps documents; hookdelivery.go).
	HookRetryDelay time.Duration
	// HookTransientRetries is how many times a transient failure is retried before it counts
	// as an enduring one; 0 means DefaultHookTransientRetries (8).
	HookTransientRetries int
	// HookProbationDelay is the wait before the first retry on probation, doubled per retry up
	// to 45×; 0 means DefaultHookProbationDelay (20 minutes).
	HookProbationDelay time.Duration
	// HookProbationRetries is how many retries on probation a notification gets before the
	// subscription is disabledBySystem; 0 means DefaultHookProbationRetries (7).
	HookProbationRetries int
	// HookMaxInFlight bounds concurrent delivery requests; 0 means DefaultHookMaxInFlight.
	HookMaxInFlight int
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

	tenantID  string
	tokenLife time.Duration

	mu          sync.Mutex
	collections []*collection // in configuration order; [0] is the default
	pats        map[string]PAT
	oauth       oauthState // apps, consents, codes and tokens (oauthstore.go)

	// apiRequests counts REST requests (paths with an _apis segment), for tests that check
	// whether a caller asked the server or answered from a cache.
	apiRequests atomic.Int64
	// faults holds the injected faults and the per-route request counts (faults.go).
	faults faultState
	// hooks holds service hooks subscriptions and deliveries (hooks.go, hookdelivery.go).
	hooks hookState

	// sshd is the SSH server, its host key and the users' public keys (sshserver.go).
	sshd sshState

	srvMu   sync.Mutex
	httpSrv *http.Server
	baseURL string
	conns   map[net.Conn]http.ConnState // lifecycle.go
}

// ceilingFor maps Options.ServerVersion to the highest REST API version (docs/azure-devops-protocol.md §1).
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
// It does not listen; use Handler or Start. Errors: unknown ServerVersion (Server mode),
// a VirtualDir or a TenantID that is not a GUID in Services mode, a negative
// AccessTokenLifetime, malformed PublicURL, an SSHHostKey that does not parse, an unknown
// SSHKeyTypes entry, missing git-http-backend, or a failed
// import/seed (the temporary data directory is removed again in that case).
func New(opts Options) (*Server, error) {
	ceiling, err := ceilingFor(opts.ServerVersion)
	if opts.Services {
		ceiling, err = servicesCeiling, nil
	}
	if err != nil {
		return nil, err
	}
	names := opts.Collections
	if len(names) == 0 {
		names = []string{"DefaultCollection"}
		if opts.Services {
			names = []string{"fabrikam"}
		}
	}
	tenant, life, err := checkServicesOptions(opts, names[0])
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
		tenantID:  tenant,
		tokenLife: life,
		oauth:     newOAuthState(),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if err := s.initSSH(); err != nil {
		return nil, err
	}
	s.faults.faults = append([]Fault(nil), opts.Faults...)
	s.hooks.q = newDeliveryQueue(opts)
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
// With SSH on (Options.SSHAddr) it also serves the SSH public keys page (sshkeyspage.go).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.SSHAddr != "" && s.serveKeysPage(w, r) {
			return
		}
		s.serveHTTP(w, r)
	})
}
