package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cobraDefaults are cobra's and pflag's own messages, which must not reach a user.
var cobraDefaults = []string{"accepts 1 arg(s)", "arg(s), received", "for \"repoconnect", "invalid argument \"", "flag needs an argument",
	"unknown shorthand flag", "bad flag syntax", "strconv."}

// Every command exits 2 on bad usage, with a sentence that says what to give; 0 on success.
func TestExitStatusOfEveryCommand(t *testing.T) {
	t.Setenv("AZURE_DEVOPS_PAT", "")
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	remote := "https://dev.azure.com/o/p/_git/r"
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{nil, 0, "Usage:"},
		{[]string{"--help"}, 0, "Available Commands"},
		{[]string{"bogus"}, 2, `unknown command "bogus" for repoconnect: its commands are apikey, check-token, clone`},
		{[]string{"serv"}, 2, "did you mean serve?"},
		{[]string{"apikey"}, 0, "Available Commands"},
		{[]string{"apikey", "bogus"}, 2, `unknown command "bogus" for repoconnect apikey: its commands are create, list, revoke`},
		{[]string{"apikey", "revoke"}, 2, "repoconnect apikey revoke needs the key to revoke (its id, a unique prefix of its id, the key itself, or -)"},
		{[]string{"apikey", "list", "extra"}, 2, "takes no arguments"},
		{[]string{"serve", "extra"}, 2, `repoconnect serve takes no arguments, but was given "extra"`},
		{[]string{"serve", "--bogus"}, 2, "unknown flag --bogus: repoconnect serve has no such flag; run 'repoconnect serve --help' for its flags"},
		{[]string{"serve", "-Z"}, 2, "unknown flag -Z"},
		{[]string{"serve", "--max-clones"}, 2, "--max-clones needs a value (a whole number)"},
		{[]string{"serve", "--max-clones", "lots"}, 2, `--max-clones "lots" is not a whole number`},
		{[]string{"serve", "--clone-timeout", "soon"}, 2, `--clone-timeout "soon" is not a duration such as 90s, 5m or 2h`},
		{[]string{"serve", "--log-format", "xml"}, 2, `"xml" is not one of text, json`},
		{[]string{"serve", "--log-level", "loud"}, 2, "debug, info, warn or error"},
		{[]string{"serve", "--max-clones", "0", "--addr", "127.0.0.1:0"}, 2, "--max-clones is the number of clones"},
		{[]string{"serve", "---x"}, 2, `"---x" is not a flag`},
		{[]string{"clone"}, 2, "repoconnect clone needs the repository's remote URL: repoconnect clone URL --dir DIR"},
		{[]string{"clone", remote, "extra"}, 2, "takes one argument, the repository's remote URL, but was given 2"},
		{[]string{"clone", remote}, 2, "clone needs the target directory"},
		{[]string{"clone", remote, "--dir", full}, 2, "is not empty"},
		{[]string{"clone", remote, "--dir"}, 2, "--dir needs a value"},
		{[]string{"clone", remote, "--depth", "x"}, 2, `--depth "x" is not a whole number`},
		{[]string{"clone", remote, "--dir", filepath.Join(full, "x")}, 2, "is a file"},
		{[]string{"check-token", "extra"}, 2, "takes no arguments"},
		{[]string{"check-token"}, 2, "--server-url (or --remote-url) is required"},
		{[]string{"check-token", "--timeout", "x"}, 2, "is not a duration"},
		{[]string{"parse-url"}, 2, "repoconnect parse-url needs the remote URL to read"},
		{[]string{"parse-url", "a", "b"}, 2, "takes one argument, the remote URL to read, but was given 2"},
		{[]string{"parse-url", remote}, 0, `"repository": "r"`},
		{[]string{"parse-url", "https://dev.azure.com/o/p/r"}, 2, "(code "},
		{[]string{"version"}, 0, "repoconnect "},
		{[]string{"version", "--bogus"}, 2, "unknown flag --bogus"},
		{[]string{"healthcheck", "x"}, 2, "takes no arguments"},
		{[]string{"healthcheck", "--url", "nope"}, 2, "--url is an http:// or https:// URL"},
		{[]string{"serve", "--demo", "--oauth-client-id", "x", "--addr", "127.0.0.1:0"}, 2, "--demo brings its own OAuth app"},
	} {
		out, errs, code := run(t, "", c.args...)
		if code != c.code || !strings.Contains(out+errs, c.says) {
			t.Errorf("repoconnect %v: exit %d (want %d), output does not say %q:\n%s%s", c.args, code, c.code, c.says, out, errs)
		}
		for _, d := range cobraDefaults {
			if strings.Contains(errs, d) {
				t.Errorf("repoconnect %v: cobra's own message %q reached the user: %s", c.args, d, errs)
			}
		}
	}
}

// A failure (not usage) exits 1: here a clone limit the repository exceeds, and a store that
// cannot be opened.
func TestExitStatusFailure(t *testing.T) {
	sim := startSim(t)
	t.Setenv("AZURE_DEVOPS_PAT", cliPAT)
	url := sim.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/ios-app"
	if _, errs, code := run(t, "", "clone", url, "--dir", filepath.Join(t.TempDir(), "c"), "-q", "--max-files", "1"); code != 1 {
		t.Errorf("clone past --max-files: exit %d %s", code, errs)
	}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("REPOCONNECT_SEALING_KEYS", "")
	if _, errs, code := run(t, "", "apikey", "list", "--data-dir", filepath.Join(notDir, "sub")); code != 1 {
		t.Errorf("apikey list with an unusable data directory: exit %d %s", code, errs)
	}
}
