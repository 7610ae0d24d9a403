package fleetbench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/provider"
)

// A fleet of two clusters in another process checks clean, and a CTL removed behind the
// provider's back shows up as drift: the harness can fail both ways.
func TestFleetChecksClean(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs fleetsrv")
	}
	f := Start(t, Options{Clusters: 2, Nodes: 2}, 2*time.Minute)
	f.Prepare()
	o := drift.Options{Parallelism: 4, Timeout: 10 * time.Second, Retries: -1}
	r, err := drift.Check(context.Background(), f.Spec, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if code := r.ExitCode(); code != 0 {
		t.Fatalf("exit %d on a clean fleet: %+v", code, r.Clusters[0].Reasons)
	}
	if f.Accepted() == 0 {
		t.Fatal("the check made no connection to fleetsrv")
	}
	fl, err := NewFloor(f)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	a := f.Accepted()
	if err := fl.Check(context.Background(), cold, 10*time.Second); err != nil {
		t.Fatalf("the floor on a clean fleet: %v", err)
	}
	if got := f.Accepted() - a; got != 4 {
		t.Fatalf("the floor made %d connections to 2 clusters of 2 nodes, want one per node", got)
	}
	n := f.Manifest.Clusters[1].Nodes[1]
	if err := os.Remove(n.FileLocation + "/CTLFile.tlv"); err != nil {
		t.Fatal(err)
	}
	r, err = drift.Check(context.Background(), f.Spec, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode() != 2 || r.Clusters[0].Drift || !r.Clusters[1].Drift {
		t.Fatalf("a node without its CTL: exit %d, drift %v %v", r.ExitCode(), r.Clusters[0].Drift, r.Clusters[1].Drift)
	}
	if err := fl.Check(context.Background(), warm, 10*time.Second); err == nil || !strings.Contains(err.Error(), n.Name) {
		t.Fatalf("the floor with a node's CTL gone: %v, want an error naming %s", err, n.Name)
	}
}

// BenchmarkDriftFleet checks 200 clusters of 3 nodes served by fleetsrv, another process,
// every request delayed 50 ms and every new connection held back 50 ms more (a WAN's round
// trip for the handshake), with a CTL installed everywhere. The checker's heap is this
// process's alone. It reports the wall time of one fleet check (sec/check), one cluster's
// (sec/single), their ratio (x-single; goal <= 4), the round trips a check lasts (RTTs =
// sec/check / 50 ms), the connections the servers accepted per check (conns/check; a
// cluster has 3 nodes, so 600 is one per node) and the peak heap in use while checking
// (peak-heap-MB; goal <= 150), and the CPU time the checker and the servers used per check
// (checker-cpu-s/check, servers-cpu-s/check): both share this machine's two cores, which a
// real fleet's servers do not. Each is measured cold (nothing kept from before, as a one-shot
// `ctlops drift`), resumed (TLS sessions kept, no connections) and warm (connections kept). CTLOPS_BENCH_FLEET sets the number of clusters; setting up
// generates 5 RSA keys per cluster (about a minute for 200 on 2 cores).
//
//	go test ./internal/fleetbench -run '^$' -bench DriftFleet -benchtime 3x
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
	t0 := time.Now()
	f := Start(b, Options{Clusters: n, Nodes: 3, ConnDelay: delay}, 10*time.Minute)
	f.Prepare()
	f.SetDelay(delay)
	b.Logf("fleet of %d clusters x 3 nodes set up in %s (servers in pid %d)", n, time.Since(t0).Round(time.Second), f.cmd.Process.Pid)
	o := drift.Options{Parallelism: n, Timeout: 30 * time.Second, Retries: -1}
	run := func(tb testing.TB, names []string) time.Duration {
		start := time.Now()
		r, err := drift.Check(context.Background(), f.Spec, names, o)
		if err != nil {
			tb.Fatal(err)
		}
		if r.ExitCode() != 0 {
			for _, c := range r.Clusters {
				if c.Drift || c.Error != "" {
					tb.Fatalf("cluster %s: %s %q", c.Name, c.Error, c.Reasons)
				}
			}
		}
		return time.Since(start)
	}
	// cold: every check (the single cluster's too) starts without a connection or a TLS
	// session, as a one-shot `ctlops drift` process does; resumed: no connection, but the TLS
	// sessions of the check before, as `drift --every` after its idle connections timed out
	// (90 s); warm: connections kept from the check before, as a drift loop checking often.
	for _, mode := range []startState{cold, resumed, warm} {
		b.Run(fmt.Sprintf("clusters=%d/%s", n, mode), func(b *testing.B) { measure(b, f, run, mode, delay) })
	}
}

