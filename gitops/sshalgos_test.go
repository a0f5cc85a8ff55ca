package gitops_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/gitops"
)

// sha2Only is Azure DevOps Services' policy (azuredevops.SSHKeyPolicyFor on Services):
// SHA-2 signatures with the RSA key, SHA-2 host key signatures.
var sha2Only = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}

// Review finding 3: SSHAuth's algorithms are applied. A server that offers SHA-2 negotiates
// them; one that offers SHA-1 ssh-rsa only (the simulator's SSHRSASHA1Only) fails with
// protocol_error naming the algorithms, not ssh_key_not_added, and the key is not offered.
func TestSSHAlgorithms(t *testing.T) {
	t.Run("SHA-2 offered", func(t *testing.T) {
		e := startSSHSim(t, true)
		r := repoByName(t, e.sim, "android app")
		auth := e.auth()
		auth.SignatureAlgorithms, auth.HostKeyAlgorithms = sha2Only, sha2Only
		dir := filepath.Join(t.TempDir(), "c")
		if _, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(r), Dir: dir, SSH: auth}); err != nil {
			t.Fatalf("a clone with SHA-2 only: %v", err)
		}
		if got, want := gitOut(t, dir, "rev-parse", "HEAD"), gitOut(t, r.BarePath, "rev-parse", r.DefaultBranch); got != want {
			t.Fatalf("HEAD %s, want %s", got, want)
		}
	})
	t.Run("SHA-1 only", func(t *testing.T) {
		e := startSSHSim(t, true, func(o *azdosim.Options) { o.SSHRSASHA1Only = true })
		r := repoByName(t, e.sim, "android app")
		list := func(sig, hostKey []string) error {
			auth := e.auth()
			auth.SignatureAlgorithms, auth.HostKeyAlgorithms = sig, hostKey
			_, err := gitops.ListRefs(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(r), SSH: auth})
			return err
		}
		// Without a policy, x/crypto signs with SHA-1 and the simulator accepts it.
		if err := list(nil, nil); err != nil {
			t.Fatalf("no algorithms asked for: %v", err)
		}
		before := len(e.sim.SSHRefusals())
		for _, c := range []struct {
			name         string
			sig, hostKey []string
			want         string
		}{
			{"signatures", sha2Only, nil, "accepts none of the SSH signature algorithms allowed for the RSA key (rsa-sha2-512, rsa-sha2-256)"},
			{"host key", nil, sha2Only, "offers none of the host key algorithms asked for (rsa-sha2-512, rsa-sha2-256)"},
			{"both", sha2Only, sha2Only, "host key algorithms"}, // the key exchange comes first
		} {
			err := list(c.sig, c.hostKey)
			ce := connections.AsError(err)
			if ce == nil || !errors.Is(err, connections.ErrProtocol) || ce.Reason != connections.ReasonProtocol || !strings.Contains(ce.Message, c.want) {
				t.Errorf("%s: %v, want protocol_error with %q", c.name, err, c.want)
			}
		}
		if n := len(e.sim.SSHRefusals()); n != before {
			t.Errorf("the simulator recorded %d refusals: the key was offered", n-before)
		}
		dir := filepath.Join(t.TempDir(), "c")
		auth := e.auth()
		auth.SignatureAlgorithms = sha2Only
		_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(r), Dir: dir, SSH: auth})
		reasonAndNothing(t, err, connections.ErrProtocol, connections.ReasonProtocol, dir)
	})
	t.Run("not RSA algorithms", func(t *testing.T) {
		e := startSSHSim(t, true)
		auth := e.auth()
		auth.SignatureAlgorithms = []string{ssh.KeyAlgoED25519}
		_, err := gitops.ListRefs(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: "ssh://git@" + e.sim.SSHAddr() + "/v3/o/p/r", SSH: auth})
		if ce := connections.AsError(err); ce == nil || !errors.Is(err, connections.ErrInvalidInput) || ce.Field != "sshKey" {
			t.Fatalf("an ed25519 algorithm for an RSA key: %v", err)
		}
	})
}
