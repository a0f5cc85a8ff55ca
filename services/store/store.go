// Package store defines the persistence contract of the service (connections with sealed
// credentials, build profiles, API keys) and holds its backends: bbolt (embedded, default) and,
// later, Redis. Every backend passes the same contract test suite (storetest).
//
// Records carry a TenantID; every read and write is scoped by tenant, so a record of another
// tenant is reported exactly like a missing one (ErrNotFound).
package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every backend.
var (
	// ErrNotFound: no record with that id in that tenant.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a record with the same unique name (per tenant) exists.
	ErrConflict = errors.New("store: conflict")
	// ErrStale: an update carried a Version that is no longer current (optimistic concurrency).
	ErrStale = errors.New("store: stale version")
	// ErrLockLost: an Unlock found the lock expired (its TTL passed) and possibly held by another.
	ErrLockLost = errors.New("store: lock lost")
	// ErrUnavailable: the store could not be reached or did not answer in time (Redis down,
	// restarting, loading its data, failing over, a network timeout); wrapped together with
	// the cause by redisstore.Unavailable, which lists the cases. The operation may or may
	// not have been applied; the caller may retry later. The web layer answers 503 with code
	// store_unavailable and Retry-After.
	ErrUnavailable = errors.New("store: unavailable")
)

// Connection is a stored forge connection. Credential is sealed (services/secrets) before it
// reaches a backend; backends store it opaquely and never look inside.
type Connection struct {
	ID               string    `json:"id"`
	TenantID         string    `json:"tenantId"`
	Name             string    `json:"name"`
	Type             string    `json:"type"` // "server-pat", "services-pat", "services-oauth"
	ServerURL        string    `json:"serverUrl"`
	VirtualDirectory string    `json:"virtualDirectory"`
	Collection       string    `json:"collection"`
	CACertificate    string    `json:"caCertificate,omitempty"` // PEM, public material
	Status           string    `json:"status"`
	UserID           string    `json:"userId,omitempty"`
	UserDisplayName  string    `json:"userDisplayName,omitempty"`
	SealedCredential []byte    `json:"sealedCredential"`
	CheckedAt        time.Time `json:"checkedAt"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	// Version increases by one on every successful write; Update refuses a stale one.
	Version int64 `json:"version"`

	// StatusReason is the stable code behind Status when it is not "authorized"
	// (e.g. "scope_mismatch", "consent_revoked"); StatusMessage the sentence that says what to do.
	StatusReason  string `json:"statusReason,omitempty"`
	StatusMessage string `json:"statusMessage,omitempty"`
	// StatusHistory holds the latest status changes, oldest first, at most MaxStatusHistory.
	StatusHistory []StatusChange `json:"statusHistory,omitempty"`

	// CatalogGeneration changes whenever what the connection can see may have changed (a new
	// credential, a re-authorization, a status change); the repository catalog cache keys its
	// entries by it, so no instance answers from a catalog of an earlier generation. A token
	// refresh does not change it. Backends store it opaquely.
	CatalogGeneration int64 `json:"catalogGeneration,omitempty"`

	// OAuth holds the OAuth details of a "services-oauth" connection; nil for PAT connections.
	// For those, SealedCredential holds the sealed token pair and is empty until the first
	// authorization completes and after a deauthorization.
	OAuth *OAuthDetails `json:"oauth,omitempty"`

	// SSH is the connection's SSH credential and trusted host key (docs/ssh.md); nil when the
	// connection clones over HTTPS only. A connection may hold both: the PAT or OAuth token
	// lists projects and repositories (REST), the key clones.
	SSH *SSHDetails `json:"ssh,omitempty"`
}

// SSHDetails is a connection's SSH credential. The private key is sealed like a PAT (AAD
// bound to the tenant and connection) and never leaves the service; the rest is public.
type SSHDetails struct {
	// KeyType is the key's algorithm as ssh-keygen names it: "rsa", "ecdsa" or "ed25519";
	// KeyBits its size (RSA modulus or ECDSA curve bits; 256 for Ed25519).
	KeyType string `json:"keyType"`
	KeyBits int    `json:"keyBits"`
	// PublicKey is the public key as an authorized_keys line ("ssh-rsa AAAA… comment"), the
	// text the user adds under User settings > SSH public keys; Fingerprint its SHA-256
	// fingerprint as ssh-keygen -l prints it ("SHA256:…", unpadded base64).
	PublicKey   string `json:"publicKey"`
	Fingerprint string `json:"fingerprint"`
	// Generated is true when the service made the key pair, false when the user supplied it.
	Generated bool `json:"generated"`
	// SealedPrivateKey is the sealed private key (OpenSSH PEM, unencrypted inside the seal).
	SealedPrivateKey []byte    `json:"sealedPrivateKey"`
	CreatedAt        time.Time `json:"createdAt"`
	// Port, when not 0, replaces the port of the server's SSH URL (a Server whose SSH
	// listens elsewhere than it advertises); 0 means the port the SSH URL names (22).
	Port int `json:"port,omitempty"`

	// HostKey is the trusted host key of a Server (authorized_keys form, no comment) and
	// HostKeyFingerprint its SHA-256 fingerprint; empty until a user or operator confirms
	// one. Azure DevOps Services' host keys are pinned by their published fingerprints
	// (connections/azuredevops) and not stored here.
	HostKey            string    `json:"hostKey,omitempty"`
	HostKeyFingerprint string    `json:"hostKeyFingerprint,omitempty"`
	HostKeyConfirmedAt time.Time `json:"hostKeyConfirmedAt,omitzero"`
	// HostKeyHost is the "host:port" HostKey is trusted for (the one that showed it, as
	// dialled: "tfs.example.com:22", "[::1]:2222"); a clone of another host:port finds its
	// key unconfirmed. "" (a key confirmed before hosts were recorded) trusts it for the host
	// the connection dials.
	HostKeyHost string `json:"hostKeyHost,omitempty"`
	// SeenHostKey and SeenHostKeyFingerprint are the host key the latest check or clone was
	// shown when it was not the trusted one (first contact, or a changed key), for the user
	// to compare and confirm; SeenHostKeyHost the "host:port" that showed it (what a
	// confirmation trusts it for); SeenAt when. Cleared when a key is confirmed.
	SeenHostKey            string    `json:"seenHostKey,omitempty"`
	SeenHostKeyFingerprint string    `json:"seenHostKeyFingerprint,omitempty"`
	SeenHostKeyHost        string    `json:"seenHostKeyHost,omitempty"`
	SeenAt                 time.Time `json:"seenAt,omitzero"`

	// CheckedAt is when the latest SSH check ran; CheckReason its outcome ("" when it
	// passed, else a connections.Reason such as ssh_key_not_added); CheckMessage its sentence.
	CheckedAt    time.Time `json:"checkedAt,omitzero"`
	CheckReason  string    `json:"checkReason,omitempty"`
	CheckMessage string    `json:"checkMessage,omitempty"`
}

// MaxStatusHistory bounds Connection.StatusHistory; older changes are dropped.
const MaxStatusHistory = 50

// StatusChange is one transition of a connection's status.
type StatusChange struct {
	At      time.Time `json:"at"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Reason  string    `json:"reason,omitempty"`
	Message string    `json:"message,omitempty"`
}

