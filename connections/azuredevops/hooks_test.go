package azuredevops_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

func hooksClient(t *testing.T, sim *azdosim.Server, pat string) *azuredevops.Client {
	t.Helper()
	ep, err := azuredevops.NewEndpoint(sim.URL(), "DefaultCollection")
	if err != nil {
		t.Fatal(err)
	}
	c, err := azuredevops.New(ep, azuredevops.Credential{PAT: connections.Secret(pat)}, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitSim waits for cond after changes of the simulator's hooks state, without sleeping.
func waitSim(t *testing.T, sim *azdosim.Server, what string, cond func() bool) {
	t.Helper()
	var timeout <-chan time.Time
	if d, ok := t.Deadline(); ok {
		timeout = time.After(time.Until(d) - 5*time.Second)
	}
	for {
		ch := sim.HookChanged()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestSubscriptionLifecycle: create a git.push web hook through the client, see it in the
// simulator; a consumer answering 410 makes Azure DevOps disable it (disabledBySystem), which
// GetSubscription reports; ReplaceSubscription with status enabled repairs it and the next push
// is delivered with the credentials; DeleteSubscription removes it, and a second delete is
// ErrNotFound.
func TestSubscriptionLifecycle(t *testing.T) {
	sim := startSim(t, azdosim.Options{Seed: true, HookRetryDelay: time.Millisecond})
	var status atomic.Int32
	status.Store(http.StatusGone)
	var lastPass atomic.Value
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, p, _ := r.BasicAuth()
		lastPass.Store(p)
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(rcv.Close)
	repo := azdosimtest.Repository(t, sim, "ios-app")
	c := hooksClient(t, sim, testPAT)
	ctx := context.Background()
	sub := azuredevops.WebHook("git.push", repo.ProjectID, repo.ID, "main", rcv.URL+"/hooks/azure-devops/h1", "repoconnect", "s3cret-hook")
	got, err := c.CreateSubscription(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == "" || got.Status != azuredevops.SubscriptionEnabled || got.ConsumerInputs["basicAuthPassword"] == "s3cret-hook" {
		t.Fatalf("created %+v", got)
	}
	if ss := sim.Subscriptions(""); len(ss) != 1 || ss[0].PublisherInputs["repository"] != repo.ID || ss[0].PublisherInputs["branch"] != "main" {
		t.Fatalf("simulator holds %+v", ss)
	}

	work := filepath.Join(t.TempDir(), "w")
	remote := sim.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/ios-app"
	auth := "http.extraHeader=Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(":"+testPAT))
	azdosimtest.Git(t, "", "-c", auth, "clone", "--quiet", remote, work)
	push := func(msg string) {
		if err := os.WriteFile(filepath.Join(work, "ci.txt"), []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
		azdosimtest.Git(t, work, "add", "ci.txt")
		azdosimtest.Git(t, work, "commit", "--quiet", "-m", msg)
		azdosimtest.Git(t, work, "-c", auth, "push", "--quiet", "origin", "HEAD:refs/heads/main")
	}
	push("one")
	waitSim(t, sim, "disabledBySystem", func() bool { return sim.Subscriptions("")[0].Status == azdosim.HookDisabledBySystem })
	g, err := c.GetSubscription(ctx, got.ID)
	if err != nil || g.Status != azuredevops.SubscriptionDisabledBySystem {
		t.Fatalf("GetSubscription: %+v %v", g, err)
	}

	status.Store(http.StatusOK)
	sub.Status = azuredevops.SubscriptionEnabled
	if r, err := c.ReplaceSubscription(ctx, got.ID, sub); err != nil || r.Status != azuredevops.SubscriptionEnabled {
		t.Fatalf("ReplaceSubscription: %+v %v", r, err)
	}
	push("two")
	waitSim(t, sim, "a delivery after the repair", func() bool {
		ds := sim.Deliveries("")
		return len(ds) == 2 && ds[1].OK()
	})
	if p, _ := lastPass.Load().(string); p != "s3cret-hook" {
		t.Fatalf("delivered password %q", p)
	}

	if err := c.DeleteSubscription(ctx, got.ID); err != nil {
		t.Fatal(err)
	}
	if len(sim.Subscriptions("")) != 0 {
		t.Fatal("the subscription is still in the simulator")
	}
	if err := c.DeleteSubscription(ctx, got.ID); !errors.Is(err, connections.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
}

// TestSubscriptionNeedsHooksScope: the six default scopes cannot create a subscription;
// CannotManageHooks says so, and nothing is stored. vso.hooks_write can.
func TestSubscriptionNeedsHooksScope(t *testing.T) {
	six := azdosim.PAT{Token: "sixscopes0123456789abcdefghijklmnop", Scopes: []string{"vso.code", "vso.code_status",
		"vso.threads_full", "vso.serviceendpoint_query", "vso.project", "vso.notification"}}
	hooks := azdosim.PAT{Token: "hookscope0123456789abcdefghijklmnop", Scopes: []string{"vso.code", azuredevops.HooksWriteScope}}
	sim := azdosimtest.Start(t, azdosim.Options{Seed: true}, six, hooks)
	sub := azuredevops.WebHook("git.pullrequest.created", "", "", "main", "http://127.0.0.1:1/h", "u", "p")
	_, err := hooksClient(t, sim, six.Token).CreateSubscription(context.Background(), sub)
	if err == nil || !azuredevops.CannotManageHooks(err) {
		t.Fatalf("six scopes: %v, want CannotManageHooks", err)
	}
	if len(sim.Subscriptions("")) != 0 {
		t.Fatal("a refused create stored a subscription")
	}
	if _, err := hooksClient(t, sim, hooks.Token).CreateSubscription(context.Background(), sub); err != nil {
		t.Fatalf("vso.hooks_write: %v", err)
	}
	if azuredevops.CannotManageHooks(connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound, "x")) {
		t.Fatal("a 404 is not a scope problem")
	}
}
