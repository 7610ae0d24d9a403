package plan_test

import (
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// expiring counts the plan's "expires soon" warnings.
func expiring(c *plan.Cluster) int {
	n := 0
	for _, w := range c.Warnings {
		if w.Kind == plan.CertificateExpiring {
			n++
		}
	}
	return n
}

// The plan warns with the cluster's window (spec expiryWarning or --expiry-window, in
// spec.Cluster.ExpiryWarning), not a fixed 30 days (issue 17): the lab's tokens end on
// 2045-01-01, and 45 days before it they warn within 60 days, not within 30 (the control).
func TestExpiryWindowToken(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 1})
	l.Now = time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC).Add(-45 * 24 * time.Hour)
	cfg := l.Spec(hq("mixed", "alice", "bob"))
	if w := cfg.Cluster("hq").ExpiryWarning; w != spec.DefaultExpiryWarning {
		t.Fatalf("loaded window %v, want the default", w)
	}
	tokens := func(c *plan.Cluster) int {
		n := 0
		for _, w := range c.Warnings {
			if w.Kind == plan.CertificateExpiring && w.Of != nil && w.Of.Token != "" {
				n++
			}
		}
		return n
	}
	if n := tokens(clusterOf(t, l.Plan(cfg), "hq")); n != 0 {
		t.Fatalf("30-day window: %d token expiry warnings, want 0", n)
	}
	cfg.Cluster("hq").ExpiryWarning = 60 * 24 * time.Hour
	if n := tokens(clusterOf(t, l.Plan(cfg), "hq")); n != 2 {
		t.Fatalf("60-day window: %d token expiry warnings, want 2 (alice, bob)", n)
	}
}

// A tokenless cluster's certificates warn with the cluster's window too: tokenlessLive's
// certificates end in 365 days.
func TestExpiryWindowTokenless(t *testing.T) {
	c := &spec.Cluster{Name: "metro", Signing: spec.SigningTokenless, Mode: spec.ModeMixed, ExpiryWarning: spec.DefaultExpiryWarning}
	now := time.Now()
	if n := expiring(plan.Build(c, tokenlessLive(t), now)); n != 0 {
		t.Fatalf("30-day window: %d expiry warnings, want 0", n)
	}
	c.ExpiryWarning = 400 * 24 * time.Hour
	p := plan.Build(c, tokenlessLive(t), now)
	if p.Error != "" {
		t.Fatal(p.Error)
	}
	if n := expiring(p); n != 4 {
		t.Fatalf("400-day window: %d expiry warnings, want 4 (mpub CallManager, CAPF, ITLRecovery; msub CallManager): %+v", n, p.Warnings)
	}
}

// cucm/tokenless cannot import spec (the pure layers' policy), so its default window, which
// the tokenless apply's evaluations fall back to, restates spec.DefaultExpiryWarning: one
// value, checked here, where both are in reach.
func TestTokenlessDefaultWindowIsTheSpecs(t *testing.T) {
	if tokenless.DefaultExpiryWarning != spec.DefaultExpiryWarning || plan.ExpiryWarning != spec.DefaultExpiryWarning {
		t.Errorf("default windows: tokenless %v, plan %v, spec %v", tokenless.DefaultExpiryWarning, plan.ExpiryWarning, spec.DefaultExpiryWarning)
	}
}
