package gitops

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/egress"
)

func TestParseSSHURL(t *testing.T) {
	ok := []struct {
		raw                string
		user, host, path   string
		port               int
		wantAddr, wantPath string
	}{
		{raw: "git@ssh.dev.azure.com:v3/org/proj/repo", user: "git", host: "ssh.dev.azure.com", path: "v3/org/proj/repo", port: 22},
		{raw: "ssh://git@ssh.dev.azure.com/v3/org/proj/repo", user: "git", host: "ssh.dev.azure.com", path: "/v3/org/proj/repo", port: 22},
		{raw: "ssh://tfs.example.com:22/tfs/Coll/Proj/_git/Repo", host: "tfs.example.com", path: "/tfs/Coll/Proj/_git/Repo", port: 22},
		{raw: "ssh://tfs.example.com:2222/Coll/Proj/_ssh/Repo", host: "tfs.example.com", path: "/Coll/Proj/_ssh/Repo", port: 2222},
		{raw: "fabrikam@vs-ssh.visualstudio.com:v3/fabrikam/proj/repo", user: "fabrikam", host: "vs-ssh.visualstudio.com", path: "v3/fabrikam/proj/repo", port: 22},
		{raw: "ssh://git@127.0.0.1:2201/v3/fabrikam/Fabrikam%20Mobile/android%20app", user: "git", host: "127.0.0.1", path: "/v3/fabrikam/Fabrikam Mobile/android app", port: 2201},
		{raw: "ssh://git@[::1]:2201/v3/o/p/r", user: "git", host: "::1", path: "/v3/o/p/r", port: 2201},
	}
	for _, c := range ok {
		ep, err := ParseSSHURL(c.raw)
		if err != nil {
			t.Errorf("%s: %v", c.raw, err)
			continue
		}
		if ep.User != c.user || ep.Host != c.host || ep.Path != c.path || ep.Port != c.port {
			t.Errorf("%s: %+v", c.raw, ep)
		}
	}
	if got := (SSHURL{Host: "::1", Port: 22}).Addr(); got != "[::1]:22" {
		t.Errorf("addr of ::1: %s", got)
	}
	for raw, want := range map[string]string{
		"git@ssh.dev.azure.com:v3/org/proj/repo":                  "ssh://git@ssh.dev.azure.com:22/v3/org/proj/repo",
		"ssh://tfs.example.com:2222/Coll/Proj/_ssh/Repo":          "ssh://tfs.example.com:2222/Coll/Proj/_ssh/Repo",
		"ssh://git@[::1]:2201/v3/o/p/r":                           "ssh://git@[::1]:2201/v3/o/p/r",
		"ssh://git@h/v3/fabrikam/Fabrikam%20Mobile/android%20app": "ssh://git@h:22/v3/fabrikam/Fabrikam%20Mobile/android%20app",
	} {
		u, err := ParseSSHURL(raw)
		if err != nil || u.String() != want {
			t.Errorf("%s: String() = %q, %v; want %q", raw, u.String(), err, want)
			continue
		}
		// What String writes reads back the same (ssh:// form: the path gains its "/").
		back, err := ParseSSHURL(u.String())
		if err != nil || back.Host != u.Host || back.Port != u.Port || back.User != u.User || back.Path != "/"+strings.TrimPrefix(u.Path, "/") {
			t.Errorf("%s: %s reads back as %+v, %v", raw, u, back, err)
		}
	}
	if _, err := ParseSSHURL("git@h:2222:x"); err == nil || !strings.Contains(err.Error(), "ssh://h:2222/path") {
		t.Errorf("the ambiguous scp form's error does not say how to write a port: %v", err)
	}
	for _, raw := range []string{
		"https://dev.azure.com/org/proj/_git/repo", // not SSH
		"/srv/git/repo", // a local path (go-git's file transport)
		"file:///srv/git/repo",
		"git://example.com/repo",
		"ssh://user:secret@example.com/repo", // a password
		"ssh://-oProxyCommand=x/repo",        // an option, not a host
		"ssh://example.com",                  // no path
		"ssh://example.com/",
		"git@example.com:path with\nnewline",
		"git@example.com:path\x00nul",
		"git@ssh.dev.azure.com:2222:x",      // go-git: port 2222; git: the path "2222:x"
		"git@ssh.dev.azure.com:22:v3/o/p/r", // the same, even on 22
		"git@host:2222:x://y",               // the same: "://" after the host is still the scp form
		"a:b@host:x",                        // a user holding ':'
		"git@host:v3/o/p/it's",              // a quote would end go-git's '<path>'
		"ssh://git@host/v3/o/p/it%27s",      // the same, percent-encoded
		"ssh://git@host/v3/o/p/a%0Ab",       // a newline in the path
		"git@host:v3/o/p/a\\b",              // a backslash
		"git@host:v3/o/p/a`id`",             // a backtick
		"git@host:v3/o/p/a\x7f",             // DEL
		"",
	} {
		if _, err := ParseSSHURL(raw); !errors.Is(err, connections.ErrInvalidInput) {
			t.Errorf("%q: err = %v, want ErrInvalidInput", raw, err)
		} else if raw == "ssh://user:secret@example.com/repo" && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error quotes the password: %v", err)
		}
	}
}

