package services

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services/store"
)

// jobRecord is the JSON of a job in Redis (field j of its hash; messages are "{seq} {JSON}").
// Seq, the hash's field q, counts its writes (1 when queued), so a watcher can tell a newer
// snapshot from an older.
type jobRecord struct {
	Seq    int64      `json:"-"`
	Tenant string     `json:"tenant"`
	Input  CloneInput `json:"input"`
	Job    CloneJob   `json:"job"`
	Error  *jobError  `json:"error,omitempty"` // Job.Err, stored
}

// jobError is the stored form of a job's error, from which every instance rebuilds one that
// problemFor maps to the same problem: the category sentinels errors.Is matched, the fields of
// the *connections.Error in its chain, a *RateLimitedError's, and the text.
type jobError struct {
	Text       string        `json:"text"`
	Is         []string      `json:"is,omitempty"`   // names in jobErrorSentinels
	Kind       string        `json:"kind,omitempty"` // *connections.Error: its Kind's name
	Reason     string        `json:"reason,omitempty"`
	Message    string        `json:"message,omitempty"`
	Field      string        `json:"field,omitempty"`
	Action     string        `json:"action,omitempty"`     // *RateLimitedError
	RetryAfter time.Duration `json:"retryAfter,omitempty"` // *RateLimitedError, nanoseconds
}

// jobErrorSentinels are the sentinels a stored error remembers, by a stable name.
var jobErrorSentinels = []struct {
	name string
	err  error
}{
	{"context.canceled", context.Canceled}, {"context.deadline", context.DeadlineExceeded},
	{"store.not_found", store.ErrNotFound}, {"store.conflict", store.ErrConflict},
	{"store.invalid", store.ErrInvalid}, {"store.unavailable", store.ErrUnavailable},
	{"unauthorized", connections.ErrUnauthorized}, {"forbidden", connections.ErrForbidden},
	{"not_found", connections.ErrNotFound}, {"policy_disabled", connections.ErrPolicyDisabled},
	{"scope_mismatch", connections.ErrScopeMismatch}, {"server_too_old", connections.ErrServerTooOld},
	{"unreachable", connections.ErrUnreachable}, {"tls", connections.ErrTLS},
	{"invalid_input", connections.ErrInvalidInput}, {"rate_limited", connections.ErrRateLimited},
	{"protocol", connections.ErrProtocol},
	{"clone.cancelled", ErrCloneCancelled}, {"clone.stopped", ErrClonesStopped}, {"clone.lost", ErrCloneLost},
}

// sentinelNamed returns the sentinel of a name, or nil.
func sentinelNamed(name string) error {
	for _, s := range jobErrorSentinels {
		if s.name == name {
			return s.err
		}
	}
	return nil
}

// encodeJobError is the stored form of err; nil for nil.
func encodeJobError(err error) *jobError {
	if err == nil {
		return nil
	}
	je := &jobError{Text: err.Error()}
	for _, s := range jobErrorSentinels {
		if errors.Is(err, s.err) {
			je.Is = append(je.Is, s.name)
		}
	}
	if ce := connections.AsError(err); ce != nil {
		je.Reason, je.Message, je.Field = string(ce.Reason), ce.Message, ce.Field
		for _, s := range jobErrorSentinels {
			if ce.Kind == s.err {
				je.Kind = s.name
			}
		}
	}
	var limited *RateLimitedError
	if errors.As(err, &limited) {
		je.Action, je.RetryAfter = limited.Action, limited.RetryAfter
	}
	return je
}

// decode rebuilds the error: a *storedError; nil for nil.
func (je *jobError) decode() error {
	if je == nil {
		return nil
	}
	e := &storedError{text: je.Text}
	if je.Kind != "" || je.Reason != "" || je.Message != "" {
		e.errs = append(e.errs, &connections.Error{Kind: sentinelNamed(je.Kind), Reason: connections.Reason(je.Reason), Message: je.Message, Field: je.Field})
	}
	if je.Action != "" {
		e.errs = append(e.errs, &RateLimitedError{Action: je.Action, RetryAfter: je.RetryAfter})
	}
	for _, name := range je.Is {
		if s := sentinelNamed(name); s != nil {
			e.errs = append(e.errs, s)
		}
	}
	return e
}

