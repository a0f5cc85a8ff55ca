package azuredevops

import "slices"

// The scope catalogue: for each permission a connection may hold, its name on the Azure
// DevOps "New personal access token" page, its scope ids, what repoconnect uses it for, what
// stops working without it, and for which kind of connection it is required or optional.
// Sources: docs/azure-devops-protocol.md §6 (scope table) and the README's scope table
// ("OAuth connections"). DefaultScopes and ScopePurposes (oauth.go) stay the OAuth app's set;
// the catalogue says the same of them and adds what a PAT needs, kind by kind.

// CredentialKind is the kind of credential a connection holds. Its values are the connection
// types of the API (services.TypeServerPAT and so on).
type CredentialKind string

// The credential kinds of the catalogue.
const (
	// CredentialServerPAT is a PAT of Azure DevOps Server (on-premises).
	CredentialServerPAT CredentialKind = "server-pat"
	// CredentialServicesPAT is a PAT of Azure DevOps Services (dev.azure.com).
	CredentialServicesPAT CredentialKind = "services-pat"
	// CredentialServicesOAuth is a sign-in with Azure DevOps (an OAuth app) on Services.
	CredentialServicesOAuth CredentialKind = "services-oauth"
)

// ScopeNeed says how much a kind of connection needs a scope.
type ScopeNeed int

// The needs of a scope for one kind of connection.
const (
	// ScopeNotAsked: the kind does not use the scope.
	ScopeNotAsked ScopeNeed = iota
	// ScopeRequired: the service cannot do its job without it: the connection's check
	// fails, or nothing can be listed or cloned. The same meaning for every kind.
	ScopeRequired
	// ScopeOptional: the connection works without it; one feature is missing (WithoutIt).
	// For an OAuth sign-in: asked for only when the operator's app registered it.
	ScopeOptional
	// ScopeAlsoAsked: an OAuth sign-in always asks for it (it is in DefaultScopes: an Azure
	// DevOps OAuth app must be asked for exactly the scopes it registered), though the
	// connection works without it; one feature uses it (Purpose). Pages list it under "Also
	// asked for". Only CredentialServicesOAuth has scopes of this need.
	ScopeAlsoAsked
)

// ScopeInfo is one permission of the catalogue.
type ScopeInfo struct {
	// PATName is the permission as the Azure DevOps PAT page names it, area → level, e.g.
	// "Code → Read & status".
	PATName string
	// IDs are the OAuth scope ids the permission stands for, e.g. vso.code, vso.code_status.
	IDs []string
	// Purpose says what repoconnect uses it for: a sentence.
	Purpose string
	// WithoutIt says what stops working when a credential lacks it: a sentence.
	WithoutIt string
	// Need is how much each kind of connection needs it; a kind not listed does not ask.
	Need map[CredentialKind]ScopeNeed
}

// scopeCatalogue is the catalogue in the order the pages list it.
var scopeCatalogue = []ScopeInfo{
	{
		PATName:   "Code → Read & status",
		IDs:       []string{"vso.code", "vso.code_status"},
		Purpose:   "Lists repositories and branches, clones them, and posts a build status on the pushed commit and on the pull request.",
		WithoutIt: "Nothing can be listed or cloned, and no build status is posted.",
		Need:      map[CredentialKind]ScopeNeed{CredentialServerPAT: ScopeRequired, CredentialServicesPAT: ScopeRequired, CredentialServicesOAuth: ScopeRequired},
	},
	{
		PATName:   "Project and Team → Read",
		IDs:       []string{"vso.project"},
		Purpose:   "Lists the projects; the token check reads this list.",
		WithoutIt: "The token check fails, and no project is listed.",
		Need:      map[CredentialKind]ScopeNeed{CredentialServerPAT: ScopeRequired, CredentialServicesPAT: ScopeRequired, CredentialServicesOAuth: ScopeRequired},
	},
	{
		PATName:   "Service hooks → Read & write",
		IDs:       []string{HooksWriteScope},
		Purpose:   "Creates the Web Hooks subscription that starts a run on a push or a pull request.",
		WithoutIt: "The hook must be set up by hand in the project's settings; the build profile's page gives the values.",
		Need:      map[CredentialKind]ScopeNeed{CredentialServerPAT: ScopeOptional, CredentialServicesPAT: ScopeOptional, CredentialServicesOAuth: ScopeOptional},
	},
	{
		PATName:   "Pull request threads → Read & write",
		IDs:       []string{"vso.threads_full"},
		Purpose:   "Keeps one comment thread per pull request and build profile, updated on every run.",
		WithoutIt: "No comment is posted on pull requests; statuses still are.",
		Need:      map[CredentialKind]ScopeNeed{CredentialServerPAT: ScopeOptional, CredentialServicesPAT: ScopeOptional, CredentialServicesOAuth: ScopeAlsoAsked},
	},
	{
		PATName:   "Service Endpoints → Read & query",
		IDs:       []string{"vso.serviceendpoint_query"},
		Purpose:   "Lists a project's service connections, and checks those a build profile names.",
		WithoutIt: "A build profile cannot list or check the project's service connections.",
		Need:      map[CredentialKind]ScopeNeed{CredentialServerPAT: ScopeOptional, CredentialServicesPAT: ScopeOptional, CredentialServicesOAuth: ScopeAlsoAsked},
	},
}

// ScopeCatalogue returns every permission of the catalogue, in the order pages list them. The
// result is a copy: changing it changes nothing here.
func ScopeCatalogue() []ScopeInfo {
	out := make([]ScopeInfo, len(scopeCatalogue))
	for i, s := range scopeCatalogue {
		out[i] = s.clone()
	}
	return out
}

// ScopesFor returns the permissions a kind of connection needs (required) and those it may
// add (optional), each in catalogue order. An OAuth sign-in's scopes that it asks for
// without needing them are in neither: see AlsoAskedFor. An unknown kind gets none. The
// results are copies.
func ScopesFor(kind CredentialKind) (required, optional []ScopeInfo) {
	for _, s := range scopeCatalogue {
		switch s.Need[kind] {
		case ScopeRequired:
			required = append(required, s.clone())
		case ScopeOptional:
			optional = append(optional, s.clone())
		}
	}
	return required, optional
}

// AlsoAskedFor returns the permissions an OAuth sign-in of kind asks for (DefaultScopes)
// though the connection works without them, in catalogue order; none for a PAT kind. The
// required scopes of ScopesFor plus these are DefaultScopes. The results are copies.
func AlsoAskedFor(kind CredentialKind) []ScopeInfo {
	var out []ScopeInfo
	for _, s := range scopeCatalogue {
		if s.Need[kind] == ScopeAlsoAsked {
			out = append(out, s.clone())
		}
	}
	return out
}

func (s ScopeInfo) clone() ScopeInfo {
	s.IDs = slices.Clone(s.IDs)
	need := make(map[CredentialKind]ScopeNeed, len(s.Need))
	for k, v := range s.Need {
		need[k] = v
	}
	s.Need = need
	return s
}