// OAuthDetails are the OAuth settings and token metadata of a connection. The tokens themselves
// live sealed in Connection.SealedCredential; the client secret of a per-connection app in
// SealedClientSecret (empty when the connection uses the operator's default app).
type OAuthDetails struct {
	// Provider is "azure-devops" (Azure DevOps OAuth app) or "entra" (Microsoft Entra ID).
	Provider string `json:"provider"`
	// Scopes are the requested Azure DevOps scopes, short form ("vso.code").
	Scopes []string `json:"scopes"`
	// EntraTenant is the Entra tenant the authority URL names ("organizations" or a GUID).
	EntraTenant string `json:"entraTenant,omitempty"`
	// ClientID is the per-connection app's client id; empty means the operator default app.
	ClientID           string     `json:"clientId,omitempty"`
	SealedClientSecret []byte     `json:"sealedClientSecret,omitempty"`
	ClientSecretExpiry *time.Time `json:"clientSecretExpiry,omitempty"`
	// CallbackURL of a per-connection app; empty means the operator default.
	CallbackURL string `json:"callbackUrl,omitempty"`
	// TokenExpiry is when the current access token expires; TokenIssuedAt when it was minted.
	TokenExpiry   time.Time `json:"tokenExpiry,omitzero"`
	TokenIssuedAt time.Time `json:"tokenIssuedAt,omitzero"`
}