// storedError is a job's error rebuilt from its stored form (jobError): its text, and in its
// tree the *connections.Error, *RateLimitedError and sentinels of the original.
type storedError struct {
	text string
	errs []error
}

func (e *storedError) Error() string   { return e.text }
func (e *storedError) Unwrap() []error { return e.errs }

// Lua scripts of the Redis queue. KEYS of one script share the tenant's hash tag.
var (
	// createJob: KEYS job, active; ARGV record JSON, id, score (unix ms), ttl ms, limit,
	// stale score. Forgets index entries older than the stale score, refuses past limit (0)
	// and an existing id (-1), stores the queued job and indexes it (1).
	createJob = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
redis.call('HSET', KEYS[1], 's', 'queued', 'q', '1', 'j', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
return 1`)
	// putJob: KEYS job, alive, active; ARGV expected seq ("0": the owner's write), state,
	// record JSON, ttl ms, events channel, owner, alive ms, id, "1" to require no alive key.
	// A write expecting a seq is a compare-and-set on it; the owner's write needs the job
	// running for owner (field o), whatever its seq. Answers {-1} when the job is gone,
	// {0, seq} when the condition fails (or an alive key exists), else writes (owner: sets o
	// when given), sets the alive key (alive ms > 0) or on a terminal state deletes it and the
	// index entry, publishes "{seq} {JSON}" and answers {1, new seq, cancel asked}.
	putJob = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'q')
if not cur then return {-1, 0, 0} end
if ARGV[1] == '0' then
  if redis.call('HGET', KEYS[1], 'o') ~= ARGV[6] or redis.call('HGET', KEYS[1], 's') ~= 'running' then return {0, tonumber(cur), 0} end
elseif cur ~= ARGV[1] then
  return {0, tonumber(cur), 0}
end
if ARGV[9] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return {0, tonumber(cur), 0} end
local seq = tonumber(cur) + 1
redis.call('HSET', KEYS[1], 's', ARGV[2], 'q', tostring(seq), 'j', ARGV[3])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'o', ARGV[6]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if ARGV[2] == 'succeeded' or ARGV[2] == 'failed' then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[8])
elseif tonumber(ARGV[7]) > 0 then
  redis.call('SET', KEYS[2], ARGV[6], 'PX', ARGV[7])
end
redis.call('PUBLISH', ARGV[5], tostring(seq) .. ' ' .. ARGV[3])
if redis.call('HEXISTS', KEYS[1], 'c') == 1 then return {1, seq, 1} end
return {1, seq, 0}`)
	// getJob: KEYS job, alive → {record JSON or "", seq or "", 1 when the alive key exists}.
	getJob = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'j', 'q')
return {v[1] or '', v[2] or '', redis.call('EXISTS', KEYS[2])}`)
	// beatJob: KEYS job, alive; ARGV owner, alive ms. -1 when the job is no longer running
	// for owner, else renews the alive key and answers 1 when a cancel was asked, 0 if not.
	beatJob = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 's', 'o', 'c')
if v[1] ~= 'running' or v[2] ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
if v[3] then return 1 end
return 0`)
	// cancelJob: KEYS job; ARGV cancel channel, message. A running job gets the cancel flag
	// and the message is published; answers the state ("" when gone).
	cancelJob = redis.NewScript(`
local s = redis.call('HGET', KEYS[1], 's')
if s == 'running' then
  redis.call('HSET', KEYS[1], 'c', '1')
  redis.call('PUBLISH', ARGV[1], ARGV[2])
end
return s or ''`)
)
