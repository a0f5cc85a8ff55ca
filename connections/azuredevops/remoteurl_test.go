package azuredevops

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
)

// remoteURLJSON is the object RemoteURL.MarshalJSON must write, field for field and in order.
type remoteURLJSON struct {
	Kind             string `json:"kind"`
	Scheme           string `json:"scheme"`
	Host             string `json:"host"`
	Port             string `json:"port"`
	VirtualDirectory string `json:"virtualDirectory"`
	Organization     string `json:"organization"`
	Collection       string `json:"collection"`
	Project          string `json:"project"`
	Repository       string `json:"repository"`
	Guessed          bool   `json:"guessed"`
	CollectionURL    string `json:"collectionUrl"`
	CloneURL         string `json:"cloneUrl"`
	WebURL           string `json:"webUrl"`
}

// wantJSON builds the expected JSON from a pipe-separated line:
//
//	kind|scheme|host|port|virtualDirectory|organization|collection|project|repository|guessed|collectionUrl|cloneUrl
//
// webUrl is the cloneUrl (docs/azure-devops-protocol.md §5: a repository's webUrl is its remote URL).
func wantJSON(t *testing.T, line string) string {
	t.Helper()
	f := strings.Split(line, "|")
	if len(f) != 12 {
		t.Fatalf("want line has %d fields, not 12: %q", len(f), line)
	}
	guessed, err := strconv.ParseBool(f[9])
	if err != nil {
		t.Fatalf("want line: guessed %q: %v", f[9], err)
	}
	b, err := json.Marshal(remoteURLJSON{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], guessed, f[10], f[11], f[11]})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Lines of the accepted-URL table for the common cases.
const (
	svcWeb    = "services|https|dev.azure.com|||fabrikam|fabrikam|Web|site|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/site"
	legacyWeb = "services|https|fabrikam.visualstudio.com|||fabrikam|fabrikam|Web|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/Web/_git/site"
	v3Web     = "services|ssh|ssh.dev.azure.com|||fabrikam|fabrikam|Web|site|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/site"
	vsSSHWeb  = "services|ssh|vs-ssh.visualstudio.com|||fabrikam|fabrikam|Web|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/Web/_git/site"
	tfsWeb    = "server|https|tfs.example.com||tfs||DefaultCollection|Web|site|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/Web/_git/site"
	mainWeb   = "server|https|ado.example.com||||Main|Web|site|true|https://ado.example.com/Main|https://ado.example.com/Main/Web/_git/site"
)

