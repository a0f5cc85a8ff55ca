package services

import (
	"context"

	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/store"
)

// SSHKeyAAD is the AAD a connection's SSH private key is sealed under, and CredentialAAD its
// PAT's, for the tests of package services_test (a key written straight into the store; the
// two seals not swappable).
func SSHKeyAAD(tenant, id string) []byte { return sshKeyAAD(tenant, id) }

// CredentialAAD is credentialAAD, for the tests of package services_test.
func CredentialAAD(tenant, id string) []byte { return credentialAAD(tenant, id) }

// RecordSeenHostKey is recordSeenHostKey, for the tests of package services_test: the write
// of a clone that read rec before another change.
func (s *Service) RecordSeenHostKey(ctx context.Context, rec *store.Connection, he *gitops.HostKeyError) {
	s.recordSeenHostKey(ctx, rec, he)
}
