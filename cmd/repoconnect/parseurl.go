package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/cmd/internal/cliusage"
	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
)

type parseURLFlags struct {
	virtualDir string
	resolve    bool
	caCert     string
	timeout    time.Duration
	egress     egressFlags
}

func newParseURLCommand() *cobra.Command {
	f := &parseURLFlags{}
	cmd := &cobra.Command{
		Use:   "parse-url [--virtual-dir PATH] [--resolve] URL",
		Short: "Read an Azure DevOps remote URL (HTTPS or SSH) and print what it names, as JSON",
		Long: `Read any Azure DevOps remote URL: dev.azure.com, {org}.visualstudio.com, SSH (v3 and the older
_ssh form), or Azure DevOps Server behind any virtual directory. Prints one JSON object:
kind, scheme, host, port, virtualDirectory, organization, collection, project, repository,
guessed, collectionUrl, cloneUrl, webUrl.

A team-scoped web URL ({project}/{team}/_git/{repo}) is read with the team dropped; an explicit
port is kept in every derived URL. On a server, a "tfs" segment before {collection}[/{project}
[/{team}]] ends the virtual directory; otherwise /X/Y/_git/R may be collection X + project Y, or
virtual directory X + collection Y + project R (and /X/Y/Z/_git/R may also be team-scoped);
"guessed" is then true. Settle it with --virtual-dir (also accepts the owner form
"tfs/DefaultCollection"), or with --resolve, which asks the server (GET {URL}/vsts/info) using
the PAT from AZURE_DEVOPS_PAT or standard input; no request is made when nothing is guessed.

Exit status: 0 parsed; 2 the URL is rejected ({"error": "...", "code": "..."} on standard
output, and the same sentence with its code on standard error) or bad usage; 1 the server could
not settle the split.`,
		Annotations: map[string]string{cliusage.ArgsAnnotation: "the remote URL to read"},
		Args:        argsN(1),
		RunE:        func(cmd *cobra.Command, args []string) error { return runParseURL(cmd, f, args[0]) },
	}
	cmd.Flags().StringVar(&f.virtualDir, "virtual-dir", "", `the server's virtual directory ("tfs", "a/b"; "" for none), or the owner "tfs/DefaultCollection"`)
	cmd.Flags().BoolVar(&f.resolve, "resolve", false, "ask the server (GET {URL}/vsts/info) when the split is guessed; needs a PAT")
	cmd.Flags().StringVar(&f.caCert, "ca-cert", "", "PEM file of a private certificate authority to trust (with --resolve)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", azuredevops.DefaultTimeout, "timeout of the request (with --resolve)")
	f.egress.register(cmd, true)
	return cmd
}

func runParseURL(cmd *cobra.Command, f *parseURLFlags, raw string) error {
	out := cmd.OutOrStdout()
	var (
		r   *azuredevops.RemoteURL
		err error
	)
	if cmd.Flags().Changed("virtual-dir") {
		r, err = azuredevops.ParseRemoteURLWithVirtualDirectory(raw, f.virtualDir)
	} else {
		r, err = azuredevops.ParseRemoteURL(raw)
	}
	if err != nil {
		return &exitError{code: 2, msg: "the URL is rejected: " + writeJSONError(out, err)}
	}
	if f.resolve && r.Guessed {
		if r, err = resolveRemote(cmd, f, r); err != nil {
			var ee *exitError
			if errors.As(err, &ee) {
				return err
			}
			return &exitError{code: 1, msg: "the server could not settle the URL: " + writeJSONError(out, err)}
		}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(out, string(b))
	return nil
}

// resolveRemote asks the server to settle a guessed split (GET {URL}/vsts/info).
func resolveRemote(cmd *cobra.Command, f *parseURLFlags, r *azuredevops.RemoteURL) (*azuredevops.RemoteURL, error) {
	ca, err := readFileFlag("ca-cert", f.caCert)
	if err != nil {
		return nil, err
	}
	pat, err := readPAT(cmd.InOrStdin())
	if err != nil {
		return nil, err
	}
	door, err := f.egress.door(nil)
	if err != nil {
		return nil, err
	}
	client, err := azuredevops.New(r.Endpoint(), azuredevops.Credential{PAT: pat}, azuredevops.Options{Timeout: f.timeout, CACertificatePEM: ca, Door: door})
	if err != nil {
		return nil, usageError("%v", err)
	}
	return client.ResolveRemoteURL(cmd.Context(), r)
}

// writeJSONError prints {"error": "<reason>", "code": "<code>"}: the sentence that names the
// problem (it never carries a secret; see connections.Error) and its machine-readable reason
// (azuredevops.ReasonLookalikeHost, connections' reasons; "failed" for an error without one).
// It returns the same for a person: "<sentence> (code <code>)".
func writeJSONError(w io.Writer, err error) string {
	msg, code := err.Error(), "failed"
	if ce := connections.AsError(err); ce != nil {
		msg = ce.Message
		if ce.Reason != "" {
			code = string(ce.Reason)
		}
	}
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{msg, code})
	fmt.Fprintln(w, string(b))
	return fmt.Sprintf("%s (code %s)", msg, code)
}
