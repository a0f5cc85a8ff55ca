package azuredevops

// Reading a private key a user supplies (docs/ssh.md): every PEM form ssh-keygen and openssl
// write, encrypted or not, refused with a sentence when it cannot serve Azure DevOps.

import (
	"bytes"
	"crypto"
	"crypto/dsa" //nolint:staticcheck // only to recognize and refuse DSA keys
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
)

// MaxSSHKeyKDFRounds bounds the bcrypt rounds of an encrypted OpenSSH key that are spent to
// open it: the cost is linear in rounds (ssh-keygen's default 16 take about 0.15 s of one
// CPU, 256 about 4 s; x/crypto itself stops only at 2048), so a supplied key cannot make one
// request cost more than about 2 s. The common advice, ssh-keygen -a 100, passes.
const MaxSSHKeyKDFRounds = 128

// MaxSSHPrivateKeyBytes bounds a supplied private key before anything parses it: an OpenSSH
// RSA key of MaxRSABits bits is about 6.5 KiB (with its PEM, text and certificate around it
// fits), and every other key is far smaller.
const MaxSSHPrivateKeyBytes = 16 << 10

// ParseSSHPrivateKey reads a supplied private key (OpenSSH, PKCS#1, PKCS#8 or SEC 1 PEM;
// passphrase when it is encrypted, ignored otherwise) and checks its type against accepted
// (an empty accepted means RSA only). It is SSHKeyPolicy.Parse with a policy that names no
// server; callers that know the endpoint use SSHKeyPolicyFor(ep, version).Parse, whose
// refusals name the deployment.
func ParseSSHPrivateKey(pemBytes []byte, passphrase connections.Secret, accepted []SSHKeyType) (*SSHKey, error) {
	p := SSHKeyPolicy{Server: "the server", Types: accepted, MinRSABits: MinRSABits}
	if len(p.Types) == 0 {
		p.Types = []SSHKeyType{SSHKeyRSA}
	}
	return p.Parse(pemBytes, passphrase)
}

// Parse reads a supplied private key and checks it against the policy. The returned key's
// PrivateKeyPEM is re-encoded unencrypted in OpenSSH format with the comment "repoconnect"
// (it is sealed at rest); its fingerprints equal ssh-keygen -l's of the supplied file.
//
// Errors are *connections.Error of kind ErrInvalidInput; no message ever quotes the key:
//   - field privateKey, reason invalid_input: empty; over MaxSSHPrivateKeyBytes; a public key
//     pasted instead of the private one (the sentence says so and which file to paste); a
//     PuTTY .ppk file (the sentence says how to export it); no PEM private key; encrypted
//     PKCS#8 (unsupported: the sentence says how to convert it); damaged; an RSA key below
//     p.MinRSABits or above MaxRSABits; a FIDO security key (sk-…), which needs the token
//     at every use;
//   - field passphrase, reason invalid_input: encrypted and no passphrase given, or the
//     passphrase does not open it, or the key's bcrypt rounds exceed MaxSSHKeyKDFRounds;
//   - field privateKey, reason ssh_key_type_refused: DSA, or a type not in p.Types; the
//     sentence names the key's type, p.Server and the accepted types.
func (p SSHKeyPolicy) Parse(pemBytes []byte, passphrase connections.Secret) (*SSHKey, error) {
	if len(pemBytes) > MaxSSHPrivateKeyBytes {
		return nil, invalid("privateKey", "the private key is larger than %d KiB; paste a single private key file", MaxSSHPrivateKeyBytes>>10)
	}
	text := bytes.TrimSpace(pemBytes)
	if len(text) == 0 {
		return nil, invalid("privateKey", "the private key is empty; paste the contents of the private key file (it begins with -----BEGIN)")
	}
	if what := publicKeyForm(text); what != "" {
		return nil, invalid("privateKey", "this is a public key (%s), not a private key; paste the private key file instead: the one without .pub, which begins with -----BEGIN and ends with PRIVATE KEY-----", what)
	}
	if bytes.HasPrefix(text, []byte("PuTTY-User-Key-File-")) {
		return nil, invalid("privateKey", "this is a PuTTY key (.ppk); in PuTTYgen choose Conversions > Export OpenSSH key and paste the exported file")
	}
	block, other := firstPrivateKeyBlock(text)
	if block == nil {
		if other {
			return nil, invalid("privateKey", "the PEM data holds no private key (it holds a certificate or another kind of block); paste the private key file, which begins with -----BEGIN and ends with PRIVATE KEY-----")
		}
		return nil, invalid("privateKey", "this is not a PEM private key; paste the private key file as ssh-keygen wrote it, from -----BEGIN OPENSSH PRIVATE KEY----- (or RSA, EC) to the matching END line")
	}
	switch block.Type {
	case "ENCRYPTED PRIVATE KEY":
		return nil, invalid("privateKey", "encrypted PKCS#8 private keys cannot be read; rewrite it in OpenSSH format with ssh-keygen -p -f <file> and paste the result")
	case "DSA PRIVATE KEY":
		return nil, p.refuseType(sshKeyDSA)
	}
	var kdfRounds uint32
	if block.Type == "OPENSSH PRIVATE KEY" {
		// The OpenSSH format shows its public half unencrypted: refuse a wrong type before
		// asking for a passphrase or spending the KDF's CPU.
		var pub ssh.PublicKey
		pub, kdfRounds = opensshHeader(block.Bytes)
		if pub != nil {
			if strings.HasPrefix(pub.Type(), "sk-") {
				return nil, invalid("privateKey", "this is a FIDO security-key (sk-) SSH key, which needs the hardware token at every connection; supply an ordinary %s key or let repoconnect generate one", p.TypeList())
			}
			if t := publicKeyType(pub); t != "" && (t == sshKeyDSA || !p.Accepts(t)) {
				return nil, p.refuseType(t)
			}
			if bits := rsaBits(pub); bits > MaxRSABits { // before the KDF and the RSA checks
				return nil, tooManyRSABits(bits)
			}
		}
	}
	der := pem.EncodeToMemory(block)
	raw, err := ssh.ParseRawPrivateKey(der)
	if _, ok := errors.AsType[*ssh.PassphraseMissingError](err); ok {
		if passphrase.Empty() {
			return nil, invalid("passphrase", "the private key is encrypted; give its passphrase")
		}
		if kdfRounds > MaxSSHKeyKDFRounds {
			return nil, invalid("passphrase", "the private key's passphrase is hardened with %d bcrypt rounds, more than the %d repoconnect spends CPU on; rewrite it with ssh-keygen -p -a 100 -f <file>, or without a passphrase (repoconnect seals it at rest)", kdfRounds, MaxSSHKeyKDFRounds)
		}
		raw, err = ssh.ParseRawPrivateKeyWithPassphrase(der, []byte(passphrase.Reveal()))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, invalid("passphrase", "the passphrase does not open the private key")
		}
	}
	if err != nil {
		return nil, parseFailure(err)
	}
	signer, typ, bits := classifyPrivateKey(raw)
	switch {
	case typ == sshKeyDSA:
		return nil, p.refuseType(sshKeyDSA)
	case signer == nil:
		return nil, invalid("privateKey", "the private key is of a kind repoconnect cannot use; supply an %s key", p.TypeList())
	case !p.Accepts(typ):
		return nil, p.refuseType(typ)
	case typ == SSHKeyRSA && bits < p.MinRSABits:
		return nil, invalid("privateKey", "this RSA key has %d bits; repoconnect accepts RSA keys of %d bits or more: make a new one (ssh-keygen -t rsa -b 4096) or let repoconnect generate one", bits, p.MinRSABits)
	case typ == SSHKeyRSA && bits > MaxRSABits:
		return nil, tooManyRSABits(bits)
	}
	return newSSHKey(signer)
}

