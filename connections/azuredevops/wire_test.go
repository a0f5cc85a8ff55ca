package azuredevops

import (
	"encoding/json"
	"testing"
)

// Decoding of captured and altered answer shapes: enums as names and numbers, unknown enum
// values, scalars of another JSON type, parts of another shape, extra fields.

func TestDecodeProject(t *testing.T) {
	cases := []struct {
		name, body            string
		id, pname, state, vis string
	}{
		// core/7.1 httpExamples (projects list): names.
		{"names", `{"id":"eb6e4656-77fc-42a1-9181-4c6d8e9da5d1","name":"Fabrikam-Fiber-TFVC","url":"https://dev.azure.com/fabrikam/_apis/projects/eb6e4656-77fc-42a1-9181-4c6d8e9da5d1","state":"wellFormed","revision":411518573,"visibility":"private","lastUpdateTime":"2019-01-01T00:00:00Z"}`,
			"eb6e4656-77fc-42a1-9181-4c6d8e9da5d1", "Fabrikam-Fiber-TFVC", "wellFormed", "private"},
		// git/7.1 vsts/info example: the state as a number.
		{"vsts/info numbers", `{"id":"3b3ae425-0079-421f-9101-bcf15d6df041","name":"FabrikamCloud","url":"u","state":1,"revision":411518573}`,
			"3b3ae425-0079-421f-9101-bcf15d6df041", "FabrikamCloud", "wellFormed", ""},
		{"every state number", `{"id":"p","name":"n","state":3,"visibility":2}`, "p", "n", "createPending", "public"},
		{"negative numbers", `{"id":"p","name":"n","state":-2,"visibility":-1}`, "p", "n", "unchanged", "unchanged"},
		{"names in .NET casing", `{"id":"p","name":"n","state":"WellFormed","visibility":"Organization"}`, "p", "n", "wellFormed", "organization"},
		{"number as a string", `{"id":"p","name":"n","state":"4","visibility":"3"}`, "p", "n", "deleted", "systemPrivate"},
		{"unknown number", `{"id":"p","name":"n","state":17,"visibility":99}`, "p", "n", "unknown", "unknown"},
		{"unknown name kept", `{"id":"p","name":"n","state":"archived","visibility":"internal"}`, "p", "n", "archived", "internal"},
		{"fraction and object", `{"id":"p","name":"n","state":1.5,"visibility":{"x":1}}`, "p", "n", "unknown", "unknown"},
		{"null enums", `{"id":"p","name":"n","state":null,"visibility":null}`, "p", "n", "", ""},
		{"id a number, description an object", `{"id":12,"name":"n","description":{"text":"x"},"state":1}`, "12", "n", "wellFormed", ""},
		{"extra fields of every kind", `{"id":"p","name":"n","state":"wellFormed","abbreviation":null,"defaultTeamImageUrl":7,"_links":{"self":{"href":"x"}},"new":[1,{"a":2}]}`, "p", "n", "wellFormed", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p wireProject
			if err := decodeWire([]byte(c.body), &p); err != nil {
				t.Fatalf("decode: %v", err)
			}
			got := p.toProject()
			if got.ID != c.id || got.Name != c.pname || got.State != c.state || got.Visibility != c.vis {
				t.Errorf("got %+v, want id %q name %q state %q visibility %q", got, c.id, c.pname, c.state, c.vis)
			}
		})
	}
}

func TestDecodeUnknownEnumNameIsBounded(t *testing.T) {
	long := make([]byte, 200)
	for i := range long {
		long[i] = 'a'
	}
	var p wireProject
	if err := decodeWire([]byte(`{"state":"`+string(long)+`\u0007"}`), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.State) != maxEnumText {
		t.Errorf("an unknown state of %d bytes, want it cut to %d", len(p.State), maxEnumText)
	}
}

func TestDecodeRepositoryList(t *testing.T) {
	body := `{"count":"2","value":[
	 {"id":"r1","name":"Platform","url":"u","project":{"id":"p1","name":"Platform","state":1,"revision":"7"},
	  "defaultBranch":"refs/heads/main","size":"1024","remoteUrl":"https://user:pw@host/c/Platform/_git/Platform","sshUrl":"ssh://h/x","webUrl":"w","isDisabled":"true","isFork":1,"parentRepository":null},
	 {"id":"r2","name":"empty","project":"Platform","size":12.9,"isDisabled":0,"isInMaintenance":false,"validRemoteUrls":["a"]}]}`
	var l wireList[wireRepository]
	if err := decodeWire([]byte(body), &l); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if l.Count != 2 || len(l.Value) != 2 {
		t.Fatalf("count %d, %d values", l.Count, len(l.Value))
	}
	r1, r2 := l.Value[0].toRepository(), l.Value[1].toRepository()
	if r1.Project.Name != "Platform" || r1.DefaultBranch != "main" || r1.Size != 1024 || !r1.IsDisabled || r1.IsEmpty {
		t.Errorf("r1 %+v", r1)
	}
	if r1.RemoteURL != "https://host/c/Platform/_git/Platform" {
		t.Errorf("the remote URL keeps user information: %q", r1.RemoteURL)
	}
	// A project that is not an object reads as no project, not as a failed list.
	if r2.Name != "empty" || r2.Project.Name != "" || r2.Size != 12 || r2.IsDisabled || !r2.IsEmpty {
		t.Errorf("r2 %+v", r2)
	}
}

