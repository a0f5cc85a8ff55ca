// Command repoconnect connects CI/CD build profiles to Azure DevOps repositories: it serves the
// HTTP API (serve), manages API keys (apikey), checks tokens (check-token), parses remote URLs
// (parse-url), clones repositories (clone), asks a running service whether it is ready
// (healthcheck) and prints its build (version).
//
// Every flag of serve, and the flags other commands share with it, can be set through a
// REPOCONNECT_* environment variable (envbind.go); --help names each one.
//
// Exit status: 0 success, 1 a check or operation failed, 2 bad usage.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/cmd/internal/cliusage"
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

// usage is usageError for a finished sentence.
func usage(msg string) error { return &exitError{code: 2, msg: msg} }

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

// exitStatus maps a command's error to the exit status and the message to print: the
// exitError's code (2 for bad usage), else 1.
func exitStatus(err error) (int, string) {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code, ee.msg
	}
	return 1, err.Error()
}

// Every persistent pre-run of the command path runs, the root's (the environment binder)
// included, even when a subcommand adds its own.
func init() { cobra.EnableTraverseRunHooks = true }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "repoconnect",
		Short: "Connect CI/CD build profiles to Azure DevOps repositories",
		Long: `repoconnect connects CI/CD build profiles to Azure DevOps repositories.

Every flag of serve, and the store, outbound-policy and --addr flags the other commands share
with it, can also be set by an environment variable: REPOCONNECT_ and the flag's name in
upper case with underscores (--max-clones: REPOCONNECT_MAX_CLONES); each command's --help shows
them. A flag on the command line wins over its variable, which wins over the default.

Exit status: 0 success, 1 a check or operation failed, 2 bad usage.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// The environment binder: REPOCONNECT_* variables become the values of the flags the
		// command line left unset (envbind.go).
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return applyEnv(cmd, os.Getenv) },
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usage(cliusage.FlagError(c, err))
	})
	root.AddCommand(newServeCommand(), newAPIKeyCommand(), newCheckTokenCommand(), newCloneCommand(), newParseURLCommand(), newConnectionCommand(),
		newHealthcheckCommand(), newVersionCommand())
	cliusage.Groups(root, usage)
	bindEnvTree(root) // last: every flag of every command is registered
	return root
}

// argsN checks that a command has exactly n positional arguments; otherwise it is a usage
// error with a sentence saying what to give (the command's cliusage.ArgsAnnotation, or its
// use line).
func argsN(n int) cobra.PositionalArgs { return cliusage.Args(n, usage) }
