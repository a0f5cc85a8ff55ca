package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/ratelimit"
	"github.com/repoconnect/repoconnect/web"
)

type serveFlags struct {
	storeFlags
	oauth        oauthFlags
	addr         string
	demo         bool
	log          logFlags
	catalogFresh time.Duration
	catalogKeep  time.Duration
	maxClones    int
	retention    time.Duration
	cloneTimeout time.Duration
	maxSize      string
	maxFiles     int64
	maxObject    string
	minFree      string
	cloneMemory  string
	rateCheck    string
	rateCreate   string
	rateClone    string
	requireAOF   bool
	egress       egressFlags
	metrics      metricsFlags // metricsflags.go
	runsKeep     int
	runsMaxAge   time.Duration
	hookMaxBody  string
	pollInterval time.Duration
	cacheDir     string
	cacheMax     string
	sshHostKeys  []string
}

func newServeCommand() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (with --demo: plus a simulated Azure DevOps Server)",
		Long: `Serve the /api/v1 HTTP API and GET /healthz.

With --demo, the data directory is a new temporary directory (unless --data-dir is given), a
simulated Azure DevOps Server with demo projects and repositories starts in the same process on
a free loopback port, an API key is created, and a summary with everything to paste is printed.

Every flag has an environment variable, shown beside it (--max-clones: REPOCONNECT_MAX_CLONES);
the command line wins over the variable. The first log line names the version, commit and Go
version of the binary (see repoconnect version).`,
		Args: argsN(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, f) },
		// Every flag has its REPOCONNECT_* variable (envbind.go), whoever registers it.
		Annotations: map[string]string{envAnnotation: envAll},
	}
	cmd.Flags().StringVar(&f.addr, "addr", defaultAddr, "address to listen on (host:port; :8080 for every interface)")
	cmd.Flags().BoolVar(&f.demo, "demo", false, "demo mode: temporary data directory and the built-in Azure DevOps simulator")
	f.log.register(cmd)
	cmd.Flags().DurationVar(&f.catalogFresh, "catalog-fresh", 60*time.Second, "how long a cached project, repository or branch list is served without asking Azure DevOps")
	cmd.Flags().IntVar(&f.maxClones, "max-clones", services.DefaultMaxClones, "clones that run at once in this instance, jobs (Clone now, POST /api/v1/build-profiles/{id}/clones) and synchronous clones (POST .../clone) alike; the rest wait in line (jobs queued; with a Redis --store, in a queue any instance's workers take from)")
	cmd.Flags().DurationVar(&f.cloneTimeout, "clone-timeout", gitops.DefaultTimeout, "how long one clone may take before it is stopped")
	cmd.Flags().StringVar(&f.maxSize, "max-clone-size", "10GiB", "the most a clone may write to disk: its pack, then pack and work tree together (e.g. 2GiB, 500MiB; 0: no limit)")
	cmd.Flags().Int64Var(&f.maxFiles, "max-clone-files", services.DefaultMaxCloneFiles, "the most files and directories a clone's work tree may hold (0: no limit)")
	cmd.Flags().StringVar(&f.maxObject, "max-object-size", "1GiB", "the largest object (a file, a tree) a cloned repository may hold, inflated")
	cmd.Flags().StringVar(&f.minFree, "min-free-space", "1GiB", "free space clones leave on the data directory's disk: a clone does not start, and stops, below it (0: no reserve)")
	cmd.Flags().StringVar(&f.cloneMemory, "clone-memory", "1GiB", "memory budget the object contents of all clones of this instance share: a clone waits while others hold it (0: no budget)")
	cmd.Flags().DurationVar(&f.retention, "clone-retention", services.DefaultCloneRetention, "how long a clone directory stays below {data-dir}/work before it is removed (checked at start and every 5 minutes; 0 keeps clones forever)")
	cmd.Flags().DurationVar(&f.catalogKeep, "catalog-keep", 15*time.Minute, "how long a cached list is kept: older than --catalog-fresh it is served once more while it is refreshed in the background")
	cmd.Flags().StringVar(&f.rateCheck, "rate-limit-check-token", "60/m", "token checks per tenant (check-token, connections/{id}/check, PATCH with a new PAT or certificate): N/s, N/m, N/h or N/DURATION; 0 for none")
	cmd.Flags().StringVar(&f.rateCreate, "rate-limit-create-connection", "30/m", "connection creations per tenant, as --rate-limit-check-token")
	cmd.Flags().StringVar(&f.rateClone, "rate-limit-clone", "30/m", "clones per tenant (Clone now, POST /api/v1/build-profiles/{id}/clone and /clones), as --rate-limit-check-token")
	cmd.Flags().IntVar(&f.runsKeep, "runs-keep", services.DefaultRunsPerProfile, "runs kept per build profile; older ones are dropped when a run starts (-1 keeps all)")
	cmd.Flags().DurationVar(&f.runsMaxAge, "runs-max-age", 0, "runs older than this are dropped when a run of the profile starts (e.g. 720h; 0: no age limit)")
	cmd.Flags().StringVar(&f.hookMaxBody, "hook-max-body", "1MiB", "the largest service-hook delivery body accepted (413 hook_payload_too_large above it; at most 16MiB)")
	cmd.Flags().DurationVar(&f.pollInterval, "poll-interval", 0, "the polling fallback for servers that cannot reach the hook endpoint: every interval, the branches of each build profile with a push trigger are listed and a moved one starts a run (at least 1m; 0: off)")
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", "", "the repository cache: one object store per tenant, connection and repository that every clone fetches into incrementally and checks out from, so a repeat build fetches only what changed (default {data-dir}/cache; none: no cache, every clone cold and every workspace fresh). Each instance has its own, on Redis deployments too")
	cmd.Flags().StringVar(&f.cacheMax, "cache-max-bytes", "10GiB", "the most the repository cache keeps on disk, least recently used repositories removed first (e.g. 50GiB; 0: no bound)")
	cmd.Flags().BoolVar(&f.requireAOF, "require-aof", false, "with Redis: refuse to start unless Redis has appendonly yes, appendfsync always (no acknowledged write is lost) and maxmemory-policy noeviction (no record or lock is evicted)")
	cmd.Flags().StringArrayVar(&f.sshHostKeys, "services-ssh-host-key", nil, "a SHA-256 fingerprint (SHA256:…) trusted for the SSH host of Azure DevOps Services, replacing the ones Microsoft publishes (repeatable; for when Microsoft rotates its key before this release knows it)")
	f.register(cmd)
	f.oauth.register(cmd)
	f.egress.register(cmd, false)
	f.metrics.register(cmd)
	return cmd
}

