package cliusage

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

func usage(msg string) error { return usageErr{msg} }

// tree is "tool" with a group "keys" (revoke ID) and "fetch URL" described by ArgsAnnotation.
func tree() *cobra.Command {
	root := &cobra.Command{Use: "tool", SilenceErrors: true, SilenceUsage: true}
	keys := &cobra.Command{Use: "keys"}
	keys.AddCommand(&cobra.Command{Use: "revoke ID", Args: Args(1, usage), RunE: func(*cobra.Command, []string) error { return nil }})
	fetch := &cobra.Command{Use: "fetch URL", Args: Args(1, usage), Annotations: map[string]string{ArgsAnnotation: "the URL to fetch"},
		RunE: func(*cobra.Command, []string) error { return nil }}
	fetch.Flags().Int("depth", 0, "")
	root.AddCommand(keys, fetch)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usage(FlagError(c, err)) })
	Groups(root, usage)
	return root
}

func TestSentences(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fetch"}, "tool fetch needs the URL to fetch: tool fetch URL"},
		{[]string{"fetch", "a", "b"}, `tool fetch takes one argument, the URL to fetch, but was given 2: "a" "b"`},
		{[]string{"keys", "revoke"}, "tool keys revoke needs 1 argument(s), was given 0: tool keys revoke ID"},
		{[]string{"keys", "nope"}, `unknown command "nope" for tool keys: its commands are revoke`},
		{[]string{"fech"}, "did you mean fetch?"},
		{[]string{"fetch", "u", "--depth", "deep"}, `--depth "deep" is not a whole number; run 'tool fetch --help' for its flags`},
		{[]string{"fetch", "u", "--depth"}, "--depth needs a value (a whole number)"},
		{[]string{"fetch", "u", "--nope"}, "unknown flag --nope: tool fetch has no such flag"},
		{[]string{"fetch", "u", "-xy"}, "unknown flag -x (in -xy)"},
	} {
		root := tree()
		root.SetArgs(c.args)
		var ue usageErr
		if err := root.Execute(); !errors.As(err, &ue) || !strings.Contains(ue.msg, c.want) {
			t.Errorf("%v: %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
	root := tree()
	var out strings.Builder
	root.SetOut(&out)
	root.SetArgs([]string{"keys"})
	if err := root.Execute(); err != nil || !strings.Contains(out.String(), "Available Commands") {
		t.Errorf("a group alone prints its help: %v %q", err, out.String())
	}
}
