package azuredevops

import (
	"encoding/json"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
)

// Wire types: the JSON Azure DevOps sends (REST specification, vsts-rest-api-specs), kept apart
// from the forge-neutral shapes they convert to. Each one decodes tolerantly (wiretypes.go):
// a field of an unexpected JSON type reads as its zero value, an enum as its name whether it
// came as a name or a number, unknown fields are ignored, and a part that is not an object
// where an object was expected reads as empty. Only the frame of a list (a value array of
// objects) is required; an answer without it fails with ErrProtocol.

type wireList[T any] struct {
	Count int `json:"count"`
	Value []T `json:"value"`
}

func (l *wireList[T]) UnmarshalJSON(b []byte) error {
	var w struct {
		Count wireInt           `json:"count"`
		Value []json.RawMessage `json:"value"`
	}
	// A value that is not an array of objects is not a list this client can read.
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if !isObject(b) {
		return errorString("the answer is not a JSON object")
	}
	l.Count, l.Value = int(w.Count), make([]T, len(w.Value))
	for i, raw := range w.Value {
		if !isObject(raw) {
			return errorString("an element of the list's value is not a JSON object")
		}
		if err := json.Unmarshal(raw, &l.Value[i]); err != nil {
			return err
		}
	}
	return nil
}

// wireProject is a TeamProjectReference (core/7.1/core.json). State and Visibility are the
// camelCase names of the enums ("wellFormed", "private"): they arrive as names in the
// projects list and as numbers elsewhere (the vsts/info example sends "state": 1).
type wireProject struct {
	ID          string
	Name        string
	Description string
	URL         string
	State       string
	Visibility  string
}

func (p *wireProject) UnmarshalJSON(b []byte) error {
	var w struct {
		ID          wireText          `json:"id"`
		Name        wireText          `json:"name"`
		Description wireText          `json:"description"`
		URL         wireText          `json:"url"`
		State       projectState      `json:"state"`
		Visibility  projectVisibility `json:"visibility"`
	}
	decodeLenient(b, &w)
	*p = wireProject{ID: string(w.ID), Name: string(w.Name), Description: string(w.Description),
		URL: string(w.URL), State: string(w.State), Visibility: string(w.Visibility)}
	return nil
}

// wireRepository is a GitRepository (git/7.1/git.json).
type wireRepository struct {
	ID            string
	Name          string
	URL           string
	Project       wireProject
	DefaultBranch string
	Size          int64
	RemoteURL     string
	SSHURL        string
	WebURL        string
	IsDisabled    bool
}

