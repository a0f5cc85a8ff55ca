// Package redisstore is the store.Store backend on Redis (github.com/redis/go-redis/v9), for
// many stateless instances sharing one store. It works through a redis.UniversalClient with a
// single server, Sentinel (failover) and Cluster; see ParseURL for the URL forms. It needs
// Redis 6.2 or later (GETDEL, ZRANGE … BYLEX).
//
// Layout (every key starts with the deployment's prefix P, default "repoconnect", then the
// schema version, so a later layout can live next to this one during a migration). T is the
// tenant id, and ids, names, hashes and keys inside key names are escaped with
// url.QueryEscape, which leaves only [A-Za-z0-9_.~-], '+' and "%XX" escapes: no two distinct
// values give the same key, and no value can carry ':', '{' or '}'. {T} is a Redis Cluster
// hash tag, so every key of one tenant is in one slot and each multi-key write of a tenant is
// one Lua script (EVALSHA), atomic on every topology. (No record has an empty tenant id,
// which would make "{}", no hash tag: Delete* of tenant "" report ErrNotFound without I/O.)
//
//	P:v1:t:{T}:conn:<id>               hash  v=Version n=Name k=SortKey j=Connection JSON
//	P:v1:t:{T}:conn_names              hash  Name → id
//	P:v1:t:{T}:conn_index              zset  SortKey members, all score 0
//	P:v1:t:{T}:conn_profiles:<connID>  set   ids of the build profiles of a connection
//	P:v1:t:{T}:profile:<id>            hash  v n k c=ConnectionID j=BuildProfile JSON
//	P:v1:t:{T}:profile_names           hash  Name → id
//	P:v1:t:{T}:profile_index           zset  SortKey members
//	P:v1:t:{T}:apikey:<id>             hash  k h=Hash c=claim j=APIKey JSON
//	P:v1:t:{T}:apikey_index            zset  SortKey members
//	P:v1:apikey_hash:<hash>            string claim "<T> <id> <nonce>" (escaped parts)
//	P:v1:oauth_state:<key>             string OAuthState JSON, PX until ExpiresAt
//	P:v1:lock:<name>                   string redsync lock value, PX ttl
//	P:v1:t:{T}:write:<random id>       string reply of a write script, PX 60 s (scripts.go)
//	P:v1:sealprobe                     string the sealing probe (store.SealProbe)
//
// SortKey is store.SortKey(CreatedAt, ID); a sorted set whose members all have score 0 is
// ordered by the members' bytes, so ZRANGE … BYLEX lists records by (CreatedAt, ID) and a
// page after a cursor starts at "(" + its sort key. The JSON in j is the whole record; v, n,
// k and c repeat what the scripts compare (Version, Name, SortKey, ConnectionID).
//
// Writes are optimistic: Go reads what a script needs to know in advance (the stored
// CreatedAt of an update, the profile ids of a cascade delete), and the script checks that
// nothing changed before writing, or reports so and Go retries (a bounded number of times).
// A stale write is refused, never applied.
//
// API key hashes are unique across tenants, so their index (apikey_hash) is global and lives
// in another slot than the tenant's record: no transaction spans both on a Cluster. The steps
// are ordered so that a crash between them fails closed, never leaving a hash that
// authenticates but is not listed or cannot be revoked. APIKeyByHash accepts a hash only when
// its claim names a record whose c field holds the same claim (nonce included). Create claims
// the hash (SET NX with a one-minute expiry), writes the record and its index entry, then
// makes the claim permanent; a crash before the last step lets the claim expire (the record
// stays listed and deletable but authenticates nothing). Delete removes the record first
// (the key stops authenticating at once), then the claim if it is still the record's; a
// permanent claim whose record is gone is taken over by the next create of that hash.
//
// OAuth states are global (the key is the hash of a secret) and expire by Redis' own key
// expiry as well as by Options.Now, which TakeOAuthState consults.
//
// Locks (Store.Lock) are redsync mutexes on the same Redis (one pool; quorum 1).
//
// Outages: every method's error passes through Unavailable, so a lost connection, a timeout,
// a failover or LOADING is an error wrapping store.ErrUnavailable (503 store_unavailable in
// the web layer). Nothing is cached across an outage: go-redis dials anew once Redis answers,
// so the Store works again without a restart. A write that go-redis sends again after a lost
// reply runs at most once (see scripts.go).
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
)

// DefaultPrefix is the key prefix when Options.Prefix and the URL's prefix are empty.
const DefaultPrefix = "repoconnect"

// maxPrefixLen bounds the length of a key prefix.
const maxPrefixLen = 64

// Options tunes New and Open. The zero value is ready to use.
type Options struct {
	// Prefix is the key prefix of the deployment: 1 to 64 of [A-Za-z0-9._-]. Empty means the
	// URL's ?prefix= (Open) or DefaultPrefix. Deployments with different prefixes share a
	// Redis without seeing each other's records.
	Prefix string
	// Now supplies the time used to fill a zero CreatedAt on Create* and PutOAuthState and
	// UpdatedAt on UpdateConnection, and to decide whether an OAuth state has expired; nil
	// means time.Now. Filled times are stored in UTC. Lock expiry is Redis' key expiry.
	Now func() time.Time
}

// Store is a store.Store on Redis. Create it with Open or New; it is safe for concurrent use
// by many goroutines and many processes sharing the Redis and the prefix.
type Store struct {
	client    redis.UniversalClient
	ownClient bool
	prefix    string
	now       func() time.Time
	locks     *redsync.Redsync

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// New returns a Store on client, which it does not own: Close leaves the client open.
// It does no I/O. The error is about opts.Prefix (see Options).
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{
		client: client,
		prefix: prefix,
		now:    now,
		locks:  redsync.New(goredis.NewPool(client)),
	}, nil
}

// Open parses raw with ParseURL, connects with redis.NewUniversalClient and checks the
// connection with PING (bounded by ctx). opts.Prefix, when set, overrides the URL's prefix.
// The Store owns the client: Close closes it. Errors name the URL only in its redacted form.
func Open(ctx context.Context, raw string, opts Options) (*Store, error) {
	cfg, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	if opts.Prefix == "" {
		opts.Prefix = cfg.Prefix
	}
	if err := checkPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	client := redis.NewUniversalClient(cfg.Universal)
	s, err := New(client, opts)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	s.ownClient = true
	if err := s.Ping(ctx); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redisstore: open %s (%s): %w", cfg.Redacted, cfg.Mode, err)
	}
	return s, nil
}

// Client returns the client the Store uses (owned by the Store when it came from Open).
func (s *Store) Client() redis.UniversalClient { return s.client }

// Prefix returns the key prefix of the Store's keys.
func (s *Store) Prefix() string { return s.prefix }

// Ping checks that Redis answers PING within ctx.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer unavailable(&err)
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// Close closes the client when the Store owns it (Open) and does nothing otherwise (New).
// Calls after the first return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.ownClient {
			s.closeErr = s.client.Close()
		}
	})
	return s.closeErr
}

// timestamp returns the current time in UTC without a monotonic reading.
func (s *Store) timestamp() time.Time {
	return s.now().UTC().Round(0)
}

// checkPrefix reports whether p is 1-64 of [A-Za-z0-9._-].
func checkPrefix(p string) error {
	if p == "" || len(p) > maxPrefixLen {
		return fmt.Errorf("redisstore: key prefix must be 1 to %d characters, got %d", maxPrefixLen, len(p))
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("redisstore: key prefix %q: only letters, digits, '.', '_' and '-' are allowed", p)
		}
	}
	return nil
}
