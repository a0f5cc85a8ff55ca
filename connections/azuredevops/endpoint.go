package azuredevops

import (
	"net"
	"net/url"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
)

// Endpoint is where a collection (Server) or organization (Services) lives.
//
// For Server: Scheme "http" or "https", Host "host[:port]", VirtualDirectory the path prefix
// before the collection ("tfs", "", or "a/b"; no leading or trailing slash), Collection the
// collection name. For Services, Collection is the organization and Host "dev.azure.com"
// (or "{org}.visualstudio.com", whose collection is the organization too).
type Endpoint struct {
	Scheme           string
	Host             string
	VirtualDirectory string
	Collection       string
}

// Kind reports whether the endpoint is Azure DevOps Services (cloud) or Server (on-prem),
// judged by the host exactly (docs/azure-devops-protocol.md §2: look-alike hosts are not Services).
func (e Endpoint) Kind() Kind { return hostKind(e.Host) }

// ServerURL returns scheme://host[/virtualDirectory] with no trailing slash.
func (e Endpoint) ServerURL() string {
	u := e.Scheme + "://" + e.Host
	if e.VirtualDirectory != "" {
		u += "/" + escapePath(e.VirtualDirectory)
	}
	return u
}

// CollectionURL returns the REST base of the collection: ServerURL()/{collection}, the name
// percent-encoded ("@" as %40, so the URL never reads as carrying user info). For {org}.visualstudio.com hosts the organization is the host, so the base
// is the host itself.
func (e Endpoint) CollectionURL() string {
	if isLegacyServicesHost(e.Host) {
		return e.ServerURL()
	}
	return e.ServerURL() + "/" + escapeName(e.Collection)
}

// Hostname returns the host without port.
func (e Endpoint) Hostname() string {
	if h, _, err := net.SplitHostPort(e.Host); err == nil {
		return h
	}
	return e.Host
}

// NewEndpoint reads the server URL and collection a user typed into an Endpoint.
//
// serverURL is http(s)://host[:port][/virtual/dir]; user info, query and fragment are refused
// (a PAT must never travel in a URL). collection is the collection (Server) or organization
// (Services); it may carry a virtual-directory prefix the way Appcircle asks for TFS-upgraded
// servers ("tfs/DefaultCollection" = virtual directory "tfs" + collection "DefaultCollection").
// When the server URL already ends with the collection ("https://host/tfs/DefaultCollection"
// plus "DefaultCollection"), the duplicate is dropped. For dev.azure.com an empty collection is
// taken from the first path segment.
//
// Hosts that only look like Services (dev.azure.com.evil.example) and the SSH-only hosts are
// refused: a PAT is never sent to them (docs/azure-devops-protocol.md §2).
//
// Errors are *connections.Error of kind ErrInvalidInput naming the field ("serverUrl" or
// "collection") and the fix.
func NewEndpoint(serverURL, collection string) (Endpoint, error) {
	raw := strings.TrimSpace(serverURL)
	if raw == "" {
		return Endpoint{}, invalid("serverUrl", "the server URL is required, e.g. https://tfs.example.com/tfs")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return Endpoint{}, invalid("serverUrl", "the server URL must be an absolute http or https URL, e.g. https://tfs.example.com/tfs")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return Endpoint{}, invalid("serverUrl", "the server URL must start with http:// or https://, not %s://", u.Scheme)
	}
	if u.User != nil {
		return Endpoint{}, invalid("serverUrl", "the server URL must not carry a user name or password; send the PAT in the pat field")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, invalid("serverUrl", "the server URL must not have a query string or fragment")
	}
	segs, err := pathSegments(u)
	if err != nil {
		return Endpoint{}, invalid("serverUrl", "the server URL path is malformed: %v", err)
	}
	ep := Endpoint{Scheme: scheme, Host: strings.ToLower(u.Host)}
	switch classifyHost(strings.ToLower(u.Hostname())) {
	case hostLookalike:
		return Endpoint{}, invalid("serverUrl", "the host %s only looks like Azure DevOps Services (dev.azure.com, {organization}.visualstudio.com); check the URL for a typo or a phishing link", strings.ToLower(u.Hostname()))
	case hostSSHDevAzure, hostVSSSH:
		return Endpoint{}, invalid("serverUrl", "%s serves git over SSH only; the server URL is https://dev.azure.com/{organization}", strings.ToLower(u.Hostname()))
	case hostBareVS:
		return Endpoint{}, invalid("serverUrl", "the server URL names no organization: https://{organization}.visualstudio.com")
	}

	coll := strings.Trim(strings.TrimSpace(collection), "/")
	var prefix []string
	if coll != "" {
		parts := strings.Split(coll, "/")
		for _, p := range parts {
			if p == "" {
				return Endpoint{}, invalid("collection", "the collection %q has an empty path segment", collection)
			}
		}
		coll = parts[len(parts)-1]
		prefix = parts[:len(parts)-1]
	}

	switch hostKind(ep.Host) {
	case KindServices:
		if isLegacyServicesHost(ep.Host) {
			org := strings.SplitN(ep.Hostname(), ".", 2)[0]
			if len(segs) > 1 || (len(segs) == 1 && !strings.EqualFold(segs[0], "DefaultCollection")) {
				return Endpoint{}, invalid("serverUrl", "a visualstudio.com server URL is https://{organization}.visualstudio.com")
			}
			if coll != "" && !strings.EqualFold(coll, org) && !strings.EqualFold(coll, "DefaultCollection") {
				return Endpoint{}, invalid("collection", "the organization %q does not match the host %s; leave it empty or use %q", coll, ep.Host, org)
			}
			ep.Collection = org
			return ep, nil
		}
		if len(segs) > 1 || len(prefix) > 0 {
			return Endpoint{}, invalid("serverUrl", "a dev.azure.com server URL is https://dev.azure.com/{organization}")
		}
		if len(segs) == 1 {
			if coll != "" && !strings.EqualFold(coll, segs[0]) {
				return Endpoint{}, invalid("collection", "the organization %q does not match the server URL's %q", coll, segs[0])
			}
			coll = segs[0]
		}
		if coll == "" {
			return Endpoint{}, invalid("collection", "the organization is required: https://dev.azure.com/{organization}")
		}
		if err := ValidateCollectionName(coll); err != nil {
			return Endpoint{}, invalid("collection", "%v", err)
		}
		ep.Collection = coll
		return ep, nil
	}

	if coll == "" {
		return Endpoint{}, invalid("collection", "the collection is required, e.g. DefaultCollection")
	}
	// "https://host/tfs/DefaultCollection" + "DefaultCollection" (or + "tfs/DefaultCollection"):
	// the URL already names the collection, and perhaps the prefix too.
	if named := append(append([]string{}, prefix...), coll); hasSuffixFold(segs, named) {
		segs = segs[:len(segs)-len(named)]
	} else if hasSuffixFold(segs, []string{coll}) && len(prefix) == 0 {
		segs = segs[:len(segs)-1]
	}
	if err := ValidateCollectionName(coll); err != nil {
		return Endpoint{}, invalid("collection", "%v", err)
	}
	vd := append(append([]string{}, segs...), prefix...)
	for _, s := range vd {
		if strings.EqualFold(s, "_git") || strings.EqualFold(s, "_apis") {
			return Endpoint{}, invalid("serverUrl", "the server URL contains %q: give the server URL (https://host/tfs) and the collection, or paste the clone URL into the remote URL field", s)
		}
	}
	ep.VirtualDirectory = strings.Join(vd, "/")
	ep.Collection = coll
	return ep, nil
}

