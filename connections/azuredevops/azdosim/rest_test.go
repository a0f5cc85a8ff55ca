package azdosim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestProjectsPagingAcrossThreePages(t *testing.T) {
	s := startServer(t, Options{Seed: true, VirtualDir: "tfs"})
	if _, err := s.AddProject("", "Zeta"); err != nil {
		t.Fatal(err)
	}
	var names []string
	token := ""
	pages := 0
	for {
		u := s.URL() + "/DefaultCollection/_apis/projects?$top=1&api-version=7.0"
		if token != "" {
			u += "&continuationToken=" + url.QueryEscape(token)
		}
		a := get(t, u, testPAT, false)
		mustStatus(t, a, http.StatusOK)
		var list struct {
			Count int `json:"count"`
			Value []struct {
				ID, Name, State, Visibility, URL string
			} `json:"value"`
		}
		a.json(t, &list)
		if list.Count != 1 || len(list.Value) != 1 {
			t.Fatalf("page %d: %s", pages, a.body)
		}
		p := list.Value[0]
		if p.State != "wellFormed" || p.Visibility != "private" || !strings.HasSuffix(p.URL, "/_apis/projects/"+p.ID) {
			t.Errorf("project fields: %+v", p)
		}
		names = append(names, p.Name)
		pages++
		token = a.header.Get("X-MS-ContinuationToken")
		if token == "" || pages > 5 {
			break
		}
	}
	want := []string{"Fabrikam Mobile", "Platform", "Zeta"}
	if pages != 3 || strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("pages %d names %v, want 3 pages %v", pages, names, want)
	}
	// Without $top everything comes on one page, without a token.
	a := get(t, s.URL()+"/DefaultCollection/_apis/projects?api-version=6.0", testPAT, false)
	if a.header.Get("X-MS-ContinuationToken") != "" || !strings.Contains(string(a.body), `"count":3`) {
		t.Fatalf("unpaged: %s", a.body)
	}
	// A garbage token is a 400.
	a = get(t, s.URL()+"/DefaultCollection/_apis/projects?continuationToken=%21%21", testPAT, false)
	mustStatus(t, a, http.StatusBadRequest)
}

func TestAPIVersionCeilingPerServerVersion(t *testing.T) {
	cases := []struct {
		server, version string
		status          int
		typeKey, msg    string
	}{
		{"2019", "5.0", 200, "", ""},
		{"2019", "5.1-preview.1", 400, "VssVersionOutOfRangeException", "The requested REST API version of 5.1 is out of range for this server. The latest REST API version this server supports is 5.0."},
		{"2019", "6.0", 400, "VssVersionOutOfRangeException", "version of 6.0 is out of range"},
		{"2020", "6.0", 200, "", ""},
		{"2020", "6.0-preview", 200, "", ""},
		{"2020", "7.0", 400, "VssVersionOutOfRangeException", "The latest REST API version this server supports is 6.0."},
		{"2022", "7.0", 200, "", ""},
		{"2022", "", 200, "", ""},
		{"2022", "7.1", 400, "VssVersionOutOfRangeException", "The requested REST API version of 7.1 is out of range for this server. The latest REST API version this server supports is 7.0."},
		{"2022.1", "7.1", 200, "", ""},
		{"2022.1", "7.2-preview.1", 400, "VssVersionOutOfRangeException", "supports is 7.1."},
		{"2022", "seven", 400, "VssInvalidApiVersionException", "seven"},
		{"2022", "7", 400, "VssInvalidApiVersionException", ""},
	}
	servers := map[string]*Server{}
	for _, c := range cases {
		if servers[c.server] == nil {
			servers[c.server] = startServer(t, Options{ServerVersion: c.server})
		}
	}
	for _, c := range cases {
		t.Run(c.server+"/"+c.version, func(t *testing.T) {
			u := servers[c.server].URL() + "/DefaultCollection/_apis/projects"
			if c.version != "" {
				u += "?api-version=" + c.version
			}
			a := get(t, u, testPAT, false)
			if c.status == 200 {
				mustStatus(t, a, 200)
				return
			}
			wantEnvelope(t, a, c.status, c.typeKey, c.msg)
		})
	}
	if _, err := New(Options{ServerVersion: "2018"}); err == nil {
		t.Fatal("New accepted server version 2018")
	}
}