func (r *wireRepository) UnmarshalJSON(b []byte) error {
	var w struct {
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
	decodeLenient(b, &w)
	*r = wireRepository{ID: string(w.ID), Name: string(w.Name), URL: string(w.URL), Project: w.Project,
		DefaultBranch: string(w.DefaultBranch), Size: int64(w.Size), RemoteURL: string(w.RemoteURL),
		SSHURL: string(w.SSHURL), WebURL: string(w.WebURL), IsDisabled: bool(w.IsDisabled)}
	return nil
}

// wireRef is a GitRef (git/7.1/git.json).
type wireRef struct {
	Name     string
	ObjectID string
}

func (r *wireRef) UnmarshalJSON(b []byte) error {
	var w struct {
		Name     wireText `json:"name"`
		ObjectID wireText `json:"objectId"`
	}
	decodeLenient(b, &w)
	*r = wireRef{Name: string(w.Name), ObjectID: string(w.ObjectID)}
	return nil
}

// wireIdentity is connectionData's authenticatedUser; Account is properties.Account.$value.
type wireIdentity struct {
	ID                  string
	ProviderDisplayName string
	Account             string
}

func (i *wireIdentity) UnmarshalJSON(b []byte) error {
	var w struct {
		ID                  wireText `json:"id"`
		ProviderDisplayName wireText `json:"providerDisplayName"`
		Properties          struct {
			Account wireValue `json:"Account"`
		} `json:"properties"`
	}
	decodeLenient(b, &w)
	*i = wireIdentity{ID: string(w.ID), ProviderDisplayName: string(w.ProviderDisplayName),
		Account: string(w.Properties.Account.Value)}
	return nil
}

// wireValue is a property bag entry {"$type": ..., "$value": ...}.
type wireValue struct {
	Value wireText `json:"$value"`
}

func (v *wireValue) UnmarshalJSON(b []byte) error {
	var w struct {
		Value wireText `json:"$value"`
	}
	decodeLenient(b, &w)
	v.Value = w.Value
	return nil
}

type wireAccessMapping struct {
	Moniker     string
	AccessPoint string
}

func (m *wireAccessMapping) UnmarshalJSON(b []byte) error {
	var w struct {
		Moniker     wireText `json:"moniker"`
		AccessPoint wireText `json:"accessPoint"`
	}
	decodeLenient(b, &w)
	*m = wireAccessMapping{Moniker: string(w.Moniker), AccessPoint: string(w.AccessPoint)}
	return nil
}

// wireConnectionData is the answer of _apis/connectionData (azure-devops.md §5).
// DeploymentType is "hosted", "onPremises" (read from the name or the DeploymentFlags number),
// "none", "unknown", or an unknown name as sent.
type wireConnectionData struct {
	AuthenticatedUser           wireIdentity
	DeploymentType              string
	DefaultAccessMappingMoniker string
	AccessMappings              []wireAccessMapping
}

func (cd *wireConnectionData) UnmarshalJSON(b []byte) error {
	var w struct {
		AuthenticatedUser   wireIdentity   `json:"authenticatedUser"`
		DeploymentType      deploymentType `json:"deploymentType"`
		LocationServiceData struct {
			DefaultAccessMappingMoniker wireText            `json:"defaultAccessMappingMoniker"`
			AccessMappings              []wireAccessMapping `json:"accessMappings"`
		} `json:"locationServiceData"`
	}
	decodeLenient(b, &w)
	*cd = wireConnectionData{AuthenticatedUser: w.AuthenticatedUser, DeploymentType: string(w.DeploymentType),
		DefaultAccessMappingMoniker: string(w.LocationServiceData.DefaultAccessMappingMoniker),
		AccessMappings:              w.LocationServiceData.AccessMappings}
	return nil
}

// publicURL returns the access point of the default access mapping: the server's configured
// public URL (azure-devops.md §3, §5).
func (cd *wireConnectionData) publicURL() string {
	for _, m := range cd.AccessMappings {
		if m.Moniker == cd.DefaultAccessMappingMoniker {
			return m.AccessPoint
		}
	}
	if len(cd.AccessMappings) > 0 {
		return cd.AccessMappings[0].AccessPoint
	}
	return ""
}

func (p wireProject) toProject() connections.Project {
	return connections.Project{ID: p.ID, Name: p.Name, Description: p.Description, State: p.State, Visibility: p.Visibility}
}

// toRepository converts; an empty repository has no defaultBranch (azure-devops.md §5).
func (r wireRepository) toRepository() connections.Repository {
	return connections.Repository{
		ID:            r.ID,
		Name:          r.Name,
		Project:       connections.ProjectRef{ID: r.Project.ID, Name: r.Project.Name},
		DefaultBranch: strings.TrimPrefix(r.DefaultBranch, "refs/heads/"),
		RemoteURL:     redactURL(r.RemoteURL),
		SSHURL:        r.SSHURL,
		WebURL:        r.WebURL,
		Size:          r.Size,
		IsDisabled:    r.IsDisabled,
		IsEmpty:       r.DefaultBranch == "",
	}
}

func (i wireIdentity) toUser() *connections.User {
	return &connections.User{ID: i.ID, DisplayName: i.ProviderDisplayName, UniqueName: i.Account}
}

// wireVstsInfo is the answer of GET {remoteUrl}/vsts/info (azure-devops.md §2, §5). The
// REST specification's example (git/7.1/httpExamples/repositories/
// GET__git_repositories__remoteurl.json) sends the repository's project with "state": 1 and
// "revision" as numbers, and the repository without defaultBranch, sshUrl or webUrl.
type wireVstsInfo struct {
	ServerURL  string
	Collection wireCollectionRef
	Repository wireRepository
}

func (v *wireVstsInfo) UnmarshalJSON(b []byte) error {
	var w struct {
		ServerURL  wireText          `json:"serverUrl"`
		Collection wireCollectionRef `json:"collection"`
		Repository wireRepository    `json:"repository"`
	}
	decodeLenient(b, &w)
	*v = wireVstsInfo{ServerURL: string(w.ServerURL), Collection: w.Collection, Repository: w.Repository}
	return nil
}

// wireCollectionRef is a TeamProjectCollectionReference (core/7.1/core.json).
type wireCollectionRef struct {
	ID   string
	Name string
}

func (c *wireCollectionRef) UnmarshalJSON(b []byte) error {
	var w struct {
		ID   wireText `json:"id"`
		Name wireText `json:"name"`
	}
	decodeLenient(b, &w)
	*c = wireCollectionRef{ID: string(w.ID), Name: string(w.Name)}
	return nil
}
