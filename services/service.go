// Package services holds the use cases of repoconnect: connections (created only after their
// token check passes, credentials sealed at rest), the repository catalog of a connection,
// build profiles, clones and API keys. It sits between the web layer and the forge drivers
// (connections/...) and the clone engine (gitops), and knows nothing of HTTP routing.
package services

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/connections/resilience"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/catalogcache"
	"github.com/repoconnect/repoconnect/services/ratelimit"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/telemetry"
)

// Options configures a Service.
type Options struct {
	// Store persists records; required.
	Store store.Store
	// Keyring seals credentials before they reach the store; required.
	Keyring *secrets.Keyring
	// WorkDir is where clones are made, one directory per clone below it; required for Clone.
	WorkDir string
	// ForgeTimeout bounds each REST request to a forge; 0 means the driver's default (30 s).
	ForgeTimeout time.Duration
	// CloneTimeout bounds one clone; 0 means the clone engine's default (30 minutes).
	CloneTimeout time.Duration
	// MaxCloneBytes bounds what a clone writes to disk: its pack (reason
	// repository_too_large) and its pack and work tree together (reason
	// work_tree_too_large); 0 means no limit.
	MaxCloneBytes int64
	// MaxClones is how many clone jobs (StartClone) run at once in this process; the others
	// wait in state queued. 0 means DefaultMaxClones.
	MaxClones int
	// Logger receives operational logs (never secrets); nil discards.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// OAuth configures OAuth connections to Azure DevOps Services (the default app, the
	// callback URL, the providers' addresses).
	OAuth OAuthSettings
	// Catalog caches projects, repositories and branches per connection (catalogcache); nil
	// means an in-process cache of DefaultCatalogEntries entries with catalogcache's default
	// freshness. Several instances on one Redis share a Redis-backed one.
	Catalog *catalogcache.Cache
	// Limiter counts token checks (ActionCheckToken) and connection creations
	// (ActionCreateConnection) per tenant; nil means no limits.
	Limiter ratelimit.Limiter
	// CloneQueue holds and runs clone jobs (clonequeue.go); nil means in-process, in this
	// instance only. Instances on one Redis share their jobs through NewRedisCloneQueue (a
	// value of its own for each Service).
	CloneQueue CloneQueue
	// CloneRetention is how long clone directories stay below WorkDir before the janitor
	// removes them (janitor.go; by modification time); 0 keeps them forever.
	CloneRetention time.Duration
	// Pacer slows each connection down when Azure DevOps asks (Retry-After, even on a 200;
	// a low X-RateLimit-Remaining), keyed by connection id (resilience.WithKey); nil means an
	// in-process resilience.Memory. Instances on one Redis share pacing.NewRedis.
	Pacer resilience.Pacer
	// Retry tunes the retries of REST requests and token checks (resilience.Options: attempts,
	// backoff, Retry-After cap); its Pacer and Logger are replaced by the service's. The zero
	// value gives resilience's defaults (4 attempts, Retry-After capped at 30 s).
	Retry resilience.Options
	// Door is the outbound door (connections/egress) of every request to a destination a
	// tenant chose: token checks, the REST client, vsts/info, clones and submodules. nil
	// means egress.Default(), the default policy (loopback, link-local and metadata
	// destinations refused). The operator's OAuth.ServicesURL is allowed on it; the OAuth
	// token requests go through it too, with the providers' addresses allowed as well.
	Door *egress.Door
	// MaxCloneFiles bounds the files and directories of a clone's work tree (reason
	// too_many_files); 0 means no limit.
	MaxCloneFiles int64
	// MaxObjectBytes bounds one object of a cloned repository, inflated (reason
	// object_too_large); 0 means gitops.DefaultMaxObjectBytes (1 GiB).
	MaxObjectBytes int64
	// MinFreeSpace is the free space, in bytes, clones leave on WorkDir's file system
	// (reason disk_space_low); 0 means no reserve.
	MinFreeSpace int64
	// CloneMemory is the memory budget, in bytes, the object contents of every clone of the
	// process share (gitops.MemoryBudget; reason memory_budget_exceeded); 0 means none.
	CloneMemory int64
	// Runs tunes runs and the service-hook endpoint (retention, event TTL, body bound).
	Runs RunSettings
	// CacheDir is the repository cache's directory (gitops.Cache, opened once by New): every
	// clone fetches into it incrementally and checks out from it, keyed by tenant,
	// connection and repository. "" means no cache: every clone is cold, and profiles with
	// workspace "reuse" clone into fresh directories. `repoconnect serve` sets
	// {data-dir}/cache. Each instance has its own (on Redis deployments too).
	CacheDir string
	// CacheMaxBytes bounds the cache on disk, least recently used repositories out first; 0
	// means no bound (serve's default is DefaultCacheMaxBytes).
	CacheMaxBytes int64
	// Metrics receives the service's measurements (upstream calls, store calls, clones, token
	// refreshes, the clone queue, the catalog cache; telemetry.go); nil means a new
	// telemetry.NewMetrics, returned by Metrics.
	Metrics *telemetry.Metrics
	// ServicesSSHHostKeyFingerprints are the SHA-256 host key fingerprints ("SHA256:…")
	// trusted for the SSH clones of Azure DevOps Services connections (services-pat,
	// services-oauth); empty means the ones Microsoft publishes
	// (azuredevops.ServicesSSHHostKeyFingerprints). The demo and tests set their simulator's.
	ServicesSSHHostKeyFingerprints []string
}

// DefaultCatalogEntries bounds the default in-process catalog cache (entries: one list each).
const DefaultCatalogEntries = 10000

