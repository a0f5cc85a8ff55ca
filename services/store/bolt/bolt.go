// Package bolt is the embedded store.Store backend on go.etcd.io/bbolt.
//
// A bbolt file can be opened by one process at a time: Open takes an exclusive file lock and,
// when another process holds it, fails with ErrInUse after Options.Timeout instead of waiting
// forever. Within one process, share a single *Store (it is safe for concurrent use).
//
// Layout (all bucket names carry the schema version, so a later layout can live next to this
// one during a migration). Values are JSON; NUL separates key parts (store.Validate* refuses
// NUL bytes in ids, tenant ids and names, so keys cannot collide):
//
//	v1/connections                 tenant\x00id             → Connection JSON
//	v1/connection_names            tenant\x00name           → id
//	v1/build_profiles              tenant\x00id             → BuildProfile JSON
//	v1/build_profile_names         tenant\x00name           → id
//	v1/build_profiles_by_connection tenant\x00connID\x00id  → empty
//	v1/api_keys                    tenant\x00id             → APIKey JSON
//	v1/api_key_hashes              hash                     → tenant\x00id
//	v1/oauth_states                key                      → OAuthState JSON
//	v1/oauth_state_expiry          expiry(12 bytes) key     → empty
//	v1/meta                        "sealprobe"              → the sealing probe (store.SealProbe)
//	v1/runs                        tenant\x00id             → Run JSON
//	v1/runs_by_profile             tenant\x00profile\x00id  → empty
//	v1/hooks                       hookID                   → HookRef JSON
//	v1/hook_events                 key                      → expiry (Unix nanoseconds, 8 bytes)
//
// The expiry index key is ExpiresAt as 8 big-endian bytes of Unix seconds (sign bit flipped,
// so byte order is time order) and 4 of nanoseconds, then the state key; PutOAuthState walks
// it from the start to delete a bounded number of expired states.
//
// Ids are unique per tenant: the same id may exist in two tenants, so creating a record never
// reveals that another tenant uses an id. API key hashes are unique across all tenants, and so
// are OAuth state keys (not scoped by tenant: the key is the hash of a secret).
//
// Locks (Store.Lock) are not in the file: the file is open in one process only, so they live
// in that process's memory (see Lock).
package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"github.com/repoconnect/repoconnect/services/store"
)

// DefaultTimeout is how long Open waits for the file lock when Options.Timeout is zero.
const DefaultTimeout = 2 * time.Second

// ErrInUse is returned (wrapped with the path) by Open when another process holds the file
// lock for longer than Options.Timeout.
var ErrInUse = errors.New("data directory is in use by another repoconnect process")

// Bucket names of layout version 1.
var (
	bucketConnections    = []byte("v1/connections")
	bucketConnNames      = []byte("v1/connection_names")
	bucketProfiles       = []byte("v1/build_profiles")
	bucketProfileNames   = []byte("v1/build_profile_names")
	bucketProfilesByConn = []byte("v1/build_profiles_by_connection")
	bucketAPIKeys        = []byte("v1/api_keys")
	bucketAPIKeyHashes   = []byte("v1/api_key_hashes")
	bucketOAuthStates    = []byte("v1/oauth_states")
	bucketOAuthExpiry    = []byte("v1/oauth_state_expiry")
	bucketMeta           = []byte("v1/meta")
	bucketRuns           = []byte("v1/runs")
	bucketRunsByProfile  = []byte("v1/runs_by_profile")
	bucketHooks          = []byte("v1/hooks")
	bucketEvents         = []byte("v1/hook_events")
	bucketPollRefs       = []byte("v1/poll_refs")
)

// Options tunes Open. The zero value is ready to use.
type Options struct {
	// Timeout bounds the wait for the exclusive file lock; zero means DefaultTimeout.
	// A negative value is treated as zero.
	Timeout time.Duration
	// Now supplies the time used to fill a zero CreatedAt on Create* and PutOAuthState and
	// UpdatedAt on UpdateConnection, to decide whether an OAuth state has expired, and to set
	// and check lock expiry; nil means time.Now. Filled times are stored in UTC.
	Now func() time.Time
}

// Store is a store.Store backed by one bbolt file. Create it with Open; it is safe for
// concurrent use by many goroutines of one process.
type Store struct {
	db    *bbolt.DB
	now   func() time.Time
	locks lockTable
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed, with mode 0600 and parent directories 0700) the bbolt file
// at path and creates the buckets of the current layout. It returns an error wrapping
// ErrInUse when another process holds the file, or the underlying I/O / bbolt error.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create data directory: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout})
	if err != nil {
		if errors.Is(err, bberrors.ErrTimeout) {
			return nil, fmt.Errorf("bolt: open %s: %w", path, ErrInUse)
		}
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketConnections, bucketConnNames, bucketProfiles,
			bucketProfileNames, bucketProfilesByConn, bucketAPIKeys, bucketAPIKeyHashes,
			bucketOAuthStates, bucketOAuthExpiry, bucketMeta, bucketRuns, bucketRunsByProfile,
			bucketHooks, bucketEvents, bucketPollRefs} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bolt: init %s: %w", path, err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, locks: lockTable{held: map[string]*holding{}}}, nil
}

// Close releases the file and its lock. Calls after the first return nil.
func (s *Store) Close() error {
	return s.db.Close()
}

// Ping reads the store's meta bucket in a read-only transaction: the readiness check of
// GET /readyz. Errors: bbolt.ErrDatabaseNotOpen once closed, the bucket's absence, ctx's error.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("bolt: the meta bucket is missing")
		}
		return nil
	})
}

// timestamp returns the current time in UTC without a monotonic reading.
func (s *Store) timestamp() time.Time {
	return s.now().UTC().Round(0)
}

// update runs fn in a read-write transaction after checking ctx.
func (s *Store) update(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

// view runs fn in a read-only transaction after checking ctx.
func (s *Store) view(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}
