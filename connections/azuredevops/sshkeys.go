package azuredevops

// SSH semantics of Azure DevOps (docs/ssh.md): which key types each deployment accepts, key
// generation, and fingerprints. Parsing a supplied key is sshparse.go; URLs and the pinned
// host keys are sshurls.go; the sentences of SSH failures are sshdiagnose.go.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

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

// Sizes (bits). MinRSABits is repoconnect's floor for supplied RSA keys (no Azure DevOps page
// states one; NIST SP 800-131A retires RSA below 2048: docs/ssh.md). GeneratedRSABits is the
// size of the RSA keys repoconnect makes. MaxRSABits is the largest supplied RSA key read:
// every clone signs with the key, on CPU all tenants share, and an RSA signature's cost grows
// with the cube of the modulus size (a 16384-bit key, OpenSSH's ceiling, signs about 8 times
// slower than an 8192-bit one); 8192 bits is far beyond what any guidance asks for.
const (
	MinRSABits       = 2048
	GeneratedRSABits = 4096
	MaxRSABits       = 8192
)

// sshKeyComment is the comment of every key repoconnect writes (public line and private key).
const sshKeyComment = "repoconnect"

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
	// FingerprintMD5 is the MD5 fingerprint, colon-separated hex without a prefix
	// ("97:70:33:…"): the form Azure DevOps' SSH public keys page shows for an added key
	// (Learn, "Use SSH key authentication", Q&A: compare ssh-keygen -E md5 -l with the page).
	FingerprintMD5 string
}

// SSHKeyPolicy is what one deployment accepts for SSH user authentication (docs/ssh.md's
// table). Build it with SSHKeyPolicyFor.
type SSHKeyPolicy struct {
	// Server names the deployment in sentences: "Azure DevOps Services", "Azure DevOps Server
	// 2020", "the Azure DevOps Server at tfs.example.com".
	Server string
	// Types are the accepted key types, strongest first; Types[0] is what Generate makes by
	// default.
	Types []SSHKeyType
	// MinRSABits is the smallest RSA modulus accepted.
	MinRSABits int
	// SignatureAlgorithms are the SSH signature algorithms the client may use with an RSA key,
	// preferred first (ssh.KeyAlgoRSASHA512, …): Services refuses SHA-1 "ssh-rsa"
	// signatures since 2024; a Server accepts them, and Server 2019/2020 before their August
	// 2023 patches accept nothing else. Go's SSH client picks from the server's
	// server-sig-algs and falls back to "ssh-rsa" without it, so a client restricts its RSA
	// signer to this list (ssh.NewSignerWithAlgorithms) rather than choose one: package
	// services passes it to every SSH clone and check (gitops.SSHAuth.SignatureAlgorithms).
	SignatureAlgorithms []string
	// HostKeyAlgorithms are the host key algorithms a client should ask for, preferred first,
	// or nil for the client's defaults. Services' host key is RSA and it offers SHA-1
	// "ssh-rsa" host key signatures next to SHA-2 ones (reported: fluxcd/flux2#4726); a
	// client whose preference puts "ssh-rsa" first verifies with SHA-1. A Server's host key type is the
	// server's own, so nothing is asked for there. Package services passes it to every SSH
	// clone and check (gitops.SSHAuth.HostKeyAlgorithms).
	HostKeyAlgorithms []string
}

// SSHKeyPolicyFor returns the policy of ep's deployment given the server's release as the
// token check reports it (CheckResult.ServerVersion: "services", "2022.1", "2022", "2020",
// "2019", "TFS 2018", "TFS 2017", "unknown", or "" when no check ran). Services is judged by
// ep.Kind(), whatever serverVersion says. Sources: docs/ssh.md (Microsoft DevOps blog "End of
// SSH-RSA support for Azure Repos", 2024; the Learn page "Use SSH key authentication"; the
// Developer Community request for non-RSA keys, still open).
func SSHKeyPolicyFor(ep Endpoint, serverVersion string) SSHKeyPolicy {
	p := SSHKeyPolicy{
		Types:      []SSHKeyType{SSHKeyRSA},
		MinRSABits: MinRSABits,
	}
	sha2 := []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	if ep.Kind() == KindServices {
		p.Server = "Azure DevOps Services"
		p.SignatureAlgorithms = sha2
		p.HostKeyAlgorithms = slices.Clone(sha2)
		return p
	}
	p.Server = serverName(ep, serverVersion)
	// Every Server release accepts SHA-1 signatures (2022.3 drops them, but the token check
	// cannot tell it from 2022.1: the client negotiates), and SHA-2 where the server offers it.
	p.SignatureAlgorithms = append(sha2, ssh.KeyAlgoRSA)
	return p
}

// serverName names a Server deployment for a sentence.
func serverName(ep Endpoint, serverVersion string) string {
	switch v := strings.TrimSpace(serverVersion); {
	case v == "" || v == "unknown" || v == "services":
		return "the Azure DevOps Server at " + ep.Hostname()
	default:
		return describeRelease(v, "")
	}
}

// Accepts reports whether the policy accepts keys of typ.
func (p SSHKeyPolicy) Accepts(typ SSHKeyType) bool { return slices.Contains(p.Types, typ) }