func TestConnectionDataIsPreviewOnly(t *testing.T) {
	s := startServer(t, Options{VirtualDir: "tfs"})
	a := get(t, s.URL()+"/DefaultCollection/_apis/connectionData?connectOptions=includeServices&api-version=7.0", testPAT, false)
	wantEnvelope(t, a, 400, "VssInvalidPreviewVersionException",
		`The requested version "7.0" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: "7.0-preview"`)

	for _, path := range []string{"/DefaultCollection/_apis/connectionData", "/_apis/connectionData"} {
		for _, v := range []string{"7.0-preview", "6.0-preview.1", ""} {
			u := s.URL() + path + "?connectOptions=includeServices"
			if v != "" {
				u += "&api-version=" + v
			}
			a := get(t, u, testPAT, false)
			mustStatus(t, a, 200)
			var cd struct {
				AuthenticatedUser struct {
					ID                  string `json:"id"`
					ProviderDisplayName string `json:"providerDisplayName"`
					IsActive            bool   `json:"isActive"`
					SubjectDescriptor   string `json:"subjectDescriptor"`
					Properties          struct {
						Account struct {
							Type  string `json:"$type"`
							Value string `json:"$value"`
						} `json:"Account"`
					} `json:"properties"`
				} `json:"authenticatedUser"`
				AuthorizedUser      struct{ ID string } `json:"authorizedUser"`
				InstanceID          string              `json:"instanceId"`
				DeploymentID        string              `json:"deploymentId"`
				DeploymentType      string              `json:"deploymentType"`
				LocationServiceData struct {
					DefaultAccessMappingMoniker string `json:"defaultAccessMappingMoniker"`
					AccessMappings              []struct {
						DisplayName, Moniker, AccessPoint, VirtualDirectory string
					} `json:"accessMappings"`
				} `json:"locationServiceData"`
			}
			a.json(t, &cd)
			u0 := cd.AuthenticatedUser
			if u0.ProviderDisplayName != "Demo User" || !u0.IsActive || u0.Properties.Account.Value != `DOMAIN\demo` ||
				u0.Properties.Account.Type != "System.String" || u0.ID == "" || cd.AuthorizedUser.ID != u0.ID || u0.SubjectDescriptor == "" {
				t.Errorf("user: %+v", cd.AuthenticatedUser)
			}
			if cd.DeploymentType != "onPremises" || cd.InstanceID == "" || cd.DeploymentID == "" {
				t.Errorf("deployment: %s", a.body)
			}
			ls := cd.LocationServiceData
			if ls.DefaultAccessMappingMoniker != "PublicAccessMapping" || len(ls.AccessMappings) != 1 ||
				ls.AccessMappings[0].AccessPoint != s.URL() || ls.AccessMappings[0].Moniker != "PublicAccessMapping" ||
				ls.AccessMappings[0].DisplayName != "Public Access Mapping" {
				t.Errorf("location data: %+v", ls)
			}
			if got, want := a.header.Get("X-VSS-UserData"), u0.ID+`:DOMAIN\demo`; got != want {
				t.Errorf("X-VSS-UserData %q, want %q", got, want)
			}
		}
	}
}