func TestResolveSSHRelative(t *testing.T) {
	for _, c := range []struct{ super, rel, want string }{
		{"git@ssh.dev.azure.com:v3/org/proj/repo", "../other", "git@ssh.dev.azure.com:v3/org/proj/other"},
		{"git@ssh.dev.azure.com:v3/org/proj/repo", "./sub", "git@ssh.dev.azure.com:v3/org/proj/repo/sub"},
		{"git@ssh.dev.azure.com:v3/org/proj/repo", "../../proj2/lib", "git@ssh.dev.azure.com:v3/org/proj2/lib"},
		{"host:/abs/path/repo", "../lib", "host:/abs/path/lib"},
		{"ssh://tfs:22/tfs/Coll/Proj/_git/Repo", "../Lib", "ssh://tfs:22/tfs/Coll/Proj/_git/Lib"},
		{"ssh://git@127.0.0.1:2201/v3/o/My%20Proj/repo", "../lib", "ssh://git@127.0.0.1:2201/v3/o/My%20Proj/lib"},
	} {
		got, err := resolveSSHRelative(c.super, c.rel)
		if err != nil || got != c.want {
			t.Errorf("%s + %s = %q, %v; want %q", c.super, c.rel, got, err, c.want)
		}
	}
}

func TestSSHSubmoduleRemote(t *testing.T) {
	auth := &SSHAuth{PrivateKeyPEM: "k", HostKeyFingerprints: []string{"SHA256:x"}}
	super := CloneOptions{URL: "ssh://git@tfs.example.com:2222/Coll/Proj/_git/Repo", SSH: auth, PAT: "pat"}
	for _, c := range []struct {
		raw, url string
		key      bool
		err      string
	}{
		{raw: "../Lib", url: "ssh://git@tfs.example.com:2222/Coll/Proj/_git/Lib", key: true},
		{raw: "ssh://git@TFS.example.com:2222/Coll/Other/_git/Lib", url: "ssh://git@TFS.example.com:2222/Coll/Other/_git/Lib", key: true},
		{raw: "https://github.com/org/lib.git", url: "https://github.com/org/lib.git"},
		{raw: "ssh://git@tfs.example.com/Coll/Proj/_git/Lib", err: "another SSH host (tfs.example.com:22)"}, // another port
		{raw: "git@github.com:org/lib.git", err: "another SSH host (github.com:22)"},
		{raw: "file:///etc", err: "only SSH, http(s) and relative"},
	} {
		r, err := submoduleRemote(super, c.raw)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %+v, %v; want an error with %q", c.raw, r, err, c.err)
			}
		case err != nil || r.url != c.url || (r.ssh == auth) != c.key || !r.pat.Empty() || !r.token.Empty():
			t.Errorf("%s: %+v, %v; want %s with key %v and no PAT", c.raw, r, err, c.url, c.key)
		}
	}
}

