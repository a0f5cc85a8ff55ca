package services_test

import (
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/services"
)

// The deployment's SSH algorithms reach every check and clone: against a server that offers
// only SHA-1 ssh-rsa (host key and signatures), a Services connection (SHA-2 only) stops with
// protocol_error naming the algorithms, not ssh_key_not_added, and its key is never offered;
// a Server connection (which allows ssh-rsa) checks and clones.
func TestSSHAlgorithmsOfTheDeployment(t *testing.T) {
	sha1Only := azdosim.Options{Services: true, SSHRSASHA1Only: true}
	pinned := func(o *services.Options) {
		o.ServicesSSHHostKeyFingerprints = []string{azdosim.DefaultSSHHostKeyFingerprint}
	}
	e := newSSHEnv(t, onMemory, sha1Only, pinned)
	_, rsaPEM, rsaPub := keygen(t, "rsa", 2048)
	e.useKey(rsaPEM, rsaPub)
	before := len(e.sim.SSHRefusals())
	res := e.checkSSH(e.repo.ID)
	wantReason(t, res, connections.ReasonProtocol, "rsa-sha2-512, rsa-sha2-256", "SHA-1", "Azure DevOps Services itself offers the SHA-2 algorithms")
	if strings.Contains(res.Message, "User settings") {
		t.Errorf("the SHA-1 server reads as a key not added: %s", res.Message)
	}
	if _, err := e.clone(); connections.AsError(err) == nil || connections.AsError(err).Reason != connections.ReasonProtocol {
		t.Fatalf("a Services clone from a SHA-1-only server: %v", err)
	}
	if n := len(e.sim.SSHRefusals()); n != before {
		t.Errorf("the simulator refused %d keys: the key was offered", n-before)
	}

	s := newSSHEnv(t, onMemory, azdosim.Options{SSHRSASHA1Only: true})
	s.useKey(rsaPEM, rsaPub)
	s.confirmHost()
	if res := s.checkSSH(s.repo.ID); !res.OK {
		t.Fatalf("a Server connection to a SHA-1-only server: %+v", res)
	}
	_, err := s.clone()
	check(t, err)
	e.wantNeverInClear(rsaPEM)
}
