package azdosim

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// postKeysForm posts form to the keys page at pageURL with Basic ":token" when token is set
// and the given extra headers.
func postKeysForm(t *testing.T, pageURL, token string, form url.Values, headers map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, pageURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.SetBasicAuth("", token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return send(t, req)
}

func TestSSHKeysPage(t *testing.T) {
	s := startSSHServer(t, Options{Services: true})
	s.AddPAT(PAT{Token: "ann-pat", UserName: "Ann Example"})
	rsaKey, edKey := newSSHKey(t, "rsa"), newSSHKey(t, "ed25519")
	page := s.URL() + "/fabrikam/_usersSettings/keys"

	a := get(t, page, "", true)
	mustStatus(t, a, 200)
	body := string(a.body)
	for _, want := range []string{"Demo User", `id="no-keys"`, `<label for="name">Name</label>`, `<label for="key">Public key data</label>`, "Accepted key types: rsa"} {
		if !strings.Contains(body, want) {
			t.Fatalf("page lacks %q:\n%s", want, body)
		}
	}

	// Cross-site posts are refused and add nothing.
	form := url.Values{"action": {"add"}, "name": {"laptop"}, "key": {rsaKey.pub}}
	mustStatus(t, postKeysForm(t, page, "", form, map[string]string{"Sec-Fetch-Site": "cross-site"}), 403)
	mustStatus(t, postKeysForm(t, page, "", form, map[string]string{"Origin": "http://evil.example"}), 403)
	if keys := s.SSHPublicKeys(""); len(keys) != 0 {
		t.Fatalf("keys after cross-site posts: %+v", keys)
	}

	a = postKeysForm(t, page, "", form, map[string]string{"Origin": strings.TrimSuffix(s.URL(), "/"), "Sec-Fetch-Site": "same-origin"})
	mustStatus(t, a, 303)
	if loc := a.header.Get("Location"); loc != "/fabrikam/_usersSettings/keys" {
		t.Fatalf("Location %q", loc)
	}
	keys := s.SSHPublicKeys("Demo User")
	if len(keys) != 1 || keys[0].Name != "laptop" {
		t.Fatalf("keys %+v", keys)
	}
	body = html.UnescapeString(string(get(t, page, "", true).body))
	if !strings.Contains(body, "laptop") || !strings.Contains(body, keys[0].Fingerprint) {
		t.Fatalf("page does not list the key %s:\n%s", keys[0].Fingerprint, body)
	}

	for _, tc := range []struct{ name, key, want string }{
		{"not a key", "hello", "not in the OpenSSH format"},
		{"refused type", edKey.pub, "ssh-ed25519 are not supported"},
		{"again", rsaKey.pub, "already been added"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := postKeysForm(t, page, "", url.Values{"action": {"add"}, "name": {"x"}, "key": {tc.key}}, nil)
			mustStatus(t, a, 400)
			if body := html.UnescapeString(string(a.body)); !strings.Contains(body, `role="alert"`) || !strings.Contains(body, tc.want) {
				t.Fatalf("answer lacks %q:\n%s", tc.want, a.body)
			}
		})
	}

	// A PAT signs in as its owner: Ann sees her own (empty) list and removes nothing of Demo User's.
	a = get(t, page, "ann-pat", true)
	if !strings.Contains(string(a.body), "Ann Example") || !strings.Contains(string(a.body), `id="no-keys"`) {
		t.Fatalf("Ann's page:\n%s", a.body)
	}
	mustStatus(t, postKeysForm(t, page, "ann-pat", url.Values{"action": {"remove"}, "fingerprint": {keys[0].Fingerprint}}, nil), 400)
	mustStatus(t, get(t, page, "wrong-pat", true), 401)

	mustStatus(t, postKeysForm(t, page, "", url.Values{"action": {"remove"}, "fingerprint": {keys[0].Fingerprint}}, nil), 303)
	if keys := s.SSHPublicKeys(""); len(keys) != 0 {
		t.Fatalf("keys after removal: %+v", keys)
	}
	mustStatus(t, get(t, s.URL()+"/contoso/_usersSettings/keys", "", true), 404)
}

func TestSSHKeysPageServer(t *testing.T) {
	s := startSSHServer(t, Options{VirtualDir: "tfs", SSHKeyTypes: []string{"rsa", "ed25519"}})
	edKey := newSSHKey(t, "ed25519")
	page := s.URL() + "/DefaultCollection/_usersSettings/keys"
	a := postKeysForm(t, page, "", url.Values{"action": {"add"}, "name": {""}, "key": {edKey.pub}}, nil)
	mustStatus(t, a, 303)
	if loc := a.header.Get("Location"); loc != "/tfs/DefaultCollection/_usersSettings/keys" {
		t.Fatalf("Location %q", loc)
	}
	if keys := s.SSHPublicKeys(""); len(keys) != 1 || keys[0].Name != "test ed25519" || keys[0].Type != "ssh-ed25519" {
		t.Fatalf("keys %+v", keys)
	}
	a = get(t, page, "", true)
	if !strings.Contains(string(a.body), "collection <strong>DefaultCollection</strong>") || !strings.Contains(string(a.body), "rsa, ed25519") {
		t.Fatalf("page:\n%s", a.body)
	}
	mustStatus(t, get(t, s.URL()+"/Other/_usersSettings/keys", "", true), 404)

	off := startServer(t, Options{})
	mustStatus(t, get(t, off.URL()+"/DefaultCollection/_usersSettings/keys", "", true), 404)
}
