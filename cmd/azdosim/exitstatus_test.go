package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// azdosim exits as repoconnect does: 2 for bad usage with a sentence, 1 when it cannot serve.
func TestExitStatus(t *testing.T) {
	t.Setenv(secretEnv, "")
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--bogus"}, 2, "unknown flag --bogus: azdosim has no such flag; run 'azdosim --help' for its flags"},
		{[]string{"extra"}, 2, `azdosim takes no arguments, but was given "extra"`},
		{[]string{"--seed=maybe"}, 2, `--seed "maybe" is not true or false`},
		{[]string{"--addr"}, 2, "--addr needs a value"},
		{[]string{"--fault", "projects=418"}, 2, "--fault"},
		{[]string{"--server-version", "1999"}, 2, "unknown server version"},
		{[]string{"--oauth-policy"}, 2, "need --services"},
		{[]string{"--services", "--oauth-app", "app=https://ci.example/cb"}, 2, secretEnv},
		{[]string{"--services", "--oauth-app", "nocallback"}, 2, "CLIENT_ID=CALLBACK_URL"},
		{[]string{"--addr", "127.0.0.1:99999"}, 1, "listen"},
		{[]string{"--import", filepath.Join(t.TempDir(), "missing")}, 1, "missing"},
	} {
		var out, errs strings.Builder
		cmd := newRootCommand(t.Context(), &out, &errs)
		cmd.SetArgs(append([]string{"--data-dir", t.TempDir()}, c.args...))
		err := cmd.Execute()
		if err == nil {
			t.Errorf("azdosim %v: no error", c.args)
			continue
		}
		code, msg := exitStatus(err)
		if code != c.code || !strings.Contains(msg, c.says) {
			t.Errorf("azdosim %v: exit %d (want %d), %q does not say %q", c.args, code, c.code, msg, c.says)
		}
		if strings.Contains(msg, "invalid argument") || strings.Contains(msg, "unknown command") {
			t.Errorf("azdosim %v: cobra's own message: %q", c.args, msg)
		}
	}

	// The binary itself: main prints the sentence once and exits with the status.
	bin := filepath.Join(t.TempDir(), "azdosim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--bogus").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || string(out) != "azdosim: unknown flag --bogus: azdosim has no such flag; run 'azdosim --help' for its flags\n" {
		t.Errorf("azdosim --bogus: %v %q", err, out)
	}
}
