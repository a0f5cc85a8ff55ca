package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// subcommand returns the command at path (e.g. "apikey", "create") of a new root, with the
// binder applied as the root does.
func subcommand(t *testing.T, path ...string) *cobra.Command {
	t.Helper()
	cmd, _, err := newRootCommand().Find(path)
	if err != nil || cmd.Name() != path[len(path)-1] {
		t.Fatalf("no command %v: %v", path, err)
	}
	return cmd
}

// Every flag of serve, whoever registers it (a future flag included), has its variable, and
// serve --help shows it beside the flag.
func TestServeHelpShowsEveryVariable(t *testing.T) {
	out, _, code := run(t, "", "serve", "--help")
	if code != 0 {
		t.Fatalf("serve --help: exit %d", code)
	}
	n := 0
	subcommand(t, "serve").Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		n++
		want := "(env " + envName(f.Name) + ")"
		if !strings.Contains(f.Usage, want) {
			t.Errorf("--%s: usage lacks %s: %q", f.Name, want, f.Usage)
		}
		if !strings.Contains(out, "--"+f.Name) || !strings.Contains(out, want) {
			t.Errorf("serve --help does not show --%s with %s", f.Name, want)
		}
		if strings.Count(f.Usage, "(env ") != 1 {
			t.Errorf("--%s names a variable more than once: %q", f.Name, f.Usage)
		}
	})
	if n < 30 {
		t.Fatalf("serve has %d flags: the walk missed them", n)
	}
}

// The variables that worked before the binder still work, each on the flag it always set.
func TestEnvKeepsExistingNames(t *testing.T) {
	serve := subcommand(t, "serve")
	for _, name := range []string{"REPOCONNECT_STORE", "REPOCONNECT_DATA_DIR", "REPOCONNECT_PUBLIC_URL", "REPOCONNECT_OAUTH_PROVIDER",
		"REPOCONNECT_OAUTH_CLIENT_ID", "REPOCONNECT_OAUTH_CLIENT_SECRET_EXPIRES", "REPOCONNECT_OAUTH_SCOPES", "REPOCONNECT_OAUTH_CALLBACK_URL",
		"REPOCONNECT_SERVICES_URL", "REPOCONNECT_AZURE_DEVOPS_OAUTH_URL", "REPOCONNECT_ENTRA_AUTHORITY_URL", "REPOCONNECT_ALLOW_DESTINATIONS",
		"REPOCONNECT_DENY_DESTINATIONS", "REPOCONNECT_DENY_PRIVATE_NETWORKS", "REPOCONNECT_RUNS_KEEP", "REPOCONNECT_RUNS_MAX_AGE",
		"REPOCONNECT_HOOK_MAX_BODY", "REPOCONNECT_POLL_INTERVAL", "REPOCONNECT_CACHE_DIR", "REPOCONNECT_CACHE_MAX_BYTES"} {
		found := false
		serve.Flags().VisitAll(func(f *pflag.Flag) {
			found = found || slices.Contains(f.Annotations[envFlagAnnotation], name)
		})
		if !found {
			t.Errorf("%s is no longer read", name)
		}
	}
}

