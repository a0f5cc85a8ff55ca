package azuredevops_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
)

// ids is the sorted union of the scope ids of infos.
func ids(infos []azuredevops.ScopeInfo) []string {
	var out []string
	for _, s := range infos {
		out = append(out, s.IDs...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// The catalogue, kind by kind: a Server PAT is asked for Code (read and status) and Project
// (the check reads the project list), not for the OAuth app's six; service hooks and PR
// threads are optional for it. The OAuth sign-in's required scopes are exactly DefaultScopes
// (an Azure DevOps OAuth app must be asked for what it registered), so the two cannot drift.
func TestScopesByKind(t *testing.T) {
	req, opt := azuredevops.ScopesFor(azuredevops.CredentialServerPAT)
	if got, want := ids(req), []string{"vso.code", "vso.code_status", "vso.project"}; !slices.Equal(got, want) {
		t.Errorf("Server PAT required %q, want %q", got, want)
	}
	if got, want := ids(opt), []string{"vso.hooks_write", "vso.serviceendpoint_query", "vso.threads_full"}; !slices.Equal(got, want) {
		t.Errorf("Server PAT optional %q, want %q", got, want)
	}
	if req[0].PATName != "Code → Read & status" || !slices.Equal(req[0].IDs, []string{"vso.code", "vso.code_status"}) {
		t.Errorf("the first required scope is %+v, want Code → Read & status", req[0])
	}
	sreq, sopt := azuredevops.ScopesFor(azuredevops.CredentialServicesPAT)
	if !slices.Equal(ids(sreq), ids(req)) || !slices.Equal(ids(sopt), ids(opt)) {
		t.Errorf("a Services PAT needs %q + %q, a Server PAT %q + %q", ids(sreq), ids(sopt), ids(req), ids(opt))
	}
	oreq, oopt := azuredevops.ScopesFor(azuredevops.CredentialServicesOAuth)
	// Required means the same for every kind: the service cannot do its job without it.
	if !slices.Equal(ids(oreq), ids(req)) {
		t.Errorf("the sign-in's required scopes %q, a PAT's %q", ids(oreq), ids(req))
	}
	also := azuredevops.AlsoAskedFor(azuredevops.CredentialServicesOAuth)
	if got, want := ids(also), []string{"vso.serviceendpoint_query", "vso.threads_full"}; !slices.Equal(got, want) {
		t.Errorf("the sign-in's also-asked scopes %q, want %q", got, want)
	}
	if got, want := ids(append(oreq, also...)), slices.Sorted(slices.Values(azuredevops.DefaultScopes)); !slices.Equal(got, want) {
		t.Errorf("the sign-in's required and also-asked scopes %q, want DefaultScopes %q", got, want)
	}
	if n := len(azuredevops.AlsoAskedFor(azuredevops.CredentialServerPAT)); n != 0 {
		t.Errorf("a PAT has %d also-asked scopes", n)
	}
	if got := ids(oopt); !slices.Equal(got, []string{azuredevops.HooksWriteScope}) {
		t.Errorf("the sign-in's optional scopes %q, want only %s", got, azuredevops.HooksWriteScope)
	}
	if r, o := azuredevops.ScopesFor("nope"); len(r)+len(o) != 0 {
		t.Errorf("an unknown kind gets %d scopes", len(r)+len(o))
	}
}

// Every entry is complete and worded as sentences (the pages show them as they are); every
// scope id is one the project documents (the README's scope table), none invented; the
// results are copies.
func TestScopeCatalogueEntries(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sentence := func(s string) bool {
		return s != "" && strings.ToUpper(s[:1]) == s[:1] && strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "..") && !strings.Contains(s, ".;")
	}
	cat := azuredevops.ScopeCatalogue()
	if len(cat) < 5 {
		t.Fatalf("%d entries", len(cat))
	}
	for _, s := range cat {
		if !strings.Contains(s.PATName, " → ") || len(s.IDs) == 0 || !sentence(s.Purpose) || !sentence(s.WithoutIt) || len(s.Need) == 0 {
			t.Errorf("incomplete entry %+v", s)
		}
		for _, id := range s.IDs {
			if !strings.Contains(string(readme), "`"+id+"`") {
				t.Errorf("%s is not in the README's scope table", id)
			}
			if _, ok := azuredevops.ScopePurposes[id]; !ok && id != azuredevops.HooksWriteScope {
				t.Errorf("%s has no purpose in ScopePurposes", id)
			}
		}
	}
	cat[0].IDs[0], cat[0].Need[azuredevops.CredentialServerPAT] = "changed", azuredevops.ScopeNotAsked
	if again := azuredevops.ScopeCatalogue(); again[0].IDs[0] == "changed" || again[0].Need[azuredevops.CredentialServerPAT] != azuredevops.ScopeRequired {
		t.Fatal("changing a result changed the catalogue")
	}
}
