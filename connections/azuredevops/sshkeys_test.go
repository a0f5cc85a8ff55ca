package azuredevops

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
)

var (
	servicesEP = Endpoint{Scheme: "https", Host: "dev.azure.com", Collection: "fabrikam"}
	legacyEP   = Endpoint{Scheme: "https", Host: "fabrikam.visualstudio.com", Collection: "fabrikam"}
	serverEP   = Endpoint{Scheme: "https", Host: "tfs.example.com:8443", VirtualDirectory: "tfs", Collection: "DefaultCollection"}
)

// generatedRSA is one RSA key made by GenerateSSHKey, shared: a 4096-bit key takes a second.
var generatedRSA = sync.OnceValues(func() (*SSHKey, error) { return GenerateSSHKey("", nil) })

func TestSSHKeyPolicyFor(t *testing.T) {
	sha2 := []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	withSHA1 := append(slices.Clone(sha2), ssh.KeyAlgoRSA)
	for _, tc := range []struct {
		name    string
		ep      Endpoint
		version string
		server  string
		algos   []string
	}{
		{"services", servicesEP, "services", "Azure DevOps Services", sha2},
		{"services without a check", servicesEP, "", "Azure DevOps Services", sha2},
		{"legacy services host", legacyEP, "", "Azure DevOps Services", sha2},
		// The endpoint decides: a Services endpoint is Services whatever the version says.
		{"services named as a server release", servicesEP, "2022", "Azure DevOps Services", sha2},
		{"server 2022.1", serverEP, "2022.1", "Azure DevOps Server 2022.1 or newer", withSHA1},
		{"server 2022", serverEP, "2022", "Azure DevOps Server 2022", withSHA1},
		{"server 2020", serverEP, "2020", "Azure DevOps Server 2020", withSHA1},
		{"server 2019", serverEP, "2019", "Azure DevOps Server 2019", withSHA1},
		{"tfs 2018", serverEP, "TFS 2018", "Team Foundation Server 2018", withSHA1},
		{"server unknown", serverEP, "unknown", "the Azure DevOps Server at tfs.example.com", withSHA1},
		{"server not checked", serverEP, "", "the Azure DevOps Server at tfs.example.com", withSHA1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := SSHKeyPolicyFor(tc.ep, tc.version)
			if p.Server != tc.server {
				t.Errorf("Server = %q, want %q", p.Server, tc.server)
			}
			if !slices.Equal(p.Types, []SSHKeyType{SSHKeyRSA}) {
				t.Errorf("Types = %v, want RSA only (docs/ssh.md)", p.Types)
			}
			if got := AcceptedSSHKeyTypes(tc.ep, tc.version); !slices.Equal(got, p.Types) {
				t.Errorf("AcceptedSSHKeyTypes = %v, want %v", got, p.Types)
			}
			if p.MinRSABits != 2048 {
				t.Errorf("MinRSABits = %d", p.MinRSABits)
			}
			if !slices.Equal(p.SignatureAlgorithms, tc.algos) {
				t.Errorf("SignatureAlgorithms = %v, want %v", p.SignatureAlgorithms, tc.algos)
			}
			if wantHost := slices.Equal(tc.algos, sha2); wantHost != slices.Equal(p.HostKeyAlgorithms, sha2) || !wantHost && p.HostKeyAlgorithms != nil {
				t.Errorf("HostKeyAlgorithms = %v", p.HostKeyAlgorithms)
			}
			if !p.Accepts(SSHKeyRSA) || p.Accepts(SSHKeyEd25519) || p.Accepts(SSHKeyECDSA) {
				t.Errorf("Accepts disagrees with Types %v", p.Types)
			}
		})
	}
}

func TestSSHKeyPolicyTypeList(t *testing.T) {
	for _, tc := range []struct {
		types []SSHKeyType
		want  string
	}{
		{nil, "no key type"},
		{[]SSHKeyType{SSHKeyRSA}, "RSA"},
		{[]SSHKeyType{SSHKeyRSA, SSHKeyECDSA}, "RSA or ECDSA"},
		{[]SSHKeyType{SSHKeyEd25519, SSHKeyECDSA, SSHKeyRSA}, "Ed25519, ECDSA or RSA"},
	} {
		if got := (SSHKeyPolicy{Types: tc.types}).TypeList(); got != tc.want {
			t.Errorf("TypeList(%v) = %q, want %q", tc.types, got, tc.want)
		}
	}
}

func TestGenerateSSHKeyDefaultIsRSA4096(t *testing.T) {
	k, err := generatedRSA()
	if err != nil {
		t.Fatal(err)
	}
	if k.Type != SSHKeyRSA || k.Bits != 4096 {
		t.Fatalf("default key is %s %d, want rsa 4096", k.Type, k.Bits)
	}
	checkSSHKey(t, k)
}

func TestGenerateSSHKeyTypes(t *testing.T) {
	all := []SSHKeyType{SSHKeyEd25519, SSHKeyECDSA, SSHKeyRSA}
	for _, tc := range []struct {
		typ      SSHKeyType
		accepted []SSHKeyType
		want     SSHKeyType
		bits     int
	}{
		{"", []SSHKeyType{SSHKeyEd25519, SSHKeyRSA}, SSHKeyEd25519, 256},
		{SSHKeyECDSA, all, SSHKeyECDSA, 256},
		{"  ECDSA ", all, SSHKeyECDSA, 256},
		{SSHKeyEd25519, all, SSHKeyEd25519, 256},
	} {
		k, err := GenerateSSHKey(tc.typ, tc.accepted)
		if err != nil {
			t.Fatalf("GenerateSSHKey(%q, %v): %v", tc.typ, tc.accepted, err)
		}
		if k.Type != tc.want || k.Bits != tc.bits {
			t.Errorf("GenerateSSHKey(%q, %v) = %s %d, want %s %d", tc.typ, tc.accepted, k.Type, k.Bits, tc.want, tc.bits)
		}
		checkSSHKey(t, k)
	}
}