func TestDecodeListFrame(t *testing.T) {
	// The frame of a list is required: without an array of objects there is no list to read.
	for _, body := range []string{`{"value":"none"}`, `{"value":[1,2]}`, `[{"id":"x"}]`, `"text"`} {
		var l wireList[wireProject]
		if err := decodeWire([]byte(body), &l); err == nil {
			t.Errorf("%s decoded as a list: %+v", body, l)
		}
	}
	var l wireList[wireRef]
	if err := decodeWire([]byte(`{"value":[{"name":"refs/heads/main","objectId":"abc","creator":{"id":1},"url":5}],"count":1,"extra":true}`), &l); err != nil || len(l.Value) != 1 || l.Value[0].Name != "refs/heads/main" || l.Value[0].ObjectID != "abc" {
		t.Errorf("refs: %v %+v", err, l)
	}
}

func TestDecodeConnectionData(t *testing.T) {
	cases := []struct {
		name, body                  string
		deployment, public, account string
	}{
		{"names", `{"authenticatedUser":{"id":"u1","providerDisplayName":"Ann","properties":{"Account":{"$type":"System.String","$value":"ann@fabrikam.com"}}},"deploymentType":"onPremises","locationServiceData":{"defaultAccessMappingMoniker":"PublicAccessMapping","accessMappings":[{"moniker":"ServerAccessMapping","accessPoint":"http://a"},{"moniker":"PublicAccessMapping","accessPoint":"http://b"}]}}`,
			"onPremises", "http://b", "ann@fabrikam.com"},
		{"DeploymentFlags numbers", `{"authenticatedUser":{"id":"u1","properties":{}},"deploymentType":1,"instanceId":"x"}`, "hosted", "", ""},
		{"DeploymentFlags 2 as a string", `{"deploymentType":"2"}`, "onPremises", "", ""},
		{"unknown deployment", `{"deploymentType":8}`, "unknown", "", ""},
		{"parts of another shape", `{"authenticatedUser":"u1","deploymentType":"hosted","locationServiceData":{"accessMappings":{"moniker":"x"}}}`, "hosted", "", ""},
		{"account not an object", `{"authenticatedUser":{"id":"u1","properties":{"Account":"ann"}},"locationServiceData":{"accessMappings":[{"moniker":1,"accessPoint":"http://c"}]}}`, "", "http://c", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cd wireConnectionData
			if err := decodeWire([]byte(c.body), &cd); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if string(cd.DeploymentType) != c.deployment || cd.publicURL() != c.public || cd.AuthenticatedUser.toUser().UniqueName != c.account {
				t.Errorf("deployment %q public %q account %q", cd.DeploymentType, cd.publicURL(), cd.AuthenticatedUser.toUser().UniqueName)
			}
		})
	}
}

func TestDecodeVstsInfo(t *testing.T) {
	// The REST specification's example, word for word in its shape
	// (git/7.1/httpExamples/repositories/GET__git_repositories__remoteurl.json).
	spec := `{"serverUrl":"https://dev.azure.com/fabrikam","collection":{"id":"e22ddea7-989e-455d-b46a-67e991b04714","name":"fabrikam","url":"https://dev.azure.com/fabrikam/_apis/projectCollections/e22ddea7-989e-455d-b46a-67e991b04714"},"repository":{"id":"2f3d611a-f012-4b39-b157-8db63f380226","name":"FabrikamCloud","url":"https://dev.azure.com/fabrikam/_apis/git/repositories/2f3d611a-f012-4b39-b157-8db63f380226","project":{"id":"3b3ae425-0079-421f-9101-bcf15d6df041","name":"FabrikamCloud","url":"https://dev.azure.com/fabrikam/_apis/projects/3b3ae425-0079-421f-9101-bcf15d6df041","state":1,"revision":411518573},"remoteUrl":"https://dev.azure.com/fabrikam/FabrikamCloud/_git/FabrikamCloud"}}`
	var info wireVstsInfo
	if err := decodeWire([]byte(spec), &info); err != nil {
		t.Fatalf("the spec's example: %v", err)
	}
	if info.Collection.Name != "fabrikam" || info.Repository.Name != "FabrikamCloud" || info.Repository.Project.Name != "FabrikamCloud" ||
		info.Repository.Project.State != "wellFormed" || info.ServerURL != "https://dev.azure.com/fabrikam" {
		t.Errorf("%+v", info)
	}
	// The same with names, extra fields, and parts the client does not need in other shapes.
	odd := `{"serverUrl":5,"collection":{"id":1,"name":"fabrikam","avatarUrl":{}},"repository":{"name":"FabrikamCloud","project":{"name":"FabrikamCloud","state":"wellFormed","visibility":1},"size":"big","_links":[]},"new":{"a":[1]}}`
	info = wireVstsInfo{}
	if err := decodeWire([]byte(odd), &info); err != nil {
		t.Fatalf("odd shape: %v", err)
	}
	if info.Collection.Name != "fabrikam" || info.Repository.Project.Visibility != "organization" || info.ServerURL != "5" {
		t.Errorf("%+v", info)
	}
}

func TestDecodeTokenAnswerOddFields(t *testing.T) {
	// A token answer whose token type and scope have other types than the providers send today
	// still gives the token (the token is always sent as Bearer; the scope is informational).
	var tj tokenJSON
	body := `{"access_token":"at","token_type":5,"scope":["vso.code"],"expires_in":"3599","refresh_token":"rt","ext_expires_in":3599,"foci":null}`
	if err := json.Unmarshal([]byte(body), &tj); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if tj.AccessToken != "at" || tj.RefreshToken != "rt" || tj.expiresIn() != 3599 || tj.Scope != "" {
		t.Errorf("%+v", tj)
	}
}
