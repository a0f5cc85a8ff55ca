package gitops

import (
	"github.com/repoconnect/repoconnect/connections"
)

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
}

// HostKeyError is the error of a host key that is not trusted (kind connections.ErrHostKey).
// It carries the key the server presented, for the user to compare and confirm.
type HostKeyError struct {
	*connections.Error
	// Presented is the host key the server showed (authorized_keys form, no comment);
	// PresentedFingerprint its SHA-256 fingerprint; Host the "host:port" it was shown for.
	Presented, PresentedFingerprint, Host string
}

// Unwrap returns the categorized error.
func (e *HostKeyError) Unwrap() error { return e.Error }