// heapOverhead is what the process needs beside the clones' object contents: the service,
// the per-object tables and stream buffers of the running clones.
const heapOverhead = 256 << 20

// heapLimit sets the Go runtime's soft memory limit to the clone memory budget plus
// heapOverhead, unless GOMEMLIMIT is set or there is no budget: the budget bounds the live
// object contents, and the limit makes the collector reclaim a finished clone's garbage
// before the heap grows past it (GOGC alone lets the heap reach twice the live bytes).
func heapLimit(budget int64) (int64, bool) {
	if budget <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	debug.SetMemoryLimit(budget + heapOverhead)
	return budget + heapOverhead, true
}

// cache reads --cache-dir (default {data-dir}/cache; "none": "", no cache) and
// --cache-max-bytes (a size; 0: no bound). Errors: a usage error for a bad size.
func (f *serveFlags) cache() (dir string, maxBytes int64, err error) {
	switch f.cacheDir {
	case "none":
		dir = ""
	case "":
		dir = filepath.Join(f.dataDir, "cache")
	default:
		dir = f.cacheDir
	}
	if f.cacheMax != "0" {
		if maxBytes, err = parseSize(f.cacheMax); err != nil {
			return "", 0, usageError("--cache-max-bytes: %v (0: no bound)", err)
		}
	}
	return dir, maxBytes, nil
}

// limits reads the rate-limit flags.
func (f *serveFlags) limits() (map[string]ratelimit.Limit, error) {
	out := map[string]ratelimit.Limit{}
	for _, l := range []struct{ flag, value, action string }{
		{"rate-limit-check-token", f.rateCheck, services.ActionCheckToken},
		{"rate-limit-create-connection", f.rateCreate, services.ActionCreateConnection},
		{"rate-limit-clone", f.rateClone, services.ActionClone},
	} {
		lim, ok, err := ratelimit.ParseLimit(l.value)
		if err != nil {
			return nil, usageError("--%s: %v", l.flag, err)
		}
		if ok {
			out[l.action] = lim
		}
	}
	return out, nil
}

