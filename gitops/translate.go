package gitops

// The translation of go-git's errors over HTTP(S) into connection error categories, at the
// edge (Clone); SSH's own are ssherrors.go's.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/egress"
)

// failure is the error Clone and ListRefs return for err, the failure of a run over the
// remote host (branch: the branch asked for, or ""; sr: the SSH run, or nil; ctx: the run's
// context from doorContext): ctx.Err() when cancelled; the refusal of a response past its
// bound (transportRefusal); a *SubmoduleError, *HostKeyError or *connections.Error already
// in err's chain as it is; a limit's own reason (translateLimit); then SSH's translation
// (ssherrors.go) and HTTP(S)'s (translate).
func failure(ctx context.Context, err error, sr *sshRun, host, branch string, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	if re := transportRefusal(ctx); re != nil {
		return re
	}
	var ce *connections.Error
	var se *SubmoduleError
	var he *HostKeyError
	switch {
	case errors.As(err, &se):
		return se
	case errors.As(err, &he):
		return he
	case errors.As(err, &ce): // translated already
		return ce
	}
	if le := translateLimit(err); le != nil {
		return le
	}
	if sr != nil {
		if te := sr.translate(err, timeout); te != nil {
			return te
		}
	}
	return translate(err, host, branch, timeout)
}

// translate maps go-git errors to connection error categories (docs/azure-devops-protocol.md §7: go-git maps
// 401 to ErrAuthenticationRequired, 403 to ErrAuthorizationFailed, 404 to ErrRepositoryNotFound).
func translate(err error, host, branch string, timeout time.Duration) error {
	// go-git wraps the upload-pack request's transport error in a *plumbing.UnexpectedError,
	// which does not unwrap: look inside it, so that an error already classified below git
	// (the retrying transport's rate_limited or azure_devops_unavailable) passes through.
	var ue *plumbing.UnexpectedError
	if errors.As(err, &ue) && ue.Err != nil {
		if ce := connections.AsError(ue.Err); ce != nil {
			return ce
		}
	}
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return connections.Errorf(connections.ErrUnauthorized, connections.ReasonInvalidToken,
			"%s refused the credential for git (HTTP 401); check that the PAT is valid and has the Code (Read) scope", host).Wrap(err)
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return connections.Errorf(connections.ErrForbidden, connections.ReasonForbidden,
			"%s does not allow this credential to read the repository (HTTP 403); check that the PAT has Code (Read)", host).Wrap(err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		// A disabled repository answers 404 with TF401019, like a missing one (renovatebot/renovate#13013).
		return connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound,
			"the repository was not found on %s (HTTP 404): check the clone URL, and that the repository is not disabled (Azure DevOps answers a disabled repository as not found)", host).Wrap(err)
	case strings.Contains(err.Error(), "http redirect:"): // go-git's redirect rule (transport.go)
		return egress.RedirectRefusal(err)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput,
			"the repository is empty: push a first commit before building").Wrap(err)
	case errors.Is(err, plumbing.ErrReferenceNotFound) || isNoMatchingRef(err):
		return connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound,
			"the branch %q does not exist in the repository", branch).Wrap(err)
	}
	if te := connections.RecognizeTransport(err, host, timeout); te != nil {
		return te
	}
	// go-git quotes the line it could not read (the server's bytes, in the error's data and
	// parts of its text): the URL may name something else than a git server, whose answer
	// is not the tenant's to read.
	var ud *packp.ErrUnexpectedData
	if errors.As(err, &ud) {
		return connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
			"the clone from %s failed: the server's answer is not a git reference advertisement; check the clone URL", host).Wrap(err)
	}
	if le := localError(err); le != nil {
		return le
	}
	return connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
		"the clone from %s failed: %s", host, sanitize(err.Error())).Wrap(err)
}

// localError classifies a failure of this machine's file system during a clone, whose text
// names the service's own paths: a full disk is disk_space_low, a path the file system
// cannot hold (too long, an illegal byte) is the repository's (invalid_input, naming only the
// errno), anything else an internal error (500; the path stays in the log). nil: not local.
func localError(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	if !errors.As(err, &pe) && !errors.As(err, &le) {
		return nil
	}
	switch {
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
		return connections.Errorf(connections.ErrInvalidInput, connections.ReasonDiskSpaceLow,
			"the service's disk for clones is full; the operator frees space or raises the disk (serve --min-free-space keeps a reserve)").Wrap(err)
	case errors.Is(err, syscall.ENAMETOOLONG) || errors.Is(err, syscall.EILSEQ) || errors.Is(err, syscall.EINVAL):
		var errno syscall.Errno
		errors.As(err, &errno)
		return connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput,
			"the repository holds a path the service's file system cannot write (%v)", errno).Wrap(err)
	}
	return fmt.Errorf("clone: the work tree could not be written: %w", err)
}

func isNoMatchingRef(err error) bool {
	var nm git.NoMatchingRefSpecError
	return errors.As(err, &nm) || strings.Contains(err.Error(), "couldn't find remote ref")
}

// sanitize drops user info from any URL in a go-git error text.
func sanitize(s string) string {
	fields := strings.Fields(s)
	for i, f := range fields {
		if u, err := url.Parse(strings.Trim(f, `"'`)); err == nil && u.User != nil {
			u.User = nil
			fields[i] = u.String()
		}
	}
	return strings.Join(fields, " ")
}
