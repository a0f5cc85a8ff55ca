package secrets

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Environment variables read by FromEnv.
const (
	// EnvKeys holds comma-separated "id:base64key" specs; the first is current.
	EnvKeys = "REPOCONNECT_SEALING_KEYS"
	// EnvKeysFile names a key file: one "id:base64key" per line, '#' starts a comment, the
	// first key is current.
	EnvKeysFile = "REPOCONNECT_SEALING_KEYS_FILE"
)

// ParseKey parses "id:base64key" where the key decodes (standard or URL-safe base64, padded or
// not) to exactly 32 bytes. Surrounding spaces are ignored. Errors wrap ErrInvalidKey and never
// contain the key material.
func ParseKey(spec string) (id string, key []byte, err error) {
	id, encoded, ok := strings.Cut(strings.TrimSpace(spec), ":")
	if !ok {
		return "", nil, fmt.Errorf("%w: expected \"id:base64key\"", ErrInvalidKey)
	}
	id, encoded = strings.TrimSpace(id), strings.TrimSpace(encoded)
	if err := checkID(id); err != nil {
		return "", nil, err
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(encoded); err == nil {
			break
		}
	}
	if err != nil {
		return "", nil, fmt.Errorf("%w: key %q is not valid base64", ErrInvalidKey, id)
	}
	if len(key) != KeySize {
		return "", nil, fmt.Errorf("%w: key %q decodes to %d bytes, want %d", ErrInvalidKey, id, len(key), KeySize)
	}
	return id, key, nil
}

// FromEnv builds a Keyring from EnvKeys or EnvKeysFile, read through getenv (os.Getenv in
// production). ok is false (and err nil) when neither is set. Errors: both set, a bad spec,
// duplicate ids, no keys, and for the file the errors of reading it (see LoadOrCreateFile for
// the mode rule: a file readable by others is refused).
func FromEnv(getenv func(string) string) (k *Keyring, ok bool, err error) {
	list, path := strings.TrimSpace(getenv(EnvKeys)), strings.TrimSpace(getenv(EnvKeysFile))
	switch {
	case list != "" && path != "":
		return nil, false, fmt.Errorf("secrets: set only one of %s and %s", EnvKeys, EnvKeysFile)
	case list != "":
		k, err = parseKeyList(strings.Split(list, ","))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", EnvKeys, err)
		}
		return k, true, nil
	case path != "":
		k, err = readKeyFile(path)
		if err != nil {
			return nil, false, err
		}
		return k, true, nil
	}
	return nil, false, nil
}

// parseKeyList parses specs (blank entries skipped); the first is current.
func parseKeyList(specs []string) (*Keyring, error) {
	keys := map[string][]byte{}
	current := ""
	for _, spec := range specs {
		if strings.TrimSpace(spec) == "" {
			continue
		}
		id, key, err := ParseKey(spec)
		if err != nil {
			return nil, err
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("%w: key id %q appears twice", ErrInvalidKey, id)
		}
		if current == "" {
			current = id
		}
		keys[id] = key
	}
	if current == "" {
		return nil, fmt.Errorf("%w: no keys given", ErrInvalidKey)
	}
	return NewKeyring(current, keys)
}

// parseKeyFile parses key file content: one spec per line, '#' to end of line is a comment.
func parseKeyFile(content string) (*Keyring, error) {
	lines := strings.Split(content, "\n")
	for i, line := range lines {
		if before, _, found := strings.Cut(line, "#"); found {
			lines[i] = before
		}
	}
	return parseKeyList(lines)
}
