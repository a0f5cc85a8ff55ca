package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/gitops"
)

type cloneFlags struct {
	dir     string
	depth   int
	branch  string
	caCert  string
	timeout time.Duration
	quiet   bool
}

func newCloneCommand() *cobra.Command {
	f := &cloneFlags{}
	cmd := &cobra.Command{
		Use:   "clone URL --dir DIR",
		Short: "Clone an Azure DevOps repository with go-git (PAT from AZURE_DEVOPS_PAT or standard input)",
		Long: `Clone an Azure DevOps repository by its remote URL with the built-in git engine (no git CLI needed).
The PAT is read from AZURE_DEVOPS_PAT or the first line of standard input and sent as HTTP Basic
authentication, never in the URL. On failure nothing is left in DIR.`,
		Args: cobraArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.dir == "" {
				return usageError("--dir is required\n%s", cmd.UsageString())
			}
			if f.depth < 0 {
				return usageError("--depth must be 0 (full history) or positive")
			}
			remote, err := azuredevops.ParseRemoteURL(args[0])
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
			opts := gitops.CloneOptions{URL: remote.CloneURL(), Dir: f.dir, Branch: f.branch, Depth: f.depth,
				PAT: pat, CACertificatePEM: ca, Timeout: f.timeout}
			if !f.quiet {
				opts.Progress = cmd.ErrOrStderr()
			}
			res, err := gitops.Clone(cmd.Context(), opts)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(res)
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
	cmd.Flags().StringVar(&f.dir, "dir", "", "target directory: must not exist or be empty (required)")
	cmd.Flags().IntVar(&f.depth, "depth", 0, "shallow clone with this many commits (0: full history)")
	cmd.Flags().StringVar(&f.branch, "branch", "", "branch to check out (default: the repository's default branch)")
	cmd.Flags().StringVar(&f.caCert, "ca-cert", "", "PEM file of a private certificate authority to trust")
	cmd.Flags().DurationVar(&f.timeout, "timeout", gitops.DefaultTimeout, "timeout of the whole clone")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "do not print git's progress")
	return cmd
}
