package web_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// pemOf is an OpenSSH PEM of key (encrypted with passphrase when it is not "").
func pemOf(t *testing.T, key any, passphrase string) string {
	t.Helper()
	var (
		b   *pem.Block
		err error
	)
	if passphrase == "" {
		b, err = ssh.MarshalPrivateKey(key, "test key")
	} else {
		b, err = ssh.MarshalPrivateKeyWithPassphrase(key, "test key", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(b))
}

// rsaPEM is a fresh RSA 3072 private key in OpenSSH PEM form.
func rsaPEM(t *testing.T, passphrase string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, k, passphrase)
}

// pemSecrets are pieces of a PEM that must appear nowhere: its base64 lines (each long
// enough to be the key's and no one else's) but those that are the public key's (an OpenSSH
// private key holds its public key in the clear, and the answer shows that), and the whole
// text.
func pemSecrets(t *testing.T, p, passphrase string) []string {
	t.Helper()
	var (
		k   any
		err error
	)
	if passphrase == "" {
		k, err = ssh.ParseRawPrivateKey([]byte(p))
	} else {
		k, err = ssh.ParseRawPrivateKeyWithPassphrase([]byte(p), []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	public := string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	out := []string{p}
	for _, line := range strings.Split(p, "\n") {
		if len(line) >= 40 && !strings.HasPrefix(line, "-----") && !strings.Contains(public, line) {
			out = append(out, line)
		}
	}
	if len(out) < 3 {
		t.Fatalf("the PEM has too few private lines to look for: %d", len(out)-1)
	}
	return out
}

// TestSSHKeyBadInput: malformed bodies are 400s naming the field, and nothing is stored.
func TestSSHKeyBadInput(t *testing.T) {
	e := newEnv(t)
	id := e.createConnection()
	base := "/api/v1/connections/" + id
	for _, tc := range []struct {
		method, path, body, field string
	}{
		{"PUT", "/ssh-key", `{"generate":"yes"}`, "generate"},
		{"PUT", "/ssh-key", `{"privateKeys":"x"}`, "privateKeys"},
		{"PUT", "/ssh-key", `{"port":"22"}`, "port"},
		{"PUT", "/ssh-key", `{"PrivateKey":"x"}`, "PrivateKey"},
		{"PUT", "/ssh-key", `not json`, ""},
		{"POST", "/ssh-check", `{"repo":"x"}`, "repo"},
		{"POST", "/ssh-host-key", `{}`, "fingerprint"},
		{"POST", "/ssh-host-key", `{"fingerprint":7}`, "fingerprint"},
	} {
		var want any
		if tc.field != "" {
			want = tc.field
		}
		code, p, _ := e.call(tc.method, base+tc.path, tc.body)
		if code != 400 || p["field"] != want {
			t.Errorf("%s %s %s: %d %v, want 400 naming %q", tc.method, tc.path, tc.body, code, p, tc.field)
		}
	}
	if _, c, _ := e.call("GET", base, nil); c["ssh"] != nil || c["cloneOver"] != "https" {
		t.Errorf("a refused request stored something: %v", c)
	}
}

// TestSSHKeyRefusedByTheService: input the service refuses (neither generate nor a key, both,
// a key that is not one, a port out of range, a check without a key) is a 400 with a field,
// and stores nothing.
func TestSSHKeyRefusedByTheService(t *testing.T) {
	e := newEnv(t)
	id := e.createConnection()
	base := "/api/v1/connections/" + id
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{}, ""},
		{map[string]any{"privateKey": "not a key at all"}, "privateKey"},
		{map[string]any{"generate": true, "privateKey": rsaPEM(t, "")}, ""},
		{map[string]any{"generate": true, "port": 70000}, "port"},
		{map[string]any{"generate": true, "keyType": "dsa"}, "keyType"},
	} {
		code, p, _ := e.call("PUT", base+"/ssh-key", tc.body)
		if code != 400 || tc.field != "" && p["field"] != tc.field {
			t.Errorf("PUT ssh-key %v: %d %v, want 400 naming %q", tc.body["privateKey"] != nil, code, p, tc.field)
		}
	}
	if code, p, _ := e.call("POST", base+"/ssh-check", nil); code != 400 {
		t.Errorf("check without a key: %d %v, want 400", code, p)
	}
	if _, c, _ := e.call("GET", base, nil); c["ssh"] != nil {
		t.Errorf("a refused request stored something: %v", c)
	}
}

// TestSSHUnknownConnection: every SSH route answers 404 for a connection that is not the
// tenant's.
func TestSSHUnknownConnection(t *testing.T) {
	e := newEnv(t)
	base := "/api/v1/connections/nosuchconnection"
	for _, tc := range []struct{ method, path, body string }{
		{"PUT", "/ssh-key", `{"generate":true}`},
		{"DELETE", "/ssh-key", ""},
		{"POST", "/ssh-check", ""},
		{"POST", "/ssh-host-key", `{"fingerprint":"SHA256:3/6USJ7MhrUMbMj7Pl3+xras/SPCB3Jginqw9NLz5Jw"}`},
	} {
		var body any
		if tc.body != "" {
			body = tc.body
		}
		if code, p, _ := e.call(tc.method, base+tc.path, body); code != 404 || p["code"] != "not_found" {
			t.Errorf("%s %s: %d %v, want 404", tc.method, tc.path, code, p)
		}
	}
}

