package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/cmd/internal/cliusage"
	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/bolt"
)

func newAPIKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "Manage API keys (at any time: through a running serve's admin socket with the embedded store, directly with Redis)",
		Long: `Manage API keys.

With the embedded store, a running serve holds the store file; these commands then run
through the admin socket it listens on in the data directory ({data-dir}/admin.sock, for
the user the service runs as), so a key is created or revoked without stopping the service.
With no service running they open the store file themselves. With a Redis --store they
always open Redis directly.`,
	}
	cmd.AddCommand(apiKeyCreate(), apiKeyList(), apiKeyRevoke())
	return cmd
}

type apiKeyFlags struct {
	storeFlags
	tenant string
}

func (f *apiKeyFlags) register(cmd *cobra.Command, def, help string) {
	f.storeFlags.register(cmd)
	cmd.Flags().StringVar(&f.tenant, "tenant", def, help)
}

// keyAdmin is where the apikey commands act: the store, opened by this process, or a
// running service's admin socket (admin.go).
type keyAdmin interface {
	create(ctx context.Context, tenant string) (string, *store.APIKey, error)
	list(ctx context.Context, tenant string) ([]*store.APIKey, error)
	revoke(ctx context.Context, tenant string, ref services.APIKeyRef) (*services.APIKeyRevocation, error)
	// hostKey reads a connection, and with a fingerprint accepts that SSH host key first
	// (connection accept-host-key, admin_hostkey.go).
	hostKey(ctx context.Context, tenant, id, fingerprint string) (*services.Connection, error)
	close()
	// where names a running service the command goes through; "" for the store itself.
	where() string
}

// storeAdmin is a keyAdmin on a store this process opened.
type storeAdmin struct{ svc *services.Service }

func (a storeAdmin) create(ctx context.Context, tenant string) (string, *store.APIKey, error) {
	return a.svc.CreateAPIKey(ctx, tenant)
}

func (a storeAdmin) list(ctx context.Context, tenant string) ([]*store.APIKey, error) {
	return a.svc.ListAPIKeys(ctx, tenant)
}

func (a storeAdmin) revoke(ctx context.Context, tenant string, ref services.APIKeyRef) (*services.APIKeyRevocation, error) {
	return a.svc.RevokeAPIKeyRef(ctx, tenant, ref)
}

func (a storeAdmin) close() {
	a.svc.Close()
	a.svc.Store().Close()
}

func (a storeAdmin) where() string { return "" }

// open finds where the command acts: with Redis, the store; with the embedded store, the
// admin socket of a service running on it when one answers, else the store file. When the
// file is held and no service answers (the socket is checked again after the wait for the
// file lock, in case serve was starting), the error says so instead of waiting.
func (f *apiKeyFlags) open(cmd *cobra.Command) (keyAdmin, error) {
	ctx := cmd.Context()
	if f.isRedis() {
		svc, err := f.openService(ctx, newLogger("warn"))
		if err != nil {
			return nil, err
		}
		return storeAdmin{svc}, nil
	}
	path, err := f.boltPath()
	if err != nil {
		return nil, err
	}
	sock := adminSocketPath(f.dataDir)
	if c, err := tryAdmin(ctx, sock, path); err == nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "using %s\n", c.where())
		return c, nil
	} else if !errors.Is(err, errNoAdmin) {
		return nil, err
	}
	svc, err := f.openService(ctx, newLogger("warn"))
	if errors.Is(err, bolt.ErrInUse) {
		if c, err := tryAdmin(ctx, sock, path); err == nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "using %s\n", c.where())
			return c, nil
		}
		return nil, fmt.Errorf("the store %s is held by another process and no service answers on %s: "+
			"either the service runs without an admin socket (its log says why at start) or another process "+
			"(a second serve or apikey command, a backup tool) holds the file; stop that process, or the service, and run this again", path, sock)
	}
	if err != nil {
		return nil, err
	}
	return storeAdmin{svc}, nil
}

