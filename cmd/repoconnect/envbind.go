package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/repoconnect/repoconnect/cmd/internal/cliusage"
)

// The environment binder: the one place where REPOCONNECT_* variables become flag values.
//
// Every flag of serve (a command annotated envAll) has a variable, REPOCONNECT_ followed by
// the flag's name in upper snake case (--max-clones: REPOCONNECT_MAX_CLONES). The other
// commands bind the flags they share with serve's configuration (sharedEnvFlags: the store,
// OAuth and outbound policy flags, --addr and the log flags), so one environment configures
// serve and the administrative commands alike; their own flags (clone's --dir, --timeout...)
// have no variable. A flag given on the command line beats its variable, which beats the
// default. A variable is applied through the flag's own Set, so its value is checked as the
// flag's would be; an empty variable counts as unset.

// envAnnotation is the cobra.Command annotation that makes every flag of the command bound
// (value envAll); without it only sharedEnvFlags are.
const (
	envAnnotation = "repoconnect/env"
	envAll        = "all"
)

// envFlagAnnotation is the pflag.Flag annotation holding the flag's variable name.
const envFlagAnnotation = "repoconnect/env"

// envPrefix starts every variable of the binder.
const envPrefix = "REPOCONNECT_"

// envName is the variable of a flag: REPOCONNECT_ + the name in upper snake case.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// sharedEnvFlags are the flag names other commands bind to serve's variables: those the
// register functions they share with serve add (storeFlags for apikey, egressFlags for
// clone, check-token and parse-url), found by registering them on a scratch command so a flag
// added there is bound everywhere at once, plus --addr (healthcheck).
func sharedEnvFlags() map[string]bool {
	scratch := &cobra.Command{}
	(&storeFlags{}).register(scratch)
	(&egressFlags{}).register(scratch, false)
	names := map[string]bool{"addr": true}
	scratch.Flags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
	return names
}

// bindEnvTree marks the bound flags of every command under root with their variable and
// appends "(env REPOCONNECT_X)" to their usage, so --help shows it. Call it once, after every
// command and flag is registered; applyEnv then sets the values when a command runs.
func bindEnvTree(root *cobra.Command) {
	shared := sharedEnvFlags()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		all := c.Annotations[envAnnotation] == envAll
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" || (!all && !shared[f.Name]) {
				return
			}
			if _, done := f.Annotations[envFlagAnnotation]; done {
				return
			}
			name := envName(f.Name)
			_ = c.Flags().SetAnnotation(f.Name, envFlagAnnotation, []string{name})
			f.Usage = withEnv(f.Usage, name)
		})
		if orig := c.RunE; orig != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error { return explainEnv(cmd, orig(cmd, args)) }
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// withEnv appends "(env NAME)" to a usage, at the end of its first line when it has several
// (before that line's closing colon).
func withEnv(usage, name string) string {
	first, rest, multi := strings.Cut(strings.TrimSpace(usage), "\n")
	if !multi {
		return first + " (env " + name + ")"
	}
	colon := strings.HasSuffix(first, ":")
	first = strings.TrimSuffix(first, ":") + " (env " + name + ")"
	if colon {
		first += ":"
	}
	return first + "\n" + rest
}

// applyEnv sets each bound flag of cmd that the command line did not set from its variable,
// through the flag's own Value.Set (a slice flag takes a comma-separated list), and marks it
// set. Errors: a usage error naming the variable and the flag when the value is refused.
func applyEnv(cmd *cobra.Command, getenv func(string) string) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		names := f.Annotations[envFlagAnnotation]
		if err != nil || len(names) == 0 || f.Changed {
			return
		}
		v := getenv(names[0])
		if strings.TrimSpace(v) == "" {
			return
		}
		var serr error
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			parts := strings.Split(v, ",")
			for i := range parts {
				parts[i] = strings.TrimSpace(parts[i])
			}
			serr = sv.Replace(parts)
		} else {
			serr = f.Value.Set(v)
		}
		if serr != nil {
			err = usageError("%s (the variable of --%s): %s", names[0], f.Name, cliusage.ValueProblem(f, v, serr))
			return
		}
		f.Changed = true
		_ = cmd.Flags().SetAnnotation(f.Name, envAppliedAnnotation, []string{"true"})
	})
	return err
}

// envAppliedAnnotation marks a flag whose value came from its variable.
const envAppliedAnnotation = "repoconnect/env-applied"

// flagFlag matches a flag name in a message.
var flagFlag = regexp.MustCompile(`--[a-z][a-z0-9-]*`)

// explainEnv adds, to a usage error of cmd that names flags whose values came from their
// variables, which variables those were: a value refused by the command's own checks
// (--max-clones 0) then names the variable that set it. Other errors are returned as they are.
func explainEnv(cmd *cobra.Command, err error) error {
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 {
		return err
	}
	var from []string
	seen := map[string]bool{}
	for _, m := range flagFlag.FindAllString(ee.msg, -1) {
		f := cmd.Flags().Lookup(strings.TrimPrefix(m, "--"))
		if f == nil || seen[f.Name] || len(f.Annotations[envAppliedAnnotation]) == 0 {
			continue
		}
		seen[f.Name] = true
		from = append(from, fmt.Sprintf("--%s was set by %s", f.Name, f.Annotations[envFlagAnnotation][0]))
	}
	if len(from) == 0 {
		return err
	}
	return &exitError{code: 2, msg: ee.msg + " (" + strings.Join(from, "; ") + ")"}
}
