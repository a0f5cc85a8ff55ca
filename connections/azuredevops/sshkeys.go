package azuredevops

// SSH semantics of Azure DevOps (docs/ssh.md): which key types each deployment accepts, key
// generation and parsing, and where the user adds a public key. Implementation: see the
// functions' bodies; sources are cited in docs/ssh.md and on each table.

import (
	"errors"

	"github.com/repoconnect/repoconnect/connections"
)

// SSHKeyType is an SSH key algorithm as ssh-keygen -t names it.
type SSHKeyType string

// Key types.
const (
	SSHKeyRSA     SSHKeyType = "rsa"
	SSHKeyECDSA   SSHKeyType = "ecdsa"
	SSHKeyEd25519 SSHKeyType = "ed25519"
)

// SSHKey is a key pair: the private key (PEM, OpenSSH format, unencrypted; a secret) and its
// public halves as the user sees them.
type SSHKey struct {
	Type SSHKeyType
	// Bits is the RSA modulus size or the ECDSA curve size; 256 for Ed25519.
	Bits int
	// PrivateKeyPEM is the private key, "-----BEGIN OPENSSH PRIVATE KEY-----" form.
	PrivateKeyPEM connections.Secret
	// PublicKey is the authorized_keys line, "ssh-rsa AAAA… repoconnect".
	PublicKey string
	// Fingerprint is the SHA-256 fingerprint as ssh-keygen -l prints it: "SHA256:" and
	// unpadded base64.
	Fingerprint string
}

// errNotYet marks a stub filled in by the SSH work (issue 21).
var errNotYet = errors.New("azuredevops: ssh: not implemented yet")

// AcceptedSSHKeyTypes returns the key types the deployment of ep accepts for SSH user
// authentication, strongest first, given the server's version as the token check reports it
// ("" for Services or unknown). Sources in docs/ssh.md.
func AcceptedSSHKeyTypes(ep Endpoint, serverVersion string) []SSHKeyType { return nil }

// GenerateSSHKey makes a key pair of typ ("" means the strongest type of accepted).
// Errors: ErrInvalidInput (field keyType) for a type not in accepted.
func GenerateSSHKey(typ SSHKeyType, accepted []SSHKeyType) (*SSHKey, error) { return nil, errNotYet }

// ParseSSHPrivateKey reads a supplied private key (OpenSSH, PKCS#1, PKCS#8 or SEC 1 PEM;
// passphrase when it is encrypted) and checks its type against accepted. The returned key's
// PrivateKeyPEM is re-encoded unencrypted (it is sealed at rest). Errors: ErrInvalidInput with
// field privateKey (unreadable, a public key instead of a private one, encrypted without or
// with a wrong passphrase), reason ssh_key_type_refused naming the accepted types.
func ParseSSHPrivateKey(pemBytes []byte, passphrase connections.Secret, accepted []SSHKeyType) (*SSHKey, error) {
	return nil, errNotYet
}

// SSHPublicKeysURL is the page where the user adds a public key: User settings > SSH public
// keys, https://dev.azure.com/{org}/_usersSettings/keys on Services and
// {server}/{collection}/_usersSettings/keys on a Server.
func SSHPublicKeysURL(ep Endpoint) string { return "" }

// ServicesSSHHostKeyFingerprints are the SHA-256 fingerprints Microsoft publishes for the
// host keys of ssh.dev.azure.com and vs-ssh.visualstudio.com (docs/ssh.md cites the page).
var ServicesSSHHostKeyFingerprints []string

// SSHCloneURL is the SSH remote URL of a repository when the REST answer has no sshUrl:
// git@ssh.dev.azure.com:v3/{org}/{project}/{repo} on Services,
// ssh://{host}:{port}/{virtual directory}/{collection}/{project}/_git/{repo} on a Server
// (port 0 means 22).
func SSHCloneURL(ep Endpoint, project, repo string, port int) string { return "" }
