package drift_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/internal/labtest"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
)

// TestHeldLocksShown: a lock left on one node (a dead apply, or a CTL client) is shown by the
// plan's views with its holder and lease, never its id, on that node only (the other node is
// the positive control), and a saved plan made without it is still the same plan (Compare):
// locks come and go while a plan waits for approval.
func TestHeldLocksShown(t *testing.T) {
	l := labtest.New(t, map[string]int{"hq": 2})
	cfg := l.Spec(labtest.Mixed("hq"))
	before := l.Plan(cfg)

	nodes := l.Clusters["hq"].Nodes()
	held := l.Clusters["hq"].Client(nodes[0].Name)
	ctx := context.Background()
	lk, err := held.Lock(ctx, provider.LockRequest{User: "bob", Host: "pc2", Operation: "ctl client", Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer held.ReleaseLock(ctx, lk.ID)

	p := l.Plan(cfg)
	locked := 0
	for _, ts := range p.Clusters[0].Targets {
		if ts.Lock != nil {
			locked++
			if ts.Lock.Holder != "bob@pc2" || ts.Lock.Operation != "ctl client" || ts.Lock.Expired {
				t.Errorf("lock on %s: %+v", ts.Server, ts.Lock)
			}
		}
	}
	if locked != 1 {
		t.Fatalf("%d servers show a lock, want the one locked", locked)
	}
	var text, md, js bytes.Buffer
	if err := p.WriteText(&text, plan.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteMarkdown(&md, plan.MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	// the markdown view breaks @ with a zero-width space, so that GitHub pings nobody
	mdPlain := strings.ReplaceAll(md.String(), "\u200b", "")
	for name, out := range map[string]string{"text": text.String(), "markdown": mdPlain, "json": js.String()} {
		if !strings.Contains(out, "bob@pc2") {
			t.Errorf("%s view does not show the lock:\n%s", name, out)
		}
		if strings.Contains(out, lk.ID) {
			t.Errorf("%s view shows the lock id", name)
		}
	}
	// drift names it as a warning, not as drift.
	r, err := drift.Check(ctx, cfg, nil, drift.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var dt bytes.Buffer
	if err := r.WriteText(&dt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dt.String(), "warning: server "+nodes[0].Name+": update lock held by bob@pc2") || strings.Contains(dt.String(), lk.ID) {
		t.Errorf("drift does not show the lock (or shows its id):\n%s", dt.String())
	}
	if d := plan.Compare(before, p); len(d) != 0 {
		t.Errorf("a held lock made the plan another plan: %v", d)
	}
}
