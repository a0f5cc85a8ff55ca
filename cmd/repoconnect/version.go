package main

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/repoconnect/repoconnect/telemetry"
	"github.com/spf13/cobra"
)

// buildInfo is what the binary knows of its build, from runtime/debug.ReadBuildInfo: nothing
// is injected at build time. A `go build` in a clone of the repository records the commit;
// `go install module@version` records the module version; `go run` and test binaries say
// "(devel)" and may have no commit.
type buildInfo = telemetry.Version

// shortVersion is the version with the commit's first 12 characters, e.g. "v1.2.0 (abc123def456)" or
// "(devel)" when no commit was recorded: what GET /livez answers.
func shortVersion(b buildInfo) string {
	rev, dirty := strings.CutSuffix(b.Commit, "-dirty")
	if rev == "" {
		return b.Version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return b.Version + " (" + rev + ")"
}

// readBuildInfo returns the running binary's buildInfo.
func readBuildInfo() buildInfo { return telemetry.ReadVersion() }

// describeBuild reads bi (nil: the binary has no build information) into a buildInfo.
func describeBuild(bi *debug.BuildInfo) buildInfo { return telemetry.DescribeBuild(bi) }

// versionLine is the one-line form: "repoconnect (devel) commit 0123abc…-dirty (2026-12-07T04:52:55Z) go1.26.8".
func versionLine(b buildInfo) string {
	s := "repoconnect " + b.Version
	if b.Commit != "" {
		s += " commit " + b.Commit
	}
	if b.Date != "" {
		s += " (" + b.Date + ")"
	}
	return s + " " + b.GoVersion
}

func newVersionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date and Go version of this binary",
		Long: `Print what the binary recorded of its build (Go's runtime/debug.ReadBuildInfo): the module
version ("(devel)" for a build from a working tree), the VCS commit with "-dirty" when the tree
had changes, the commit's date and the Go version. serve logs the same at start.`,
		Args: argsN(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := readBuildInfo()
			if asJSON {
				j, _ := json.Marshal(b)
				fmt.Fprintln(cmd.OutOrStdout(), string(j))
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout(), versionLine(b))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"version", "commit", "date", "go"} as JSON`)
	return cmd
}
