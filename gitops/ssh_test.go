package gitops_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/gitops"
)

// sshKey is a test key pair: the private key PEM, the authorized_keys line and the file the
// ssh CLI reads it from.
type sshKey struct {
	pem  connections.Secret
	pub  string
	path string
}

var (
	sshKeysOnce sync.Once
	sshKeys     [2]sshKey
)

// testSSHKeys returns two RSA keys (the simulator accepts RSA in every mode), made once.
func testSSHKeys(t *testing.T) [2]sshKey {
	t.Helper()
	sshKeysOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gitops-ssh-keys")
		if err != nil {
			panic(err)
		}
		for i := range sshKeys {
			priv, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			block, err := ssh.MarshalPrivateKey(priv, "")
			if err != nil {
				panic(err)
			}
			pub, err := ssh.NewPublicKey(&priv.PublicKey)
			if err != nil {
				panic(err)
			}
			k := sshKey{pem: connections.Secret(pem.EncodeToMemory(block)), pub: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))),
				path: filepath.Join(dir, "key"+string(rune('0'+i)))}
			if err := os.WriteFile(k.path, []byte(k.pem.Reveal()), 0o600); err != nil {
				panic(err)
			}
			sshKeys[i] = k
		}
	})
	return sshKeys
}

// sshEnv is a simulator serving SSH with testSSHKeys()[0] added for the PAT's user.
type sshEnv struct {
	sim      *azdosim.Server
	key      sshKey
	services bool
	hosts    string // a known_hosts file for the ssh CLI
}

// startSSHSim starts a simulator (Services or a Server) with SSH on loopback; mods change
// its options first.
func startSSHSim(t *testing.T, services bool, mods ...func(*azdosim.Options)) *sshEnv {
	t.Helper()
	opts := azdosim.Options{Seed: true, SSHAddr: "127.0.0.1:0"}
	for _, m := range mods {
		m(&opts)
	}
	var sim *azdosim.Server
	if services {
		sim = azdosimtest.StartServices(t, opts, azdosim.PAT{Token: pat})
	} else {
		opts.VirtualDir = "tfs"
		sim = azdosimtest.Start(t, opts, azdosim.PAT{Token: pat})
	}
	e := &sshEnv{sim: sim, key: testSSHKeys(t)[0], services: services, hosts: filepath.Join(t.TempDir(), "known_hosts")}
	if err := sim.AddSSHPublicKey("", e.key.pub); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(sim.SSHAddr())
	if err := os.WriteFile(e.hosts, []byte("[127.0.0.1]:"+port+" "+sim.SSHHostPublicKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// url is r's SSH URL: Services' v3 form, a Server's _git form (the simulator's sshUrl).
func (e *sshEnv) url(r azdosim.RepoInfo) string {
	esc := url.PathEscape
	if e.services {
		return "ssh://git@" + e.sim.SSHAddr() + "/v3/" + esc(r.Collection) + "/" + esc(r.ProjectName) + "/" + esc(r.Name)
	}
	return "ssh://" + e.sim.SSHAddr() + "/tfs/" + esc(r.Collection) + "/" + esc(r.ProjectName) + "/_git/" + esc(r.Name)
}

// auth is the key with the simulator's host key trusted.
func (e *sshEnv) auth() *gitops.SSHAuth {
	return &gitops.SSHAuth{PrivateKeyPEM: e.key.pem, HostKeyFingerprints: []string{"SHA256:unrelated", e.sim.SSHHostKeyFingerprint()}}
}

// gitClone clones with git over SSH (the ssh CLI, the key, the known_hosts file only).
func (e *sshEnv) gitClone(t *testing.T, u, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"clone", "-q"}, append(args, u, dir)...)...)
	cmd.Env = append(os.Environ(), "GIT_SSH_COMMAND=ssh -F /dev/null -i '"+e.key.path+"' -o IdentitiesOnly=yes -o BatchMode=yes"+
		" -o UserKnownHostsFile='"+e.hosts+"' -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git clone over SSH: %v\n%s", err, out)
	}
}

