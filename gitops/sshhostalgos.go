package gitops

import (
	"slices"

	"golang.org/x/crypto/ssh"
)

// PreferHostKeyType returns the host key algorithms to ask for (SSHAuth.HostKeyAlgorithms)
// when the host key trusted for a server is of keyType, the first field of its
// authorized_keys line ("ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519", …): the algorithms
// that verify a key of that type first (for "ssh-rsa": rsa-sha2-512, rsa-sha2-256, then SHA-1
// ssh-rsa), then every other host key algorithm x/crypto implements, in its order. OpenSSH
// does the same for a host whose key it knows (ssh_config(5), HostKeyAlgorithms: "If hostkeys
// are known for the destination host then this default is modified to prefer their
// algorithms"), so that a server that also holds a key of another type (an Azure DevOps
// Server whose SSH service gains an ECDSA key, which x/crypto would otherwise prefer to
// RSA) still presents the trusted one instead of reading as a changed key. An empty or
// unknown keyType returns nil: x/crypto's defaults.
func PreferHostKeyType(keyType string) []string {
	all := slices.Concat(ssh.SupportedAlgorithms().HostKeys, ssh.InsecureAlgorithms().HostKeys)
	var first []string
	switch keyType {
	case ssh.KeyAlgoRSA:
		first = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	case "":
		return nil
	default:
		if !slices.Contains(all, keyType) {
			return nil
		}
		first = []string{keyType}
	}
	out := slices.Clone(first)
	for _, a := range all {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
