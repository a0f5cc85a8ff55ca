package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/bolt"
)

// storeFlags are the flags every command that opens the store shares.
type storeFlags struct {
	dataDir  string
	storeURL string
}

func (f *storeFlags) register(cmd *cobra.Command) {
	def := os.Getenv("REPOCONNECT_DATA_DIR")
	if def == "" {
		def = "repoconnect-data"
	}
	cmd.Flags().StringVar(&f.dataDir, "data-dir", def, "directory for the embedded store, the sealing key and clones (env REPOCONNECT_DATA_DIR)")
	cmd.Flags().StringVar(&f.storeURL, "store", os.Getenv("REPOCONNECT_STORE"), "store URL: bolt://PATH (default bolt://{data-dir}/repoconnect.db) (env REPOCONNECT_STORE)")
}

// openStore opens the store named by the flags. A bbolt file is held by one process at a time.
func (f *storeFlags) openStore() (store.Store, error) {
	path := filepath.Join(f.dataDir, "repoconnect.db")
	if f.storeURL != "" {
		u, err := url.Parse(f.storeURL)
		if err != nil || u.Scheme != "bolt" {
			return nil, usageError("--store must be bolt://PATH (got %q)", f.storeURL)
		}
		path = u.Host + u.Path
		if u.Opaque != "" {
			path = u.Opaque
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory: %w", err)
	}
	return bolt.Open(path, bolt.Options{Timeout: 2 * time.Second})
}

// keyring loads the sealing keys from REPOCONNECT_SEALING_KEYS(_FILE), or from (creating if
// needed) {data-dir}/sealing.key with mode 0600, and says which in the log.
func (f *storeFlags) keyring(log *slog.Logger) (*secrets.Keyring, error) {
	k, ok, err := secrets.FromEnv(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("sealing keys from the environment: %w", err)
	}
	if ok {
		log.Info("sealing keys loaded from the environment", "current", k.CurrentID())
		return k, nil
	}
	path := filepath.Join(f.dataDir, "sealing.key")
	k, created, err := secrets.LoadOrCreateFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("no sealing key was configured: created one in the data directory (mode 0600); back it up, or set REPOCONNECT_SEALING_KEYS_FILE", "path", path, "key", k.CurrentID())
	} else {
		log.Info("sealing key loaded from the data directory", "path", path, "key", k.CurrentID())
	}
	return k, nil
}

// openService opens store and keyring and returns the service; close it with svc.Store().Close().
func (f *storeFlags) openService(log *slog.Logger) (*services.Service, error) {
	return f.openServiceWith(log, services.OAuthSettings{})
}

// openServiceWith is openService with the OAuth settings of serve.
func (f *storeFlags) openServiceWith(log *slog.Logger, oauth services.OAuthSettings) (*services.Service, error) {
	k, err := f.keyring(log)
	if err != nil {
		return nil, err
	}
	st, err := f.openStore()
	if err != nil {
		return nil, err
	}
	svc, err := services.New(services.Options{Store: st, Keyring: k, WorkDir: filepath.Join(f.dataDir, "work"), Logger: log, OAuth: oauth})
	if err != nil {
		st.Close()
		return nil, err
	}
	return svc, nil
}

// readPAT returns the PAT from AZURE_DEVOPS_PAT, else the first line of standard input (read
// without echo when it is a terminal). It never prints the value.
func readPAT(stdin io.Reader) (connections.Secret, error) {
	if v := strings.TrimSpace(os.Getenv("AZURE_DEVOPS_PAT")); v != "" {
		return connections.Secret(v), nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(os.Stderr, "Personal access token (not shown): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", usageError("reading the PAT from the terminal: %v", err)
		}
		stdin = strings.NewReader(string(b))
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", usageError("reading the PAT from standard input: %v", err)
	}
	pat := strings.TrimSpace(line)
	if pat == "" {
		return "", usageError("no personal access token: set AZURE_DEVOPS_PAT or pass it on standard input")
	}
	return connections.Secret(pat), nil
}

// newLogger returns a text logger on stderr at the given level name (debug, info, warn, error).
func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// readFileFlag returns the content of a file flag, or nil when it is empty.
func readFileFlag(name, path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError("--%s: %v", name, err)
	}
	return b, nil
}
