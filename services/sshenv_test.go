package services_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/bolt"
	"github.com/repoconnect/repoconnect/services/store/redisstore"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

// The SSH tests' environment (issue 21): the simulator with its SSH server, behind a proxy
// that can move the sshUrl its REST answers name to a closed port (SSH turned off where the
// server says it listens); a service on a bbolt file or a real redis-server, logging every
// level as JSON into logs; a connection of tenant "acme" and a build profile on ios-app@main.

const sshPAT = "sshtestpat0123456789abcdefghijkl"

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type sshEnv struct {
	t        *testing.T
	kind     string
	sim      *azdosim.Server
	svc      *services.Service
	kr       *secrets.Keyring
	st       store.Store
	dbPath   string            // onMemory: the bbolt file
	redis    *redistest.Server // onRedis
	logs     *syncBuffer
	workDir  string
	conn     string
	profile  string
	repo     azdosim.RepoInfo
	sshPort  string
	closed   string      // a port nothing listens on
	moveSSH  atomic.Bool // the proxy names the closed port in sshUrl
	answers  []any       // every answer of the service, for the secret hygiene check
	frontURL string
}

// newSSHEnv starts the env on a store of kind (onMemory, onRedis); simOpts.Services makes it
// a services-pat connection of organization fabrikam, else server-pat.
func newSSHEnv(t *testing.T, kind string, simOpts azdosim.Options, opts ...func(*services.Options)) *sshEnv {
	t.Helper()
	simOpts.Seed = true
	if simOpts.SSHAddr == "-" {
		simOpts.SSHAddr = ""
	} else if simOpts.SSHAddr == "" {
		simOpts.SSHAddr = "127.0.0.1:0"
	}
	e := &sshEnv{t: t, kind: kind, logs: &syncBuffer{}, closed: closedPort(t)}
	e.sim = azdosimtest.Start(t, simOpts, azdosim.PAT{Token: sshPAT})
	if a := e.sim.SSHAddr(); a != "" {
		_, e.sshPort, _ = net.SplitHostPort(a)
	}
	target, _ := url.Parse(e.sim.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	director := proxy.Director
	proxy.Director = func(r *http.Request) {
		director(r)
		r.Header.Del("Accept-Encoding") // plain bodies, to rewrite
	}
	proxy.ModifyResponse = func(r *http.Response) error {
		if !e.moveSSH.Load() || e.sshPort == "" || !strings.Contains(r.Request.URL.Path, "_apis/") {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		body = bytes.ReplaceAll(body, []byte(":"+e.sshPort+"/"), []byte(":"+e.closed+"/"))
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		r.Header.Del("Content-Length")
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	e.frontURL = front.URL
	dir := t.TempDir()
	var err error
	e.kr, _, err = secrets.LoadOrCreateFile(filepath.Join(dir, "sealing.key"))
	check(t, err)
	e.workDir = filepath.Join(dir, "work")
	switch kind {
	case onMemory:
		e.dbPath = filepath.Join(dir, "db")
		b, err := bolt.Open(e.dbPath, bolt.Options{})
		check(t, err)
		t.Cleanup(func() { b.Close() })
		e.st = b
	case onRedis:
		e.redis = redistest.Start(t, redistest.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rs, err := redisstore.Open(ctx, e.redis.URL(0), redisstore.Options{Prefix: "sshtest"})
		check(t, err)
		t.Cleanup(func() { rs.Close() })
		e.st = rs
	}
	e.svc = e.service(opts...)
	ctx := context.Background()
	in := services.ConnectionInput{Name: "sim", Type: services.TypeServerPAT, ServerURL: front.URL,
		Collection: "DefaultCollection", PAT: connections.Secret(sshPAT)}
	if simOpts.Services {
		in = services.ConnectionInput{Name: "sim", Type: services.TypeServicesPAT, Organization: "fabrikam", PAT: connections.Secret(sshPAT)}
	}
	conn, err := e.svc.CreateConnection(ctx, "acme", in)
	check(t, err)
	e.conn = conn.ID
	e.repo = azdosimtest.Repository(t, e.sim, "ios-app")
	p, err := e.svc.CreateBuildProfile(ctx, "acme", services.BuildProfileInput{Name: "ios", ConnectionID: conn.ID, RepositoryID: e.repo.ID, Branch: "main"})
	check(t, err)
	e.profile = p.ID
	return e
}

// service starts a service on the env's store (another instance: same store, keyring, logs).
func (e *sshEnv) service(opts ...func(*services.Options)) *services.Service {
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := services.Options{Store: e.st, Keyring: e.kr, Door: services.LoopbackDoor, WorkDir: e.workDir, Logger: log}
	o.OAuth.ServicesURL = e.frontURL
	for _, fn := range opts {
		fn(&o)
	}
	svc, err := services.New(o)
	check(e.t, err)
	e.t.Cleanup(svc.Close)
	return svc
}

// record keeps an answer of the service (a value or an error) for the hygiene check.
func (e *sshEnv) record(v any, err error) {
	if v != nil {
		e.answers = append(e.answers, v)
	}
	if err != nil {
		e.answers = append(e.answers, err.Error())
		if ce := connections.AsError(err); ce != nil {
			e.answers = append(e.answers, ce)
		}
	}
}

// get returns acme's connection (recorded).
func (e *sshEnv) get() *services.Connection {
	e.t.Helper()
	c, err := e.svc.GetConnection(context.Background(), "acme", e.conn)
	check(e.t, err)
	e.record(c, nil)
	return c
}

// setKey sets the connection's SSH key (recorded); the error is returned.
func (e *sshEnv) setKey(in services.SSHKeyInput) (*services.Connection, error) {
	c, err := e.svc.SetSSHKey(context.Background(), "acme", e.conn, in)
	e.record(c, err)
	return c, err
}

// useKey sets the supplied private key on the connection and adds its public key (pub, an
// authorized_keys line) to the simulator's user, as a user does in Azure DevOps.
func (e *sshEnv) useKey(privatePEM, pub string) {
	e.t.Helper()
	_, err := e.setKey(services.SSHKeyInput{PrivateKey: connections.Secret(privatePEM)})
	check(e.t, err)
	check(e.t, e.sim.AddSSHPublicKey("", pub))
}

// checkSSH runs the SSH check of repository ("" = the first), recorded.
func (e *sshEnv) checkSSH(repository string) *services.SSHCheck {
	e.t.Helper()
	res, err := e.svc.CheckSSH(context.Background(), "acme", e.conn, repository)
	e.record(res, err)
	check(e.t, err)
	return res
}

// accept accepts a host key (recorded).
func (e *sshEnv) accept(fp string) (*services.Connection, error) {
	c, err := e.svc.AcceptHostKey(context.Background(), "acme", e.conn, fp)
	e.record(c, err)
	return c, err
}

// clone clones acme's profile (recorded).
func (e *sshEnv) clone() (string, error) {
	res, err := e.svc.CloneBuildProfile(context.Background(), "acme", e.profile, services.CloneInput{}, nil)
	e.record(res, err)
	if err != nil {
		return "", err
	}
	return res.Path, nil
}

// wantReason stops the test unless res failed with reason and its message holds every part.
func wantReason(t *testing.T, res *services.SSHCheck, reason connections.Reason, parts ...string) {
	t.Helper()
	if res.OK || res.Reason != string(reason) {
		t.Fatalf("check: ok %v reason %q (%s), want %s", res.OK, res.Reason, res.Message, reason)
	}
	for _, p := range parts {
		if !strings.Contains(res.Message, p) {
			t.Errorf("%s: the message %q does not name %q", reason, res.Message, p)
		}
	}
}

// closedPort returns a loopback port nothing listens on (a listener's, closed).
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// keygen makes a key pair with ssh-keygen (typ rsa, ed25519, …) and returns the private key
// file's path and text and the public key line.
func keygen(t *testing.T, typ string, bits int) (path, pem, pub string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "id_"+typ)
	args := []string{"-q", "-t", typ, "-N", "", "-C", "test", "-f", path}
	if bits > 0 {
		args = append(args, "-b", itoa(bits))
	}
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	priv, err := os.ReadFile(path)
	check(t, err)
	p, err := os.ReadFile(path + ".pub")
	check(t, err)
	return path, string(priv), strings.TrimSpace(string(p))
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// gitCloneSSH clones url with the real git and ssh, with key and the simulator's host key
// only, into a new directory.
func (e *sshEnv) gitCloneSSH(url, key string) string {
	e.t.Helper()
	dir := filepath.Join(e.t.TempDir(), "git")
	host, port, _ := net.SplitHostPort(e.sim.SSHAddr())
	kh := filepath.Join(e.t.TempDir(), "known_hosts")
	check(e.t, os.WriteFile(kh, []byte("["+host+"]:"+port+" "+e.sim.SSHHostPublicKey()+"\n"), 0o600))
	cmd := exec.Command("git", "clone", "-q", "--branch", "main", url, dir)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_SSH_COMMAND=ssh -F /dev/null -i "+key+" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="+kh)
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("git clone over SSH: %v\n%s", err, out)
	}
	return dir
}

// dirs counts the entries of the profile's clone directory (0 when it does not exist).
func (e *sshEnv) dirs() int {
	entries, _ := os.ReadDir(e.svc.CloneRoot("acme", e.profile))
	return len(entries)
}
