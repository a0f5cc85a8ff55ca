package secrets

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	k := mustKeyring(t, "k1", map[string][]byte{"k1": testKey(1)})
	for _, plain := range [][]byte{[]byte("pat-secret-value"), {}, bytes.Repeat([]byte{7}, 4096)} {
		sealed, err := k.Seal(plain, []byte("tenant/conn"))
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if want := len(plain) + 30 + len("k1"); len(sealed) != want {
			t.Fatalf("sealed length %d, want %d", len(sealed), want)
		}
		if len(plain) > 4 && bytes.Contains(sealed, plain) {
			t.Fatal("sealed blob contains the plaintext")
		}
		got, err := k.Open(sealed, []byte("tenant/conn"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, want %q", got, plain)
		}
	}
	a, _ := k.Seal([]byte("same"), nil)
	b, _ := k.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical: nonce not random")
	}
}

func TestOpenWrongAAD(t *testing.T) {
	k := mustKeyring(t, "k1", map[string][]byte{"k1": testKey(1)})
	sealed, err := k.Seal([]byte("secret"), []byte("t1/c1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range [][]byte{[]byte("t1/c2"), []byte("t2/c1"), nil} {
		if _, err := k.Open(sealed, aad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open with aad %q: got %v, want ErrCorrupt", aad, err)
		}
	}
}

func TestOpenTampered(t *testing.T) {
	k := mustKeyring(t, "k1", map[string][]byte{"k1": testKey(1)})
	sealed, err := k.Seal([]byte("secret"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		_, err := k.Open(bad, []byte("aad"))
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("flipping byte %d: got %v, want ErrCorrupt or ErrUnknownKey", i, err)
		}
	}
	for n := range len(sealed) {
		if _, err := k.Open(sealed[:n], []byte("aad")); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: got %v, want ErrCorrupt", n, err)
		}
	}
	if _, err := k.Open(append(bytes.Clone(sealed), 0), []byte("aad")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("extended blob: got %v, want ErrCorrupt", err)
	}
}

func TestRotation(t *testing.T) {
	oldRing := mustKeyring(t, "old", map[string][]byte{"old": testKey(1)})
	oldBlob, err := oldRing.Seal([]byte("before rotation"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustKeyring(t, "new", map[string][]byte{"old": testKey(1), "new": testKey(2)})
	if rotated.CurrentID() != "new" {
		t.Fatalf("CurrentID = %q, want new", rotated.CurrentID())
	}
	got, err := rotated.Open(oldBlob, []byte("aad"))
	if err != nil || string(got) != "before rotation" {
		t.Fatalf("old blob after rotation: %q, %v", got, err)
	}
	newBlob, err := rotated.Seal([]byte("after rotation"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if id := string(newBlob[2 : 2+int(newBlob[1])]); id != "new" {
		t.Fatalf("new blob sealed under %q, want new", id)
	}
	// The old ring does not know the new key.
	_, err = oldRing.Open(newBlob, []byte("aad"))
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"new"`) {
		t.Fatalf("old ring opening new blob: got %v, want ErrUnknownKey naming the id", err)
	}
	// A ring holding a different key under the same id fails authentication.
	impostor := mustKeyring(t, "new", map[string][]byte{"new": testKey(3)})
	if _, err := impostor.Open(newBlob, []byte("aad")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("wrong key under right id: got %v, want ErrCorrupt", err)
	}
}

func TestOpenErrorsDoNotLeak(t *testing.T) {
	key := testKey(0x41) // "AAAA…" as text
	k := mustKeyring(t, "k1", map[string][]byte{"k1": key})
	sealed, _ := k.Seal([]byte("plaintext-marker"), []byte("aad"))
	_, err := k.Open(sealed, []byte("other"))
	if err == nil {
		t.Fatal("Open with wrong aad succeeded")
	}
	assertNoKeyMaterial(t, err.Error(), key)
	if strings.Contains(err.Error(), "plaintext-marker") {
		t.Fatalf("error echoes plaintext: %q", err)
	}
}
