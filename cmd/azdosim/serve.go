package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// serve builds the simulator from cfg, prints the base URL and summary to stdout and serves
// until ctx is done.
func serve(ctx context.Context, cfg config, stdout io.Writer, logger *slog.Logger) error {
	srv, err := azdosim.New(azdosim.Options{
		VirtualDir:    cfg.virtualDir,
		Collections:   cfg.collections,
		ServerVersion: cfg.serverVersion,
		PublicURL:     cfg.publicURL,
		DataDir:       cfg.dataDir,
		Seed:          cfg.seed,
		ImportDir:     cfg.importDir,
		Logger:        logger,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	for _, t := range cfg.pats {
		srv.AddPAT(azdosim.PAT{Token: t})
	}
	for _, t := range cfg.expiredPATs {
		srv.AddPAT(azdosim.PAT{Token: t, Expires: time.Now().Add(-24 * time.Hour)})
	}
	if err := srv.Start(cfg.addr); err != nil {
		return err
	}
	collections := cfg.collections
	if len(collections) == 0 {
		collections = []string{"DefaultCollection"}
	}
	var lines []string
	for _, c := range collections {
		repos := srv.Repositories(c)
		projects := map[string]bool{}
		for _, r := range repos {
			projects[r.ProjectID] = true
		}
		lines = append(lines, fmt.Sprintf("collection %s: %d projects with repositories, %d repositories", c, len(projects), len(repos)))
	}
	lines = append(lines, fmt.Sprintf("tokens: %d valid, %d expired", len(cfg.pats), len(cfg.expiredPATs)))
	writeSummary(stdout, srv.URL(), lines)
	logger.Info("azdosim serving", "url", srv.URL())
	<-ctx.Done()
	logger.Info("azdosim stopping")
	return nil
}
