//go:build e2e

package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestSkeleton is the walking skeleton from the command line: `repoconnect check-token`
// accepts a valid PAT of an Azure DevOps Server (the simulator, under a /tfs/ virtual
// directory), refuses a wrong one (invalid_token) and a missing collection
// (collection_not_found), and `repoconnect clone` of a real repository through the /tfs/ URL
// gives the source's tree, which git fsck accepts. The PAT appears in no output.
func TestSkeleton(t *testing.T) {
	w := t.TempDir()
	importDir := filepath.Join(w, "import")
	source := filepath.Join(importDir, "MOBILE_IOS", "wallet.git")
	realRepo(t, source)
	pat := newPAT(t)
	sim, base := startSimulator(t, w, importDir, pat)

	check := func(pat, collection string) (map[string]any, string, int) {
		out, code := runCmd(t, loopbackEnv("AZURE_DEVOPS_PAT="+pat), bin.repoconnect, "check-token", "--json",
			"--server-url", base, "--collection", collection)
		var res map[string]any
		if start := jsonStart(out); start >= 0 {
			_ = json.NewDecoder(strings.NewReader(out[start:])).Decode(&res)
		}
		return res, out, code
	}
	valid, validOut, code := check(pat, "DefaultCollection")
	if code != 0 || valid["valid"] != true {
		t.Fatalf("check-token with a valid PAT: exit %d, want 0 and valid:\n%s", code, tail(validOut, 10))
	}
	wrong, wrongOut, code := check("wrong"+pat, "DefaultCollection")
	if code == 0 || wrong["valid"] != false || wrong["reason"] != "invalid_token" {
		t.Errorf("check-token with a wrong PAT: exit %d, want non-zero and reason invalid_token:\n%s", code, tail(wrongOut, 10))
	}
	missing, missingOut, code := check(pat, "NoSuchCollection")
	if code == 0 || missing["valid"] != false || missing["reason"] != "collection_not_found" {
		t.Errorf("check-token for a missing collection: exit %d, want non-zero and reason collection_not_found:\n%s", code, tail(missingOut, 10))
	}

	clone := filepath.Join(w, "clone")
	cloneOut, code := runCmd(t, loopbackEnv("AZURE_DEVOPS_PAT="+pat), bin.repoconnect, "clone",
		base+"/DefaultCollection/MOBILE_IOS/_git/wallet", "--dir", clone)
	if code != 0 {
		t.Fatalf("repoconnect clone: exit %d:\n%s", code, tail(cloneOut, 10))
	}
	want := git(t, "-C", source, "rev-parse", "main^{tree}")
	if got := git(t, "-C", clone, "rev-parse", "HEAD^{tree}"); got != want {
		t.Errorf("cloned tree %s differs from the source's %s", got, want)
	}
	git(t, "-C", clone, "fsck", "--no-progress")
	if st := git(t, "-C", clone, "status", "--porcelain"); st != "" {
		t.Errorf("git status of the clone is not clean:\n%s", st)
	}

	simOut, _ := sim.out.snapshot()
	assertNoSecret(t, pat, map[string]string{"check-token (valid)": validOut, "check-token (wrong PAT)": wrongOut,
		"check-token (missing collection)": missingOut, "clone": cloneOut, "azdosim": simOut})
	// git's own configuration in the clone must not keep the PAT either.
	assertNoSecret(t, pat, nil, filepath.Join(clone, ".git", "config"))
	t.Logf("skeleton: check-token valid/invalid_token/collection_not_found; clone tree %s equals the source", want)
}

// jsonStart returns the index of the first line of s that opens a JSON object, or -1: the
// commands print their JSON on stdout, and a log line may precede it on stderr.
func jsonStart(s string) int {
	for i := 0; i < len(s); {
		if s[i] == '{' {
			return i
		}
		j := i
		for j < len(s) && s[j] != '\n' {
			j++
		}
		i = j + 1
	}
	return -1
}