// Finding 1 of the review: a relative URL resolved against an scp-form superproject cannot
// move the key to another port (host:NNNN:path) or host; on the same host and port it gets
// the key.
func TestSSHSubmoduleRelativeStaysOnHost(t *testing.T) {
	auth := &SSHAuth{PrivateKeyPEM: "k", HostKeyFingerprints: []string{"SHA256:x"}}
	super := CloneOptions{URL: "git@ssh.dev.azure.com:v3/org/proj/repo", SSH: auth}
	for _, c := range []struct{ raw, url, err string }{
		{raw: "../other", url: "git@ssh.dev.azure.com:v3/org/proj/other"},
		{raw: "../../proj2/lib", url: "git@ssh.dev.azure.com:v3/org/proj2/lib"},
		{raw: "../../../../2222:x", err: `resolves to "git@ssh.dev.azure.com:2222:x": the SSH clone URL ssh.dev.azure.com:2222:… is ambiguous`},
		{raw: "../../../../22:x", err: "is ambiguous"},
		{raw: "../../../../x'y", err: "must not contain quotes"},
	} {
		r, err := submoduleRemote(super, c.raw)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) || r.ssh != nil {
				t.Errorf("%s: %+v, %v; want no key and an error with %q", c.raw, r, err, c.err)
			}
		case err != nil || r.url != c.url || r.ssh != auth:
			t.Errorf("%s: %+v, %v; want %s with the key", c.raw, r, err, c.url)
		}
	}
	// A resolved URL on another host or port than the superproject's gets no key.
	for _, u := range []string{"git@other.example.com:v3/org/proj/x", "ssh://git@ssh.dev.azure.com:2222/v3/org/proj/x", "ssh://git@ssh.dev.azure.com.evil:22/x"} {
		if r, err := sameSSHHost(SSHURL{Host: "ssh.dev.azure.com", Port: 22}, auth, u, "../x"); err == nil || r.ssh != nil ||
			!strings.Contains(err.Error(), "another SSH host") {
			t.Errorf("%s: %+v, %v; want another SSH host, no key", u, r, err)
		}
	}
	if r, err := sameSSHHost(SSHURL{Host: "ssh.dev.azure.com", Port: 22}, auth, "ssh://git@SSH.dev.azure.com:22/v3/o/p/r", "../r"); err != nil || r.ssh != auth {
		t.Errorf("the same host and port: %+v, %v", r, err)
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	key := signer.PublicKey()
	fp := ssh.FingerprintSHA256(key)
	for _, pin := range []string{fp, " " + fp + " ", strings.TrimPrefix(fp, "SHA256:"), fp + "=", "sha256:" + strings.TrimPrefix(fp, "SHA256:")} {
		if !trusted([]string{"SHA256:other", pin}, key) {
			t.Errorf("pin %q does not match %s", pin, fp)
		}
	}
	if trusted(nil, key) || trusted([]string{strings.ToLower(fp)}, key) {
		t.Error("an empty or a lower-cased pin list trusts the key")
	}
	for pinned, reason := range map[bool]connections.Reason{true: connections.ReasonHostKeyChanged, false: connections.ReasonHostKeyUnconfirmed} {
		he := hostKeyError("h:22", key, pinned)
		var err error = he
		var got *HostKeyError
		if !errors.As(err, &got) || !errors.Is(err, connections.ErrHostKey) || connections.AsError(err) != he.Err || he.Err.Reason != reason ||
			he.PresentedFingerprint != fp || he.Host != "h:22" || !strings.HasPrefix(he.Presented, "ssh-ed25519 AAAA") ||
			!strings.Contains(he.Err.Message, fp) {
			t.Errorf("pinned %v: %+v %+v", pinned, he, he.Err)
		}
	}
}

// translateSSH runs the run's translation of err after the handshake saw greeting.
func translateSSH(err error, greeting string) error {
	r := &sshRun{ep: SSHURL{Host: "tfs.example.com", Port: 22, Path: "/x"}, user: "git", ctx: context.Background(), greeting: []byte(greeting)}
	return r.translate(err, time.Minute)
}

