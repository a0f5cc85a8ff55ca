package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterBusOffset is how far above its client port a cluster node listens for the cluster
// bus (Redis' fixed rule), so a node's port must be at most 65535-clusterBusOffset.
const clusterBusOffset = 10000

// Cluster is a Redis Cluster of a test: n masters without replicas, every hash slot
// assigned, on loopback. Its servers are stopped when the test ends.
type Cluster struct {
	// Servers are the masters, in the order their addresses were given to
	// "redis-cli --cluster create".
	Servers []*Server
}

// StartCluster starts n (at least 3) cluster-enabled redis-server processes, joins them
// with "redis-cli --cluster create … --cluster-replicas 0 --cluster-yes" and waits (up to
// 30 s, polling) until every node reports cluster_state:ok, all 16384 slots and n known
// nodes. redis-cli comes with Debian's redis-tools, a dependency of redis-server; without
// it the test fails and says so.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 3 {
		t.Fatalf("redistest: a Redis Cluster needs at least 3 masters, got %d", n)
	}
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatalf("redis-cli is not installed; StartCluster needs it (apt-get install -y redis-tools): %v", err)
	}
	c := &Cluster{}
	for range n {
		c.Servers = append(c.Servers, startWith(t, Options{Args: []string{
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000",
		}}, clusterPort, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, tail(out, 2000))
	}
	for _, s := range c.Servers {
		if err := waitClusterOK(ctx, s.Addr(), n); err != nil {
			t.Fatalf("redistest: cluster node %s: %v", s.Addr(), err)
		}
	}
	return c
}

// Addrs are the nodes' "127.0.0.1:PORT" addresses.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		addrs[i] = s.Addr()
	}
	return addrs
}

// URL is "redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…", the form redisstore.ParseURL reads.
func (c *Cluster) URL() string {
	return "redis+cluster://" + strings.Join(c.Addrs(), ",")
}

// Client returns a go-redis cluster client of every node, closed when the test ends.
func (c *Cluster) Client() *redis.ClusterClient {
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	c.Servers[0].t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// waitClusterOK polls CLUSTER INFO of addr until the node sees a healthy cluster of n nodes
// with every slot served, or ctx ends.
func waitClusterOK(ctx context.Context, addr string, n int) error {
	cl := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer cl.Close()
	want := []string{"cluster_state:ok", "cluster_slots_ok:16384", "cluster_known_nodes:" + strconv.Itoa(n)}
	var last string
	for {
		info, err := cl.ClusterInfo(ctx).Result()
		if err == nil {
			last = info
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(info, w)
			}
			if ok {
				return nil
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not healthy in time; last CLUSTER INFO: %s", tail([]byte(last), 400))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// clusterPort returns a free loopback port whose cluster bus port (port+10000) is free too.
func clusterPort() (int, error) {
	for range 20 {
		p, err := freePort()
		if err != nil {
			return 0, err
		}
		if p+clusterBusOffset > 65535 {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+clusterBusOffset)))
		if err != nil {
			continue
		}
		_ = l.Close()
		return p, nil
	}
	return 0, fmt.Errorf("no free port pair for a cluster node")
}
