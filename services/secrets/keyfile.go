package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// keyFileHeader opens every generated key file.
const keyFileHeader = `# repoconnect sealing keys: one "id:base64key" per line; the first line is the current key.
# Keep this file secret (mode 0600) and backed up: sealed credentials cannot be opened without it.
# To rotate, put a new key on the first line and keep the old ones below it.
`

// LoadOrCreateFile reads the key file at path (format of EnvKeysFile), or, when it does not
// exist, generates a random 32-byte key with a fresh id ("k" + UTC yyyymmdd + "-" + 8 hex
// digits), writes it atomically with mode 0600 (creating missing directories with mode 0700)
// and reports created=true. If another process creates the file first, that file is read.
// Errors: a file whose mode grants more than 0600 (the message says to chmod 600), a path that
// is not a regular file, invalid content (wrapping ErrInvalidKey), and I/O errors.
func LoadOrCreateFile(path string) (k *Keyring, created bool, err error) {
	k, err = readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	id, key := newKeyID(time.Now()), make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("secrets: generate key: %w", err)
	}
	content := keyFileHeader + id + ":" + base64.StdEncoding.EncodeToString(key) + "\n"
	switch err := writeNewFile(path, []byte(content)); {
	case errors.Is(err, fs.ErrExist):
		k, err = readKeyFile(path)
		return k, false, err
	case err != nil:
		return nil, false, err
	}
	k, err = NewKeyring(id, map[string][]byte{id: key})
	return k, err == nil, err
}

// readKeyFile checks the mode of the key file at path and parses it. A missing file yields an
// error wrapping fs.ErrNotExist.
func readKeyFile(path string) (*Keyring, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secrets: key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&^0o600 != 0 {
		return nil, fmt.Errorf("secrets: key file %s has mode %04o, which lets others read it; run: chmod 600 %s",
			path, perm, path)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: key file: %w", err)
	}
	k, err := parseKeyFile(string(content))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// writeNewFile writes content to path with mode 0600 so that path either does not exist or
// holds all of content: it writes a temporary file in the same directory, syncs it, then
// hard-links it into place, which fails with fs.ErrExist when path already exists.
func writeNewFile(path string, content []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secrets: create key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".sealing-keys-*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("secrets: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("secrets: chmod key file: %w", err)
	}
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("secrets: sync key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secrets: close key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("secrets: install key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: persist the new directory entry
		d.Close()
	}
	return nil
}

// newKeyID returns "k" + now's UTC date (yyyymmdd) + "-" + 8 random hex digits.
func newKeyID(now time.Time) string {
	var suffix [4]byte
	_, _ = rand.Read(suffix[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return "k" + now.UTC().Format("20060102") + "-" + hex.EncodeToString(suffix[:])
}
