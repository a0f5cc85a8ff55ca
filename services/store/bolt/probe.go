package bolt

import (
	"bytes"
	"context"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/repoconnect/repoconnect/services/store"
)

var _ store.SealProbe = (*Store)(nil)

// keySealProbe is the key of the sealing probe in bucketMeta.
var keySealProbe = []byte("sealprobe")

// SealProbe returns a copy of the sealing probe stored in v1/meta, or nil when there is none
// (see store.SealProbe).
func (s *Store) SealProbe(ctx context.Context) ([]byte, error) {
	var out []byte
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySealProbe); v != nil {
			out = bytes.Clone(v)
		}
		return nil
	})
	return out, err
}

// SwapSealProbe replaces the probe old (nil: none) with next in one transaction (see
// store.SealProbe). An empty next is refused.
func (s *Store) SwapSealProbe(ctx context.Context, old, next []byte) (bool, error) {
	if len(next) == 0 || bytes.Equal(old, next) {
		return false, fmt.Errorf("%w: sealing probe: an empty or unchanged new probe", store.ErrInvalid)
	}
	swapped := false
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		cur := b.Get(keySealProbe)
		switch {
		case bytes.Equal(cur, next):
			swapped = true
			return nil
		case !bytes.Equal(cur, old):
			return nil
		}
		swapped = true
		return b.Put(keySealProbe, bytes.Clone(next))
	})
	return swapped, err
}
