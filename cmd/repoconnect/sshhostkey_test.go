package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store/bolt"
)

// openDataDir opens the embedded store and sealing key of a data directory as a service (the
// tests' side of what the commands open), closed by the returned function.
func openDataDir(t *testing.T, dir string) (*services.Service, func()) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(dir, "repoconnect.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kr, _, err := secrets.LoadOrCreateFile(filepath.Join(dir, "sealing.key"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := services.New(services.Options{Store: st, Keyring: kr, Door: egress.New(egress.Options{Policy: egress.Policy{Allow: egress.Loopback()}})})
	if err != nil {
		t.Fatal(err)
	}
	return svc, func() { svc.Close(); st.Close() }
}

// connection accept-host-key: without --fingerprint it shows the key waiting and changes
// nothing (exit 2); another fingerprint is refused (exit 2); the one the check saw is trusted.
func TestConnectionAcceptHostKey(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("REPOCONNECT_SEALING_KEYS", "")
	t.Setenv("REPOCONNECT_SEALING_KEYS_FILE", "")
	if _, errs, code := run(t, "", "apikey", "list", "--data-dir", dir); code != 0 { // the store and its sealing probe
		t.Fatalf("apikey list: exit %d %s", code, errs)
	}
	sim := azdosimtest.Start(t, azdosim.Options{Seed: true, SSHAddr: "127.0.0.1:0"}, azdosim.PAT{Token: cliPAT})
	ctx := context.Background()
	svc, closeSvc := openDataDir(t, dir)
	conn, err := svc.CreateConnection(ctx, "acme", services.ConnectionInput{Name: "sim", Type: services.TypeServerPAT,
		ServerURL: sim.URL(), Collection: "DefaultCollection", PAT: connections.Secret(cliPAT)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetSSHKey(ctx, "acme", conn.ID, services.SSHKeyInput{Generate: true}); err != nil {
		t.Fatal(err)
	}
	res, err := svc.CheckSSH(ctx, "acme", conn.ID, "")
	fp := sim.SSHHostKeyFingerprint()
	if err != nil || res.Reason != string(connections.ReasonHostKeyUnconfirmed) || res.HostKeyFingerprint != fp {
		t.Fatalf("first check: %+v %v", res, err)
	}
	closeSvc()

	args := []string{"connection", "accept-host-key", "--data-dir", dir, "--tenant", "acme", "--connection", conn.ID}
	out, errs, code := run(t, "", args...)
	if code != 2 || !strings.Contains(out, "waiting to be accepted: "+fp) || !strings.Contains(out, "trusted host key: none") || !strings.Contains(errs, "--fingerprint") {
		t.Fatalf("without --fingerprint: exit %d\n%s\n%s", code, out, errs)
	}
	if _, errs, code := run(t, "", append(args, "--fingerprint", "SHA256:"+strings.Repeat("B", 43))...); code != 2 || !strings.Contains(errs, fp) {
		t.Fatalf("another fingerprint: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "", "connection", "accept-host-key", "--data-dir", dir, "--fingerprint", fp); code != 2 || !strings.Contains(errs, "--connection") {
		t.Fatalf("without --connection: exit %d %s", code, errs)
	}
	out, errs, code = run(t, "", append(args, "--fingerprint", fp)...)
	if code != 0 || !strings.Contains(out, fp) {
		t.Fatalf("accept: exit %d\n%s\n%s", code, out, errs)
	}
	svc, closeSvc = openDataDir(t, dir)
	defer closeSvc()
	c, err := svc.GetConnection(ctx, "acme", conn.ID)
	if err != nil || c.SSH.HostKey == nil || c.SSH.HostKey.Fingerprints[0] != fp || c.SSH.SeenHostKeyFingerprint != "" {
		t.Fatalf("after the command: %+v %v", c.SSH, err)
	}
}
