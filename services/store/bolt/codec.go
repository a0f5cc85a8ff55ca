package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/repoconnect/repoconnect/services/store"
)

// key joins parts with NUL bytes.
func key(parts ...string) []byte {
	return []byte(strings.Join(parts, "\x00"))
}

// tenantPrefix is the key prefix of every record of tenant in a tenant-keyed bucket.
func tenantPrefix(tenant string) []byte {
	return []byte(tenant + "\x00")
}

// getJSON decodes the value at k into v; found is false when k is absent.
func getJSON(b *bbolt.Bucket, k []byte, v any) (found bool, err error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("bolt: decode record %q: %w", k, err)
	}
	return true, nil
}

// putJSON encodes v and stores it at k.
func putJSON(b *bbolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("bolt: encode record: %w", err)
	}
	return b.Put(k, raw)
}

// listJSON decodes every value under prefix into fresh *T values, sorts them by the
// (CreatedAt, ID) pair that order returns, and cuts out the page: the records whose
// store.SortKey is after page.After, at most page.Limit of them (all when Limit <= 0). next is
// the cursor of the next page, "" when no record follows. A malformed cursor is
// store.ErrInvalid.
func listJSON[T any](b *bbolt.Bucket, prefix []byte, order func(*T) (time.Time, string), page store.Page) (list []*T, next string, err error) {
	after, err := store.SortKeyOfCursor(page.After)
	if err != nil {
		return nil, "", err
	}
	type keyed struct {
		sortKey string
		item    *T
	}
	var all []keyed
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		item := new(T)
		if err := json.Unmarshal(v, item); err != nil {
			return nil, "", fmt.Errorf("bolt: decode record %q: %w", k, err)
		}
		if sk := store.SortKey(order(item)); sk > after {
			all = append(all, keyed{sk, item})
		}
	}
	slices.SortFunc(all, func(a, b keyed) int { return strings.Compare(a.sortKey, b.sortKey) })
	if page.Limit > 0 && len(all) > page.Limit {
		all = all[:page.Limit]
		next = store.Cursor(all[len(all)-1].sortKey)
	}
	list = make([]*T, len(all))
	for i, k := range all {
		list[i] = k.item
	}
	return list, next, nil
}

// keysWithPrefix returns copies of every key under prefix (safe to use after the cursor moves
// or keys are deleted).
func keysWithPrefix(b *bbolt.Bucket, prefix []byte) [][]byte {
	var out [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, bytes.Clone(k))
	}
	return out
}