// refuseType is the refusal of a key whose type the deployment does not accept.
func (p SSHKeyPolicy) refuseType(t SSHKeyType) *connections.Error {
	e := connections.Errorf(connections.ErrInvalidInput, connections.ReasonSSHKeyTypeRefused,
		"this is %s %s key, and %s accepts %s keys only; supply an %s key of %d bits or more, or let repoconnect generate one",
		article(t.Display()), t.Display(), p.Server, p.TypeList(), p.TypeList(), p.MinRSABits)
	if !p.Accepts(SSHKeyRSA) {
		e.Message = "this is " + article(t.Display()) + " " + t.Display() + " key, and " + p.Server +
			" accepts " + p.TypeList() + " keys only; supply one of those, or let repoconnect generate one"
	}
	e.Field = "privateKey"
	return e
}

// article is "a" or "an" before name ("an RSA", "an Ed25519", "an ECDSA", "a DSA").
func article(name string) string {
	if name != "" && strings.ContainsRune("AEIOUaeiou", rune(name[0])) || name == "RSA" {
		return "an"
	}
	return "a"
}

// classifyPrivateKey returns raw as a signer newSSHKey encodes, with its type and size;
// signer is nil for a kind repoconnect does not use (typ sshKeyDSA for DSA).
func classifyPrivateKey(raw any) (crypto.Signer, SSHKeyType, int) {
	switch k := raw.(type) {
	case *rsa.PrivateKey:
		return k, SSHKeyRSA, k.N.BitLen()
	case *ecdsa.PrivateKey:
		return k, SSHKeyECDSA, k.Curve.Params().BitSize
	case ed25519.PrivateKey:
		return k, SSHKeyEd25519, 256
	case *ed25519.PrivateKey:
		return *k, SSHKeyEd25519, 256
	case *dsa.PrivateKey:
		return nil, sshKeyDSA, k.P.BitLen()
	}
	return nil, "", 0
}

