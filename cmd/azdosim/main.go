// Command azdosim runs the Azure DevOps simulator (package azdosim) on a local address for
// demos and acceptance scripts: Azure DevOps Server by default, Azure DevOps Services with
// --services (organizations, the OAuth endpoints of Azure DevOps OAuth apps and Microsoft
// Entra ID, the organization policy "Third-party application access via OAuth"), and git over
// SSH with --ssh-addr (public keys from --ssh-authorized-keys or the keys page).
//
// It prints the base URL alone on the first line of stdout, then a short summary (with the
// OAuth endpoint URLs in Services mode); PAT values and client secrets are never printed.
// The client secret of the --oauth-app apps is read from the environment variable
// AZDOSIM_OAUTH_CLIENT_SECRET. Request logs go to stderr. It runs until SIGINT or SIGTERM.
//
// Exit status, as repoconnect's: 0 stopped by a signal after serving, 1 it could not serve
// (the address is taken, git-http-backend is missing, an import failed), 2 bad usage (an
// unknown flag, an argument, a malformed --fault or --oauth-app, an unknown --server-version).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/repoconnect/repoconnect/cmd/internal/cliusage"
	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd := newRootCommand(ctx, os.Stdout, os.Stderr)
	err := cmd.Execute()
	stop()
	if err == nil {
		return
	}
	code, msg := exitStatus(err)
	fmt.Fprintln(os.Stderr, "azdosim:", strings.TrimPrefix(msg, "azdosim: "))
	os.Exit(code)
}

// exitError carries an exit status (2: bad usage) and the message main prints.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usage is a usage error (exit status 2) with the sentence msg.
func usage(msg string) error { return &exitError{code: 2, msg: msg} }

// exitStatus maps the command's error to the exit status and message: the exitError's code,
// else 1.
func exitStatus(err error) (int, string) {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code, ee.msg
	}
	return 1, err.Error()
}

// newRootCommand builds the cobra command; it serves until ctx is done. Separated from main
// so tests can run it with their own context and writers.
func newRootCommand(ctx context.Context, stdout, stderr io.Writer) *cobra.Command {
	var cfg config
	cmd := &cobra.Command{
		Use:           "azdosim",
		Short:         "Simulated Azure DevOps Server or Services (REST, PAT and OAuth, git over HTTP)",
		Args:          cliusage.Args(0, usage),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("seed") {
				cfg.seed = cfg.importDir == ""
			}
			if err := cfg.loadOAuth(os.Getenv); err != nil {
				return usage(err.Error())
			}
			if err := cfg.ssh.load(); err != nil {
				return usage(err.Error())
			}
			logger := slog.New(slog.NewTextHandler(stderr, nil))
			return serve(ctx, cfg, stdout, logger)
		},
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usage(cliusage.FlagError(c, err)) })
	f := cmd.Flags()
	f.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	f.StringVar(&cfg.virtualDir, "virtual-dir", "", `virtual directory before the collections, e.g. "tfs" or "a/b"`)
	f.StringArrayVar(&cfg.collections, "collection", nil, "project collection (repeatable; the first is the default; default DefaultCollection)")
	f.StringArrayVar(&cfg.pats, "pat", nil, "personal access token to accept (repeatable)")
	f.StringArrayVar(&cfg.expiredPATs, "pat-expired", nil, "personal access token that is known but expired (repeatable)")
	f.StringVar(&cfg.importDir, "import", "", "directory of bare repositories laid out {Project}/{repo}.git, imported in place")
	f.BoolVar(&cfg.seed, "seed", false, "create the demo projects and repositories (default true when --import is not given)")
	f.StringVar(&cfg.serverVersion, "server-version", "2022", "server version: 2019, 2020, 2022 or 2022.1")
	f.StringVar(&cfg.publicURL, "public-url", "", "configured public URL the answers are built from (e.g. http://localhost:8080/tfs)")
	f.StringVar(&cfg.dataDir, "data-dir", "", "directory for created repositories (default: a temporary directory)")
	f.BoolVar(&cfg.services, "services", false, "behave like Azure DevOps Services: organizations (default fabrikam), OAuth, Bearer tokens")
	f.StringVar(&cfg.tenantID, "tenant-id", "", "Microsoft Entra tenant GUID of the organizations (--services; default: derived from the first organization)")
	f.BoolVar(&cfg.oauthPolicy, "oauth-policy", false, `allow "Third-party application access via OAuth" on every organization (--services)`)
	f.StringArrayVar(&cfg.oauthApps, "oauth-app", nil, "register an Azure DevOps OAuth app CLIENT_ID=CALLBACK_URL (repeatable, --services; secret from $"+secretEnv+")")
	f.StringArrayVar(&cfg.faults, "fault", nil, `inject a fault ROUTE=KIND[:N][,retry-after=S][,delay=D] (repeatable; KIND 429, 500, 502, 503, 504, reset, slow or throttle-headers; N a count, default always; ROUTE a name such as projects, repositories, refs, connectionData, vsts/info, info/refs, git-upload-pack, a /path/pattern, or *)`)
	f.BoolVar(&cfg.faultControl, "fault-control", false, "serve the test-only control endpoint /_azdosim/faults (GET lists, POST adds specs one per line, DELETE clears); never for a shared demo")
	f.StringVar(&cfg.ssh.addr, "ssh-addr", "", `serve git over SSH on this address (e.g. "127.0.0.1:2222"; port 0 picks a free one; default: no SSH)`)
	f.StringArrayVar(&cfg.ssh.keyTypes, "ssh-key-type", nil, "accepted user key type: rsa, ecdsa or ed25519 (repeatable; default rsa)")
	f.StringVar(&cfg.ssh.hostKeyFile, "ssh-host-key", "", "PEM private key file of the SSH host key (default: the simulator's own fixed RSA key)")
	f.StringArrayVar(&cfg.ssh.authorizedKeys, "ssh-authorized-keys", nil, "file of public keys (authorized_keys format) added for Demo User (repeatable)")
	f.BoolVar(&cfg.ssh.rsaSHA1Only, "ssh-rsa-sha1-only", false, "RSA signatures over SSH only as ssh-rsa (SHA-1), as older Azure DevOps releases (OpenSSH 8.8+ then needs +ssh-rsa)")
	return cmd
}

