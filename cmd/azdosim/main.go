// Command azdosim runs the Azure DevOps Server simulator (package azdosim) on a local address
// for demos and acceptance scripts.
//
// It prints the base URL alone on the first line of stdout, then a short summary; the PAT
// values are never printed. Request logs go to stderr. It runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCommand(ctx, os.Stdout, os.Stderr)
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
}

// newRootCommand builds the cobra command; it serves until ctx is done. Separated from main
// so tests can run it with their own context and writers.
func newRootCommand(ctx context.Context, stdout, stderr io.Writer) *cobra.Command {
	var cfg config
	cmd := &cobra.Command{
		Use:           "azdosim",
		Short:         "Simulated Azure DevOps Server (REST, PAT auth, git over HTTP)",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: false,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("seed") {
				cfg.seed = cfg.importDir == ""
			}
			logger := slog.New(slog.NewTextHandler(stderr, nil))
			return serve(ctx, cfg, stdout, logger)
		},
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
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
	return cmd
}

// config holds the parsed flags.
type config struct {
	addr, virtualDir, importDir, serverVersion, publicURL, dataDir string
	collections, pats, expiredPATs                                 []string
	seed                                                           bool
}

// writeSummary is kept apart so that it never sees a PAT.
func writeSummary(w io.Writer, url string, lines []string) {
	fmt.Fprintln(w, url)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}