// OAuthState is a pending sign-in: stored when a flow starts, taken (deleted) by the callback.
// Key is the hex SHA-256 of the state value sent to the provider; the value itself is never
// stored, so a copy of the store cannot complete anyone's sign-in. A state lives until
// ExpiresAt (the service's StateTTL, 10 minutes by default) and with it everything it holds,
// PendingApp included: the bbolt backend purges expired states on later puts, Redis expires
// the key.
type OAuthState struct {
	Key          string `json:"key"`
	TenantID     string `json:"tenantId"`
	ConnectionID string `json:"connectionId"`
	// SealedVerifier is the PKCE code verifier, sealed (Entra only; empty otherwise).
	SealedVerifier []byte `json:"sealedVerifier,omitempty"`
	// PendingApp is the OAuth app this sign-in signs in with: the app fields of OAuthDetails
	// (Provider, Scopes, EntraTenant, ClientID, SealedClientSecret, ClientSecretExpiry,
	// CallbackURL; the token fields stay zero). It is a copy of the connection's app, or the
	// new app details of a re-authorization (a new client secret or scopes, the move to
	// Microsoft Entra ID), which reach the connection only when the callback's code exchange
	// and token check succeed, together with the new tokens; until then, and for good when the
	// sign-in fails or is abandoned, the connection keeps its app. The client secret is sealed
	// exactly as the connection's own (same keyring, same per-connection AAD), never in clear.
	// Nil in states stored before the field existed: the callback then uses the connection's app.
	PendingApp *OAuthDetails `json:"pendingApp,omitempty"`
	// ReturnURL is where the callback sends the browser afterwards (a path of this service's
	// pages or the caller's, validated before it is stored); empty shows the callback page.
	ReturnURL string `json:"returnUrl,omitempty"`
	// Binding is the SHA-256 (hex) of a nonce held by the browser that started the sign-in,
	// in a cookie; empty for sign-ins started through the API. A callback from a browser
	// without the nonce is refused, so nobody can make a victim's browser finish a sign-in
	// the attacker started (login CSRF).
	Binding   string    `json:"binding,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Unlock releases a lock taken with Store.Lock. It returns ErrLockLost when the lock's TTL
// had passed (whether or not another holder took it since; another holder's lock is never
// released) and on a second Unlock by the same holder.
type Unlock func(ctx context.Context) error

// BuildProfile binds a connection's repository and branch to a build.
type BuildProfile struct {
	ID             string    `json:"id"`
	TenantID       string    `json:"tenantId"`
	Name           string    `json:"name"`
	ConnectionID   string    `json:"connectionId"`
	RepositoryID   string    `json:"repositoryId"`
	RepositoryName string    `json:"repositoryName"`
	ProjectName    string    `json:"projectName"`
	RemoteURL      string    `json:"remoteUrl"`
	Branch         string    `json:"branch"`
	CreatedAt      time.Time `json:"createdAt"`
	Version        int64     `json:"version"`

	// ProjectID is the repository's project id (GUID), stored on save so a service-hook
	// delivery can be checked against it; empty on profiles saved before it existed (filled
	// on their next update).
	ProjectID string `json:"projectId,omitempty"`
	// Triggers start runs from service-hook deliveries; nil: none.
	Triggers *Triggers `json:"triggers,omitempty"`
	// Hook is the profile's service-hook endpoint; nil until the profile has a trigger.
	Hook *Hook `json:"hook,omitempty"`
	// ServiceEndpoints are the ids (lower-case GUIDs) of the project's service connections
	// the profile names, checked on save (services/serviceendpoints.go); nil: none.
	ServiceEndpoints []string `json:"serviceEndpoints,omitempty"`
	// Workspace is how the profile's runs get their work tree: "fresh" (a new directory per
	// run) or "reuse" (one work tree kept between runs and updated in place); "" on profiles
	// saved before it existed, which means fresh. Backends store it opaquely (services
	// validates it).
	Workspace string `json:"workspace,omitempty"`
}

// Triggers of a build profile. Patterns are stored without the refs/heads/ prefix
// (services.MatchBranch gives their meaning).
type Triggers struct {
	Push        *BranchFilter `json:"push,omitempty"`
	PullRequest *BranchFilter `json:"pullRequest,omitempty"`
}

// BranchFilter is a list of include patterns.
type BranchFilter struct {
	Branches []string `json:"branches"`
}

// Hook is a build profile's service-hook endpoint: POST /hooks/azure-devops/{ID} with Basic
// User and the password sealed in SealedPassword (services/secrets, AAD bound to tenant,
// profile and hook id). ID is random (unguessable) and unique across tenants: the store
// indexes it (HookRef).
type Hook struct {
	ID             string    `json:"id"`
	User           string    `json:"user"`
	SealedPassword []byte    `json:"sealedPassword"`
	CreatedAt      time.Time `json:"createdAt"`

	// URL is the hook's public URL the Azure DevOps subscriptions deliver to (set when the
	// service created them); empty when it never could.
	URL string `json:"url,omitempty"`
	// Subscriptions are the service hooks subscriptions the service created for the hook
	// (services/subscriptions.go); empty in the manual setup.
	Subscriptions []HookSubscription `json:"subscriptions,omitempty"`
	// Manual says why the service did not create subscriptions (a reason code such as
	// "cannot_manage_hooks", "needs_scope"); empty when it did or has not tried.
	Manual string `json:"manual,omitempty"`
}

// HookID is h's id, or "" for a profile without a hook (nil): what the backends compare to
// move the hook index when a profile's hook changes.
func HookID(h *Hook) string {
	if h == nil {
		return ""
	}
	return h.ID
}

// HookSubscription is one Azure DevOps service hooks subscription of a hook: its id, event
// type (git.push, git.pullrequest.created, ...), branch filter ("" = every branch) and the
// status last seen (enabled, onProbation, disabledBySystem, ...).
type HookSubscription struct {
	ID        string `json:"id"`
	EventType string `json:"eventType"`
	Branch    string `json:"branch,omitempty"`
	Status    string `json:"status,omitempty"`
}

// HookRef is the global index entry of a hook id: which tenant's profile it belongs to, and
// when a delivery last passed its credential check.
type HookRef struct {
	HookID         string     `json:"hookId"`
	TenantID       string     `json:"tenantId"`
	ProfileID      string     `json:"profileId"`
	LastDeliveryAt *time.Time `json:"lastDeliveryAt,omitempty"`
}

// Run is one build of a profile: a clone job of one commit, started by a trigger or by hand.
type Run struct {
	ID             string     `json:"id"`
	TenantID       string     `json:"tenantId"`
	BuildProfileID string     `json:"buildProfileId"`
	Trigger        RunTrigger `json:"trigger"`
	// State is the clone job's: queued, running, succeeded, failed.
	State string `json:"state"`
	// Commit is the commit the run builds (40 hex).
	Commit string `json:"commit"`
	// CloneJobID is the clone job running it; Error its failure message.
	CloneJobID string     `json:"cloneJobId,omitempty"`
	Error      string     `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// Report is filled by results reporting (commit and pull-request statuses, threads):
	// nil until that work posts something.
	Report *RunReport `json:"report,omitempty"`
	// Source is the path the run's clone took (set when it succeeded): "cold" (every object
	// fetched), "cache" (a fresh work tree from the repository cache) or "workspace" (a
	// reused workspace updated in place); "" before the clone ended or when it failed.
	Source string `json:"source,omitempty"`
	// Stats is what the run's clone fetched and wrote; nil until it succeeded.
	Stats *CloneStats `json:"stats,omitempty"`
}

