package azdosim

// vstsInfoAnswer is the body of GET {remoteUrl}/vsts/info in the shape of the REST
// specification's example (MicrosoftDocs/vsts-rest-api-specs,
// specification/git/7.1/httpExamples/repositories/GET__git_repositories__remoteurl.json, and the
// same in azure-devops-server-7.1/…remoteurl-onprem.json): the collection reference, and the
// repository with its id, name, url, remoteUrl and a project reference whose state is the
// ProjectState number (1, WellFormed) rather than the name the projects list sends, and whose
// revision is a number. The example has no defaultBranch, sshUrl, webUrl, size or isDisabled.
type vstsInfoAnswer struct {
	ServerURL  string            `json:"serverUrl"`
	Collection collectionRefJSON `json:"collection"`
	Repository vstsInfoRepo      `json:"repository"`
}

type vstsInfoRepo struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	URL       string          `json:"url"`
	Project   vstsInfoProject `json:"project"`
	RemoteURL string          `json:"remoteUrl"`
}

type vstsInfoProject struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	URL      string `json:"url"`
	State    int    `json:"state"`
	Revision int    `json:"revision"`
}

// projectStateWellFormed is ProjectState.WellFormed as a number
// (learn.microsoft.com/dotnet/api/microsoft.teamfoundation.core.webapi.projectstate).
const projectStateWellFormed = 1

// vstsInfoView builds the answer for repository r of collection c, with URLs on u.
func vstsInfoView(u urlSet, c *collection, r *repo) vstsInfoAnswer {
	return vstsInfoAnswer{
		ServerURL:  u.base,
		Collection: collectionRefJSON{ID: c.id, Name: c.name, URL: u.base + "/_apis/projectCollections/" + c.id},
		Repository: vstsInfoRepo{
			ID:   r.id,
			Name: r.name,
			URL:  u.collection(c.name) + "/_apis/git/repositories/" + r.id,
			Project: vstsInfoProject{ID: r.proj.id, Name: r.proj.name, URL: u.project(c.name, r.proj.id),
				State: projectStateWellFormed, Revision: r.proj.revision},
			RemoteURL: u.remote(c.name, r.proj.name, r.name),
		},
	}
}
