// Command repoconnect connects CI/CD build profiles to Azure DevOps repositories: it serves the
// HTTP API (serve), manages API keys (apikey), checks tokens (check-token), parses remote URLs
// (parse-url) and clones repositories (clone).
//
// Exit status: 0 success, 1 a check or operation failed, 2 bad usage.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// exitError carries an exit status and a message for main to print.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageError is exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, args...)}
}

func main() {
	err := newRootCommand().Execute()
	if err == nil {
		return
	}
	code, msg := exitStatus(err)
	if msg != "" {
		fmt.Fprintln(os.Stderr, "repoconnect:", msg)
	}
	os.Exit(code)
}

// exitStatus maps a command's error to the exit status and the message to print: 2 for bad
// usage (including an unknown command), the exitError's code, else 1.
func exitStatus(err error) (int, string) {
	var ee *exitError
	switch {
	case strings.HasPrefix(err.Error(), "unknown command"):
		return 2, err.Error() + "\nRun 'repoconnect --help' for the commands."
	case errors.As(err, &ee):
		return ee.code, ee.msg
	}
	return 1, err.Error()
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "repoconnect",
		Short:         "Connect CI/CD build profiles to Azure DevOps repositories",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v\n%s", err, c.UsageString())
	})
	root.AddCommand(newServeCommand(), newAPIKeyCommand(), newCheckTokenCommand(), newCloneCommand(), newParseURLCommand())
	return root
}

// cobraArgs wraps a cobra positional-argument check so that its failure is a usage error.
func cobraArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError("%v", err)
		}
		return nil
	}
}