func TestAuthenticationFailures(t *testing.T) {
	s := startServer(t, Options{Seed: true},
		PAT{Token: "expired", Expires: time.Now().Add(-time.Hour)},
		PAT{Token: "code-only", Scopes: []string{"vso.code"}},
		PAT{Token: "project-only", Scopes: []string{"vso.project"}},
		PAT{Token: "code-write", Scopes: []string{"vso.code_write", "vso.project_manage"}},
		PAT{Token: "app", Scopes: []string{"app_token"}},
		PAT{Token: "other-coll", Collections: []string{"OtherCollection"}},
		PAT{Token: "this-coll", Collections: []string{"defaultcollection"}},
	)
	projects := s.URL() + "/DefaultCollection/_apis/projects?api-version=7.0"
	repos := s.URL() + "/DefaultCollection/_apis/git/repositories?api-version=7.0"
	conn := s.URL() + "/DefaultCollection/_apis/connectionData?api-version=7.0-preview"
	expiredMsg := "Access Denied: The Personal Access Token used has expired."
	cases := []struct {
		name, url, token string
		noSuppress       bool
		status           int
		typeKey, msg     string
	}{
		{"no credential", projects, "", false, 401, "UnauthorizedRequestException", "TF400813"},
		{"no credential, no suppress", projects, "", true, 401, "UnauthorizedRequestException", "TF400813"},
		{"unknown token", projects, "nope", false, 401, "UnauthorizedRequestException", ""},
		{"expired", projects, "expired", false, 401, "AccessCheckException", expiredMsg},
		{"expired, no suppress", projects, "expired", true, 203, "", ""},
		{"unknown, no suppress", repos, "nope", true, 203, "", ""},
		{"valid, no suppress", projects, testPAT, true, 200, "", ""},
		{"scope vso.code on projects", projects, "code-only", false, 401, "UnauthorizedRequestException", "vso.project"},
		{"scope vso.code on repositories", repos, "code-only", false, 200, "", ""},
		{"scope vso.project on repositories", repos, "project-only", false, 401, "UnauthorizedRequestException", "vso.code"},
		{"scope vso.project on projects", projects, "project-only", false, 200, "", ""},
		{"higher scopes imply lower", repos, "code-write", false, 200, "", ""},
		{"higher project scope", projects, "code-write", false, 200, "", ""},
		{"app_token", projects, "app", false, 200, "", ""},
		{"connectionData any scope", conn, "code-only", false, 200, "", ""},
		{"other collection", repos, "other-coll", false, 401, "UnauthorizedRequestException", ""},
		{"collection matched case-insensitively", repos, "this-coll", false, 200, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := get(t, c.url, c.token, c.noSuppress)
			switch c.status {
			case 200:
				mustStatus(t, a, 200)
			case 203:
				mustStatus(t, a, 203)
				if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(a.body), "<html") {
					t.Errorf("203 answer: %q %q", ct, a.body)
				}
			default:
				wantEnvelope(t, a, c.status, c.typeKey, c.msg)
				if c.status == 401 && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), `Basic realm="127.0.0.1:`) {
					t.Errorf("WWW-Authenticate %q", a.header.Get("WWW-Authenticate"))
				}
				if c.status == 401 && a.header.Get("X-VSS-UserData") != "" && c.typeKey == "AccessCheckException" {
					t.Errorf("X-VSS-UserData on a rejected credential")
				}
			}
		})
	}
	// The expired message also comes URL-encoded in X-TFS-ServiceError.
	a := get(t, projects, "expired", false)
	got, err := url.QueryUnescape(a.header.Get("X-TFS-ServiceError"))
	if err != nil || got != expiredMsg {
		t.Fatalf("X-TFS-ServiceError %q (%v)", a.header.Get("X-TFS-ServiceError"), err)
	}
	// REST accepts any user name with the PAT as password.
	req, _ := http.NewRequest(http.MethodGet, projects, nil)
	req.SetBasicAuth("whoever", testPAT)
	mustStatus(t, send(t, req), 200)
}

func TestCorrelationHeaders(t *testing.T) {
	s := startServer(t, Options{})
	a := get(t, s.URL()+"/DefaultCollection/_apis/projects", testPAT, false)
	b := get(t, s.URL()+"/DefaultCollection/_apis/projects", "", false)
	for _, x := range []answer{a, b} {
		for _, h := range []string{"ActivityId", "X-VSS-E2EID", "X-TFS-ProcessId"} {
			if x.header.Get(h) == "" {
				t.Errorf("missing %s", h)
			}
		}
	}
	if a.header.Get("X-VSS-E2EID") == b.header.Get("X-VSS-E2EID") || a.header.Get("X-TFS-ProcessId") != b.header.Get("X-TFS-ProcessId") {
		t.Errorf("E2EID must change per request, ProcessId must not")
	}
	if a.header.Get("X-VSS-UserData") == "" || b.header.Get("X-VSS-UserData") != "" {
		t.Errorf("X-VSS-UserData only on authenticated answers")
	}
}
