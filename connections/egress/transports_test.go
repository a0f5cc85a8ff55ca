package egress_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/egress"
)

// testCA returns a self-signed CA certificate (PEM) named name.
func testCA(t *testing.T, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// Tenants choose CA bundles, so a Door keeps a bounded number of transports: one per bundle,
// shared while it is among the most recently used 256, made anew after it was dropped.
func TestDoorTransportsBounded(t *testing.T) {
	d := egress.New(egress.Options{})
	first := testCA(t, "first")
	rt1, err := d.Transport(first)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := d.Transport(first); again != rt1 {
		t.Fatal("the same bundle got a second transport")
	}
	for i := range 256 {
		if _, err := d.Transport(testCA(t, "ca"+string(rune('a'+i%26))+string(rune('0'+i/26)))); err != nil {
			t.Fatal(err)
		}
	}
	if again, _ := d.Transport(first); again == rt1 {
		t.Fatal("257 bundles later the first bundle's transport is still kept: the cache is not bounded")
	}
}
