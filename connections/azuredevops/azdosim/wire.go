package azdosim

import "time"

// The JSON shapes of the answers. They are the simulator's own, independent of the project's
// client, so that a disagreement between the two shows up in tests.

type listJSON struct {
	Count int `json:"count"`
	Value any `json:"value"`
}

type projectJSON struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Description    string    `json:"description,omitempty"`
	URL            string    `json:"url"`
	State          string    `json:"state"`
	Revision       int       `json:"revision"`
	Visibility     string    `json:"visibility"`
	LastUpdateTime time.Time `json:"lastUpdateTime"`
	Links          linksJSON `json:"_links,omitempty"`
}

type linkJSON struct {
	Href string `json:"href"`
}

type linksJSON map[string]linkJSON

type repoJSON struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	URL             string      `json:"url"`
	Project         projectJSON `json:"project"`
	DefaultBranch   string      `json:"defaultBranch,omitempty"`
	Size            int64       `json:"size"`
	RemoteURL       string      `json:"remoteUrl"`
	SSHURL          string      `json:"sshUrl"`
	WebURL          string      `json:"webUrl"`
	IsDisabled      bool        `json:"isDisabled"`
	IsInMaintenance bool        `json:"isInMaintenance"`
	Links           linksJSON   `json:"_links,omitempty"`
}

type identityRefJSON struct {
	DisplayName string `json:"displayName"`
	ID          string `json:"id"`
	UniqueName  string `json:"uniqueName,omitempty"`
}

type refJSON struct {
	Name     string          `json:"name"`
	ObjectID string          `json:"objectId"`
	Creator  identityRefJSON `json:"creator"`
	URL      string          `json:"url"`
}

type typedValueJSON struct {
	Type  string `json:"$type"`
	Value string `json:"$value"`
}

type userJSON struct {
	ID                  string                    `json:"id"`
	Descriptor          string                    `json:"descriptor"`
	SubjectDescriptor   string                    `json:"subjectDescriptor"`
	ProviderDisplayName string                    `json:"providerDisplayName"`
	IsActive            bool                      `json:"isActive"`
	Properties          map[string]typedValueJSON `json:"properties"`
	ResourceVersion     int                       `json:"resourceVersion"`
	MetaTypeID          int                       `json:"metaTypeId"`
}

type accessMappingJSON struct {
	DisplayName      string `json:"displayName"`
	Moniker          string `json:"moniker"`
	AccessPoint      string `json:"accessPoint"`
	ServiceOwner     string `json:"serviceOwner"`
	VirtualDirectory string `json:"virtualDirectory"`
}

type locationDataJSON struct {
	ServiceOwner                string              `json:"serviceOwner"`
	DefaultAccessMappingMoniker string              `json:"defaultAccessMappingMoniker"`
	LastChangeID                int                 `json:"lastChangeId"`
	LastChangeID64              int64               `json:"lastChangeId64"`
	AccessMappings              []accessMappingJSON `json:"accessMappings"`
}

type connectionDataJSON struct {
	AuthenticatedUser   userJSON         `json:"authenticatedUser"`
	AuthorizedUser      userJSON         `json:"authorizedUser"`
	InstanceID          string           `json:"instanceId"`
	DeploymentID        string           `json:"deploymentId"`
	DeploymentType      string           `json:"deploymentType"`
	LocationServiceData locationDataJSON `json:"locationServiceData"`
}

type collectionRefJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}
