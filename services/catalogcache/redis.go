package catalogcache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store/redisstore"
)

// DefaultPrefix is the key prefix NewRedis uses when it is given "".
const DefaultPrefix = "repoconnect"

// entryVersion is the first byte of an encoded entry; a change of layout gets a new one, and
// entries of another version read as errors (so as misses to the Cache).
const entryVersion = 1

// redisBackend keeps one Redis hash per (tenant, conn).
type redisBackend struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ Backend = (*redisBackend)(nil)

// NewRedis returns a Backend on Redis, shared by every instance that uses the same prefix
// (DefaultPrefix when ""). Each (tenant, conn) is one hash,
//
//	{prefix}:v1:t:{<tenant>}:catalog:<conn>
//
// with tenant and conn escaped by url.QueryEscape and the tenant in a Redis Cluster hash tag;
// its fields are the keys and its values FetchedAt (Unix nanoseconds) followed by Value. Set
// renews the hash's expiry to keep, so the group lives as long as its newest entry; the Cache
// judges each entry's age by FetchedAt. Drop deletes the hash. Errors are go-redis errors
// wrapped with context, and with store.ErrUnavailable for an outage (redisstore.Unavailable); the prefix must not contain '{' or '}'.
func NewRedis(client redis.UniversalClient, prefix string) Backend {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &redisBackend{rdb: client, prefix: prefix}
}

func (r *redisBackend) key(tenant, conn string) string {
	return r.prefix + ":v1:t:{" + url.QueryEscape(tenant) + "}:catalog:" + url.QueryEscape(conn)
}

func (r *redisBackend) Get(ctx context.Context, tenant, conn, key string) (Entry, bool, error) {
	b, err := r.rdb.HGet(ctx, r.key(tenant, conn), key).Bytes()
	if errors.Is(err, redis.Nil) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, redisstore.Unavailable(fmt.Errorf("catalogcache: redis get: %w", err))
	}
	e, err := decodeEntry(b)
	if err != nil {
		return Entry{}, false, err
	}
	return e, true, nil
}

func (r *redisBackend) Set(ctx context.Context, tenant, conn, key string, e Entry, keep time.Duration) error {
	if keep <= 0 {
		return fmt.Errorf("catalogcache: keep %v must be positive", keep)
	}
	k := r.key(tenant, conn)
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, key, encodeEntry(e))
		p.PExpire(ctx, k, keep)
		return nil
	})
	if err != nil {
		return redisstore.Unavailable(fmt.Errorf("catalogcache: redis set: %w", err))
	}
	return nil
}

func (r *redisBackend) Drop(ctx context.Context, tenant, conn string) error {
	if err := r.rdb.Del(ctx, r.key(tenant, conn)).Err(); err != nil {
		return redisstore.Unavailable(fmt.Errorf("catalogcache: redis drop: %w", err))
	}
	return nil
}

// encodeEntry lays e out as: version byte, FetchedAt as big-endian int64 Unix nanoseconds,
// Value.
func encodeEntry(e Entry) []byte {
	b := make([]byte, 9, 9+len(e.Value))
	b[0] = entryVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(e.FetchedAt.UnixNano()))
	return append(b, e.Value...)
}

func decodeEntry(b []byte) (Entry, error) {
	if len(b) < 9 || b[0] != entryVersion {
		return Entry{}, errors.New("catalogcache: malformed entry in redis")
	}
	return Entry{
		Value:     b[9:],
		FetchedAt: time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9]))),
	}, nil
}
