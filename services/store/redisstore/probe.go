package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
)

var _ store.SealProbe = (*Store)(nil)

// scriptSwapProbe: KEYS: the probe key. ARGV: the expected value ("" for none), the new
// value. Sets the new value when the key holds the expected one; 1 when it did (or the key
// holds the new value already), 0 otherwise.
var scriptSwapProbe = redis.NewScript(`
local cur = redis.call('GET', KEYS[1]) or ''
if cur == ARGV[2] then return 1 end
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`)

// sealProbeKey is P:v1:sealprobe.
func (s *Store) sealProbeKey() string { return s.prefix + ":v1:sealprobe" }

// SealProbe returns the sealing probe stored at P:v1:sealprobe, or nil when there is none
// (see store.SealProbe). Errors: a Redis error (wrapping store.ErrUnavailable for an outage).
func (s *Store) SealProbe(ctx context.Context) (_ []byte, err error) {
	defer unavailable(&err)
	b, err := s.client.Get(ctx, s.sealProbeKey()).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: read the sealing probe: %w", err)
	}
	return b, nil
}

// SwapSealProbe replaces the probe old (nil: none) with next, by a compare-and-set script
// (see store.SealProbe). An empty next is refused.
func (s *Store) SwapSealProbe(ctx context.Context, old, next []byte) (_ bool, err error) {
	defer unavailable(&err)
	if len(next) == 0 || bytes.Equal(old, next) {
		return false, fmt.Errorf("%w: sealing probe: an empty or unchanged new probe", store.ErrInvalid)
	}
	n, err := s.runScript(ctx, scriptSwapProbe, []string{s.sealProbeKey()}, string(old), string(next))
	return n == 1, err
}
