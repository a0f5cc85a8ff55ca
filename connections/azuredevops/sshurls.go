package azuredevops

// Where SSH happens for an endpoint (docs/ssh.md): the clone URL when the REST answer has no
// sshUrl, the page where the user adds a public key, and the host keys Microsoft publishes.

import (
	"encoding/base64"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Azure DevOps Services' SSH hosts. Both serve every organization with the same host key
// (docs/ssh.md); ServicesSSHHost is the one Microsoft's clone dialog shows today.
const (
	ServicesSSHHost       = "ssh.dev.azure.com"
	ServicesLegacySSHHost = "vs-ssh.visualstudio.com"
	// DefaultSSHPort is the port of every Services SSH URL and a Server's default.
	DefaultSSHPort = 22
)

// ServicesSSHHostKeyFingerprints are the SHA-256 fingerprints Microsoft publishes for the
// host keys of ssh.dev.azure.com and vs-ssh.visualstudio.com: one RSA key, "used across all of
// hosted Azure DevOps". Sources (docs/ssh.md): the Learn page "Use SSH key authentication"
// (https://learn.microsoft.com/azure/devops/repos/git/use-ssh-keys-to-authenticate, added by
// https://github.com/MicrosoftDocs/azure-devops-docs/pull/3371), which also tells users to
// compare with the fingerprints on their SSH public keys page; the published MD5 form is
// 97:70:33:82:fd:29:3a:73:39:af:6a:07:ad:f8:80:49
// (https://github.com/MicrosoftDocs/azure-devops-docs/issues/7726). Read it, never change it:
// use ServicesHostKeyFingerprints for a copy.
var ServicesSSHHostKeyFingerprints = []string{
	"SHA256:ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6Og",
}

// ServicesHostKeyFingerprints returns a fresh copy of ServicesSSHHostKeyFingerprints, for a
// caller that stores or extends the list.
func ServicesHostKeyFingerprints() []string { return slices.Clone(ServicesSSHHostKeyFingerprints) }

// SSHPublicKeysURL is the page where the user adds a public key: User settings > SSH public
// keys, ep.CollectionURL() + "/_usersSettings/keys". That is
// https://dev.azure.com/{org}/_usersSettings/keys on Services,
// https://{org}.visualstudio.com/_usersSettings/keys on its legacy host, and
// {server}/{collection}/_usersSettings/keys on a Server (docs/ssh.md).
func SSHPublicKeysURL(ep Endpoint) string { return ep.CollectionURL() + "/_usersSettings/keys" }

// SSHCloneURL is the SSH remote URL of a repository when the REST answer has no sshUrl:
// git@ssh.dev.azure.com:v3/{org}/{project}/{repo} on Services (any port is ignored: Services
// serves SSH on 22 only; a legacy {org}.visualstudio.com endpoint gets the same URL, the
// current host), ssh://{host}:{port}/{virtual directory}/{collection}/{project}/_git/{repo} on
// a Server (port 0 means 22, and the port is always written, as Azure DevOps Server writes
// it; host is the endpoint's host name without its HTTP port, IPv6 in brackets). Names are
// percent-encoded as CloneURL encodes them (%20 for a space, %40 for "@", %2B for "+"), so
// ParseRemoteURL reads the same names back.
func SSHCloneURL(ep Endpoint, project, repo string, port int) string {
	if ep.Kind() == KindServices {
		return "git@" + ServicesSSHHost + ":v3/" + escapeName(ep.Collection) + "/" + escapeName(project) + "/" + escapeName(repo)
	}
	if port <= 0 || port > 65535 {
		port = DefaultSSHPort
	}
	u := "ssh://" + net.JoinHostPort(ep.Hostname(), strconv.Itoa(port)) + "/"
	if ep.VirtualDirectory != "" {
		u += escapePath(ep.VirtualDirectory) + "/"
	}
	return u + escapeName(ep.Collection) + "/" + escapeName(project) + "/_git/" + escapeName(repo)
}

// NormalizeSSHFingerprint reads a SHA-256 fingerprint as a user may type or paste it —
// "SHA256:ohD8…", "ohD8…", with or without base64 padding, surrounded by spaces — and
// returns it as Fingerprint prints it ("SHA256:" and unpadded base64). ok is false for
// anything that is not 32 bytes of base64 (an MD5 fingerprint included).
func NormalizeSSHFingerprint(s string) (fp string, ok bool) {
	s = strings.TrimSpace(s)
	if len(s) > 100 {
		return "", false
	}
	if len(s) >= 7 && strings.EqualFold(s[:7], "SHA256:") {
		s = s[7:]
	}
	s = strings.TrimRight(s, "=")
	raw, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || len(raw) != 32 {
		return "", false
	}
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(raw), true
}
