package services_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/services"
)

// confirmHost runs the first check of a Server connection that has a key and accepts the
// host key it shows.
func (e *sshEnv) confirmHost() {
	e.t.Helper()
	res := e.checkSSH(e.repo.ID)
	wantReason(e.t, res, connections.ReasonHostKeyUnconfirmed)
	_, err := e.accept(res.HostKeyFingerprint)
	check(e.t, err)
}

// Each refusal of the SSH check is told apart, with what to do: a supplied Ed25519 key is
// refused before anything is stored (the server accepts RSA only); a key of a type the server
// refuses at check time is ssh_key_type_refused, not ssh_key_not_added; the port override on
// a port that answers but not with SSH, or on a closed port while the advertised one is open,
// is ssh_wrong_port; nothing listening where the server's sshUrl says is ssh_disabled; an
// outbound policy that denies the SSH port is destination_not_allowed.
func TestSSHRefusalsDiagnosed(t *testing.T) {
	e := newSSHEnv(t, onMemory, azdosim.Options{})
	ctx := context.Background()
	_, rsaPEM, rsaPub := keygen(t, "rsa", 2048)
	c, err := e.setKey(services.SSHKeyInput{PrivateKey: connections.Secret(rsaPEM)})
	check(t, err)
	fp := c.SSH.Fingerprint
	check(t, e.sim.AddSSHPublicKey("", rsaPub))
	e.confirmHost()
	if res := e.checkSSH(e.repo.ID); !res.OK {
		t.Fatalf("the RSA key: %+v", res)
	}

	// A supplied Ed25519 key: refused at once, naming the accepted type; nothing stored.
	_, edPEM, edPub := keygen(t, "ed25519", 0)
	_, err = e.setKey(services.SSHKeyInput{PrivateKey: connections.Secret(edPEM)})
	ce := connections.AsError(err)
	if !errors.Is(err, connections.ErrInvalidInput) || ce.Reason != connections.ReasonSSHKeyTypeRefused || ce.Field != "privateKey" ||
		!strings.Contains(ce.Message, "RSA") {
		t.Fatalf("a supplied Ed25519 key: %v (%+v)", err, ce)
	}
	if c := e.get(); c.SSH.Fingerprint != fp || c.SSH.CheckReason != "" {
		t.Fatalf("the refused key changed the connection: %+v", c.SSH)
	}
	_, err = e.setKey(services.SSHKeyInput{Generate: true, KeyType: "ed25519"})
	if ce := connections.AsError(err); ce == nil || ce.Reason != connections.ReasonSSHKeyTypeRefused || ce.Field != "keyType" {
		t.Fatalf("generating an Ed25519 key: %v", err)
	}

	// A key of a type the server refuses at check time (a key stored before the table said
	// so): the refusal reads as the type, with the types the server takes.
	rec, err := e.st.GetConnection(ctx, "acme", e.conn)
	check(t, err)
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(edPub))
	check(t, err)
	sealed, err := e.kr.Seal([]byte(edPEM), services.SSHKeyAAD("acme", e.conn))
	check(t, err)
	rec.SSH.KeyType, rec.SSH.KeyBits, rec.SSH.PublicKey, rec.SSH.Fingerprint, rec.SSH.SealedPrivateKey =
		"ed25519", 256, edPub, ssh.FingerprintSHA256(pub), sealed
	check(t, e.st.UpdateConnection(ctx, rec))
	wantReason(t, e.checkSSH(e.repo.ID), connections.ReasonSSHKeyTypeRefused, "Ed25519", "RSA")
	if r := e.sim.SSHRefusals(); len(r) == 0 || r[len(r)-1].Reason != azdosim.SSHRefusedKeyType {
		t.Errorf("the simulator's refusals: %+v", r)
	}

	// Back to the RSA key (the host key stays trusted).
	_, err = e.setKey(services.SSHKeyInput{PrivateKey: connections.Secret(rsaPEM)})
	check(t, err)
	if res := e.checkSSH(e.repo.ID); !res.OK {
		t.Fatalf("the RSA key again: %+v", res)
	}

	// The port override on the simulator's HTTP port: it answers, not with SSH.
	_, httpPort, _ := net.SplitHostPort(strings.TrimPrefix(e.sim.URL(), "http://"))
	port := func(p string) {
		t.Helper()
		n, _ := strconv.Atoi(p)
		c, err := e.setKey(services.SSHKeyInput{Port: n})
		check(t, err)
		if c.SSH.Port != n || c.SSH.Fingerprint == "" {
			t.Fatalf("port %d: %+v", n, c.SSH)
		}
	}
	port(httpPort)
	wantReason(t, e.checkSSH(e.repo.ID), connections.ReasonSSHWrongPort, "not with SSH")
	// On a closed port while the advertised one is open.
	port(e.closed)
	wantReason(t, e.checkSSH(e.repo.ID), connections.ReasonSSHWrongPort, e.closed, e.sshPort)
	if _, err := e.clone(); !errors.Is(err, connections.ErrUnreachable) {
		t.Errorf("a clone to a closed port: %v", err)
	}
	// A new key keeps the port the user set (generated or supplied); a port given with the key
	// replaces it; an only-port body of 0 clears it.
	closedN, _ := strconv.Atoi(e.closed)
	sshN, _ := strconv.Atoi(e.sshPort)
	c, err = e.setKey(services.SSHKeyInput{Generate: true})
	check(t, err)
	if c.SSH.Port != closedN || !c.SSH.Generated {
		t.Fatalf("a generated key dropped the port %d: %+v", closedN, c.SSH)
	}
	c, err = e.setKey(services.SSHKeyInput{PrivateKey: connections.Secret(rsaPEM)})
	check(t, err)
	if c.SSH.Port != closedN || c.SSH.Fingerprint != fp {
		t.Fatalf("a supplied key dropped the port %d: %+v", closedN, c.SSH)
	}
	c, err = e.setKey(services.SSHKeyInput{PrivateKey: connections.Secret(rsaPEM), Port: sshN})
	check(t, err)
	if c.SSH.Port != sshN {
		t.Fatalf("a key with port %d: %+v", sshN, c.SSH)
	}
	port("0")
	if c := e.get(); c.SSH.Port != 0 {
		t.Fatalf("an only-port body of 0 left port %d", c.SSH.Port)
	}
	// The override set to the advertised port is no override: SSH works.
	port(e.sshPort)
	if res := e.checkSSH(e.repo.ID); !res.OK {
		t.Fatalf("port %s: %+v", e.sshPort, res)
	}
	port("0")

	// Nothing listens where the server's sshUrl says: SSH turned off (or elsewhere).
	e.moveSSH.Store(true)
	wantReason(t, e.checkSSH(e.repo.ID), connections.ReasonSSHDisabled, "Application Tier", e.closed)
	e.moveSSH.Store(false)
	if res := e.checkSSH(e.repo.ID); !res.OK {
		t.Fatalf("after SSH came back: %+v", res)
	}

	// The outbound policy applies to SSH: a service whose door denies the SSH port (and allows
	// the REST calls) stops the check before anything is sent.
	n, _ := strconv.Atoi(e.sshPort)
	deny := egress.New(egress.Options{Policy: egress.Policy{Allow: egress.Loopback(),
		Deny: []egress.Rule{{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Port: uint16(n)}}}})
	strict := e.service(func(o *services.Options) { o.Door = deny })
	res, err := strict.CheckSSH(ctx, "acme", e.conn, e.repo.ID)
	e.record(res, err)
	check(t, err)
	wantReason(t, res, connections.ReasonDestinationNotAllowed)

	// Bad input is refused before anything is stored.
	for _, in := range []services.SSHKeyInput{
		{Generate: true, PrivateKey: connections.Secret(rsaPEM)},
		{PrivateKey: connections.Secret(rsaPEM), KeyType: "rsa"},
		{Passphrase: "x"},
		{Port: 70000},
		{PrivateKey: connections.Secret(strings.Repeat("A", azuredevops.MaxSSHPrivateKeyBytes+1))},
	} {
		if _, err := e.setKey(in); fieldOf(err) == "" {
			t.Errorf("SetSSHKey accepted generate=%v keyType=%q port=%d: %v", in.Generate, in.KeyType, in.Port, err)
		}
	}
	if _, err := e.svc.CheckSSH(ctx, "acme", e.conn, "Fabrikam Mobile/no-such-repo"); fieldOf(err) != "repository" {
		t.Errorf("a check of an unknown repository: %v", err)
	}
	if _, err := e.svc.CheckSSH(ctx, "acme", "nope", ""); err == nil {
		t.Errorf("a check of an unknown connection passed")
	}
	e.wantNeverInClear(rsaPEM, edPEM)
}

