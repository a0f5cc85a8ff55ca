package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// envelopeVersion is the first byte of every blob Seal produces.
const envelopeVersion = 1

// nonceSize is the GCM nonce length in bytes.
const nonceSize = 12

// Seal encrypts plaintext with AES-256-GCM under the current key, bound to aad (for example
// tenantID+"/"+connectionID, so a blob copied to another record fails to open). The result is
// self-describing: version byte (1), key id length (1 byte), key id, 12-byte random nonce,
// ciphertext with 16-byte tag; its length is len(plaintext)+30+len(CurrentID()). The header
// is authenticated along with aad. The error is non-nil only if the cipher cannot be built.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	id := k.current
	aead, err := newAEAD(k.keys[id])
	if err != nil {
		return nil, err
	}
	header := make([]byte, 0, 2+len(id))
	header = append(header, envelopeVersion, byte(len(id)))
	header = append(header, id...)

	out := make([]byte, len(header)+nonceSize, len(header)+nonceSize+len(plaintext)+aead.Overhead())
	copy(out, header)
	nonce := out[len(header):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secrets: read nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, additionalData(header, aad)), nil
}

// Open reverses Seal: it reads the key id from sealed, and decrypts and authenticates with that
// key and aad. Errors: ErrUnknownKey (wrapped, naming the id) when the key is not in the
// Keyring; ErrCorrupt (wrapped) when sealed is malformed or tampered with, or aad differs.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != envelopeVersion {
		return nil, fmt.Errorf("%w: unsupported envelope", ErrCorrupt)
	}
	idLen := int(sealed[1])
	headerLen := 2 + idLen
	if idLen == 0 || len(sealed) < headerLen+nonceSize+16 {
		return nil, fmt.Errorf("%w: truncated envelope", ErrCorrupt)
	}
	id := string(sealed[2:headerLen])
	if checkID(id) != nil {
		return nil, fmt.Errorf("%w: malformed key id", ErrCorrupt)
	}
	key, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, id)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	header := sealed[:headerLen]
	nonce := sealed[headerLen : headerLen+nonceSize]
	plaintext, err := aead.Open(nil, nonce, sealed[headerLen+nonceSize:], additionalData(header, aad))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed under key %q", ErrCorrupt, id)
	}
	return plaintext, nil
}

// additionalData authenticates the envelope header together with the caller's aad. The header
// is self-delimiting, so the concatenation is unambiguous.
func additionalData(header, aad []byte) []byte {
	out := make([]byte, 0, len(header)+len(aad))
	return append(append(out, header...), aad...)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: build cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: build GCM: %w", err)
	}
	return aead, nil
}
