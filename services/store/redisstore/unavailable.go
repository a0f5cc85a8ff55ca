package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
)

// Unavailable returns err wrapped with store.ErrUnavailable when it says that Redis could not
// be used right now, and err unchanged otherwise (nil stays nil; an error that already wraps
// store.ErrUnavailable is returned as it is). It is the one classification of Redis outages,
// applied at the exit of every Store method and by every other package that talks to the
// same Redis (catalog cache, rate limiter, clone queue), so that the web layer answers 503
// with Retry-After instead of 500.
//
// An outage is:
//   - a lost or refused connection: io.EOF, io.ErrUnexpectedEOF, any *net.OpError (dial,
//     read, write), ECONNREFUSED, ECONNRESET, EPIPE, net.ErrClosed, a DNS failure;
//   - a network timeout (a net.Error whose Timeout() is true; not the caller's own
//     context.DeadlineExceeded or context.Canceled, which stay as they are);
//   - go-redis giving up: redis.ErrPoolTimeout, redis.ErrPoolExhausted, redis.ErrClosed (the
//     client was closed during shutdown), "all sentinels … are unreachable", "cluster has no
//     nodes";
//   - a server reply that the server cannot serve now: LOADING (loading its data set after a
//     restart), READONLY (a replica after a failover), MASTERDOWN, CLUSTERDOWN, TRYAGAIN,
//     NOREPLICAS, BUSY (a script runs too long), MISCONF (cannot persist, refuses writes),
//     OOM (maxmemory reached), "max number of clients reached".
//
// Errors that are the request's fault or a bug (WRONGTYPE, NOSCRIPT, NOPERM, a decoding
// error, redis.Nil) are not outages.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || !isOutage(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// unavailable applies Unavailable to *err; deferred at the exit of every Store method.
func unavailable(err *error) { *err = Unavailable(*err) }

// isOutage reports whether err is one of the outages listed on Unavailable.
func isOutage(err error) bool {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, redis.ErrClosed),
		errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return true
	case redis.IsLoadingError(err), redis.IsReadOnlyError(err), redis.IsMasterDownError(err),
		redis.IsClusterDownError(err), redis.IsTryAgainError(err), redis.IsNoReplicasError(err),
		redis.IsMaxClientsError(err), redis.IsOOMError(err):
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) { // includes a dial that timed out inside DialTimeout's context
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller's own deadline or cancellation: not Redis' fault
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := strings.TrimPrefix(rerr.Error(), "ERR ")
		for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN",
			"NOREPLICAS", "BUSY ", "MISCONF", "OOM ", "max number of clients reached"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "all sentinels specified in configuration are unreachable") ||
		strings.Contains(msg, "redis: cluster has no nodes") ||
		strings.Contains(msg, "redis: all ring shards are down")
}
