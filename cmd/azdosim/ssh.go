package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// sshConfig holds the SSH flags.
type sshConfig struct {
	addr           string   // --ssh-addr: "" serves no SSH
	keyTypes       []string // --ssh-key-type
	hostKeyFile    string   // --ssh-host-key: PEM private key file
	authorizedKeys []string // --ssh-authorized-keys: files of public keys added for Demo User
	hostKey        string   // read from hostKeyFile
	rsaSHA1Only    bool     // --ssh-rsa-sha1-only
}

// load checks the SSH flags and reads the host key file. Errors (usage): SSH flags without
// --ssh-addr, an unreadable host key file.
func (c *sshConfig) load() error {
	if c.addr == "" && (len(c.keyTypes) > 0 || c.hostKeyFile != "" || len(c.authorizedKeys) > 0 || c.rsaSHA1Only) {
		return fmt.Errorf("--ssh-key-type, --ssh-host-key, --ssh-authorized-keys and --ssh-rsa-sha1-only need --ssh-addr")
	}
	if c.hostKeyFile != "" {
		b, err := os.ReadFile(c.hostKeyFile)
		if err != nil {
			return fmt.Errorf("--ssh-host-key: %w", err)
		}
		c.hostKey = string(b)
	}
	return nil
}

// addAuthorizedKeys adds every key of the --ssh-authorized-keys files (authorized_keys
// format; blank lines and # comments skipped) for Demo User. Errors name the file and line.
func (c sshConfig) addAuthorizedKeys(srv *azdosim.Server) (int, error) {
	n := 0
	for _, f := range c.authorizedKeys {
		b, err := os.ReadFile(f)
		if err != nil {
			return n, fmt.Errorf("--ssh-authorized-keys: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 64<<10), 64<<10)
		for line := 1; sc.Scan(); line++ {
			text := strings.TrimSpace(sc.Text())
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			if err := srv.AddSSHPublicKey("", text); err != nil {
				return n, usage(fmt.Sprintf("--ssh-authorized-keys %s line %d: %v", f, line, err))
			}
			n++
		}
		if err := sc.Err(); err != nil {
			return n, fmt.Errorf("--ssh-authorized-keys %s: %w", f, err)
		}
	}
	return n, nil
}

// sshSummary is the summary line of the SSH server: its address, host key fingerprint, the
// accepted key count and the keys page of the default collection.
func sshSummary(srv *azdosim.Server, keys int, firstCollection string) []string {
	if srv.SSHAddr() == "" {
		return nil
	}
	return []string{
		fmt.Sprintf("ssh: %s host key %s, %d public keys for Demo User", srv.SSHAddr(), srv.SSHHostKeyFingerprint(), keys),
		"ssh public keys page: " + strings.TrimSuffix(srv.URL(), "/") + "/" + url.PathEscape(firstCollection) + "/_usersSettings/keys",
	}
}