// tooManyRSABits is the refusal of a supplied RSA key of bits > MaxRSABits.
func tooManyRSABits(bits int) *connections.Error {
	return invalid("privateKey", "this RSA key has %d bits; repoconnect accepts RSA keys of at most %d bits, since every clone signs with it: make one of 4096 bits (ssh-keygen -t rsa -b 4096) or let repoconnect generate one", bits, MaxRSABits)
}

// rsaBits is the modulus size of an RSA public key, 0 for other keys.
func rsaBits(pub ssh.PublicKey) int {
	if ck, ok := pub.(ssh.CryptoPublicKey); ok {
		if k, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok {
			return k.N.BitLen()
		}
	}
	return 0
}

// publicKeyType is the SSHKeyType of an SSH public key ("" for other kinds).
func publicKeyType(pub ssh.PublicKey) SSHKeyType {
	switch pub.Type() {
	case ssh.KeyAlgoRSA:
		return SSHKeyRSA
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return SSHKeyECDSA
	case ssh.KeyAlgoED25519:
		return SSHKeyEd25519
	case ssh.KeyAlgoDSA: //nolint:staticcheck // recognized to be refused
		return sshKeyDSA
	}
	return ""
}

// publicKeyForm says how text shows itself as a public key ("it begins with ssh-rsa", "a PEM
// public key", "an SSH2 public key"), or "" when it does not. The words are fixed: nothing of
// text is quoted but a known algorithm name.
func publicKeyForm(text []byte) string {
	if bytes.Contains(text, []byte("PRIVATE KEY-----")) {
		return "" // a private key pasted with its public line: the private key is read
	}
	first, _, _ := bytes.Cut(text, []byte(" "))
	for _, algo := range []string{ssh.KeyAlgoRSA, ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384,
		ssh.KeyAlgoECDSA521, ssh.KeyAlgoDSA, ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256, //nolint:staticcheck
		ssh.CertAlgoRSAv01, ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01} {
		if string(first) == algo {
			return "it begins with " + algo
		}
	}
	switch {
	case bytes.HasPrefix(text, []byte("---- BEGIN SSH2 PUBLIC KEY ----")):
		return "an SSH2 public key"
	case bytes.HasPrefix(text, []byte("-----BEGIN PUBLIC KEY-----")), bytes.HasPrefix(text, []byte("-----BEGIN RSA PUBLIC KEY-----")):
		return "a PEM public key"
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey(text); err == nil {
		return "an authorized_keys line"
	}
	return ""
}

// firstPrivateKeyBlock returns the first PEM block of text whose type is a private key's;
// other reports whether text held PEM blocks of other types.
func firstPrivateKeyBlock(text []byte) (block *pem.Block, other bool) {
	rest := text
	for {
		b, r := pem.Decode(rest)
		if b == nil {
			return nil, other
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			return b, other
		}
		other = true
		rest = r
	}
}

// parseFailure turns an error of x/crypto/ssh's parser into a sentence. The parser's text is
// not kept (not even for logs): some of it quotes the supplied PEM's header.
func parseFailure(err error) *connections.Error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "-bit keys are insecure"), strings.Contains(msg, "key size too small"):
		return invalid("privateKey", "this RSA key is shorter than 1024 bits; repoconnect accepts RSA keys of %d bits or more: make a new one (ssh-keygen -t rsa -b 4096) or let repoconnect generate one", MinRSABits)
	case strings.Contains(msg, "modulus too large"), strings.Contains(msg, "prime too large"):
		return invalid("privateKey", "this RSA key is larger than %d bits, which repoconnect does not accept: make one of 4096 bits (ssh-keygen -t rsa -b 4096) or let repoconnect generate one", MaxRSABits)
	}
	return invalid("privateKey", "the private key cannot be read: it is damaged (cut short, or changed while copying) or of a format repoconnect does not know; paste the whole file as ssh-keygen wrote it")
}

// opensshHeader reads what an OpenSSH private key block carries in clear (PROTOCOL.key:
// magic, cipher, KDF, KDF options, key count, public key): the public key (nil when the block
// is malformed or holds no single readable key) and, for a bcrypt-encrypted key, the KDF's
// rounds (0 otherwise).
func opensshHeader(b []byte) (pub ssh.PublicKey, rounds uint32) {
	const magic = "openssh-key-v1\x00"
	if !bytes.HasPrefix(b, []byte(magic)) {
		return nil, 0
	}
	var hdr struct {
		CipherName string
		KDFName    string
		KDFOptions string
		NumKeys    uint32
		PubKey     []byte
		Rest       []byte `ssh:"rest"`
	}
	if err := ssh.Unmarshal(b[len(magic):], &hdr); err != nil || hdr.NumKeys != 1 {
		return nil, 0
	}
	if hdr.KDFName == "bcrypt" {
		var opts struct {
			Salt   string
			Rounds uint32
		}
		if ssh.Unmarshal([]byte(hdr.KDFOptions), &opts) == nil {
			rounds = opts.Rounds
		}
	}
	pub, err := ssh.ParsePublicKey(hdr.PubKey)
	if err != nil {
		return nil, rounds
	}
	return pub, rounds
}
