package azdosim

import (
	"errors"
	"strings"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// TestGoGitClone checks the go-git behaviour of docs/azure-devops-protocol.md §7 against the simulator: by
// default go-git does not ask for multi_ack and the clone fails; with the documented
// workaround (only thin-pack unsupported) it succeeds. The test changes a process-wide go-git
// variable and restores it, so it must not run in parallel.
func TestGoGitClone(t *testing.T) {
	s := startServer(t, Options{Seed: true, VirtualDir: "tfs"})
	info := findRepo(t, s, "android app")
	opts := &gogit.CloneOptions{
		URL:  s.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/android%20app",
		Auth: &githttp.BasicAuth{Username: "build", Password: testPAT},
	}
	if _, err := gogit.Clone(memory.NewStorage(), nil, opts); err == nil || !strings.Contains(err.Error(), "status code: 400") {
		t.Fatalf("default go-git clone (no multi_ack): %v, want the 400 of TF401041", err)
	}

	saved := transport.UnsupportedCapabilities
	transport.UnsupportedCapabilities = []capability.Capability{capability.ThinPack}
	defer func() { transport.UnsupportedCapabilities = saved }()

	repo, err := gogit.Clone(memory.NewStorage(), nil, opts)
	if err != nil {
		t.Fatalf("clone with the workaround: %v", err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	if want := mustGit(t, info.BarePath, "rev-parse", "refs/heads/main"); head.Hash().String()+"\n" != want {
		t.Fatalf("HEAD %s, want %s", head.Hash(), want)
	}
	if _, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", "feature/login"), false); err != nil {
		t.Errorf("feature/login: %v", err)
	}
	bad := *opts
	bad.Auth = &githttp.BasicAuth{Username: "build", Password: "wrong"}
	if _, err := gogit.Clone(memory.NewStorage(), nil, &bad); !errors.Is(err, transport.ErrAuthenticationRequired) {
		t.Errorf("bad PAT: %v, want ErrAuthenticationRequired", err)
	}
}
