package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
)

// parsedURL is parse-url's JSON answer.
type parsedURL struct {
	Kind             azuredevops.Kind `json:"kind"`
	Scheme           string           `json:"scheme"`
	Host             string           `json:"host"`
	VirtualDirectory string           `json:"virtualDirectory"`
	Collection       string           `json:"collection"`
	Project          string           `json:"project"`
	Repository       string           `json:"repository"`
	Guessed          bool             `json:"guessed"`
	ServerURL        string           `json:"serverUrl"`
	CollectionURL    string           `json:"collectionUrl"`
	CloneURL         string           `json:"cloneUrl"`
}

func newParseURLCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "parse-url URL",
		Short: "Parse an Azure DevOps remote URL and print what it names, as JSON",
		Args:  cobraArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := azuredevops.ParseRemoteURL(args[0])
			if err != nil {
				return &exitError{code: 1, msg: err.Error()}
			}
			out := parsedURL{Kind: r.Kind(), Scheme: r.Scheme, Host: r.Host, VirtualDirectory: r.VirtualDirectory,
				Collection: r.Collection, Project: r.Project, Repository: r.Repository, Guessed: r.Guessed,
				ServerURL: r.ServerURL(), CollectionURL: r.CollectionURL(), CloneURL: r.CloneURL()}
			b, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
}
