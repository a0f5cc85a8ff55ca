package azuredevops

import (
	"errors"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
)

// TestEndpointFromServerURL covers NewEndpoint: the server URL plus collection a user types.
func TestEndpointFromServerURL(t *testing.T) {
	cases := []struct {
		server, coll                string
		vd, wantColl, collectionURL string
	}{
		{"http://127.0.0.1:8080/tfs", "DefaultCollection", "tfs", "DefaultCollection", "http://127.0.0.1:8080/tfs/DefaultCollection"},
		{"https://tfs.example.com", "tfs/DefaultCollection", "tfs", "DefaultCollection", "https://tfs.example.com/tfs/DefaultCollection"},
		{"https://tfs.example.com/tfs/DefaultCollection/", "DefaultCollection", "tfs", "DefaultCollection", "https://tfs.example.com/tfs/DefaultCollection"},
		{"https://tfs.example.com/tfs/DefaultCollection", "tfs/DefaultCollection", "tfs", "DefaultCollection", "https://tfs.example.com/tfs/DefaultCollection"},
		{"https://tfs.example.com/TFS/defaultcollection", "tfs/DefaultCollection", "tfs", "DefaultCollection", "https://tfs.example.com/tfs/DefaultCollection"},
		{"https://ado.example.com/a/b", "Main Collection", "a/b", "Main Collection", "https://ado.example.com/a/b/Main%20Collection"},
		{"https://dev.azure.com/fabrikam", "", "", "fabrikam", "https://dev.azure.com/fabrikam"},
		{"https://fabrikam.visualstudio.com", "DefaultCollection", "", "fabrikam", "https://fabrikam.visualstudio.com"},
		{"https://azure.company.example/tfs", "DefaultCollection", "tfs", "DefaultCollection", "https://azure.company.example/tfs/DefaultCollection"},
	}
	for _, c := range cases {
		ep, err := NewEndpoint(c.server, c.coll)
		if err != nil {
			t.Errorf("NewEndpoint(%q, %q): %v", c.server, c.coll, err)
			continue
		}
		if ep.VirtualDirectory != c.vd || ep.Collection != c.wantColl || ep.CollectionURL() != c.collectionURL {
			t.Errorf("NewEndpoint(%q, %q) = vd %q coll %q url %q", c.server, c.coll, ep.VirtualDirectory, ep.Collection, ep.CollectionURL())
		}
	}
}

func TestEndpointFromServerURLRejects(t *testing.T) {
	cases := []struct{ server, coll, field string }{
		{"", "c", "serverUrl"},
		{"ftp://host", "c", "serverUrl"},
		{"tfs.example.com", "c", "serverUrl"},
		{"https://u:p@host/tfs", "c", "serverUrl"},
		{"https://host/tfs?x=1", "c", "serverUrl"},
		{"https://host/tfs", "", "collection"},
		{"https://host/tfs", "Bad:Name", "collection"},
		{"https://host/tfs", "_hidden", "collection"},
		{"https://host/tfs", "a//b", "collection"},
		{"https://host/tfs/c/p/_git/r", "c", "serverUrl"},
		{"https://dev.azure.com/a/b", "", "serverUrl"},
		{"https://dev.azure.com/a", "b", "collection"},
		{"https://:8080/tfs", "c", "serverUrl"},
		{"https://fabrikam.visualstudio.com/junk/path", "", "serverUrl"},
		// A PAT is never sent to a host that only looks like Services, nor to an SSH-only host.
		{"https://dev.azure.com.evil.example/tfs", "DefaultCollection", "serverUrl"},
		{"https://evil-visualstudio.com", "DefaultCollection", "serverUrl"},
		{"https://a.b.visualstudio.com", "", "serverUrl"},
		{"https://ssh.dev.azure.com/fabrikam", "", "serverUrl"},
		{"https://visualstudio.com", "", "serverUrl"},
	}
	for _, c := range cases {
		_, err := NewEndpoint(c.server, c.coll)
		ce := connections.AsError(err)
		if ce == nil || ce.Field != c.field || !errors.Is(err, connections.ErrInvalidInput) {
			t.Errorf("NewEndpoint(%q, %q) = %v, want a field error on %s", c.server, c.coll, err, c.field)
		}
	}
}
