// Package connections is the forge-neutral contract between the service and its forge drivers
// (Azure DevOps first; GitHub or GitLab would sit beside it): the shapes of users, projects,
// repositories and branches, the Provider interface, and the error categories.
//
// It imports nothing of the web layer, the store or go-git.
package connections

import (
	"context"
	"time"
)

// User is the identity a credential authenticates as.
type User struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	UniqueName  string `json:"uniqueName,omitempty"`
}

// ProjectRef names the project a repository belongs to.
type ProjectRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Project is a project (Azure DevOps) or its equivalent on another forge. State and
// Visibility are the forge's names ("wellFormed", "private" on Azure DevOps; "unknown" for a
// value the driver could not name); empty when the forge sent none.
type Project struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	State       string `json:"state,omitempty"`
	Visibility  string `json:"visibility,omitempty"`
}

// Repository is a git repository a build profile can choose.
//
// DefaultBranch is a short name ("main"), empty for an empty repository. Size is in bytes as
// the forge reports it. RemoteURL is the HTTPS clone URL without user info.
type Repository struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Project       ProjectRef `json:"project"`
	DefaultBranch string     `json:"defaultBranch"`
	RemoteURL     string     `json:"remoteUrl"`
	SSHURL        string     `json:"sshUrl,omitempty"`
	WebURL        string     `json:"webUrl"`
	Size          int64      `json:"size"`
	IsDisabled    bool       `json:"isDisabled"`
	IsEmpty       bool       `json:"isEmpty"`
}

// Branch is a branch head: Name is short ("release/1.0"), Commit the 40-hex object id.
type Branch struct {
	Name   string `json:"name"`
	Commit string `json:"commit"`
}

// CheckStep is one step of a credential diagnosis ("reached the host", "authenticated", ...).
// OK false with a Message says what to fix.
type CheckStep struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
}

// Warning is a non-fatal finding of a check, such as a server public URL that says localhost.
type Warning struct {
	Code    Reason `json:"code"`
	Message string `json:"message"`
}

// CheckResult is the outcome of a token check.
//
// Valid is true when the credential authenticated and the collection answered. On failure
// Reason and Message say why and what to fix. APIVersion is the REST api-version the check used
// (e.g. "6.0"); ServerVersion is the product release when it could be told ("2020", "2022").
type CheckResult struct {
	Valid          bool        `json:"valid"`
	Reason         Reason      `json:"reason,omitempty"`
	Message        string      `json:"message,omitempty"`
	User           *User       `json:"user,omitempty"`
	DeploymentType string      `json:"deploymentType,omitempty"`
	APIVersion     string      `json:"apiVersion,omitempty"`
	ServerVersion  string      `json:"serverVersion,omitempty"`
	Projects       []Project   `json:"projects,omitempty"`
	Warnings       []Warning   `json:"warnings,omitempty"`
	Steps          []CheckStep `json:"steps"`
	CheckedAt      time.Time   `json:"checkedAt"`
}

// Provider is what the service needs of a forge connection. Implementations are bound to one
// endpoint and one credential; all methods are safe for concurrent use.
//
// Errors are *Error values wrapping one of the category sentinels of this package.
type Provider interface {
	// CheckToken diagnoses the credential; a rejected credential is reported in the result
	// (Valid false), not as an error. An error means the check itself could not be made.
	CheckToken(ctx context.Context) (*CheckResult, error)
	// ListProjects returns every project the credential can see, all pages.
	ListProjects(ctx context.Context) ([]Project, error)
	// ListRepositories returns the repositories of one project, or of the whole collection
	// when project is empty.
	ListRepositories(ctx context.Context, project string) ([]Repository, error)
	// GetRepository returns one repository by id.
	GetRepository(ctx context.Context, repositoryID string) (*Repository, error)
	// ListBranches returns the branches of a repository, all pages, sorted by name.
	ListBranches(ctx context.Context, repositoryID string) ([]Branch, error)
}
