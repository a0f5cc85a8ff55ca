package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/services"
)

// newConnectionCommand groups the operator's commands on a connection (docs/ssh.md).
func newConnectionCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connection",
		Short: "Act on a tenant's connection as an operator (accept a Server's new SSH host key)",
	}
	cmd.AddCommand(connectionAcceptHostKey())
	return cmd
}

// hostKeyFlags are the flags of connection accept-host-key.
type hostKeyFlags struct {
	storeFlags
	tenant, connection, fingerprint string
}

func connectionAcceptHostKey() *cobra.Command {
	f := &hostKeyFlags{}
	cmd := &cobra.Command{
		Use:   "accept-host-key",
		Short: "Trust the SSH host key an Azure DevOps Server connection's latest check or clone saw (by its fingerprint)",
		Long: `Trust the SSH host key the latest SSH check or clone of a connection saw, as the user does
on the connection's page: the first host key of an Azure DevOps Server, or a changed one
(after which every clone stopped with host_key_changed).

--fingerprint must be the fingerprint the connection saw (SHA256:…); compare it with the
server's own first (its administrator: ssh-keygen -lf on the server's host key). Without
--fingerprint the command prints the trusted and the waiting key and changes nothing.
Azure DevOps Services' host keys are pinned to Microsoft's published fingerprints and are
not accepted here.

With the embedded store the command goes through the running service's admin socket, or
opens the store file when no service runs; with a Redis --store it acts on the shared store.`,
		Args: argsN(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(f.connection) == "" {
				return usageError("--connection: the connection's id is required")
			}
			ctx := cmd.Context()
			// The store, or a running service's admin socket when it holds the embedded store
			// (as the apikey commands do).
			a, err := (&apiKeyFlags{storeFlags: f.storeFlags}).open(cmd)
			if err != nil {
				return err
			}
			defer a.close()
			out := cmd.OutOrStdout()
			if strings.TrimSpace(f.fingerprint) == "" {
				c, err := a.hostKey(ctx, f.tenant, f.connection, "")
				if err != nil {
					return keyError(err)
				}
				printHostKeys(cmd, c)
				return usageError("--fingerprint: give the fingerprint to accept (the waiting key's, after comparing it with the server's)")
			}
			c, err := a.hostKey(ctx, f.tenant, f.connection, f.fingerprint)
			if err != nil {
				return keyError(err)
			}
			trusted := strings.TrimSpace(f.fingerprint)
			if c.SSH != nil && c.SSH.HostKey != nil && len(c.SSH.HostKey.Fingerprints) > 0 {
				trusted = c.SSH.HostKey.Fingerprints[0] + onHost(c.SSH.HostKey.Host)
			}
			fmt.Fprintf(out, "connection %s (%s) now trusts the SSH host key %s\n", c.ID, c.Name, trusted)
			return nil
		},
	}
	f.storeFlags.register(cmd)
	cmd.Flags().StringVar(&f.tenant, "tenant", services.DefaultTenant, "tenant (workspace) of the connection")
	cmd.Flags().StringVar(&f.connection, "connection", "", "the connection's id")
	cmd.Flags().StringVar(&f.fingerprint, "fingerprint", "", "the SHA256:… fingerprint of the host key to trust (must be the one the connection saw)")
	return cmd
}

// printHostKeys prints a connection's trusted and waiting SSH host keys.
func printHostKeys(cmd *cobra.Command, c *services.Connection) {
	out := cmd.OutOrStdout()
	if c.SSH == nil {
		fmt.Fprintf(out, "connection %s (%s) has no SSH key\n", c.ID, c.Name)
		return
	}
	switch h := c.SSH.HostKey; {
	case h == nil:
		fmt.Fprintln(out, "trusted host key: none yet")
	default:
		fmt.Fprintf(out, "trusted host key (%s): %s%s\n", h.Source, strings.Join(h.Fingerprints, ", "), onHost(h.Host))
	}
	if c.SSH.SeenHostKeyFingerprint != "" {
		fmt.Fprintf(out, "waiting to be accepted: %s (seen%s %s)\n", c.SSH.SeenHostKeyFingerprint, onHost(c.SSH.SeenHostKeyHost), c.SSH.SeenAt.Format("2006-01-02 15:04:05Z07:00"))
	} else {
		fmt.Fprintln(out, "waiting to be accepted: none (run the SSH check to see the server's key)")
	}
}

// onHost is " on host:port", or "" when the host is not known (a record older than the field).
func onHost(host string) string {
	if host == "" {
		return ""
	}
	return " on " + host
}