// A variable sets its flag, through the flag's own parser, for each kind of flag; a flag on
// the command line beats it; an empty variable is unset.
func TestEnvSetsFlagsAndTheCommandLineWins(t *testing.T) {
	env := map[string]string{
		"REPOCONNECT_MAX_CLONES":          "7",
		"REPOCONNECT_CATALOG_FRESH":       "90s",
		"REPOCONNECT_REQUIRE_AOF":         "true",
		"REPOCONNECT_ADDR":                "0.0.0.0:9000",
		"REPOCONNECT_OAUTH_RETURN_ORIGIN": "https://a.example, https://b.example",
		"REPOCONNECT_LOG_FORMAT":          "json",
		"REPOCONNECT_CLONE_TIMEOUT":       "",
	}
	serve := subcommand(t, "serve")
	if err := serve.ParseFlags([]string{"--catalog-fresh", "5s"}); err != nil {
		t.Fatal(err)
	}
	if err := applyEnv(serve, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	fl := serve.Flags()
	if n, _ := fl.GetInt("max-clones"); n != 7 {
		t.Errorf("max-clones = %d, want 7 from the environment", n)
	}
	if d, _ := fl.GetDuration("catalog-fresh"); d != 5*time.Second {
		t.Errorf("catalog-fresh = %s, want the command line's 5s", d)
	}
	if b, _ := fl.GetBool("require-aof"); !b {
		t.Error("require-aof not set from the environment")
	}
	if s, _ := fl.GetString("addr"); s != "0.0.0.0:9000" {
		t.Errorf("addr = %q", s)
	}
	if a, _ := fl.GetStringArray("oauth-return-origin"); !slices.Equal(a, []string{"https://a.example", "https://b.example"}) {
		t.Errorf("oauth-return-origin = %q, want the two listed", a)
	}
	if v := fl.Lookup("log-format").Value.String(); v != "json" {
		t.Errorf("log-format = %q", v)
	}
	if d, _ := fl.GetDuration("clone-timeout"); d != 30*time.Minute {
		t.Errorf("an empty REPOCONNECT_CLONE_TIMEOUT changed the flag: %s", d)
	}
	if !fl.Changed("max-clones") || fl.Changed("clone-timeout") {
		t.Error("a flag set from the environment counts as given, an unset one does not")
	}
}

// A variable whose value the flag refuses is a usage error (exit 2) naming the variable, and a
// value refused by serve's own checks names the variable too.
func TestEnvBadValueIsUsageError(t *testing.T) {
	for name, val := range map[string]string{"REPOCONNECT_CATALOG_FRESH": "soon", "REPOCONNECT_MAX_CLONES": "many",
		"REPOCONNECT_REQUIRE_AOF": "maybe", "REPOCONNECT_LOG_FORMAT": "xml", "REPOCONNECT_LOG_LEVEL": "loud"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, val)
			_, errs, code := run(t, "", "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
			if code != 2 || !strings.Contains(errs, name) || !strings.Contains(errs, val) {
				t.Fatalf("exit %d (want 2), stderr does not name %s=%s: %s", code, name, val, errs)
			}
		})
	}
	t.Run("checked by serve", func(t *testing.T) {
		t.Setenv("REPOCONNECT_MAX_CLONES", "0")
		_, errs, code := run(t, "", "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
		if code != 2 || !strings.Contains(errs, "--max-clones") || !strings.Contains(errs, "REPOCONNECT_MAX_CLONES") {
			t.Fatalf("exit %d, stderr %s", code, errs)
		}
	})
	t.Run("the command line wins over a bad variable", func(t *testing.T) {
		t.Setenv("REPOCONNECT_MAX_CLONES", "many")
		_, errs, code := run(t, "", "serve", "--max-clones", "0", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
		if code != 2 || strings.Contains(errs, "REPOCONNECT_MAX_CLONES") || !strings.Contains(errs, "--max-clones") {
			t.Fatalf("exit %d, stderr %s", code, errs)
		}
	})
}

// The administrative commands read the store's variables, as serve does; a command's own
// flags (clone --dir) have none.
func TestEnvSharedWithOtherCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	t.Setenv("REPOCONNECT_DATA_DIR", dir)
	t.Setenv("REPOCONNECT_SEALING_KEYS", "")
	t.Setenv("REPOCONNECT_SEALING_KEYS_FILE", "")
	if out, errs, code := run(t, "", "apikey", "create"); code != 0 || !strings.HasPrefix(out, "rck_") {
		t.Fatalf("apikey create: exit %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "repoconnect.db")); err != nil {
		t.Fatalf("REPOCONNECT_DATA_DIR was not used: %v", err)
	}
	clone := subcommand(t, "clone")
	for _, own := range []string{"dir", "timeout", "depth", "cache-dir"} {
		if f := clone.Flags().Lookup(own); len(f.Annotations[envFlagAnnotation]) > 0 || strings.Contains(f.Usage, "(env ") {
			t.Errorf("clone --%s is bound to a variable", own)
		}
	}
	if f := clone.Flags().Lookup("allow-destinations"); !slices.Equal(f.Annotations[envFlagAnnotation], []string{"REPOCONNECT_ALLOW_DESTINATIONS"}) {
		t.Errorf("clone --allow-destinations is not bound: %v", f.Annotations)
	}
}