// keyError turns a service's bad-input error into a usage error (exit status 2) naming the
// flag or argument; other errors are returned as they are.
func keyError(err error) error {
	var ce *connections.Error
	if errors.As(err, &ce) && errors.Is(err, connections.ErrInvalidInput) {
		switch ce.Field {
		case "tenant":
			return usageError("--tenant: %s", ce.Message)
		case "id":
			return usageError("ID: %s", ce.Message)
		}
		return usageError("%s", ce.Message)
	}
	return err
}

func apiKeyCreate() *cobra.Command {
	f := &apiKeyFlags{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print it alone on standard output (only its hash is stored)",
		Args:  argsN(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer a.close()
			key, rec, err := a.create(cmd.Context(), f.tenant)
			if err != nil {
				return keyError(err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created API key %s for tenant %s; it is shown once:\n", rec.ID, rec.TenantID)
			fmt.Fprintln(cmd.OutOrStdout(), key)
			return nil
		},
	}
	f.register(cmd, services.DefaultTenant, "tenant (workspace) the key belongs to")
	return cmd
}

func apiKeyList() *cobra.Command {
	f := &apiKeyFlags{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List API keys (ids, tenants and creation times): every tenant's, or one tenant's with --tenant",
		Args:  argsN(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer a.close()
			keys, err := a.list(cmd.Context(), f.tenant)
			if err != nil {
				return keyError(err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTENANT\tCREATED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.TenantID, k.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	f.register(cmd, "", "list only this tenant's keys (default: every tenant's)")
	return cmd
}

func apiKeyRevoke() *cobra.Command {
	f := &apiKeyFlags{}
	cmd := &cobra.Command{
		Use:   "revoke ID|KEY|-",
		Short: "Revoke (delete) an API key: by id (or a unique id prefix of 4 or more characters), by the key itself, or - to read the key from standard input",
		Long: `Revoke (delete) an API key. It stops authenticating at once, in a running service too.

The key is named by its id as apikey list shows it (or a prefix of it that only one key has,
4 characters or more), by the key itself (rck_…; only its hash is used), or by - to read the
key from the first line of standard input (so it stays out of the shell history).

Without --tenant every tenant that has keys is searched, and the answer names them.`,
		Args:        argsN(1),
		Annotations: map[string]string{cliusage.ArgsAnnotation: "the key to revoke (its id, a unique prefix of its id, the key itself, or -)"},
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := readKeyRef(args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			a, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer a.close()
			rev, err := a.revoke(cmd.Context(), f.tenant, ref)
			if err != nil {
				return keyError(err) // a key not found names the tenants searched
			}
			msg := fmt.Sprintf("revoked API key %s of tenant %s", rev.Key.ID, rev.Key.TenantID)
			if f.tenant == "" {
				msg += fmt.Sprintf(" (searched tenants: %s)", strings.Join(rev.Searched, ", "))
			}
			fmt.Fprintln(cmd.ErrOrStderr(), msg)
			return nil
		},
	}
	f.register(cmd, "", "the tenant the key belongs to (default: search every tenant)")
	return cmd
}

// readKeyRef reads revoke's argument: "-" is a key on the first line of stdin, anything
// else ParseAPIKeyRef's id, id prefix or key. Errors: a usage error for an empty argument
// or a stdin without a key (neither shows what was read).
func readKeyRef(arg string, stdin io.Reader) (services.APIKeyRef, error) {
	if arg == "-" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return services.APIKeyRef{}, usageError("reading the key from standard input: %v", err)
		}
		if line = strings.TrimSpace(line); !strings.HasPrefix(line, "rck_") {
			return services.APIKeyRef{}, usageError("standard input holds no API key (a key starts with rck_)")
		}
		arg = line
	}
	if strings.TrimSpace(arg) == "" {
		return services.APIKeyRef{}, usageError("name the key to revoke: its id (apikey list shows them), the key itself, or - to read the key from standard input")
	}
	return services.ParseAPIKeyRef(arg), nil
}
