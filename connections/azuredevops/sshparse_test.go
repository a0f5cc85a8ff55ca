package azuredevops

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
)

const testPassphrase = "correct horse battery"

// keygen runs ssh-keygen in dir to make the key file name with args, and returns the
// private key's bytes and the fingerprint ssh-keygen -lf prints for it.
func keygen(t *testing.T, dir, name string, args ...string) ([]byte, string) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	path := filepath.Join(dir, name)
	cmd := exec.Command("ssh-keygen", append([]string{"-q", "-C", "user@example", "-f", path}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
	}
	priv, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return priv, keygenFingerprint(t, path+".pub")
}

// keygenFingerprint is the SHA-256 fingerprint ssh-keygen -lf prints for the key file path.
func keygenFingerprint(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -lf %s: %v\n%s", path, err, out)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 || !strings.HasPrefix(f[1], "SHA256:") {
		t.Fatalf("ssh-keygen -lf printed %q", out)
	}
	return f[1]
}

// TestParseSSHPrivateKeyKeygenInterop: every key form ssh-keygen writes reads with the same
// fingerprint ssh-keygen prints, and the re-encoded key is one ssh-keygen reads back as the
// same key.
func TestParseSSHPrivateKeyKeygenInterop(t *testing.T) {
	dir := t.TempDir()
	all := []SSHKeyType{SSHKeyRSA, SSHKeyECDSA, SSHKeyEd25519}
	for _, tc := range []struct {
		name       string
		args       []string
		passphrase connections.Secret
		typ        SSHKeyType
		bits       int
	}{
		{"rsa openssh", []string{"-t", "rsa", "-b", "3072", "-N", ""}, "", SSHKeyRSA, 3072},
		{"rsa pkcs1", []string{"-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""}, "", SSHKeyRSA, 2048},
		{"rsa pkcs8", []string{"-t", "rsa", "-b", "2048", "-m", "PKCS8", "-N", ""}, "", SSHKeyRSA, 2048},
		{"rsa openssh encrypted", []string{"-t", "rsa", "-b", "2048", "-N", testPassphrase}, testPassphrase, SSHKeyRSA, 2048},
		{"rsa pkcs1 encrypted", []string{"-t", "rsa", "-b", "2048", "-m", "PEM", "-N", testPassphrase}, testPassphrase, SSHKeyRSA, 2048},
		{"ecdsa openssh", []string{"-t", "ecdsa", "-N", ""}, "", SSHKeyECDSA, 256},
		{"ecdsa 384 sec1", []string{"-t", "ecdsa", "-b", "384", "-m", "PEM", "-N", ""}, "", SSHKeyECDSA, 384},
		{"ecdsa 521 pkcs8", []string{"-t", "ecdsa", "-b", "521", "-m", "PKCS8", "-N", ""}, "", SSHKeyECDSA, 521},
		{"ecdsa encrypted", []string{"-t", "ecdsa", "-N", testPassphrase}, testPassphrase, SSHKeyECDSA, 256},
		{"ed25519", []string{"-t", "ed25519", "-N", ""}, "", SSHKeyEd25519, 256},
		{"ed25519 encrypted", []string{"-t", "ed25519", "-N", testPassphrase}, testPassphrase, SSHKeyEd25519, 256},
		// A passphrase given for a key that has none is ignored.
		{"ed25519 needless passphrase", []string{"-t", "ed25519", "-N", ""}, "unused", SSHKeyEd25519, 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := strings.ReplaceAll(tc.name, " ", "_")
			priv, want := keygen(t, dir, name, tc.args...)
			k, err := ParseSSHPrivateKey(priv, tc.passphrase, all)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if k.Fingerprint != want || k.Type != tc.typ || k.Bits != tc.bits {
				t.Errorf("got %s %d %s, ssh-keygen says %s %d %s", k.Type, k.Bits, k.Fingerprint, tc.typ, tc.bits, want)
			}
			checkSSHKey(t, k)
			// ssh-keygen reads the re-encoded, unencrypted key as the same key.
			out := filepath.Join(dir, name+".repoconnect")
			if err := os.WriteFile(out, []byte(k.PrivateKeyPEM.Reveal()), 0o600); err != nil {
				t.Fatal(err)
			}
			pubLine, err := exec.Command("ssh-keygen", "-y", "-P", "", "-f", out).Output()
			if err != nil {
				t.Fatalf("ssh-keygen -y on the re-encoded key: %v", err)
			}
			if got := strings.Fields(string(pubLine)); len(got) < 2 || !strings.HasPrefix(k.PublicKey, got[0]+" "+got[1]) {
				t.Errorf("ssh-keygen -y = %q, PublicKey = %q", pubLine, k.PublicKey)
			}
			if got := keygenFingerprint(t, out); got != want {
				t.Errorf("ssh-keygen -lf of the re-encoded key = %s, want %s", got, want)
			}
			// CRLF line ends (a key pasted from Windows) read the same. (Encrypted keys are
			// not read twice: their KDF is slow under the race detector.)
			if tc.passphrase != "" && tc.passphrase != "unused" {
				return
			}
			crlf := bytes.ReplaceAll(priv, []byte("\n"), []byte("\r\n"))
			if k2, err := ParseSSHPrivateKey(crlf, tc.passphrase, all); err != nil || k2.Fingerprint != want {
				t.Errorf("CRLF copy: %v", err)
			}
		})
	}
}

// TestGeneratedKeyKeygenInterop: ssh-keygen reads a generated key with the same fingerprint.
func TestGeneratedKeyKeygenInterop(t *testing.T) {
	k, err := generatedRSA()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	dir := t.TempDir()
	priv := filepath.Join(dir, "id")
	if err := os.WriteFile(priv, []byte(k.PrivateKeyPEM.Reveal()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(priv+".pub", []byte(k.PublicKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := keygenFingerprint(t, priv+".pub"); got != k.Fingerprint {
		t.Errorf("ssh-keygen -lf of PublicKey = %s, want %s", got, k.Fingerprint)
	}
	out, err := exec.Command("ssh-keygen", "-l", "-E", "md5", "-f", priv+".pub").Output()
	if err != nil || !strings.Contains(string(out), "MD5:"+k.FingerprintMD5) || !strings.HasPrefix(string(out), "4096 ") {
		t.Errorf("ssh-keygen -l -E md5 = %q (%v), want 4096 bits and MD5:%s", out, err, k.FingerprintMD5)
	}
	y, err := exec.Command("ssh-keygen", "-y", "-f", priv).Output()
	if err != nil || !strings.HasPrefix(k.PublicKey, strings.TrimSpace(string(y))) {
		t.Errorf("ssh-keygen -y = %q (%v), PublicKey %q", y, err, k.PublicKey)
	}
}

func TestParseSSHPrivateKeyRefusals(t *testing.T) {
	dir := t.TempDir()
	rsaPriv, _ := keygen(t, dir, "rsa", "-t", "rsa", "-b", "2048", "-N", "")
	rsaPub, err := os.ReadFile(filepath.Join(dir, "rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	encPriv, _ := keygen(t, dir, "enc", "-t", "rsa", "-b", "2048", "-N", testPassphrase)
	pemEnc, _ := keygen(t, dir, "pemenc", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", testPassphrase)
	pkcs8Enc, _ := keygen(t, dir, "p8enc", "-t", "rsa", "-b", "2048", "-m", "PKCS8", "-N", testPassphrase)
	edPriv, _ := keygen(t, dir, "ed", "-t", "ed25519", "-N", "")
	edEnc, _ := keygen(t, dir, "edenc", "-t", "ed25519", "-N", testPassphrase)
	manyRounds, _ := keygen(t, dir, "rounds", "-t", "rsa", "-b", "2048", "-a", "129", "-N", testPassphrase)
	ecPEM, _ := keygen(t, dir, "ec", "-t", "ecdsa", "-m", "PEM", "-N", "")
	rsa1024, _ := keygen(t, dir, "rsa1024", "-t", "rsa", "-b", "1024", "-N", "")
	rsa1024PEM, _ := keygen(t, dir, "rsa1024pem", "-t", "rsa", "-b", "1024", "-m", "PEM", "-N", "")
	pubPEM, err := exec.Command("ssh-keygen", "-e", "-m", "PKCS8", "-f", filepath.Join(dir, "rsa.pub")).Output()
	if err != nil {
		t.Fatal(err)
	}
	ssh2Pub, err := exec.Command("ssh-keygen", "-e", "-f", filepath.Join(dir, "rsa.pub")).Output()
	if err != nil {
		t.Fatal(err)
	}
	dsaPriv, dsaErr := exec.Command("ssh-keygen", "-q", "-t", "dsa", "-N", "", "-f", filepath.Join(dir, "dsa")).CombinedOutput()
	if dsaErr == nil {
		dsaPriv, _ = os.ReadFile(filepath.Join(dir, "dsa"))
	}
	dsaPEM, dsaPEMErr := exec.Command("ssh-keygen", "-q", "-t", "dsa", "-m", "PEM", "-N", "", "-f", filepath.Join(dir, "dsapem")).CombinedOutput()
	if dsaPEMErr == nil {
		dsaPEM, _ = os.ReadFile(filepath.Join(dir, "dsapem"))
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})
	truncated := rsaPriv[:len(rsaPriv)/2]
	// A PKCS#1 key with a line in the middle changed: the DER or the key's arithmetic breaks.
	pkcs1, _ := keygen(t, dir, "pkcs1", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "")
	lines := bytes.Split(pkcs1, []byte("\n"))
	mid := lines[len(lines)/2]
	lines[len(lines)/2] = append([]byte(strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, string(mid[:8]))), mid[8:]...)
	damaged := bytes.Join(lines, []byte("\n"))

	services := SSHKeyPolicyFor(servicesEP, "services")
	for _, tc := range []struct {
		name       string
		in         []byte
		passphrase connections.Secret
		field      string
		reason     connections.Reason
		says       []string
	}{
		{"empty", []byte(" \n\t"), "", "privateKey", connections.ReasonInvalidInput, []string{"empty"}},
		{"too large", bytes.Repeat([]byte("A"), MaxSSHPrivateKeyBytes+1), "", "privateKey", connections.ReasonInvalidInput, []string{"16 KiB"}},
		{"public key line", rsaPub, "", "privateKey", connections.ReasonInvalidInput, []string{"public key", "ssh-rsa", "without .pub"}},
		{"public key with options", append([]byte(`no-pty,command="x" `), rsaPub...), "", "privateKey", connections.ReasonInvalidInput, []string{"public key", "authorized_keys"}},
		{"pem public key", pubPEM, "", "privateKey", connections.ReasonInvalidInput, []string{"public key", "PEM"}},
		{"ssh2 public key", ssh2Pub, "", "privateKey", connections.ReasonInvalidInput, []string{"public key", "SSH2"}},
		{"putty", []byte("PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\n"), "", "privateKey", connections.ReasonInvalidInput, []string{"PuTTYgen", "Export OpenSSH key"}},
		{"not pem", []byte("hello, this is not a key"), "", "privateKey", connections.ReasonInvalidInput, []string{"not a PEM private key"}},
		{"certificate only", cert, "", "privateKey", connections.ReasonInvalidInput, []string{"no private key"}},
		{"truncated", truncated, "", "privateKey", connections.ReasonInvalidInput, []string{"not a PEM private key"}},
		{"damaged", damaged, "", "privateKey", connections.ReasonInvalidInput, []string{"cannot be read"}},
		{"encrypted without passphrase", encPriv, "", "passphrase", connections.ReasonInvalidInput, []string{"encrypted", "passphrase"}},
		{"encrypted wrong passphrase", encPriv, "wrong passphrase", "passphrase", connections.ReasonInvalidInput, []string{"does not open"}},
		{"legacy pem encrypted without passphrase", pemEnc, "", "passphrase", connections.ReasonInvalidInput, []string{"encrypted"}},
		{"legacy pem wrong passphrase", pemEnc, "wrong passphrase", "passphrase", connections.ReasonInvalidInput, []string{"does not open"}},
		{"encrypted pkcs8", pkcs8Enc, testPassphrase, "privateKey", connections.ReasonInvalidInput, []string{"PKCS#8", "ssh-keygen -p"}},
		{"ed25519 on services", edPriv, "", "privateKey", connections.ReasonSSHKeyTypeRefused, []string{"an Ed25519 key", "Azure DevOps Services", "RSA keys only", "2048"}},
		// The type shows through the encryption: refused before a passphrase is asked for.
		{"encrypted ed25519 on services", edEnc, "", "privateKey", connections.ReasonSSHKeyTypeRefused, []string{"Ed25519"}},
		{"ecdsa pem on services", ecPEM, "", "privateKey", connections.ReasonSSHKeyTypeRefused, []string{"an ECDSA key"}},
		{"rsa 1024 openssh", rsa1024, "", "privateKey", connections.ReasonInvalidInput, []string{"2048 bits or more"}},
		{"rsa 1024 pkcs1", rsa1024PEM, "", "privateKey", connections.ReasonInvalidInput, []string{"2048 bits or more"}},
		{"sk key", skPrivateKeyPEM(t), "", "privateKey", connections.ReasonInvalidInput, []string{"security-key"}},
		// Over MaxRSABits: refused from the clear header, before the key is parsed.
		{"rsa over 8192 bits", bigRSAHeaderPEM(t, 8200), "", "privateKey", connections.ReasonInvalidInput, []string{"8200 bits", "at most 8192 bits", "ssh-keygen -t rsa -b 4096"}},
		// Refused before any KDF work: the rounds are read from the key's clear header.
		{"kdf rounds over the bound", manyRounds, testPassphrase, "passphrase", connections.ReasonInvalidInput, []string{"129 bcrypt rounds", "ssh-keygen -p -a 100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := services.Parse(tc.in, tc.passphrase)
			ce := wantInvalid(t, err, tc.field, tc.reason)
			for _, s := range tc.says {
				if !strings.Contains(ce.Message, s) {
					t.Errorf("message %q lacks %q", ce.Message, s)
				}
			}
			assertNoKeyBytes(t, ce.Message, tc.in)
			if ce.Err != nil {
				assertNoKeyBytes(t, ce.Err.Error(), tc.in)
			}
		})
	}
	for name, in := range map[string][]byte{"openssh": dsaPriv, "pem": dsaPEM} {
		if len(in) == 0 || !bytes.Contains(in, []byte("PRIVATE KEY")) {
			t.Logf("ssh-keygen made no DSA %s key here; skipped", name)
			continue
		}
		// DSA is refused even where every other type is accepted.
		_, err := ParseSSHPrivateKey(in, "", []SSHKeyType{SSHKeyRSA, SSHKeyECDSA, SSHKeyEd25519})
		ce := wantInvalid(t, err, "privateKey", connections.ReasonSSHKeyTypeRefused)
		if !strings.Contains(ce.Message, "a DSA key") {
			t.Errorf("DSA %s: message %q", name, ce.Message)
		}
	}
	// The same Ed25519 key is fine where Ed25519 is accepted, and the server is named.
	if _, err := ParseSSHPrivateKey(edPriv, "", []SSHKeyType{SSHKeyEd25519}); err != nil {
		t.Errorf("ed25519 where accepted: %v", err)
	}
	_, err = SSHKeyPolicyFor(serverEP, "2020").Parse(edPriv, "")
	if ce := wantInvalid(t, err, "privateKey", connections.ReasonSSHKeyTypeRefused); !strings.Contains(ce.Message, "Azure DevOps Server 2020") {
		t.Errorf("server refusal %q does not name the server", ce.Message)
	}
}

// TestParseSSHPrivateKeyPicksThePrivateBlock: text around the key, and a certificate before
// it (as openssl writes bundles), do not hide the key.
func TestParseSSHPrivateKeyPicksThePrivateBlock(t *testing.T) {
	dir := t.TempDir()
	priv, want := keygen(t, dir, "k", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})
	in := append(append([]byte("Bag Attributes\n  friendlyName: x\n"), cert...), priv...)
	k, err := ParseSSHPrivateKey(in, "", nil)
	if err != nil || k.Fingerprint != want {
		t.Fatalf("got %v, %v; want %s", k, err, want)
	}
	// The public line pasted before or after the private key does not make it a public key.
	pub, err := os.ReadFile(filepath.Join(dir, "k.pub"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{append(append([]byte{}, priv...), pub...), append(append([]byte{}, pub...), priv...)} {
		if k, err := ParseSSHPrivateKey(in, "", nil); err != nil || k.Fingerprint != want {
			t.Errorf("private and public key together: %v, %v", k, err)
		}
	}
}

// skPrivateKeyPEM is an unencrypted OpenSSH private key block whose key is a FIDO
// sk-ssh-ed25519 key (ssh-keygen needs the token to make one).
func skPrivateKeyPEM(t *testing.T) []byte {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	skPub := ssh.Marshal(struct {
		Type, Key, App string
	}{ssh.KeyAlgoSKED25519, string(pub), "ssh:"})
	body := append([]byte("openssh-key-v1\x00"), ssh.Marshal(struct {
		Cipher, KDF, KDFOpts string
		N                    uint32
		Pub, Priv            string
	}{"none", "none", "", 1, string(skPub), strings.Repeat("\x00", 64)})...)
	return pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: body})
}

// bigRSAHeaderPEM is an OpenSSH private key block whose clear header holds an RSA public key
// of bits bits (a random odd modulus) and whose private part is zeros: what a key larger than
// MaxRSABits shows before anything parses it (making a real one takes minutes of CPU).
func bigRSAHeaderPEM(t *testing.T, bits int) []byte {
	t.Helper()
	n := make([]byte, (bits+7)/8)
	if _, err := rand.Read(n); err != nil {
		t.Fatal(err)
	}
	n[0] |= 0x80 >> ((8 - bits%8) % 8)
	n[0] &= 0xff >> ((8 - bits%8) % 8)
	n[len(n)-1] |= 1
	pub, err := ssh.NewPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	if got := rsaBits(pub); got != bits {
		t.Fatalf("made a %d-bit modulus, want %d", got, bits)
	}
	body := append([]byte("openssh-key-v1\x00"), ssh.Marshal(struct {
		Cipher, KDF, KDFOpts string
		N                    uint32
		Pub, Priv            string
	}{"none", "none", "", 1, string(pub.Marshal()), strings.Repeat("\x00", 64)})...)
	return pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: body})
}

// assertNoKeyBytes fails when msg repeats a run of 12 or more characters of a line of in
// that looks like key material (base64 lines of a PEM body, or a public key's blob).
func assertNoKeyBytes(t *testing.T, msg string, in []byte) {
	t.Helper()
	for _, line := range strings.FieldsFunc(string(in), func(r rune) bool { return r == '\n' || r == '\r' || r == ' ' }) {
		if len(line) < 24 || strings.HasPrefix(line, "-----") {
			continue
		}
		for i := 0; i+12 <= len(line); i += 6 {
			if strings.Contains(msg, line[i:i+12]) {
				t.Fatalf("message %q repeats input bytes %q", msg, line[i:i+12])
			}
		}
	}
}
