package azdosim_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// The organization policy page (Options.PolicyPage) shows the OAuth policy and turns it on;
// a cross-site post is refused, an unknown organization is a 404, and without the option the
// page does not exist.
func TestPolicyPage(t *testing.T) {
	s := azdosimtest.StartServices(t, azdosim.Options{Collections: []string{"fabrikam", "nopolicy"}, PolicyPage: true})
	page := s.URL() + "/nopolicy/_settings/organizationPolicy"
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(page); code != http.StatusOK || !strings.Contains(body, `data-allowed="false"`) || !strings.Contains(body, "Turn it on") {
		t.Fatalf("the page of a new organization: %d %s", code, body)
	}
	post := func(site string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", page, strings.NewReader(url.Values{"allow": {"true"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("cross-site"); code != http.StatusForbidden {
		t.Fatalf("a cross-site post: %d", code)
	}
	if _, body := get(page); !strings.Contains(body, `data-allowed="false"`) {
		t.Fatal("the refused post changed the policy")
	}
	if code := post("same-origin"); code != http.StatusSeeOther {
		t.Fatalf("turn it on: %d", code)
	}
	if _, body := get(page); !strings.Contains(body, `data-allowed="true"`) {
		t.Fatalf("after turning it on: %s", body)
	}
	if code, _ := get(s.URL() + "/contoso/_settings/organizationPolicy"); code != http.StatusNotFound {
		t.Errorf("an unknown organization: %d", code)
	}
	off := azdosimtest.StartServices(t, azdosim.Options{Collections: []string{"fabrikam"}})
	if code, _ := get(off.URL() + "/fabrikam/_settings/organizationPolicy"); code != http.StatusNotFound {
		t.Errorf("without PolicyPage: %d", code)
	}
}
