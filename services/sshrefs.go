package services

import (
	"context"

	"github.com/repoconnect/repoconnect/gitops"
)

// listRefsSSH lists the refs the server advertises for t's repository over SSH
// (git-upload-pack, gitops.ListRefs) through the service's door: how many, and the host key
// fingerprint the server presented. Errors: gitops.ListRefs'.
func (s *Service) listRefsSSH(ctx context.Context, t *sshTarget) (int, string, error) {
	refs, err := gitops.ListRefs(ctx, gitops.CloneOptions{URL: t.URL, SSH: t.Auth, Door: s.door, Timeout: sshCheckTimeout})
	if err != nil {
		return 0, "", err
	}
	return refs.Total, refs.HostKeyFingerprint, nil
}