// checkDurability logs what Redis keeps on disk (the README's "Several instances on Redis":
// only AOF with appendfsync always loses no acknowledged write) and whether it may evict keys
// (any maxmemory-policy but noeviction could drop records and locks). With --require-aof a
// weaker setting, an evicting policy or an unknown one (CONFIG GET refused) stops the start.
func (f *serveFlags) checkDurability(ctx context.Context, be *backend, log *slog.Logger) error {
	if be.redis == nil {
		return nil
	}
	d, err := be.redis.CheckDurability(ctx)
	if err != nil {
		return fmt.Errorf("check the persistence of Redis: %w", err)
	}
	strong := d.Checked && d.AppendOnly && d.AppendFsync == "always"
	switch {
	case strong:
		log.Info("Redis persistence: append-only file, fsync on every write", "store", be.desc)
	case f.requireAOF:
		return fmt.Errorf("--require-aof: %s", d.Warning)
	default:
		log.Warn("Redis persistence: "+d.Warning, "store", be.desc, "appendonly", d.AppendOnly, "appendfsync", d.AppendFsync, "save", d.Save)
	}
	switch {
	case d.EvictionWarning == "":
	case f.requireAOF:
		return fmt.Errorf("--require-aof: %s", d.EvictionWarning)
	default:
		log.Warn("Redis eviction: "+d.EvictionWarning, "store", be.desc, "maxmemory-policy", d.MaxMemoryPolicy)
	}
	return nil
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	log := f.log.logger(cmd.ErrOrStderr())
	bi := readBuildInfo()
	log.Info("repoconnect starting", "version", bi.Version, "commit", bi.Commit, "go", bi.GoVersion)
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopTracing, err := startTracing(ctx, log) // metricsflags.go
	if err != nil {
		return err
	}
	defer stopTracing()

	var demo *demoEnv
	if f.demo {
		if !cmd.Flags().Changed("data-dir") {
			dir, err := os.MkdirTemp("", "repoconnect-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			f.dataDir = dir
		}
		var err error
		if demo, err = startDemo(log); err != nil {
			return fmt.Errorf("start the Azure DevOps simulator: %w", err)
		}
		defer demo.close()
	}

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.addr, err)
	}
	defer ln.Close()
	url := "http://" + ln.Addr().String()
	oauth, err := f.oauth.settings(url, log)
	if err != nil {
		return err
	}
	if demo != nil {
		if oauth, err = demo.oauthSettings(oauth); err != nil {
			return err
		}
	}
	limits, err := f.limits()
	if err != nil {
		return err
	}
	if f.maxClones < 1 {
		return usageError("--max-clones is the number of clones that run at once: 1 or more, not %d", f.maxClones)
	}
	if f.cloneTimeout <= 0 {
		return usageError("--clone-timeout is how long one clone may take (30m, 2h), not %s", f.cloneTimeout)
	}
	sizes := map[string]int64{}
	for _, sz := range []struct{ flag, value string }{{"max-clone-size", f.maxSize}, {"max-object-size", f.maxObject},
		{"min-free-space", f.minFree}, {"clone-memory", f.cloneMemory}} {
		if sz.value == "0" {
			continue
		}
		n, err := parseSize(sz.value)
		if err != nil {
			return usageError("--%s: %v", sz.flag, err)
		}
		sizes[sz.flag] = n
	}
	if f.maxFiles < 0 {
		return usageError("--max-clone-files is a number of files (0: no limit), not %d", f.maxFiles)
	}
	if m := sizes["clone-memory"]; m > 0 && m < 64<<20 {
		return usageError("--clone-memory must be at least 64MiB (or 0 for no budget): each clone worker reserves about 10 MiB")
	}
	if f.retention < 0 {
		return usageError("--clone-retention is how long clones are kept (24h, 90m; 0 keeps them forever), not %s", f.retention)
	}
	hookMax, err := parseSize(f.hookMaxBody)
	if err != nil || hookMax <= 0 || hookMax > 16<<20 {
		return usageError("--hook-max-body is a size up to 16MiB (e.g. 256KiB, 2MiB), not %q", f.hookMaxBody)
	}
	if f.runsKeep == 0 || f.runsKeep < -1 || f.runsMaxAge < 0 {
		return usageError("--runs-keep is a number of runs (or -1 for all) and --runs-max-age a duration (0: none)")
	}
	if f.pollInterval < 0 || (f.pollInterval > 0 && f.pollInterval < services.MinPollInterval) {
		return usageError("--poll-interval is at least 1m (e.g. 5m), or 0 for no polling, not %s", f.pollInterval)
	}
	cacheDir, cacheMax, err := f.cache()
	if err != nil {
		return err
	}
	var demoHosts []egress.Rule
	if demo != nil {
		demoHosts = demo.destinations()
	}
	door, err := f.egress.door(log, demoHosts...)
	if err != nil {
		return err
	}
	if f.retention > 0 && f.retention < f.cloneTimeout {
		// The retention sweep skips only this instance's running clones: on a work directory
		// shared between hosts it could remove another host's clone that is still running.
		log.Warn("--clone-retention is shorter than --clone-timeout: on a data directory shared by several hosts, a clone still running on another host could be removed; keep the retention longer than the timeout",
			"clone-retention", f.retention, "clone-timeout", f.cloneTimeout)
	}
	for i, fp := range f.sshHostKeys {
		n, ok := azuredevops.NormalizeSSHFingerprint(fp)
		if !ok {
			return usageError("--services-ssh-host-key %q: give a SHA-256 fingerprint as ssh-keygen -lf prints it (SHA256:…, 43 base64 characters)", fp)
		}
		f.sshHostKeys[i] = n
	}
	if limit, ok := heapLimit(sizes["clone-memory"]); ok {
		log.Info("Go heap soft limit set from --clone-memory (GOMEMLIMIT overrides it)", "bytes", limit)
	}
	svc, be, err := f.openServiceWith(ctx, log, serviceConfig{oauth: oauth, catalogFresh: f.catalogFresh,
		catalogKeep: f.catalogKeep, limits: limits, maxClones: f.maxClones, runClones: true, cloneRetention: f.retention,
		cloneTimeout: f.cloneTimeout, maxCloneBytes: sizes["max-clone-size"], maxCloneFiles: f.maxFiles,
		maxObjectBytes: sizes["max-object-size"], minFreeSpace: sizes["min-free-space"], cloneMemory: sizes["clone-memory"], door: door,
		runs: services.RunSettings{Keep: f.runsKeep, MaxAge: f.runsMaxAge, MaxHookBody: hookMax, PublicURL: f.oauth.publicURL,
			PollInterval: f.pollInterval}, cacheDir: cacheDir, cacheMaxBytes: cacheMax,
		servicesSSHHostKeys: append(f.sshHostKeys, demo.servicesHostKeys()...)}) // the demo's Services simulator is "Services"
	if err != nil {
		return err
	}
	defer be.Close()
	defer svc.Close()
	if err := f.checkDurability(ctx, be, log); err != nil {
		return err
	}
	defer serveAdmin(log, f.dataDir, be, svc)()             // the apikey commands' way in, with the embedded store (admin.go)
	stopMetrics, err := f.metrics.serve(log, svc.Metrics()) // metricsflags.go
	if err != nil {
		return err
	}
	defer stopMetrics()
	// /healthz and /readyz ask the store: Redis answers PING, the embedded store a read.
	var ready func(ctx context.Context) error
	if be.redis != nil {
		ready = be.redis.Ping
	} else if p, ok := be.Store.(interface{ Ping(context.Context) error }); ok {
		ready = p.Ping
	}
	readyChecks := []web.ReadyCheck{{Name: "clone-queue", Check: svc.CheckClones}, {Name: "sealing-keys", Check: svc.CheckSealingKeys}}

	var uiDemo *web.Demo
	var demoKey string
	if demo != nil {
		if demoKey, _, err = svc.CreateAPIKey(ctx, services.DefaultTenant); err != nil {
			return err
		}
		uiDemo = demo.banner(demoKey)
	}
	srv := &http.Server{
		Handler: web.New(web.Options{Service: svc, Logger: log, Ready: ready, Checks: readyChecks, Demo: uiDemo,
			PublicURL: f.oauth.publicURL, MetricsElsewhere: f.metrics.elsewhere(), Version: shortVersion(bi)}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute, // bodies are small JSON objects
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: a clone answers when it is done (bounded by the clone timeout).
		// net/http's own errors (TLS handshakes, malformed requests, panics) are slog lines too.
		ErrorLog: slog.NewLogLogger(web.LogHandler(log.Handler()), slog.LevelWarn),
	}
	// Shutdown waits for open requests, and a progress stream stays open while its clone runs:
	// stop the clones first, so the streams end with them.
	srv.RegisterOnShutdown(svc.StopClones)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	clones := "in-process"
	if be.redis != nil {
		clones = "redis"
	}
	log.Info("serving", "url", url, "data-dir", f.dataDir, "store", be.desc, "clone-queue", clones, "max-clones", f.maxClones, "clone-retention", f.retention.String(),
		"max-clone-size", f.maxSize, "max-clone-files", f.maxFiles, "max-object-size", f.maxObject, "min-free-space", f.minFree, "clone-memory", f.cloneMemory,
		"cache-dir", svc.CacheDir(), "cache-max-bytes", f.cacheMax)

	if demo != nil {
		demo.printSummary(cmd.OutOrStdout(), url, demoKey)
	}

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		log.Info("shutting down")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
