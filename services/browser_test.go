package services_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/bolt"
	"github.com/repoconnect/repoconnect/services/store/storetest"
)

// browserKeyring returns a keyring holding one random key under id.
func browserKeyring(t *testing.T, id string) *secrets.Keyring {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	kr, err := secrets.NewKeyring(id, map[string][]byte{id: key})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// browserStore opens a bbolt store in a temporary directory, closed at cleanup.
func browserStore(t *testing.T) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// browserService is a Service on st with keyring kr and the settable clock.
func browserService(t *testing.T, st store.Store, kr *secrets.Keyring, clock *storetest.Clock) *services.Service {
	t.Helper()
	svc, err := services.New(services.Options{Store: st, Keyring: kr, Now: clock.Now, Door: services.LoopbackDoor})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

// A session made from a valid API key names the key's tenant, expires BrowserSessionTTL after
// sign-in, and carries the key only sealed: neither the key nor any base64 of it is readable
// in the token.
func TestBrowserSessionRoundTrip(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(time.Now())
	svc := browserService(t, browserStore(t), browserKeyring(t, "k1"), clock)
	key, _, err := svc.CreateAPIKey(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	token, tenant, expires, err := svc.NewBrowserSession(ctx, key)
	if err != nil || token == "" || tenant != "acme" {
		t.Fatalf("NewBrowserSession: %q %q %v", token, tenant, err)
	}
	if want := clock.Now().Add(services.BrowserSessionTTL); expires.After(want) || expires.Before(want.Add(-time.Second)) {
		t.Errorf("expires %v, want about %v", expires, want)
	}
	if got, err := svc.BrowserSession(ctx, token); err != nil || got != "acme" {
		t.Fatalf("BrowserSession: %q %v", got, err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatalf("the token is not base64url: %v", err)
	}
	if bytes.Contains(raw, []byte(key)) || bytes.Contains(raw, []byte(key[4:])) {
		t.Error("the decoded token carries the API key in clear")
	}
	for _, s := range []string{key, key[4:], base64.RawURLEncoding.EncodeToString([]byte(key)),
		base64.StdEncoding.EncodeToString([]byte(key)), base64.RawStdEncoding.EncodeToString([]byte(key))} {
		if strings.Contains(token, s) {
			t.Errorf("the token carries %q", s)
		}
	}
	// Sealing is randomized: a second sign-in gets another token that works as well.
	again, _, _, err := svc.NewBrowserSession(ctx, key)
	if err != nil || again == token {
		t.Fatalf("second session: same token or %v", err)
	}
	if got, err := svc.BrowserSession(ctx, again); err != nil || got != "acme" {
		t.Fatalf("second session: %q %v", got, err)
	}
}

// Expired, tampered, foreign-keyring, revoked and malformed tokens are all ErrInvalidAPIKey;
// so is a sign-in with a bad key. A token stays valid until just before its expiry.
func TestBrowserSessionRefused(t *testing.T) {
	ctx := context.Background()
	st := browserStore(t)
	clock := storetest.NewClock(time.Now())
	svc := browserService(t, st, browserKeyring(t, "k1"), clock)
	sameID := browserService(t, st, browserKeyring(t, "k1"), clock) // same key id, other key
	otherID := browserService(t, st, browserKeyring(t, "k2"), clock)

	for _, bad := range []string{"", "rck_", "rck_unknownkeyunknownkeyunknownkeyunknownkey0", "not-a-key"} {
		if _, _, _, err := svc.NewBrowserSession(ctx, bad); !errors.Is(err, services.ErrInvalidAPIKey) {
			t.Errorf("NewBrowserSession(%q): %v, want ErrInvalidAPIKey", bad, err)
		}
	}

	key, _, err := svc.CreateAPIKey(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	revokedKey, revokedRec, err := svc.CreateAPIKey(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	session := func(k string) string {
		t.Helper()
		token, _, _, err := svc.NewBrowserSession(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	token, revoked := session(key), session(revokedKey)
	if err := svc.RevokeAPIKey(ctx, "acme", revokedRec.ID); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(b)
	}

	for _, c := range []struct {
		name  string
		svc   *services.Service
		token string
	}{
		{"tampered first byte", svc, flip(0)},
		{"tampered middle byte", svc, flip(len(raw) / 2)},
		{"tampered last byte", svc, flip(len(raw) - 1)},
		{"truncated", svc, base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1])},
		{"other keyring, same key id", sameID, token},
		{"other keyring, other key id", otherID, token},
		{"revoked API key", svc, revoked},
		{"empty", svc, ""},
		{"oversized", svc, strings.Repeat("A", 1025)},
		{"oversized with the token inside", svc, token + strings.Repeat("A", 1100)},
		{"not base64url", svc, "!!!%%%***"},
		{"short base64url", svc, "AAAA"},
		{"the API key itself", svc, key},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, err := c.svc.BrowserSession(ctx, c.token); !errors.Is(err, services.ErrInvalidAPIKey) {
				t.Fatalf("BrowserSession: %q %v, want ErrInvalidAPIKey", got, err)
			}
		})
	}

	// The untouched token works until its expiry, then no more.
	clock.Advance(services.BrowserSessionTTL - time.Second)
	if got, err := svc.BrowserSession(ctx, token); err != nil || got != "acme" {
		t.Fatalf("one second before expiry: %q %v", got, err)
	}
	clock.Advance(time.Second)
	if got, err := svc.BrowserSession(ctx, token); !errors.Is(err, services.ErrInvalidAPIKey) {
		t.Fatalf("at expiry: %q %v, want ErrInvalidAPIKey", got, err)
	}
}

// RequiredScopes lists every default scope, in order, each with a sentence saying what it is for.
func TestRequiredScopes(t *testing.T) {
	got := services.RequiredScopes()
	if len(got) != len(azuredevops.DefaultScopes) || len(got) == 0 {
		t.Fatalf("RequiredScopes: %d scopes, want %d", len(got), len(azuredevops.DefaultScopes))
	}
	for i, s := range got {
		if s.Name != azuredevops.DefaultScopes[i] {
			t.Errorf("scope %d is %q, want %q", i, s.Name, azuredevops.DefaultScopes[i])
		}
		if strings.TrimSpace(s.Purpose) == "" {
			t.Errorf("scope %q has no purpose", s.Name)
		}
	}
}
