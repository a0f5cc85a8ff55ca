package azdosimtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// StartSSH is Start with the SSH server on (opts.SSHAddr "127.0.0.1:0" unless set): git over
// SSH at sim.SSHAddr(), clone URLs from sim.SSHURL, keys added with sim.AddSSHPublicKey.
func StartSSH(tb testing.TB, opts azdosim.Options, pats ...azdosim.PAT) *azdosim.Server {
	tb.Helper()
	if opts.SSHAddr == "" {
		opts.SSHAddr = "127.0.0.1:0"
	}
	return Start(tb, opts, pats...)
}

// SSHKey makes a key pair with ssh-keygen -t keyType ("rsa" makes RSA 3072, "ed25519",
// "ecdsa") and no passphrase in a test directory, and returns the private key file and the
// public key as one authorized_keys line (comment "azdosimtest", no newline). It skips the
// test when ssh-keygen is not installed and stops it when ssh-keygen fails.
func SSHKey(tb testing.TB, keyType string) (privateKeyPath, authorizedKey string) {
	tb.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		tb.Skip("ssh-keygen not installed")
	}
	path := filepath.Join(tb.TempDir(), "id_"+keyType)
	args := []string{"-q", "-t", keyType, "-N", "", "-C", "azdosimtest", "-f", path}
	if keyType == "rsa" {
		args = append(args, "-b", "3072")
	}
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		tb.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		tb.Fatal(err)
	}
	return path, strings.TrimSpace(string(pub))
}

// KnownHosts writes a known_hosts file (mode 0600, in a test directory) that holds the
// simulator's current SSH host key for its SSH address ("[127.0.0.1]:port ssh-rsa …") and
// returns its path. Call it again after SetSSHHostKey to trust the new key.
func KnownHosts(tb testing.TB, sim *azdosim.Server) string {
	tb.Helper()
	host, port, ok := strings.Cut(sim.SSHAddr(), ":")
	if !ok {
		tb.Fatal("azdosimtest.KnownHosts: the simulator serves no SSH (Options.SSHAddr)")
	}
	path := filepath.Join(tb.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte("["+host+"]:"+port+" "+sim.SSHHostPublicKey()+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// GitSSHCommand is a GIT_SSH_COMMAND value for git against the simulator: OpenSSH with no
// configuration file, only the given private key, no prompts, and strict host key checking
// against knownHostsPath alone. Paths must not contain a single quote.
func GitSSHCommand(privateKeyPath, knownHostsPath string) string {
	return "ssh -F /dev/null -i '" + privateKeyPath + "' -o IdentitiesOnly=yes -o BatchMode=yes" +
		" -o UserKnownHostsFile='" + knownHostsPath + "' -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes"
}
