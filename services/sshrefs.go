package services

import (
	"context"
	"errors"
)

// listRefsSSH lists the refs the server advertises for t's repository over SSH
// (git-upload-pack), through the service's door: the number of refs and the host key
// fingerprint seen. Placeholder until gitops' SSH ref listing is merged (branch i21-gitssh).
func (s *Service) listRefsSSH(ctx context.Context, t *sshTarget) (int, string, error) {
	return 0, "", errors.New("services: ssh: listing refs is not available yet")
}