// TestSSHPrivateKeyNeverAnswered: a supplied private key and its passphrase are in no
// answer, no log line (the access log included) and not in the store file in the clear:
// accepted, refused for its type, or refused for a wrong passphrase.
func TestSSHPrivateKeyNeverAnswered(t *testing.T) {
	e := newEnv(t)
	id := e.createConnection()
	base := "/api/v1/connections/" + id
	const passphrase = "correct horse battery staple 42"
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	plain, encrypted, ed := rsaPEM(t, ""), rsaPEM(t, passphrase), pemOf(t, edKey, "")
	var secrets []string
	secrets = append(secrets, pemSecrets(t, plain, "")...)
	secrets = append(secrets, pemSecrets(t, encrypted, passphrase)...)
	secrets = append(secrets, pemSecrets(t, ed, "")...)
	secrets = append(secrets, passphrase)
	var answers []string
	put := func(body map[string]any) (int, map[string]any) {
		t.Helper()
		code, raw, _ := e.raw("PUT", base+"/ssh-key", body)
		answers = append(answers, string(raw))
		_, m, _ := e.call("GET", base, nil)
		return code, m
	}

	code, c := put(map[string]any{"privateKey": encrypted, "passphrase": "wrong passphrase"})
	if code != 400 || c["ssh"] != nil {
		t.Errorf("wrong passphrase: %d, stored %v", code, c["ssh"])
	}
	code, c = put(map[string]any{"privateKey": ed})
	if code != 400 || c["ssh"] != nil || !strings.Contains(answers[len(answers)-1], "ssh_key_type_refused") {
		t.Errorf("Ed25519 key: %d %s, stored %v", code, answers[len(answers)-1], c["ssh"])
	}
	code, c = put(map[string]any{"privateKey": encrypted, "passphrase": passphrase, "port": 2222})
	view, _ := c["ssh"].(map[string]any)
	if code != 200 || view == nil || view["generated"] != false || view["port"] != float64(2222) || c["cloneOver"] != "ssh" ||
		!strings.HasPrefix(view["publicKey"].(string), "ssh-rsa ") || !strings.HasPrefix(view["fingerprint"].(string), "SHA256:") {
		t.Fatalf("own RSA key: %d %v", code, c)
	}
	// A body of just a port changes the port of the key held; 0 clears it (the port of the
	// server's SSH URL again), as the document says.
	code, c = put(map[string]any{"port": 2022})
	if v, _ := c["ssh"].(map[string]any); code != 200 || v == nil || v["port"] != float64(2022) || v["fingerprint"] != view["fingerprint"] {
		t.Fatalf("a port alone: %d %v", code, c["ssh"])
	}
	code, c = put(map[string]any{"port": 0})
	if v, _ := c["ssh"].(map[string]any); code != 200 || v == nil || v["port"] != nil || v["fingerprint"] != view["fingerprint"] {
		t.Fatalf("port 0 alone: %d %v, want the port cleared and the key kept", code, c["ssh"])
	}
	code, c = put(map[string]any{"privateKey": plain})
	if code != 200 || c["ssh"].(map[string]any)["fingerprint"] == view["fingerprint"] {
		t.Errorf("a second key did not replace the first: %d %v", code, c["ssh"])
	}
	_, raw, _ := e.raw("GET", base, nil)
	answers = append(answers, string(raw))
	_, raw, _ = e.raw("GET", "/api/v1/connections", nil)
	answers = append(answers, string(raw))
	_, raw, _ = e.raw("DELETE", base+"/ssh-key", nil)
	answers = append(answers, string(raw))

	db, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `route=/api/v1/connections/:id/ssh-key`) {
		t.Error("the access log has no line of the ssh-key route: is the log captured?")
	}
	for _, s := range secrets {
		for i, a := range answers {
			if strings.Contains(a, s) || strings.Contains(a, strings.ReplaceAll(s, "\n", `\n`)) {
				t.Errorf("answer %d carries the private key or passphrase: %.60q", i, s)
			}
		}
		if strings.Contains(logs, s) || strings.Contains(logs, strings.ReplaceAll(s, "\n", `\n`)) {
			t.Errorf("the log carries the private key or passphrase: %.60q", s)
		}
		if strings.Contains(string(db), s) {
			t.Errorf("the store file carries the private key or passphrase in the clear: %.60q", s)
		}
	}
}

// TestSSHGenerateAndRemove: a generated key answers its public half, the place to add it and
// cloneOver ssh; removing it goes back to https.
func TestSSHGenerateAndRemove(t *testing.T) {
	e := newEnv(t)
	id := e.createConnection()
	base := "/api/v1/connections/" + id
	code, c, _ := e.call("PUT", base+"/ssh-key", map[string]any{"generate": true})
	v, _ := c["ssh"].(map[string]any)
	if code != 200 || v == nil || v["generated"] != true || c["cloneOver"] != "ssh" {
		t.Fatalf("generate: %d %v", code, c)
	}
	if u, _ := v["addKeyUrl"].(string); !strings.HasSuffix(u, "/DefaultCollection/_usersSettings/keys") {
		t.Errorf("addKeyUrl = %q, want the collection's User settings > SSH public keys", u)
	}
	if types, _ := v["acceptedKeyTypes"].([]any); len(types) == 0 {
		t.Errorf("no accepted key types: %v", v)
	}
	code, c, _ = e.call("DELETE", base+"/ssh-key", nil)
	if code != 200 || c["ssh"] != nil || c["cloneOver"] != "https" {
		t.Errorf("remove: %d %v", code, c)
	}
	if code, p, _ := e.call("POST", base+"/ssh-host-key", map[string]any{"fingerprint": "SHA256:nothingseen"}); code != 400 || p["field"] != "fingerprint" {
		t.Errorf("accepting a host key nobody saw: %d %v", code, p)
	}
}
