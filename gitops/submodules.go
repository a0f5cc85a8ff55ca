package gitops

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/format/index"

	"github.com/repoconnect/repoconnect/connections"
)

// cloneSubmodules clones each submodule the checked-out tree records (gitlinks) into its
// directory at the recorded commit, as `git clone --recurse-submodules` does: the URL comes
// from .gitmodules (a relative one resolves against the superproject's URL), every branch
// is fetched so the commit is found, and the submodule's own submodules follow. Credentials
// go to the superproject's scheme and host only (an SSH key: to its SSH host and port only,
// sshsubmodules.go). Errors: a gitlink .gitmodules does not
// name (ErrInvalidInput, field submodules), and the submodule clone's errors, wrapped with
// its path.
func cloneSubmodules(ctx context.Context, dir string, gitlinks []index.Entry, opts CloneOptions) error {
	// A symbolic link would read a file of the host's choosing (git refuses one since
	// CVE-2018-11235).
	if fi, err := os.Lstat(filepath.Join(dir, ".gitmodules")); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return invalidf("submodules", ".gitmodules is a symbolic link; git refuses to read it, and so does this clone")
	}
	raw, err := os.ReadFile(filepath.Join(dir, ".gitmodules"))
	if err != nil {
		return invalidf("submodules", "the tree has submodules but no readable .gitmodules: %v", err)
	}
	mods := config.NewModules()
	if err := mods.Unmarshal(raw); err != nil {
		return invalidf("submodules", ".gitmodules is malformed: %v", err)
	}
	byPath := map[string]*config.Submodule{}
	for _, m := range mods.Submodules {
		byPath[strings.TrimSuffix(m.Path, "/")] = m
	}
	for _, g := range gitlinks {
		m := byPath[g.Name]
		if m == nil || m.URL == "" {
			return invalidf("submodules", "submodule %s is not in .gitmodules", g.Name)
		}
		r, err := submoduleRemote(opts, m.URL)
		if err != nil {
			return invalidf("submodules", "submodule %s: %v", g.Name, err)
		}
		sub := CloneOptions{URL: r.url, SSH: r.ssh, PAT: r.pat, Token: r.token, Dir: filepath.Join(dir, filepath.FromSlash(g.Name)), Commit: g.Hash.String(),
			AllBranches: true, Submodules: true, CACertificatePEM: opts.CACertificatePEM, Door: opts.Door, MaxBytes: opts.MaxBytes,
			MaxObjectBytes: opts.MaxObjectBytes, Timeout: opts.Timeout, MaxFiles: opts.MaxFiles, MinFreeBytes: opts.MinFreeBytes,
			FreeSpace: opts.FreeSpace, Memory: opts.Memory, meter: opts.meter} // one meter: the limits are the whole clone's
		if _, err := Clone(ctx, sub); err != nil {
			if ce := connections.AsError(err); ce != nil {
				ce.Message = fmt.Sprintf("submodule %s: %s", g.Name, ce.Message)
				return &SubmoduleError{Path: g.Name, Err: ce}
			}
			return &SubmoduleError{Path: g.Name, Err: fmt.Errorf("submodule %s: %w", g.Name, err)}
		}
	}
	return nil
}

// SubmoduleError is the failure of a submodule's clone (Path is its path in the work tree;
// Err the *connections.Error, whose message starts with "submodule {path}: "). The answer
// came from the submodule's server, which may be another host than the superproject's: it
// says nothing of the connection's credential, so a caller must not change the connection's
// status on it.
type SubmoduleError struct {
	Path string
	Err  error
}

// Error returns the wrapped error's text (its message names the submodule).
func (e *SubmoduleError) Error() string { return e.Err.Error() }

// Unwrap returns the submodule clone's error.
func (e *SubmoduleError) Unwrap() error { return e.Err }

// subRemote is where a submodule is cloned from and with which credential.
type subRemote struct {
	url        string
	ssh        *SSHAuth
	pat, token connections.Secret
}

// submoduleRemote resolves a .gitmodules URL against the superproject's (opts.URL) and picks
// its credential: the superproject's PAT or token for the same scheme and host over HTTP(S);
// over SSH, sshSubmoduleRemote's rule (sshsubmodules.go). Others get none.
func submoduleRemote(opts CloneOptions, raw string) (subRemote, error) {
	if opts.SSH != nil {
		return sshSubmoduleRemote(opts, raw)
	}
	super, err := url.Parse(opts.URL)
	if err != nil {
		return subRemote{}, err
	}
	u, err := submoduleURL(super, raw)
	if err != nil {
		return subRemote{}, err
	}
	r := subRemote{url: u.String()}
	if u.Scheme == super.Scheme && strings.EqualFold(u.Host, super.Host) {
		r.pat, r.token = opts.PAT, opts.Token
	}
	return r, nil
}

// submoduleURL resolves a .gitmodules URL: absolute http(s), or relative ("../other") to the
// superproject's URL taken as a directory, as git does.
func submoduleURL(super *url.URL, raw string) (*url.URL, error) {
	if strings.HasPrefix(raw, "./") || strings.HasPrefix(raw, "../") {
		base := *super
		base.Path = strings.TrimSuffix(base.Path, "/") + "/"
		base.RawPath = ""
		return base.Parse(raw)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("only http(s) and relative submodule URLs can be cloned, not %q", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("the submodule URL carries user info")
	}
	return u, nil
}
