package services

import (
	"bytes"
	"slices"

	"github.com/repoconnect/repoconnect/services/store"
)

// appDetails returns a deep copy of the app fields of d (provider, scopes, Entra tenant,
// client id, sealed client secret and its expiry, callback URL), token fields zero: the
// PendingApp a sign-in carries in its state (store.OAuthState).
func appDetails(d *store.OAuthDetails) *store.OAuthDetails {
	a := &store.OAuthDetails{Provider: d.Provider, Scopes: slices.Clone(d.Scopes), EntraTenant: d.EntraTenant,
		ClientID: d.ClientID, SealedClientSecret: bytes.Clone(d.SealedClientSecret), CallbackURL: d.CallbackURL}
	if d.ClientSecretExpiry != nil {
		t := *d.ClientSecretExpiry
		a.ClientSecretExpiry = &t
	}
	return a
}

// setApp writes the app fields of app into d, keeping d's token fields: the one place a
// sign-in's app reaches a connection (in the mutation that also stores its tokens).
func setApp(d, app *store.OAuthDetails) {
	a := appDetails(app)
	a.TokenExpiry, a.TokenIssuedAt = d.TokenExpiry, d.TokenIssuedAt
	*d = *a
}

// sameApp reports whether a and b name the same app with the same scopes and secret. A secret
// sealed again is another secret here (sealing is randomized), which errs on the safe side: a
// failed sign-in with it leaves the connection as it was.
func sameApp(a, b *store.OAuthDetails) bool {
	return a.Provider == b.Provider && a.ClientID == b.ClientID && a.CallbackURL == b.CallbackURL &&
		a.EntraTenant == b.EntraTenant && slices.Equal(a.Scopes, b.Scopes) &&
		bytes.Equal(a.SealedClientSecret, b.SealedClientSecret) &&
		(a.ClientSecretExpiry == nil) == (b.ClientSecretExpiry == nil) &&
		(a.ClientSecretExpiry == nil || a.ClientSecretExpiry.Equal(*b.ClientSecretExpiry))
}