// Service implements the use cases. Safe for concurrent use.
type Service struct {
	store   store.Store
	keyring *secrets.Keyring
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	// door makes the HTTP transports of forge requests (one per CA bundle, shared, so
	// connections share keep-alive pools) and applies the outbound policy; oauthDoor is door
	// with the operator's OAuth addresses allowed, for token requests.
	door, oauthDoor *egress.Door
	// refreshes deduplicates concurrent token refreshes of one connection in this process.
	refreshes singleflight.Group
	catalog   *catalogcache.Cache
	// decoded keeps the catalog's lists decoded (catalogmemo.go).
	decoded *catalogMemo
	limiter ratelimit.Limiter
	clones  cloneJobs // clonejobs.go
	pacer   resilience.Pacer
	report  reporter // report.go: results reporting of runs
	poll    poller   // poll.go: the polling fallback
	// cache is the repository cache (Options.CacheDir); nil: cold clones.
	cache *gitops.Cache
	// workspaces serialises the runs of a profile on its reused workspace (workspace.go).
	workspaces workspaceLocks
	// metrics are Options.Metrics or New's own (telemetry.go).
	metrics *telemetry.Metrics
}

// New returns a Service; it fails when Store or Keyring is missing.
func New(opts Options) (*Service, error) {
	if opts.Store == nil || opts.Keyring == nil {
		return nil, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, "services: a store and a keyring are required")
	}
	s := &Service{store: opts.Store, keyring: opts.Keyring, opts: opts, log: opts.Logger, now: opts.Now,
		catalog: opts.Catalog, limiter: opts.Limiter, decoded: newCatalogMemo(CatalogMemoEntries, CatalogMemoBytes)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.pacer = opts.Pacer; s.pacer == nil {
		s.pacer = resilience.NewMemory(s.now)
	}
	s.instrument() // telemetry.go: metrics, the measured store and pacer
	ro := opts.Retry
	ro.Pacer, ro.Logger, ro.Now = s.pacer, s.log, s.now
	base := opts.Door
	if base == nil {
		base = egress.Default()
	}
	// Every request through the door retries Azure DevOps' faults and paces each connection
	// (resilience), above the policy check: a retry is checked like the first request.
	base = base.Wrapping(func(rt http.RoundTripper) http.RoundTripper { return s.upstream(rt, ro) }) // telemetry.go
	s.door, s.oauthDoor = base, base.Allowing(oauthDestinations(opts.OAuth, true)...)
	if services := oauthDestinations(opts.OAuth, false); len(services) > 0 {
		s.door = base.Allowing(services...) // OAuth connections' REST calls go to Services
	}
	if err := s.openCache(); err != nil { // workspace.go
		return nil, err
	}
	if err := s.openClones(); err != nil { // clonejobs.go: the clone queue and the janitor
		return nil, err
	}
	if s.catalog == nil {
		s.catalog = catalogcache.New(catalogcache.NewMemory(DefaultCatalogEntries), catalogcache.Options{Now: s.now, Logger: s.log})
	}
	s.startPoller()
	return s, nil
}

// Close stops the polling fallback (poll.go), the clone jobs (StopClones) and the
// janitor, then waits for the catalog cache's background refreshes to finish. It does not
// close the store (its owner does).
func (s *Service) Close() {
	s.stopPoller()
	s.closeClones()
	s.report.close()
	s.catalog.Close()
}

// Store returns the service's store (for the CLI's administrative commands).
func (s *Service) Store() store.Store { return s.store }

// newID returns a random 128-bit id as 32 hex characters.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// checkName validates a display name (connection, build profile): 1 to 100 characters, no
// control characters. It returns the trimmed name or a field error.
func checkName(field, what, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalid(field, "the %s name is required", what)
	case utf8.RuneCountInString(name) > 100:
		return "", invalid(field, "the %s name is longer than 100 characters", what)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", invalid(field, "the %s name must not contain control characters", what)
	}
	return name, nil
}

// checkID validates an id sent by a caller: required, at most 200 characters, printable.
func checkID(field, value, hint string) error {
	switch {
	case strings.TrimSpace(value) == "":
		return invalid(field, "%s is required%s", field, hint)
	case len(value) > 200 || strings.IndexFunc(value, unicode.IsControl) >= 0:
		return invalid(field, "%s is not a valid id", field)
	}
	return nil
}

// invalid is a field error: ErrInvalidInput naming the field and the fix.
func invalid(field, format string, args ...any) *connections.Error {
	e := connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, format, args...)
	e.Field = field
	return e
}

// CheckFailedError is returned when a connection's token check fails: the result says why
// (Reason, Message, Steps). The web layer answers 422 with the reason as the problem's code
// and Field as the field to change.
type CheckFailedError struct {
	Result *connections.CheckResult
}

// Field names the input a user most likely has to change for the failure's reason: the PAT
// for invalid_token, the collection for collection_not_found, the server URL when it cannot be
// reached or is too old, the CA certificate for tls; "" otherwise.
func (e *CheckFailedError) Field() string {
	switch e.Result.Reason {
	case connections.ReasonInvalidToken, connections.ReasonForbidden:
		return "pat"
	case connections.ReasonCollectionNotFound:
		return "collection"
	case connections.ReasonUnreachable, connections.ReasonServerTooOld, connections.ReasonDestinationNotAllowed:
		return "serverUrl"
	case connections.ReasonTLS:
		return "caCertificate"
	}
	return ""
}

// Error names the reason and repeats the check's message.
func (e *CheckFailedError) Error() string {
	return "token check failed: " + string(e.Result.Reason) + ": " + e.Result.Message
}

// detach returns a context that keeps ctx's values but not its cancellation, for the short
// store writes that must finish once the forge has answered.
func detach(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
