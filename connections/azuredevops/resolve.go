package azuredevops

import (
	"context"
	"errors"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
)

// ReasonNotResolvable: a guessed split of an SSH URL cannot be settled online, because an SSH
// URL does not say where the server's HTTP(S) API listens.
const ReasonNotResolvable connections.Reason = "not_resolvable"

// ResolveRemoteURL settles the guessed split of a Server remote URL by asking the server:
// GET {remote URL}/vsts/info answers with the collection and the repository's project and name
// (docs/azure-devops-protocol.md §2 "Ambiguity", §5). The request goes to the URL exactly as given (host,
// port and path), with the client's credential (it needs Code (Read)); the client's endpoint
// is only used to word errors, so create it with r.Endpoint().
//
// A path of three or more segments may be team-scoped (…/{collection}/{project}/{team}/_git/…).
// Whether a server answers vsts/info below a team segment is not documented, so when the URL
// as given is answered 404, the same URL without its last segment before /_git/ is asked once
// more (same host, same credential), and its answer counts only when it names that reading's
// collection and project.
//
// The answer's names are matched against the URL's path segments to find where the virtual
// directory ends (and whether a team follows the project); the result carries the server's
// spelling of the names and Guessed false. A URL that is not guessed is returned as a copy
// without a request.
//
// Errors: ErrInvalidInput with ReasonNotResolvable for an SSH URL; the client's errors
// (ErrUnauthorized, ErrNotFound when no repository answers there, ErrUnreachable, ErrTLS, ...);
// ErrProtocol when the answer names a collection or project the path does not contain.
func (c *Client) ResolveRemoteURL(ctx context.Context, r *RemoteURL) (*RemoteURL, error) {
	out := *r
	out.path = append([]string(nil), r.path...)
	if !r.Guessed || r.Kind != KindServer {
		return &out, nil
	}
	if r.Scheme == "ssh" {
		return nil, reject(ReasonNotResolvable, "an SSH URL does not say where the server's HTTP(S) API listens, so its split cannot be asked of the server; give the virtual directory, or paste the HTTPS clone URL")
	}
	segs, n := r.path, len(r.path)
	info, err := c.vstsInfo(ctx, r, segs)
	teamless := false
	if ce := connections.AsError(err); ce != nil && ce.Kind == connections.ErrNotFound && n >= 3 {
		alt, altErr := c.vstsInfo(ctx, r, segs[:n-1])
		switch ae := connections.AsError(altErr); {
		case altErr == nil:
			info, err, teamless = alt, nil, true
		case ae == nil || ae.Kind != connections.ErrNotFound:
			err = altErr // a refused credential or an unreachable server says more than the 404
		}
	}
	if err != nil {
		if ce := connections.AsError(err); ce != nil && ce.Kind == connections.ErrNotFound {
			return nil, connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound,
				"the server has no repository at this URL (%s); check the URL, or that the PAT's user can see the repository", ce.Message).Wrap(err)
		}
		return nil, err
	}
	coll, project, repo := string(info.Collection.Name), string(info.Repository.Project.Name), string(info.Repository.Name)
	if coll == "" || project == "" || repo == "" {
		return nil, connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
			"the server's vsts/info answer names no collection, project or repository")
	}
	at := func(i int, name string) bool { return i >= 0 && strings.EqualFold(segs[i], name) }
	switch {
	case !teamless && at(n-2, coll) && at(n-1, project):
		out.VirtualDirectory = strings.Join(segs[:n-2], "/")
	case !teamless && at(n-1, coll):
		out.VirtualDirectory = strings.Join(segs[:n-1], "/")
	case at(n-3, coll) && at(n-2, project): // {collection}/{project}/{team}
		out.VirtualDirectory = strings.Join(segs[:n-3], "/")
	default:
		return nil, connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
			"the server says the repository is in collection %q, project %q, but the URL's path does not name them; paste the clone URL the server shows", coll, project)
	}
	out.Collection, out.Project, out.Repository, out.Guessed = coll, project, repo, false
	return &out, nil
}

// vstsInfo asks GET {scheme}://{host}/{path}/_git/{repository}/vsts/info.
func (c *Client) vstsInfo(ctx context.Context, r *RemoteURL, path []string) (wireVstsInfo, error) {
	infoURL := r.Scheme + "://" + joinHostPort(r.Host, r.Port) + "/" + escapePath(strings.Join(path, "/")) +
		"/_git/" + escapeName(r.Repository) + "/vsts/info"
	var info wireVstsInfo
	_, err := c.getURL(ctx, infoURL, nil, lenient(&info))
	return info, err
}

// EndpointOfRemote returns the endpoint of the collection a pasted remote URL lives in, for a
// new connection or a token check with cred. A guessed split is settled on the server
// (ResolveRemoteURL); when the server cannot be asked (credential refused, unreachable, TLS),
// the guess stands, so that the token check that follows diagnoses the problem step by step.
//
// Errors (ErrInvalidInput, field "remoteUrl"): an on-prem SSH URL, which does not say where the
// HTTP(S) API listens; a repository the server does not know at that URL (reason not_found).
// A destination the outbound policy refuses is ErrDestinationNotAllowed (opts.Door).
// A cancelled or expired ctx is returned as is.
func EndpointOfRemote(ctx context.Context, r *RemoteURL, cred Credential, opts Options) (Endpoint, error) {
	if r.Kind == KindServer && r.Scheme == "ssh" {
		return Endpoint{}, reject(ReasonNotResolvable, "an SSH URL does not say where the server's HTTP(S) API listens; paste the HTTPS clone URL, or give the server URL and collection")
	}
	if !r.Guessed {
		return r.Endpoint(), nil
	}
	c, err := New(r.Endpoint(), cred, opts)
	if err != nil {
		return Endpoint{}, err
	}
	resolved, err := c.ResolveRemoteURL(ctx, r)
	switch {
	case err == nil:
		return resolved.Endpoint(), nil
	case errors.Is(err, connections.ErrNotFound):
		return Endpoint{}, reject(connections.ReasonNotFound, "%s", connections.AsError(err).Message)
	case errors.Is(err, connections.ErrDestinationNotAllowed):
		return Endpoint{}, err
	case ctx.Err() != nil:
		return Endpoint{}, ctx.Err()
	}
	c.log.DebugContext(ctx, "remote URL not resolved; keeping the guessed split", "err", err)
	return r.Endpoint(), nil
}