// A clone over SSH equals git's clone over SSH of the same repository: Services' v3 path and
// a Server's _git path, full and depth 1, cold and through the cache.
func TestSSHCloneMatchesGit(t *testing.T) {
	for _, services := range []bool{true, false} {
		e := startSSHSim(t, services)
		r := repoByName(t, e.sim, "android app")
		c := newCache(t, 0)
		for _, depth := range []int{0, 1} {
			for _, cached := range []bool{false, true} {
				name := map[bool]string{true: "services", false: "server"}[services] + map[int]string{0: "/full", 1: "/depth1"}[depth] +
					map[bool]string{true: "/cache", false: "/cold"}[cached]
				t.Run(name, func(t *testing.T) {
					a, b := filepath.Join(t.TempDir(), "engine"), filepath.Join(t.TempDir(), "git")
					opts := gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(r), Dir: a, Depth: depth, SSH: e.auth()}
					if cached {
						opts.Cache, opts.CacheKey = c, gitops.CacheKey{Tenant: "t", Connection: "c", Repository: name}
					}
					want := gitops.SourceCold
					if cached {
						// The first run fills the store; the second checks out from it, with
						// its own negotiation over SSH; the third updates the work tree in place.
						first := opts
						first.Dir = filepath.Join(t.TempDir(), "first")
						if _, err := gitops.Clone(context.Background(), first); err != nil {
							t.Fatalf("first clone through the cache: %v", err)
						}
						want = gitops.SourceCache
					}
					res, err := gitops.Clone(context.Background(), opts)
					if err != nil {
						t.Fatalf("Clone over SSH: %v", err)
					}
					if res.Source != want || res.Branch != strings.TrimPrefix(r.DefaultBranch, "refs/heads/") {
						t.Fatalf("result %+v, want source %s", res, want)
					}
					if cached {
						opts.Reuse = true
						if res, err = gitops.Clone(context.Background(), opts); err != nil || res.Source != gitops.SourceWorkspace {
							t.Fatalf("reused workspace over SSH: %+v, %v", res, err)
						}
					}
					var args []string
					if depth > 0 {
						args = []string{"--depth", "1"}
					}
					e.gitClone(t, e.url(r), b, args...)
					sameClone(t, a, b)
					if got := gitOut(t, a, "config", "remote.origin.url"); got != e.url(r) {
						t.Fatalf("remote.origin.url %q", got)
					}
				})
			}
		}
	}
}

// The scp form with a port is refused (it is ambiguous), and ListRefs reads the advertisement and the
// host key seen.
func TestSSHScpFormAndListRefs(t *testing.T) {
	e := startSSHSim(t, true)
	r := repoByName(t, e.sim, "android app")
	// The scp form as Azure DevOps shows it (git@ssh.dev.azure.com:v3/...) has no port; with
	// the simulator's port written there (host:port:path, which go-git would dial on that
	// port and git would read as a path) it is refused before anything is dialled or written.
	scp := "git@" + e.sim.SSHAddr() + ":v3/" + r.Collection + "/" + url.PathEscape(r.ProjectName) + "/" + url.PathEscape(r.Name)
	dir := filepath.Join(t.TempDir(), "c")
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: scp, Dir: dir, SSH: e.auth()})
	if ce := connections.AsError(err); !errors.Is(err, connections.ErrInvalidInput) || ce == nil || ce.Field != "url" || !strings.Contains(ce.Message, "ssh://127.0.0.1:") {
		t.Fatalf("the scp form with a port: %v", err)
	}
	leftNothing(t, dir)
	refs, err := gitops.ListRefs(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(r), SSH: e.auth()})
	if err != nil {
		t.Fatalf("ListRefs: %v", err)
	}
	head := gitOut(t, r.BarePath, "rev-parse", r.DefaultBranch)
	if refs.Head != r.DefaultBranch || refs.HeadCommit != head || refs.Refs[r.DefaultBranch] != head || refs.Total < 1 ||
		refs.HostKeyFingerprint != e.sim.SSHHostKeyFingerprint() || refs.HostKey != e.sim.SSHHostPublicKey() {
		t.Fatalf("ListRefs = %+v", refs)
	}
	// An empty repository: the listing succeeds (the key was accepted), the clone is git's.
	empty, err := e.sim.CreateRepository(r.Collection, r.ProjectName, "nothing yet")
	if err != nil {
		t.Fatal(err)
	}
	if refs, err := gitops.ListRefs(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(empty), SSH: e.auth()}); err != nil ||
		!refs.Empty || refs.HostKeyFingerprint != e.sim.SSHHostKeyFingerprint() {
		t.Fatalf("ListRefs of an empty repository: %+v, %v", refs, err)
	}
	if res, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(empty), Dir: filepath.Join(t.TempDir(), "e"),
		SSH: e.auth(), AllowEmpty: true}); err != nil || !res.Empty {
		t.Fatalf("Clone of an empty repository over SSH: %+v, %v", res, err)
	}
	// Over HTTPS too, with the PAT.
	hr, err := gitops.ListRefs(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor,
		URL: e.sim.URL() + "/" + r.Collection + "/" + url.PathEscape(r.ProjectName) + "/_git/" + url.PathEscape(r.Name), PAT: pat})
	if err != nil || hr.HeadCommit != head || hr.HostKeyFingerprint != "" {
		t.Fatalf("ListRefs over HTTPS: %+v, %v", hr, err)
	}
}

