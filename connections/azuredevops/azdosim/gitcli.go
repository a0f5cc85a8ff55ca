package azdosim

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// gitConfigPairs is passed to every git process as command-line configuration
// (GIT_CONFIG_COUNT): imported repositories may belong to another user, and upload-pack must
// honour the capabilities the simulator advertises (allow-tip-sha1-in-want, filter).
func gitConfigPairs() [][2]string {
	return [][2]string{
		{"safe.directory", "*"},
		{"uploadpack.allowTipSHA1InWant", "true"},
		{"uploadpack.allowFilter", "true"},
	}
}

// gitEnv is the environment of git processes: the host's environment without GIT_* variables,
// no system or global configuration, plus gitConfigPairs and extra.
func gitEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return append(append(env, gitIsolation()...), extra...)
}

// gitIsolation is the environment that isolates a git process from host configuration.
func gitIsolation() []string {
	pairs := gitConfigPairs()
	env := []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_TERMINAL_PROMPT=0",
		fmt.Sprintf("GIT_CONFIG_COUNT=%d", len(pairs))}
	for i, kv := range pairs {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return env
}

// git runs git with args against the bare repository gitDir and returns its stdout.
func git(gitDir string, stdin []byte, extraEnv []string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"--git-dir", gitDir}, args...)...)
	cmd.Env = gitEnv(extraEnv...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("azdosim: git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// initBare creates an empty bare repository whose HEAD names refs/heads/main.
func initBare(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("azdosim: %w", err)
	}
	cmd := exec.Command("git", "init", "--quiet", "--bare", "--initial-branch=main", dir)
	cmd.Env = gitEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("azdosim: git init %s: %w: %s", dir, err, out)
	}
	return nil
}

// checkBareRepo reports whether dir is a bare git repository.
func checkBareRepo(dir string) error {
	out, err := git(dir, nil, nil, "rev-parse", "--is-bare-repository")
	if err != nil {
		return fmt.Errorf("azdosim: %s is not a git repository: %w", dir, err)
	}
	if strings.TrimSpace(out) != "true" {
		return fmt.Errorf("azdosim: %s is not a bare repository", dir)
	}
	return nil
}

// gitRef is one ref of a bare repository.
type gitRef struct{ Name, ObjectID string }

// listRefs returns the refs of gitDir whose full name starts with prefix ("" = all), sorted
// by name; HEAD is not included.
func listRefs(gitDir, prefix string) ([]gitRef, error) {
	out, err := git(gitDir, nil, nil, "for-each-ref", "--format=%(objectname) %(refname)")
	if err != nil {
		return nil, err
	}
	var refs []gitRef
	for _, line := range strings.Split(out, "\n") {
		sha, name, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, prefix) {
			continue
		}
		refs = append(refs, gitRef{Name: name, ObjectID: sha})
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name < refs[j].Name })
	return refs, nil
}

// hasRefs reports whether gitDir has at least one ref.
func hasRefs(gitDir string) bool {
	refs, err := listRefs(gitDir, "refs/")
	return err == nil && len(refs) > 0
}

// defaultBranch returns the full ref HEAD points at, or "" when HEAD names a branch that
// does not exist (an empty repository).
func defaultBranch(gitDir string) string {
	out, err := git(gitDir, nil, nil, "symbolic-ref", "-q", "HEAD")
	if err != nil {
		return ""
	}
	ref := strings.TrimSpace(out)
	if _, err := git(gitDir, nil, nil, "rev-parse", "-q", "--verify", ref+"^{commit}"); err != nil {
		return ""
	}
	return ref
}

// fixHead imitates Azure DevOps choosing the first pushed branch as default: when HEAD
// names a missing branch but branches exist, HEAD moves to main, master, or the first branch.
func fixHead(gitDir string) {
	if defaultBranch(gitDir) != "" {
		return
	}
	refs, err := listRefs(gitDir, "refs/heads/")
	if err != nil || len(refs) == 0 {
		return
	}
	pick := refs[0].Name
	for _, want := range []string{"refs/heads/master", "refs/heads/main"} {
		for _, r := range refs {
			if r.Name == want {
				pick = want
			}
		}
	}
	_, _ = git(gitDir, nil, nil, "symbolic-ref", "HEAD", pick)
}

// repoSize sums the sizes of the files under gitDir/objects, in bytes (the "size" field of
// a repository, docs/azure-devops-protocol.md §5); 0 for a repository without refs.
func repoSize(gitDir string) int64 {
	if !hasRefs(gitDir) {
		return 0
	}
	var total int64
	_ = filepath.WalkDir(filepath.Join(gitDir, "objects"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	return total
}
