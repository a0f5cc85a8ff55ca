package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/services"
)

func newAPIKeyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Manage API keys (with the embedded store, run while serve is stopped: its file is held by one process; with Redis, any time)"}
	cmd.AddCommand(apiKeyCreate(), apiKeyList(), apiKeyRevoke())
	return cmd
}

type apiKeyFlags struct {
	storeFlags
	tenant string
}

func (f *apiKeyFlags) register(cmd *cobra.Command) {
	f.storeFlags.register(cmd)
	cmd.Flags().StringVar(&f.tenant, "tenant", services.DefaultTenant, "tenant (workspace) the key belongs to")
}

func apiKeyCreate() *cobra.Command {
	f := &apiKeyFlags{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print it alone on standard output (only its hash is stored)",
		Args:  cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := f.openService(cmd.Context(), newLogger("warn"))
			if err != nil {
				return err
			}
			defer svc.Store().Close()
			defer svc.Close()
			key, rec, err := svc.CreateAPIKey(cmd.Context(), f.tenant)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created API key %s for tenant %s; it is shown once:\n", rec.ID, rec.TenantID)
			fmt.Fprintln(cmd.OutOrStdout(), key)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func apiKeyList() *cobra.Command {
	f := &apiKeyFlags{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a tenant's API keys (ids and creation times)",
		Args:  cobraArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := f.openService(cmd.Context(), newLogger("warn"))
			if err != nil {
				return err
			}
			defer svc.Store().Close()
			defer svc.Close()
			keys, err := svc.ListAPIKeys(cmd.Context(), f.tenant)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTENANT\tCREATED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.TenantID, k.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	return cmd
}

func apiKeyRevoke() *cobra.Command {
	f := &apiKeyFlags{}
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke (delete) an API key by id",
		Args:  cobraArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := f.openService(cmd.Context(), newLogger("warn"))
			if err != nil {
				return err
			}
			defer svc.Store().Close()
			defer svc.Close()
			if err := svc.RevokeAPIKey(cmd.Context(), f.tenant, args[0]); err != nil {
				return fmt.Errorf("revoke %s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "revoked API key %s\n", args[0])
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