// acceptedURLs are remote URLs ParseRemoteURL accepts, with the JSON it must answer (see
// wantJSON), from docs/azure-devops-protocol.md §2 and Microsoft's Clone dialogs.
var acceptedURLs = []struct{ in, want string }{
	// Services, dev.azure.com.
	{"https://dev.azure.com/fabrikam/Web/_git/site", svcWeb},
	{"https://dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/ios-app",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Fabrikam Mobile|ios-app|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/ios-app"},
	{"https://fabrikam@dev.azure.com/fabrikam/Web/_git/site", svcWeb},
	{"https://someone-else@dev.azure.com/fabrikam/Web/_git/site", svcWeb},
	{"https://Fabrikam@dev.azure.com/fabrikam/Web/_git/site", svcWeb},
	{"https://@dev.azure.com/fabrikam/Web/_git/site", svcWeb},
	{"https://dev.azure.com/fabrikam/_git/Web",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Web|Web|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/Web"},
	{"https://fabrikam@dev.azure.com/fabrikam/_git/Web",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Web|Web|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/Web"},
	{"https://dev.azure.com/fabrikam/Web/_git/_optimized/site", svcWeb},
	{"https://dev.azure.com/fabrikam/Web/_git/_full/site", svcWeb},
	{"https://dev.azure.com/fabrikam/Web/_GIT/_OPTIMIZED/site", svcWeb},
	{"https://dev.azure.com/fabrikam/_git/_optimized/site",
		"services|https|dev.azure.com|||fabrikam|fabrikam|site|site|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/site/_git/site"},
	{"HTTPS://DEV.AZURE.COM/Fabrikam/Web/_GIT/Site",
		"services|https|dev.azure.com|||Fabrikam|Fabrikam|Web|Site|false|https://dev.azure.com/Fabrikam|https://dev.azure.com/Fabrikam/Web/_git/Site"},
	{"https://Dev.Azure.Com/fabrikam/Web/_git/site", svcWeb},
	{"https://dev.azure.com/fabrikam/Web/_git/site?path=/README.md&version=GBmain", svcWeb},
	{"https://dev.azure.com/fabrikam/Web/_git/site#readme", svcWeb},
	{"https://dev.azure.com/fabrikam/Web/_git/site?version=GBmain&_a=contents#L10", svcWeb},
	{"https://dev.azure.com/fabrikam/Web/_git/site?a=/b/c#/d/e", svcWeb},
	{"https://dev.azure.com/fabrikam/Web/_git/site/", svcWeb},
	{"https://dev.azure.com/fabrikam/Web/_git/site/?x=1", svcWeb},
	{"  https://dev.azure.com/fabrikam/Web/_git/site \t", svcWeb},
	{"https://dev.azure.com:443/fabrikam/Web/_git/site",
		"services|https|dev.azure.com|443||fabrikam|fabrikam|Web|site|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/site"},
	{"http://dev.azure.com/fabrikam/Web/_git/site",
		"services|http|dev.azure.com|||fabrikam|fabrikam|Web|site|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/site"},
	{"https://dev.azure.com/fabrikam/My Project/_git/My Repo",
		"services|https|dev.azure.com|||fabrikam|fabrikam|My Project|My Repo|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo"},
	{"https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo",
		"services|https|dev.azure.com|||fabrikam|fabrikam|My Project|My Repo|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo"},
	{"https://dev.azure.com/fabrikam/_git/My%20Repo",
		"services|https|dev.azure.com|||fabrikam|fabrikam|My Repo|My Repo|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/My%20Repo/_git/My%20Repo"},
	{"https://dev.azure.com/fabrikam/Projé/_git/Dépôt",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Projé|Dépôt|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Proj%C3%A9/_git/D%C3%A9p%C3%B4t"},
	{"https://dev.azure.com/fabrikam/Proj%C3%A9/_git/D%C3%A9p%C3%B4t",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Projé|Dépôt|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Proj%C3%A9/_git/D%C3%A9p%C3%B4t"},
	{"https://dev.azure.com/fabrikam/%E6%97%A5%E6%9C%AC/_git/%E3%83%AA%E3%83%9D",
		"services|https|dev.azure.com|||fabrikam|fabrikam|日本|リポ|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/%E6%97%A5%E6%9C%AC/_git/%E3%83%AA%E3%83%9D"},
	{"https://dev.azure.com/fabrikam/Web/_git/site%20",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Web|site |false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/site%20"},
	{"https://dev.azure.com/fabrikam/Web/_git/100%25",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Web|100%|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/100%25"},
	{"https://dev.azure.com/fabrikam/R%26D/_git/tools",
		"services|https|dev.azure.com|||fabrikam|fabrikam|R&D|tools|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/R&D/_git/tools"},
	{"https://dev.azure.com/fabrikam/Web/_git/a@b",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Web|a@b|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/a%40b"},
	{"https://dev.azure.com/fabrikam/Web/_git/what%3F%23",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Web|what?#|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/what%3F%23"},
	{"https://dev.azure.com/fabrikam-eu/web.api/_git/web.api",
		"services|https|dev.azure.com|||fabrikam-eu|fabrikam-eu|web.api|web.api|false|https://dev.azure.com/fabrikam-eu|https://dev.azure.com/fabrikam-eu/web.api/_git/web.api"},
	{"https://dev.azure.com/fabrikam/Web/_git/site.git",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Web|site.git|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/site.git"},
	{"https://dev.azure.com/fabrikam/DefaultCollection/_git/site",
		"services|https|dev.azure.com|||fabrikam|fabrikam|DefaultCollection|site|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/DefaultCollection/_git/site"},
	{"https://dev.azure.com/%66abrikam/Web/_git/site", svcWeb},

	// Team-scoped web URLs ({project}/{team}/_git/{repo}, git-url-parse's and SourceLink's
	// forms): the team is dropped; the layout of dev.azure.com is fixed, so no guess.
	{"https://dev.azure.com/fabrikam/Web/Team%20A/_git/site", svcWeb},
	{"https://dev.azure.com/fabrikam/Web/Web%20Team/_git/_optimized/site?path=/x", svcWeb},
	{"https://fabrikam@dev.azure.com/fabrikam/Web/Team/_git/site/", svcWeb},
	{"https://dev.azure.com/MyOrganization/MatchedName/MyTeam/_git/MatchedName?path=%2Ftest%2Findex.js&version=GBother",
		"services|https|dev.azure.com|||MyOrganization|MyOrganization|MatchedName|MatchedName|false|https://dev.azure.com/MyOrganization|https://dev.azure.com/MyOrganization/MatchedName/_git/MatchedName"},
	{"https://dev.azure.com/fabrikam/My Project/My Team/_git/My Repo",
		"services|https|dev.azure.com|||fabrikam|fabrikam|My Project|My Repo|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo"},
	{"https://dev.azure.com/fabrikam/Web/tfs/_git/site", svcWeb},

	// Explicit ports stay in every derived URL; 443 (and 80 of http, upgraded) are defaults.
	{"https://dev.azure.com:456/fabrikam/Web/_git/site",
		"services|https|dev.azure.com|456||fabrikam|fabrikam|Web|site|false|https://dev.azure.com:456/fabrikam|https://dev.azure.com:456/fabrikam/Web/_git/site"},
	{"https://fabrikam@dev.azure.com:456/fabrikam/_git/Web",
		"services|https|dev.azure.com|456||fabrikam|fabrikam|Web|Web|false|https://dev.azure.com:456/fabrikam|https://dev.azure.com:456/fabrikam/Web/_git/Web"},
	{"https://dev.azure.com:456/fabrikam/Fabrikam%20Mobile/Mobile%20Team/_git/ios%20app",
		"services|https|dev.azure.com|456||fabrikam|fabrikam|Fabrikam Mobile|ios app|false|https://dev.azure.com:456/fabrikam|https://dev.azure.com:456/fabrikam/Fabrikam%20Mobile/_git/ios%20app"},
	{"https://dev.azure.com:8443/fabrikam/Proj%C3%A9%20%26%20Co/%C3%89quipe/_git/100%25%20d%C3%A9p%C3%B4t",
		"services|https|dev.azure.com|8443||fabrikam|fabrikam|Projé & Co|100% dépôt|false|https://dev.azure.com:8443/fabrikam|https://dev.azure.com:8443/fabrikam/Proj%C3%A9%20&%20Co/_git/100%25%20d%C3%A9p%C3%B4t"},
	{"http://dev.azure.com:80/fabrikam/Web/_git/site",
		"services|http|dev.azure.com|80||fabrikam|fabrikam|Web|site|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/site"},
	{"http://dev.azure.com:443/fabrikam/Web/_git/site",
		"services|http|dev.azure.com|443||fabrikam|fabrikam|Web|site|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/site"},
	{"http://dev.azure.com:8080/fabrikam/Web/_git/site",
		"services|http|dev.azure.com|8080||fabrikam|fabrikam|Web|site|false|https://dev.azure.com:8080/fabrikam|https://dev.azure.com:8080/fabrikam/Web/_git/site"},

	// A "+" is a plus: a name the UI refuses today may exist (the REST API accepts it, and
	// older servers had other rules); written %2B in derived URLs.
	{"https://dev.azure.com/fabrikam/Web+App/_git/site",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Web+App|site|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web%2BApp/_git/site"},
	{"https://dev.azure.com/fabrikam/Web/_git/my%2Bsite",
		"services|https|dev.azure.com|||fabrikam|fabrikam|Web|my+site|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/my%2Bsite"},
	{"https://dev.azure.com/fabrikam/C++%20Tools/_git/lib~1;v=2",
		"services|https|dev.azure.com|||fabrikam|fabrikam|C++ Tools|lib~1;v=2|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/C%2B%2B%20Tools/_git/lib~1%3Bv=2"},

	// Services, legacy {org}.visualstudio.com host.
	{"https://fabrikam.visualstudio.com/Web/_git/site", legacyWeb},
	{"https://fabrikam.visualstudio.com/DefaultCollection/Web/_git/site", legacyWeb},
	{"https://fabrikam.visualstudio.com/defaultcollection/Web/_git/site", legacyWeb},
	{"https://Fabrikam.VisualStudio.com/Web/_git/site", legacyWeb},
	{"https://fabrikam@fabrikam.visualstudio.com/DefaultCollection/Web/_git/site", legacyWeb},
	{"https://fabrikam.visualstudio.com/Web/_git/site?path=/README.md#x", legacyWeb},
	{"https://fabrikam.visualstudio.com/DefaultCollection/Web/_git/_optimized/site", legacyWeb},
	{"https://fabrikam.visualstudio.com/Web/_git/_full/site/", legacyWeb},
	{"https://fabrikam.visualstudio.com/_git/site",
		"services|https|fabrikam.visualstudio.com|||fabrikam|fabrikam|site|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/site/_git/site"},
	{"https://fabrikam.visualstudio.com/DefaultCollection/_git/site",
		"services|https|fabrikam.visualstudio.com|||fabrikam|fabrikam|site|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/site/_git/site"},
	{"https://fabrikam.visualstudio.com/DefaultCollection/DefaultCollection/_git/site",
		"services|https|fabrikam.visualstudio.com|||fabrikam|fabrikam|DefaultCollection|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/DefaultCollection/DefaultCollection/_git/site"},
	{"https://fabrikam-eu.visualstudio.com/Fabrikam%20Mobile/_git/ios%20app",
		"services|https|fabrikam-eu.visualstudio.com|||fabrikam-eu|fabrikam-eu|Fabrikam Mobile|ios app|false|https://fabrikam-eu.visualstudio.com|https://fabrikam-eu.visualstudio.com/Fabrikam%20Mobile/_git/ios%20app"},
	{"https://fabrikam.visualstudio.com:443/Web/_git/site",
		"services|https|fabrikam.visualstudio.com|443||fabrikam|fabrikam|Web|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/Web/_git/site"},

	{"https://fabrikam.visualstudio.com/Web/Team/_git/site", legacyWeb},
	{"https://fabrikam.visualstudio.com/DefaultCollection/Web/Team/_git/_full/site", legacyWeb},
	{"https://fabrikam.visualstudio.com:4443/Web/_git/site",
		"services|https|fabrikam.visualstudio.com|4443||fabrikam|fabrikam|Web|site|false|https://fabrikam.visualstudio.com:4443|https://fabrikam.visualstudio.com:4443/Web/_git/site"},
	{"https://fabrikam.visualstudio.com:8443/DefaultCollection/My Project/My Team/_git/My%20Repo",
		"services|https|fabrikam.visualstudio.com|8443||fabrikam|fabrikam|My Project|My Repo|false|https://fabrikam.visualstudio.com:8443|https://fabrikam.visualstudio.com:8443/My%20Project/_git/My%20Repo"},

	// Services over SSH (v3).
	{"git@ssh.dev.azure.com:v3/fabrikam/Web/site", v3Web},
	{"ssh://git@ssh.dev.azure.com/v3/fabrikam/Web/site", v3Web},
	{"ssh://git@ssh.dev.azure.com:22/v3/fabrikam/Web/site",
		"services|ssh|ssh.dev.azure.com|22||fabrikam|fabrikam|Web|site|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Web/_git/site"},
	{"git+ssh://git@ssh.dev.azure.com/v3/fabrikam/Web/site", v3Web},
	{"ssh+git://git@ssh.dev.azure.com/v3/fabrikam/Web/site", v3Web},
	{"SSH://git@ssh.dev.azure.com/v3/fabrikam/Web/site", v3Web},
	{"ssh.dev.azure.com:v3/fabrikam/Web/site", v3Web},
	{"git@ssh.dev.azure.com:v3/fabrikam/Web/site/", v3Web},
	{"git@ssh.dev.azure.com:v3/fabrikam/Web/site?x=1#y", v3Web},
	{"git@SSH.DEV.AZURE.COM:V3/Fabrikam/Web/site",
		"services|ssh|ssh.dev.azure.com|||Fabrikam|Fabrikam|Web|site|false|https://dev.azure.com/Fabrikam|https://dev.azure.com/Fabrikam/Web/_git/site"},
	{"git@ssh.dev.azure.com:v3/fabrikam/Fabrikam%20Mobile/ios%20app",
		"services|ssh|ssh.dev.azure.com|||fabrikam|fabrikam|Fabrikam Mobile|ios app|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/ios%20app"},
	{"fabrikam@vs-ssh.visualstudio.com:v3/fabrikam/Web/site", vsSSHWeb},
	{"ssh://fabrikam@vs-ssh.visualstudio.com/v3/fabrikam/Web/site", vsSSHWeb},
	{"ssh://fabrikam@vs-ssh.visualstudio.com:22/v3/fabrikam/Web/site",
		"services|ssh|vs-ssh.visualstudio.com|22||fabrikam|fabrikam|Web|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/Web/_git/site"},
	{"Fabrikam@vs-ssh.visualstudio.com:v3/Fabrikam/Web/site",
		"services|ssh|vs-ssh.visualstudio.com|||Fabrikam|Fabrikam|Web|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/Web/_git/site"},

	{"git@ssh.dev.azure.com:v3/fabrikam/Web/Team/site", v3Web},
	{"git@ssh.dev.azure.com:v3/fabrikam/Web/_optimized/site", v3Web},
	{"ssh://git@ssh.dev.azure.com/v3/fabrikam/Web/Team%20A/_full/site", v3Web},
	{"ssh://git@ssh.dev.azure.com:2222/v3/fabrikam/Fabrikam%20Mobile/Mobile%20Team/ios%20app",
		"services|ssh|ssh.dev.azure.com|2222||fabrikam|fabrikam|Fabrikam Mobile|ios app|false|https://dev.azure.com/fabrikam|https://dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/ios%20app"},

	// Services over SSH, the older _ssh form: the organization is the SSH user name.
	{"ssh://fabrikam@vs-ssh.visualstudio.com:22/Web/_ssh/site",
		"services|ssh|vs-ssh.visualstudio.com|22||fabrikam|fabrikam|Web|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/Web/_git/site"},
	{"ssh://fabrikam@vs-ssh.visualstudio.com:22/DefaultCollection/Web/_ssh/site",
		"services|ssh|vs-ssh.visualstudio.com|22||fabrikam|fabrikam|Web|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/Web/_git/site"},
	{"ssh://fabrikam@vs-ssh.visualstudio.com/DefaultCollection/_ssh/site",
		"services|ssh|vs-ssh.visualstudio.com|||fabrikam|fabrikam|site|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/site/_git/site"},
	{"ssh://fabrikam@vs-ssh.visualstudio.com/Web/_ssh/_optimized/site", vsSSHWeb},
	{"fabrikam@vs-ssh.visualstudio.com:Web/_ssh/site", vsSSHWeb},
	{"ssh://fabrikam@fabrikam.visualstudio.com:22/DefaultCollection/Web/_ssh/site",
		"services|ssh|fabrikam.visualstudio.com|22||fabrikam|fabrikam|Web|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/Web/_git/site"},

	{"ssh://fabrikam@vs-ssh.visualstudio.com/DefaultCollection/Web/Team/_ssh/site", vsSSHWeb},
	{"ssh://fabrikam@vs-ssh.visualstudio.com:22/Web/Team/_ssh/_optimized/site",
		"services|ssh|vs-ssh.visualstudio.com|22||fabrikam|fabrikam|Web|site|false|https://fabrikam.visualstudio.com|https://fabrikam.visualstudio.com/Web/_git/site"},

	// Server over HTTP(S).
	{"https://tfs.example.com/tfs/DefaultCollection/Web/_git/site", tfsWeb},
	{"https://user@tfs.example.com/tfs/DefaultCollection/Web/_git/site", tfsWeb},
	{"https://tfs.example.com/tfs/DefaultCollection/Web/_git/_optimized/site", tfsWeb},
	{"https://tfs.example.com/tfs/DefaultCollection/Web/_git/site?version=GBmain#x", tfsWeb},
	{"https://tfs.example.com/tfs/DefaultCollection/Web/_git/site/", tfsWeb},
	{"https://tfs.example.com:443/tfs/DefaultCollection/Web/_git/site",
		"server|https|tfs.example.com|443|tfs||DefaultCollection|Web|site|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/Web/_git/site"},
	{"http://tfs.example.com:8080/tfs/DefaultCollection/MOBILE_IOS/_git/wallet",
		"server|http|tfs.example.com|8080|tfs||DefaultCollection|MOBILE_IOS|wallet|false|http://tfs.example.com:8080/tfs/DefaultCollection|http://tfs.example.com:8080/tfs/DefaultCollection/MOBILE_IOS/_git/wallet"},
	{"http://tfs.example.com:80/tfs/DefaultCollection/Web/_git/site",
		"server|http|tfs.example.com|80|tfs||DefaultCollection|Web|site|false|http://tfs.example.com/tfs/DefaultCollection|http://tfs.example.com/tfs/DefaultCollection/Web/_git/site"},
	{"http://tfs.example.com:443/tfs/DefaultCollection/Web/_git/site",
		"server|http|tfs.example.com|443|tfs||DefaultCollection|Web|site|false|http://tfs.example.com:443/tfs/DefaultCollection|http://tfs.example.com:443/tfs/DefaultCollection/Web/_git/site"},
	{"https://tfs.example.com:8443/tfs/DefaultCollection/Team%20A/_git/app%20one",
		"server|https|tfs.example.com|8443|tfs||DefaultCollection|Team A|app one|false|https://tfs.example.com:8443/tfs/DefaultCollection|https://tfs.example.com:8443/tfs/DefaultCollection/Team%20A/_git/app%20one"},
	{"https://tfs.example.com/tfs/DefaultCollection/_git/wallet",
		"server|https|tfs.example.com||tfs||DefaultCollection|wallet|wallet|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/wallet/_git/wallet"},
	{"https://TFS.Example.COM/TFS/DefaultCollection/Web/_GIT/site",
		"server|https|tfs.example.com||TFS||DefaultCollection|Web|site|false|https://tfs.example.com/TFS/DefaultCollection|https://tfs.example.com/TFS/DefaultCollection/Web/_git/site"},
	{"https://tfs.example.com/tfs/Default%20Collection/Team%20Project/_git/My%20Repo",
		"server|https|tfs.example.com||tfs||Default Collection|Team Project|My Repo|false|https://tfs.example.com/tfs/Default%20Collection|https://tfs.example.com/tfs/Default%20Collection/Team%20Project/_git/My%20Repo"},
	{"https://tfs.example.com/tfs/Default Collection/Team Project/_git/My Repo",
		"server|https|tfs.example.com||tfs||Default Collection|Team Project|My Repo|false|https://tfs.example.com/tfs/Default%20Collection|https://tfs.example.com/tfs/Default%20Collection/Team%20Project/_git/My%20Repo"},
	{"https://tfs.example.com/x/tfs/DefaultCollection/Web/_git/site",
		"server|https|tfs.example.com||x/tfs||DefaultCollection|Web|site|false|https://tfs.example.com/x/tfs/DefaultCollection|https://tfs.example.com/x/tfs/DefaultCollection/Web/_git/site"},
	{"https://tfs.example.com/a/tfs/Coll/_git/site",
		"server|https|tfs.example.com||a/tfs||Coll|site|site|false|https://tfs.example.com/a/tfs/Coll|https://tfs.example.com/a/tfs/Coll/site/_git/site"},
	{"https://ado.example.com/Main/Web/_git/site", mainWeb},
	{"https://ado.example.com/Main/Team%20A/_git/app%20one",
		"server|https|ado.example.com||||Main|Team A|app one|true|https://ado.example.com/Main|https://ado.example.com/Main/Team%20A/_git/app%20one"},
	{"https://ado.example.com/a/b/Main/Web/_git/site",
		"server|https|ado.example.com||a/b||Main|Web|site|true|https://ado.example.com/a/b/Main|https://ado.example.com/a/b/Main/Web/_git/site"},
	{"https://ado.example.com/a/b/c/d/Main/Web/_git/site",
		"server|https|ado.example.com||a/b/c/d||Main|Web|site|true|https://ado.example.com/a/b/c/d/Main|https://ado.example.com/a/b/c/d/Main/Web/_git/site"},
	{"https://ado.example.com/a/b/c/Main/_git/site",
		"server|https|ado.example.com||a/b||c|Main|site|true|https://ado.example.com/a/b/c|https://ado.example.com/a/b/c/Main/_git/site"},
	{"https://ado.example.com/Main/_git/site",
		"server|https|ado.example.com||||Main|site|site|false|https://ado.example.com/Main|https://ado.example.com/Main/site/_git/site"},
	{"https://ado.example.com/DefaultCollection/tfs/_git/app",
		"server|https|ado.example.com||||DefaultCollection|tfs|app|true|https://ado.example.com/DefaultCollection|https://ado.example.com/DefaultCollection/tfs/_git/app"},
	{"https://ado.example.com/tfs/_git/app",
		"server|https|ado.example.com||||tfs|app|app|false|https://ado.example.com/tfs|https://ado.example.com/tfs/app/_git/app"},
	{"https://ado.example.com/my%20vd/Main/Web/_git/site",
		"server|https|ado.example.com||my vd||Main|Web|site|true|https://ado.example.com/my%20vd/Main|https://ado.example.com/my%20vd/Main/Web/_git/site"},
	{"https://ado.example.com/a@b/Main/Web/_git/x@y",
		"server|https|ado.example.com||a@b||Main|Web|x@y|true|https://ado.example.com/a%40b/Main|https://ado.example.com/a%40b/Main/Web/_git/x%40y"},
	{"https://ado.example.com/Main/Web/_git/R%C3%A9po",
		"server|https|ado.example.com||||Main|Web|Répo|true|https://ado.example.com/Main|https://ado.example.com/Main/Web/_git/R%C3%A9po"},
	{"http://192.168.1.10:8080/tfs/DefaultCollection/Web/_git/site",
		"server|http|192.168.1.10|8080|tfs||DefaultCollection|Web|site|false|http://192.168.1.10:8080/tfs/DefaultCollection|http://192.168.1.10:8080/tfs/DefaultCollection/Web/_git/site"},
	{"http://localhost:8080/tfs/DefaultCollection/Web/_git/site",
		"server|http|localhost|8080|tfs||DefaultCollection|Web|site|false|http://localhost:8080/tfs/DefaultCollection|http://localhost:8080/tfs/DefaultCollection/Web/_git/site"},
	{"http://[::1]:8080/tfs/DefaultCollection/Web/_git/site",
		"server|http|::1|8080|tfs||DefaultCollection|Web|site|false|http://[::1]:8080/tfs/DefaultCollection|http://[::1]:8080/tfs/DefaultCollection/Web/_git/site"},
	{"https://[2001:DB8::1]/DefaultCollection/Web/_git/site",
		"server|https|2001:db8::1||||DefaultCollection|Web|site|true|https://[2001:db8::1]/DefaultCollection|https://[2001:db8::1]/DefaultCollection/Web/_git/site"},
	{"https://[2001:db8::1]:8443/tfs/Coll/_git/site",
		"server|https|2001:db8::1|8443|tfs||Coll|site|site|false|https://[2001:db8::1]:8443/tfs/Coll|https://[2001:db8::1]:8443/tfs/Coll/site/_git/site"},
	{"https://tfs_server.corp/Coll/Web/_git/site",
		"server|https|tfs_server.corp||||Coll|Web|site|true|https://tfs_server.corp/Coll|https://tfs_server.corp/Coll/Web/_git/site"},

	// The tfs rule around every path length: tfs followed by {collection}[/{project}[/{team}]]
	// ends the virtual directory and settles the split.
	{"https://tfs.example.com/tfs/Coll/_git/Repo",
		"server|https|tfs.example.com||tfs||Coll|Repo|Repo|false|https://tfs.example.com/tfs/Coll|https://tfs.example.com/tfs/Coll/Repo/_git/Repo"},
	{"https://tfs.example.com/tfs/Coll/Proj/_git/Repo",
		"server|https|tfs.example.com||tfs||Coll|Proj|Repo|false|https://tfs.example.com/tfs/Coll|https://tfs.example.com/tfs/Coll/Proj/_git/Repo"},
	{"https://tfs.example.com/a/tfs/Coll/Proj/_git/Repo",
		"server|https|tfs.example.com||a/tfs||Coll|Proj|Repo|false|https://tfs.example.com/a/tfs/Coll|https://tfs.example.com/a/tfs/Coll/Proj/_git/Repo"},
	{"https://tfs.example.com/tfs/Proj/_git/Repo",
		"server|https|tfs.example.com||tfs||Proj|Repo|Repo|false|https://tfs.example.com/tfs/Proj|https://tfs.example.com/tfs/Proj/Repo/_git/Repo"},
	{"https://tfs.example.com/tfs/Coll/Proj/Team/_git/Repo",
		"server|https|tfs.example.com||tfs||Coll|Proj|Repo|false|https://tfs.example.com/tfs/Coll|https://tfs.example.com/tfs/Coll/Proj/_git/Repo"},
	{"https://tfs.example.com:8443/tfs/DefaultCollection/Team%20Project/Team%20A/_git/My%20Repo",
		"server|https|tfs.example.com|8443|tfs||DefaultCollection|Team Project|My Repo|false|https://tfs.example.com:8443/tfs/DefaultCollection|https://tfs.example.com:8443/tfs/DefaultCollection/Team%20Project/_git/My%20Repo"},
	{"http://[::1]:8080/tfs/DefaultCollection/Web/Team/_git/_full/site",
		"server|http|::1|8080|tfs||DefaultCollection|Web|site|false|http://[::1]:8080/tfs/DefaultCollection|http://[::1]:8080/tfs/DefaultCollection/Web/_git/site"},
	{"https://tfs.example.com/tfs/tfs/Proj/_git/Repo", // two tfs segments: two readings
		"server|https|tfs.example.com||tfs||tfs|Proj|Repo|true|https://tfs.example.com/tfs/tfs|https://tfs.example.com/tfs/tfs/Proj/_git/Repo"},
	{"https://tfs.example.com/tfs/Coll/Proj/tfs/_git/Repo", // a team named tfs: one reading
		"server|https|tfs.example.com||tfs||Coll|Proj|Repo|false|https://tfs.example.com/tfs/Coll|https://tfs.example.com/tfs/Coll/Proj/_git/Repo"},
	{"https://tfs.example.com/a/b/c/tfs/Coll/Proj/Team/_git/Repo",
		"server|https|tfs.example.com||a/b/c/tfs||Coll|Proj|Repo|false|https://tfs.example.com/a/b/c/tfs/Coll|https://tfs.example.com/a/b/c/tfs/Coll/Proj/_git/Repo"},
	// Team-scoped without tfs: a guess. DefaultCollection third from the end reads as the
	// collection of a team-scoped URL; otherwise the last two are collection and project.
	{"https://ado.example.com/DefaultCollection/Web/Team/_git/site",
		"server|https|ado.example.com||||DefaultCollection|Web|site|true|https://ado.example.com/DefaultCollection|https://ado.example.com/DefaultCollection/Web/_git/site"},
	{"https://ado.example.com:8080/DefaultCollection/My%20Project/My%20Team/_git/My%20Repo",
		"server|https|ado.example.com|8080|||DefaultCollection|My Project|My Repo|true|https://ado.example.com:8080/DefaultCollection|https://ado.example.com:8080/DefaultCollection/My%20Project/_git/My%20Repo"},
	{"https://ado.example.com/Main/Web/Team/_git/site",
		"server|https|ado.example.com||Main||Web|Team|site|true|https://ado.example.com/Main/Web|https://ado.example.com/Main/Web/Team/_git/site"},
	// Collection names today's rules refuse are the server's to refuse.
	{"https://ado.example.com/R%26D/Main/_git/site",
		"server|https|ado.example.com||||R&D|Main|site|true|https://ado.example.com/R&D|https://ado.example.com/R&D/Main/_git/site"},
	{"https://ado.example.com/tfs/C%2B%2B%20Tools/_git/lib",
		"server|https|ado.example.com||tfs||C++ Tools|lib|lib|false|https://ado.example.com/tfs/C%2B%2B%20Tools|https://ado.example.com/tfs/C%2B%2B%20Tools/lib/_git/lib"},

	// Server over SSH: the REST base is https://host (an SSH URL does not say the HTTP port).
	{"ssh://tfs.example.com:22/tfs/DefaultCollection/Web/_git/site",
		"server|ssh|tfs.example.com|22|tfs||DefaultCollection|Web|site|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/Web/_git/site"},
	{"ssh://tfs.example.com:22/DefaultCollection/Web/_git/site",
		"server|ssh|tfs.example.com|22|||DefaultCollection|Web|site|true|https://tfs.example.com/DefaultCollection|https://tfs.example.com/DefaultCollection/Web/_git/site"},
	{"ssh://tfs.example.com:22/tfs/DefaultCollection/Web/_ssh/site",
		"server|ssh|tfs.example.com|22|tfs||DefaultCollection|Web|site|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/Web/_git/site"},
	{"ssh://git@tfs.example.com:2222/DefaultCollection/Web/_ssh/site",
		"server|ssh|tfs.example.com|2222|||DefaultCollection|Web|site|true|https://tfs.example.com/DefaultCollection|https://tfs.example.com/DefaultCollection/Web/_git/site"},
	{"git+ssh://tfs.example.com/tfs/DefaultCollection/Web/_git/site",
		"server|ssh|tfs.example.com||tfs||DefaultCollection|Web|site|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/Web/_git/site"},
	{"git@tfs.example.com:tfs/DefaultCollection/Web/_git/site",
		"server|ssh|tfs.example.com||tfs||DefaultCollection|Web|site|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/Web/_git/site"},
	{"tfs.example.com:DefaultCollection/Web/_ssh/site",
		"server|ssh|tfs.example.com||||DefaultCollection|Web|site|true|https://tfs.example.com/DefaultCollection|https://tfs.example.com/DefaultCollection/Web/_git/site"},
	{"ssh://tfs.example.com:22/tfs/DefaultCollection/Web/Team/_ssh/site",
		"server|ssh|tfs.example.com|22|tfs||DefaultCollection|Web|site|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/Web/_git/site"},
	{"ssh://git@tfs.example.com:2222/DefaultCollection/Web/Team/_ssh/site",
		"server|ssh|tfs.example.com|2222|||DefaultCollection|Web|site|true|https://tfs.example.com/DefaultCollection|https://tfs.example.com/DefaultCollection/Web/_git/site"},
	{"ssh://tfs.example.com/a/b/Coll/Web/_git/site",
		"server|ssh|tfs.example.com||a/b||Coll|Web|site|true|https://tfs.example.com/a/b/Coll|https://tfs.example.com/a/b/Coll/Web/_git/site"},
	{"ssh://tfs.example.com:22/Coll/_git/site",
		"server|ssh|tfs.example.com|22|||Coll|site|site|false|https://tfs.example.com/Coll|https://tfs.example.com/Coll/site/_git/site"},
	{"ssh://[2001:db8::1]:22/Coll/Web/_git/site",
		"server|ssh|2001:db8::1|22|||Coll|Web|site|true|https://[2001:db8::1]/Coll|https://[2001:db8::1]/Coll/Web/_git/site"},
	{"git@[2001:db8::1]:Coll/Web/_git/site",
		"server|ssh|2001:db8::1||||Coll|Web|site|true|https://[2001:db8::1]/Coll|https://[2001:db8::1]/Coll/Web/_git/site"},
}

// acceptedWithVirtualDirectory are URLs with the virtual directory the caller gave.
var acceptedWithVirtualDirectory = []struct{ in, vd, want string }{
	{"https://tfs.example.com/tfs/DefaultCollection/Web/_git/site", "tfs",
		"server|https|tfs.example.com||tfs||DefaultCollection|Web|site|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/Web/_git/site"},
	{"https://tfs.example.com/tfs/DefaultCollection/Web/_git/site", "/TFS/",
		"server|https|tfs.example.com||tfs||DefaultCollection|Web|site|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/Web/_git/site"},
	{"https://ado.example.com/Main/Web/_git/site", "",
		"server|https|ado.example.com||||Main|Web|site|false|https://ado.example.com/Main|https://ado.example.com/Main/Web/_git/site"},
	{"https://ado.example.com/Main/Web/_git/site", "/",
		"server|https|ado.example.com||||Main|Web|site|false|https://ado.example.com/Main|https://ado.example.com/Main/Web/_git/site"},
	{"https://ado.example.com/Main/Web/_git/site", "Main",
		"server|https|ado.example.com||Main||Web|site|site|false|https://ado.example.com/Main/Web|https://ado.example.com/Main/Web/site/_git/site"},
	{"https://ado.example.com/Main/_git/site", "",
		"server|https|ado.example.com||||Main|site|site|false|https://ado.example.com/Main|https://ado.example.com/Main/site/_git/site"},
	{"https://ado.example.com/a/b/Main/Web/_git/site", "a/b",
		"server|https|ado.example.com||a/b||Main|Web|site|false|https://ado.example.com/a/b/Main|https://ado.example.com/a/b/Main/Web/_git/site"},
	{"https://ado.example.com/a/b/Main/Web/_git/site", " /a/b/ ",
		"server|https|ado.example.com||a/b||Main|Web|site|false|https://ado.example.com/a/b/Main|https://ado.example.com/a/b/Main/Web/_git/site"},
	{"https://ado.example.com/a/b/Coll/_git/site", "a/b",
		"server|https|ado.example.com||a/b||Coll|site|site|false|https://ado.example.com/a/b/Coll|https://ado.example.com/a/b/Coll/site/_git/site"},
	// A team after the virtual directory: {collection}/{project}/{team}.
	{"https://ado.example.com/Main/Web/Team/_git/site", "",
		"server|https|ado.example.com||||Main|Web|site|false|https://ado.example.com/Main|https://ado.example.com/Main/Web/_git/site"},
	{"https://tfs.example.com:8443/tfs/Coll/Web/Team%20A/_git/site", "tfs",
		"server|https|tfs.example.com|8443|tfs||Coll|Web|site|false|https://tfs.example.com:8443/tfs/Coll|https://tfs.example.com:8443/tfs/Coll/Web/_git/site"},
	{"https://ado.example.com/virtual/iis/path/collection/project/team/_git/repo", "/virtual/iis/path",
		"server|https|ado.example.com||virtual/iis/path||collection|project|repo|false|https://ado.example.com/virtual/iis/path/collection|https://ado.example.com/virtual/iis/path/collection/project/_git/repo"},
	// Appcircle's owner form: virtual directory plus collection.
	{"https://tfs.example.com/tfs/DefaultCollection/_git/site", "tfs/DefaultCollection",
		"server|https|tfs.example.com||tfs||DefaultCollection|site|site|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/site/_git/site"},
	{"https://tfs.example.com/tfs/DefaultCollection/Web/_git/site", "tfs/DefaultCollection",
		"server|https|tfs.example.com||tfs||DefaultCollection|Web|site|false|https://tfs.example.com/tfs/DefaultCollection|https://tfs.example.com/tfs/DefaultCollection/Web/_git/site"},
	{"https://tfs.example.com/TFS/defaultcollection/Web/_git/site", "tfs/DefaultCollection",
		"server|https|tfs.example.com||TFS||defaultcollection|Web|site|false|https://tfs.example.com/TFS/defaultcollection|https://tfs.example.com/TFS/defaultcollection/Web/_git/site"},
	{"https://tfs.example.com/x/tfs/Coll/Web/_git/site", "x/tfs/Coll",
		"server|https|tfs.example.com||x/tfs||Coll|Web|site|false|https://tfs.example.com/x/tfs/Coll|https://tfs.example.com/x/tfs/Coll/Web/_git/site"},
	{"https://ado.example.com/a/Coll/_git/site", "a/Coll",
		"server|https|ado.example.com||a||Coll|site|site|false|https://ado.example.com/a/Coll|https://ado.example.com/a/Coll/site/_git/site"},
	{"https://ado.example.com/%20a/Coll/Web/_git/site", " a",
		"server|https|ado.example.com|| a||Coll|Web|site|false|https://ado.example.com/%20a/Coll|https://ado.example.com/%20a/Coll/Web/_git/site"},
	{"ssh://tfs.example.com:22/tfs/Coll/Web/_git/site", "tfs",
		"server|ssh|tfs.example.com|22|tfs||Coll|Web|site|false|https://tfs.example.com/tfs/Coll|https://tfs.example.com/tfs/Coll/Web/_git/site"},
	{"https://dev.azure.com/fabrikam/Web/_git/site", "", svcWeb},
	{"git@ssh.dev.azure.com:v3/fabrikam/Web/site", "/", v3Web},
}

// TestParseRemoteURL checks every accepted form against the whole JSON answer: all 13 fields,
// in order.
func TestParseRemoteURL(t *testing.T) {
	check := func(t *testing.T, r *RemoteURL, err error, want string) {
		t.Helper()
		if err != nil {
			t.Fatalf("rejected: %v (reason %s)", err, connections.AsError(err).Reason)
		}
		got, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if w := wantJSON(t, want); string(got) != w {
			t.Errorf("got  %s\nwant %s", got, w)
		}
		if r.String() != r.CloneURL() {
			t.Errorf("String() = %q, want the clone URL", r.String())
		}
	}
	for _, c := range acceptedURLs {
		t.Run(c.in, func(t *testing.T) {
			r, err := ParseRemoteURL(c.in)
			check(t, r, err, c.want)
		})
	}
	for _, c := range acceptedWithVirtualDirectory {
		t.Run(c.in+" vd="+c.vd, func(t *testing.T) {
			r, err := ParseRemoteURLWithVirtualDirectory(c.in, c.vd)
			check(t, r, err, c.want)
		})
	}
	if n := len(acceptedURLs) + len(acceptedWithVirtualDirectory); n < 100 {
		t.Errorf("only %d accepted cases", n)
	}
}

// TestParseRemoteURLRefsMarker checks that the limited-refs marker is kept apart from the name.
func TestParseRemoteURLRefsMarker(t *testing.T) {
	for in, want := range map[string]string{
		"https://dev.azure.com/fabrikam/Web/_git/site":                  "",
		"https://dev.azure.com/fabrikam/Web/_git/_optimized/site":       "_optimized",
		"https://dev.azure.com/fabrikam/Web/_git/_FULL/site":            "_full",
		"ssh://fabrikam@vs-ssh.visualstudio.com/Web/_ssh/_full/site":    "_full",
		"https://tfs.example.com/tfs/Coll/Web/_git/_Optimized/site?x=1": "_optimized",
	} {
		r, err := ParseRemoteURL(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if r.RefsMarker != want || r.Repository != "site" {
			t.Errorf("%s: RefsMarker %q, Repository %q; want %q, site", in, r.RefsMarker, r.Repository, want)
		}
	}
}

// Distinctive user info for the rejection cases: no message may repeat it.
var (
	fakePAT      = "fakePAT" + strings.Repeat("x9Q", 15) // 52 characters, like a PAT
	fakePassword = "hunter2-Sup3rS3cret"
)

// rejectedURLs are remote URLs that must be refused, with the reason and field of the error.
// A non-empty vd is passed to ParseRemoteURLWithVirtualDirectory.
var rejectedURLs = []struct {
	in, vd string
	reason connections.Reason
	field  string
}{
	{"", "", ReasonNotAURL, "remoteUrl"},
	{" \t ", "", ReasonNotAURL, "remoteUrl"},
	{"not a url", "", ReasonNotAURL, "remoteUrl"},
	{`C:\repos\site`, "", ReasonNotAURL, "remoteUrl"},
	{"://dev.azure.com/fabrikam/Web/_git/site", "", ReasonNotAURL, "remoteUrl"},
	{"https:/" + fakePAT + ":" + fakePassword + "@tfs.example.com/tfs/C/P/_git/R", "", ReasonNotAURL, "remoteUrl"},
	{"https:tfs.example.com/tfs/C/P/_git/R", "", ReasonNotAURL, "remoteUrl"},
	{"https://ho[st/C/P/_git/R", "", ReasonNotAURL, "remoteUrl"},
	{"https://[::1/C/P/_git/R", "", ReasonNotAURL, "remoteUrl"},
	{"https://[::1]x/C/P/_git/R", "", ReasonNotAURL, "remoteUrl"},
	{"https://" + fakePAT + "@/C/P/_git/R", "", ReasonNotAURL, "remoteUrl"},
	{"https://tfs.example.com/C/P/_git/R\nmore", "", ReasonNotAURL, "remoteUrl"},
	{"https://tfs.example.com/" + strings.Repeat("a/", 1100) + "_git/R", "", ReasonNotAURL, "remoteUrl"},
	{"ftp://" + fakePAT + "@tfs.example.com/C/P/_git/R", "", ReasonUnknownScheme, "remoteUrl"},
	{"file:///srv/git/site", "", ReasonUnknownScheme, "remoteUrl"},
	{"https://" + fakePAT + ":" + fakePassword + "@dev.azure.com/fabrikam/Web/_git/site", "", ReasonPasswordInURL, "remoteUrl"},
	{"https://:" + fakePassword + "@tfs.example.com/tfs/C/P/_git/R", "", ReasonPasswordInURL, "remoteUrl"},
	{fakePAT + ":" + fakePassword + "@tfs.example.com/tfs/C/P/_git/R", "", ReasonPasswordInURL, "remoteUrl"},
	{"ssh://" + fakePAT + ":" + fakePassword + "@ssh.dev.azure.com/v3/fabrikam/Web/site", "", ReasonPasswordInURL, "remoteUrl"},
	{fakePAT + ":" + fakePassword + "@ssh.dev.azure.com:v3/fabrikam/Web/site", "", ReasonPasswordInURL, "remoteUrl"},
	{`https://CORP\` + fakePAT + "@tfs.example.com/tfs/C/P/_git/R", "", ReasonBackslashInUser, "remoteUrl"},
	{"https://CORP%5c" + fakePAT + "@tfs.example.com/tfs/C/P/_git/R", "", ReasonBackslashInUser, "remoteUrl"},
	{"https://" + fakePAT + "@dev.azure.com.evil.example/fabrikam/Web/_git/site", "", ReasonLookalikeHost, "remoteUrl"},
	{"https://evil-dev.azure.com/fabrikam/Web/_git/site", "", ReasonLookalikeHost, "remoteUrl"},
	{"https://fabrikam.visualstudio.com.evil.example/Web/_git/site", "", ReasonLookalikeHost, "remoteUrl"},
	{"https://fabrikam.evil.visualstudio.com/Web/_git/site", "", ReasonLookalikeHost, "remoteUrl"},
	{"https://dev.azure.com./fabrikam/Web/_git/site", "", ReasonLookalikeHost, "remoteUrl"},
	{"https://portal.azure.com/fabrikam/Web/_git/site", "", ReasonLookalikeHost, "remoteUrl"},
	{"git@ssh.dev.azure.com.evil.example:v3/fabrikam/Web/site", "", ReasonLookalikeHost, "remoteUrl"},
	{"https://tfs.example.com:99999/tfs/C/P/_git/R", "", ReasonBadPort, "remoteUrl"},
	{"https://tfs.example.com:/tfs/C/P/_git/R", "", ReasonBadPort, "remoteUrl"},
	{"https://tfs.example.com:0/tfs/C/P/_git/R", "", ReasonBadPort, "remoteUrl"},
	{"https://tfs.example.com:+80/tfs/C/P/_git/R", "", ReasonBadPort, "remoteUrl"},
	{"ssh://git@ssh.dev.azure.com:v3/fabrikam/Web/site", "", ReasonBadPort, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/Web/_git/site%zz", "", ReasonBadEscape, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/Web/_git/site%FF", "", ReasonBadEscape, "remoteUrl"},
	{"https://dev.azure.com/fabrikam//Web/_git/site", "", ReasonEmptySegment, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/Web/_git/site//", "", ReasonEmptySegment, "remoteUrl"},
	{"https://tfs.example.com/%20/C/P/_git/R", "", ReasonEmptySegment, "remoteUrl"},
	{"tfs.example.com: /C/P/_ssh/R", "", ReasonEmptySegment, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/Web/_git/%20%20", "", ReasonEmptySegment, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/./Web/_git/site", "", ReasonDotSegment, "remoteUrl"},
	{"https://tfs.example.com/tfs/../C/P/_git/R", "", ReasonDotSegment, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/%2e%2E/_git/site", "", ReasonDotSegment, "remoteUrl"},
	{"https://tfs.example.com/C/P/_git/a%2Fb", "", ReasonEncodedSlash, "remoteUrl"},
	{"https://tfs.example.com/C/a%2fb/_git/R", "", ReasonEncodedSlash, "remoteUrl"},
	{"https://visualstudio.com/Web/_git/site", "", ReasonMissingOrg, "remoteUrl"},
	{"https://" + fakePAT + "@dev.azure.com/_git/site", "", ReasonMissingOrg, "remoteUrl"},
	{"https://DEV.azure.com/", "", ReasonMissingOrg, "remoteUrl"},
	{"git@ssh.dev.azure.com:V3", "", ReasonMissingOrg, "remoteUrl"},
	{"ssh://vs-ssh.visualstudio.com:22/Web/_ssh/site", "", ReasonMissingOrg, "remoteUrl"},
	{"https://" + fakePAT + "@dev.azure.com/DefaultCollection/Web/_git/site", "", ReasonDefaultCollOrg, "remoteUrl"},
	{"git@ssh.dev.azure.com:v3/DefaultCollection/Web/site", "", ReasonDefaultCollOrg, "remoteUrl"},
	{"https://dev.azure.com/-fabrikam/Web/_git/site", "", ReasonInvalidOrg, "remoteUrl"},
	{"https://dev.azure.com/fab_rikam/Web/_git/site", "", ReasonInvalidOrg, "remoteUrl"},
	{"https://fab_rikam.visualstudio.com/Web/_git/site", "", ReasonInvalidOrg, "remoteUrl"},
	{"ssh://" + fakePAT + "@vs-ssh.visualstudio.com:22/Web/_ssh/site", "", ReasonInvalidOrg, "remoteUrl"},
	{"ssh://pat_" + fakePAT + "@vs-ssh.visualstudio.com/DefaultCollection/Web/_ssh/site", "", ReasonInvalidOrg, "remoteUrl"},
	{"https://tfs.example.com/_git/R", "", ReasonMissingCollection, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/Web/site", "", ReasonMissingGit, "remoteUrl"},
	{"https://tfs.example.com/tfs/DefaultCollection/Web", "", ReasonMissingGit, "remoteUrl"},
	{"ssh://tfs.example.com:22/tfs/DefaultCollection/Web/site", "", ReasonMissingGit, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/Web/_git/site/_git/other", "", ReasonSecondGit, "remoteUrl"},
	{"ssh://tfs.example.com/C/P/_ssh/R/_git/S", "", ReasonSecondGit, "remoteUrl"},
	{"git@ssh.dev.azure.com:v3/fabrikam", "", ReasonMissingProject, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/Web/_git/", "", ReasonMissingRepository, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/Web/_git/_optimized", "", ReasonMissingRepository, "remoteUrl"},
	{"git@ssh.dev.azure.com:v3/fabrikam/Web", "", ReasonMissingRepository, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/Web/_git/site/commit/0123abc", "", ReasonPathAfterRepo, "remoteUrl"},
	{"https://" + fakePAT + "@dev.azure.com/fabrikam/Web/_git/site/pullrequest/12", "", ReasonPathAfterRepo, "remoteUrl"},
	{"git@ssh.dev.azure.com:v3/fabrikam/Web/Team/site/extra", "", ReasonPathAfterRepo, "remoteUrl"},
	{"git@ssh.dev.azure.com:v3/fabrikam/Web/Team/_full/site/extra", "", ReasonPathAfterRepo, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/Web/Team/Extra/_git/site", "", ReasonExtraSegments, "remoteUrl"},
	{"https://fabrikam.visualstudio.com/DefaultCollection/Web/Team/Extra/_git/site", "", ReasonExtraSegments, "remoteUrl"},
	{"https://fabrikam.visualstudio.com/Web/Team/Extra/_git/site", "", ReasonExtraSegments, "remoteUrl"},
	{"ssh://fabrikam@vs-ssh.visualstudio.com/Web/Team/Extra/_ssh/site", "", ReasonExtraSegments, "remoteUrl"},
	{"https://dev.azure.com/fabrikam/Web/_team/_git/site", "", ReasonInvalidName, "remoteUrl"},
	{"https://tfs.example.com/tfs/C/_hidden/_git/R", "", ReasonInvalidName, "remoteUrl"},
	{"https://tfs.example.com/_Coll/P/_git/R", "", ReasonInvalidName, "remoteUrl"},
	{"https://tfs.example.com/tfs/C/P/_git/R%00", "", ReasonInvalidName, "remoteUrl"},
	{`https://dev.azure.com/fabrikam/We\b/_git/site`, "", ReasonInvalidName, "remoteUrl"},
	{"https://tfs.example.com/tfs/C/P/_ssh/R", "", ReasonSSHPathOverHTTP, "remoteUrl"},
	{"ssh://tfs.example.com/v3/fabrikam/Web/site", "", ReasonSSHv3NotCloud, "remoteUrl"},
	{"git@tfs.example.com:v3/fabrikam/Web/site", "", ReasonSSHv3NotCloud, "remoteUrl"},
	{"git@ssh.dev.azure.com:fabrikam/Web/_git/site", "", ReasonWrongSSHPath, "remoteUrl"},
	{"git@vs-ssh.visualstudio.com:fabrikam/Web/site", "", ReasonWrongSSHPath, "remoteUrl"},
	{"git@dev.azure.com:v3/fabrikam/Web/site", "", ReasonWrongSSHHost, "remoteUrl"},
	{"https://ssh.dev.azure.com/v3/fabrikam/Web/site", "", ReasonWrongSSHHost, "remoteUrl"},
	// With the caller's virtual directory.
	{"https://tfs.example.com/tfs/C/P/_git/R", "other", ReasonVirtualDirMismatch, "virtualDirectory"},
	{"https://ado.example.com/a/b/Web/_git/site", "a/b/c", ReasonVirtualDirMismatch, "virtualDirectory"},
	{"https://tfs.example.com/tfs/C/P/_git/R", "a//b", ReasonVirtualDirMismatch, "virtualDirectory"},
	{"https://tfs.example.com/tfs/C/P/_git/R", "tfs/../x", ReasonVirtualDirMismatch, "virtualDirectory"},
	{"https://tfs.example.com/tfs/C/P/_git/R", "tfs/_GIT", ReasonVirtualDirMismatch, "virtualDirectory"},
	{"https://" + fakePAT + "@dev.azure.com/fabrikam/Web/_git/site", "tfs", ReasonVirtualDirMismatch, "virtualDirectory"},
	{"git@ssh.dev.azure.com:v3/fabrikam/Web/site", "tfs", ReasonVirtualDirMismatch, "virtualDirectory"},
	{"ssh://fabrikam@vs-ssh.visualstudio.com:22/Web/_ssh/site", "tfs", ReasonVirtualDirMismatch, "virtualDirectory"},
	{"https://ado.example.com/a/b/c/d/e/_git/R", "a", ReasonExtraSegments, "virtualDirectory"},
	{"https://tfs.example.com/tfs/C/P/T/X/_git/R", "tfs", ReasonExtraSegments, "virtualDirectory"},
	{"https://tfs.example.com/tfs/C/P/R", "tfs", ReasonMissingGit, "remoteUrl"},
}

// TestParseRemoteURLRejects checks each refusal's reason and field, and that no message
// repeats the URL or its user info.
func TestParseRemoteURLRejects(t *testing.T) {
	if len(fakePAT) <= 50 {
		t.Fatalf("fakePAT must be longer than an organization name may be")
	}
	for _, c := range rejectedURLs {
		name := c.in
		if len(name) > 100 {
			name = name[:100]
		}
		t.Run(name+" vd="+c.vd, func(t *testing.T) {
			var (
				r   *RemoteURL
				err error
			)
			if c.vd != "" {
				r, err = ParseRemoteURLWithVirtualDirectory(c.in, c.vd)
			} else {
				r, err = ParseRemoteURL(c.in)
			}
			if err == nil {
				t.Fatalf("accepted as %s", r.CloneURL())
			}
			ce := connections.AsError(err)
			if ce == nil || !errors.Is(err, connections.ErrInvalidInput) {
				t.Fatalf("error %v (%T) is not an invalid-input *connections.Error", err, err)
			}
			if ce.Reason != c.reason || ce.Field != c.field {
				t.Errorf("reason %s, field %s (%q); want %s, %s", ce.Reason, ce.Field, ce.Message, c.reason, c.field)
			}
			msg := err.Error()
			if msg == "" {
				t.Error("empty message")
			}
			for _, secret := range []string{fakePAT, fakePassword} {
				if strings.Contains(msg, secret) {
					t.Errorf("message repeats user info: %q", msg)
				}
			}
			if in := strings.TrimSpace(c.in); in != "" && strings.Contains(msg, in) {
				t.Errorf("message repeats the URL: %q", msg)
			}
		})
	}
	if len(rejectedURLs) < 30 {
		t.Errorf("only %d rejected cases", len(rejectedURLs))
	}
}

// TestRedactURL checks that redactURL drops user info and nothing else.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                                      "",
		"https://host/tfs/_signin":              "https://host/tfs/_signin",
		"https://user:pw@host/tfs?x=1":          "https://host/tfs?x=1",
		"https://host/a@b/c":                    "https://host/a@b/c",
		"https://user:p@ss@host/%zz":            "https://host/%zz",
		"https://host/%zz@x":                    "https://host/%zz@x",
		"not a url with @ sign":                 "not a url with @ sign",
		"https://u@login.example.com/p?q=a@b#f": "https://login.example.com/p?q=a@b#f",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// knownReasons are the reasons ParseRemoteURL may answer with.
var knownReasons = map[connections.Reason]bool{
	ReasonNotAURL: true, ReasonUnknownScheme: true, ReasonLookalikeHost: true, ReasonPasswordInURL: true,
	ReasonBackslashInUser: true, ReasonBadPort: true, ReasonBadEscape: true, ReasonEmptySegment: true,
	ReasonDotSegment: true, ReasonEncodedSlash: true, ReasonMissingOrg: true, ReasonDefaultCollOrg: true,
	ReasonInvalidOrg: true, ReasonMissingCollection: true, ReasonMissingGit: true, ReasonSecondGit: true,
	ReasonMissingProject: true, ReasonMissingRepository: true, ReasonPathAfterRepo: true,
	ReasonExtraSegments: true, ReasonInvalidName: true, ReasonPlusInName: true, ReasonSSHPathOverHTTP: true,
	ReasonSSHv3NotCloud: true, ReasonWrongSSHPath: true, ReasonWrongSSHHost: true, ReasonVirtualDirMismatch: true,
}

// legacyServicesHost is {org}.visualstudio.com, written independently of the parser.
var legacyServicesHost = regexp.MustCompile(`^[a-z0-9-]+\.visualstudio\.com$`)

// isServicesHost reports whether h may be an Azure DevOps Services host (docs/azure-devops-protocol.md §2).
func isServicesHost(h string) bool {
	switch h {
	case "dev.azure.com", "ssh.dev.azure.com", "vs-ssh.visualstudio.com":
		return true
	}
	return legacyServicesHost.MatchString(h)
}

// userInfoSpan returns where the user info of the (trimmed) input is: in scheme://authority
// the part of the authority before its last "@"; in the scp-like form, the part before the
// first "@" of what precedes the first slash. ok is false when there is none.
func userInfoSpan(s string) (start, end int, ok bool) {
	if i := strings.Index(s, "://"); i >= 0 {
		auth := s[i+3:]
		if j := strings.IndexAny(auth, "/?#"); j >= 0 {
			auth = auth[:j]
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			return i + 3, i + 3 + at, true
		}
		return 0, 0, false
	}
	head := s
	if j := strings.IndexByte(head, '/'); j >= 0 {
		head = head[:j]
	}
	if at := strings.IndexByte(head, '@'); at >= 0 {
		return 0, at, true
	}
	return 0, 0, false
}

// disguise changes every ASCII letter and digit of s (rot13, rot5) but keeps %-escapes and
// punctuation, so user info changed this way is read the same way by the parser.
func disguise(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '%':
			i += 2
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		case c >= '0' && c <= '9':
			b[i] = '0' + (c-'0'+5)%10
		}
	}
	return string(b)
}

// parseWith calls ParseRemoteURL, or ParseRemoteURLWithVirtualDirectory when withVD.
func parseWith(s, vd string, withVD bool) (*RemoteURL, error) {
	if withVD {
		return ParseRemoteURLWithVirtualDirectory(s, vd)
	}
	return ParseRemoteURL(s)
}

// checkRejected asserts the properties of every refusal.
func checkRejected(t *testing.T, s, vd string, withVD bool, err error) {
	t.Helper()
	ce := connections.AsError(err)
	if ce == nil || !errors.Is(err, connections.ErrInvalidInput) {
		t.Fatalf("%q: error %v (%T) is not an invalid-input *connections.Error", s, err, err)
	}
	if !knownReasons[ce.Reason] {
		t.Fatalf("%q: unknown reason %q", s, ce.Reason)
	}
	if ce.Field != "remoteUrl" && !(withVD && ce.Field == "virtualDirectory") {
		t.Fatalf("%q: field %q", s, ce.Field)
	}
	msg := err.Error()
	if msg == "" {
		t.Fatalf("%q: empty message", s)
	}
	trimmed := strings.TrimSpace(s)
	start, end, ok := userInfoSpan(trimmed)
	if !ok || end-start < 8 {
		return
	}
	ui := trimmed[start:end]
	if !strings.Contains(msg, ui) {
		return
	}
	// The message has the user info's text. It is a leak unless that text comes from
	// elsewhere (the path, the virtual directory, the message's own words): then the same
	// input with other user info still answers with it.
	other := trimmed[:start] + disguise(ui) + trimmed[end:]
	_, err2 := parseWith(other, vd, withVD)
	if disguise(ui) == ui || err2 == nil || !strings.Contains(err2.Error(), ui) {
		t.Fatalf("%q: the message repeats the user info: %q", s, msg)
	}
}

// checkAccepted asserts the properties of every accepted URL, including the round trip of its
// clone URL.
func checkAccepted(t *testing.T, s string, withVD bool, r *RemoteURL) {
	t.Helper()
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("%q: MarshalJSON: %v", s, err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil || len(fields) != 13 {
		t.Fatalf("%q: JSON %s does not have the 13 fields", s, raw)
	}
	switch r.Kind {
	case KindServices:
		if !isServicesHost(r.Host) {
			t.Fatalf("%q: host %q is read as Azure DevOps Services", s, r.Host)
		}
		if r.Organization == "" || r.Collection != r.Organization || r.VirtualDirectory != "" {
			t.Fatalf("%q: Services with org %q, collection %q, vd %q", s, r.Organization, r.Collection, r.VirtualDirectory)
		}
	case KindServer:
		if strings.Contains(r.Host, "dev.azure.com") || strings.Contains(r.Host, "visualstudio.com") {
			t.Fatalf("%q: look-alike host %q accepted as a Server", s, r.Host)
		}
		if r.Organization != "" || r.Collection == "" {
			t.Fatalf("%q: Server with org %q, collection %q", s, r.Organization, r.Collection)
		}
	default:
		t.Fatalf("%q: kind %q", s, r.Kind)
	}
	if withVD && r.Guessed {
		t.Fatalf("%q: guessed despite the given virtual directory", s)
	}
	if r.Scheme != "https" && r.Scheme != "http" && r.Scheme != "ssh" {
		t.Fatalf("%q: scheme %q", s, r.Scheme)
	}
	if r.Host == "" || r.Host != strings.ToLower(r.Host) || strings.ContainsAny(r.Host, "[]@/ ") {
		t.Fatalf("%q: host %q", s, r.Host)
	}
	if r.Port != "" {
		if n, err := strconv.Atoi(r.Port); err != nil || n < 1 || n > 65535 {
			t.Fatalf("%q: port %q", s, r.Port)
		}
	}
	if r.Project == "" || r.Repository == "" {
		t.Fatalf("%q: project %q, repository %q", s, r.Project, r.Repository)
	}
	// Where net/url can read the input, it names the same host and port.
	trimmed := strings.TrimSpace(s)
	if strings.Contains(trimmed, "://") {
		if u, err := url.Parse(trimmed); err == nil {
			if h := strings.ToLower(u.Hostname()); h != r.Host || u.Port() != r.Port {
				t.Fatalf("%q: host %q port %q; net/url reads %q, %q", s, r.Host, r.Port, h, u.Port())
			}
		}
	}

	coll, clone, web := r.CollectionURL(), r.CloneURL(), r.WebURL()
	for _, d := range []string{coll, clone, web} {
		if strings.ContainsAny(d, "@ +") {
			t.Fatalf("%q: derived URL %q has an @, a space or a + (a name's + is written %%2B)", s, d)
		}
	}
	if !strings.HasPrefix(clone, coll+"/") || web != clone {
		t.Fatalf("%q: collectionUrl %q, cloneUrl %q, webUrl %q", s, coll, clone, web)
	}
	u, err := url.Parse(clone)
	if err != nil || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		t.Fatalf("%q: clone URL %q is not a plain http(s) URL (%v)", s, clone, err)
	}
	if r.Kind == KindServices && !(u.Hostname() == "dev.azure.com" || legacyServicesHost.MatchString(u.Hostname())) {
		t.Fatalf("%q: Services clone URL %q", s, clone)
	}
	// An explicit http(s) port is kept unless it is a default one; an SSH port never is.
	wantPort := r.Port
	switch {
	case r.Scheme == "ssh", r.Scheme == "https" && r.Port == "443", r.Scheme == "http" && r.Port == "80":
		wantPort = ""
	case r.Kind == KindServices && r.Port == "443": // http://dev.azure.com:443, upgraded to https
		wantPort = ""
	}
	if u.Port() != wantPort {
		t.Fatalf("%q: port %q, clone URL %q has port %q, want %q", s, r.Port, clone, u.Port(), wantPort)
	}

	// The clone URL, with the virtual directory, reads back as the same repository.
	r2, err := ParseRemoteURLWithVirtualDirectory(clone, r.VirtualDirectory)
	if err != nil {
		t.Fatalf("%q: clone URL %q with vd %q is rejected: %v", s, clone, r.VirtualDirectory, err)
	}
	sameRepo(t, s, clone, r, r2)
	if r2.Guessed {
		t.Fatalf("%q: clone URL %q read back as guessed", s, clone)
	}
	if r2.CloneURL() != clone {
		t.Fatalf("%q: clone URL %q reads back with clone URL %q", s, clone, r2.CloneURL())
	}
	if r.Kind == KindServices {
		r3, err := ParseRemoteURL(clone)
		if err != nil {
			t.Fatalf("%q: clone URL %q is rejected: %v", s, clone, err)
		}
		sameRepo(t, s, clone, r, r3)
	}
}

// sameRepo asserts that r2, read from r's clone URL, names the same repository. Organization
// names are compared without case when the clone URL carries the organization in a host name
// ({org}.visualstudio.com), since host names are lower-case (and organization names are not
// case-sensitive in Azure DevOps).
func sameRepo(t *testing.T, s, clone string, r, r2 *RemoteURL) {
	t.Helper()
	eqOrg := func(a, b string) bool { return a == b }
	if strings.HasSuffix(r2.Host, ".visualstudio.com") {
		eqOrg = strings.EqualFold
	}
	if r2.Kind != r.Kind || !eqOrg(r2.Organization, r.Organization) || !eqOrg(r2.Collection, r.Collection) ||
		r2.VirtualDirectory != r.VirtualDirectory || r2.Project != r.Project || r2.Repository != r.Repository {
		t.Fatalf("%q: clone URL %q reads back as %s %q/%q/%q/%q/%q, not %s %q/%q/%q/%q/%q", s, clone,
			r2.Kind, r2.Organization, r2.VirtualDirectory, r2.Collection, r2.Project, r2.Repository,
			r.Kind, r.Organization, r.VirtualDirectory, r.Collection, r.Project, r.Repository)
	}
}

// FuzzParseRemoteURL checks, for any input and virtual directory: no panic; refusals are
// invalid-input *connections.Error values with a known reason that never repeat user info;
// Services only on Services hosts; derived URLs without @, spaces or a + for a space; and the
// clone URL reads back as the same repository.
func FuzzParseRemoteURL(f *testing.F) {
	for _, c := range acceptedURLs {
		f.Add(c.in, "")
	}
	for _, c := range acceptedWithVirtualDirectory {
		f.Add(c.in, c.vd)
	}
	for _, c := range rejectedURLs {
		if len(c.in) < 300 {
			f.Add(c.in, c.vd)
		}
	}
	f.Fuzz(func(t *testing.T, s, vd string) {
		for _, withVD := range []bool{false, true} {
			r, err := parseWith(s, vd, withVD)
			if err != nil {
				if r != nil {
					t.Fatalf("%q: both a result and an error", s)
				}
				checkRejected(t, s, vd, withVD, err)
				continue
			}
			checkAccepted(t, s, withVD, r)
		}
	})
}

// BenchmarkParseRemoteURL measures the parser on representative forms.
func BenchmarkParseRemoteURL(b *testing.B) {
	for _, c := range []struct{ name, url string }{
		{"services", "https://fabrikam@dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/ios-app"},
		{"legacy", "https://fabrikam.visualstudio.com/DefaultCollection/Web/_git/site"},
		{"sshv3", "git@ssh.dev.azure.com:v3/fabrikam/Web/site"},
		{"onprem-tfs", "https://tfs.example.com:8443/tfs/DefaultCollection/Team%20A/_git/app%20one"},
		{"guessed-deep-vd", "https://ado.example.com/a/b/c/Main/Web/_git/site"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseRemoteURL(c.url); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
