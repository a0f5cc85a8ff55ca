package services

import (
	"context"
	"errors"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// ConnectionUpdate is a partial change of a connection (PATCH): absent fields stay as they are.
// PAT and CACertificate apply to PAT connections only (an OAuth connection changes its
// credential by re-authorizing); CACertificate "" removes the certificate.
type ConnectionUpdate struct {
	Name          *string             `json:"name,omitempty"`
	PAT           *connections.Secret `json:"pat,omitempty"`
	CACertificate *string             `json:"caCertificate,omitempty"`
}

// UpdateConnection renames a connection and/or replaces its PAT or CA certificate. A new PAT
// or certificate is checked first, with the token check against the stored server and
// collection (it counts against ActionCheckToken); when the check fails nothing changes. A
// new credential or certificate starts a new catalog generation, so no instance serves the
// repositories the old credential could see. Errors: store.ErrNotFound; field errors (name,
// pat, caCertificate); *CheckFailedError (422); store.ErrConflict (the new name is taken);
// *RateLimitedError.
func (s *Service) UpdateConnection(ctx context.Context, tenant, id string, in ConnectionUpdate) (*Connection, error) {
	rec, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	var name string
	if in.Name != nil {
		if name, err = checkName("name", "connection", *in.Name); err != nil {
			return nil, err
		}
	}
	if in.Name == nil && in.PAT == nil && in.CACertificate == nil {
		return nil, invalid("name", "nothing to change: send name, pat or caCertificate")
	}
	if in.Name != nil && name != rec.Name {
		// Before the forge is asked (and the check budget spent); the store still decides races.
		if err := s.nameFree(ctx, tenant, name); err != nil {
			return nil, err
		}
	}
	var res *connections.CheckResult
	if in.PAT != nil || in.CACertificate != nil {
		if rec.OAuth != nil {
			field := "pat"
			if in.PAT == nil {
				field = "caCertificate"
			}
			return nil, invalid(field, "an OAuth connection changes its credential by signing in again: POST /api/v1/connections/%s/authorize", id)
		}
		if res, err = s.checkUpdate(ctx, rec, in); err != nil {
			return nil, err
		}
	}
	written, err := s.mutate(ctx, tenant, id, func(r *store.Connection) error {
		if in.Name != nil {
			r.Name = name
		}
		if in.CACertificate != nil {
			r.CACertificate = *in.CACertificate
		}
		if in.PAT != nil {
			sealed, err := s.keyring.Seal([]byte(in.PAT.Reveal()), credentialAAD(tenant, id))
			if err != nil {
				return err
			}
			r.SealedCredential = sealed
		}
		if res != nil {
			r.CatalogGeneration++
			r.CheckedAt = res.CheckedAt
			if res.User != nil {
				r.UserID, r.UserDisplayName = res.User.ID, res.User.DisplayName
			}
			s.setStatus(r, StatusAuthorized, "", "")
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, nameTaken(name)
	}
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "connection updated", "tenant", tenant, "connection", id,
		"renamed", in.Name != nil, "new_pat", in.PAT != nil, "new_ca", in.CACertificate != nil)
	v := s.view(written)
	if res != nil {
		v.Warnings = res.Warnings
	}
	return v, nil
}

// checkUpdate runs the token check of rec's endpoint with the update's PAT and certificate
// (the stored ones where the update has none).
func (s *Service) checkUpdate(ctx context.Context, rec *store.Connection, in ConnectionUpdate) (*connections.CheckResult, error) {
	if err := s.allow(ctx, rec.TenantID, ActionCheckToken); err != nil {
		return nil, err
	}
	ep, err := endpointOf(rec)
	if err != nil {
		return nil, err
	}
	var pat connections.Secret
	if in.PAT != nil {
		pat = *in.PAT
		switch {
		case strings.TrimSpace(pat.Reveal()) == "":
			return nil, invalid("pat", "the personal access token is empty; leave pat out to keep the current one")
		case strings.ContainsAny(pat.Reveal(), " \t\r\n:"):
			return nil, invalid("pat", "the personal access token contains white space or a colon; paste the token alone")
		}
	} else {
		plain, err := s.keyring.Open(rec.SealedCredential, credentialAAD(rec.TenantID, rec.ID))
		if err != nil {
			return nil, err
		}
		pat = connections.Secret(plain)
	}
	ca := rec.CACertificate
	if in.CACertificate != nil {
		ca = *in.CACertificate
		if ca != "" {
			if err := azuredevops.CheckCACertificate([]byte(ca)); err != nil {
				return nil, err
			}
		}
	}
	return s.mustPass(ctx, ep, pat, ca)
}
