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
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store"
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
	// CloneTimeout bounds one clone; 0 means the clone engine's default.
	CloneTimeout time.Duration
	// Logger receives operational logs (never secrets); nil discards.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Service implements the use cases. Safe for concurrent use.
type Service struct {
	store   store.Store
	keyring *secrets.Keyring
	opts    Options
	log     *slog.Logger
	now     func() time.Time
}

// New returns a Service; it fails when Store or Keyring is missing.
func New(opts Options) (*Service, error) {
	if opts.Store == nil || opts.Keyring == nil {
		return nil, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, "services: a store and a keyring are required")
	}
	s := &Service{store: opts.Store, keyring: opts.Keyring, opts: opts, log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Store returns the service's store (for the CLI's administrative commands).
func (s *Service) Store() store.Store { return s.store }

// newID returns a random 128-bit id as 32 hex characters.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// invalid is a field error: ErrInvalidInput naming the field and the fix.
func invalid(field, format string, args ...any) *connections.Error {
	e := connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, format, args...)
	e.Field = field
	return e
}

// CheckFailedError is returned when a connection's token check fails: the result says why
// (Reason, Message, Steps). The web layer answers 422 with the reason as the problem's code.
type CheckFailedError struct {
	Result *connections.CheckResult
}

func (e *CheckFailedError) Error() string {
	return "token check failed: " + string(e.Result.Reason) + ": " + e.Result.Message
}

// detach returns a context that keeps ctx's values but not its cancellation, for the short
// store writes that must finish once the forge has answered.
func detach(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
