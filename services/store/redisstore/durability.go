package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Durability is what Redis keeps on disk, as CONFIG GET reports it (for a Cluster: the
// weakest master's settings).
type Durability struct {
	// Checked is false when Redis refused CONFIG GET (managed services often do); the other
	// fields are then unknown and Warning says so.
	Checked bool
	// AppendOnly is the "appendonly" setting: writes are logged to the append-only file.
	AppendOnly bool
	// AppendFsync is the "appendfsync" setting: "always", "everysec" or "no".
	AppendFsync string
	// Save is the RDB "save" setting ("3600 1 300 100" …); "" means no snapshots.
	Save string
	// Warning is "" when appendonly is yes and appendfsync always; otherwise one sentence
	// saying what a restart or crash can lose and how to fix it.
	Warning string
	// MaxMemoryPolicy is the "maxmemory-policy" setting ("noeviction", "allkeys-lru", …; for
	// a Cluster, the first master's that is not noeviction).
	MaxMemoryPolicy string
	// EvictionWarning is "" when maxmemory-policy is noeviction; otherwise one sentence
	// saying that Redis may evict locks and records at maxmemory, and how to fix it (also
	// when the policy is unknown because CONFIG GET was refused).
	EvictionWarning string
}

// evictionWarning fills d.EvictionWarning from d.MaxMemoryPolicy; where names the node.
func (d *Durability) evictionWarning(where string) {
	if d.MaxMemoryPolicy == "noeviction" {
		d.EvictionWarning = ""
		return
	}
	on := ""
	if where != "" {
		on = " on " + where
	}
	d.EvictionWarning = "Redis may evict keys when it reaches maxmemory (maxmemory-policy " + d.MaxMemoryPolicy + on +
		"): it could drop connections, build profiles, API keys or the locks that serialize token refreshes; " +
		"run CONFIG SET maxmemory-policy noeviction, and set it in redis.conf."
}

// fixHint ends every warning that a CONFIG SET can fix.
const fixHint = "run CONFIG SET appendonly yes and CONFIG SET appendfsync always, and set both in redis.conf"

// weakness orders settings from the safest (0) to keeping nothing (4).
func (d Durability) weakness() int {
	switch {
	case d.AppendOnly && d.AppendFsync == "always":
		return 0
	case d.AppendOnly && d.AppendFsync == "everysec":
		return 1
	case d.AppendOnly:
		return 2
	case d.Save != "":
		return 3
	default:
		return 4
	}
}

// warn fills d.Warning from the settings; where, when not empty, names the node.
func (d *Durability) warn(where string) {
	on := ""
	if where != "" {
		on = " (on " + where + ")"
	}
	switch d.weakness() {
	case 0:
		d.Warning = ""
	case 1:
		d.Warning = "Redis syncs its append-only file only once a second (appendfsync everysec" + on +
			"): a crash of the Redis host can lose up to a second of acknowledged writes to connections, " +
			"build profiles and API keys; run CONFIG SET appendfsync always, and set it in redis.conf."
	case 2:
		d.Warning = "Redis leaves syncing its append-only file to the operating system (appendfsync " +
			d.AppendFsync + on + "): a crash of the Redis host can lose the last seconds of acknowledged writes; " +
			"run CONFIG SET appendfsync always, and set it in redis.conf."
	case 3:
		d.Warning = "Redis keeps only RDB snapshots (appendonly no, save \"" + d.Save + "\"" + on +
			"): a restart or crash loses everything written since the last snapshot; " + fixHint + "."
	default:
		d.Warning = "Redis keeps nothing on disk (appendonly no, no save points" + on +
			"): a restart loses every connection, build profile and API key; " + fixHint + "."
	}
}

// CheckDurability reads appendonly, appendfsync, save and maxmemory-policy with CONFIG GET (on
// a Cluster, from every master, reporting the weakest) and says what a restart or crash of
// Redis can lose (Warning) and whether Redis may evict keys at maxmemory (EvictionWarning).
// A server that refuses CONFIG GET gives Checked false and a Warning, not an error. Errors:
// a context or connection error.
func (s *Store) CheckDurability(ctx context.Context) (_ Durability, err error) {
	defer unavailable(&err)
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		var (
			mu    sync.Mutex
			worst *Durability
		)
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			d, err := readDurability(ctx, c)
			if err != nil {
				return err
			}
			if d.Checked {
				d.warn(c.Options().Addr)
				d.evictionWarning(c.Options().Addr)
			}
			mu.Lock()
			defer mu.Unlock()
			if worst == nil || !d.Checked || worst.Checked && d.weakness() > worst.weakness() {
				if worst != nil && worst.EvictionWarning != "" && d.EvictionWarning == "" {
					d.MaxMemoryPolicy, d.EvictionWarning = worst.MaxMemoryPolicy, worst.EvictionWarning
				}
				worst = &d
			} else if worst.EvictionWarning == "" && d.EvictionWarning != "" {
				worst.MaxMemoryPolicy, worst.EvictionWarning = d.MaxMemoryPolicy, d.EvictionWarning
			}
			return nil
		})
		if err != nil {
			return Durability{}, err
		}
		if worst == nil {
			return Durability{}, errors.New("redisstore: check durability: the cluster has no masters")
		}
		return *worst, nil
	}
	d, err := readDurability(ctx, s.client)
	if err == nil && d.Checked {
		d.warn("")
		d.evictionWarning("")
	}
	return d, err
}

// readDurability reads the settings of one server.
func readDurability(ctx context.Context, c redis.Cmdable) (Durability, error) {
	vals := map[string]string{}
	for _, p := range []string{"appendonly", "appendfsync", "save", "maxmemory-policy"} {
		m, err := c.ConfigGet(ctx, p).Result()
		var rerr redis.Error
		if errors.As(err, &rerr) {
			// A reply from the server refusing the command (unknown command, NOPERM, …).
			return Durability{Warning: "Redis refused CONFIG GET (" + rerr.Error() + "), so its persistence " +
				"settings are unknown: make sure it keeps an append-only file with appendfsync always, " +
				"or a restart or crash may lose connections, build profiles and API keys.",
				EvictionWarning: "Redis refused CONFIG GET (" + rerr.Error() + "), so its maxmemory-policy is unknown: " +
					"make sure it is noeviction, or Redis may evict records and locks when it reaches maxmemory."}, nil
		}
		if err != nil {
			return Durability{}, fmt.Errorf("redisstore: check durability: %w", err)
		}
		vals[p] = m[p]
	}
	return Durability{
		Checked:         true,
		AppendOnly:      vals["appendonly"] == "yes",
		AppendFsync:     vals["appendfsync"],
		Save:            vals["save"],
		MaxMemoryPolicy: vals["maxmemory-policy"],
	}, nil
}
