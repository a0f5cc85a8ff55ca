package azuredevops

import (
	"encoding/json"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
)

// Wire types: the JSON Azure DevOps sends (REST specification, vsts-rest-api-specs), kept apart
// from the forge-neutral shapes they convert to. Their fields are the tolerant types of
// wiretypes.go and they are read with decodeWire (or lenient, for an answer): a field of an
// unexpected JSON type reads as its zero value, an enum as its name whether it came as a name
// or a number, unknown fields are ignored, and a part that is not an object where an object
// was expected reads as empty. Only the frame of a list (a value array of objects) is
// required; an answer without it fails with ErrProtocol.

// wireList is a list answer {"count": n, "value": [...]}.
type wireList[T any] struct {
	Count int
	Value []T
}

// UnmarshalJSON requires the frame: b is a JSON object whose value, when present, is an array
// of objects; each object is read with decodeWire. Its errors are never a
// *json.UnmarshalTypeError, so decodeWire does not pass over them.
func (l *wireList[T]) UnmarshalJSON(b []byte) error {
	var frame struct {
		Count wireInt           `json:"count"`
		Value []json.RawMessage `json:"value"`
	}
	if !isObject(b) {
		return errorString("the answer is not a JSON object")
	}
	if json.Unmarshal(b, &frame) != nil {
		return errorString("the list's value is not an array")
	}
	l.Count, l.Value = int(frame.Count), make([]T, len(frame.Value))
	for i, raw := range frame.Value {
		if !isObject(raw) {
			return errorString("an element of the list's value is not a JSON object")
		}
		if err := decodeWire(raw, &l.Value[i]); err != nil {
			return err
		}
	}
	return nil
}

// wireProject is a TeamProjectReference (core/7.1/core.json). State and Visibility are the
// camelCase names of the enums ("wellFormed", "private"): they arrive as names in the
// projects list and as numbers elsewhere (the vsts/info example sends "state": 1).
type wireProject struct {
	ID          wireText          `json:"id"`
	Name        wireText          `json:"name"`
	Description wireText          `json:"description"`
	URL         wireText          `json:"url"`
	State       projectState      `json:"state"`
	Visibility  projectVisibility `json:"visibility"`
}

// wireRepository is a GitRepository (git/7.1/git.json).
type wireRepository struct {
	ID            wireText    `json:"id"`
	Name          wireText    `json:"name"`
	URL           wireText    `json:"url"`
	Project       wireProject `json:"project"`
	DefaultBranch wireText    `json:"defaultBranch"`
	Size          wireInt     `json:"size"`
	RemoteURL     wireText    `json:"remoteUrl"`
	SSHURL        wireText    `json:"sshUrl"`
	WebURL        wireText    `json:"webUrl"`
	IsDisabled    wireBool    `json:"isDisabled"`
}

// wireRef is a GitRef (git/7.1/git.json).
type wireRef struct {
	Name     wireText `json:"name"`
	ObjectID wireText `json:"objectId"`
}

// wireIdentity is connectionData's authenticatedUser; the account is properties.Account.$value.
type wireIdentity struct {
	ID                  wireText `json:"id"`
	ProviderDisplayName wireText `json:"providerDisplayName"`
	Properties          struct {
		Account wireValue `json:"Account"`
	} `json:"properties"`
}

// wireValue is a property bag entry {"$type": ..., "$value": ...}.
type wireValue struct {
	Value wireText `json:"$value"`
}

// wireAccessMapping is an AccessMapping of connectionData's locationServiceData.
type wireAccessMapping struct {
	Moniker     wireText `json:"moniker"`
	AccessPoint wireText `json:"accessPoint"`
}

// wireConnectionData is the answer of _apis/connectionData (docs/azure-devops-protocol.md §5).
// DeploymentType is "hosted", "onPremises" (read from the name or the DeploymentFlags number),
// "none", "unknown", or an unknown name as sent.
type wireConnectionData struct {
	AuthenticatedUser   wireIdentity   `json:"authenticatedUser"`
	DeploymentType      deploymentType `json:"deploymentType"`
	LocationServiceData struct {
		DefaultAccessMappingMoniker wireText            `json:"defaultAccessMappingMoniker"`
		AccessMappings              []wireAccessMapping `json:"accessMappings"`
	} `json:"locationServiceData"`
}

// publicURL returns the access point of the default access mapping: the server's configured
// public URL (docs/azure-devops-protocol.md §3, §5).
func (cd *wireConnectionData) publicURL() string {
	loc := cd.LocationServiceData
	for _, m := range loc.AccessMappings {
		if m.Moniker == loc.DefaultAccessMappingMoniker {
			return string(m.AccessPoint)
		}
	}
	if len(loc.AccessMappings) > 0 {
		return string(loc.AccessMappings[0].AccessPoint)
	}
	return ""
}

func (p wireProject) toProject() connections.Project {
	return connections.Project{ID: string(p.ID), Name: string(p.Name), Description: string(p.Description),
		State: string(p.State), Visibility: string(p.Visibility)}
}

// toRepository converts; an empty repository has no defaultBranch (docs/azure-devops-protocol.md §5).
func (r wireRepository) toRepository() connections.Repository {
	return connections.Repository{
		ID:            string(r.ID),
		Name:          string(r.Name),
		Project:       connections.ProjectRef{ID: string(r.Project.ID), Name: string(r.Project.Name)},
		DefaultBranch: strings.TrimPrefix(string(r.DefaultBranch), "refs/heads/"),
		RemoteURL:     redactURL(string(r.RemoteURL)),
		SSHURL:        string(r.SSHURL),
		WebURL:        string(r.WebURL),
		Size:          int64(r.Size),
		IsDisabled:    bool(r.IsDisabled),
		IsEmpty:       r.DefaultBranch == "",
	}
}

func (i wireIdentity) toUser() *connections.User {
	return &connections.User{ID: string(i.ID), DisplayName: string(i.ProviderDisplayName),
		UniqueName: string(i.Properties.Account.Value)}
}

// wireVstsInfo is the answer of GET {remoteUrl}/vsts/info (docs/azure-devops-protocol.md §2, §5). The
// REST specification's example (git/7.1/httpExamples/repositories/
// GET__git_repositories__remoteurl.json) sends the repository's project with "state": 1 and
// "revision" as numbers, and the repository without defaultBranch, sshUrl or webUrl.
type wireVstsInfo struct {
	ServerURL  wireText          `json:"serverUrl"`
	Collection wireCollectionRef `json:"collection"`
	Repository wireRepository    `json:"repository"`
}

// wireCollectionRef is a TeamProjectCollectionReference (core/7.1/core.json).
type wireCollectionRef struct {
	ID   wireText `json:"id"`
	Name wireText `json:"name"`
}