// reasonAndNothing checks that err has reason and that dir was not left behind.
func reasonAndNothing(t *testing.T, err error, kind error, reason connections.Reason, dir string) *connections.Error {
	t.Helper()
	ce := connections.AsError(err)
	if ce == nil || !errors.Is(err, kind) || ce.Reason != reason {
		t.Fatalf("err = %#v, want %v %s", err, kind, reason)
	}
	leftNothing(t, dir)
	return ce
}

// A key the server does not know is ssh_key_not_added; a changed host key is host_key_changed
// and an empty pin list host_key_unconfirmed, with the key presented, before any key is
// offered (the simulator records no refusal); the same from ListRefs.
func TestSSHRefusals(t *testing.T) {
	e := startSSHSim(t, false)
	r := repoByName(t, e.sim, "android app")
	dir := filepath.Join(t.TempDir(), "c")
	other := testSSHKeys(t)[1]
	opts := gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(r), Dir: dir, SSH: &gitops.SSHAuth{PrivateKeyPEM: other.pem,
		HostKeyFingerprints: []string{e.sim.SSHHostKeyFingerprint()}}}
	_, err := gitops.Clone(context.Background(), opts)
	ce := reasonAndNothing(t, err, connections.ErrUnauthorized, connections.ReasonSSHKeyNotAdded, dir)
	if !strings.Contains(ce.Message, "User settings > SSH public keys") || strings.Contains(ce.Message, "PRIVATE") {
		t.Fatalf("message %q", ce.Message)
	}
	if _, err := gitops.ListRefs(context.Background(), opts); connections.AsError(err) == nil || connections.AsError(err).Reason != connections.ReasonSSHKeyNotAdded {
		t.Fatalf("ListRefs with an unknown key: %v", err)
	}
	refused := len(e.sim.SSHRefusals())
	if refused == 0 {
		t.Fatal("the simulator recorded no refusal of the unknown key")
	}

	for _, pins := range [][]string{{e.sim.SSHHostKeyFingerprint()}, nil} {
		_, priv, err := generateHostKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := e.sim.SetSSHHostKey(priv); err != nil {
			t.Fatal(err)
		}
		// The unknown key: were it offered, the simulator would record its refusal.
		opts := gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(r), Dir: dir, SSH: &gitops.SSHAuth{PrivateKeyPEM: other.pem, HostKeyFingerprints: pins}}
		_, err = gitops.Clone(context.Background(), opts)
		reason := connections.ReasonHostKeyChanged
		if pins == nil {
			reason = connections.ReasonHostKeyUnconfirmed
		}
		reasonAndNothing(t, err, connections.ErrHostKey, reason, dir)
		var he *gitops.HostKeyError
		if !errors.As(err, &he) || he.PresentedFingerprint != e.sim.SSHHostKeyFingerprint() || he.Presented != e.sim.SSHHostPublicKey() ||
			he.Host != e.sim.SSHAddr() || !strings.Contains(he.Err.Message, he.PresentedFingerprint) {
			t.Fatalf("host key error %+v", he)
		}
		if _, err := gitops.ListRefs(context.Background(), opts); !errors.As(err, &he) || he.Err.Reason != reason {
			t.Fatalf("ListRefs with an untrusted host key: %v", err)
		}
		// Trusted, the same key clones.
		opts.SSH = &gitops.SSHAuth{PrivateKeyPEM: e.key.pem, HostKeyFingerprints: []string{he.PresentedFingerprint}}
		if _, err := gitops.Clone(context.Background(), opts); err != nil {
			t.Fatalf("with the new key trusted: %v", err)
		}
		os.RemoveAll(dir)
	}
	if n := len(e.sim.SSHRefusals()); n != refused {
		t.Fatalf("a key was offered to an untrusted host: %d refusals, were %d", n, refused)
	}
	if err := e.sim.SetSSHHostKey(nil); err != nil {
		t.Fatal(err)
	}

	// A repository the server does not have: git-upload-pack's TF401019 on stderr.
	missing := strings.Replace(e.url(r), "/_git/android%20app", "/_git/nope", 1)
	_, err = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: missing, Dir: dir, SSH: e.auth()})
	if ce := reasonAndNothing(t, err, connections.ErrNotFound, connections.ReasonNotFound, dir); !strings.Contains(ce.Message, "over SSH") ||
		ce.Err == nil || !strings.Contains(ce.Err.Error(), "TF401019") || strings.Contains(ce.Message, "TF401019") {
		t.Fatalf("a missing repository: %v (cause %v)", ce.Message, ce.Err)
	}
	// A branch that does not exist: Clone's own translation.
	_, err = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(r), Dir: dir, Branch: "nope", SSH: e.auth()})
	reasonAndNothing(t, err, connections.ErrNotFound, connections.ReasonNotFound, dir)
}

