package drift_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/internal/labtest"
	"github.com/ctlops/ctlops/provider/providertest/hostile"
)

// TestSlowServerDelaysOnlyItsCluster (issue 12, item 5): a TFTP server that drips one block
// at a time, each in time for the per-packet wait, never finishing, is cut off by the
// whole-transfer deadline (--timeout). A tick of the scheduled loop then ends within about
// that deadline, reports the healthy cluster as checked and in sync, and names the slow
// server in its cluster's error. The control: the same loop with no slow cluster.
func TestSlowServerDelaysOnlyItsCluster(t *testing.T) {
	l, _ := installedLab(t, 2)
	// 200 ms per block: well inside the per-packet wait.
	drip := hostile.NewTFTP(t, hostile.SlowDrip, func(s *hostile.TFTP) { s.Interval = 200 * time.Millisecond })
	cfg := l.Spec(labtest.Mixed("hq"), labtest.ClusterSpec{Name: "slow", Mode: "mixed",
		Tokens: []string{"alice", "bob"}, Providers: []string{"tftp://" + drip.Addr}})

	const timeout = 1500 * time.Millisecond
	o := opts
	o.Timeout = timeout
	var log labtest.SyncBuffer
	loop := &drift.Loop{
		Check: func(ctx context.Context) (*drift.Result, error) { return drift.Check(ctx, cfg, nil, o) },
		Log:   &log,
	}
	start := time.Now()
	r, _, err := loop.Once(context.Background())
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	// At 200 ms per block the drip would pass the phones' 64 KiB (128 blocks) only after
	// 25 s: only the whole-transfer deadline can have ended this tick so soon.
	if took > timeout+3*time.Second {
		t.Errorf("the tick took %s with --timeout %s: the slow server held it up", took, timeout)
	}
	by := map[string]*drift.ClusterResult{}
	for _, c := range r.Clusters {
		by[c.Name] = c
	}
	if hq := by["hq"]; hq == nil || hq.Error != "" || hq.Drift {
		t.Fatalf("hq was not reported in sync beside the slow cluster: %+v", hq)
	}
	slow := by["slow"]
	if slow == nil || !strings.Contains(slow.Error, "tftp://"+drip.Addr) || !strings.Contains(slow.Error, "not finished in") {
		t.Fatalf("the slow cluster's error does not name its server and the deadline: %+v", slow)
	}
	if drip.Blocks() < 2 {
		t.Errorf("the drip server sent %d blocks: the transfer never really started, the test proves nothing", drip.Blocks())
	}
	if l := log.String(); !strings.Contains(l, `"clusters":2`) || !strings.Contains(l, `"slow":"tftp://`+drip.Addr) {
		t.Errorf("the loop's log line does not report both clusters and name the slow server:\n%s", l)
	}
}
