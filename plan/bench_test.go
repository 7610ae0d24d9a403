package plan_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ctlops/ctlops/internal/labtest"
)

// BenchmarkPlanFleet plans 100 two-node clusters whose providers each add 20 ms to every
// request (WAN latency) and reports the wall time of one whole plan as a multiple of that
// latency: fetching concurrently, a fleet should cost a few round trips, not one per server.
//
//	go test -run XXX -bench PlanFleet -benchtime 3x ./plan
func BenchmarkPlanFleet(b *testing.B) {
	const clusters, latency = 100, 20 * time.Millisecond
	nodes := map[string]int{}
	for i := range clusters {
		nodes[fmt.Sprintf("c%03d", i)] = 2
	}
	l := labtest.New(b, nodes)
	var specs []clusterSpec
	for name, pc := range l.Clusters {
		for _, n := range pc.Nodes() {
			pc.SetDelay(n.Name, latency)
		}
		specs = append(specs, labtest.Mixed(name))
	}
	cfg := l.Spec(specs...)
	for _, par := range []int{10, 100} {
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				p := l.PlanWith(cfg, par)
				total += time.Since(start)
				if p.Failed() || len(p.Clusters) != clusters {
					b.Fatalf("plan failed: %d clusters", len(p.Clusters))
				}
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(latency), "latencies/op")
		})
	}
}
