package services

import (
	"context"
	"errors"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/store"
)

// opened is a stored connection with a usable credential: the PAT unsealed, or an OAuth
// access token that is not about to expire (refreshed if it was).
type opened struct {
	rec    *store.Connection
	ep     azuredevops.Endpoint
	cred   azuredevops.Credential
	client *azuredevops.Client
}

// open loads a connection of the tenant and readies its credential. Errors: store.ErrNotFound;
// for OAuth connections ErrUnauthorized when not authorized (the status says why) and the
// refresh's errors.
func (s *Service) open(ctx context.Context, tenant, id string) (*opened, error) {
	rec, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return s.openRec(ctx, rec)
}

// openRec is open for a record already read from the store.
func (s *Service) openRec(ctx context.Context, rec *store.Connection) (*opened, error) {
	if rec.OAuth != nil {
		access, cur, err := s.accessToken(ctx, rec, "")
		if err != nil {
			return nil, err
		}
		return s.openWith(cur, azuredevops.Credential{Bearer: connections.Secret(access), OAuthProvider: cur.OAuth.Provider})
	}
	plain, err := s.keyring.Open(rec.SealedCredential, credentialAAD(rec.TenantID, rec.ID))
	if err != nil {
		return nil, err
	}
	return s.openWith(rec, azuredevops.Credential{PAT: connections.Secret(plain)})
}

func (s *Service) openWith(rec *store.Connection, cred azuredevops.Credential) (*opened, error) {
	ep, err := endpointOf(rec)
	if err != nil {
		return nil, err
	}
	opts, err := s.clientOptions(rec.CACertificate)
	if err != nil {
		return nil, err
	}
	c, err := azuredevops.New(ep, cred, opts)
	if err != nil {
		return nil, err
	}
	return &opened{rec: rec, ep: ep, cred: cred, client: c}, nil
}

// fresh reports whether o's OAuth token was minted within freshFor.
func (s *Service) fresh(o *opened) bool {
	return o.rec.OAuth != nil && s.now().Sub(o.rec.OAuth.TokenIssuedAt) < freshFor
}

// call runs fn with o's client. For an OAuth connection whose token Azure DevOps refuses
// (401, or TF400813 to a token that is not freshly minted) the token is refreshed once and fn
// runs again, so a token revoked or expired early costs one retry, and TF400813 is believed to
// mean the organization policy only on a fresh token (docs/azure-devops-protocol.md §6). The outcome is
// recorded in the connection's status (observe).
func (s *Service) call(ctx context.Context, o *opened, fn func(c *azuredevops.Client) error) error {
	err := fn(o.client)
	retry := o.rec.OAuth != nil && (errors.Is(err, connections.ErrUnauthorized) ||
		(errors.Is(err, connections.ErrPolicyDisabled) && !s.fresh(o)))
	if retry {
		access, rec, rerr := s.accessToken(ctx, o.rec, o.cred.Bearer.Reveal())
		if rerr != nil {
			return rerr
		}
		n, rerr := s.openWith(rec, azuredevops.Credential{Bearer: connections.Secret(access), OAuthProvider: rec.OAuth.Provider})
		if rerr != nil {
			return rerr
		}
		*o = *n
		err = fn(o.client)
	}
	return s.observe(ctx, o, err)
}

// observe records in the connection's status what the forge said of its credential, so the
// UI shows the state without another round trip: a PAT rejected (invalid_token) or accepted
// again (authorized); an OAuth token refused by the organization policy
// (oauth_policy_disabled), refused after a refresh (needs_reauth), or accepted (authorized).
// Other errors change nothing. It returns err unchanged.
func (s *Service) observe(ctx context.Context, o *opened, err error) error {
	var status, reason, msg string
	e := connections.AsError(err)
	var sub *gitops.SubmoduleError
	switch {
	case errors.As(err, &sub): // a submodule's server (maybe another host) answered
		return err
	case err == nil:
		status = StatusAuthorized
	case o.rec.OAuth != nil && errors.Is(err, connections.ErrPolicyDisabled):
		status = StatusOAuthPolicyDisabled
	case o.rec.OAuth != nil && errors.Is(err, connections.ErrUnauthorized):
		status = StatusNeedsReauth
	case errors.Is(err, connections.ErrUnauthorized):
		status = StatusInvalidToken
	default:
		return err
	}
	if e != nil {
		reason, msg = string(e.Reason), e.Message
	}
	if status == o.rec.Status && (status == StatusAuthorized || reason == o.rec.StatusReason) {
		return err
	}
	_, uerr := s.mutate(detach(ctx), o.rec.TenantID, o.rec.ID, func(r *store.Connection) error {
		if status == StatusNeedsReauth {
			r.SealedCredential = nil
		}
		if err == nil {
			r.CheckedAt = s.now().UTC()
		}
		s.setStatus(r, status, reason, msg)
		return nil
	})
	if uerr != nil && !errors.Is(uerr, store.ErrNotFound) {
		s.log.WarnContext(ctx, "could not record the connection status", "connection", o.rec.ID, "err", uerr)
	}
	return err
}

// sshKeyAAD binds a sealed SSH private key to its record, apart from the PAT's
// (credentialAAD): a sealed PAT copied into the key's place, or the key into the PAT's, does
// not open.
func sshKeyAAD(tenant, connectionID string) []byte {
	return []byte("connection-ssh-key/" + tenant + "/" + connectionID)
}

// openSSHKey unseals the private key of rec's SSH credential (PEM). Errors: ErrInvalidInput
// when rec has no SSH key; the keyring's when the seal does not open.
func (s *Service) openSSHKey(rec *store.Connection) (connections.Secret, error) {
	if rec.SSH == nil || len(rec.SSH.SealedPrivateKey) == 0 {
		return "", invalid("ssh", "the connection has no SSH key")
	}
	plain, err := s.keyring.Open(rec.SSH.SealedPrivateKey, sshKeyAAD(rec.TenantID, rec.ID))
	if err != nil {
		return "", err
	}
	return connections.Secret(plain), nil
}
