package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/connections/resilience"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/catalogcache"
	"github.com/repoconnect/repoconnect/services/pacing"
	"github.com/repoconnect/repoconnect/services/ratelimit"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/bolt"
	"github.com/repoconnect/repoconnect/services/store/redisstore"
)

// storeFlags are the flags every command that opens the store shares.
type storeFlags struct {
	dataDir  string
	storeURL string
}

func (f *storeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "repoconnect-data", "directory for the embedded store, the sealing key and clones")
	cmd.Flags().StringVar(&f.storeURL, "store", "", `store URL:
  bolt://PATH                            embedded, one process (default bolt://{data-dir}/repoconnect.db)
  redis://[user:pass@]HOST:PORT[/DB]     Redis, shared by every instance (rediss:// for TLS)
  redis+sentinel://H:P,H:P/MASTER[/DB]   Redis behind Sentinel (rediss+sentinel:// for TLS)
  redis+cluster://H:P,H:P                Redis Cluster (rediss+cluster:// for TLS)
  Redis forms take ?prefix=NAME for the key prefix of the deployment (default repoconnect)`)
}

// backend is an opened store and, for Redis, the Redis store itself (whose client the catalog
// cache and the rate limiter share).
type backend struct {
	store.Store
	redis *redisstore.Store // nil for the embedded store
	// desc names the store for the log, without any password.
	desc string
	// boltPath is the embedded store's file ("" with Redis): what the admin socket serves.
	boltPath string
}

// Unwrap returns the backend's store, so the service finds its optional capabilities
// (store.Runs) behind the wrapper.
func (b *backend) Unwrap() store.Store { return b.Store }

// isRedis reports whether the --store URL names a Redis deployment.
func (f *storeFlags) isRedis() bool {
	scheme, _, _ := strings.Cut(f.storeURL, "://")
	return strings.HasPrefix(strings.ToLower(scheme), "redis")
}

// openStore opens the store named by the flags: a bbolt file (held by one process at a time)
// or Redis (PING within 10 s, else an error naming the redacted URL).
func (f *storeFlags) openStore(ctx context.Context, log *slog.Logger) (*backend, error) {
	if f.isRedis() {
		cfg, err := redisstore.ParseURL(f.storeURL)
		if err != nil {
			return nil, usageError("--store: %v", err)
		}
		redisstore.LogTo(log)
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		rs, err := redisstore.Open(ctx, f.storeURL, redisstore.Options{})
		if err != nil {
			return nil, err // names the redacted URL
		}
		return &backend{Store: rs, redis: rs, desc: cfg.Redacted}, nil
	}
	path, err := f.boltPath()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory: %w", err)
	}
	st, err := bolt.Open(path, bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	return &backend{Store: st, desc: "bolt://" + path, boltPath: path}, nil
}

// keyring loads the sealing keys from REPOCONNECT_SEALING_KEYS(_FILE), or from (creating if
// needed) {data-dir}/sealing.key with mode 0600, and says which in the log.
func (f *storeFlags) keyring(log *slog.Logger) (*secrets.Keyring, error) {
	k, ok, err := secrets.FromEnv(os.Getenv)
	if err != nil {
		return nil, usageError("sealing keys from the environment: %v", err)
	}
	if ok {
		log.Info("sealing keys loaded from the environment", "current", k.CurrentID())
		return k, nil
	}
	path := filepath.Join(f.dataDir, "sealing.key")
	k, created, err := secrets.LoadOrCreateFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("no sealing key was configured: created one in the data directory (mode 0600); back it up, or set REPOCONNECT_SEALING_KEYS_FILE", "path", path, "key", k.CurrentID())
	} else {
		log.Info("sealing key loaded from the data directory", "path", path, "key", k.CurrentID())
	}
	return k, nil
}

// checkSealProbe opens the store's sealing probe with k (storing one at the first start, and
// sealing it anew under the current key after a rotation), so an instance whose sealing keys
// cannot open the records the others sealed refuses to start with a sentence naming the key
// ids and REPOCONNECT_SEALING_KEYS, instead of answering 500 for every sealed record.
func checkSealProbe(ctx context.Context, be *backend, k *secrets.Keyring, log *slog.Logger) error {
	ps, ok := be.Store.(store.SealProbe)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for range 5 { // another instance may store or reseal the probe meanwhile: read it again
		old, err := ps.SealProbe(ctx)
		if err != nil {
			return fmt.Errorf("read the sealing probe of %s: %w", be.desc, err)
		}
		reseal := old == nil
		if old != nil {
			if reseal, err = k.CheckProbe(old); err != nil {
				return fmt.Errorf("%s: %w", be.desc, err)
			}
		}
		if !reseal {
			return nil
		}
		next, err := k.SealProbe()
		if err != nil {
			return err
		}
		swapped, err := ps.SwapSealProbe(ctx, old, next)
		if err != nil {
			return fmt.Errorf("store the sealing probe of %s: %w", be.desc, err)
		}
		if swapped {
			if old != nil {
				id, _ := secrets.SealedKeyID(old)
				log.Info("sealing probe sealed anew under the current key", "was", id, "current", k.CurrentID())
			}
			return nil
		}
	}
	return fmt.Errorf("the sealing probe of %s kept changing while this instance started; start it again", be.desc)
}

