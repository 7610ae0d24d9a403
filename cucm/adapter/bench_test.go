package adapter

import (
	"sync"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/lab/cucmsim"
)

// BenchmarkReadPredict50x3 reads and predicts 50 simulated tokenless clusters of 3 nodes
// with 50 ms per round trip (every CLI answer and the login), all clusters at once, one SSH
// session per node per check, and reports the time as a multiple of one cluster's, measured
// in the same run (x-one-cluster). The clusters are not mixed: a plan that proposes
// set-cluster mixed-mode, the lab's first plan.
func BenchmarkReadPredict50x3(b *testing.B) {
	d := cucmsim.Delays{Startup: 50 * time.Millisecond, Command: 50 * time.Millisecond}
	var targets []*Cluster
	for range 50 {
		_, tg := startSim(b, simOpts{subs: 2, delays: d})
		targets = append(targets, tg)
	}
	one := func(tg *Cluster) {
		p := NewPool(tg)
		defer p.Close()
		st, err := Read(ctx(b), p)
		if err != nil {
			b.Error(err)
			return
		}
		if c, err := Evaluate(st, true, time.Now(), tokenless.DefaultExpiryWarning); err != nil || c.Action == "" {
			b.Errorf("evaluate: %v", err)
		}
	}
	var d1, d50 time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		one(targets[0])
		d1 += time.Since(t0)
		t0 = time.Now()
		var wg sync.WaitGroup
		for _, tg := range targets {
			wg.Add(1)
			go func() { defer wg.Done(); one(tg) }()
		}
		wg.Wait()
		d50 += time.Since(t0)
	}
	b.ReportMetric(float64(d1.Milliseconds())/float64(b.N), "ms-one-cluster")
	b.ReportMetric(float64(d50.Milliseconds())/float64(b.N), "ms-50-clusters")
	b.ReportMetric(float64(d50)/float64(d1), "x-one-cluster")
}
