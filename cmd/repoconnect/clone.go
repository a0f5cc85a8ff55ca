package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/cmd/internal/cliusage"
	"github.com/repoconnect/repoconnect/connections"
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
	commit  string
	subs    bool
	tags    bool
	maxSize string
	maxFile int64
	maxObj  string
	minFree string
	memory  string
	cpuProf string // hidden: where the clone's CPU profile goes (bench/clone.sh PROFILE=1)
	memProf string // hidden: where a heap profile taken at the end of the clone goes
	egress  egressFlags
	// The repository cache and a reused workspace (issue 18), for scripts that clone again.
	cacheDir string
	cacheMax string
	reuse    bool
	// Clones over SSH (issue 21): the private key's file and the trusted host keys.
	sshKeyFile  string
	sshHostKeys []string
	sshUser     string
}

func newCloneCommand() *cobra.Command {
	f := &cloneFlags{}
	cmd := &cobra.Command{
		Use:         "clone URL --dir DIR",
		Annotations: map[string]string{cliusage.ArgsAnnotation: "the repository's remote URL"},
		Short:       "Clone an Azure DevOps repository with go-git (PAT from AZURE_DEVOPS_PAT or standard input)",
		Long: `Clone an Azure DevOps repository by its remote URL with the built-in git engine (no git CLI needed).
The PAT is read from AZURE_DEVOPS_PAT or the first line of standard input and sent as HTTP Basic
authentication, never in the URL. On failure nothing is left in DIR. An empty repository clones,
as with git clone, to a repository with no commit, and a warning.

Ctrl-C (SIGINT) or SIGTERM stops the clone and removes what it created: DIR itself when the
clone made it, its contents when it was an empty directory before (a workspace kept with
--reuse is left to the next run to repair); the exit status is then 1 and running the same
command again starts afresh. A second signal stops the command at once.

For repeat clones, --cache-dir keeps the repository's objects between runs (a run fetches only
what changed) and --reuse updates the work tree in DIR in place. The JSON printed says which
path the clone took ("source": cold, cache or workspace) and what it fetched and wrote ("stats").

Over SSH: give the SSH remote URL (git@ssh.dev.azure.com:v3/..., ssh://host:22/.../_git/...),
--ssh-key-file with the unencrypted private key, and --ssh-host-key-fingerprint with the
server's host key fingerprint (SHA256:..., repeatable). Without a trusted fingerprint the clone
stops before sending the key and prints the one the server showed, to compare and pass. No PAT
is read then, and ~/.ssh, ssh-agent and known_hosts are not used. Without --ssh-key-file an SSH
URL is cloned over HTTPS with the PAT, as before.`,
		Args: argsN(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.dir == "" {
				return usageError("clone needs the target directory: repoconnect clone URL --dir DIR (a new or empty directory)")
			}
			if f.depth < 0 {
				return usageError("--depth must be 0 (full history) or positive")
			}
			remote, err := azuredevops.ParseRemoteURL(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			if !f.reuse {
				if err := checkTargetDir(f.dir); err != nil {
					return err
				}
			}
			ca, err := readFileFlag("ca-cert", f.caCert)
			if err != nil {
				return err
			}
			sshAuth, err := f.sshAuth(remote)
			if err != nil {
				return err
			}
			var pat connections.Secret
			if sshAuth == nil {
				if pat, err = readPAT(cmd.InOrStdin()); err != nil {
					return err
				}
			}
			var sizes [4]int64
			for k, sz := range []struct{ flag, value string }{{"max-size", f.maxSize}, {"max-object-size", f.maxObj},
				{"min-free-space", f.minFree}, {"memory", f.memory}} {
				if sz.value == "0" {
					continue
				}
				if sizes[k], err = parseSize(sz.value); err != nil {
					return usageError("--%s: %v", sz.flag, err)
				}
			}
			if f.maxFile < 0 {
				return usageError("--max-files is a number of files (0: no limit), not %d", f.maxFile)
			}
			if f.reuse && f.cacheDir == "" {
				return usageError("--reuse needs --cache-dir: a reused work tree is updated from the repository cache")
			}

			var cacheMax int64
			if f.cacheMax != "0" {
				if cacheMax, err = parseSize(f.cacheMax); err != nil {
					return usageError("--cache-max-bytes: %v (0: no bound)", err)
				}
			}
			opts := gitops.CloneOptions{URL: remote.CloneURL(), Dir: f.dir, Branch: f.branch, Depth: f.depth,
				PAT: pat, CACertificatePEM: ca, Timeout: f.timeout, Commit: f.commit, Submodules: f.subs, Tags: f.tags,
				MaxBytes: sizes[0], MaxFiles: f.maxFile, MaxObjectBytes: sizes[1], MinFreeBytes: sizes[2], AllowEmpty: true}
			if sizes[3] > 0 {
				opts.Memory = gitops.NewMemoryBudget(sizes[3])
			}
			if sshAuth != nil {
				opts.URL, opts.SSH = sshURL(args[0]), sshAuth
			}
			if f.cacheDir != "" {
				if opts.Cache, err = gitops.NewCache(f.cacheDir, cacheMax); err != nil {
					return usageError("--cache-dir: %v", err)
				}
				// One entry per collection and repository: the command has no tenant or
				// connection, and each run negotiates with its own PAT before using the cache.
				opts.CacheKey = gitops.CacheKey{Tenant: "cli", Connection: remote.CollectionURL(), Repository: remote.CloneURL()}
				opts.Reuse = f.reuse
			}
			if opts.Door, err = f.egress.door(nil); err != nil {
				return err
			}
			var prog *cloneProgress
			if !f.quiet {
				prog = newCloneProgress(cmd.ErrOrStderr())
				opts.OnProgress = prog.report
				prog.start(opts.URL, f.dir)
			}
			stopProfile, err := startProfiles(f.cpuProf)
			if err != nil {
				return err
			}
			ctx, interrupted := interruptible(cmd.Context())
			res, err := gitops.Clone(ctx, opts)
			stopProfile()
			if perr := writeHeapProfile(f.memProf); perr != nil && err == nil {
				err = perr
			}
			if prog != nil {
				prog.done()
			}
			if sig := interrupted(); sig != nil && err != nil {
				// gitops.Clone has removed what it created (CloneOptions.Dir) before returning; a
				// reused workspace is kept, and repaired by the next run.
				left := "nothing is left in " + f.dir
				if f.reuse {
					left = "the workspace in " + f.dir + " is kept and the next run repairs it"
				}
				return &exitError{code: 1, msg: fmt.Sprintf("clone stopped by %s: %s", signalName(sig), left)}
			}
			if err != nil {
				return err
			}
			if res.Empty {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: the repository is empty: there is nothing to check out")
			}
			b, _ := json.Marshal(res)
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
	cmd.Flags().StringVar(&f.dir, "dir", "", "target directory: must not exist or be empty, unless --reuse (required)")
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", "", "repository cache directory: fetch into it incrementally and check out from it, so a repeat clone fetches only what changed (empty: no cache)")
	cmd.Flags().StringVar(&f.cacheMax, "cache-max-bytes", "10GiB", "the most the --cache-dir keeps on disk, least recently used repositories removed first (0: no bound)")
	cmd.Flags().BoolVar(&f.reuse, "reuse", false, "keep --dir as a workspace between runs: update the work tree of an earlier run in place (only what differs is written; modified, untracked and ignored files are restored or removed); needs --cache-dir")
	cmd.Flags().IntVar(&f.depth, "depth", 0, "shallow clone with this many commits (0: full history)")
	cmd.Flags().StringVar(&f.branch, "branch", "", "branch to check out (default: the repository's default branch)")
	cmd.Flags().StringVar(&f.caCert, "ca-cert", "", "PEM file of a private certificate authority to trust")
	cmd.Flags().DurationVar(&f.timeout, "timeout", gitops.DefaultTimeout, "timeout of the whole clone")
	cmd.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "do not show progress (a bar per phase on a terminal, a line per phase otherwise, on stderr)")
	cmd.Flags().StringVar(&f.commit, "commit", "", "check out this commit (40 hex; HEAD detached); it must be in the history fetched")
	cmd.Flags().BoolVar(&f.subs, "submodules", false, "clone submodules too, at their recorded commits (credentials go to the same host only)")
	cmd.Flags().BoolVar(&f.tags, "tags", false, "fetch the tags that point into the history fetched")
	cmd.Flags().StringVar(&f.cpuProf, "cpuprofile", "", "write a CPU profile of the clone to this file (go tool pprof)")
	cmd.Flags().StringVar(&f.memProf, "memprofile", "", "write a heap profile (allocations) at the end of the clone to this file")
	cmd.Flags().StringVar(&f.sshKeyFile, "ssh-key-file", "", "clone over SSH with the private key in this file (PEM, unencrypted); URL must be the SSH remote URL")
	cmd.Flags().StringArrayVar(&f.sshHostKeys, "ssh-host-key-fingerprint", nil, "a trusted SHA-256 fingerprint of the SSH server's host key (SHA256:..., as ssh-keygen -l prints; repeatable); with none the clone stops and shows the server's")
	cmd.Flags().StringVar(&f.sshUser, "ssh-user", "", "the SSH user name (default: the URL's, else git)")
	f.egress.register(cmd, true)
	_ = cmd.Flags().MarkHidden("cpuprofile")
	_ = cmd.Flags().MarkHidden("memprofile")
	cmd.Flags().StringVar(&f.maxSize, "max-size", "", "abort when the clone writes more than this to disk: its pack, then pack and work tree together (e.g. 500MiB, 2GiB; empty: no limit)")
	cmd.Flags().Int64Var(&f.maxFile, "max-files", 0, "abort when the work tree would hold more files and directories (0: no limit)")
	cmd.Flags().StringVar(&f.maxObj, "max-object-size", "1GiB", "abort when one object (a file, a tree) of the repository is larger, inflated")
	cmd.Flags().StringVar(&f.minFree, "min-free-space", "", "do not start, and stop, when the target's disk has less free space (e.g. 1GiB; empty: no reserve)")
	cmd.Flags().StringVar(&f.memory, "memory", "", "memory budget for object contents: abort when one object needs more (e.g. 1GiB; empty: none)")
	return cmd
}

// sshAuth is the SSH credential of the clone (nil: not over SSH): the key read from
// --ssh-key-file (never a flag's value) and the trusted host keys. Errors: usage errors for
// SSH flags without an SSH URL or key, an unreadable key file.
func (f *cloneFlags) sshAuth(remote *azuredevops.RemoteURL) (*gitops.SSHAuth, error) {
	if f.sshKeyFile == "" {
		if len(f.sshHostKeys) > 0 || f.sshUser != "" {
			return nil, usageError("--ssh-host-key-fingerprint and --ssh-user need --ssh-key-file (the SSH private key)")
		}
		return nil, nil
	}
	if remote.Scheme != "ssh" {
		return nil, usageError("--ssh-key-file needs the SSH remote URL (git@ssh.dev.azure.com:v3/... or ssh://host:22/.../_git/...), not an %s URL", remote.Scheme)
	}
	key, err := readFileFlag("ssh-key-file", f.sshKeyFile)
	if err != nil {
		return nil, err
	}
	return &gitops.SSHAuth{User: f.sshUser, PrivateKeyPEM: connections.Secret(key), HostKeyFingerprints: f.sshHostKeys}, nil
}

// sshURL is the remote URL as go-git's SSH transport reads it: git+ssh:// and ssh+git:// are
// ssh://.
func sshURL(raw string) string {
	for _, p := range []string{"git+ssh://", "ssh+git://"} {
		if len(raw) > len(p) && strings.EqualFold(raw[:len(p)], p) {
			return "ssh://" + raw[len(p):]
		}
	}
	return raw
}

// checkTargetDir refuses, as a usage error, a --dir that exists and is not an empty
// directory (gitops.Clone would refuse it too, as a failure).
func checkTargetDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usageError("--dir %s: %v", dir, err)
	}
	if !fi.IsDir() {
		return usageError("--dir %s is a file: give a new or empty directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return usageError("--dir %s: %v", dir, err)
	}
	if len(entries) > 0 {
		return usageError("--dir %s is not empty: give a new or empty directory (or --reuse with --cache-dir to update an earlier clone)", dir)
	}
	return nil
}

// interruptible returns a context that SIGINT or SIGTERM cancels, and a function that says
// which signal did (nil: none). Once a signal arrived the handler is removed, so a second
// one stops the process at once.
func interruptible(parent context.Context) (context.Context, func() os.Signal) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	var (
		mu  sync.Mutex
		got os.Signal
	)
	go func() {
		select {
		case sig := <-ch:
			signal.Stop(ch)
			mu.Lock()
			got = sig
			mu.Unlock()
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() os.Signal {
		signal.Stop(ch)
		mu.Lock()
		defer mu.Unlock()
		cancel()
		return got
	}
}

// signalName is "SIGINT (Ctrl-C)" or "SIGTERM".
func signalName(sig os.Signal) string {
	if sig == os.Interrupt {
		return "SIGINT (Ctrl-C)"
	}
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return sig.String()
}

// startProfiles starts a CPU profile into path (nothing when path is empty) and returns the
// function that stops it and closes the file.
func startProfiles(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeHeapProfile writes the allocation profile into path (nothing when path is empty).
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
