// Package secrets seals credentials with AES-256-GCM under named keys, so keys can rotate:
// every sealed blob names the key that sealed it, new blobs use the current key, and blobs
// sealed under older keys keep opening as long as those keys stay in the Keyring.
//
// Key material is never included in errors or in a Keyring's printed form.
package secrets

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// KeySize is the length in bytes of every key (AES-256).
const KeySize = 32

// MaxIDLen is the longest accepted key id, in bytes.
const MaxIDLen = 64

var (
	// ErrUnknownKey is returned (wrapped, with the key id) by Open when the blob names a key the
	// Keyring does not hold.
	ErrUnknownKey = errors.New("secrets: unknown sealing key")
	// ErrCorrupt is returned (wrapped) by Open when the blob is malformed, was tampered with, or
	// is opened with a different aad than it was sealed with.
	ErrCorrupt = errors.New("secrets: sealed data is corrupt or bound to another record")
	// ErrInvalidKey is returned (wrapped, never with key material) for a bad key id, key length,
	// key spec or key file content.
	ErrInvalidKey = errors.New("secrets: invalid sealing key")
)

// Keyring holds the current key id and every known key (id → 32-byte key). It is immutable
// after NewKeyring and safe for concurrent use.
type Keyring struct {
	current string
	keys    map[string][]byte
}

// NewKeyring builds a Keyring from keys (id → 32-byte key; copied) whose entry currentID is
// used by Seal. Ids are 1–64 bytes of ASCII letters, digits, '.', '_' or '-'. Errors (wrapping
// ErrInvalidKey): a bad id, a key that is not 32 bytes, currentID not in keys.
func NewKeyring(currentID string, keys map[string][]byte) (*Keyring, error) {
	copied := make(map[string][]byte, len(keys))
	for id, key := range keys {
		if err := checkID(id); err != nil {
			return nil, err
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("%w: key %q is %d bytes, want %d", ErrInvalidKey, id, len(key), KeySize)
		}
		copied[id] = append([]byte(nil), key...)
	}
	if _, ok := copied[currentID]; !ok {
		return nil, fmt.Errorf("%w: current key id %q is not among the keys", ErrInvalidKey, currentID)
	}
	return &Keyring{current: currentID, keys: copied}, nil
}

// CurrentID returns the id of the key Seal uses.
func (k *Keyring) CurrentID() string {
	return k.current
}

// IDs returns the ids of all known keys, sorted.
func (k *Keyring) IDs() []string {
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// String describes the Keyring by key ids only, so printing or logging it leaks no key.
func (k *Keyring) String() string {
	return fmt.Sprintf("secrets.Keyring{current: %s, ids: [%s]}", k.current, strings.Join(k.IDs(), " "))
}

// GoString is String, so %#v leaks no key either.
func (k *Keyring) GoString() string {
	return k.String()
}

// checkID reports whether id is a valid key id (see NewKeyring).
func checkID(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("%w: key id must be 1-%d characters", ErrInvalidKey, MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !isIDByte(id[i]) {
			// The id is not quoted: a spec written the wrong way round ("key:id") would print the key.
			return fmt.Errorf("%w: a key id may hold only letters, digits, '.', '_' and '-' (is the spec written as id:base64key?)", ErrInvalidKey)
		}
	}
	return nil
}

func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}
