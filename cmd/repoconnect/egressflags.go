package main

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/connections/resilience"
)

// egressFlags are the outbound policy's settings (connections/egress), shared by serve and
// the CLI commands that reach a server (check-token, clone, parse-url --resolve).
type egressFlags struct {
	allow, deny string
	denyPrivate string
	cli         bool
}

// register adds --allow-destinations, --deny-destinations and --deny-private-networks (their
// REPOCONNECT_* variables are bound by envbind.go). cli says the command's user chose the URL, so
// loopback is allowed as well.
func (f *egressFlags) register(cmd *cobra.Command, cli bool) {
	f.cli = cli
	loop := "loopback (127.0.0.0/8, ::1) is refused unless listed"
	if cli {
		loop = "loopback is allowed by this command, since its user chose the URL"
	}
	cmd.Flags().StringVar(&f.allow, "allow-destinations", "",
		"outbound destinations allowed even where the default refusals (loopback, link-local, cloud metadata, 0.0.0.0) or --deny-private-networks would refuse them: comma-separated CIDRs (10.1.0.0/16), addresses with an optional port (127.0.0.1:8080), host names (tfs.example.com, *.corp.example) or the word loopback; "+loop)
	cmd.Flags().StringVar(&f.deny, "deny-destinations", "",
		"outbound destinations always refused, whatever --allow-destinations says: the same forms as --allow-destinations")
	cmd.Flags().StringVar(&f.denyPrivate, "deny-private-networks", "",
		"refuse private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10) as destinations, for a deployment whose tenants reach only public servers: true or false (default false)")
	cmd.Flags().Lookup("deny-private-networks").NoOptDefVal = "true"
}

// door returns the outbound door of the flags' policy, with the extra rules allowed (demo
// mode's simulators). A malformed entry or boolean is a usage error naming the flag.
func (f *egressFlags) door(log *slog.Logger, extra ...egress.Rule) (*egress.Door, error) {
	denyPrivate := false
	if v := strings.TrimSpace(f.denyPrivate); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, usageError("--deny-private-networks (REPOCONNECT_DENY_PRIVATE_NETWORKS) is true or false, not %q", v)
		}
		denyPrivate = b
	}
	p, err := egress.ParsePolicy(f.allow, f.deny, denyPrivate)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if f.cli {
		p.Allow = append(p.Allow, egress.Loopback()...)
	}
	p.Allow = append(p.Allow, extra...)
	if f.cli { // serve stacks the service's own retries (services.New, with the store's pacer)
		return egress.New(egress.Options{Policy: p, Logger: log, Wrap: func(rt http.RoundTripper) http.RoundTripper {
			return resilience.NewTransport(rt, resilience.Options{Logger: log})
		}}), nil
	}
	return egress.New(egress.Options{Policy: p, Logger: log}), nil
}
