package bolt

import (
	"bytes"
	"context"

	"go.etcd.io/bbolt"
)

// APIKeyTenants returns the tenants that hold at least one API key, in byte order, or an
// empty (non-nil) slice when no tenant does. It reads the API key bucket's keys
// ("tenant\x00id") only, skipping to the next tenant after the first key of each.
func (s *Store) APIKeyTenants(ctx context.Context) ([]string, error) {
	out := []string{}
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketAPIKeys).Cursor()
		for k, _ := c.First(); k != nil; {
			tenant, _, ok := bytes.Cut(k, []byte{0})
			if !ok {
				k, _ = c.Next()
				continue
			}
			out = append(out, string(tenant))
			// The next tenant's keys sort after every "tenant\x00…" key: seek to "tenant\x01".
			k, _ = c.Seek(append(bytes.Clone(tenant), 1))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
