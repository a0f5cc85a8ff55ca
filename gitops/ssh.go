package gitops

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
)

// Clones over SSH (CloneOptions.SSH): go-git's SSH transport negotiates, this package's
// indexer, resolver and checkout do the rest, as over HTTPS. What is SSH's own:
//
//   - the remote URL (ParseSSHURL, sshurl.go): ssh://[user@]host[:port]/path or the scp form
//     user@host:path, as go-git's transport.NewEndpoint reads them;
//   - the TCP connection, which goes through the clone's egress door (sshdial.go);
//   - the host key, checked against SSHAuth.HostKeyFingerprints before any credential is
//     sent (hostKeyCallback);
//   - the errors of the handshake and of the remote's git-upload-pack (ssherrors.go).
//
// go-git's process-wide SSH settings (no ~/.ssh/config, no ssh-agent, no known_hosts, the
// door's dialer) are made in capabilities.go.

// SSHAuth is the SSH credential of a clone (CloneOptions.SSH) and the host keys it trusts.
type SSHAuth struct {
	// User is the SSH user name; empty means the URL's, else "git" (Azure DevOps Services
	// ignores it but requires one; a Server accepts any).
	User string
	// PrivateKeyPEM is the private key, PEM (OpenSSH or PKCS#1/PKCS#8), unencrypted.
	PrivateKeyPEM connections.Secret
	// HostKeyFingerprints are the SHA-256 fingerprints ("SHA256:…", as ssh-keygen -l prints)
	// of the host keys trusted for the server; a host key not among them stops the clone
	// before any credential is sent: *HostKeyError with reason host_key_changed when the list
	// is not empty, host_key_unconfirmed when it is.
	HostKeyFingerprints []string
	// SignatureAlgorithms, when not empty, are the only SSH signature algorithms the clone
	// signs with when the key is RSA, preferred first: ssh.KeyAlgoRSASHA512
	// ("rsa-sha2-512"), ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA ("ssh-rsa", SHA-1) — the
	// signer is wrapped with ssh.NewSignerWithAlgorithms. Without it, x/crypto picks from the
	// server's server-sig-algs and falls back to SHA-1 "ssh-rsa" when the server sends none,
	// which Azure DevOps Services refuses. Ignored for other key types. Services passes
	// azuredevops.SSHKeyPolicyFor(…).SignatureAlgorithms. A server that offers none of them
	// fails the clone with ErrProtocol (protocol_error), not ssh_key_not_added. Errors: an
	// algorithm that is not an RSA one, ErrInvalidInput (field sshKey).
	SignatureAlgorithms []string
	// HostKeyAlgorithms, when not empty, are the host key algorithms asked for, preferred
	// first (ssh.ClientConfig.HostKeyAlgorithms, e.g. "rsa-sha2-512", "rsa-sha2-256"); empty:
	// x/crypto's defaults. Services passes azuredevops.SSHKeyPolicyFor(…).HostKeyAlgorithms
	// (SHA-2 only on Azure DevOps Services, nil on a Server). A server that offers none of
	// them fails the clone with ErrProtocol (protocol_error) before its host key is seen.
	HostKeyAlgorithms []string
}

// HostKeyError is the error of a host key that is not trusted (kind connections.ErrHostKey).
// It carries the key the server presented, for the user to compare and confirm. Clone and
// ListRefs return it as is: errors.As(err, &he) finds it, errors.Is(err,
// connections.ErrHostKey) holds, and connections.AsError(err) is Err.
//
// (The groundwork's shape embedded *connections.Error, whose field named Error hid the Error
// method: *HostKeyError was no error, and errors.As on it panicked. The categorized error is
// the field Err now.)
type HostKeyError struct {
	// Err is the categorized error: kind ErrHostKey, reason host_key_changed (the list of
	// trusted keys was not empty) or host_key_unconfirmed (it was empty), a user-facing
	// message naming Host and PresentedFingerprint.
	Err *connections.Error
	// Presented is the host key the server showed (authorized_keys form, no comment);
	// PresentedFingerprint its SHA-256 fingerprint ("SHA256:…"); Host the "host:port" it was
	// shown for.
	Presented, PresentedFingerprint, Host string
}