// TypeList is the accepted types for a sentence: "RSA", "RSA or ECDSA".
func (p SSHKeyPolicy) TypeList() string {
	names := make([]string, len(p.Types))
	for i, t := range p.Types {
		names[i] = t.Display()
	}
	switch len(names) {
	case 0:
		return "no key type"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Display is the type as people write it: "RSA", "ECDSA", "Ed25519", "DSA".
func (t SSHKeyType) Display() string {
	switch t {
	case SSHKeyRSA:
		return "RSA"
	case SSHKeyECDSA:
		return "ECDSA"
	case SSHKeyEd25519:
		return "Ed25519"
	case sshKeyDSA:
		return "DSA"
	}
	return string(t)
}

// sshKeyDSA names a DSA key in refusals; it is never accepted nor generated.
const sshKeyDSA SSHKeyType = "dsa"

// AcceptedSSHKeyTypes returns the key types the deployment of ep accepts for SSH user
// authentication, strongest first, given the server's version as the token check reports it
// ("" for Services or unknown): SSHKeyPolicyFor(ep, serverVersion).Types. Today that is RSA
// alone on every deployment (docs/ssh.md).
func AcceptedSSHKeyTypes(ep Endpoint, serverVersion string) []SSHKeyType {
	return SSHKeyPolicyFor(ep, serverVersion).Types
}

// GenerateSSHKey makes a key pair of typ ("" means the strongest type of accepted; an empty
// accepted means RSA only). RSA keys are GeneratedRSABits bits, ECDSA keys P-256, and the
// private key is OpenSSH PEM, unencrypted, with the comment "repoconnect". An RSA key takes
// about a second of CPU. Errors: ErrInvalidInput (field keyType) for a type not in accepted
// (reason ssh_key_type_refused) or not known (reason invalid_input).
func GenerateSSHKey(typ SSHKeyType, accepted []SSHKeyType) (*SSHKey, error) {
	p := SSHKeyPolicy{Server: "the server", Types: accepted, MinRSABits: MinRSABits}
	if len(p.Types) == 0 {
		p.Types = []SSHKeyType{SSHKeyRSA}
	}
	return p.Generate(typ)
}

// Generate makes a key pair of typ ("" means p.Types[0]); see GenerateSSHKey. The refusal of
// a type names p.Server.
func (p SSHKeyPolicy) Generate(typ SSHKeyType) (*SSHKey, error) {
	typ = SSHKeyType(strings.ToLower(strings.TrimSpace(string(typ))))
	if typ == "" {
		if len(p.Types) == 0 {
			return nil, invalid("keyType", "%s accepts no SSH key type repoconnect can make", p.Server)
		}
		typ = p.Types[0]
	}
	switch typ {
	case SSHKeyRSA, SSHKeyECDSA, SSHKeyEd25519:
	default:
		return nil, invalid("keyType", "the key type must be %s", p.TypeList())
	}
	if !p.Accepts(typ) {
		e := connections.Errorf(connections.ErrInvalidInput, connections.ReasonSSHKeyTypeRefused,
			"%s does not accept %s SSH keys; it accepts %s keys only", p.Server, typ.Display(), p.TypeList())
		e.Field = "keyType"
		return nil, e
	}
	var priv crypto.Signer
	var err error
	switch typ {
	case SSHKeyRSA:
		priv, err = rsa.GenerateKey(rand.Reader, GeneratedRSABits)
	case SSHKeyECDSA:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case SSHKeyEd25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("azuredevops: generate %s key: %w", typ, err)
	}
	return newSSHKey(priv)
}

// newSSHKey encodes priv (an *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey) as an
// SSHKey: OpenSSH PEM with the comment "repoconnect", the public line and its fingerprints.
func newSSHKey(priv crypto.Signer) (*SSHKey, error) {
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("azuredevops: ssh public key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, sshKeyComment)
	if err != nil {
		return nil, fmt.Errorf("azuredevops: encode ssh private key: %w", err)
	}
	k := &SSHKey{
		PrivateKeyPEM:  connections.Secret(pem.EncodeToMemory(block)),
		PublicKey:      AuthorizedKeyLine(pub, sshKeyComment),
		Fingerprint:    ssh.FingerprintSHA256(pub),
		FingerprintMD5: ssh.FingerprintLegacyMD5(pub),
	}
	switch key := priv.(type) {
	case *rsa.PrivateKey:
		k.Type, k.Bits = SSHKeyRSA, key.N.BitLen()
	case *ecdsa.PrivateKey:
		k.Type, k.Bits = SSHKeyECDSA, key.Curve.Params().BitSize
	case ed25519.PrivateKey:
		k.Type, k.Bits = SSHKeyEd25519, 256
	default:
		return nil, fmt.Errorf("azuredevops: ssh key of type %T", priv)
	}
	return k, nil
}

// AuthorizedKeyLine is pub as one authorized_keys line without a newline: "ssh-rsa AAAA…",
// and " comment" when comment is not empty (its white space runs made one space, so the
// line stays one line). It is what the user pastes into Azure DevOps'
// "Public Key Data" field (which must not end with a newline).
func AuthorizedKeyLine(pub ssh.PublicKey, comment string) string {
	line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n")
	if comment = strings.Join(strings.Fields(comment), " "); comment != "" {
		line += " " + comment
	}
	return line
}
