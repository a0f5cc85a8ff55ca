package azdosim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// TestConcurrentRefreshExactlyOneWins refreshes one refresh token from many goroutines.
func TestConcurrentRefreshExactlyOneWins(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{})
	_, refresh := azdoTokens(t, sim, "Ada")
	const n = 24
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- azdoToken(t, sim, "refresh_token", refresh, appSecret).status
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[200] != 1 || counts[400] != n-1 {
		t.Fatalf("statuses %v, want exactly one 200", counts)
	}
	if got := sim.TokenStats().AzureDevOpsRefreshes; got != n {
		t.Fatalf("AzureDevOpsRefreshes %d, want %d", got, n)
	}
}

// TestSubmitConsentFollowsToCallback checks azdosimtest.SubmitConsent with a client that
// follows the redirect to the caller's own callback server.
func TestSubmitConsentFollowsToCallback(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{})
	got := make(chan string, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Query().Get("code") + "|" + r.URL.Query().Get("state")
		_, _ = w.Write([]byte("connected"))
	}))
	t.Cleanup(cb.Close)
	cbURL := cb.URL + "/cb"
	sim.RegisterOAuthApp(azdosim.OAuthApp{ClientID: "cb-app", ClientSecret: "cb-secret", Scopes: []string{"vso.code"}, CallbackURL: cbURL})
	hc := &http.Client{}
	page, err := hc.Get(authorizeURL(sim.AzureDevOpsOAuthURL()+"/oauth2/authorize", map[string]string{
		"client_id": "cb-app", "response_type": "Assertion", "state": "s1", "scope": "vso.code", "redirect_uri": cbURL}))
	if err != nil {
		t.Fatal(err)
	}
	r := read(t)(azdosimtest.SubmitConsent(hc, page, "Ada", true))
	if r.status != 200 || r.body != "connected" {
		t.Fatalf("callback answer %d %q", r.status, r.body)
	}
	if v := <-got; !strings.HasSuffix(v, "|s1") || len(v) < 40 {
		t.Fatalf("callback saw %q", v)
	}
}
