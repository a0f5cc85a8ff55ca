package secrets

import (
	"bytes"
	"errors"
	"fmt"
)

// The sealing probe: a small known value sealed with the Keyring and kept in the store, so an
// instance started with other sealing keys than the ones the store's records were sealed with
// is refused at start, with a sentence, instead of answering 500 on every sealed record.
var (
	probePlain = []byte("repoconnect sealing probe v1")
	probeAAD   = []byte("repoconnect/sealprobe")
)

// ErrProbeMismatch is returned (wrapped, with a sentence naming the key ids and the settings
// that fix it) by CheckProbe when the Keyring cannot open the store's probe.
var ErrProbeMismatch = errors.New("secrets: the sealing keys do not open the store's records")

// SealProbe returns a new probe sealed under the current key (Seal's envelope; about 60
// bytes). The error is Seal's.
func (k *Keyring) SealProbe() ([]byte, error) {
	return k.Seal(probePlain, probeAAD)
}

// SealedKeyID returns the id of the key a blob made by Seal names, and false when the blob is
// too short or malformed to name one.
func SealedKeyID(sealed []byte) (string, bool) {
	if len(sealed) < 2 || sealed[0] != envelopeVersion || len(sealed) < 2+int(sealed[1]) || sealed[1] == 0 {
		return "", false
	}
	id := string(sealed[2 : 2+int(sealed[1])])
	return id, checkID(id) == nil
}

// CheckProbe opens a probe made by SealProbe (by this or another instance). reseal is true
// when it opened under a key other than the current one (an older key still in the Keyring,
// after a rotation): the caller stores a new SealProbe then. Errors wrap ErrProbeMismatch
// with one sentence: the probe names a key id the Keyring does not hold (naming both ids), the
// key with that id is not the one that sealed it (different key material), or the probe is
// malformed. The sentence names REPOCONNECT_SEALING_KEYS and never any key material.
func (k *Keyring) CheckProbe(sealed []byte) (reseal bool, err error) {
	found, ok := SealedKeyID(sealed)
	plain, err := k.Open(sealed, probeAAD)
	fix := fmt.Sprintf("start every instance of the deployment with the same sealing keys (%s or %s, "+
		"or the same {data-dir}/sealing.key), keeping older keys in the list while records sealed under them remain",
		EnvKeys, EnvKeysFile)
	switch {
	case err == nil && bytes.Equal(plain, probePlain):
		return found != k.current, nil
	case errors.Is(err, ErrUnknownKey):
		return false, fmt.Errorf("%w: the store's records are sealed under key %q, which is not among the configured keys "+
			"(current %q, all %v); %s", ErrProbeMismatch, found, k.current, k.IDs(), fix)
	case ok && err != nil:
		return false, fmt.Errorf("%w: the configured key %q is not the key %q the store's records were sealed with "+
			"(same id, other key material); %s", ErrProbeMismatch, found, found, fix)
	default:
		return false, fmt.Errorf("%w: the store's sealing probe is malformed; %s", ErrProbeMismatch, fix)
	}
}
