package services

// A connection's SSH credential (docs/ssh.md): the key pair the service makes or the user
// supplies, the host key it trusts, and the SSH check. Clones of a connection with a key go
// over SSH; REST listing still uses the PAT or OAuth token.

import (
	"time"

	"github.com/repoconnect/repoconnect/connections"
)

// SSHKeyInput sets a connection's SSH key: Generate (the service makes the pair, of KeyType
// or the strongest type the server accepts) or PrivateKey (PEM, with Passphrase when it is
// encrypted). Port, when not 0, replaces the port of the server's SSH URL (1 to 65535).
//
// With Generate or PrivateKey, Port 0 keeps the port the connection holds (a new key does not
// undo a port the user set); another value replaces it. With neither, only the port changes:
// Port is the new one, and 0 (or no port at all: a body of just {"port": 0}) clears it, so
// that the port of the server's SSH URL is dialled again.
type SSHKeyInput struct {
	Generate   bool               `json:"generate,omitempty"`
	KeyType    string             `json:"keyType,omitempty"`
	PrivateKey connections.Secret `json:"privateKey,omitempty"`
	Passphrase connections.Secret `json:"passphrase,omitempty"`
	Port       int                `json:"port,omitempty"`
}

// SSHView is a connection's SSH credential as callers see it: never the private key.
type SSHView struct {
	KeyType     string    `json:"keyType"`
	KeyBits     int       `json:"keyBits"`
	PublicKey   string    `json:"publicKey"`
	Fingerprint string    `json:"fingerprint"`
	Generated   bool      `json:"generated"`
	CreatedAt   time.Time `json:"createdAt"`
	Port        int       `json:"port,omitempty"`
	// AcceptedKeyTypes are the types the connection's server accepts, strongest first.
	AcceptedKeyTypes []string `json:"acceptedKeyTypes"`
	// AddKeyURL is User settings > SSH public keys of the organization or collection: where
	// the user adds PublicKey.
	AddKeyURL string `json:"addKeyUrl"`
	// HostKey is the trusted host key: pinned (Services: Microsoft's published
	// fingerprints) or confirmed (a Server: the key a user or operator accepted).
	HostKey *HostKeyView `json:"hostKey,omitempty"`
	// SeenHostKeyFingerprint is a host key the latest check or clone was shown that is not
	// trusted (first contact with a Server, or a changed key), to compare and confirm;
	// SeenHostKeyHost the "host:port" that showed it ("tfs.example.com:22"), which accepting
	// the key trusts it for.
	SeenHostKeyFingerprint string    `json:"seenHostKeyFingerprint,omitempty"`
	SeenHostKeyHost        string    `json:"seenHostKeyHost,omitempty"`
	SeenAt                 time.Time `json:"seenAt,omitzero"`
	CheckedAt              time.Time `json:"checkedAt,omitzero"`
	CheckReason            string    `json:"checkReason,omitempty"`
	CheckMessage           string    `json:"checkMessage,omitempty"`
}

// HostKeyView is a trusted host key.
type HostKeyView struct {
	// Fingerprints are the trusted SHA-256 fingerprints ("SHA256:…").
	Fingerprints []string `json:"fingerprints"`
	// Source is "published" (Azure DevOps Services, pinned) or "confirmed".
	Source string `json:"source"`
	// Host is the "host:port" a confirmed key is trusted for; "" for Services' pins (every
	// Services SSH host) and for a key confirmed before hosts were recorded (the host the
	// connection dials).
	Host        string    `json:"host,omitempty"`
	ConfirmedAt time.Time `json:"confirmedAt,omitzero"`
}

// SSHCheck is the outcome of an SSH check: authenticated, and the refs of one repository
// listed through git-upload-pack.
type SSHCheck struct {
	OK bool `json:"ok"`
	// Repository is the repository whose refs were listed (project/name); URL its SSH URL.
	Repository string `json:"repository"`
	URL        string `json:"url"`
	// Refs is the number of refs the server advertised; HostKeyFingerprint the host key seen.
	Refs               int    `json:"refs"`
	HostKeyFingerprint string `json:"hostKeyFingerprint,omitempty"`
	// Reason and Message say what failed (connections.Reason: ssh_key_not_added,
	// ssh_key_type_refused, ssh_disabled, ssh_wrong_port, host_key_unconfirmed,
	// host_key_changed, destination_not_allowed, unreachable, …) and what to do.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}