func measure(b *testing.B, f *Fleet, run func(testing.TB, []string) time.Duration, mode startState, delay time.Duration) {
	first := f.Manifest.Clusters[0].Name
	prepare := func() {
		switch mode {
		case cold:
			provider.ForgetSessions()
		case resumed:
			provider.CloseIdleConnections()
		}
	}
	prepare()
	run(b, []string{first}) // warm-up (and, warm, the connections)
	a0 := f.Accepted()
	var single time.Duration
	for range 3 {
		prepare()
		single += run(b, []string{first})
	}
	single /= 3
	singleConns := float64(f.Accepted()-a0) / 3

	if mode != cold {
		prepare()
		run(b, nil) // the sessions and connections of every cluster
	}
	runtime.GC()
	stopSampling := SampleMemory(10 * time.Millisecond)
	var conns int64
	var cpu, srvCPU time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		b.StopTimer()
		prepare()
		a, s := f.Stats()
		c := CPU()
		b.StartTimer()
		total += run(b, nil)
		b.StopTimer()
		cpu += CPU() - c
		a2, s2 := f.Stats()
		conns, srvCPU = conns+a2-a, srvCPU+s2-s
		b.StartTimer()
	}
	b.StopTimer()
	peakHeap, peakSys := stopSampling()
	fleet := total / time.Duration(b.N)
	floor, floorCPU, floorSrvCPU := measureFloor(b, f, mode)
	b.ReportMetric(floor.Seconds(), "sec/floor")
	b.ReportMetric(fleet.Seconds()/floor.Seconds(), "x-floor")
	b.ReportMetric(floorCPU.Seconds(), "floor-cpu-s/check")
	b.ReportMetric(floorSrvCPU.Seconds(), "floor-servers-cpu-s/check")
	b.ReportMetric(fleet.Seconds(), "sec/check")
	b.ReportMetric(single.Seconds(), "sec/single")
	b.ReportMetric(fleet.Seconds()/single.Seconds(), "x-single")
	b.ReportMetric(fleet.Seconds()/delay.Seconds(), "RTTs")
	b.ReportMetric(single.Seconds()/delay.Seconds(), "RTTs-single")
	b.ReportMetric(float64(conns)/float64(b.N), "conns/check")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "checker-cpu-s/check")
	b.ReportMetric(srvCPU.Seconds()/float64(b.N), "servers-cpu-s/check")
	b.ReportMetric(singleConns, "conns/single")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peakSys)/(1<<20), "peak-sys-MB")
}

// measureFloor times the floor (see Floor) in the same state as the checker was, as many
// times as the checker ran, after one warm-up; it returns the mean wall time of one and the
// CPU time it and the servers used for each.
func measureFloor(b *testing.B, f *Fleet, mode startState) (wall, cpu, srvCPU time.Duration) {
	fl, err := NewFloor(f)
	if err != nil {
		b.Fatal(err)
	}
	defer fl.Close()
	check := func() {
		if err := fl.Check(context.Background(), mode, 30*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	check() // warm-up (and, resumed or warm, the sessions and connections)
	for range b.N {
		_, s := f.Stats()
		c := CPU()
		start := time.Now()
		check()
		wall += time.Since(start)
		cpu += CPU() - c
		_, s2 := f.Stats()
		srvCPU += s2 - s
	}
	n := time.Duration(b.N)
	return wall / n, cpu / n, srvCPU / n
}
