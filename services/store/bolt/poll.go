package bolt

import (
	"context"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/repoconnect/repoconnect/services/store"
)

var _ store.Polling = (*Store)(nil)

// HookRefs implements store.Polling.HookRefs: a walk of the hook index.
func (s *Store) HookRefs(ctx context.Context) ([]*store.HookRef, error) {
	var out []*store.HookRef
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketHooks).ForEach(func(k, _ []byte) error {
			var h store.HookRef
			if _, err := getJSON(tx.Bucket(bucketHooks), k, &h); err != nil {
				return err
			}
			out = append(out, &h)
			return nil
		})
	})
	return out, err
}

// PollRefs implements store.Polling.PollRefs.
func (s *Store) PollRefs(ctx context.Context, tenantID, profileID string) (refs map[string]string, found bool, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		found, err = getJSON(tx.Bucket(bucketPollRefs), key(tenantID, profileID), &refs)
		return err
	})
	if found && refs == nil {
		refs = map[string]string{}
	}
	return refs, found, err
}

// PutPollRefs implements store.Polling.PutPollRefs.
func (s *Store) PutPollRefs(ctx context.Context, tenantID, profileID string, refs map[string]string) error {
	if tenantID == "" || profileID == "" {
		return fmt.Errorf("%w: tenant and profile id", store.ErrInvalid)
	}
	if refs == nil {
		refs = map[string]string{}
	}
	return s.update(ctx, func(tx *bbolt.Tx) error {
		return putJSON(tx.Bucket(bucketPollRefs), key(tenantID, profileID), refs)
	})
}
