package plan_test

import (
	"testing"

	"github.com/ctlops/ctlops/plan"
)

// TestScenarioClusterUnknownSigner: a whole cluster whose CTL is signed by a token the spec
// does not declare gets the tampering refusal one server's file gets, not a warning, unless
// the spec acknowledges that token under retiredTokens (the token being retired).
func TestScenarioClusterUnknownSigner(t *testing.T) {
	// The installed file is signed by alice and lists alice, bob, carol.
	l := installed(t, 2, hq("mixed", "alice", "bob", "carol"))

	// alice is retired without saying so: refused.
	p := l.Plan(l.Spec(hq("mixed", "bob", "carol")))
	c := clusterOf(t, p, "hq")
	expect(t, c, 0, 0, 0, 1, true, "R19")
	if c.Refusals[0].Kind != plan.ClusterUnknownSigner {
		t.Fatalf("refusal %+v, want %s", c.Refusals[0], plan.ClusterUnknownSigner)
	}

	// Acknowledged: the plan goes ahead, with the warning that another token must sign.
	cs := hq("mixed", "bob", "carol")
	cs.Extra = "    retiredTokens:\n      - {name: alice, certificate: " + l.Tokens["alice"].File + "}\n"
	p = l.Plan(l.Spec(cs))
	c = clusterOf(t, p, "hq")
	expect(t, c, 0, 0, 0, 1, true)
	if !hasWarning(c, "which this plan removes") {
		t.Errorf("no signer-removed warning: %+v", c.Warnings)
	}
	// The positive control: a file signed by a declared token is not refused.
	expect(t, clusterOf(t, l.Plan(l.Spec(hq("mixed", "alice", "bob", "carol"))), "hq"), 0, 0, 0, 0, false)
}