// generateHostKey returns a new host key for the simulator.
func generateHostKey() (ssh.PublicKey, ssh.Signer, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return s.PublicKey(), s, nil
}

// countingListener counts the connections it accepts (and closes them at once).
type countingListener struct {
	net.Listener
	accepted chan string // the remote address of each connection, in order
}

func newCountingListener(t *testing.T) *countingListener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &countingListener{Listener: ln, accepted: make(chan string, 64)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.accepted <- conn.RemoteAddr().String()
			conn.Close()
		}
	}()
	return c
}

// seen returns how many connections arrived since the last call: it connects once more and
// counts what is accepted before that connection (the accept queue is in order, so no
// earlier connection can be left in it).
func (c *countingListener) seen(t *testing.T) int {
	t.Helper()
	conn, err := net.Dial("tcp", c.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := 0
	for a := range c.accepted {
		if a == conn.LocalAddr().String() {
			return n
		}
		n++
	}
	return n
}

// The outbound policy applies to SSH: a door refusing loopback refuses before any
// connection; a closed port is unreachable; a port that speaks HTTP is ssh_wrong_port.
func TestSSHDoorAndPorts(t *testing.T) {
	e := startSSHSim(t, false)
	r := repoByName(t, e.sim, "android app")
	dir := filepath.Join(t.TempDir(), "c")
	ln := newCountingListener(t)
	u := strings.Replace(e.url(r), e.sim.SSHAddr(), ln.Addr().String(), 1)
	for _, door := range []*egress.Door{nil, egress.New(egress.Options{})} {
		_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: door, URL: u, Dir: dir, SSH: e.auth()})
		reasonAndNothing(t, err, connections.ErrDestinationNotAllowed, connections.ReasonDestinationNotAllowed, dir)
		if _, err := gitops.ListRefs(context.Background(), gitops.CloneOptions{Door: door, URL: u, SSH: e.auth()}); !errors.Is(err, connections.ErrDestinationNotAllowed) {
			t.Fatalf("ListRefs: %v", err)
		}
	}
	// A host name that resolves to loopback is refused at dial time, still before any byte.
	byName := strings.Replace(u, "127.0.0.1", "localhost", 1)
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: egress.New(egress.Options{}), URL: byName, Dir: dir, SSH: e.auth()})
	reasonAndNothing(t, err, connections.ErrDestinationNotAllowed, connections.ReasonDestinationNotAllowed, dir)
	if n := ln.seen(t); n != 0 {
		t.Fatalf("%d connections reached the listener through a refusing door", n)
	}
	// Allowed, the listener is reached (and closes at once: no SSH greeting).
	_, err = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: u, Dir: dir, SSH: e.auth()})
	reasonAndNothing(t, err, connections.ErrUnreachable, connections.ReasonUnreachable, dir)
	if n := ln.seen(t); n != 1 {
		t.Fatalf("%d connections with loopback allowed, want 1", n)
	}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	_, err = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: strings.Replace(e.url(r), e.sim.SSHAddr(), closedAddr, 1), Dir: dir, SSH: e.auth()})
	if ce := reasonAndNothing(t, err, connections.ErrUnreachable, connections.ReasonUnreachable, dir); !strings.Contains(ce.Message, closedAddr) {
		t.Fatalf("message %q does not name %s", ce.Message, closedAddr)
	}

	// A server that accepts and says nothing: the clone's bound ends it, as a timeout.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	held := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	_, err = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: strings.Replace(e.url(r), e.sim.SSHAddr(), silent.Addr().String(), 1),
		Dir: dir, SSH: e.auth(), Timeout: 300 * time.Millisecond})
	if ce := reasonAndNothing(t, err, connections.ErrUnreachable, connections.ReasonUnreachable, dir); !strings.Contains(ce.Message, "timeout") {
		t.Fatalf("a silent server: %q", ce.Message)
	}
	(<-held).Close()

	httpAddr := mustHost(t, e.sim.URL())
	_, err = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: strings.Replace(e.url(r), e.sim.SSHAddr(), httpAddr, 1), Dir: dir, SSH: e.auth()})
	if ce := reasonAndNothing(t, err, connections.ErrUnreachable, connections.ReasonSSHWrongPort, dir); !strings.Contains(ce.Message, httpAddr) {
		t.Fatalf("message %q does not name %s", ce.Message, httpAddr)
	}
}

