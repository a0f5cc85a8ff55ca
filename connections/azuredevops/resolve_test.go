package azuredevops_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// resolve parses raw and asks the server to settle it with pat.
func resolve(t *testing.T, raw, pat string) (*azuredevops.RemoteURL, *azuredevops.RemoteURL, error) {
	t.Helper()
	r, err := azuredevops.ParseRemoteURL(raw)
	if err != nil {
		t.Fatalf("ParseRemoteURL(%q): %v", raw, err)
	}
	c, err := azuredevops.New(r.Endpoint(), azuredevops.Credential{PAT: connections.Secret(pat)}, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.ResolveRemoteURL(ctx, r)
	return r, res, err
}

// TestResolveRemoteURL settles guessed splits on the simulator. A tfs segment settles the
// split by itself (no request); a team-scoped path is answered by asking again without the
// team, since the simulator, like a server that does not route team segments under _git,
// answers 404 below one.
func TestResolveRemoteURL(t *testing.T) {
	cases := []struct {
		name       string
		opts       azdosim.Options
		path       string // after the simulator's base URL without its virtual directory
		guessed    bool   // whether the URL alone leaves the split open
		guessVD    string // what the URL alone gives
		vd, coll   string
		proj, repo string
	}{
		{"no virtual directory", azdosim.Options{}, "/DefaultCollection/Platform/_git/build%20scripts", true, "", "", "DefaultCollection", "Platform", "build scripts"},
		{"tfs, short form: settled", azdosim.Options{VirtualDir: "tfs"}, "/tfs/DefaultCollection/_git/Platform", false, "tfs", "tfs", "DefaultCollection", "Platform", "Platform"},
		{"tfs, full form: settled", azdosim.Options{VirtualDir: "tfs"}, "/tfs/DefaultCollection/Platform/_git/Platform", false, "tfs", "tfs", "DefaultCollection", "Platform", "Platform"},
		{"tfs, team-scoped: settled", azdosim.Options{VirtualDir: "tfs"}, "/tfs/DefaultCollection/Platform/Platform%20Team/_git/Platform", false, "tfs", "tfs", "DefaultCollection", "Platform", "Platform"},
		{"a/b, short form read wrongly", azdosim.Options{VirtualDir: "a/b"}, "/a/b/DefaultCollection/_git/Platform", true, "a", "a/b", "DefaultCollection", "Platform", "Platform"},
		{"a/b, full form", azdosim.Options{VirtualDir: "a/b"}, "/a/b/DefaultCollection/Fabrikam%20Mobile/_git/android%20app", true, "a/b", "a/b", "DefaultCollection", "Fabrikam Mobile", "android app"},
		{"second collection", azdosim.Options{VirtualDir: "x", Collections: []string{"DefaultCollection", "Mobile"}}, "/x/DefaultCollection/Platform/_git/Platform", true, "x", "x", "DefaultCollection", "Platform", "Platform"},
		{"names in another case", azdosim.Options{VirtualDir: "x"}, "/x/defaultcollection/platform/_git/BUILD%20SCRIPTS", true, "x", "x", "DefaultCollection", "Platform", "build scripts"},
		{"public URL says localhost", azdosim.Options{VirtualDir: "x", PublicURL: "http://localhost:8080/x"}, "/x/DefaultCollection/_git/Platform", true, "", "x", "DefaultCollection", "Platform", "Platform"},
		{"team-scoped, no virtual directory", azdosim.Options{}, "/DefaultCollection/Platform/Platform%20Team/_git/build%20scripts", true, "", "", "DefaultCollection", "Platform", "build scripts"},
		{"team-scoped, read wrongly", azdosim.Options{Collections: []string{"Main"}}, "/Main/Platform/Team/_git/Platform", true, "Main", "", "Main", "Platform", "Platform"},
		{"team-scoped under a/b", azdosim.Options{VirtualDir: "a/b"}, "/a/b/DefaultCollection/Fabrikam%20Mobile/Mobile%20Team/_git/android%20app", true, "a/b", "a/b", "DefaultCollection", "Fabrikam Mobile", "android app"},
		{"team-scoped under x, read wrongly", azdosim.Options{VirtualDir: "x", Collections: []string{"Main"}}, "/x/Main/Platform/Team/_git/Platform", true, "x/Main", "x", "Main", "Platform", "Platform"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Seed = true
			sim := startSim(t, c.opts)
			host := strings.TrimSuffix(sim.URL(), "/"+c.opts.VirtualDir)
			guess, got, err := resolve(t, host+c.path, testPAT)
			if err != nil {
				t.Fatalf("ResolveRemoteURL: %v", err)
			}
			if guess.Guessed != c.guessed || guess.VirtualDirectory != c.guessVD {
				t.Errorf("the URL alone: guessed=%v vd=%q; want %v, %q", guess.Guessed, guess.VirtualDirectory, c.guessed, c.guessVD)
			}
			if got.Guessed || got.VirtualDirectory != c.vd || got.Collection != c.coll || got.Project != c.proj || got.Repository != c.repo {
				t.Errorf("resolved: guessed=%v vd=%q coll=%q project=%q repo=%q", got.Guessed, got.VirtualDirectory, got.Collection, got.Project, got.Repository)
			}
			if want := host + "/" + strings.Trim(c.vd+"/", "/"); !strings.HasPrefix(got.CollectionURL(), strings.TrimSuffix(want, "/")) {
				t.Errorf("collection URL %s", got.CollectionURL())
			}
			if guess.VirtualDirectory != c.guessVD { // the input is not changed
				t.Error("ResolveRemoteURL changed its argument")
			}
			// The resolved clone URL is one the simulator serves: its vsts/info answers.
			if _, again, err := resolve(t, got.CloneURL(), testPAT); err != nil || again.Project != c.proj || again.Repository != c.repo {
				t.Errorf("the resolved clone URL %s: %v, %+v", got.CloneURL(), err, again)
			}
		})
	}
}

