package azuredevops

import (
	"strings"

	"github.com/repoconnect/repoconnect/connections"
)

// Wire types: the JSON Azure DevOps sends (REST specification, vsts-rest-api-specs), kept apart
// from the forge-neutral shapes they convert to.

type wireList[T any] struct {
	Count int `json:"count"`
	Value []T `json:"value"`
}

type wireProject struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	URL         string `json:"url"`
	State       string `json:"state"`
}

type wireRepository struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	URL           string      `json:"url"`
	Project       wireProject `json:"project"`
	DefaultBranch string      `json:"defaultBranch"`
	Size          int64       `json:"size"`
	RemoteURL     string      `json:"remoteUrl"`
	SSHURL        string      `json:"sshUrl"`
	WebURL        string      `json:"webUrl"`
	IsDisabled    bool        `json:"isDisabled"`
}

type wireRef struct {
	Name     string `json:"name"`
	ObjectID string `json:"objectId"`
}

type wireIdentity struct {
	ID                  string `json:"id"`
	ProviderDisplayName string `json:"providerDisplayName"`
	Properties          struct {
		Account struct {
			Value string `json:"$value"`
		} `json:"Account"`
	} `json:"properties"`
}

type wireConnectionData struct {
	AuthenticatedUser   wireIdentity `json:"authenticatedUser"`
	DeploymentType      string       `json:"deploymentType"`
	LocationServiceData struct {
		DefaultAccessMappingMoniker string `json:"defaultAccessMappingMoniker"`
		AccessMappings              []struct {
			Moniker     string `json:"moniker"`
			AccessPoint string `json:"accessPoint"`
		} `json:"accessMappings"`
	} `json:"locationServiceData"`
}

// publicURL returns the access point of the default access mapping: the server's configured
// public URL (azure-devops.md §3, §5).
func (cd *wireConnectionData) publicURL() string {
	l := cd.LocationServiceData
	for _, m := range l.AccessMappings {
		if m.Moniker == l.DefaultAccessMappingMoniker {
			return m.AccessPoint
		}
	}
	if len(l.AccessMappings) > 0 {
		return l.AccessMappings[0].AccessPoint
	}
	return ""
}

func (p wireProject) toProject() connections.Project {
	return connections.Project{ID: p.ID, Name: p.Name, Description: p.Description, State: p.State}
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
	return &connections.User{ID: i.ID, DisplayName: i.ProviderDisplayName, UniqueName: i.Properties.Account.Value}
}

// wireVstsInfo is the answer of GET {remoteUrl}/vsts/info (azure-devops.md §2, §5).
type wireVstsInfo struct {
	ServerURL  string `json:"serverUrl"`
	Collection struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"collection"`
	Repository wireRepository `json:"repository"`
}