// forbiddenNameChars are the characters Azure DevOps refuses in collection, project and
// repository names (learn.microsoft.com/azure/devops/organizations/settings/naming-restrictions).
const forbiddenNameChars = `\/:*?"<>|;#${},+=[]%&'` + "`"

// ValidateCollectionName checks a collection or organization name against Azure DevOps'
// naming restrictions: 1 to 64 characters, none of \ / : * ? " < > | ; # $ { } , + = [ ] % & '
// or control characters, not starting with an underscore, not starting or ending with a period.
// The error says which rule failed.
func ValidateCollectionName(name string) error {
	switch {
	case name == "":
		return errorString("the collection name is empty")
	case len([]rune(name)) > 64:
		return errorString("the collection name is longer than 64 characters")
	case strings.HasPrefix(name, "_"):
		return errorString("the collection name must not start with an underscore")
	case strings.HasPrefix(name, ".") || strings.HasSuffix(name, "."):
		return errorString("the collection name must not start or end with a period")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(forbiddenNameChars, r) {
			return errorString("the collection name " + quote(name) + " contains " + quote(string(r)) + ", which Azure DevOps does not allow")
		}
	}
	return nil
}

// hasSuffixFold reports whether segs ends with suffix, comparing case-insensitively as Azure
// DevOps compares collection and virtual-directory names.
func hasSuffixFold(segs, suffix []string) bool {
	if len(suffix) > len(segs) {
		return false
	}
	tail := segs[len(segs)-len(suffix):]
	for i := range suffix {
		if !strings.EqualFold(tail[i], suffix[i]) {
			return false
		}
	}
	return true
}

type errorString string

func (e errorString) Error() string { return string(e) }

func quote(s string) string { return `"` + s + `"` }

func invalid(field, format string, args ...any) *connections.Error {
	e := connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, format, args...)
	e.Field = field
	return e
}

// escapePath percent-encodes each segment of a slash-separated path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = escapeName(s)
	}
	return strings.Join(segs, "/")
}

// pathSegments returns u's decoded non-empty path segments. An encoded slash inside a segment
// is an error, since no Azure DevOps name may contain one.
func pathSegments(u *url.URL) ([]string, error) {
	raw := u.EscapedPath()
	var out []string
	for _, s := range strings.Split(raw, "/") {
		if s == "" {
			continue
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return nil, err
		}
		if strings.Contains(d, "/") {
			return nil, errorString("an encoded slash (%2F) inside a path segment")
		}
		out = append(out, d)
	}
	return out, nil
}
