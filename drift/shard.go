package drift

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/ctlops/ctlops/spec"
)

// Shard is the i-th of n stable subsets of the clusters, so that an existing scheduler (one
// Kubernetes CronJob per shard, a CI matrix) spreads a large fleet over many machines without
// any coordination: a cluster belongs to shard FNV-1a-32(name) mod n, whatever the other
// clusters are, so adding a cluster never moves another one. The zero Shard is all clusters.
type Shard struct {
	I, N int
}

// ParseShard reads "i/n" with 0 <= i < n (0-based, as Kubernetes' JOB_COMPLETION_INDEX).
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 0/4", s)
	}
	if n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want 0 <= i < n (shards are numbered from 0)", s)
	}
	return Shard{I: i, N: n}, nil
}

// All reports whether the shard selects every cluster.
func (s Shard) All() bool { return s.N <= 1 }

func (s Shard) String() string {
	if s.All() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Of returns the shard index of a cluster name among n shards.
func Of(name string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32() % uint32(n))
}

// Has reports whether the shard holds the cluster.
func (s Shard) Has(name string) bool { return s.All() || Of(name, s.N) == s.I }

// Filter keeps the clusters of the shard, in order.
func (s Shard) Filter(cs []*spec.Cluster) []*spec.Cluster {
	if s.All() {
		return cs
	}
	var out []*spec.Cluster
	for _, c := range cs {
		if s.Has(c.Name) {
			out = append(out, c)
		}
	}
	return out
}
