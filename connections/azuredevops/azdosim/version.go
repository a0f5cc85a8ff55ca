package azdosim

import (
	"fmt"
	"net/http"
	"strings"
)

// resolveVersion resolves a git version descriptor (versionType branch, tag or commit, and
// version; the default is the repository's default branch) of rp to a commit id. desc names
// the descriptor the way the real errors do ("<Branch: main >"). Errors: 404 TF401175
// GitUnresolvableToCommitException when it names nothing (text as the service words it,
// partly unconfirmed), 400 for an unknown versionType.
func resolveVersion(rp *repo, versionType, version string) (commit, desc string, e *apiError) {
	vt := strings.ToLower(versionType)
	if vt == "" {
		vt = "branch"
	}
	var ref string
	switch vt {
	case "branch":
		if version == "" {
			ref = defaultBranch(rp.barePath)
			version = strings.TrimPrefix(ref, "refs/heads/")
		} else {
			ref = "refs/heads/" + strings.TrimPrefix(version, "refs/heads/")
		}
		desc = "<Branch: " + version + " >"
	case "tag":
		ref = "refs/tags/" + strings.TrimPrefix(version, "refs/tags/")
		desc = "<Tag: " + version + " >"
	case "commit":
		ref = version
		desc = "<Commit: " + version + " >"
	default:
		return "", "", errBadArgument(fmt.Sprintf("The value '%s' of parameter versionType is not valid.", versionType))
	}
	if ref != "" && !strings.HasPrefix(ref, "-") {
		if out, err := git(rp.barePath, nil, nil, "rev-parse", "-q", "--verify", ref+"^{commit}"); err == nil {
			return strings.TrimSpace(out), desc, nil
		}
	}
	return "", desc, newAPIError(http.StatusNotFound, "GitUnresolvableToCommitException",
		"Microsoft.TeamFoundation.Git.Server.GitUnresolvableToCommitException",
		"TF401175: The version descriptor "+desc+" could not be resolved to a version in the repository "+rp.name)
}
