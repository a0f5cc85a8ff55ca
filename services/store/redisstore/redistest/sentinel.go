package redistest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is a redis-server running in Sentinel mode for a test, monitoring one master
// (quorum 1). Its embedded Server gives Dir, Port, Addr, Client, Kill and Restart.
type Sentinel struct {
	*Server
	// MasterName is the name the master is monitored under.
	MasterName string
}

// StartSentinel starts "redis-server sentinel.conf --sentinel" monitoring master as
// masterName with quorum 1 (a config file written to the sentinel's directory, which
// Sentinel rewrites as it runs), and waits (up to 10 s, polling) until it answers
// SENTINEL GET-MASTER-ADDR-BY-NAME with master's address. It is stopped when t ends.
func StartSentinel(t testing.TB, master *Server, masterName string) *Sentinel {
	t.Helper()
	conf := func(dir string, port int) ([]string, error) {
		path := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndaemonize no\nlogfile redis.log\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 60000\n",
			port, dir, masterName, master.Port, masterName)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			return nil, err
		}
		return []string{path, "--sentinel"}, nil
	}
	s := &Sentinel{Server: startWith(t, Options{}, freePort, conf), MasterName: masterName}
	cl := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		addr, err := cl.GetMasterAddrByName(ctx, masterName).Result()
		if err == nil && len(addr) == 2 && addr[1] == fmt.Sprint(master.Port) {
			return s
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: sentinel on port %d does not report master %s: %v %v", s.Port, masterName, addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// URL is "redis+sentinel://127.0.0.1:PORT/MASTERNAME/db", the form redisstore.ParseURL reads.
func (s *Sentinel) URL(db int) string {
	return fmt.Sprintf("redis+sentinel://%s/%s/%d", s.Addr(), s.MasterName, db)
}
