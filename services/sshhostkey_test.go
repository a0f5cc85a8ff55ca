package services_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/gitops"
	"golang.org/x/crypto/ssh"
)

// A Server's host key is trusted for the host:port that showed it: the first check records
// the seen key with its host, accepting trusts it for that host only, and a key trusted for
// another host:port leaves this one unconfirmed (the sentence names both) until it is
// accepted here. A clone that read the connection before an accept, or before the SSH key
// was replaced, does not write its seen key back; one that did not is recorded. A key
// confirmed before hosts were recorded (no host) is trusted for the host dialled.
func TestSSHHostKeyBoundToHost(t *testing.T) {
	e := newSSHEnv(t, onMemory, azdosim.Options{})
	ctx := context.Background()
	_, rsaPEM, rsaPub := keygen(t, "rsa", 2048)
	e.useKey(rsaPEM, rsaPub)
	addr, hostFP := e.sim.SSHAddr(), e.sim.SSHHostKeyFingerprint()

	wantReason(t, e.checkSSH(e.repo.ID), connections.ReasonHostKeyUnconfirmed, addr, hostFP)
	if c := e.get(); c.SSH.SeenHostKeyHost != addr || c.SSH.SeenHostKeyFingerprint != hostFP {
		t.Fatalf("the seen key: %s from %q, want %s from %q", c.SSH.SeenHostKeyFingerprint, c.SSH.SeenHostKeyHost, hostFP, addr)
	}
	stale, err := e.st.GetConnection(ctx, "acme", e.conn) // a clone reads the record, then fails at the host key
	check(t, err)
	seen := &gitops.HostKeyError{Presented: stale.SSH.SeenHostKey, PresentedFingerprint: hostFP, Host: addr}
	c, err := e.accept(hostFP)
	check(t, err)
	if h := c.SSH.HostKey; h == nil || h.Host != addr || c.SSH.SeenHostKeyFingerprint != "" || c.SSH.SeenHostKeyHost != "" {
		t.Fatalf("after accepting: %+v (host key %+v)", c.SSH, c.SSH.HostKey)
	}
	e.svc.RecordSeenHostKey(ctx, stale, seen) // ... and records it after the accept
	if c := e.get(); c.SSH.SeenHostKeyFingerprint != "" {
		t.Fatalf("a clone that started before the accept wrote the accepted key back as waiting: %+v", c.SSH)
	}
	if res := e.checkSSH(e.repo.ID); !res.OK {
		t.Fatalf("check after accepting: %+v", res)
	}

	// The trusted key is another host:port's: this host's key is unconfirmed, not trusted.
	const elsewhere = "tfs-old.example.com:22"
	rec, err := e.st.GetConnection(ctx, "acme", e.conn)
	check(t, err)
	rec.SSH.HostKeyHost = elsewhere
	check(t, e.st.UpdateConnection(ctx, rec))
	wantReason(t, e.checkSSH(e.repo.ID), connections.ReasonHostKeyUnconfirmed, addr, hostFP, elsewhere)
	if _, err := e.clone(); !errors.Is(err, connections.ErrHostKey) || connections.AsError(err).Reason != connections.ReasonHostKeyUnconfirmed {
		t.Fatalf("a clone of a host whose key is not the trusted host's: %v", err)
	}
	if c := e.get(); c.SSH.SeenHostKeyHost != addr || c.SSH.HostKey.Host != elsewhere {
		t.Fatalf("seen from %q, trusted for %q", c.SSH.SeenHostKeyHost, c.SSH.HostKey.Host)
	}

	// The SSH key is replaced while a clone runs: the clone's seen key is not written.
	stale, err = e.st.GetConnection(ctx, "acme", e.conn)
	check(t, err)
	_, otherPEM, otherPub := keygen(t, "rsa", 2048)
	e.useKey(otherPEM, otherPub)
	const otherFP = "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
	other := &gitops.HostKeyError{Presented: "ssh-ed25519 AAAA", PresentedFingerprint: otherFP, Host: "other.example.com:22"}
	e.svc.RecordSeenHostKey(ctx, stale, other)
	if c := e.get(); c.SSH.SeenHostKeyFingerprint != hostFP || c.SSH.SeenHostKeyHost != addr {
		t.Fatalf("a clone with the replaced key recorded its seen key: %+v", c.SSH)
	}
	fresh, err := e.st.GetConnection(ctx, "acme", e.conn) // the control: a current clone's key is recorded
	check(t, err)
	e.svc.RecordSeenHostKey(ctx, fresh, other)
	if c := e.get(); c.SSH.SeenHostKeyFingerprint != otherFP || c.SSH.SeenHostKeyHost != "other.example.com:22" {
		t.Fatalf("a current clone's seen key was not recorded: %+v", c.SSH)
	}
	if _, err := e.accept(hostFP); fieldOf(err) != "fingerprint" || !strings.Contains(err.Error(), otherFP) {
		t.Fatalf("accepting a key that is not the one seen: %v", err)
	}

	// Seen again from this host, accepted: the trust moves here.
	wantReason(t, e.checkSSH(e.repo.ID), connections.ReasonHostKeyUnconfirmed, addr)
	c, err = e.accept(hostFP)
	check(t, err)
	if c.SSH.HostKey.Host != addr {
		t.Fatalf("accepted for %q, want %q", c.SSH.HostKey.Host, addr)
	}
	if res := e.checkSSH(e.repo.ID); !res.OK {
		t.Fatalf("check after accepting here: %+v", res)
	}

	// A key confirmed before hosts were recorded is trusted for the host the connection dials.
	rec, err = e.st.GetConnection(ctx, "acme", e.conn)
	check(t, err)
	rec.SSH.HostKeyHost = ""
	check(t, e.st.UpdateConnection(ctx, rec))
	if res := e.checkSSH(e.repo.ID); !res.OK {
		t.Fatalf("check with a key confirmed without a host: %+v", res)
	}
	_, err = e.clone()
	check(t, err)
	e.wantNeverInClear(rsaPEM, otherPEM)
}