func TestGenerateSSHKeyRefusals(t *testing.T) {
	p := SSHKeyPolicyFor(servicesEP, "services")
	_, err := p.Generate(SSHKeyEd25519)
	ce := wantInvalid(t, err, "keyType", connections.ReasonSSHKeyTypeRefused)
	for _, part := range []string{"Azure DevOps Services", "Ed25519", "RSA keys only"} {
		if !strings.Contains(ce.Message, part) {
			t.Errorf("message %q lacks %q", ce.Message, part)
		}
	}
	_, err = GenerateSSHKey("dsa", []SSHKeyType{SSHKeyRSA})
	wantInvalid(t, err, "keyType", connections.ReasonInvalidInput)
	_, err = GenerateSSHKey(SSHKeyECDSA, []SSHKeyType{SSHKeyRSA})
	wantInvalid(t, err, "keyType", connections.ReasonSSHKeyTypeRefused)
	_, err = (SSHKeyPolicy{Server: "x"}).Generate("")
	wantInvalid(t, err, "keyType", connections.ReasonInvalidInput)
}

// TestGenerateParseRoundTrip: a generated key, read back as a supplied one, is the same key.
func TestGenerateParseRoundTrip(t *testing.T) {
	rsaKey, err := generatedRSA()
	if err != nil {
		t.Fatal(err)
	}
	ed, err := GenerateSSHKey(SSHKeyEd25519, []SSHKeyType{SSHKeyEd25519})
	if err != nil {
		t.Fatal(err)
	}
	ec, err := GenerateSSHKey(SSHKeyECDSA, []SSHKeyType{SSHKeyECDSA})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*SSHKey{rsaKey, ed, ec} {
		back, err := ParseSSHPrivateKey([]byte(k.PrivateKeyPEM.Reveal()), "", []SSHKeyType{k.Type})
		if err != nil {
			t.Fatalf("%s: parse generated key: %v", k.Type, err)
		}
		if back.Fingerprint != k.Fingerprint || back.PublicKey != k.PublicKey || back.Type != k.Type || back.Bits != k.Bits ||
			back.FingerprintMD5 != k.FingerprintMD5 {
			t.Errorf("%s: round trip changed the key: %+v vs %+v", k.Type, back, k)
		}
	}
}

// checkSSHKey checks that k's parts agree with each other.
func checkSSHKey(t *testing.T, k *SSHKey) {
	t.Helper()
	pem := k.PrivateKeyPEM.Reveal()
	if !strings.HasPrefix(pem, "-----BEGIN OPENSSH PRIVATE KEY-----\n") {
		t.Fatalf("private key is not OpenSSH PEM: %.40q", pem)
	}
	signer, err := ssh.ParsePrivateKey([]byte(pem))
	if err != nil {
		t.Fatalf("private key does not parse: %v", err)
	}
	if got := ssh.FingerprintSHA256(signer.PublicKey()); got != k.Fingerprint {
		t.Errorf("Fingerprint = %s, private key's is %s", k.Fingerprint, got)
	}
	if !strings.HasPrefix(k.Fingerprint, "SHA256:") || strings.HasSuffix(k.Fingerprint, "=") {
		t.Errorf("Fingerprint %q is not ssh-keygen's form", k.Fingerprint)
	}
	if got := ssh.FingerprintLegacyMD5(signer.PublicKey()); got != k.FingerprintMD5 || strings.Count(got, ":") != 15 {
		t.Errorf("FingerprintMD5 = %s, want %s", k.FingerprintMD5, got)
	}
	pub, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey))
	if err != nil || len(rest) != 0 {
		t.Fatalf("PublicKey %q is not one authorized_keys line: %v", k.PublicKey, err)
	}
	if comment != "repoconnect" || strings.ContainsAny(k.PublicKey, "\r\n") {
		t.Errorf("PublicKey %q: comment %q, want repoconnect and no newline", k.PublicKey, comment)
	}
	if ssh.FingerprintSHA256(pub) != k.Fingerprint {
		t.Errorf("PublicKey's fingerprint %s differs from %s", ssh.FingerprintSHA256(pub), k.Fingerprint)
	}
	if pt := publicKeyType(pub); pt != k.Type {
		t.Errorf("public key type %s, key says %s", pt, k.Type)
	}
}

func TestAuthorizedKeyLine(t *testing.T) {
	k, err := GenerateSSHKey(SSHKeyEd25519, []SSHKeyType{SSHKeyEd25519})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	bare := AuthorizedKeyLine(pub, "")
	if strings.Count(bare, " ") != 1 || !strings.HasPrefix(bare, "ssh-ed25519 AAAA") {
		t.Errorf("bare line %q", bare)
	}
	if got := AuthorizedKeyLine(pub, " build\nbot "); got != bare+" build bot" {
		t.Errorf("comment line %q", got)
	}
}

// wantInvalid asserts err is a *connections.Error of kind ErrInvalidInput with field and reason.
func wantInvalid(t *testing.T, err error, field string, reason connections.Reason) *connections.Error {
	t.Helper()
	var ce *connections.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T), want *connections.Error", err, err)
	}
	if !errors.Is(err, connections.ErrInvalidInput) || ce.Field != field || ce.Reason != reason {
		t.Fatalf("error kind %v field %q reason %q (%s), want invalid input, %q, %q", ce.Kind, ce.Field, ce.Reason, ce.Message, field, reason)
	}
	if ce.Message == "" {
		t.Fatal("empty message")
	}
	return ce
}