// A cancel while the pack arrives or is checked out leaves nothing, and no connection open.
func TestSSHCloneCancelled(t *testing.T) {
	e := startSSHSim(t, true)
	r := repoByName(t, e.sim, "android app")
	for _, phase := range []string{gitops.PhaseConnecting, gitops.PhaseResolving, gitops.PhaseCheckout} {
		t.Run(phase, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			dir := filepath.Join(t.TempDir(), "c")
			_, err := gitops.Clone(ctx, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(r), Dir: dir, SSH: e.auth(), OnProgress: func(p gitops.Progress) {
				if p.Phase == phase {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled at %s: %v", phase, err)
			}
			leftNothing(t, dir)
		})
	}
}

// Submodules over SSH: a relative URL resolves against the SSH URL and reuses the key and
// pins; the result equals git clone --recurse-submodules over SSH.
func TestSSHCloneSubmodules(t *testing.T) {
	e := startSSHSim(t, false)
	lib := makeRepo(t, e.sim, "lib", func(w string, commit func(string)) {
		write(t, filepath.Join(w, "lib.go"), []byte("package lib\n"), 0o644)
		commit("lib 1")
	})
	pinned := gitOut(t, lib.BarePath, "rev-parse", "main")
	super := makeRepo(t, e.sim, "super", func(w string, commit func(string)) {
		write(t, filepath.Join(w, ".gitmodules"), []byte("[submodule \"vendor/lib\"]\n\tpath = vendor/lib\n\turl = ../lib\n"), 0o644)
		write(t, filepath.Join(w, "main.go"), []byte("package main\n"), 0o644)
		gitOut(t, w, "add", "-A")
		gitOut(t, w, "update-index", "--add", "--cacheinfo", "160000,"+pinned+",vendor/lib")
		gitOut(t, w, "-c", "user.name=Engine Test", "-c", "user.email=engine@example.invalid", "commit", "-q", "-m", "with a submodule")
	})
	a, b := filepath.Join(t.TempDir(), "engine"), filepath.Join(t.TempDir(), "git")
	if _, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(super), Dir: a, Submodules: true, SSH: e.auth()}); err != nil {
		t.Fatalf("Clone: %v", err)
	}
	e.gitClone(t, e.url(super), b, "--recurse-submodules")
	sameClone(t, a, b)
	if got := gitOut(t, filepath.Join(a, "vendor", "lib"), "rev-parse", "HEAD"); got != pinned {
		t.Fatalf("the submodule is at %s, want %s", got, pinned)
	}
	// The same submodule named on another host (localhost is not 127.0.0.1 for the rule): the
	// key is not sent there; the clone fails saying so, and leaves nothing.
	other := makeRepo(t, e.sim, "super-elsewhere", func(w string, commit func(string)) {
		elsewhere := strings.Replace(e.url(lib), "127.0.0.1", "localhost", 1)
		write(t, filepath.Join(w, ".gitmodules"), []byte("[submodule \"lib\"]\n\tpath = lib\n\turl = "+elsewhere+"\n"), 0o644)
		gitOut(t, w, "add", "-A")
		gitOut(t, w, "update-index", "--add", "--cacheinfo", "160000,"+pinned+",lib")
		gitOut(t, w, "-c", "user.name=Engine Test", "-c", "user.email=engine@example.invalid", "commit", "-q", "-m", "a submodule elsewhere")
	})
	dir := filepath.Join(t.TempDir(), "elsewhere")
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: e.url(other), Dir: dir, Submodules: true, SSH: e.auth()})
	if ce := reasonAndNothing(t, err, connections.ErrInvalidInput, connections.ReasonInvalidInput, dir); ce.Field != "submodules" ||
		!strings.Contains(ce.Message, "another SSH host") {
		t.Fatalf("a submodule on another SSH host: %+v", ce)
	}
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
