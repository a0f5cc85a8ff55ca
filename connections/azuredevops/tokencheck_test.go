package azuredevops_test

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

const testPAT = "testpat0123456789abcdefghijklmnopqrstuvwxyz"

// startSim starts a simulator on loopback with testPAT valid and an expired PAT "expiredpat".
func startSim(t *testing.T, opts azdosim.Options) *azdosim.Server {
	t.Helper()
	return azdosimtest.Start(t, opts, azdosim.PAT{Token: testPAT, UserName: "Test User"},
		azdosim.PAT{Token: "expiredpat", UserName: "Old User", Expires: time.Now().Add(-time.Hour)})
}

func check(t *testing.T, serverURL, collection, pat string, opts azuredevops.Options) *connections.CheckResult {
	t.Helper()
	ep, err := azuredevops.NewEndpoint(serverURL, collection)
	if err != nil {
		t.Fatalf("NewEndpoint: %v", err)
	}
	c, err := azuredevops.New(ep, azuredevops.Credential{PAT: connections.Secret(pat)}, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.CheckToken(ctx)
	if err != nil {
		t.Fatalf("CheckToken: %v", err)
	}
	if strings.Contains(res.Message, pat) {
		t.Fatalf("the result message carries the PAT: %s", res.Message)
	}
	seen := map[string]bool{}
	for _, s := range res.Steps {
		if seen[s.Name] {
			t.Fatalf("step %s is reported twice: %+v", s.Name, res.Steps)
		}
		seen[s.Name] = true
	}
	return res
}

func wantFailure(t *testing.T, res *connections.CheckResult, reason connections.Reason, says string) {
	t.Helper()
	if res.Valid || res.Reason != reason {
		t.Fatalf("valid=%v reason=%q message=%q; want reason %q", res.Valid, res.Reason, res.Message, reason)
	}
	if !strings.Contains(res.Message, says) {
		t.Errorf("message %q does not say %q", res.Message, says)
	}
	last := res.Steps[len(res.Steps)-1]
	if last.OK || last.Message == "" {
		t.Errorf("last step %+v should be the failed one with the message", last)
	}
}

func TestCheckTokenValid(t *testing.T) {
	for _, vd := range []string{"tfs", "", "a/b"} {
		t.Run("vd="+vd, func(t *testing.T) {
			sim := startSim(t, azdosim.Options{VirtualDir: vd, Seed: true})
			res := check(t, sim.URL(), "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor})
			if !res.Valid {
				t.Fatalf("not valid: %s: %s", res.Reason, res.Message)
			}
			if res.User == nil || res.User.DisplayName != "Test User" || res.User.ID == "" {
				t.Errorf("user = %+v", res.User)
			}
			if res.DeploymentType != "onPremises" || res.APIVersion != "6.0" || res.ServerVersion != "2022" {
				t.Errorf("deployment %q api %q server %q", res.DeploymentType, res.APIVersion, res.ServerVersion)
			}
			names := map[string]bool{}
			for _, p := range res.Projects {
				names[p.Name] = true
			}
			if !names["Fabrikam Mobile"] || !names["Platform"] {
				t.Errorf("projects = %+v", res.Projects)
			}
			if len(res.Warnings) != 0 {
				t.Errorf("warnings = %+v", res.Warnings)
			}
		})
	}
}

func TestCheckTokenAppcircleOwnerForm(t *testing.T) {
	sim := startSim(t, azdosim.Options{VirtualDir: "tfs", Seed: true})
	base := strings.TrimSuffix(sim.URL(), "/tfs")
	res := check(t, base, "tfs/DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	if !res.Valid {
		t.Fatalf("server %s + owner tfs/DefaultCollection: %s", base, res.Message)
	}
}

func TestCheckTokenServerVersions(t *testing.T) {
	for _, c := range []struct{ version, want string }{{"2020", "2020"}, {"2022", "2022"}, {"2022.1", "2022.1"}} {
		sim := startSim(t, azdosim.Options{ServerVersion: c.version, Seed: true})
		res := check(t, sim.URL(), "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor})
		if !res.Valid || res.ServerVersion != c.want {
			t.Errorf("server %s: valid %v version %q (%s)", c.version, res.Valid, res.ServerVersion, res.Message)
		}
	}
}

func TestCheckTokenFailures(t *testing.T) {
	sim := startSim(t, azdosim.Options{VirtualDir: "tfs", Seed: true})
	t.Run("wrong PAT", func(t *testing.T) {
		res := check(t, sim.URL(), "DefaultCollection", "not-a-known-token", azuredevops.Options{Door: azuredevops.LoopbackDoor})
		wantFailure(t, res, connections.ReasonInvalidToken, "personal access token")
	})
	t.Run("expired PAT", func(t *testing.T) {
		res := check(t, sim.URL(), "DefaultCollection", "expiredpat", azuredevops.Options{Door: azuredevops.LoopbackDoor})
		wantFailure(t, res, connections.ReasonInvalidToken, "expired")
	})
	t.Run("missing collection", func(t *testing.T) {
		res := check(t, sim.URL(), "NoSuchCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor})
		wantFailure(t, res, connections.ReasonCollectionNotFound, `"NoSuchCollection"`)
	})
	t.Run("virtual directory forgotten", func(t *testing.T) {
		res := check(t, strings.TrimSuffix(sim.URL(), "/tfs"), "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor})
		wantFailure(t, res, connections.ReasonCollectionNotFound, "virtual directory")
	})
}

func TestCheckTokenServerTooOld(t *testing.T) {
	sim := startSim(t, azdosim.Options{ServerVersion: "2019", Seed: true})
	res := check(t, sim.URL(), "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	wantFailure(t, res, connections.ReasonServerTooOld, "Azure DevOps Server 2019")
	if res.ServerVersion != "2019" || !strings.Contains(res.Message, "5.0") {
		t.Errorf("server version %q, message %q", res.ServerVersion, res.Message)
	}
}

func TestCheckTokenPublicURLLocalhost(t *testing.T) {
	sim := startSim(t, azdosim.Options{VirtualDir: "tfs", PublicURL: "http://localhost:8080/tfs", Seed: true})
	res := check(t, sim.URL(), "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	if !res.Valid {
		t.Fatalf("not valid: %s", res.Message)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Code != connections.ReasonPublicURLLocalhost ||
		!strings.Contains(res.Warnings[0].Message, "http://localhost:8080/tfs") {
		t.Fatalf("warnings = %+v", res.Warnings)
	}
}

func TestCheckTokenUnreachable(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		res := check(t, "http://"+addr+"/tfs", "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor})
		wantFailure(t, res, connections.ReasonUnreachable, "refused")
	})
	t.Run("timeout", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		done := make(chan struct{})
		defer close(done)
		go func() { // accept and never answer
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { <-done; c.Close() }()
			}
		}()
		res := check(t, "http://"+ln.Addr().String(), "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor, Timeout: 300 * time.Millisecond})
		wantFailure(t, res, connections.ReasonUnreachable, "timeout")
	})
	t.Run("dns", func(t *testing.T) {
		// A resolver that asks a closed loopback port, so no query leaves the machine.
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", "127.0.0.1:9")
		}}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Resolver: r}).DialContext
		res := check(t, "http://tfs.nonexistent.invalid/tfs", "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor, Transport: tr, Timeout: 5 * time.Second})
		wantFailure(t, res, connections.ReasonUnreachable, "DNS")
	})
}

func TestCheckTokenTLS(t *testing.T) {
	sim := startSim(t, azdosim.Options{Seed: true})
	ts := httptest.NewTLSServer(sim.Handler())
	defer ts.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})

	t.Run("unknown authority", func(t *testing.T) {
		res := check(t, ts.URL, "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor})
		wantFailure(t, res, connections.ReasonTLS, "unknown authority")
		if !strings.Contains(res.Message, "CA certificate") {
			t.Errorf("message does not tell the user to supply the CA certificate: %s", res.Message)
		}
	})
	t.Run("with the CA certificate", func(t *testing.T) {
		res := check(t, ts.URL, "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor, CACertificatePEM: caPEM})
		if !res.Valid {
			t.Fatalf("not valid with the CA: %s", res.Message)
		}
	})
	t.Run("wrong host name", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "https://"))
		res := check(t, "https://localhost:"+port, "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor, CACertificatePEM: caPEM})
		wantFailure(t, res, connections.ReasonTLS, "not valid for that name")
	})
	t.Run("plain http on the TLS port", func(t *testing.T) {
		res := check(t, strings.Replace(ts.URL, "https://", "http://", 1), "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor})
		if res.Valid {
			t.Fatal("plain HTTP to a TLS port was accepted")
		}
	})
	t.Run("bad PEM", func(t *testing.T) {
		ep, _ := azuredevops.NewEndpoint(ts.URL, "DefaultCollection")
		_, err := azuredevops.New(ep, azuredevops.Credential{PAT: testPAT}, azuredevops.Options{Door: azuredevops.LoopbackDoor, CACertificatePEM: []byte("nope")})
		if ce := connections.AsError(err); ce == nil || ce.Field != "caCertificate" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestListingsPageAndConvert(t *testing.T) {
	sim := startSim(t, azdosim.Options{VirtualDir: "tfs", Seed: true})
	for i := range 120 { // more than one page of projects (pages are 100)
		if _, err := sim.AddProject("DefaultCollection", "Extra "+string(rune('A'+i/26))+string(rune('a'+i%26))); err != nil {
			t.Fatal(err)
		}
	}
	ep, _ := azuredevops.NewEndpoint(sim.URL(), "DefaultCollection")
	c, _ := azuredevops.New(ep, azuredevops.Credential{PAT: testPAT}, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	ctx := context.Background()
	ps, err := c.ListProjects(ctx)
	if err != nil || len(ps) != 122 {
		t.Fatalf("ListProjects: %d projects, %v", len(ps), err)
	}
	repos, err := c.ListRepositories(ctx, "Fabrikam Mobile")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]connections.Repository{}
	for _, r := range repos {
		byName[r.Name] = r
	}
	ios, space, empty, disabled := byName["ios-app"], byName["android app"], byName["empty-repo"], byName["legacy-tools"]
	if ios.DefaultBranch != "main" || ios.IsEmpty || ios.Project.Name != "Fabrikam Mobile" || ios.Size <= 0 {
		t.Errorf("ios-app = %+v", ios)
	}
	if !strings.HasSuffix(space.RemoteURL, "/tfs/DefaultCollection/Fabrikam%20Mobile/_git/android%20app") {
		t.Errorf("android app remoteUrl = %q", space.RemoteURL)
	}
	if !empty.IsEmpty || empty.DefaultBranch != "" {
		t.Errorf("empty-repo = %+v", empty)
	}
	if !disabled.IsDisabled {
		t.Errorf("legacy-tools = %+v", disabled)
	}
	all, err := c.ListRepositories(ctx, "")
	if err != nil || len(all) <= len(repos) {
		t.Errorf("collection-wide: %d repos, %v", len(all), err)
	}
	bs, err := c.ListBranches(ctx, ios.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
		if len(b.Commit) != 40 {
			t.Errorf("branch %s commit %q", b.Name, b.Commit)
		}
	}
	if strings.Join(names, ",") != "develop,main,release/1.0" {
		t.Errorf("branches = %v", names)
	}
	if _, err := c.GetRepository(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, connections.ErrNotFound) {
		t.Errorf("missing repository: %v", err)
	}
	if _, err := c.ListRepositories(ctx, "No Such Project"); !errors.Is(err, connections.ErrNotFound) {
		t.Errorf("missing project: %v", err)
	}
}

func TestCheckTokenSignInPage(t *testing.T) {
	sim := startSim(t, azdosim.Options{VirtualDir: "tfs", Seed: true, StripsSuppressHeader: true})
	for _, pat := range []string{"not-a-known-token", "expiredpat"} {
		res := check(t, sim.URL(), "DefaultCollection", pat, azuredevops.Options{Door: azuredevops.LoopbackDoor})
		wantFailure(t, res, connections.ReasonInvalidToken, "sign-in page, HTTP 203")
	}
	if res := check(t, sim.URL(), "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor}); !res.Valid {
		t.Fatalf("a valid PAT failed behind the header-stripping front end: %s", res.Message)
	}
}
