package services

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/repoconnect/repoconnect/services/store"
)

// MinAPIKeyIDPrefix is the fewest characters of a key id that RevokeAPIKeyRef accepts as a
// prefix.
const MinAPIKeyIDPrefix = 4

// apiKeyTenantLister is the store capability behind APIKeyTenants; both backends have it
// (bolt: the API key bucket's keys; redisstore: a SCAN of the tenants' key indexes).
type apiKeyTenantLister interface {
	APIKeyTenants(ctx context.Context) ([]string, error)
}

// APIKeyTenants returns the tenants that hold at least one API key, sorted, and an empty
// slice when none does. A store without the capability (a wrapper that hides it) answers
// []string{DefaultTenant}: the one tenant every command names by default.
func (s *Service) APIKeyTenants(ctx context.Context) ([]string, error) {
	tenants, err := apiKeyTenantsOf(ctx, s.store)
	if err != nil {
		return nil, err
	}
	tenants = slices.Clone(tenants)
	slices.Sort(tenants)
	return tenants, nil
}

// apiKeyTenantsOf asks st, or the first store below it (through Unwrap) that has the
// capability, for the tenants holding keys; []string{DefaultTenant} when none has it.
func apiKeyTenantsOf(ctx context.Context, st store.Store) ([]string, error) {
	if l, ok := capability[apiKeyTenantLister](st); ok {
		return l.APIKeyTenants(ctx)
	}
	return []string{DefaultTenant}, nil
}

// APIKeyRef names the API key RevokeAPIKeyRef revokes: by ID (a key id, or a prefix of one
// of at least MinAPIKeyIDPrefix characters) or by Hash (the hex SHA-256 of the key itself,
// so the key need not travel further than the process that read it). Exactly one is set.
type APIKeyRef struct {
	ID   string `json:"id,omitempty"`
	Hash string `json:"hash,omitempty"`
}

// ParseAPIKeyRef reads a command-line reference to an API key: the key itself (it starts
// with "rck_"; only its hash is kept) or a key id or id prefix.
func ParseAPIKeyRef(arg string) APIKeyRef {
	arg = strings.TrimSpace(arg)
	if strings.HasPrefix(arg, apiKeyPrefix) {
		return APIKeyRef{Hash: hashKey(arg)}
	}
	return APIKeyRef{ID: arg}
}

// String names the reference in messages: the id or prefix, or "rck_…" for a key (no
// character of the secret is shown).
func (r APIKeyRef) String() string {
	if r.Hash != "" {
		return apiKeyPrefix + "… (the key given)"
	}
	if len(r.ID) > 32 { // no id is this long: perhaps a mangled key, so not echoed whole
		return r.ID[:4] + "…"
	}
	return r.ID
}

// APIKeyRevocation is what RevokeAPIKeyRef did: the key it deleted (its hash cleared) and
// the tenants it searched, sorted.
type APIKeyRevocation struct {
	Key      *store.APIKey
	Searched []string
}

// APIKeyNotFoundError is RevokeAPIKeyRef's answer when no key matches: the reference and the
// tenants searched (empty: no tenant has keys). It wraps store.ErrNotFound.
type APIKeyNotFoundError struct {
	Ref      string
	Searched []string
}

func (e *APIKeyNotFoundError) Error() string {
	switch len(e.Searched) {
	case 0:
		return fmt.Sprintf("no API key %s: no tenant has API keys", e.Ref)
	case 1:
		return fmt.Sprintf("no API key %s in tenant %s", e.Ref, e.Searched[0])
	}
	return fmt.Sprintf("no API key %s in tenants %s", e.Ref, strings.Join(e.Searched, ", "))
}

// Unwrap makes the error match store.ErrNotFound.
func (e *APIKeyNotFoundError) Unwrap() error { return store.ErrNotFound }

// AmbiguousAPIKeyError is RevokeAPIKeyRef's answer when an id prefix matches several keys:
// nothing is revoked, and Matches lists them (ids and tenants; hashes cleared).
type AmbiguousAPIKeyError struct {
	Ref     string
	Matches []*store.APIKey
}

func (e *AmbiguousAPIKeyError) Error() string {
	ids := make([]string, len(e.Matches))
	for i, k := range e.Matches {
		ids[i] = k.ID + " (tenant " + k.TenantID + ")"
	}
	return fmt.Sprintf("the id prefix %s matches %d API keys: %s; give the whole id", e.Ref, len(e.Matches), strings.Join(ids, ", "))
}

// RevokeAPIKeyRef deletes the API key ref names, in tenant, or with tenant "" in whichever
// tenant holds it (every tenant APIKeyTenants names is searched). The key stops
// authenticating at once: Authenticate reads the store on every request.
//
// Errors: ErrInvalidInput (field "tenant" for a malformed name; field "id" for an empty
// reference or a prefix shorter than MinAPIKeyIDPrefix), *APIKeyNotFoundError (no match,
// or the match is in another tenant than the one named), *AmbiguousAPIKeyError (a prefix
// matching several keys), or the store's.
func (s *Service) RevokeAPIKeyRef(ctx context.Context, tenant string, ref APIKeyRef) (*APIKeyRevocation, error) {
	if tenant != "" && !tenantName.MatchString(tenant) {
		return nil, invalid("tenant", "a tenant name is 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if (ref.ID == "") == (ref.Hash == "") {
		return nil, invalid("id", "name the API key to revoke by its id (apikey list shows them) or by the key itself")
	}
	searched := []string{tenant}
	if tenant == "" {
		var err error
		if searched, err = s.APIKeyTenants(ctx); err != nil {
			return nil, err
		}
	}
	notFound := &APIKeyNotFoundError{Ref: ref.String(), Searched: searched}
	var target *store.APIKey
	if ref.Hash != "" {
		k, err := s.store.APIKeyByHash(ctx, ref.Hash)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !slices.Contains(searched, k.TenantID)) {
			return nil, notFound
		} else if err != nil {
			return nil, err
		}
		target = k
	} else {
		var exact, prefixed []*store.APIKey
		for _, t := range searched {
			keys, _, err := s.store.ListAPIKeys(ctx, t, store.Page{})
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				switch {
				case k.ID == ref.ID:
					exact = append(exact, k)
				case strings.HasPrefix(k.ID, ref.ID):
					prefixed = append(prefixed, k)
				}
			}
		}
		matches := exact
		if len(matches) == 0 {
			if len(ref.ID) < MinAPIKeyIDPrefix {
				return nil, invalid("id", "no key has the id %q; a prefix of an id must have at least %d characters", ref.ID, MinAPIKeyIDPrefix)
			}
			matches = prefixed
		}
		switch len(matches) {
		case 0:
			return nil, notFound
		case 1:
			target = matches[0]
		default:
			for _, k := range matches {
				k.Hash = ""
			}
			return nil, &AmbiguousAPIKeyError{Ref: ref.ID, Matches: matches}
		}
	}
	if err := s.store.DeleteAPIKey(ctx, target.TenantID, target.ID); errors.Is(err, store.ErrNotFound) {
		return nil, notFound // revoked meanwhile
	} else if err != nil {
		return nil, err
	}
	target.Hash = ""
	return &APIKeyRevocation{Key: target, Searched: searched}, nil
}
