package drift_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/internal/labtest"
	"github.com/ctlops/ctlops/spec"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var opts = drift.Options{Parallelism: 8, Timeout: 5 * time.Second, Retries: -1, Version: "test"}

func check(t *testing.T, cfg *spec.Config) *drift.Result {
	t.Helper()
	r, err := drift.Check(context.Background(), cfg, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// installedLab runs hq with nodes nodes and a CTL signed by alice installed: no drift.
func installedLab(t *testing.T, nodes int) (*labtest.Lab, *spec.Config) {
	t.Helper()
	l := labtest.New(t, map[string]int{"hq": nodes})
	cfg := l.Spec(labtest.Mixed("hq"))
	l.InstallAll(l.Plan(cfg), "alice")
	return l, cfg
}

func reasons(c *drift.ClusterResult) string { return strings.Join(c.Reasons, "\n") }