func TestSSHTranslate(t *testing.T) {
	const banner = "SSH-2.0-SSHBlackbox.10\r\n"
	authErr := fmt.Errorf("ssh: handshake failed: %w", errors.New("ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain"))
	for _, c := range []struct {
		name     string
		err      error
		greeting string
		kind     error
		reason   connections.Reason
		says     string
	}{
		{"key refused", authErr, banner, connections.ErrUnauthorized, connections.ReasonSSHKeyNotAdded, "User settings > SSH public keys"},
		{"http port", fmt.Errorf("ssh: handshake failed: %w", io.EOF), "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n", connections.ErrUnreachable, connections.ReasonSSHWrongPort, "tfs.example.com:22 answers, but does not speak SSH"},
		{"long answer", errors.New("ssh: handshake failed: ssh: overflow reading version string"), strings.Repeat("x", 300), connections.ErrUnreachable, connections.ReasonSSHWrongPort, "does not speak SSH"},
		{"invalid packet", errors.New("ssh: handshake failed: ssh: invalid packet length, packet too large"), "220 smtp ready\r\n", connections.ErrUnreachable, connections.ReasonSSHWrongPort, "does not speak SSH"},
		{"silent close", fmt.Errorf("ssh: handshake failed: %w", io.EOF), "", connections.ErrUnreachable, connections.ReasonUnreachable, "closed the connection"},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, "", connections.ErrUnreachable, connections.ReasonUnreachable, "tfs.example.com:22 was refused"},
		{"dns", &net.DNSError{Err: "no such host", Name: "tfs.example.com", IsNotFound: true}, "", connections.ErrUnreachable, connections.ReasonUnreachable, "could not be resolved"},
		{"handshake after greeting", errors.New("ssh: handshake failed: ssh: no common algorithm for key exchange"), banner, connections.ErrProtocol, connections.ReasonProtocol, "SSH handshake with tfs.example.com:22 failed"},
		{"signature algorithms", errors.New(`ssh: handshake failed: ssh: no common public key signature algorithm, server only supports "ssh-rsa" for key type "ssh-rsa", signer only supports [rsa-sha2-512]`), banner, connections.ErrProtocol, connections.ReasonProtocol, "accepts none of the SSH signature algorithms"},
		{"host key algorithms", errors.New(`ssh: handshake failed: ssh: no common algorithm for host key; we offered: ["rsa-sha2-512"], peer offered: ["ssh-rsa"]`), banner, connections.ErrProtocol, connections.ReasonProtocol, "offers none of the host key algorithms"},
		{"tf401019 stderr", errors.New("unknown error: remote: TF401019: The Git repository with name or identifier Repo does not exist or you do not have permissions for the operation you are attempting."), banner, connections.ErrNotFound, connections.ReasonNotFound, "not found over SSH"},
		{"err packet", &pktline.ErrorLine{Text: "TF401019: no"}, banner, connections.ErrNotFound, connections.ReasonNotFound, "not found over SSH"},
		{"not found", transport.ErrRepositoryNotFound, banner, connections.ErrNotFound, connections.ReasonNotFound, "not found over SSH"},
		{"tf401027", errors.New("unknown error: remote: TF401027: You need the Git 'GenericRead' permission"), banner, connections.ErrForbidden, connections.ReasonForbidden, "does not allow"},
		{"refusal", egress.Refusal(errors.New("loopback")), "", connections.ErrDestinationNotAllowed, connections.ReasonDestinationNotAllowed, egress.Message},
	} {
		got := translateSSH(c.err, c.greeting)
		ce := connections.AsError(got)
		if ce == nil || !errors.Is(got, c.kind) || ce.Reason != c.reason || !strings.Contains(ce.Message, c.says) {
			t.Errorf("%s: %#v, want %v %s saying %q", c.name, got, c.kind, c.reason, c.says)
			continue
		}
		if !errors.Is(got, c.err) && c.name != "refusal" {
			t.Errorf("%s: the cause is lost: %v", c.name, got)
		}
		if strings.Contains(ce.Message, "TF401019") || strings.Contains(ce.Message, "HTTP/1.1") {
			t.Errorf("%s: the message quotes the remote: %s", c.name, ce.Message)
		}
	}
	// What is not SSH's own goes to Clone's translate.
	if got := translateSSH(errors.New("couldn't find remote ref refs/heads/nope"), "SSH-2.0-x\r\n"); got != nil {
		t.Errorf("a missing branch: %v, want nil", got)
	}
	// The clone's bound closed the connection mid-handshake: a timeout, not a silent server.
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	r := &sshRun{ep: SSHURL{Host: "h", Port: 22}, ctx: ctx}
	if got := r.translate(errors.New("ssh: handshake failed: use of closed network connection"), time.Second); connections.AsError(got) == nil ||
		connections.AsError(got).Reason != connections.ReasonUnreachable || !strings.Contains(got.Error(), "timeout") {
		t.Errorf("a timeout: %v", got)
	}
	// A host key refusal wins over whatever go-git made of it.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	r = &sshRun{ep: SSHURL{Host: "h", Port: 22}, ctx: context.Background()}
	if err := r.hostKeyCallback("h:22", nil, signer.PublicKey()); err == nil {
		t.Fatal("an unpinned host key passed")
	}
	var he *HostKeyError
	if got := r.translate(errors.New("ssh: handshake failed: something"), time.Second); !errors.As(got, &he) || he.Err.Reason != connections.ReasonHostKeyUnconfirmed {
		t.Errorf("after a host key refusal: %v", got)
	}
}

