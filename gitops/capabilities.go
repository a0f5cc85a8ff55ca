// Package gitops clones repositories with go-git: authentication without credentials in URLs,
// shallow and single-branch clones, progress, and translation of go-git's errors into the
// categories of package connections.
package gitops

import (
	"errors"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/net/proxy"
)

// azureCapabilities guards the process-wide go-git settings of this project: the
// capabilities below, the HTTP transports (transport.go) and the SSH transport (sshdial.go).
var azureCapabilities sync.Once

// sshRuns is the registry of the running SSH clones' door dialers (sshdial.go): token →
// *sshRun, an entry stored when a clone starts and deleted when it ends. go-git's SSH
// transport finds a clone's dialer through the proxy URL the clone gives its endpoints.
var sshRuns sync.Map

// EnableAzureDevOpsCapabilities makes go-git ask for multi_ack, which Azure DevOps requires
// (it answers HTTP 400 "TF401041: The Git protocol sent is not as expected (Clients must support
// multi-ack.)" otherwise), by leaving only thin-pack in transport.UnsupportedCapabilities
// (docs/azure-devops-protocol.md §7; the workaround documented by go-git since v5.5.0).
//
// transport.UnsupportedCapabilities is a process-wide variable read during every negotiation,
// so it is written exactly once, before the first clone, and never while clones run: Clone
// calls this itself; calling it again is a no-op. Incremental fetches into the repository
// cache work with it: cachefetch.go builds the upload-pack request itself (wants, the store's
// tips as haves, its shallow boundary) and go-git reads the server's multi_ack answers.
//
// The same once installs go-git's HTTP and HTTPS clients (client.InstallProtocol, also
// process-wide): every go-git request goes through the egress door of its clone's context,
// and redirects are followed for the first info/refs request only, to the same host
// (installTransport, transport.go).
//
// And it sets go-git's SSH transport up for clones over SSH (sshdial.go): ~/.ssh/config is
// ignored (gitssh.DefaultSSHConfig = nil), ssh-agent is never asked for a key
// (gitssh.DefaultAuthBuilder fails), the "ssh" protocol is go-git's SSH client behind
// sshGuard (sessions only with a running clone's key and door), and the proxy scheme
// sshProxyScheme (golang.org/x/net/proxy.RegisterDialerType, a process-wide registry) dials
// through the clone's egress door. known_hosts files are never read: every clone's
// AuthMethod sets its own HostKeyCallback.
func EnableAzureDevOpsCapabilities() {
	azureCapabilities.Do(func() {
		transport.UnsupportedCapabilities = []capability.Capability{capability.ThinPack}
		installTransport()
		gitssh.DefaultSSHConfig = nil
		gitssh.DefaultAuthBuilder = func(string) (gitssh.AuthMethod, error) {
			return nil, errors.New("gitops: SSH needs the clone's key; ssh-agent is not used")
		}
		proxy.RegisterDialerType(sshProxyScheme, newSSHDoorDialer)
		client.InstallProtocol("ssh", sshGuard{gitssh.NewClient(nil)})
	})
}
