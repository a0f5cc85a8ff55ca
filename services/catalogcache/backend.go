package catalogcache

import (
	"context"
	"net/url"
	"time"
)

// Entry is one cached value and when it was fetched from the forge.
type Entry struct {
	// Value is the cached answer, opaque to the cache (typically JSON). Callers must treat a
	// Value they receive as read-only: concurrent callers of one load share the same slice.
	Value []byte
	// FetchedAt is when the load that produced Value started, by the Cache's clock.
	FetchedAt time.Time
}

// Backend stores entries grouped by (tenant, connection). Implementations are safe for
// concurrent use. A group is the unit of expiry and of Drop.
type Backend interface {
	// Get returns the entry of key in the group (tenant, conn); ok is false when there is none
	// (never stored, dropped, evicted or expired). err reports a failure of the backend itself.
	Get(ctx context.Context, tenant, conn, key string) (e Entry, ok bool, err error)
	// Set stores e, kept at most keep (hard expiry; the group's expiry may be extended to the
	// latest keep). keep must be > 0.
	Set(ctx context.Context, tenant, conn, key string, e Entry, keep time.Duration) error
	// Drop removes every entry of (tenant, conn). Dropping an empty group is not an error.
	Drop(ctx context.Context, tenant, conn string) error
}

// flightKey names a key of a group unambiguously inside the process (singleflight keys).
func flightKey(tenant, conn, key string) string {
	return url.QueryEscape(tenant) + ":" + url.QueryEscape(conn) + ":" + url.QueryEscape(key)
}
