package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Retried writes. go-redis sends a command again after io.EOF, a reset or a timeout (up to
// MaxRetries, 3 by default) even when the first copy had reached Redis and run: a write
// script cut off by a failover or a lost connection may run twice. Rather than turn retries
// off (every blip would then fail a write that could have succeeded), every write is made
// safe to run twice:
//
//   - The tenant's write scripts (create, update and delete of connections, build profiles
//     and API keys) are memoized: runWrite appends to their KEYS a memo key
//     P:v1:t:{T}:write:<random id>, in the tenant's slot, unique to this call (a go-redis
//     retry re-sends the same id; a retry of ours after resChanged is a new call with a new
//     id). The script first returns the reply stored in the memo, if any; otherwise it runs
//     and stores its reply there for memoTTL. A second run of the same call is so a no-op
//     that answers like the first: one record, no ErrConflict, no ErrStale.
//   - Compare-and-set scripts on global keys (scriptReplaceIf) also succeed when the key
//     already holds the new value; scriptPersistIf and scriptDeleteIf are idempotent as
//     they are. SET NX of an OAuth state or an API key hash claim succeeds when the key
//     holds exactly the value this call wrote (the claim carries a random nonce).
//   - TakeOAuthState's GETDEL is left as it is: a retried take whose first copy ran finds
//     nothing and reports store.ErrNotFound, failing closed (the sign-in is started again);
//     returning a state twice would break its exactly-once contract.
//   - Locks (redsync SET NX): a retried take finds its own value and waits for the ttl, as
//     for a lock held by another; never two holders.

// memoTTL is how long the reply of a memoized write is kept: longer than any go-redis retry
// sequence (MaxRetries 3 with at most 512 ms backoff, plus timeouts).
const memoTTL = "60000" // milliseconds

// memoized wraps the body of a write script whose last KEYS entry is the memo key (see the
// comment above): a second run with the same memo returns the first run's integer reply.
func memoized(body string) *redis.Script {
	return redis.NewScript(`
local memo = KEYS[#KEYS]
local done = redis.call('GET', memo)
if done then return tonumber(done) end
local res = (function()
` + body + `
end)()
redis.call('SET', memo, res, 'PX', ` + memoTTL + `)
return res`)
}

// memoKey returns a new memo key in tenant's slot, unique to one write call.
func (s *Store) memoKey(tenant string) (string, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", fmt.Errorf("redisstore: write id: %w", err)
	}
	return s.tenantKey(tenant, "write:"+hex.EncodeToString(id[:])), nil
}

// runWrite runs a memoized write script of tenant with keys plus a new memo key, and
// returns its integer reply.
func (s *Store) runWrite(ctx context.Context, script *redis.Script, tenant string, keys []string, args ...any) (int64, error) {
	memo, err := s.memoKey(tenant)
	if err != nil {
		return 0, err
	}
	return s.runScript(ctx, script, append(keys, memo), args...)
}

// Results of the write scripts (integer replies).
const (
	resOK        = 0 // written
	resNotFound  = 1 // the record (or, for a profile, its connection) is absent
	resIDTaken   = 2 // a record with that id exists
	resNameTaken = 3 // the name is taken in the tenant
	resStale     = 4 // the stored Version differs from the expected one
	resChanged   = 5 // something read before the script changed: read again and retry
)

// maxAttempts bounds the retries of an optimistic write whose script reported resChanged.
const maxAttempts = 16

// Every script declares all the keys it touches in KEYS (a Cluster requirement); the keys of
// one script share the tenant's hash tag. The memoized ones take the memo key last (runWrite).
var (
	// KEYS: record, names, index. ARGV: id, name, sortKey, json.
	scriptCreateConn = memoized(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 2 end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 3 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], 'v', '1', 'n', ARGV[2], 'k', ARGV[3], 'j', ARGV[4])
redis.call('ZADD', KEYS[3], 0, ARGV[3])
return 0`)

	// KEYS: record, names. ARGV: id, expected version, expected sortKey, new version, new
	// name, json.
	scriptUpdateConn = memoized(`
