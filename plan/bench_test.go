package plan_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider/providertest"
)

// BenchmarkPlanFleet plans 100 two-node clusters whose providers each add 20 ms to every
// request (WAN latency) and reports the wall time of one whole plan as a multiple of that
// latency: fetching concurrently, a fleet should cost a few round trips, not one per server.
//
//	go test -run XXX -bench PlanFleet -benchtime 3x ./plan
func BenchmarkPlanFleet(b *testing.B) {
	const clusters, latency = 100, 20 * time.Millisecond
	l := &lab{t: b, dir: b.TempDir(), clusters: map[string]*providertest.Cluster{}, tokens: map[string]*token{}, now: time.Now()}
	var specs []clusterSpec
	for i := range clusters {
		name := fmt.Sprintf("c%03d", i)
		pc := providertest.StartNamed(b, name, 2)
		for _, n := range pc.Nodes() {
			pc.SetDelay(n.Name, latency)
		}
		l.clusters[name] = pc
		specs = append(specs, clusterSpec{name: name, mode: "mixed", tokens: []string{"alice", "bob"}})
	}
	b.Setenv("LAB_CTL_PASSWORD", providertest.Password)
	for i, name := range []string{"alice", "bob"} {
		l.tokens[name] = l.newToken(name, testKeys(b)[i], int64(0x5A5700+i))
	}
	cfg := l.spec(specs...)
	for _, par := range []int{10, 100} {
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				p := l.planWith(cfg, par)
				total += time.Since(start)
				if p.Failed() || len(p.Clusters) != clusters {
					b.Fatalf("plan failed: %d clusters", len(p.Clusters))
				}
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(latency), "latencies/op")
		})
	}
}
