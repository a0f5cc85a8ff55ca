package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os/exec"
	"strings"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// serve builds the simulator from cfg, prints the base URL and summary to stdout and serves
// until ctx is done.
func serve(ctx context.Context, cfg config, stdout io.Writer, logger *slog.Logger) error {
	faults, err := parseFaults(cfg.faults)
	if err != nil {
		return usage(err.Error())
	}
	srv, err := azdosim.New(azdosim.Options{
		Faults:        faults,
		FaultControl:  cfg.faultControl,
		VirtualDir:    cfg.virtualDir,
		Collections:   cfg.collections,
		ServerVersion: cfg.serverVersion,
		PublicURL:     cfg.publicURL,
		DataDir:       cfg.dataDir,
		Seed:          cfg.seed,
		ImportDir:     cfg.importDir,
		Logger:        logger,
		Services:      cfg.services,
		TenantID:      cfg.tenantID,
		SSHAddr:       cfg.ssh.addr,
		SSHHostKey:    cfg.ssh.hostKey,
		SSHKeyTypes:   cfg.ssh.keyTypes,

		SSHRSASHA1Only: cfg.ssh.rsaSHA1Only,
	})
	if err != nil {
		return newError(err)
	}
	defer srv.Close()
	oauthLines, err := configureOAuth(srv, cfg)
	if err != nil {
		return err
	}
	for _, t := range cfg.pats {
		srv.AddPAT(azdosim.PAT{Token: t})
	}
	for _, t := range cfg.expiredPATs {
		srv.AddPAT(azdosim.PAT{Token: t, Expires: time.Now().Add(-24 * time.Hour)})
	}
	sshKeys, err := cfg.ssh.addAuthorizedKeys(srv)
	if err != nil {
		return err
	}
	if err := srv.Start(cfg.addr); err != nil {
		return err
	}
	kind := "collection"
	if cfg.services {
		kind = "organization"
	}
	var lines []string
	for _, c := range cfg.collectionNames() {
		repos := srv.Repositories(c)
		projects := map[string]bool{}
		for _, r := range repos {
			projects[r.ProjectID] = true
		}
		lines = append(lines, fmt.Sprintf("%s %s: %d projects with repositories, %d repositories", kind, c, len(projects), len(repos)))
	}
	lines = append(lines, fmt.Sprintf("tokens: %d valid, %d expired", len(cfg.pats), len(cfg.expiredPATs)))
	for _, f := range faults {
		lines = append(lines, "fault: "+f.String())
	}
	if cfg.faultControl {
		lines = append(lines, "fault control: "+strings.TrimSuffix(srv.URL(), "/")+azdosim.ControlPrefix+"faults")
	}
	if cfg.services {
		lines = append(lines, servicesSummary(srv, oauthLines)...)
	}
	lines = append(lines, sshSummary(srv, sshKeys, cfg.collectionNames()[0])...)
	writeSummary(stdout, srv.URL(), lines)
	logger.Info("azdosim serving", "url", srv.URL())
	<-ctx.Done()
	logger.Info("azdosim stopping")
	return nil
}

// newError classifies an error of azdosim.New: the file system or a missing git program is a
// failure (exit status 1); the rest are options the simulator refuses (an unknown server
// version, a tenant id that is not a GUID, a malformed public URL), usage errors.
func newError(err error) error {
	var (
		pathErr *fs.PathError
		execErr *exec.Error
		exitErr *exec.ExitError
	)
	if errors.As(err, &pathErr) || errors.As(err, &execErr) || errors.As(err, &exitErr) {
		return err
	}
	return usage(err.Error())
}

// configureOAuth sets the organization policy and registers the --oauth-app apps; it returns
// summary lines (client ids and callbacks, never the secret).
func configureOAuth(srv *azdosim.Server, cfg config) ([]string, error) {
	var lines []string
	if cfg.oauthPolicy {
		for _, o := range cfg.collectionNames() {
			if err := srv.SetOAuthPolicy(o, true); err != nil {
				return nil, err
			}
		}
	}
	for _, a := range cfg.oauthApps {
		id, cb, _ := strings.Cut(a, "=")
		srv.RegisterOAuthApp(azdosim.OAuthApp{ClientID: id, ClientSecret: cfg.clientSecret, Scopes: defaultOAuthScopes, CallbackURL: cb})
		lines = append(lines, fmt.Sprintf("oauth app %s: callback %s (secret from $%s)", id, cb, secretEnv))
	}
	return lines, nil
}

// servicesSummary lists the tenant, the policy and the OAuth endpoint URLs.
func servicesSummary(srv *azdosim.Server, appLines []string) []string {
	vssps, entra := srv.AzureDevOpsOAuthURL(), srv.EntraAuthorityURL()
	return append([]string{
		"tenant: " + srv.TenantID(),
		"azure devops oauth authorize: " + vssps + "/oauth2/authorize",
		"azure devops oauth token: " + vssps + "/oauth2/token",
		"entra authorize: " + entra + "/" + srv.TenantID() + "/oauth2/v2.0/authorize",
		"entra token: " + entra + "/" + srv.TenantID() + "/oauth2/v2.0/token",
	}, appLines...)
}

// collectionNames is --collection or the simulator's default: fabrikam in Services mode,
// DefaultCollection otherwise.
func (c config) collectionNames() []string {
	switch {
	case len(c.collections) > 0:
		return c.collections
	case c.services:
		return []string{"fabrikam"}
	}
	return []string{"DefaultCollection"}
}

// parseFaults reads the --fault flags (azdosim.ParseFault syntax).
func parseFaults(specs []string) ([]azdosim.Fault, error) {
	var out []azdosim.Fault
	for _, spec := range specs {
		f, err := azdosim.ParseFault(spec)
		if err != nil {
			return nil, fmt.Errorf("--fault: %w", err)
		}
		out = append(out, f)
	}
	return out, nil
}
