package main

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// On Linux the socket refuses a peer of another user even if the file mode let it connect.
// Needs root (to run the peer as another user) and curl.
func TestAdminSocketRefusesOtherUsers(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if os.Getuid() != 0 || err != nil {
		t.Skip("needs root and curl")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := os.MkdirTemp("", "rcadm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := listenAdmin(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "answered") })}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); ln.remove() })
	// Open the way for the other user, as a careless chmod would.
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ln.path, 0o666); err != nil {
		t.Fatal(err)
	}
	get := func(uid uint32) string {
		cmd := exec.Command(curl, "-s", "--max-time", "20", "--unix-socket", ln.path, "http://admin/")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, _ := cmd.Output()
		return string(out)
	}
	if got := get(0); got != "answered" {
		t.Fatalf("root was not answered: %q", got)
	}
	if got := get(65534); got != "" {
		t.Fatalf("uid 65534 was answered: %q", got)
	}
}
