package storetest

import (
	"bytes"
	"slices"

	"github.com/repoconnect/repoconnect/services/store"
)

// newOAuthConn returns a "services-oauth" connection with every field set: the status details,
// two StatusHistory entries and OAuthDetails with every field, ClientSecretExpiry included.
// All times are fixed UTC instants (see at).
func newOAuthConn(tenant, id, name string) *store.Connection {
	c := newConn(tenant, id, name)
	c.Type = "services-oauth"
	c.Status, c.StatusReason, c.StatusMessage = "needs_reauth", "consent_revoked", "Sign in again."
	c.CatalogGeneration = 7
	c.StatusHistory = []store.StatusChange{
		{At: at(-20), From: "new", To: "authorized"},
		{At: at(-10), From: "authorized", To: "needs_reauth", Reason: "consent_revoked", Message: "Sign in again."},
	}
	secretExpiry := at(86400)
	c.OAuth = &store.OAuthDetails{
		Provider: "entra", Scopes: []string{"vso.code", "vso.project"}, EntraTenant: "organizations",
		ClientID: "client-" + id, SealedClientSecret: []byte{5, 6, 7}, ClientSecretExpiry: &secretExpiry,
		CallbackURL: "https://repoconnect.example/oauth/callback",
		TokenExpiry: at(3600), TokenIssuedAt: at(-60),
	}
	return c
}

// cloneConn returns a deep copy of c (nil slices stay nil).
func cloneConn(c *store.Connection) *store.Connection {
	n := *c
	n.SealedCredential = bytes.Clone(c.SealedCredential)
	n.StatusHistory = slices.Clone(c.StatusHistory)
	if c.OAuth != nil {
		o := *c.OAuth
		o.Scopes = slices.Clone(o.Scopes)
		o.SealedClientSecret = bytes.Clone(o.SealedClientSecret)
		if o.ClientSecretExpiry != nil {
			e := *o.ClientSecretExpiry
			o.ClientSecretExpiry = &e
		}
		n.OAuth = &o
	}
	return &n
}

// normConn returns a deep copy of c with every time in UTC, so that equal instants compare
// equal with reflect.DeepEqual.
func normConn(c *store.Connection) *store.Connection {
	n := cloneConn(c)
	n.CheckedAt, n.CreatedAt, n.UpdatedAt = n.CheckedAt.UTC(), n.CreatedAt.UTC(), n.UpdatedAt.UTC()
	for i := range n.StatusHistory {
		n.StatusHistory[i].At = n.StatusHistory[i].At.UTC()
	}
	if o := n.OAuth; o != nil {
		o.TokenExpiry, o.TokenIssuedAt = o.TokenExpiry.UTC(), o.TokenIssuedAt.UTC()
		if o.ClientSecretExpiry != nil {
			*o.ClientSecretExpiry = o.ClientSecretExpiry.UTC()
		}
	}
	return n
}
