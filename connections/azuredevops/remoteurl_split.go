// The grammar of remote URL paths (remoteurl.go): how the segments split into organization,
// virtual directory, collection, project, team and repository, per host class and scheme.

package azuredevops

import (
	"strings"
	"unicode/utf8"
)

// parseHTTP parses an http(s) URL; s starts with the scheme.
func parseHTTP(s, scheme string, vd *[]string) (*RemoteURL, error) {
	authority, path := splitAuthority(s[len(scheme)+3:])
	host, port, _, err := parseHostPort(authority)
	if err != nil {
		return nil, err
	}
	segs, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	r := &RemoteURL{Scheme: scheme, Host: host, Port: port}
	class := classifyHost(host)
	switch class {
	case hostLookalike:
		return nil, lookalike(host)
	case hostBareVS:
		return nil, reject(ReasonMissingOrg, "the URL names no organization: https://{organization}.visualstudio.com/{project}/_git/{repository}")
	case hostSSHDevAzure, hostVSSSH:
		return nil, reject(ReasonWrongSSHHost, "%s serves git over SSH only; use its SSH URL, or the HTTPS clone URL on dev.azure.com", host)
	}
	gitAt := -1
	for i, seg := range segs {
		switch {
		case strings.EqualFold(seg, "_ssh"):
			return nil, reject(ReasonSSHPathOverHTTP, "/_ssh/ belongs to old SSH URLs; an %s clone URL has /_git/ in its place", scheme)
		case strings.EqualFold(seg, "_git"):
			if gitAt >= 0 {
				return nil, reject(ReasonSecondGit, "the URL has a second /_git/ segment; paste the clone URL as Azure DevOps shows it")
			}
			gitAt = i
		}
	}
	if gitAt < 0 {
		if len(segs) == 0 && class == hostDevAzure {
			return nil, reject(ReasonMissingOrg, "the URL names no organization: https://dev.azure.com/{organization}/{project}/_git/{repository}")
		}
		return nil, reject(ReasonMissingGit, "the URL has no /_git/ segment, so it names no repository; copy the clone URL from the repository's Clone dialog")
	}
	if err := r.setRepository(segs[gitAt+1:]); err != nil {
		return nil, err
	}
	before := segs[:gitAt]
	switch class {
	case hostDevAzure:
		err = r.splitServices(before, "", vd)
	case hostLegacy:
		r.legacyHost = true
		err = r.splitServices(before, strings.TrimSuffix(host, ".visualstudio.com"), vd)
	default:
		err = r.splitServer(before, vd)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// setRepository reads the segments after /_git/ (or /_ssh/): an optional limited-refs marker,
// then exactly the repository name.
func (r *RemoteURL) setRepository(after []string) error {
	if len(after) > 0 && (strings.EqualFold(after[0], "_optimized") || strings.EqualFold(after[0], "_full")) {
		r.RefsMarker = strings.ToLower(after[0])
		after = after[1:]
	}
	switch {
	case len(after) == 0:
		return reject(ReasonMissingRepository, "the URL names no repository after /_git/")
	case len(after) > 1:
		return reject(ReasonPathAfterRepo, "the URL goes on after the repository name (a file, branch or commit page?); use the clone URL, which ends with the repository name")
	}
	if err := checkName("repository", after[0]); err != nil {
		return err
	}
	r.Repository = after[0]
	return nil
}

// splitServices reads the segments before /_git/ of a Services URL. org is the organization
// from a {org}.visualstudio.com host, or "" when the first segment names it (dev.azure.com).
func (r *RemoteURL) splitServices(before []string, org string, vd *[]string) error {
	r.Kind = KindServices
	if vd != nil && len(*vd) > 0 {
		return inField(reject(ReasonVirtualDirMismatch, "Azure DevOps Services has no virtual directory; leave it empty"), "virtualDirectory")
	}
	if org == "" {
		if len(before) == 0 {
			return reject(ReasonMissingOrg, "the URL names no organization: https://dev.azure.com/{organization}/{project}/_git/{repository}")
		}
		org, before = before[0], before[1:]
		if strings.EqualFold(org, "DefaultCollection") {
			return reject(ReasonDefaultCollOrg, "DefaultCollection is not an organization: on dev.azure.com the first segment is the organization, https://dev.azure.com/{organization}/{project}/_git/{repository}")
		}
	} else if len(before) > 0 && strings.EqualFold(before[0], "DefaultCollection") {
		before = before[1:]
	}
	if err := checkOrganization(org); err != nil {
		return err
	}
	r.Organization, r.Collection = org, org
	return r.setProject(before)
}

// setProject takes the project from before: none (the project is named like the
// repository), {project}, or {project}/{team} (a team-scoped web URL, as a browser shows it
// when one comes from a team's page; accepted by Microsoft's SourceLink, AzureDevOpsUrlParser.cs,
// and by git-url-parse): the team is read and dropped, since a repository belongs to the
// project, not to a team.
func (r *RemoteURL) setProject(before []string) error {
	switch len(before) {
	case 0:
		r.Project = r.Repository
		return nil
	case 1, 2:
		for i, what := range []string{"project", "team"}[:len(before)] {
			if err := checkName(what, before[i]); err != nil {
				return err
			}
		}
		r.Project = before[0]
		return nil
	}
	return reject(ReasonExtraSegments, "the URL has %d segments before /_git/ where only the project (and perhaps a team) belong", len(before))
}

// splitServer applies the on-prem rule (see ParseRemoteURL) or the caller's virtual directory.
func (r *RemoteURL) splitServer(before []string, vd *[]string) error {
	r.Kind = KindServer
	n := len(before)
	if n == 0 {
		return reject(ReasonMissingCollection, "the URL names no collection: http(s)://host/[tfs/]{collection}/{project}/_git/{repository}")
	}
	r.path = before
	var vdLen int // the virtual directory is before[:vdLen], the collection before[vdLen]
	if vd != nil {
		given := *vd
		if !hasPrefixFold(before, given) {
			return inField(reject(ReasonVirtualDirMismatch, "the URL's path does not start with the virtual directory %q", strings.Join(given, "/")), "virtualDirectory")
		}
		rest := n - len(given)
		owner := len(given) > 0 && (strings.EqualFold(given[len(given)-1], "DefaultCollection") || indexFold(given[:len(given)-1], "tfs") >= 0)
		switch {
		case rest == 0 && len(given) == 0:
			return reject(ReasonMissingCollection, "the URL names no collection")
		case rest == 0, rest == 1 && owner:
			vdLen = len(given) - 1 // the owner form: the value ends with the collection
		case rest <= 3:
			vdLen = len(given)
		default:
			return inField(reject(ReasonExtraSegments, "after the virtual directory %q the URL has %d segments before /_git/; expected {collection}/{project}[/{team}]", strings.Join(given, "/"), rest), "virtualDirectory")
		}
	} else {
		vdLen, r.Guessed = serverSplit(before)
	}
	r.VirtualDirectory = strings.Join(before[:vdLen], "/")
	r.Collection = before[vdLen]
	if err := checkName("collection", r.Collection); err != nil {
		return err
	}
	return r.setProject(before[vdLen+1:])
}

// serverSplit decides where the virtual directory of an on-prem path ends (before holds the n
// segments before /_git/; the collection is before[vdLen], then the project and perhaps a
// team) and whether that is a guess:
//
//   - one segment is the collection (project = repository), not a guess;
//   - a "tfs" segment followed by one to three segments ({collection}[/{project}[/{team}]])
//     ends the virtual directory (tfs is the virtual directory of every TFS up to 2018 and of
//     servers upgraded from one; docs/azure-devops-protocol.md §2), not a guess; when two tfs segments could
//     each end it (/tfs/x/tfs/P), the one before {collection}/{project} wins, then the one
//     before {collection}, then the one before {collection}/{project}/{team}, as a guess;
//   - otherwise, a guess: the last two segments are collection and project, except when the
//     third from the end is DefaultCollection (the installer's collection name): then the URL
//     is team-scoped, DefaultCollection/{project}/{team}.
func serverSplit(before []string) (vdLen int, guessed bool) {
	n := len(before)
	if n == 1 {
		return 0, false
	}
	found := 0
	for _, i := range []int{n - 3, n - 2, n - 4} { // the tfs segment's place, in order of preference
		if i >= 0 && strings.EqualFold(before[i], "tfs") {
			if found == 0 {
				vdLen = i + 1
			}
			found++
		}
	}
	if found > 0 {
		return vdLen, found > 1
	}
	if n >= 3 && strings.EqualFold(before[n-3], "DefaultCollection") {
		return n - 3, true
	}
	return n - 2, true
}

func indexFold(segs []string, s string) int {
	for i, x := range segs {
		if strings.EqualFold(x, s) {
			return i
		}
	}
	return -1
}

// parseSSH parses an SSH remote. For ssh:// URLs, rest is everything after "ssh://" and path
// is ""; for scp-style, rest is "[user@]host" and path the part after the colon.
func parseSSH(rest, path string, vd *[]string) (*RemoteURL, error) {
	authority := rest
	if path == "" {
		authority, path = splitAuthority(rest)
	} else if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	host, port, user, err := parseHostPort(authority)
	if err != nil {
		return nil, err
	}
	segs, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	r := &RemoteURL{Scheme: "ssh", Host: host, Port: port}
	class := classifyHost(host)
	v3 := len(segs) > 0 && strings.EqualFold(segs[0], "v3")
	marker := -1
	for i, seg := range segs {
		if strings.EqualFold(seg, "_git") || strings.EqualFold(seg, "_ssh") {
			if marker >= 0 {
				return nil, reject(ReasonSecondGit, "the URL has a second /_git/ or /_ssh/ segment")
			}
			marker = i
		}
	}
	switch class {
	case hostLookalike:
		return nil, lookalike(host)
	case hostBareVS:
		return nil, reject(ReasonMissingOrg, "the URL names no organization: {organization}@vs-ssh.visualstudio.com:v3/{organization}/{project}/{repository}")
	case hostDevAzure:
		return nil, reject(ReasonWrongSSHHost, "dev.azure.com does not serve git over SSH; the SSH URL is git@ssh.dev.azure.com:v3/{organization}/{project}/{repository}")
	case hostSSHDevAzure, hostVSSSH, hostLegacy:
		r.legacyHost = class != hostSSHDevAzure
		switch {
		case v3 && class != hostLegacy:
			if err := r.parseV3(segs[1:], vd); err != nil {
				return nil, err
			}
			return r, nil
		case marker >= 0 && strings.EqualFold(segs[marker], "_ssh") && class != hostSSHDevAzure:
			if err := r.setRepository(segs[marker+1:]); err != nil {
				return nil, err
			}
			org := strings.TrimSuffix(host, ".visualstudio.com")
			if class == hostVSSSH {
				if org = user; org == "" {
					return nil, reject(ReasonMissingOrg, "this old SSH URL takes the organization from the user name: ssh://{organization}@vs-ssh.visualstudio.com:22/{project}/_ssh/{repository}")
				}
				if checkOrganization(org) != nil { // user info: never repeated in a message
					return nil, reject(ReasonInvalidOrg, "the user name of this old SSH URL is not an organization name (1 to 50 letters, digits and hyphens): ssh://{organization}@vs-ssh.visualstudio.com:22/{project}/_ssh/{repository}")
				}
			}
			if err := r.splitServices(segs[:marker], org, vd); err != nil {
				return nil, err
			}
			return r, nil
		case class == hostSSHDevAzure:
			return nil, reject(ReasonWrongSSHPath, "ssh.dev.azure.com serves paths of the form v3/{organization}/{project}/{repository}")
		}
		return nil, reject(ReasonWrongSSHPath, "%s serves v3/{organization}/{project}/{repository} or the old {project}/_ssh/{repository} paths", host)
	}
	// Azure DevOps Server over SSH.
	if marker < 0 {
		if v3 {
			return nil, reject(ReasonSSHv3NotCloud, "v3/{organization}/... SSH paths exist only on ssh.dev.azure.com and vs-ssh.visualstudio.com; %s is not Azure DevOps Services, so its SSH URL has /_git/", host)
		}
		return nil, reject(ReasonMissingGit, "the URL has no /_git/ segment, so it names no repository; copy the SSH clone URL from the repository's Clone dialog")
	}
	if err := r.setRepository(segs[marker+1:]); err != nil {
		return nil, err
	}
	if err := r.splitServer(segs[:marker], vd); err != nil {
		return nil, err
	}
	return r, nil
}

// parseV3 reads {org}/{project}[/{team}][/_optimized|_full]/{repo} of an SSH v3 path (the team
// and the marker as SourceLink's AzureDevOpsUrlParser.TryParseHostedSsh reads them; the team is
// dropped); vd as for splitServices.
func (r *RemoteURL) parseV3(segs []string, vd *[]string) error {
	r.Kind = KindServices
	if vd != nil && len(*vd) > 0 {
		return inField(reject(ReasonVirtualDirMismatch, "Azure DevOps Services has no virtual directory; leave it empty"), "virtualDirectory")
	}
	n := len(segs)
	if n >= 4 && (strings.EqualFold(segs[n-2], "_optimized") || strings.EqualFold(segs[n-2], "_full")) {
		r.RefsMarker = strings.ToLower(segs[n-2])
		segs = append(segs[:n-2:n-2], segs[n-1])
	}
	switch len(segs) {
	case 0:
		return reject(ReasonMissingOrg, "the SSH URL names no organization: git@ssh.dev.azure.com:v3/{organization}/{project}/{repository}")
	case 1:
		return reject(ReasonMissingProject, "the SSH URL names no project: git@ssh.dev.azure.com:v3/{organization}/{project}/{repository}")
	case 2:
		return reject(ReasonMissingRepository, "the SSH URL names no repository: git@ssh.dev.azure.com:v3/{organization}/{project}/{repository}")
	case 3, 4:
	default:
		return reject(ReasonPathAfterRepo, "the SSH URL goes on after v3/{organization}/{project}/{repository}")
	}
	if strings.EqualFold(segs[0], "DefaultCollection") {
		return reject(ReasonDefaultCollOrg, "DefaultCollection is not an organization: v3/{organization}/{project}/{repository}")
	}
	if err := checkOrganization(segs[0]); err != nil {
		return err
	}
	repo := segs[len(segs)-1]
	if err := checkName("repository", repo); err != nil {
		return err
	}
	r.Organization, r.Collection, r.Repository = segs[0], segs[0], repo
	return r.setProject(segs[1 : len(segs)-1])
}

// checkOrganization applies Azure DevOps' organization-name rule: 1 to 50 letters, digits and
// hyphens, starting and ending with a letter or digit.
func checkOrganization(org string) error {
	ok := len(org) >= 1 && len(org) <= 50 && org[0] != '-' && org[len(org)-1] != '-'
	for i := 0; ok && i < len(org); i++ {
		c := org[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return reject(ReasonInvalidOrg, "%q is not an organization name: 1 to 50 letters, digits and hyphens, starting and ending with a letter or digit", org)
	}
	return nil
}

// checkName rejects what cannot be the name of a collection, project, team or repository on
// any Azure DevOps version, and nothing more: today's naming rules (no "+", "&", "%", "@", at
// most 64 characters, ...; learn.microsoft.com/azure/devops/organizations/settings/naming-restrictions)
// are the server's to apply, since the same page says the REST API accepts names the UI
// refuses, and older servers and accounts may hold such names. Refused: a backslash (every
// version's rules forbid it; browsers read it as a slash, so the URL names another path), a
// leading underscore (every version keeps those for its routes: _git, _apis, _ssh, _full), and
// more than 256 characters (four times any version's limit; a bound on the input).
func checkName(what, name string) error {
	switch {
	case strings.IndexByte(name, '\\') >= 0:
		return reject(ReasonInvalidName, "the %s name %q has a backslash, which Azure DevOps names cannot contain", what, name)
	case strings.HasPrefix(name, "_"):
		return reject(ReasonInvalidName, "%q cannot be a %s name: names starting with an underscore are Azure DevOps' own routes; paste the clone URL as Azure DevOps shows it", name, what)
	case utf8.RuneCountInString(name) > 256:
		return reject(ReasonInvalidName, "the %s name is longer than 256 characters", what)
	}
	return nil
}

// hasPrefixFold reports whether segs starts with prefix, comparing case-insensitively and
// without the spaces around each segment (a typed virtual directory loses them: " a/b" is
// "a/b").
func hasPrefixFold(segs, prefix []string) bool {
	if len(prefix) > len(segs) {
		return false
	}
	for i := range prefix {
		if !strings.EqualFold(strings.TrimSpace(segs[i]), strings.TrimSpace(prefix[i])) {
			return false
		}
	}
	return true
}
