package gitops

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"golang.org/x/crypto/ssh"
)

// DefaultListTimeout bounds ListRefs when CloneOptions.Timeout is zero.
const DefaultListTimeout = time.Minute

// MaxListedRefs bounds the references RemoteRefs.Refs holds (the server's advertisement is
// untrusted; RemoteRefs.Total counts them all).
const MaxListedRefs = 1000

// RemoteRefs is what a repository's git-upload-pack advertises, as ListRefs read it.
type RemoteRefs struct {
	// Head is the branch the remote HEAD names ("refs/heads/main"); empty when the server
	// does not say (no symref capability) or the repository is empty.
	Head string `json:"head,omitempty"`
	// HeadCommit is the commit HEAD points at (40 hex); empty for an empty repository.
	HeadCommit string `json:"headCommit,omitempty"`
	// Refs maps the advertised reference names (refs/heads/…, refs/tags/…, refs/pull/…) to
	// their object (40 hex): the first MaxListedRefs by name. Total is how many there were.
	Refs  map[string]string `json:"refs"`
	Total int               `json:"total"`
	// Empty is true for a repository without any branch (the check still succeeded: the
	// server accepted the credential).
	Empty bool `json:"empty,omitempty"`
	// HostKey and HostKeyFingerprint are, over SSH, the host key the server presented and
	// its SHA-256 fingerprint ("SHA256:…"): one of SSHAuth.HostKeyFingerprints, since the
	// listing went through. Empty over HTTP(S).
	HostKey            string `json:"hostKey,omitempty"`
	HostKeyFingerprint string `json:"hostKeyFingerprint,omitempty"`
}

// ListRefs connects to opts.URL as Clone would (the same door, the same credential: PAT or
// Token over HTTP(S), SSH with its host key check), reads the references git-upload-pack
// advertises, and closes: the access check of a connection over SSH (issue 21), and over
// HTTP(S) too. Only URL, PAT, Token, SSH, CACertificatePEM, Door and Timeout (0:
// DefaultListTimeout) are read; nothing is written.
//
// Errors are Clone's: ErrInvalidInput (url, sshKey), ErrDestinationNotAllowed (the door,
// before any connection), *HostKeyError, ErrUnauthorized (invalid_token, ssh_key_not_added),
// ErrForbidden, ErrNotFound, ErrUnreachable (unreachable, ssh_wrong_port), ErrTLS,
// ErrProtocol (also: an advertisement over HTTP(S) longer than MaxHTTPAdvertisementBytes, an
// SSH server that sends more than MaxSSHBeforePackBytes before the pack, or offers none of
// SSHAuth's algorithms). A cancelled context returns ctx.Err().
func ListRefs(ctx context.Context, opts CloneOptions) (*RemoteRefs, error) {
	EnableAzureDevOpsCapabilities()
	u, sr, err := remoteOf(&opts)
	if err != nil {
		return nil, err
	}
	if ctx, err = doorContext(ctx, u, &opts); err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultListTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if sr != nil {
		defer sr.start(ctx, opts.Door)()
		opts.ssh = sr
	}
	refs, err := listRefs(ctx, opts)
	if err != nil {
		return nil, failure(ctx, err, sr, u.Host, "", timeout)
	}
	if sr != nil {
		if k := sr.hostKey(); k != nil {
			refs.HostKey = authorizedKey(k)
			refs.HostKeyFingerprint = ssh.FingerprintSHA256(k)
		}
	}
	return refs, nil
}

// listRefs reads the advertisement of opts.URL's upload-pack. Errors: go-git's, untranslated.
func listRefs(ctx context.Context, opts CloneOptions) (*RemoteRefs, error) {
	ep, err := transport.NewEndpoint(opts.URL)
	if err != nil {
		return nil, err
	}
	ep.Proxy = proxyOptions(opts)
	cl, err := client.NewClient(ep)
	if err != nil {
		return nil, err
	}
	sess, err := cl.NewUploadPackSession(ep, authMethod(opts))
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return &RemoteRefs{Empty: true, Refs: map[string]string{}}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &RemoteRefs{Refs: map[string]string{}, Total: len(ar.References)}
	names := make([]string, 0, len(ar.References))
	for n := range ar.References {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names[:min(len(names), MaxListedRefs)] {
		out.Refs[n] = ar.References[n].String()
	}
	if ar.Head != nil {
		out.HeadCommit = ar.Head.String()
	}
	if all, err := ar.AllReferences(); err == nil {
		if h, err := all.Reference(plumbing.HEAD); err == nil && h.Type() == plumbing.SymbolicReference {
			out.Head = h.Target().String()
			if t, ok := ar.References[out.Head]; ok && out.HeadCommit == "" {
				out.HeadCommit = t.String()
			}
		}
	}
	return out, nil
}
