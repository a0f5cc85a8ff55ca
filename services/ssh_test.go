package services_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
)

// SSH connections to a Server, the whole way (issue 21), on the embedded store and on Redis:
// a generated key; the first check shows the host key to confirm (not an error state of the
// connection); a wrong fingerprint is refused, the right one accepted; the key not added yet
// is diagnosed with where to add it; once added in the simulator the check lists refs and the
// clone equals `git clone` over SSH; a changed host key stops the clone with host_key_changed
// and writes nothing, until the new key is accepted. The private keys (generated and
// supplied) never appear in the store's bytes, the logs or any answer.
func TestSSHServerConnection(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newSSHEnv(t, kind, azdosim.Options{})
		ctx := context.Background()
		if c := e.get(); c.CloneOver != "https" || c.SSH != nil {
			t.Fatalf("before a key: cloneOver %q ssh %+v", c.CloneOver, c.SSH)
		}
		c, err := e.setKey(services.SSHKeyInput{Generate: true})
		check(t, err)
		v := c.SSH
		if c.CloneOver != "ssh" || v == nil || v.KeyType != "rsa" || v.KeyBits != azuredevops.GeneratedRSABits || !v.Generated ||
			!strings.HasPrefix(v.PublicKey, "ssh-rsa ") || !strings.HasPrefix(v.Fingerprint, "SHA256:") {
			t.Fatalf("generated key: cloneOver %q view %+v", c.CloneOver, v)
		}
		if want := e.frontURL + "/DefaultCollection/_usersSettings/keys"; v.AddKeyURL != want || len(v.AcceptedKeyTypes) != 1 || v.AcceptedKeyTypes[0] != "rsa" {
			t.Errorf("addKeyUrl %q (want %q), accepted %v", v.AddKeyURL, want, v.AcceptedKeyTypes)
		}
		if v.HostKey != nil || v.CheckReason != "" {
			t.Errorf("a new key on a Server: host key %+v, check %q", v.HostKey, v.CheckReason)
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(v.PublicKey))
		if err != nil || ssh.FingerprintSHA256(pub) != v.Fingerprint {
			t.Fatalf("the public key %q does not match its fingerprint %s (%v)", v.PublicKey, v.Fingerprint, err)
		}

		// First contact: the host key is shown for confirmation; the connection stays authorized.
		hostFP := e.sim.SSHHostKeyFingerprint()
		res := e.checkSSH("")
		wantReason(t, res, connections.ReasonHostKeyUnconfirmed, hostFP)
		if res.HostKeyFingerprint != hostFP || res.Repository == "" || !strings.HasPrefix(res.URL, "ssh://") {
			t.Fatalf("first check: %+v, want host key %s", res, hostFP)
		}
		c = e.get()
		if c.Status != services.StatusAuthorized || c.SSH.SeenHostKeyFingerprint != hostFP || c.SSH.CheckReason != string(connections.ReasonHostKeyUnconfirmed) || c.SSH.CheckedAt.IsZero() {
			t.Fatalf("after the first check: status %s, ssh %+v", c.Status, c.SSH)
		}
		before := e.dirs()
		if _, err := e.clone(); !errors.Is(err, connections.ErrHostKey) || connections.AsError(err).Reason != connections.ReasonHostKeyUnconfirmed {
			t.Fatalf("clone before the host key is confirmed: %v", err)
		}
		if e.dirs() != before {
			t.Errorf("a clone stopped at the host key left a directory")
		}
		if _, err := e.accept("SHA256:" + strings.Repeat("A", 43)); fieldOf(err) != "fingerprint" {
			t.Fatalf("accepting another fingerprint: %v", err)
		}
		c, err = e.accept(strings.TrimPrefix(hostFP, "SHA256:")) // as pasted without the prefix
		check(t, err)
		if h := c.SSH.HostKey; h == nil || h.Source != services.HostKeyConfirmed || len(h.Fingerprints) != 1 || h.Fingerprints[0] != hostFP ||
			h.ConfirmedAt.IsZero() || c.SSH.SeenHostKeyFingerprint != "" || c.SSH.CheckReason != "" {
			t.Fatalf("after accepting: %+v", c.SSH)
		}

		// The key is not added yet: where to add it, and which key.
		res = e.checkSSH("")
		wantReason(t, res, connections.ReasonSSHKeyNotAdded, v.Fingerprint, v.AddKeyURL)
		if c := e.get(); c.Status != services.StatusAuthorized || c.SSH.CheckReason != string(connections.ReasonSSHKeyNotAdded) {
			t.Errorf("a refused key changed the PAT's status: %s, check %q", c.Status, c.SSH.CheckReason)
		}
		if _, err := e.clone(); !errors.Is(err, connections.ErrUnauthorized) {
			t.Fatalf("clone with the key not added: %v", err)
		}
		if c := e.get(); c.Status != services.StatusAuthorized {
			t.Errorf("a clone refused over SSH made the connection %s", c.Status)
		}

		check(t, e.sim.AddSSHPublicKey("", v.PublicKey))
		res = e.checkSSH(e.repo.ID)
		if !res.OK || res.Refs == 0 || res.Reason != "" || res.HostKeyFingerprint != hostFP {
			t.Fatalf("check with the key added: %+v", res)
		}
		if c := e.get(); c.SSH.CheckReason != "" || c.SSH.CheckedAt.IsZero() {
			t.Errorf("a passed check recorded %q", c.SSH.CheckReason)
		}
		got, err := e.clone()
		check(t, err)
		keyFile, suppliedPEM, testPub := keygen(t, "rsa", 3072)
		check(t, e.sim.AddSSHPublicKey("", testPub))
		want := e.gitCloneSSH(res.URL, keyFile)
		for _, rev := range []string{"HEAD", "HEAD^{tree}"} {
			if g, w := azdosimtest.Git(t, got, "rev-parse", rev), azdosimtest.Git(t, want, "rev-parse", rev); g != w {
				t.Errorf("%s: the service's SSH clone has %s, git clone over SSH %s", rev, g, w)
			}
		}
		if st := azdosimtest.Git(t, got, "status", "--porcelain"); st != "" {
			t.Errorf("the SSH clone's work tree differs from its commit:\n%s", st)
		}

		// The server's host key changes: every clone stops, nothing is written, until accepted.
		newHost, newFP := hostKeyPEM(t)
		check(t, e.sim.SetSSHHostKey(newHost))
		before = e.dirs()
		_, err = e.clone()
		if ce := connections.AsError(err); !errors.Is(err, connections.ErrHostKey) || ce.Reason != connections.ReasonHostKeyChanged ||
			!strings.Contains(ce.Message, newFP) || !strings.Contains(ce.Message, hostFP) {
			t.Fatalf("clone after the host key changed: %v", err)
		}
		if e.dirs() != before {
			t.Errorf("a clone stopped by a changed host key left a directory")
		}
		if c := e.get(); c.SSH.SeenHostKeyFingerprint != newFP || c.SSH.HostKey.Fingerprints[0] != hostFP {
			t.Fatalf("after the change: %+v", c.SSH)
		}
		wantReason(t, e.checkSSH(e.repo.ID), connections.ReasonHostKeyChanged, newFP)
		_, err = e.accept(newFP)
		check(t, err)
		_, err = e.clone()
		check(t, err)

		// A supplied key replaces the generated one; the host key stays trusted.
		generatedPEM := e.unsealedKey(v.Fingerprint)
		c, err = e.setKey(services.SSHKeyInput{PrivateKey: connections.Secret(suppliedPEM)})
		check(t, err)
		if c.SSH.Generated || c.SSH.KeyBits != 3072 || c.SSH.HostKey == nil || c.SSH.HostKey.Fingerprints[0] != newFP {
			t.Fatalf("supplied key: %+v", c.SSH)
		}
		suppliedStored := e.unsealedKey(c.SSH.Fingerprint) // re-encoded: other bytes than the file's
		if res := e.checkSSH(""); !res.OK {
			t.Fatalf("check with the supplied key: %+v", res)
		}
		_, err = e.clone()
		check(t, err)
		if types := services.SSHKeyTypesOf(c); len(types) != 1 || types[0] != "rsa" {
			t.Errorf("SSHKeyTypesOf: %v", types)
		}

		c, err = e.svc.RemoveSSHKey(ctx, "acme", e.conn)
		e.record(c, err)
		check(t, err)
		if c.SSH != nil || c.CloneOver != "https" {
			t.Fatalf("after removing the key: %+v", c)
		}
		_, err = e.clone() // over HTTPS again
		check(t, err)
		e.wantNeverInClear(suppliedPEM, suppliedStored, generatedPEM)
	})
}

