// Package cliusage turns cobra's and pflag's usage failures into sentences that say what to
// give, for the project's commands (repoconnect, azdosim). Both commands exit 2 on a usage
// error, 1 on a failure and 0 on success; this package only words the usage errors, each
// command keeps its own error type and exit code mapping.
package cliusage

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ArgsAnnotation is the cobra.Command annotation that describes the command's positional
// arguments for a person ("the repository's remote URL"); FlagError and Args use it in their
// sentences. A command without it is described by its use line alone.
const ArgsAnnotation = "cliusage/args"

// FlagError returns the sentence for an error of cmd's flag parsing: an unknown flag, a flag
// without its value, a value the flag refuses, or a malformed flag. Any other error is
// returned as its text. The sentence ends with where the flags are listed.
func FlagError(cmd *cobra.Command, err error) string {
	help := fmt.Sprintf("run '%s --help' for its flags", cmd.CommandPath())
	var (
		notExist *pflag.NotExistError
		required *pflag.ValueRequiredError
		invalid  *pflag.InvalidValueError
		syntax   *pflag.InvalidSyntaxError
	)
	switch {
	case errors.As(err, &notExist):
		name := "--" + notExist.GetSpecifiedName()
		if short := notExist.GetSpecifiedShortnames(); short != "" {
			name = "-" + notExist.GetSpecifiedName()
			if len(short) > 1 {
				name += " (in -" + short + ")"
			}
		}
		return fmt.Sprintf("unknown flag %s: %s has no such flag; %s", name, cmd.CommandPath(), help)
	case errors.As(err, &required):
		f := required.GetFlag()
		return fmt.Sprintf("--%s needs a value (%s): --%s=VALUE; %s", f.Name, Wants(f), f.Name, help)
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		return fmt.Sprintf("--%s %s; %s", f.Name, ValueProblem(f, invalid.GetValue(), invalid.Unwrap()), help)
	case errors.As(err, &syntax):
		return fmt.Sprintf("%q is not a flag: flags are --name VALUE, --name=VALUE or -x; %s", syntax.GetSpecifiedFlag(), help)
	}
	return err.Error() + "; " + help
}

// Wants names what a flag's value must be, from its type: "a whole number", "a duration such
// as 90s, 5m or 2h", "true or false"; for a string flag, "a value".
func Wants(f *pflag.Flag) string {
	switch f.Value.Type() {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "count":
		return "a whole number"
	case "float32", "float64":
		return "a number"
	case "duration":
		return "a duration such as 90s, 5m or 2h"
	case "bool":
		return "true or false"
	case "stringArray", "stringSlice":
		return "a value; repeat the flag for more"
	}
	return "a value"
}

// ValueProblem says why value was refused for f: `"x" is not a whole number`, or, for a flag
// type that validates its own values, the value's own error. The value is quoted: no flag of
// these commands takes a secret (secrets come from the environment or standard input).
func ValueProblem(f *pflag.Flag, value string, cause error) string {
	if w := Wants(f); w != "a value" {
		return fmt.Sprintf("%q is not %s", value, w)
	}
	if cause != nil {
		return cause.Error()
	}
	return fmt.Sprintf("%q is not accepted", value)
}

// Args returns a positional-argument check that wants exactly n arguments and describes
// them, on failure, through usage (the command's own error, exit status 2): "clone needs the
// repository's remote URL: repoconnect clone URL --dir DIR".
func Args(n int, usage func(string) error) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return usage(ArgsSentence(cmd, n, args))
	}
}

// ArgsSentence is the sentence for args given to cmd when it wants n: what to give and the
// use line, or which arguments are too many.
func ArgsSentence(cmd *cobra.Command, n int, args []string) string {
	use := strings.TrimSuffix(cmd.UseLine(), " [flags]")
	what := cmd.Annotations[ArgsAnnotation]
	switch {
	case n == 0 && cmd.HasAvailableSubCommands():
		return fmt.Sprintf("unknown command %q for %s: its commands are %s; run '%s --help' for what each does%s",
			args[0], cmd.CommandPath(), strings.Join(commandNames(cmd), ", "), cmd.CommandPath(), suggest(cmd, args[0]))
	case n == 0:
		return fmt.Sprintf("%s takes no arguments, but was given %s: its settings are flags (--name VALUE); run '%s --help' for them",
			cmd.CommandPath(), quoted(args), cmd.CommandPath())
	case len(args) < n && what != "":
		return fmt.Sprintf("%s needs %s: %s", cmd.CommandPath(), what, use)
	case len(args) < n:
		return fmt.Sprintf("%s needs %d argument(s), was given %d: %s", cmd.CommandPath(), n, len(args), use)
	case what != "":
		return fmt.Sprintf("%s takes one argument, %s, but was given %d: %s (quote a value with spaces; flags start with --): %s",
			cmd.CommandPath(), what, len(args), quoted(args), use)
	}
	return fmt.Sprintf("%s takes %d argument(s), but was given %d: %s; %s", cmd.CommandPath(), n, len(args), quoted(args), use)
}

// Groups makes every command of the tree under root that only groups subcommands (no Run of
// its own) refuse an unknown subcommand as a usage error (cobra prints the help and exits 0
// instead), and print its help when called alone. It also words cobra's own argument checks
// on every command that has none (cobra.NoArgs-like refusal for commands with subcommands).
func Groups(root *cobra.Command, usage func(string) error) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 {
					return usage(ArgsSentence(cmd, 0, args))
				}
				return nil
			}
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

func commandNames(cmd *cobra.Command) []string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	slices.Sort(names)
	return names
}

func suggest(cmd *cobra.Command, arg string) string {
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's own default, which it sets only for its message
	}
	if s := cmd.SuggestionsFor(arg); len(s) > 0 {
		return fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return ""
}

func quoted(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}