// serviceConfig is what serve adds to the store flags: OAuth, the catalog cache's freshness,
// the per-tenant rate limits and the clone jobs.
type serviceConfig struct {
	oauth        services.OAuthSettings
	catalogFresh time.Duration
	catalogKeep  time.Duration
	limits       map[string]ratelimit.Limit
	maxClones    int // clone jobs run at once in this process; 0: services.DefaultMaxClones
	// runClones (serve) makes the instance a clone worker: with Redis, clone jobs go through
	// the queue shared by every instance. Administrative commands leave it false.
	runClones      bool
	cloneRetention time.Duration // clone directories older than this are removed; 0: kept
	cloneTimeout   time.Duration // one clone's bound; 0: gitops.DefaultTimeout
	maxCloneBytes  int64         // what a clone writes to disk (pack, then pack and work tree); 0: none
	maxCloneFiles  int64         // a clone's work tree entries; 0: none
	maxObjectBytes int64         // one object, inflated; 0: gitops.DefaultMaxObjectBytes
	minFreeSpace   int64         // the free space clones leave on the data directory's disk; 0: none
	cloneMemory    int64         // the memory budget of all clones' object contents; 0: none
	door           *egress.Door  // the outbound policy (serve's flags); nil: egress.Default()
	runs           services.RunSettings
	cacheDir       string // the repository cache; "": none
	cacheMaxBytes  int64  // its bound on disk; 0: none
	// servicesSSHHostKeys are the host key fingerprints trusted for Azure DevOps Services'
	// SSH (--services-ssh-host-key, or the demo's simulator); nil: Microsoft's published ones.
	servicesSSHHostKeys []string
}

// openService opens store and keyring and returns the service, for the administrative
// commands; close it with svc.Close() and then svc.Store().Close().
func (f *storeFlags) openService(ctx context.Context, log *slog.Logger) (*services.Service, error) {
	svc, _, err := f.openServiceWith(ctx, log, serviceConfig{})
	return svc, err
}

// openServiceWith opens the store and keyring and builds the service of serve: with Redis the
// catalog cache, the rate limits and (with runClones) the clone job queue live in Redis
// (shared by every instance); with the embedded store, in this process.
func (f *storeFlags) openServiceWith(ctx context.Context, log *slog.Logger, cfg serviceConfig) (*services.Service, *backend, error) {
	be, err := f.openStore(ctx, log) // first: a bad --store must not leave a new sealing key behind
	if err != nil {
		return nil, nil, err
	}
	k, err := f.keyring(log)
	if err != nil {
		be.Close()
		return nil, nil, err
	}
	if err := checkSealProbe(ctx, be, k, log); err != nil {
		be.Close()
		return nil, nil, err
	}
	copts := catalogcache.Options{Fresh: cfg.catalogFresh, Keep: cfg.catalogKeep, Logger: log}
	var (
		cache   *catalogcache.Cache
		limiter ratelimit.Limiter
		queue   services.CloneQueue // nil: in-process
		pacer   resilience.Pacer    // Azure DevOps pacing per connection; nil: in-process
	)
	if be.redis != nil {
		cache = catalogcache.New(catalogcache.NewRedis(be.redis.Client(), be.redis.Prefix()), copts)
		pacer = pacing.NewRedis(be.redis.Client(), be.redis.Prefix(), nil)
		if len(cfg.limits) > 0 {
			limiter = ratelimit.NewRedis(be.redis.Client(), be.redis.Prefix(), cfg.limits)
		}
		if cfg.runClones {
			queue = services.NewRedisCloneQueue(be.redis.Client(), be.redis.Prefix(), services.RedisCloneQueueOptions{})
		}
	} else {
		cache = catalogcache.New(catalogcache.NewMemory(services.DefaultCatalogEntries), copts)
		if len(cfg.limits) > 0 {
			limiter = ratelimit.NewMemory(cfg.limits)
		}
	}
	svc, err := services.New(services.Options{Store: be, Keyring: k, WorkDir: filepath.Join(f.dataDir, "work"),
		Logger: log, OAuth: cfg.oauth, Catalog: cache, Limiter: limiter, MaxClones: cfg.maxClones,
		CloneQueue: queue, CloneRetention: cfg.cloneRetention, CloneTimeout: cfg.cloneTimeout, MaxCloneBytes: cfg.maxCloneBytes,
		Pacer: pacer, Door: cfg.door, ServicesSSHHostKeyFingerprints: cfg.servicesSSHHostKeys, MaxCloneFiles: cfg.maxCloneFiles, MaxObjectBytes: cfg.maxObjectBytes, MinFreeSpace: cfg.minFreeSpace, CloneMemory: cfg.cloneMemory,
		Runs: cfg.runs, CacheDir: cfg.cacheDir, CacheMaxBytes: cfg.cacheMaxBytes})
	if err != nil {
		cache.Close()
		be.Close()
		return nil, nil, err
	}
	return svc, be, nil
}

// readPAT returns the PAT from AZURE_DEVOPS_PAT, else the first line of standard input (read
// without echo when it is a terminal). It never prints the value.
func readPAT(stdin io.Reader) (connections.Secret, error) {
	if v := strings.TrimSpace(os.Getenv("AZURE_DEVOPS_PAT")); v != "" {
		return connections.Secret(v), nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(os.Stderr, "Personal access token (not shown): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", usageError("reading the PAT from the terminal: %v", err)
		}
		stdin = strings.NewReader(string(b))
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", usageError("reading the PAT from standard input: %v", err)
	}
	pat := strings.TrimSpace(line)
	if pat == "" {
		return "", usageError("no personal access token: set AZURE_DEVOPS_PAT or pass it on standard input")
	}
	return connections.Secret(pat), nil
}

// readFileFlag returns the content of a file flag, or nil when it is empty.
func readFileFlag(name, path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError("--%s: %v", name, err)
	}
	return b, nil
}