func TestSSHGreeting(t *testing.T) {
	for in, want := range map[string]bool{"SSH-2.0-x\r\n": true, "hello\r\nSSH-2.0-x\r\n": true, "HTTP/1.1 400\r\n": false, "": false, "xSSH-2.0": false} {
		if sshGreeting([]byte(in)) != want {
			t.Errorf("%q: %v", in, !want)
		}
	}
}

// A go-git SSH session without a running clone's key and door is refused before any dial.
func TestSSHGuardRefuses(t *testing.T) {
	EnableAzureDevOpsCapabilities()
	ep, err := transport.NewEndpoint("ssh://git@127.0.0.1:1/repo")
	if err != nil {
		t.Fatal(err)
	}
	run := &sshRun{ep: SSHURL{Host: "127.0.0.1", Port: 1}, token: "not-registered"}
	g := sshGuard{transport.Transport(nil)}
	for name, c := range map[string]struct {
		proxy string
		auth  transport.AuthMethod
	}{
		"no auth":           {proxy: run.proxy().URL},
		"another auth":      {proxy: run.proxy().URL, auth: &githttp.BasicAuth{}},
		"no door":           {auth: &sshKeyAuth{run: run}},
		"unregistered door": {proxy: run.proxy().URL, auth: &sshKeyAuth{run: run}},
		"socks proxy":       {proxy: "socks5://127.0.0.1:1080", auth: &sshKeyAuth{run: run}},
	} {
		ep.Proxy = transport.ProxyOptions{URL: c.proxy}
		if _, err := g.NewUploadPackSession(ep, c.auth); !errors.Is(err, connections.ErrDestinationNotAllowed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := g.NewReceivePackSession(ep, &sshKeyAuth{run: run}); err == nil {
		t.Error("push allowed")
	}
	if _, err := newSSHDoorDialer(mustURL(t, sshProxyScheme+"://unknown"), nil); !errors.Is(err, connections.ErrDestinationNotAllowed) {
		t.Errorf("a dialer for an unknown token: %v", err)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// FuzzParseSSHURL: a remote URL is the tenant's text; what ParseSSHURL accepts has a host
// that cannot be read as an option, a port in range and a path, and go-git dials that host.
func FuzzParseSSHURL(f *testing.F) {
	for _, s := range []string{"git@ssh.dev.azure.com:v3/o/p/r", "ssh://h:22/tfs/C/P/_git/R", "ssh://[::1]:2/x", "h:1:x", "-o@h:x", "ssh://u:p@h/x", "h:x'y", "ssh://h/a%27b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ep, err := ParseSSHURL(raw)
		if err != nil {
			return
		}
		if ep.Host == "" || strings.HasPrefix(ep.Host, "-") || ep.Port < 1 || ep.Port > 65535 || strings.Trim(ep.Path, "/") == "" ||
			strings.IndexFunc(ep.Path, unquotable) >= 0 || (!strings.Contains(raw, "://") && ep.Port != 22) {
			t.Fatalf("%q accepted as %+v", raw, ep)
		}
		gep, err := transport.NewEndpoint(raw)
		if err != nil {
			t.Fatalf("%q: go-git cannot read it: %v", raw, err)
		}
		port := gep.Port
		if port == 0 {
			port = 22
		}
		if !sameAddr(net.JoinHostPort(gep.Host, fmt.Sprint(port)), ep) {
			t.Fatalf("%q: go-git dials %+v, the door checks %s", raw, gep, ep.Addr())
		}
		// String writes what reads back as the same host, port, user and path.
		back, err := ParseSSHURL(ep.String())
		if err != nil || back.Host != ep.Host || back.Port != ep.Port || back.User != ep.User || back.Path != "/"+strings.TrimPrefix(ep.Path, "/") {
			t.Fatalf("%q: %+v written as %q reads back as %+v, %v", raw, ep, ep.String(), back, err)
		}
	})
}
