package redisstore

import "github.com/redis/go-redis/v9"

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
// one script share the tenant's hash tag.
var (
	// KEYS: record, names, index. ARGV: id, name, sortKey, json.
	scriptCreateConn = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 2 end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 3 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], 'v', '1', 'n', ARGV[2], 'k', ARGV[3], 'j', ARGV[4])
redis.call('ZADD', KEYS[3], 0, ARGV[3])
return 0`)

	// KEYS: record, names. ARGV: id, expected version, expected sortKey, new version, new
	// name, json.
	scriptUpdateConn = redis.NewScript(`
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
	scriptDeleteConn = redis.NewScript(`
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
	scriptCreateProfile = redis.NewScript(`
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
	scriptDeleteProfile = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'n', 'k', 'c')
if not cur[1] then return 1 end
if cur[3] ~= ARGV[2] then return 5 end
if redis.call('HGET', KEYS[2], cur[1]) == ARGV[1] then redis.call('HDEL', KEYS[2], cur[1]) end
redis.call('ZREM', KEYS[3], cur[2])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[1])
return 0`)

	// KEYS: record, index. ARGV: sortKey, hash, claim, json.
	scriptCreateAPIKey = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 2 end
redis.call('HSET', KEYS[1], 'k', ARGV[1], 'h', ARGV[2], 'c', ARGV[3], 'j', ARGV[4])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 0`)

	// KEYS: record, index. Returns {hash, claim} of the deleted record, or nil when absent.
	scriptDeleteAPIKey = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'k', 'h', 'c')
if not cur[1] then return false end
redis.call('ZREM', KEYS[2], cur[1])
redis.call('DEL', KEYS[1])
return {cur[2] or '', cur[3] or ''}`)

	// KEYS: a string key. ARGV: expected value, new value, expiry in ms, and "1" when the
	// key must also have no expiry. Replaces the value only when it is the expected one (and
	// permanent, when asked: the API key claim takeover).
	scriptReplaceIf = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
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