// config holds the parsed flags.
type config struct {
	addr, virtualDir, importDir, serverVersion, publicURL, dataDir string
	collections, pats, expiredPATs                                 []string
	seed                                                           bool

	services, oauthPolicy bool
	tenantID              string
	oauthApps             []string
	faults                []string // --fault specs (azdosim.ParseFault)
	faultControl          bool
	clientSecret          string // from secretEnv; never printed
	ssh                   sshConfig
}

// writeSummary is kept apart so that it never sees a PAT.
func writeSummary(w io.Writer, url string, lines []string) {
	fmt.Fprintln(w, url)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// secretEnv names the environment variable holding the client secret of --oauth-app apps.
const secretEnv = "AZDOSIM_OAUTH_CLIENT_SECRET"

// defaultOAuthScopes is the scope set --oauth-app registers: repoconnect's default scopes
// (azuredevops.DefaultScopes; vso.notification dropped, as nothing uses it), kept literal so
// the simulator does not follow the service's choice silently.
var defaultOAuthScopes = []string{"vso.code", "vso.code_status", "vso.threads_full", "vso.serviceendpoint_query", "vso.project"}

// loadOAuth checks the Services flags and reads the client secret through getenv. Errors:
// OAuth flags without --services, a malformed --oauth-app, or --oauth-app without the
// secret in the environment. The messages never contain the secret.
func (c *config) loadOAuth(getenv func(string) string) error {
	if !c.services && (c.oauthPolicy || c.tenantID != "" || len(c.oauthApps) > 0) {
		return fmt.Errorf("--tenant-id, --oauth-policy and --oauth-app need --services")
	}
	for _, a := range c.oauthApps {
		id, cb, ok := strings.Cut(a, "=")
		if !ok || strings.TrimSpace(id) == "" || !strings.Contains(cb, "://") {
			return fmt.Errorf("--oauth-app %q: want CLIENT_ID=CALLBACK_URL", a)
		}
	}
	if len(c.oauthApps) > 0 {
		c.clientSecret = getenv(secretEnv)
		if c.clientSecret == "" {
			return fmt.Errorf("--oauth-app needs the client secret in $%s", secretEnv)
		}
	}
	return nil
}