// A connection without a key cannot be checked over SSH or have a host key accepted; a
// server without SSH at its advertised port 22 is ssh_disabled (skipped when something on
// this machine listens on 127.0.0.1:22).
func TestSSHWithoutKeyOrServer(t *testing.T) {
	e := newSSHEnv(t, onMemory, azdosim.Options{SSHAddr: "-"})
	ctx := context.Background()
	if _, err := e.svc.CheckSSH(ctx, "acme", e.conn, ""); fieldOf(err) != "ssh" {
		t.Fatalf("check without a key: %v", err)
	}
	if _, err := e.accept("SHA256:" + strings.Repeat("A", 43)); fieldOf(err) != "fingerprint" {
		t.Fatalf("accept without a key: %v", err)
	}
	if _, err := e.setKey(services.SSHKeyInput{Port: 2222}); fieldOf(err) != "generate" {
		t.Fatalf("a port without a key: %v", err)
	}
	_, rsaPEM, _ := keygen(t, "rsa", 2048)
	_, err := e.setKey(services.SSHKeyInput{PrivateKey: connections.Secret(rsaPEM)})
	check(t, err)
	if c, err := net.Dial("tcp", "127.0.0.1:22"); err == nil {
		c.Close()
		t.Skip("something listens on 127.0.0.1:22: the simulator's default sshUrl port is not free")
	}
	wantReason(t, e.checkSSH(""), connections.ReasonSSHDisabled, "Application Tier")
}

