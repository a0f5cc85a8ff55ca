package services

import (
	"context"
	"errors"

	"github.com/repoconnect/repoconnect/services/store"
)

// Connection statuses. A PAT connection is authorized or invalid_token; an OAuth connection
// starts not_authorized and moves to authorized at the callback, to oauth_policy_disabled when
// the organization refuses OAuth apps' tokens, and to needs_reauth when its refresh token is
// refused for good.
const (
	StatusAuthorized          = "authorized"
	StatusInvalidToken        = "invalid_token"
	StatusNotAuthorized       = "not_authorized"
	StatusNeedsReauth         = "needs_reauth"
	StatusOAuthPolicyDisabled = "oauth_policy_disabled"
)

// Status reasons of OAuth connections that are not errors of a forge call.
const (
	// ReasonAuthorizationPending: the sign-in was started and has not come back yet.
	ReasonAuthorizationPending = "authorization_pending"
	// ReasonDeauthorized: the connection was deauthorized and its tokens deleted.
	ReasonDeauthorized = "deauthorized"
)

// setStatus moves rec to status with a reason and message, appending a StatusChange to the
// bounded history when anything changed. A change of the status itself also starts a new
// catalog generation (what the connection can list may differ). An authorized status clears
// reason and message. It does not write rec.
func (s *Service) setStatus(rec *store.Connection, status, reason, message string) {
	if status == StatusAuthorized {
		reason, message = "", ""
	}
	if rec.Status == status && rec.StatusReason == reason && rec.StatusMessage == message {
		return
	}
	rec.StatusHistory = append(rec.StatusHistory, store.StatusChange{At: s.now().UTC(), From: rec.Status,
		To: status, Reason: reason, Message: message})
	if n := len(rec.StatusHistory) - store.MaxStatusHistory; n > 0 {
		rec.StatusHistory = append([]store.StatusChange(nil), rec.StatusHistory[n:]...)
	}
	if rec.Status != status {
		rec.CatalogGeneration++
	}
	rec.Status, rec.StatusReason, rec.StatusMessage = status, reason, message
}

// mutate applies fn to the current record of a connection and writes it, reading and applying
// again when another writer got there first (store.ErrStale), up to 8 times. fn may return an
// error to abandon the write. When the write starts a new catalog generation, the connection's
// cached catalog is dropped. It returns the record as written.
func (s *Service) mutate(ctx context.Context, tenant, id string, fn func(rec *store.Connection) error) (*store.Connection, error) {
	var err error
	for range 8 {
		var rec *store.Connection
		if rec, err = s.store.GetConnection(ctx, tenant, id); err != nil {
			return nil, err
		}
		gen := rec.CatalogGeneration
		if err = fn(rec); err != nil {
			return nil, err
		}
		rec.UpdatedAt = s.now().UTC()
		if err = s.store.UpdateConnection(ctx, rec); err == nil {
			if rec.CatalogGeneration != gen {
				s.dropCatalog(ctx, tenant, id)
			}
			return rec, nil
		}
		if !errors.Is(err, store.ErrStale) {
			return nil, err
		}
	}
	return nil, err
}
