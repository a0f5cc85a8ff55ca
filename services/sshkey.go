package services

// The SSH key of a connection (docs/ssh.md): set (generated or supplied), removed, shown, and
// the host key a user or operator accepts for a Server.

import (
	"context"
	"strings"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// Host key sources of HostKeyView.
const (
	HostKeyPublished = "published"
	HostKeyConfirmed = "confirmed"
)

// SetSSHKey gives connection id an SSH key (generated or supplied), replacing any earlier one
// and keeping its port unless in.Port is not 0 (with neither Generate nor PrivateKey, it only
// changes the port of the key held, 0 clearing it: setSSHPort);
// the private key is sealed before it is stored, under an AAD of its own (sshKeyAAD), and the
// record is written once, whole. The trusted and seen host keys stay (they belong to the
// server, not the key); the SSH check's outcome is cleared. For a Server the accepted key
// types depend on its release, which a token check reads (one round trip with the
// connection's PAT; unknown when it fails: the types every release accepts). Errors:
// store.ErrNotFound; ErrInvalidInput (fields generate, keyType, privateKey, passphrase, port),
// reason ssh_key_type_refused (field keyType or privateKey) naming the accepted types.
func (s *Service) SetSSHKey(ctx context.Context, tenant, id string, in SSHKeyInput) (*Connection, error) {
	if err := checkSSHKeyInput(in); err != nil {
		return nil, err
	}
	if !in.Generate && in.PrivateKey.Empty() {
		return s.setSSHPort(ctx, tenant, id, in.Port)
	}
	rec, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	policy, err := s.sshKeyPolicy(ctx, rec, true)
	if err != nil {
		return nil, err
	}
	var key *azuredevops.SSHKey
	if in.Generate {
		key, err = policy.Generate(azuredevops.SSHKeyType(strings.ToLower(strings.TrimSpace(in.KeyType))))
	} else {
		key, err = policy.Parse([]byte(in.PrivateKey.Reveal()), in.Passphrase)
	}
	if err != nil {
		return nil, err
	}
	sealed, err := s.keyring.Seal([]byte(key.PrivateKeyPEM.Reveal()), sshKeyAAD(tenant, id))
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	rec, err = s.mutate(detach(ctx), tenant, id, func(r *store.Connection) error {
		d := &store.SSHDetails{KeyType: string(key.Type), KeyBits: key.Bits, PublicKey: key.PublicKey,
			Fingerprint: key.Fingerprint, Generated: in.Generate, SealedPrivateKey: sealed, CreatedAt: now, Port: in.Port}
		if old := r.SSH; old != nil { // the server's host key and port are not the key's: they stay
			if in.Port == 0 {
				d.Port = old.Port
			}
			d.HostKey, d.HostKeyFingerprint, d.HostKeyHost, d.HostKeyConfirmedAt = old.HostKey, old.HostKeyFingerprint, old.HostKeyHost, old.HostKeyConfirmedAt
			d.SeenHostKey, d.SeenHostKeyFingerprint, d.SeenHostKeyHost, d.SeenAt = old.SeenHostKey, old.SeenHostKeyFingerprint, old.SeenHostKeyHost, old.SeenAt
		}
		r.SSH = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ssh key set", "tenant", tenant, "connection", id, "keyType", key.Type, "keyBits", key.Bits,
		"fingerprint", key.Fingerprint, "generated", in.Generate)
	return s.view(rec), nil
}

// setSSHPort changes the port of the connection's SSH key (0: the port of the server's SSH
// URL), keeping the key; the check's outcome is cleared. Errors: store.ErrNotFound; field
// error generate when the connection has no key.
func (s *Service) setSSHPort(ctx context.Context, tenant, id string, port int) (*Connection, error) {
	rec, err := s.mutate(detach(ctx), tenant, id, func(r *store.Connection) error {
		if r.SSH == nil {
			return invalid("generate", "the connection has no SSH key: generate one or supply your own private key first")
		}
		r.SSH.Port = port
		r.SSH.CheckedAt, r.SSH.CheckReason, r.SSH.CheckMessage = time.Time{}, "", ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ssh port set", "tenant", tenant, "connection", id, "port", port)
	return s.view(rec), nil
}

// SSHKeyTypesOf returns the SSH key types conn's server accepts, strongest first ("rsa", …),
// from the view alone, for a page that offers a key before one is set: no store read, no
// request. A Server's release is taken as unknown, whose types are those every release
// accepts (the same for all releases today: docs/ssh.md); SetSSHKey reads the release.
func SSHKeyTypesOf(conn *Connection) []string {
	return keyTypesOf(&store.Connection{Type: conn.Type, ServerURL: conn.ServerURL, Collection: conn.Collection,
		VirtualDirectory: conn.VirtualDirectory})
}

// keyTypesOf is SSHKeyTypesOf of a stored connection; empty when its endpoint cannot be read.
func keyTypesOf(rec *store.Connection) []string {
	out := []string{}
	if ep, err := endpointOf(rec); err == nil {
		for _, t := range azuredevops.AcceptedSSHKeyTypes(keyPolicyEndpoint(rec, ep), "") {
			out = append(out, string(t))
		}
	}
	return out
}

// checkSSHKeyInput checks the shape of in before anything is read or generated.
func checkSSHKeyInput(in SSHKeyInput) error {
	supplied := !in.PrivateKey.Empty()
	switch {
	case in.Generate && supplied:
		return invalid("privateKey", "send either generate (the service makes the key pair) or privateKey (your own key), not both")
	case supplied && strings.TrimSpace(in.KeyType) != "":
		return invalid("keyType", "keyType goes with generate; a supplied private key has its own type")
	case !supplied && !in.Passphrase.Empty():
		return invalid("passphrase", "passphrase goes with privateKey (an encrypted private key)")
	case len(in.PrivateKey) > azuredevops.MaxSSHPrivateKeyBytes:
		return invalid("privateKey", "the private key is larger than %d KiB: paste a single private key file", azuredevops.MaxSSHPrivateKeyBytes>>10)
	case len(in.Passphrase) > 1024:
		return invalid("passphrase", "the passphrase is longer than 1024 bytes")
	case in.Port < 0 || in.Port > 65535:
		return invalid("port", "port must be 0 (the port of the server's SSH URL) or 1 to 65535")
	}
	return nil
}

// RemoveSSHKey removes the connection's SSH key (and its trusted host key): clones go over
// HTTPS again. Removing from a connection without a key is not an error. Errors:
// store.ErrNotFound.
func (s *Service) RemoveSSHKey(ctx context.Context, tenant, id string) (*Connection, error) {
	rec, err := s.mutate(detach(ctx), tenant, id, func(r *store.Connection) error {
		r.SSH = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ssh key removed", "tenant", tenant, "connection", id)
	return s.view(rec), nil
}

// AcceptHostKey trusts the host key whose fingerprint the latest check or clone saw
// (fingerprint must equal it: the user confirms what they compared; "SHA256:" and base64
// padding are optional) for the "host:port" that showed it (SSHView.SeenHostKeyHost),
// replacing a trusted one; clones of another host:port find their key unconfirmed. The seen
// key and a host-key outcome of the check are cleared. Errors: store.ErrNotFound;
// ErrInvalidInput (field fingerprint) when the connection has no SSH key, no host key is
// waiting, it is not the key seen, or the connection is on Services (its host keys are
// pinned).
func (s *Service) AcceptHostKey(ctx context.Context, tenant, id, fingerprint string) (*Connection, error) {
	if strings.TrimSpace(fingerprint) == "" {
		return nil, invalid("fingerprint", "fingerprint is required: the SHA256:… fingerprint the SSH check showed")
	}
	fingerprint, ok := azuredevops.NormalizeSSHFingerprint(fingerprint)
	if !ok {
		return nil, invalid("fingerprint", "this is not a SHA-256 fingerprint: give it as the SSH check shows it (SHA256:…)")
	}
	rec, err := s.mutate(detach(ctx), tenant, id, func(r *store.Connection) error {
		switch d := r.SSH; {
		case d == nil:
			return invalid("fingerprint", "the connection has no SSH key: set one first, then run the SSH check")
		case isServices(r):
			return invalid("fingerprint", "Azure DevOps Services' host keys are pinned to the fingerprints Microsoft publishes; they are not accepted one by one")
		case d.SeenHostKeyFingerprint == "":
			return invalid("fingerprint", "no host key is waiting to be confirmed: run the SSH check, then compare the fingerprint it shows")
		case d.SeenHostKeyFingerprint != fingerprint:
			return invalid("fingerprint", "%s is not the host key the server showed (%s): compare the fingerprint again", fingerprint, d.SeenHostKeyFingerprint)
		default:
			d.HostKey, d.HostKeyFingerprint, d.HostKeyHost, d.HostKeyConfirmedAt = d.SeenHostKey, d.SeenHostKeyFingerprint, d.SeenHostKeyHost, s.now().UTC()
			d.SeenHostKey, d.SeenHostKeyFingerprint, d.SeenHostKeyHost, d.SeenAt = "", "", "", time.Time{}
			if isHostKeyReason(d.CheckReason) { // the next check tells
				d.CheckedAt, d.CheckReason, d.CheckMessage = time.Time{}, "", ""
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ssh host key accepted", "tenant", tenant, "connection", id, "fingerprint", fingerprint, "host", rec.SSH.HostKeyHost)
	return s.view(rec), nil
}

func isHostKeyReason(r string) bool {
	return r == string(connections.ReasonHostKeyChanged) || r == string(connections.ReasonHostKeyUnconfirmed)
}

// isServices reports whether a connection is to Azure DevOps Services, by its type (the
// demo's and the tests' Services simulator is on another host than dev.azure.com).
func isServices(rec *store.Connection) bool { return IsServicesType(rec.Type) }

// IsServicesType reports whether a connection of type t ("services-pat", "services-oauth",
// "server-pat") is on Azure DevOps Services, whose SSH host keys are pinned by Microsoft's
// published fingerprints rather than confirmed by a user.
func IsServicesType(t string) bool { return t == TypeServicesPAT || t == TypeServicesOAuth }

// keyPolicyEndpoint is the endpoint whose key-type and host-key rules apply to rec: a
// Services connection's rules are Services' wherever Options point it.
func keyPolicyEndpoint(rec *store.Connection, ep azuredevops.Endpoint) azuredevops.Endpoint {
	if isServices(rec) && ep.Kind() != azuredevops.KindServices {
		return azuredevops.Endpoint{Scheme: "https", Host: "dev.azure.com", Collection: rec.Collection}
	}
	return ep
}

// sshKeyPolicy is what rec's server accepts (azuredevops.SSHKeyPolicyFor: the key types,
// strongest first, and the deployment's name for sentences). With ask, a Server's release is
// read by a token check; a check that fails leaves it unknown. Errors: a malformed stored
// server URL.
func (s *Service) sshKeyPolicy(ctx context.Context, rec *store.Connection, ask bool) (azuredevops.SSHKeyPolicy, error) {
	ep, err := endpointOf(rec)
	if err != nil {
		return azuredevops.SSHKeyPolicy{}, err
	}
	version := ""
	if ask && !isServices(rec) {
		version = s.serverVersion(ctx, rec)
	}
	return azuredevops.SSHKeyPolicyFor(keyPolicyEndpoint(rec, ep), version), nil
}

// serverVersion is the release of a Server connection as its token check reports it ("2022",
// "2022.1", …), "" when the check cannot tell.
func (s *Service) serverVersion(ctx context.Context, rec *store.Connection) string {
	o, err := s.openRec(connKey(ctx, rec.ID), rec)
	if err != nil {
		return ""
	}
	res, err := o.client.CheckToken(connKey(ctx, rec.ID))
	if err != nil || !res.Valid {
		return ""
	}
	return res.ServerVersion
}

// sshView renders a connection's SSH credential: never the private key.
func (s *Service) sshView(rec *store.Connection) *SSHView {
	d := rec.SSH
	if d == nil {
		return nil
	}
	v := &SSHView{KeyType: d.KeyType, KeyBits: d.KeyBits, PublicKey: d.PublicKey, Fingerprint: d.Fingerprint,
		Generated: d.Generated, CreatedAt: d.CreatedAt, Port: d.Port, SeenHostKeyFingerprint: d.SeenHostKeyFingerprint,
		SeenHostKeyHost: d.SeenHostKeyHost, SeenAt: d.SeenAt, CheckedAt: d.CheckedAt, CheckReason: d.CheckReason, CheckMessage: d.CheckMessage,
		AcceptedKeyTypes: keyTypesOf(rec)}
	if ep, err := endpointOf(rec); err == nil {
		v.AddKeyURL = azuredevops.SSHPublicKeysURL(ep)
	}
	switch {
	case isServices(rec):
		v.HostKey = &HostKeyView{Fingerprints: s.servicesHostKeys(), Source: HostKeyPublished}
	case d.HostKeyFingerprint != "":
		v.HostKey = &HostKeyView{Fingerprints: []string{d.HostKeyFingerprint}, Source: HostKeyConfirmed, Host: d.HostKeyHost, ConfirmedAt: d.HostKeyConfirmedAt}
	}
	return v
}

// servicesHostKeys are the host key fingerprints trusted for Azure DevOps Services:
// Options.ServicesSSHHostKeyFingerprints, else the ones Microsoft publishes. A copy.
func (s *Service) servicesHostKeys() []string {
	if len(s.opts.ServicesSSHHostKeyFingerprints) > 0 {
		return append([]string(nil), s.opts.ServicesSSHHostKeyFingerprints...)
	}
	return azuredevops.ServicesHostKeyFingerprints()
}