// hostKeyPEM makes an RSA host key: its PEM and SHA-256 fingerprint.
func hostKeyPEM(t *testing.T) (string, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	check(t, err)
	signer, err := ssh.NewSignerFromKey(k)
	check(t, err)
	blk := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	return string(pem.EncodeToMemory(blk)), ssh.FingerprintSHA256(signer.PublicKey())
}

// fieldOf is the field an ErrInvalidInput names ("" for another error).
func fieldOf(err error) string {
	if ce := connections.AsError(err); ce != nil && errors.Is(err, connections.ErrInvalidInput) {
		return ce.Field
	}
	return ""
}

// unsealedKey opens the private key the store holds for the connection, whose fingerprint
// must be fp.
func (e *sshEnv) unsealedKey(fp string) string {
	e.t.Helper()
	rec, err := e.st.GetConnection(context.Background(), "acme", e.conn)
	check(e.t, err)
	if rec.SSH == nil || rec.SSH.Fingerprint != fp {
		e.t.Fatalf("the stored key is not %s: %+v", fp, rec.SSH)
	}
	plain, err := e.kr.Open(rec.SSH.SealedPrivateKey, services.SSHKeyAAD("acme", e.conn))
	check(e.t, err)
	return string(plain)
}

// wantNeverInClear fails the test when a private key's PEM, its base64 body (whole or any
// line of it) or the base64 of the whole PEM appears in the store's bytes (the bbolt file;
// every Redis value), the logs or the answers.
func (e *sshEnv) wantNeverInClear(pems ...string) {
	e.t.Helper()
	answers, err := json.Marshal(e.answers)
	check(e.t, err)
	places := map[string]string{"the logs": e.logs.String(), "the answers": string(answers)}
	if e.dbPath != "" {
		db, err := os.ReadFile(e.dbPath)
		check(e.t, err)
		places["the bbolt file"] = string(db)
	}
	if e.redis != nil {
		places["the Redis values"] = redisDump(e.t, e.redis)
	}
	if len(e.logs.String()) == 0 || len(places["the answers"]) < 100 {
		e.t.Fatalf("nothing to search: %d bytes of logs, %d of answers", len(e.logs.String()), len(places["the answers"]))
	}
	for _, p := range pems {
		if p == "" {
			e.t.Fatal("a private key to look for is empty")
		}
		blk, _ := pem.Decode([]byte(p))
		if blk == nil {
			e.t.Fatalf("not a PEM: %.30q", p)
		}
		body := base64.StdEncoding.EncodeToString(blk.Bytes)
		needles := []string{p, body, base64.StdEncoding.EncodeToString([]byte(p)), strings.ReplaceAll(p, "\n", `\n`)}
		// Every line of the body too (a log line escapes the newlines), but those that hold a
		// piece of the public key, which is public (an OpenSSH private key carries it).
		signer, err := ssh.ParsePrivateKey([]byte(p))
		check(e.t, err)
		public := string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
		for _, line := range strings.Split(p, "\n") {
			if len(line) >= 40 && !strings.HasPrefix(line, "-----") && !sharesPiece(line, public, 16) {
				needles = append(needles, line)
			}
		}
		for where, text := range places {
			for _, n := range needles {
				if strings.Contains(text, n) {
					e.t.Errorf("%s carry a private key (%.20q…)", where, n)
					break
				}
			}
		}
	}
}

