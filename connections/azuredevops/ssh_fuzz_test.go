package azuredevops

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
)

// FuzzParseSSHPrivateKey: whatever a user pastes as a private key (and passphrase), the
// parser ends in a key or an invalid-input error on field privateKey or passphrase, without
// a panic and with a message that holds no run of key-like characters (the messages are
// fixed sentences with numbers and algorithm names: whatever is pasted is never repeated); a key it returns is one it (and x/crypto)
// reads back as the same key, of an accepted type, RSA of at least MinRSABits. Inputs are
// bounded by MaxSSHPrivateKeyBytes and the KDF by MaxSSHKeyKDFRounds.
func FuzzParseSSHPrivateKey(f *testing.F) {
	for _, seed := range sshFuzzSeeds(f) {
		f.Add(seed, "", true)
		f.Add(seed, testPassphrase, false)
		f.Add(seed, testPassphrase, true)
	}
	f.Add([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE user"), "", true)
	f.Add([]byte("PuTTY-User-Key-File-3: ssh-rsa\n"), "", true)
	f.Add([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), "x", true)
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"), "x", true)
	f.Fuzz(func(t *testing.T, data []byte, passphrase string, acceptAll bool) {
		accepted := []SSHKeyType{SSHKeyRSA}
		if acceptAll {
			accepted = []SSHKeyType{SSHKeyEd25519, SSHKeyECDSA, SSHKeyRSA}
		}
		k, err := ParseSSHPrivateKey(data, connections.Secret(passphrase), accepted)
		if err != nil {
			var ce *connections.Error
			if !errors.As(err, &ce) || !errors.Is(err, connections.ErrInvalidInput) {
				t.Fatalf("error %v (%T) is not an invalid-input *connections.Error", err, err)
			}
			if ce.Field != "privateKey" && ce.Field != "passphrase" {
				t.Fatalf("field %q", ce.Field)
			}
			if ce.Reason != connections.ReasonInvalidInput && ce.Reason != connections.ReasonSSHKeyTypeRefused {
				t.Fatalf("reason %q", ce.Reason)
			}
			if ce.Message == "" || strings.ContainsAny(ce.Message, "\r\n") {
				t.Fatalf("message %q is not one sentence line", ce.Message)
			}
			assertNoKeyMaterial(t, ce.Message)
			if len(passphrase) >= 12 && strings.Contains(ce.Message, passphrase) {
				t.Fatalf("message %q repeats the passphrase", ce.Message)
			}
			return
		}
		if len(data) > MaxSSHPrivateKeyBytes {
			t.Fatalf("accepted %d bytes", len(data))
		}
		if !(SSHKeyPolicy{Types: accepted}).Accepts(k.Type) {
			t.Fatalf("accepted a %s key; accepted %v", k.Type, accepted)
		}
		if k.Type == SSHKeyRSA && (k.Bits < MinRSABits || k.Bits > MaxRSABits) {
			t.Fatalf("accepted an RSA key of %d bits", k.Bits)
		}
		signer, err := ssh.ParsePrivateKey([]byte(k.PrivateKeyPEM.Reveal()))
		if err != nil {
			t.Fatalf("re-encoded key does not parse: %v", err)
		}
		if ssh.FingerprintSHA256(signer.PublicKey()) != k.Fingerprint {
			t.Fatalf("fingerprint %s, re-encoded key's %s", k.Fingerprint, ssh.FingerprintSHA256(signer.PublicKey()))
		}
		back, err := ParseSSHPrivateKey([]byte(k.PrivateKeyPEM.Reveal()), "", accepted)
		if err != nil || back.Fingerprint != k.Fingerprint || back.PublicKey != k.PublicKey {
			t.Fatalf("re-encoded key reads back differently: %v", err)
		}
	})
}

// sshFuzzSeeds are keys of every PEM form the parser reads: OpenSSH (plain and encrypted),
// PKCS#1, PKCS#8, SEC 1, legacy encrypted PEM.
func sshFuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	var seeds [][]byte
	for _, key := range []any{ed, ec, rk} {
		b, err := ssh.MarshalPrivateKey(key, "seed")
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, pem.EncodeToMemory(b))
		p8, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
	}
	enc, err := ssh.MarshalPrivateKeyWithPassphrase(ed, "seed", []byte(testPassphrase))
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, pem.EncodeToMemory(enc))
	seeds = append(seeds, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}))
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	//nolint:staticcheck // legacy PEM encryption is a form users still paste
	legacy, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk), []byte(testPassphrase), x509.PEMCipherAES128)
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, pem.EncodeToMemory(legacy))
	pub, err := ssh.NewPublicKey(ed.Public())
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, ssh.MarshalAuthorizedKey(pub))
	return seeds
}

// assertNoKeyMaterial fails when msg holds a word of 20 or more characters (PEM bodies and
// public key blobs are long runs of base64) other than a known SSH algorithm name.
func assertNoKeyMaterial(t *testing.T, msg string) {
	t.Helper()
	for _, w := range strings.Fields(msg) {
		w = strings.Trim(w, ".,;:()")
		if len(w) < 20 {
			continue
		}
		switch w {
		case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256,
			ssh.CertAlgoRSAv01, ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01:
			continue
		}
		t.Fatalf("message %q holds the key-like word %q", msg, w)
	}
}