// Error returns the categorized error's text.
func (e *HostKeyError) Error() string { return e.Err.Error() }

// Unwrap returns the categorized error.
func (e *HostKeyError) Unwrap() error { return e.Err }

// sshSigner parses the private key of a. Errors: ErrInvalidInput (field sshKey), never
// quoting the key.
func sshSigner(a *SSHAuth) (ssh.Signer, error) {
	if a.PrivateKeyPEM.Empty() {
		return nil, invalidf("sshKey", "the SSH private key is missing")
	}
	s, err := ssh.ParsePrivateKey([]byte(a.PrivateKeyPEM.Reveal()))
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return withSignatureAlgorithms(s, a.SignatureAlgorithms)
	case errors.As(err, &missing):
		return nil, invalidf("sshKey", "the SSH private key is encrypted; the clone needs it unencrypted (the service seals it at rest)")
	}
	return nil, invalidf("sshKey", "the SSH private key cannot be read: it must be an unencrypted PEM private key (OpenSSH, PKCS#1, PKCS#8 or SEC 1)")
}

// withSignatureAlgorithms restricts s, an RSA signer, to algos (none: s as is; another key
// type: s as is). Errors: ErrInvalidInput (field sshKey) for an algorithm RSA keys cannot
// sign with.
func withSignatureAlgorithms(s ssh.Signer, algos []string) (ssh.Signer, error) {
	if len(algos) == 0 || s.PublicKey().Type() != ssh.KeyAlgoRSA {
		return s, nil
	}
	as, ok := s.(ssh.AlgorithmSigner)
	if !ok {
		return s, nil // x/crypto's RSA signers all are
	}
	r, err := ssh.NewSignerWithAlgorithms(as, algos)
	if err != nil {
		return nil, invalidf("sshKey", "the SSH signature algorithms %v are not all RSA ones", algos)
	}
	return r, nil
}

// normalizeFingerprint is a SHA-256 fingerprint as ssh.FingerprintSHA256 writes it:
// "SHA256:" and unpadded base64; a pin may omit the prefix or keep the padding.
func normalizeFingerprint(fp string) string {
	fp = strings.TrimSpace(fp)
	if len(fp) >= 7 && strings.EqualFold(fp[:7], "SHA256:") {
		fp = fp[7:]
	}
	return "SHA256:" + strings.TrimRight(fp, "=")
}

// hostKeyError is the refusal of key, presented by addr, under pins (non-empty: the key
// changed; empty: nobody confirmed one yet).
func hostKeyError(addr string, key ssh.PublicKey, pinned bool) *HostKeyError {
	fp := ssh.FingerprintSHA256(key)
	e := &HostKeyError{Presented: authorizedKey(key), PresentedFingerprint: fp, Host: addr}
	if pinned {
		e.Err = connections.Errorf(connections.ErrHostKey, connections.ReasonHostKeyChanged,
			"the SSH host key of %s changed: it presented %s (%s), which is not the key trusted for it; "+
				"nothing was sent. If the server's key was replaced on purpose, accept the new fingerprint; otherwise something may be intercepting the connection",
			addr, fp, key.Type())
	} else {
		e.Err = connections.Errorf(connections.ErrHostKey, connections.ReasonHostKeyUnconfirmed,
			"the SSH host key of %s is not confirmed yet: it presented %s (%s); compare it with the server's own fingerprint and confirm it; nothing was sent",
			addr, fp, key.Type())
	}
	e.Err.Err = fmt.Errorf("ssh host key %s of %s not trusted", fp, addr)
	return e
}

// trusted reports whether key's fingerprint is among pins.
func trusted(pins []string, key ssh.PublicKey) bool {
	fp := ssh.FingerprintSHA256(key)
	for _, p := range pins {
		if normalizeFingerprint(p) == fp {
			return true
		}
	}
	return false
}

// authorizedKey is key in authorized_keys form, without a comment or a newline.
func authorizedKey(key ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
}
