package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/web"
)

type serveFlags struct {
	storeFlags
	oauth    oauthFlags
	addr     string
	demo     bool
	logLevel string
}

func newServeCommand() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (with --demo: plus a simulated Azure DevOps Server)",
		Long: `Serve the /api/v1 HTTP API and GET /healthz.

With --demo, the data directory is a new temporary directory (unless --data-dir is given), a
simulated Azure DevOps Server with demo projects and repositories starts in the same process on
a free loopback port, an API key is created, and a summary with everything to paste is printed.`,
		Args: cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, f) },
	}
	cmd.Flags().StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().BoolVar(&f.demo, "demo", false, "demo mode: temporary data directory and the built-in Azure DevOps simulator")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.register(cmd)
	f.oauth.register(cmd)
	return cmd
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	log := newLogger(f.logLevel)
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var demo *demoEnv
	if f.demo {
		if !cmd.Flags().Changed("data-dir") {
			dir, err := os.MkdirTemp("", "repoconnect-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			f.dataDir = dir
		}
		var err error
		if demo, err = startDemo(log); err != nil {
			return fmt.Errorf("start the Azure DevOps simulator: %w", err)
		}
		defer demo.close()
	}

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.addr, err)
	}
	defer ln.Close()
	url := "http://" + ln.Addr().String()
	oauth, err := f.oauth.settings(url, log)
	if err != nil {
		return err
	}
	if demo != nil {
		if oauth, err = demo.oauthSettings(oauth); err != nil {
			return err
		}
	}
	svc, err := f.openServiceWith(log, oauth)
	if err != nil {
		return err
	}
	defer svc.Store().Close()

	srv := &http.Server{
		Handler:           web.New(web.Options{Service: svc, Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute, // bodies are small JSON objects
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: a clone answers when it is done (bounded by the clone timeout).
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "url", url, "data-dir", f.dataDir)

	if demo != nil {
		key, _, err := svc.CreateAPIKey(ctx, services.DefaultTenant)
		if err != nil {
			return err
		}
		demo.printSummary(cmd.OutOrStdout(), url, key)
	}

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		log.Info("shutting down")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
