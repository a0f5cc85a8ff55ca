package azdosim

import (
	"errors"
	"net/url"
	"strings"
)

// maxSSHCommand bounds the exec request's command (a path of a few segments of at most a few
// hundred bytes each, quoted).
const maxSSHCommand = 4096

// errSSHCommand is a malformed or unsupported exec command.
var errSSHCommand = errors.New("unsupported command")

// parseSSHCommand splits the command of an exec request as git sends it,
// "git-upload-pack '/v3/org/project/repo'", into the program and its one argument. The
// argument is a POSIX shell word: single-quoted parts, backslash escapes outside quotes (git
// quotes a quote or an exclamation mark inside the path by closing the quotes, escaping it with
// a backslash and opening them again) and plain characters; more than one word, control
// characters, double quotes or other shell syntax are refused. Nothing is passed to a shell.
func parseSSHCommand(cmd string) (program, arg string, err error) {
	if len(cmd) > maxSSHCommand {
		return "", "", errSSHCommand
	}
	for _, r := range cmd {
		if r < 0x20 || r == 0x7f {
			return "", "", errSSHCommand
		}
	}
	program, rest, ok := strings.Cut(strings.TrimSpace(cmd), " ")
	if !ok {
		return "", "", errSSHCommand
	}
	rest = strings.TrimLeft(rest, " ")
	var b strings.Builder
	for i := 0; i < len(rest); {
		switch c := rest[i]; c {
		case '\'':
			end := strings.IndexByte(rest[i+1:], '\'')
			if end < 0 {
				return "", "", errSSHCommand
			}
			b.WriteString(rest[i+1 : i+1+end])
			i += end + 2
		case '\\':
			if i+1 >= len(rest) {
				return "", "", errSSHCommand
			}
			b.WriteByte(rest[i+1])
			i += 2
		case ' ':
			if strings.TrimRight(rest[i:], " ") != "" {
				return "", "", errSSHCommand
			}
			i = len(rest)
		case '"', '$', '`', ';', '&', '|', '<', '>', '(', ')', '*', '?', '[', '~', '#', '{', '}':
			return "", "", errSSHCommand
		default:
			b.WriteByte(c)
			i++
		}
	}
	if b.Len() == 0 {
		return "", "", errSSHCommand
	}
	return program, b.String(), nil
}

// sshRepoPath is a repository named by an SSH path: the collection (organization), the
// project ("" for the short form where the project is named like the repository) and the
// repository.
type sshRepoPath struct{ coll, project, repo string }

// parseSSHPath maps the path of an exec request to a repository (docs/azure-devops-protocol.md
// §2). loginUser is the SSH user name. Segments are percent-decoded (Azure DevOps' sshUrl
// encodes a space as %20; raw spaces work too). Shapes:
//
// Services:
//   - v3/{org}/{project}/{repo}, also with a team segment and the limited-refs markers
//     _full or _optimized before the repository (user git, ssh.dev.azure.com);
//   - [DefaultCollection/]{project}/[{team}/]_ssh/[_full/|_optimized/]{repo} with the
//     organization as the user name (the older {org}@vs-ssh.visualstudio.com form), or
//     [DefaultCollection/]_ssh/{repo}.
//
// Server: [{virtual dir}/]{collection}/[{project}/[{team}/]]_git|_ssh/[_full/|_optimized/]{repo}
// (the virtual directory is required when configured, matched case-insensitively).
func (s *Server) parseSSHPath(loginUser, raw string) (sshRepoPath, bool) {
	var segs []string
	for _, seg := range strings.Split(raw, "/") {
		if seg == "" {
			continue
		}
		dec, err := url.PathUnescape(seg)
		if err != nil || dec == "" || strings.Contains(dec, "/") {
			return sshRepoPath{}, false
		}
		segs = append(segs, dec)
	}
	if len(segs) == 0 {
		return sshRepoPath{}, false
	}
	if s.opts.Services {
		if strings.EqualFold(segs[0], "v3") {
			return v3Path(segs[1:])
		}
		if loginUser == "" || strings.Contains(loginUser, "/") {
			return sshRepoPath{}, false
		}
		return markerPath(append([]string{loginUser}, segs...), "_ssh", true)
	}
	segs, ok := s.stripVirtualDir(segs)
	if !ok {
		return sshRepoPath{}, false
	}
	if p, ok := markerPath(segs, "_git", false); ok {
		return p, true
	}
	return markerPath(segs, "_ssh", false)
}

// v3Path reads {org}/{project}/[{team}/][_full|_optimized/]{repo}.
func v3Path(segs []string) (sshRepoPath, bool) {
	if n := len(segs); n >= 4 && isRefsMarker(segs[n-2]) {
		segs = append(segs[:n-2:n-2], segs[n-1])
	}
	if len(segs) != 3 && len(segs) != 4 {
		return sshRepoPath{}, false
	}
	for _, seg := range segs {
		if strings.HasPrefix(seg, "_") {
			return sshRepoPath{}, false
		}
	}
	return sshRepoPath{coll: segs[0], project: segs[1], repo: segs[len(segs)-1]}, true
}

// markerPath reads {coll}/[{project}/[{team}/]]{marker}/[_full|_optimized/]{repo}. With
// legacy (the vs-ssh form, segs[0] being the organization from the user name) a
// DefaultCollection segment after the organization is dropped.
func markerPath(segs []string, marker string, legacy bool) (sshRepoPath, bool) {
	i := -1
	for j, seg := range segs {
		if seg == marker {
			i = j
			break
		}
	}
	if i < 1 {
		return sshRepoPath{}, false
	}
	before, after := segs[:i], segs[i+1:]
	if len(after) == 2 && isRefsMarker(after[0]) {
		after = after[1:]
	}
	if len(after) != 1 || strings.HasPrefix(after[0], "_") {
		return sshRepoPath{}, false
	}
	if legacy && len(before) >= 2 && strings.EqualFold(before[1], "DefaultCollection") {
		before = append(before[:1:1], before[2:]...)
	}
	for _, seg := range before {
		if strings.HasPrefix(seg, "_") {
			return sshRepoPath{}, false
		}
	}
	switch len(before) {
	case 1:
		return sshRepoPath{coll: before[0], repo: after[0]}, true
	case 2, 3:
		return sshRepoPath{coll: before[0], project: before[1], repo: after[0]}, true
	}
	return sshRepoPath{}, false
}

func isRefsMarker(seg string) bool { return seg == "_full" || seg == "_optimized" }
