package azdosim

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

// SSHPublicKey is one public key a user added (User settings › SSH public keys).
type SSHPublicKey struct {
	// User is the display name of the owner, as PAT.UserName ("Demo User" by default).
	User string
	// Name is the key's name on the page (the authorized_keys comment when none was given).
	Name string
	// Type is the SSH key type, e.g. "ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256".
	Type string
	// Fingerprint is the SHA256:… fingerprint as `ssh-keygen -l` prints it.
	Fingerprint string
	// AuthorizedKey is the key in authorized_keys form without comment or newline.
	AuthorizedKey string
	// Added is when the key was added (UTC).
	Added time.Time
}

// sshUserKey is a stored key with its parsed form.
type sshUserKey struct {
	info SSHPublicKey
	key  ssh.PublicKey
}

// SSHRefusal records why the SSH server refused a public key (tests read it with SSHRefusals).
type SSHRefusal struct {
	// SSHUser is the user name the client logged in with ("git" for the v3 paths).
	SSHUser string
	// KeyType and Fingerprint describe the key offered.
	KeyType, Fingerprint string
	// Reason is SSHRefusedNotAdded or SSHRefusedKeyType.
	Reason string
}

// Refusal reasons of SSHRefusal.
const (
	SSHRefusedNotAdded = "key not added"
	SSHRefusedKeyType  = "key type refused"
)

// maxSSHRefusals bounds the refusals kept (the oldest are dropped).
const maxSSHRefusals = 256

// maxSSHKeyLine bounds an authorized_keys line handed to AddSSHPublicKey (an RSA 16384 key is
// about 2.8 KB in this form).
const maxSSHKeyLine = 16 << 10

// maxSSHKeyName bounds a key's name (the keys page's field).
const maxSSHKeyName = 256

// defaultSSHKeyTypes returns the user key types the simulator accepts by default for a
// flavour: services true for Azure DevOps Services, else serverVersion ("2019", "2020",
// "2022", "2022.1"). Every mode accepts RSA only for now; change this one function when the
// accepted types per flavour are settled from sources.
func defaultSSHKeyTypes(services bool, serverVersion string) []string {
	_, _ = services, serverVersion
	return []string{"rsa"}
}

// sshKeyFamily maps an SSH key type to the names of Options.SSHKeyTypes: "rsa", "ecdsa",
// "ed25519"; security-key types ("sk-…") and others map to themselves.
func sshKeyFamily(keyType string) string {
	switch {
	case keyType == ssh.KeyAlgoRSA:
		return "rsa"
	case strings.HasPrefix(keyType, "ecdsa-sha2-"):
		return "ecdsa"
	case keyType == ssh.KeyAlgoED25519:
		return "ed25519"
	}
	return keyType
}

// sshKeyTypeAccepted reports whether keys of keyType are accepted (Options.SSHKeyTypes).
func (s *Server) sshKeyTypeAccepted(keyType string) bool {
	fam := sshKeyFamily(keyType)
	for _, t := range s.sshd.keyTypes {
		if strings.EqualFold(t, fam) || t == keyType {
			return true
		}
	}
	return false
}

// AddSSHPublicKey adds a public key for user (a display name as PAT.UserName; "" means "Demo
// User"), as User settings › SSH public keys does. authorizedKeyLine is one authorized_keys
// line ("ssh-rsa AAAA… comment"); its comment becomes the key's name. Errors (the sentence
// the keys page shows): a line that does not parse, a key type not in Options.SSHKeyTypes,
// or a key already added (by anyone: a key identifies one user). Safe while serving.
func (s *Server) AddSSHPublicKey(user, authorizedKeyLine string) error {
	return s.addSSHKey(user, "", authorizedKeyLine)
}