func TestResolveRemoteURLFailures(t *testing.T) {
	sim := startSim(t, azdosim.Options{VirtualDir: "a/b", Seed: true})
	for _, c := range []struct {
		name, url, pat string
		kind           error
		says           string
	}{
		{"wrong PAT", sim.URL() + "/DefaultCollection/_git/Platform", "wrongpat", connections.ErrUnauthorized, "personal access token"},
		{"expired PAT", sim.URL() + "/DefaultCollection/_git/Platform", "expiredpat", connections.ErrUnauthorized, "expired"},
		{"no such repository", sim.URL() + "/DefaultCollection/Platform/_git/nope", testPAT, connections.ErrNotFound, "no repository at this URL"},
		{"no such collection", sim.URL() + "/Nope/Platform/_git/Platform", testPAT, connections.ErrNotFound, "no repository at this URL"},
		{"team-scoped, no such repository", sim.URL() + "/DefaultCollection/Platform/Team/_git/nope", testPAT, connections.ErrNotFound, "no repository at this URL"},
		{"team-scoped, wrong PAT", sim.URL() + "/DefaultCollection/Platform/Team/_git/Platform", "wrongpat", connections.ErrUnauthorized, "personal access token"},
		{"SSH", "ssh://127.0.0.1:22/a/b/DefaultCollection/Platform/_git/Platform", testPAT, connections.ErrInvalidInput, "SSH URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, got, err := resolve(t, c.url, c.pat)
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.says) || got != nil {
				t.Fatalf("got %v, %v; want %v saying %q", got, err, c.kind, c.says)
			}
			if strings.Contains(err.Error(), c.pat) {
				t.Error("the error carries the PAT")
			}
		})
	}
	t.Run("not guessed: no request", func(t *testing.T) {
		r, err := azuredevops.ParseRemoteURL("https://dev.azure.com/fabrikam/Web/_git/site")
		if err != nil {
			t.Fatal(err)
		}
		// An endpoint nobody listens on: any request would fail.
		c, _ := azuredevops.New(azuredevops.Endpoint{Scheme: "http", Host: "127.0.0.1:1", Collection: "c"},
			azuredevops.Credential{PAT: "x"}, azuredevops.Options{Door: azuredevops.LoopbackDoor})
		got, err := c.ResolveRemoteURL(context.Background(), r)
		if err != nil || got.CloneURL() != r.CloneURL() || got == r {
			t.Fatalf("got %v, %v", got, err)
		}
	})
}

func TestEndpointOfRemote(t *testing.T) {
	sim := startSim(t, azdosim.Options{VirtualDir: "a/b", Seed: true})
	ctx := context.Background()
	endpoint := func(raw, pat string) (azuredevops.Endpoint, error) {
		r, err := azuredevops.ParseRemoteURL(raw)
		if err != nil {
			t.Fatalf("ParseRemoteURL(%q): %v", raw, err)
		}
		return azuredevops.EndpointOfRemote(ctx, r, azuredevops.Credential{PAT: connections.Secret(pat)}, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	}
	short := sim.URL() + "/DefaultCollection/_git/Platform"
	if ep, err := endpoint(short, testPAT); err != nil || ep.VirtualDirectory != "a/b" || ep.CollectionURL() != sim.URL()+"/DefaultCollection" {
		t.Errorf("settled: %+v, %v", ep, err)
	}
	// A refused PAT leaves the guess (virtual directory a, collection b) for the token check to diagnose.
	if ep, err := endpoint(short, "wrongpat"); err != nil || ep.VirtualDirectory != "a" || ep.Collection != "b" {
		t.Errorf("wrong PAT: %+v, %v", ep, err)
	}
	_, err := endpoint(sim.URL()+"/DefaultCollection/Platform/_git/nope", testPAT)
	if ce := connections.AsError(err); ce == nil || !errors.Is(err, connections.ErrInvalidInput) || ce.Field != "remoteUrl" || ce.Reason != connections.ReasonNotFound {
		t.Errorf("unknown repository: %v", err)
	}
	_, err = endpoint("ssh://127.0.0.1:22/tfs/DefaultCollection/P/_git/r", testPAT)
	if ce := connections.AsError(err); ce == nil || ce.Reason != azuredevops.ReasonNotResolvable {
		t.Errorf("on-prem SSH: %v", err)
	}
	if ep, err := endpoint("git@ssh.dev.azure.com:v3/fabrikam/Web/site", testPAT); err != nil || ep.CollectionURL() != "https://dev.azure.com/fabrikam" {
		t.Errorf("Services SSH needs no request: %+v, %v", ep, err)
	}
}
