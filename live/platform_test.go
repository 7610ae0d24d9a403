package live

import (
	"context"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/adapter"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/lab/cucmsim/cucmsimtest"
	"github.com/ctlops/ctlops/spec"
)

// TestPlatformTargetFromSpec: a tokenless cluster declared in YAML reaches the simulated
// CUCM and plans set-cluster mixed-mode; the password comes from the environment.
func TestPlatformTargetFromSpec(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", false)
	cfg := cucmsimtest.Spec(t, sim, "mixed")
	tg, err := PlatformCluster(cfg.Cluster("metro"), 2)
	if err != nil {
		t.Fatal(err)
	}
	tg.SSH = platform.Config{StartupTimeout: 10 * time.Second, CommandTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := adapter.NewPool(tg)
	defer p.Close()
	st, err := adapter.Read(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := adapter.Evaluate(st, cfg.Cluster("metro").Mode == spec.ModeMixed, time.Now(), cfg.Cluster("metro").ExpiryWarning)
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != platform.SetMixedMode {
		t.Fatalf("action %q, want set-cluster mixed-mode", c.Action)
	}
}
