package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
)

type checkTokenFlags struct {
	serverURL  string
	collection string
	remoteURL  string
	virtualDir string
	caCert     string
	jsonOut    bool
	timeout    time.Duration
	egress     egressFlags
}

func newCheckTokenCommand() *cobra.Command {
	f := &checkTokenFlags{}
	cmd := &cobra.Command{
		Use:   "check-token (--server-url URL --collection NAME | --remote-url URL [--virtual-dir PATH])",
		Short: "Check a PAT the way 'curl -u :PAT {server}/{collection}/_apis/projects?api-version=6.0' does, and say what is wrong",
		Long: `Check a personal access token against an Azure DevOps Server collection (or a Services
organization) and diagnose every step: reaching the host, TLS, authentication, the collection, the
server version and its public URL.

The PAT is read from AZURE_DEVOPS_PAT or, when unset, from the first line of standard input.
A collection may carry a virtual directory the way some tools ask for it: "tfs/DefaultCollection".
Instead of server URL and collection, --remote-url takes any clone URL of the server (see
parse-url); when its split is guessed, the server is asked (GET {URL}/vsts/info) with the PAT.

Exit status: 0 the token is valid, 1 it is not (or the server cannot be used), 2 bad usage.`,
		Args: argsN(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runCheckToken(cmd, f) },
	}
	cmd.Flags().StringVar(&f.serverURL, "server-url", "", "server URL, e.g. https://tfs.example.com/tfs or https://dev.azure.com/{org} (required)")
	cmd.Flags().StringVar(&f.collection, "collection", "", "collection (Server) or organization (Services), e.g. DefaultCollection")
	cmd.Flags().StringVar(&f.remoteURL, "remote-url", "", "a clone URL of a repository on the server, in place of --server-url and --collection")
	cmd.Flags().StringVar(&f.virtualDir, "virtual-dir", "", `with --remote-url: the server's virtual directory ("tfs", "" for none) or owner "tfs/DefaultCollection"`)
	cmd.Flags().StringVar(&f.caCert, "ca-cert", "", "PEM file of a private certificate authority to trust")
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print the result as JSON")
	cmd.Flags().DurationVar(&f.timeout, "timeout", azuredevops.DefaultTimeout, "timeout of each request")
	f.egress.register(cmd, true)
	return cmd
}

func runCheckToken(cmd *cobra.Command, f *checkTokenFlags) error {
	var (
		ep     azuredevops.Endpoint
		remote *azuredevops.RemoteURL
		err    error
	)
	switch {
	case f.remoteURL != "" && (f.serverURL != "" || f.collection != ""):
		return usageError("give --remote-url, or --server-url and --collection, not both")
	case f.remoteURL != "" && cmd.Flags().Changed("virtual-dir"):
		remote, err = azuredevops.ParseRemoteURLWithVirtualDirectory(f.remoteURL, f.virtualDir)
	case f.remoteURL != "":
		remote, err = azuredevops.ParseRemoteURL(f.remoteURL)
	case f.serverURL == "":
		return usageError("--server-url (or --remote-url) is required: repoconnect check-token --server-url URL --collection NAME, or --remote-url URL")
	default:
		ep, err = azuredevops.NewEndpoint(f.serverURL, f.collection)
	}
	if err != nil {
		return usageError("%v", err)
	}
	ca, err := readFileFlag("ca-cert", f.caCert)
	if err != nil {
		return err
	}
	pat, err := readPAT(cmd.InOrStdin())
	if err != nil {
		return err
	}
	door, err := f.egress.door(nil)
	if err != nil {
		return err
	}
	cred := azuredevops.Credential{PAT: pat}
	opts := azuredevops.Options{Timeout: f.timeout, CACertificatePEM: ca, Door: door}
	if remote != nil {
		if ep, err = azuredevops.EndpointOfRemote(cmd.Context(), remote, cred, opts); err != nil {
			return usageError("%v", err)
		}
	}
	client, err := azuredevops.New(ep, cred, opts)
	if err != nil {
		return usageError("%v", err)
	}
	res, err := client.CheckToken(cmd.Context())
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printCheck(out, ep, res)
	}
	if !res.Valid {
		return &exitError{code: 1}
	}
	return nil
}

// printCheck writes the result for a person: one line per step, then the summary.
func printCheck(w io.Writer, ep azuredevops.Endpoint, res *connections.CheckResult) {
	fmt.Fprintf(w, "Checking %s\n", ep.CollectionURL())
	for _, s := range res.Steps {
		mark := "ok  "
		if !s.OK {
			mark = "FAIL"
		}
		line := fmt.Sprintf("  [%s] %s", mark, s.Name)
		if s.Message != "" {
			line += ": " + s.Message
		}
		fmt.Fprintln(w, line)
	}
	for _, wn := range res.Warnings {
		fmt.Fprintf(w, "  warning (%s): %s\n", wn.Code, wn.Message)
	}
	if !res.Valid {
		fmt.Fprintf(w, "The token check failed (%s): %s\n", res.Reason, res.Message)
		return
	}
	user := "an unknown user"
	if res.User != nil {
		user = res.User.DisplayName
	}
	fmt.Fprintf(w, "The token is valid: authenticated as %s; %s deployment; api-version %s; %d project(s)\n",
		user, res.DeploymentType, res.APIVersion, len(res.Projects))
	for _, p := range res.Projects {
		fmt.Fprintf(w, "  project %s\n", p.Name)
	}
}
