package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services"
)

// The SSH section says each check outcome with its own sentence and next step: the link to
// add the key, a new key of an accepted type, where the administrator turns SSH on, the
// port field, and the host key with its Trust button (with a strong warning when it changed).
func TestUISSHOutcomes(t *testing.T) {
	pages := loadPages()
	view := func() *services.SSHView {
		return &services.SSHView{KeyType: "ssh-rsa", KeyBits: 3072, PublicKey: "ssh-rsa AAAAB3NzaTEST repoconnect",
			Fingerprint: "SHA256:userkeyfp", Generated: true, CreatedAt: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
			AcceptedKeyTypes: []string{"rsa"}, AddKeyURL: "http://sim.example/tfs/DefaultCollection/_usersSettings/keys"}
	}
	server := func(v *services.SSHView) *services.Connection {
		return &services.Connection{ID: "c1", Name: "fabrikam", Type: services.TypeServerPAT, SSH: v, CloneOver: "ssh"}
	}
	cases := []struct {
		name    string
		d       sshData
		want    []string
		notWant []string
	}{
		{"no key", sshData{Conn: &services.Connection{ID: "c1", Type: services.TypeServerPAT, CloneOver: "https",
			ServerURL: "http://sim.example/tfs", Collection: "DefaultCollection"}},
			[]string{`data-ssh="none"`, `id="ssh-generate">Generate a key<`, "<summary>Use my own private key</summary>", "Accepted types: rsa.",
				`for="ssh-private-key"`, `for="ssh-passphrase"`, "Which credential does what", "personal access token (PAT) lists projects, repositories and branches",
				"The SSH key clones.", `action="/ui/connections/c1/ssh-key"`, `hx-post="/ui/connections/c1/ssh-key"`},
			[]string{"data-ssh-outcome", "<details class=\"ssh-own\" open"}},
		{"key, never checked", sshData{Conn: server(view())},
			[]string{`data-ssh="key"`, `<textarea id="ssh-public-key" readonly rows="4"`, ">ssh-rsa AAAAB3NzaTEST repoconnect</textarea>",
				`data-copy="#ssh-public-key"`, "SHA256:userkeyfp", `href="http://sim.example/tfs/DefaultCollection/_usersSettings/keys"`,
				"Add it in Azure DevOps: User settings &gt; SSH public keys", `id="ssh-check">Check SSH<`, `id="ssh-remove"`},
			[]string{"data-ssh-outcome", "Generate a key<"}},
		{"ok", sshData{Conn: server(view()), Check: &services.SSHCheck{OK: true, Repository: "Fabrikam Mobile/android app", Refs: 3}},
			[]string{`data-ssh-outcome="ok"`, "listed 3 refs of Fabrikam Mobile/android app.", `role="status" tabindex="-1" autofocus`},
			[]string{`role="alert"`}},
		{"not added", sshData{Conn: server(view()), Check: &services.SSHCheck{Reason: "ssh_key_not_added", Message: "the server refused the key"}},
			[]string{`data-ssh-outcome="ssh_key_not_added"`, "it is not added to your user&#39;s SSH public keys yet.", `class="ssh-add-again" href="http://sim.example/tfs/DefaultCollection/_usersSettings/keys"`, `role="alert"`},
			nil},
		{"type refused", sshData{Conn: server(view()), Check: &services.SSHCheck{Reason: "ssh_key_type_refused"}},
			[]string{`data-ssh-outcome="ssh_key_type_refused"`, "does not accept keys of this type (ssh-rsa)", `id="ssh-regenerate">Generate a new key<`, "(rsa)"},
			nil},
		{"disabled on a Server", sshData{Conn: server(view()), Check: &services.SSHCheck{Reason: "ssh_disabled"}},
			[]string{`data-ssh-outcome="ssh_disabled"`, "SSH is turned off on the server.", "Administration Console, under Application Tier &gt; SSH Service"},
			[]string{"Organization settings"}},
		{"disabled on Services", sshData{Conn: &services.Connection{ID: "c1", Type: services.TypeServicesOAuth, SSH: view()}, Check: &services.SSHCheck{Reason: "ssh_disabled"}},
			[]string{"Organization settings &gt; Policies", "The OAuth token lists projects"},
			[]string{"Administration Console"}},
		{"wrong port", sshData{Conn: server(view()), Check: &services.SSHCheck{Reason: "ssh_wrong_port"}},
			[]string{`data-ssh-outcome="ssh_wrong_port"`, `<label for="ssh-port">The server's SSH port</label>`, `name="mode" value="port"`, `id="ssh-save-port"`},
			nil},
		{"wrong port, refused port", sshData{Conn: server(view()), Error: &Problem{Status: 400, Title: "Invalid request", Field: "port", Detail: "the port is a number from 1 to 65535"},
			Check: &services.SSHCheck{Reason: "ssh_wrong_port"}},
			[]string{`id="ssh-port-error" role="alert">The port is a number from 1 to 65535.<`, `aria-invalid="true"`},
			nil},
		{"host key unconfirmed", sshData{Conn: server(view()), Check: &services.SSHCheck{Reason: "host_key_unconfirmed", HostKeyFingerprint: "SHA256:hostfp"}},
			[]string{`data-ssh-outcome="host_key_unconfirmed"`, "Compare it with the fingerprint your server administrator gives you.",
				`id="ssh-host-fingerprint">SHA256:hostfp<`, `name="fingerprint" value="SHA256:hostfp"`, `id="ssh-trust">Trust this host key<`},
			[]string{"do not accept"}},
		{"host key changed, recorded", func() sshData {
			v := view()
			v.CheckedAt, v.CheckReason, v.SeenHostKeyFingerprint, v.SeenHostKeyHost = time.Now(), "host_key_changed", "SHA256:newhostfp", "tfs.example.com:22"
			v.HostKey = &services.HostKeyView{Fingerprints: []string{"SHA256:oldhostfp"}, Source: "confirmed", Host: "tfs.example.com:22", ConfirmedAt: time.Now()}
			return sshData{Conn: server(v)}
		}(),
			[]string{`data-ssh-outcome="host_key_changed"`, `New host key fingerprint of <code class="wrap" id="ssh-host-addr">tfs.example.com:22</code>:`,
				"SHA256:oldhostfp", "(for tfs.example.com:22, confirmed ", "has changed since it was trusted", "If you did not expect this, do not accept.",
				"Compare it with the fingerprint your server administrator gives you.", `name="fingerprint" value="SHA256:newhostfp"`, `id="ssh-trust" class="danger"`},
			[]string{`role="alert"`, "autofocus"}}, // a recorded outcome is history: it does not take the focus
		{"host key changed on Services", sshData{Conn: &services.Connection{ID: "c1", Type: services.TypeServicesPAT, CloneOver: "ssh", SSH: func() *services.SSHView {
			v := view()
			v.SeenHostKeyFingerprint, v.SeenHostKeyHost = "SHA256:mitmfp", "ssh.dev.azure.com:22"
			return v
		}()},
			Check: &services.SSHCheck{Reason: "host_key_changed", HostKeyFingerprint: "SHA256:mitmfp"}},
			[]string{`Host key fingerprint seen at <code class="wrap" id="ssh-host-addr">ssh.dev.azure.com:22</code>:`, `data-ssh-outcome="host_key_changed"`, "does not match the fingerprint Microsoft publishes. Every clone over SSH is stopped.",
				`href="https://learn.microsoft.com/azure/devops/repos/git/use-ssh-keys-to-authenticate"`, "Microsoft rotated its host key",
				"intercepting the connection", `id="ssh-host-fingerprint">SHA256:mitmfp<`, `<code class="wrap">serve --services-ssh-host-key SHA256:…</code>`,
				"cannot be accepted on this page", `role="alert"`},
			[]string{`id="ssh-trust"`, `action="/ui/connections/c1/ssh-host-key"`, `name="fingerprint"`, "until the new key is accepted", "server administrator"}},
		{"host key changed on a Server, fresh", sshData{Conn: server(view()), Check: &services.SSHCheck{Reason: "host_key_changed", HostKeyFingerprint: "SHA256:newhostfp"}},
			[]string{"has changed since it was trusted. Every clone over SSH is stopped until the new key is accepted.", `action="/ui/connections/c1/ssh-host-key"`,
				`name="fingerprint" value="SHA256:newhostfp"`, `id="ssh-trust" class="danger">Trust this host key<`, "Ask the server administrator"},
			[]string{"Microsoft", "services-ssh-host-key"}},
		{"remove confirmation", sshData{Conn: server(view()), ConfirmRemove: true},
			[]string{"Remove the SSH key?", `action="/ui/connections/c1/ssh-key/remove"`, `id="ssh-remove-yes"`, `href="/ui/connections/c1#ssh">Cancel<`},
			[]string{`id="ssh-remove"`}},
		{"refused own key", sshData{Conn: &services.Connection{ID: "c1", Type: services.TypeServerPAT}, Own: true,
			Error: &Problem{Status: 400, Title: "Invalid request", Code: "ssh_key_type_refused", Field: "privateKey", Detail: "the server accepts rsa keys only"}},
			[]string{`<details class="ssh-own" open>`, `id="ssh-private-key-error" role="alert">The server accepts rsa keys only.<`, `aria-invalid="true"`},
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := pages[""].ExecuteTemplate(&b, "ssh-section", tc.d); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("unexpected %q in\n%s", w, out)
				}
			}
		})
	}
}