// A Server whose SSH service gains a host key of another type after its RSA key was
// confirmed (x/crypto's client would prefer the new ECDSA key) still checks and clones: the
// trusted key's type is asked for first, as OpenSSH does for a host it knows. A new
// connection to it, which trusts nothing yet, is shown the key its client prefers (ECDSA).
func TestSSHServerWithASecondHostKeyType(t *testing.T) {
	e := newSSHEnv(t, onMemory, azdosim.Options{})
	_, rsaPEM, rsaPub := keygen(t, "rsa", 2048)
	e.useKey(rsaPEM, rsaPub)
	rsaFP := e.sim.SSHHostKeyFingerprint()
	wantReason(t, e.checkSSH(e.repo.ID), connections.ReasonHostKeyUnconfirmed, rsaFP)
	_, err := e.accept(rsaFP)
	check(t, err)

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(t, err)
	ec, err := ssh.NewSignerFromKey(ecKey)
	check(t, err)
	check(t, e.sim.AddSSHHostKey(ec))
	if err := e.sim.AddSSHHostKey(ec); err == nil {
		t.Fatal("the simulator took a second ECDSA host key")
	}

	if res := e.checkSSH(e.repo.ID); !res.OK {
		t.Fatalf("the check after the server gained an ECDSA key: %+v", res)
	}
	if _, err := e.clone(); err != nil {
		t.Fatalf("the clone after the server gained an ECDSA key: %v", err)
	}
	if c := e.get(); c.SSH.SeenHostKeyFingerprint != "" || c.SSH.HostKey == nil || !slices.Equal(c.SSH.HostKey.Fingerprints, []string{rsaFP}) {
		t.Fatalf("the trusted key changed or a key waits: %+v (host key %+v)", c.SSH, c.SSH.HostKey)
	}

	// The control: with nothing trusted, the client's own preference picks the ECDSA key.
	f := newSSHEnv(t, onMemory, azdosim.Options{})
	f.useKey(rsaPEM, rsaPub)
	check(t, f.sim.AddSSHHostKey(ec))
	wantReason(t, f.checkSSH(f.repo.ID), connections.ReasonHostKeyUnconfirmed, ssh.FingerprintSHA256(ec.PublicKey()))
}
