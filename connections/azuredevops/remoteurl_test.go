package azuredevops

import (
	"errors"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
)

func TestParseRemoteURL(t *testing.T) {
	cases := []struct {
		in                      string
		kind                    Kind
		vd, coll, project, repo string
		guessed                 bool
		clone                   string
	}{
		{"https://dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/ios-app", KindServices, "", "fabrikam", "Fabrikam Mobile", "ios-app", false,
			"https://dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/ios-app"},
		{"https://fabrikam@dev.azure.com/fabrikam/Web/_git/site", KindServices, "", "fabrikam", "Web", "site", false,
			"https://dev.azure.com/fabrikam/Web/_git/site"},
		{"https://dev.azure.com/fabrikam/_git/Web", KindServices, "", "fabrikam", "Web", "Web", false,
			"https://dev.azure.com/fabrikam/Web/_git/Web"},
		{"https://dev.azure.com/fabrikam/Web/_git/_optimized/site", KindServices, "", "fabrikam", "Web", "site", false,
			"https://dev.azure.com/fabrikam/Web/_git/site"},
		{"https://fabrikam.visualstudio.com/DefaultCollection/Web/_git/site", KindServices, "", "fabrikam", "Web", "site", false,
			"https://fabrikam.visualstudio.com/Web/_git/site"},
		{"https://fabrikam.visualstudio.com/Web/_git/site?path=/README.md#x", KindServices, "", "fabrikam", "Web", "site", false,
			"https://fabrikam.visualstudio.com/Web/_git/site"},
		{"http://tfs.example.com:8080/tfs/DefaultCollection/MOBILE_IOS/_git/wallet", KindServer, "tfs", "DefaultCollection", "MOBILE_IOS", "wallet", false,
			"http://tfs.example.com:8080/tfs/DefaultCollection/MOBILE_IOS/_git/wallet"},
		{"https://tfs.example.com/tfs/DefaultCollection/_git/wallet", KindServer, "tfs", "DefaultCollection", "wallet", "wallet", false,
			"https://tfs.example.com/tfs/DefaultCollection/wallet/_git/wallet"},
		{"https://ado.example.com/Main/Team%20A/_git/app%20one", KindServer, "", "Main", "Team A", "app one", true,
			"https://ado.example.com/Main/Team%20A/_git/app%20one"},
		{"https://ado.example.com/a/b/Main/Web/_git/site", KindServer, "a/b", "Main", "Web", "site", true,
			"https://ado.example.com/a/b/Main/Web/_git/site"},
		{"https://ado.example.com/Main/_git/site", KindServer, "", "Main", "site", "site", false,
			"https://ado.example.com/Main/site/_git/site"},
		{"https://ado.example.com/DefaultCollection/tfs/_git/app", KindServer, "", "DefaultCollection", "tfs", "app", true,
			"https://ado.example.com/DefaultCollection/tfs/_git/app"},
		{"https://ado.example.com/tfs/_git/app", KindServer, "", "tfs", "app", "app", false,
			"https://ado.example.com/tfs/app/_git/app"},
		{"https://dev.azure.com.evil.example/fabrikam/Web/_git/site", KindServer, "", "fabrikam", "Web", "site", true,
			"https://dev.azure.com.evil.example/fabrikam/Web/_git/site"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			r, err := ParseRemoteURL(c.in)
			if err != nil {
				t.Fatalf("ParseRemoteURL: %v", err)
			}
			if r.Kind() != c.kind || r.VirtualDirectory != c.vd || r.Collection != c.coll || r.Project != c.project || r.Repository != c.repo || r.Guessed != c.guessed {
				t.Errorf("got kind=%s vd=%q coll=%q project=%q repo=%q guessed=%v", r.Kind(), r.VirtualDirectory, r.Collection, r.Project, r.Repository, r.Guessed)
			}
			if got := r.CloneURL(); got != c.clone {
				t.Errorf("CloneURL = %q, want %q", got, c.clone)
			}
		})
	}
}

func TestParseRemoteURLRejects(t *testing.T) {
	cases := map[string]string{
		"not a url":             "not an absolute",
		"ftp://host/c/p/_git/r": "scheme",
		"https://user:secret@dev.azure.com/o/p/_git/r": "password",
		"https://dev.azure.com/o/p/r":                  "no /_git/",
		"https://dev.azure.com/o/p/_git/":              "no repository",
		"https://dev.azure.com/o/p/_git/r/_git/s":      "second _git",
		"https://dev.azure.com/o/p/_git/r/extra":       "path after the repository",
		"https://dev.azure.com/_git/r":                 "no organization",
		"https://host/c/p/_git/a%2Fb":                  "encoded slash",
		"https://:8080/c/p/_git/r":                     "not an absolute",
		"https://dev.azure.com/o/p/q/_git/r":           "unexpected path segments",
		"https://host/_bad/p/_git/r":                   "underscore",
	}
	cases["user:secret@host/C/P/_git/R"] = "not an absolute"
	cases["https:/user:secret@host/C/P/_git/R"] = "not an absolute"
	for in, want := range cases {
		t.Run(in, func(t *testing.T) {
			_, err := ParseRemoteURL(in)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, connections.ErrInvalidInput) || !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestNewEndpoint(t *testing.T) {
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

func TestNewEndpointRejects(t *testing.T) {
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
	}
	for _, c := range cases {
		_, err := NewEndpoint(c.server, c.coll)
		ce := connections.AsError(err)
		if ce == nil || ce.Field != c.field || !errors.Is(err, connections.ErrInvalidInput) {
			t.Errorf("NewEndpoint(%q, %q) = %v, want a field error on %s", c.server, c.coll, err, c.field)
		}
	}
}

func FuzzParseRemoteURL(f *testing.F) {
	for _, s := range []string{"https://dev.azure.com/o/p/_git/r", "http://h:8080/tfs/C/P/_git/R", "https://o.visualstudio.com/_git/r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRemoteURL(s)
		if err != nil {
			return
		}
		again, err := ParseRemoteURL(r.CloneURL())
		if err != nil {
			t.Fatalf("clone URL %q of %q does not parse: %v", r.CloneURL(), s, err)
		}
		if again.Collection != r.Collection || again.Project != r.Project || again.Repository != r.Repository {
			t.Fatalf("round trip of %q changed names: %+v vs %+v", s, r, again)
		}
	})
}

// BenchmarkParseRemoteURL measures the parser on a server URL with a virtual directory and
// encoded names, the slowest common form (make bench).
func BenchmarkParseRemoteURL(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRemoteURL("https://tfs.example.com:8443/tfs/DefaultCollection/Team%20A/_git/app%20one"); err != nil {
			b.Fatal(err)
		}
	}
}