// addSSHKey is AddSSHPublicKey with an explicit name ("" = the line's comment, else "key N").
func (s *Server) addSSHKey(user, name, line string) error {
	if len(line) > maxSSHKeyLine {
		return fmt.Errorf("the public key is too long")
	}
	key, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(line)))
	if err != nil {
		return fmt.Errorf("the public key is not in the OpenSSH format (ssh-rsa AAAA…)")
	}
	if !s.sshKeyTypeAccepted(key.Type()) {
		return fmt.Errorf("keys of type %s are not supported; use one of: %s", key.Type(), strings.Join(s.sshd.keyTypes, ", "))
	}
	user = strings.TrimSpace(user)
	if user == "" {
		user = "Demo User"
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = strings.TrimSpace(comment)
	}
	if utf8.RuneCountInString(name) > maxSSHKeyName {
		return fmt.Errorf("the name is longer than %d characters", maxSSHKeyName)
	}
	fp := ssh.FingerprintSHA256(key)
	s.sshd.mu.Lock()
	defer s.sshd.mu.Unlock()
	for _, k := range s.sshd.keys {
		if k.info.Fingerprint == fp {
			return fmt.Errorf("this public key has already been added")
		}
	}
	if name == "" {
		name = fmt.Sprintf("key %d", len(s.sshd.keys)+1)
	}
	s.sshd.keys = append(s.sshd.keys, sshUserKey{key: key, info: SSHPublicKey{
		User: user, Name: name, Type: key.Type(), Fingerprint: fp,
		AuthorizedKey: authorizedKey(key),
		Added:         time.Now().UTC().Truncate(time.Second),
	}})
	return nil
}

// RemoveSSHPublicKey removes user's key with the given SHA256:… fingerprint. Errors: no such
// key of that user. Safe while serving; open connections stay open.
func (s *Server) RemoveSSHPublicKey(user, fingerprint string) error {
	if strings.TrimSpace(user) == "" {
		user = "Demo User"
	}
	s.sshd.mu.Lock()
	defer s.sshd.mu.Unlock()
	for i, k := range s.sshd.keys {
		if userKey(k.info.User) == userKey(user) && k.info.Fingerprint == fingerprint {
			s.sshd.keys = append(s.sshd.keys[:i:i], s.sshd.keys[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("azdosim: user %q has no SSH key %s", user, fingerprint)
}

// SSHPublicKeys lists the keys of user ("" = every user), sorted by user then name.
func (s *Server) SSHPublicKeys(user string) []SSHPublicKey {
	s.sshd.mu.Lock()
	var out []SSHPublicKey
	for _, k := range s.sshd.keys {
		if user == "" || userKey(k.info.User) == userKey(user) {
			out = append(out, k.info)
		}
	}
	s.sshd.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool {
		if userKey(out[i].User) != userKey(out[j].User) {
			return userKey(out[i].User) < userKey(out[j].User)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// SSHRefusals returns the public keys the SSH server refused so far, oldest first (at most the
// last 256).
func (s *Server) SSHRefusals() []SSHRefusal {
	s.sshd.mu.Lock()
	defer s.sshd.mu.Unlock()
	return append([]SSHRefusal(nil), s.sshd.refusals...)
}

// checkUserKey is the public key callback: the key's owner when the key's type is accepted
// and the key was added, else an error (the client sees "Permission denied (publickey)") and
// a recorded refusal.
func (s *Server) checkUserKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	ref := SSHRefusal{SSHUser: meta.User(), KeyType: key.Type(), Fingerprint: ssh.FingerprintSHA256(key)}
	s.sshd.mu.Lock()
	defer s.sshd.mu.Unlock()
	if !s.sshKeyTypeAccepted(key.Type()) {
		ref.Reason = SSHRefusedKeyType
	} else {
		for _, k := range s.sshd.keys {
			if k.info.Fingerprint == ref.Fingerprint {
				return &ssh.Permissions{Extensions: map[string]string{permUser: k.info.User}}, nil
			}
		}
		ref.Reason = SSHRefusedNotAdded
	}
	if len(s.sshd.refusals) >= maxSSHRefusals {
		s.sshd.refusals = s.sshd.refusals[1:]
	}
	s.sshd.refusals = append(s.sshd.refusals, ref)
	s.logger.Info("azdosim ssh key refused", "user", ref.SSHUser, "type", ref.KeyType, "fingerprint", ref.Fingerprint, "reason", ref.Reason)
	return nil, fmt.Errorf("azdosim: %s", ref.Reason)
}

// permUser is the ssh.Permissions extension holding the authenticated user's display name.
const permUser = "azdosim-user"
