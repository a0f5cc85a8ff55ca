package gitops_test

import (
	"slices"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/gitops"
)

// The trusted key's algorithms come first, every other one follows once, and an unknown type
// leaves x/crypto's defaults.
func TestPreferHostKeyType(t *testing.T) {
	rsa := gitops.PreferHostKeyType(ssh.KeyAlgoRSA)
	if !slices.Equal(rsa[:3], []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}) {
		t.Errorf("for ssh-rsa: %v", rsa)
	}
	ecdsa := gitops.PreferHostKeyType(ssh.KeyAlgoECDSA256)
	if ecdsa[0] != ssh.KeyAlgoECDSA256 || !slices.Contains(ecdsa, ssh.KeyAlgoED25519) || !slices.Contains(ecdsa, ssh.KeyAlgoRSASHA512) {
		t.Errorf("for ecdsa: %v", ecdsa)
	}
	for _, list := range [][]string{rsa, ecdsa} {
		seen := map[string]bool{}
		for _, a := range list {
			if seen[a] {
				t.Errorf("%s twice in %v", a, list)
			}
			seen[a] = true
		}
	}
	if got := gitops.PreferHostKeyType("ssh-unknown"); got != nil {
		t.Errorf("an unknown type: %v", got)
	}
	if got := gitops.PreferHostKeyType(""); got != nil {
		t.Errorf("no type: %v", got)
	}
}