// CloneStats is what one clone moved (the clone engine's gitops.Stats, kept by the store
// without importing the engine): objects and bytes fetched from the server, files and bytes
// written to the work tree, files removed from it. Counts and bytes, never negative.
type CloneStats struct {
	FetchedObjects int64 `json:"fetchedObjects"`
	FetchedBytes   int64 `json:"fetchedBytes"`
	WrittenFiles   int64 `json:"writtenFiles"`
	WrittenBytes   int64 `json:"writtenBytes"`
	RemovedFiles   int64 `json:"removedFiles"`
}

// RunTrigger says what started a run. Kind is "push", "pullRequest" or "manual"; Ref the
// full ref cloned (refs/heads/main, refs/pull/7/merge); EventID the service-hook delivery's
// event id (empty for manual runs).
type RunTrigger struct {
	Kind          string `json:"kind"`
	Commit        string `json:"commit"`
	Ref           string `json:"ref"`
	PullRequestID int    `json:"pullRequestId,omitempty"`
	// SourceCommit is a pull request's lastMergeSourceCommit (the source branch's tip).
	SourceCommit string `json:"sourceCommit,omitempty"`
	PushedBy     string `json:"pushedBy,omitempty"`
	EventID      string `json:"eventId,omitempty"`
}

// RunReport is where results reporting records what it posted and why posting failed.
// Statuses lists the posts made, "{post}:{state}" (commitStatus:pending,
// pullRequestStatus:succeeded, thread:failed); Failed names the first post that failed for
// good (commitStatus, pullRequestStatus, pullRequestIteration, thread, connection), Reason its
// reason code and Error "{post}: {message}" (never a secret). IterationID is the pull request
// iteration the statuses went to, ThreadID the pull request thread updated.
type RunReport struct {
	Statuses    []string `json:"statuses,omitempty"`
	Failed      string   `json:"failed,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	Error       string   `json:"error,omitempty"`
	IterationID int      `json:"iterationId,omitempty"`
	ThreadID    int      `json:"threadId,omitempty"`
}

// Runs is the store of runs, hooks and seen service-hook events. Both backends implement it
// (a capability beside Store, so other Store implementations need not).
type Runs interface {
	// UpdateBuildProfile replaces a build profile (name, branch, triggers, hook, project id)
	// when p.Version is current, storing Version+1 (written back); the hook index follows
	// p.Hook (a new hook id is indexed, the old one dropped). Errors: ErrNotFound, ErrStale,
	// ErrConflict (name or hook id taken), ErrInvalid.
	UpdateBuildProfile(ctx context.Context, p *BuildProfile) error
	// HookByID returns the index entry of a hook id; ErrNotFound when none.
	HookByID(ctx context.Context, hookID string) (*HookRef, error)
	// TouchHook records a delivery's time on the hook's index entry (best effort).
	TouchHook(ctx context.Context, hookID string, at time.Time) error
	// ClaimEvent records key for ttl and reports true, or reports false when key is recorded
	// and not expired: an atomic set-if-absent, so of concurrent claims exactly one wins.
	ClaimEvent(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// CreateRun stores a new run (ErrConflict for an existing id) and then keeps at most
	// keep runs of its profile (0: no count limit), dropping the oldest.
	CreateRun(ctx context.Context, r *Run, keep int) error
	// UpdateRun replaces a stored run; ErrNotFound when it is gone (pruned or its profile
	// deleted).
	UpdateRun(ctx context.Context, r *Run) error
	GetRun(ctx context.Context, tenantID, id string) (*Run, error)
	// ListRuns lists a profile's runs newest first (CreatedAt, then ID, descending), paged.
	ListRuns(ctx context.Context, tenantID, profileID string, page Page) (list []*Run, next string, err error)
	// PruneRuns deletes the profile's runs created before cutoff; it returns how many.
	PruneRuns(ctx context.Context, tenantID, profileID string, cutoff time.Time) (int, error)
}

// Polling is the store of the polling fallback (services/poll.go): the profiles to poll
// and the branch tips each poll saw. Both backends implement it (a capability beside Store).
type Polling interface {
	// HookRefs lists every hook index entry of every tenant (each names a build profile that
	// has, or had, triggers), in no particular order.
	HookRefs(ctx context.Context) ([]*HookRef, error)
	// PollRefs returns the branch tips the last poll of a profile recorded (full ref name →
	// 40-hex commit) and whether a poll recorded any (false: the profile was never polled).
	PollRefs(ctx context.Context, tenantID, profileID string) (refs map[string]string, found bool, err error)
	// PutPollRefs replaces the branch tips recorded for a profile (an empty map is recorded
	// as a poll that saw no branch).
	PutPollRefs(ctx context.Context, tenantID, profileID string, refs map[string]string) error
}

// APIKey is a caller credential. Only the SHA-256 hash of the key is stored (hex in Hash).
type APIKey struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenantId"`
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"createdAt"`
}

// Page asks a List* method for one page: at most Limit records (0 or less: all of them) that
// sort after the cursor After (empty: from the first). A cursor is the Next of an earlier page
// (see Cursor); a malformed one is ErrInvalid. Paging is stable under concurrent writes: a
// record is never listed twice, and one that exists throughout the listing is listed once.
type Page struct {
	After string
	Limit int
}

// Store is the persistence contract. Implementations are safe for concurrent use.
//
// Create* set Version to 1 and fail with ErrConflict on a duplicate name within the tenant
// (connections, build profiles) or duplicate id. Update* succeed only when the passed Version
// equals the stored one, then store Version+1 and write it back into the argument; otherwise
// ErrStale (or ErrNotFound). Get/Delete of an id that is absent or belongs to another tenant
// return ErrNotFound. List* return records ordered by CreatedAt, then ID, one Page at a time,
// with the cursor of the next page ("" when this page is the last).
type Store interface {
	CreateConnection(ctx context.Context, c *Connection) error
	GetConnection(ctx context.Context, tenantID, id string) (*Connection, error)
	ListConnections(ctx context.Context, tenantID string, page Page) (list []*Connection, next string, err error)
	UpdateConnection(ctx context.Context, c *Connection) error
	// DeleteConnection removes the connection and every build profile that refers to it.
	DeleteConnection(ctx context.Context, tenantID, id string) error

	CreateBuildProfile(ctx context.Context, p *BuildProfile) error
	GetBuildProfile(ctx context.Context, tenantID, id string) (*BuildProfile, error)
	ListBuildProfiles(ctx context.Context, tenantID string, page Page) (list []*BuildProfile, next string, err error)
	DeleteBuildProfile(ctx context.Context, tenantID, id string) error

	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash finds a key by the hex SHA-256 of its secret; ErrNotFound when none.
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	ListAPIKeys(ctx context.Context, tenantID string, page Page) (list []*APIKey, next string, err error)
	DeleteAPIKey(ctx context.Context, tenantID, id string) error

	// PutOAuthState stores a pending sign-in until its ExpiresAt, filling a zero CreatedAt
	// (written back into st). A state already past ExpiresAt may be accepted and is never
	// returned by Take. Errors: ErrInvalid (empty
	// Key, TenantID or ConnectionID, or a zero ExpiresAt), ErrConflict (Key exists).
	PutOAuthState(ctx context.Context, st *OAuthState) error
	// TakeOAuthState deletes the state with that key and returns it. Exactly one of several
	// concurrent takers gets it; the others, and any taker after ExpiresAt, get ErrNotFound
	// (an expired state is deleted as well).
	TakeOAuthState(ctx context.Context, key string) (*OAuthState, error)

	// Lock takes the named lock for at most ttl, waiting until it is free or ctx is done (the
	// context's error is returned then). It serializes work across every process that shares
	// the store (the embedded store: one process; Redis: every instance), e.g. one token
	// refresh per connection. A holder that dies leaves the lock to expire after ttl.
	Lock(ctx context.Context, name string, ttl time.Duration) (Unlock, error)

	Close() error
}

// SealProbe is the optional capability of a backend to keep the sealing probe: one small
// sealed value (services/secrets.Keyring.SealProbe) that every instance opens at start, so
// that an instance with other sealing keys is refused before it serves. Both backends
// implement it.
type SealProbe interface {
	// SealProbe returns the stored probe, or nil (and no error) when there is none yet.
	SealProbe(ctx context.Context) ([]byte, error)
	// SwapSealProbe stores next when the stored probe is old (nil: there is none) and
	// reports whether it did; false means another instance stored a different probe first
	// (read it again). Storing next when next is already stored reports true.
	SwapSealProbe(ctx context.Context, old, next []byte) (bool, error)
}