// redisDump is every value of the Redis server's keys (strings, hashes, lists, sets, sorted
// sets and streams), as text.
func redisDump(t *testing.T, srv interface{ URL(int) string }) string {
	t.Helper()
	ctx := context.Background()
	opt, err := redis.ParseURL(srv.URL(0))
	check(t, err)
	rc := redis.NewClient(opt)
	defer rc.Close()
	var b strings.Builder
	iter := rc.Scan(ctx, 0, "*", 1000).Iterator()
	n := 0
	for iter.Next(ctx) {
		k := iter.Val()
		n++
		b.WriteString(k + "\n")
		switch typ, _ := rc.Type(ctx, k).Result(); typ {
		case "string":
			s, _ := rc.Get(ctx, k).Result()
			b.WriteString(s)
		case "hash":
			m, _ := rc.HGetAll(ctx, k).Result()
			for f, v := range m {
				b.WriteString(f + "=" + v + "\n")
			}
		case "list":
			l, _ := rc.LRange(ctx, k, 0, -1).Result()
			b.WriteString(strings.Join(l, "\n"))
		case "set":
			l, _ := rc.SMembers(ctx, k).Result()
			b.WriteString(strings.Join(l, "\n"))
		case "zset":
			l, _ := rc.ZRange(ctx, k, 0, -1).Result()
			b.WriteString(strings.Join(l, "\n"))
		case "stream":
			xs, _ := rc.XRange(ctx, k, "-", "+").Result()
			for _, x := range xs {
				for f, v := range x.Values {
					b.WriteString(f + "=" + fmt.Sprint(v) + "\n")
				}
			}
		}
		b.WriteString("\n")
	}
	check(t, iter.Err())
	if n == 0 {
		t.Fatal("Redis holds no keys: the store is elsewhere")
	}
	return b.String()
}

// sharesPiece reports whether a and b have a common substring of n bytes.
func sharesPiece(a, b string, n int) bool {
	for i := 0; i+n <= len(a); i++ {
		if strings.Contains(b, a[i:i+n]) {
			return true
		}
	}
	return false
}
