package drift_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/internal/fleetbench"
	"github.com/ctlops/ctlops/internal/labtest"
)

// BenchmarkDriftFleet checks a fleet of reference clusters of 3 nodes on loopback, every
// request delayed 50 ms (a WAN), with a CTL installed: the claim is that a fleet costs
// a few round trips, not one per server. It reports the wall time of one fleet check
// (sec/check), its ratio to one cluster's check (x-single), the round trips that makes
// (RTTs, at 50 ms each) and the peak heap in use and memory obtained from the OS while
// checking. CTLOPS_BENCH_FLEET sets the number of clusters (default 200); setting the fleet
// up generates 5 RSA keys per cluster, about a minute for 200 on 2 cores.
//
//	go test ./drift -run '^$' -bench DriftFleet -benchtime 5x
func BenchmarkDriftFleet(b *testing.B) {
	n := 200
	if s := os.Getenv("CTLOPS_BENCH_FLEET"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("CTLOPS_BENCH_FLEET=%q", s)
		}
		n = v
	}
	const delay = 50 * time.Millisecond
	nodes := map[string]int{}
	var specs []labtest.ClusterSpec
	for i := range n {
		name := fmt.Sprintf("site%03d", i)
		nodes[name] = 3
		specs = append(specs, labtest.Mixed(name))
	}
	t0 := time.Now()
	l := labtest.New(b, nodes)
	cfg := l.Spec(specs...)
	l.InstallAll(l.Plan(cfg), "alice")
	for _, pc := range l.Clusters {
		for _, nd := range pc.Nodes() {
			pc.SetDelay(nd.Name, delay)
		}
	}
	b.Logf("fleet of %d clusters x 3 nodes set up in %s", n, time.Since(t0).Round(time.Second))
	o := drift.Options{Parallelism: n, Timeout: 30 * time.Second, Retries: -1}
	ctx := context.Background()
	run := func(b testing.TB, names []string) time.Duration {
		start := time.Now()
		r, err := drift.Check(ctx, cfg, names, o)
		if err != nil {
			b.Fatal(err)
		}
		if code := r.ExitCode(); code != 0 {
			for _, c := range r.Clusters {
				if c.Drift || c.Error != "" {
					b.Fatalf("cluster %s: %s %q", c.Name, c.Error, c.Reasons)
				}
			}
		}
		return time.Since(start)
	}
	// The fleet is set up once; the check is measured in a sub-benchmark, which the testing
	// package runs as often as it needs.
	b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) { measureFleet(b, run, specs[0].Name, n, delay) })
}

func measureFleet(b *testing.B, run func(testing.TB, []string) time.Duration, first string, n int, delay time.Duration) {
	var single time.Duration
	for range 3 {
		single += run(b, []string{first})
	}
	single /= 3

	stopSampling := fleetbench.SampleMemory(20 * time.Millisecond)
	b.ReportAllocs()
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		total += run(b, nil)
	}
	b.StopTimer()
	peakHeap, peakSys := stopSampling()
	fleet := total / time.Duration(b.N)
	b.ReportMetric(fleet.Seconds(), "sec/check")
	b.ReportMetric(single.Seconds(), "sec/single")
	b.ReportMetric(fleet.Seconds()/single.Seconds(), "x-single")
	b.ReportMetric(fleet.Seconds()/delay.Seconds(), "RTTs")
	b.ReportMetric(float64(n)/fleet.Seconds(), "clusters/s")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peakSys)/(1<<20), "peak-sys-MB")
}