// A Services connection pins the host key: with Options.ServicesSSHHostKeyFingerprints set to
// the simulator's, the first check passes without any confirmation and the clone goes over
// SSH; its host key cannot be accepted one by one. A service with the default pins (Microsoft's
// published fingerprints) stops the same connection with host_key_changed and shows the
// published pins.
func TestSSHServicesPinnedHostKey(t *testing.T) {
	simFP := azdosim.DefaultSSHHostKeyFingerprint
	pinned := func(o *services.Options) { o.ServicesSSHHostKeyFingerprints = []string{simFP} }
	e := newSSHEnv(t, onMemory, azdosim.Options{Services: true}, pinned)
	if got := e.sim.SSHHostKeyFingerprint(); got != simFP {
		t.Fatalf("the simulator's host key %s, want its default %s", got, simFP)
	}
	_, rsaPEM, rsaPub := keygen(t, "rsa", 2048)
	c, err := e.setKey(services.SSHKeyInput{PrivateKey: connections.Secret(rsaPEM)})
	check(t, err)
	if h := c.SSH.HostKey; h == nil || h.Source != services.HostKeyPublished || len(h.Fingerprints) != 1 || h.Fingerprints[0] != simFP {
		t.Fatalf("a Services connection's host key: %+v", c.SSH.HostKey)
	}
	if want := e.frontURL + "/fabrikam/_usersSettings/keys"; c.SSH.AddKeyURL != want {
		t.Errorf("addKeyUrl %q, want %q", c.SSH.AddKeyURL, want)
	}
	check(t, e.sim.AddSSHPublicKey("", rsaPub))
	res := e.checkSSH(e.repo.ID)
	if !res.OK || res.HostKeyFingerprint != simFP || !strings.Contains(res.URL, "/v3/fabrikam/") {
		t.Fatalf("first check on Services: %+v", res)
	}
	path, err := e.clone()
	check(t, err)
	if got, want := e.gitHead(path), e.gitHead(e.repo.BarePath); got != want {
		t.Errorf("clone over SSH at %s, the repository's main is %s", got, want)
	}
	if _, err := e.accept(simFP); fieldOf(err) != "fingerprint" || !strings.Contains(err.Error(), "Microsoft") {
		t.Fatalf("accepting a Services host key: %v", err)
	}

	e.svc = e.service() // Microsoft's pins: the simulator's key is not among them
	// The sentence names the host dialled and the connection's own keys page, says what a
	// change means and that the operator acts; nothing offers to accept the key.
	res = e.checkSSH(e.repo.ID)
	wantReason(t, res, connections.ReasonHostKeyChanged, simFP, azuredevops.ServicesSSHHostKeyFingerprints[0], "Microsoft",
		e.sim.SSHAddr()+" presented", e.frontURL+"/fabrikam/_usersSettings/keys", "Microsoft rotated its key", "--services-ssh-host-key", "intercepting")
	for _, no := range []string{azuredevops.ServicesSSHHost, "https://dev.azure.com/", "accept-host-key", "accepts it"} {
		if strings.Contains(res.Message, no) {
			t.Errorf("the Services host_key_changed sentence has %q: %s", no, res.Message)
		}
	}
	before := e.dirs()
	if _, err := e.clone(); !errors.Is(err, connections.ErrHostKey) || connections.AsError(err).Reason != connections.ReasonHostKeyChanged {
		t.Fatalf("clone with Microsoft's pins: %v", err)
	}
	if e.dirs() != before {
		t.Errorf("a stopped clone left a directory")
	}
	c = e.get()
	if h := c.SSH.HostKey; h == nil || h.Source != services.HostKeyPublished || h.Fingerprints[0] != azuredevops.ServicesSSHHostKeyFingerprints[0] {
		t.Errorf("the default pins in the view: %+v", h)
	}
	e.wantNeverInClear(rsaPEM)
}

// gitHead is the commit of main (a bare repository) or HEAD (a work tree) at dir.
func (e *sshEnv) gitHead(dir string) string {
	e.t.Helper()
	rev := "HEAD"
	if strings.HasSuffix(dir, ".git") {
		rev = "main"
	}
	return azdosimtest.Git(e.t, dir, "rev-parse", rev)
}