local cur = redis.call('HMGET', KEYS[1], 'v', 'n', 'k')
if not cur[1] then return 1 end
if cur[3] ~= ARGV[3] then return 5 end
if cur[1] ~= ARGV[2] then return 4 end
if cur[2] ~= ARGV[5] then
  if redis.call('HEXISTS', KEYS[2], ARGV[5]) == 1 then return 3 end
  if redis.call('HGET', KEYS[2], cur[2]) == ARGV[1] then redis.call('HDEL', KEYS[2], cur[2]) end
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[1])
end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'n', ARGV[5], 'j', ARGV[6])
return 0`)

	// KEYS: record, names, index, profile-id set, profile names, profile index, then one
	// profile record per profile id. ARGV: the connection id, then the ids of the profile-id
	// set as read before, in the order of their records in KEYS.
	scriptDeleteConn = memoized(`
local cur = redis.call('HMGET', KEYS[1], 'n', 'k')
if not cur[1] then return 1 end
if redis.call('SCARD', KEYS[4]) ~= #ARGV - 1 then return 5 end
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[4], ARGV[i]) == 0 then return 5 end
end
for i = 2, #ARGV do
  local pk = KEYS[5 + i]
  local p = redis.call('HMGET', pk, 'n', 'k')
  if p[1] then
    if redis.call('HGET', KEYS[5], p[1]) == ARGV[i] then redis.call('HDEL', KEYS[5], p[1]) end
    redis.call('ZREM', KEYS[6], p[2])
    redis.call('DEL', pk)
  end
end
redis.call('DEL', KEYS[4])
if redis.call('HGET', KEYS[2], cur[1]) == ARGV[1] then redis.call('HDEL', KEYS[2], cur[1]) end
redis.call('ZREM', KEYS[3], cur[2])
redis.call('DEL', KEYS[1])
return 0`)

	// KEYS: connection record, profile record, names, index, the connection's profile-id set.
	// ARGV: id, name, sortKey, json, connection id.
	scriptCreateProfile = memoized(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then return 3 end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], 'v', '1', 'n', ARGV[2], 'k', ARGV[3], 'c', ARGV[5], 'j', ARGV[4])
redis.call('ZADD', KEYS[4], 0, ARGV[3])
redis.call('SADD', KEYS[5], ARGV[1])
return 0`)

	// KEYS: profile record, names, index, the profile-id set of its connection as read
	// before. ARGV: id, connection id as read before.
	scriptDeleteProfile = memoized(`
local cur = redis.call('HMGET', KEYS[1], 'n', 'k', 'c')
if not cur[1] then return 1 end
if cur[3] ~= ARGV[2] then return 5 end
if redis.call('HGET', KEYS[2], cur[1]) == ARGV[1] then redis.call('HDEL', KEYS[2], cur[1]) end
redis.call('ZREM', KEYS[3], cur[2])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[1])
return 0`)

	// KEYS: record, index. ARGV: sortKey, hash, claim, json.
	scriptCreateAPIKey = memoized(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 2 end
redis.call('HSET', KEYS[1], 'k', ARGV[1], 'h', ARGV[2], 'c', ARGV[3], 'j', ARGV[4])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 0`)

	// KEYS: record, index, memo. Returns {hash, claim} of the deleted record, or nil when
	// absent; a second run with the same memo returns the first run's reply.
	scriptDeleteAPIKey = redis.NewScript(`
local done = redis.call('GET', KEYS[3])
if done then
  if done == '' then return false end
  local i = string.find(done, ' ', 1, true)
  return {string.sub(done, 1, i - 1), string.sub(done, i + 1)}
end
local cur = redis.call('HMGET', KEYS[1], 'k', 'h', 'c')
if not cur[1] then
  redis.call('SET', KEYS[3], '', 'PX', ` + memoTTL + `)
  return false
end
redis.call('ZREM', KEYS[2], cur[1])
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[3], (cur[2] or '') .. ' ' .. (cur[3] or ''), 'PX', ` + memoTTL + `)
return {cur[2] or '', cur[3] or ''}`)

	// KEYS: a string key. ARGV: expected value, new value, expiry in ms, and "1" when the
	// key must also have no expiry. Replaces the value only when it is the expected one (and
	// permanent, when asked: the API key claim takeover). Returns 1 as well when the key
	// holds the new value already (a retried run).
	scriptReplaceIf = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[2] then return 1 end
if cur ~= ARGV[1] then return 0 end
if ARGV[4] == '1' and redis.call('PTTL', KEYS[1]) ~= -1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

	// KEYS: a string key. ARGV: expected value. Makes the key permanent when it holds it.
	scriptPersistIf = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PERSIST', KEYS[1])
return 1`)

	// KEYS: a string key. ARGV: expected value. Deletes the key when it holds it.
	scriptDeleteIf = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`)
)
