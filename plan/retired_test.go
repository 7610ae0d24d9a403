package plan_test

import (
	"strings"
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

// TestScenarioSignWithChecked: a lab key's certificate that the installed CTL does not list
// cannot sign: the plan refuses it, naming the tokens that may (R19), instead of apply
// failing after its question and locks.
func TestScenarioSignWithChecked(t *testing.T) {
	l := installed(t, 1, hq("mixed", "alice", "bob"))
	for _, tc := range []struct {
		signer string
		refuse bool
	}{{"carol", true}, {"alice", false}} {
		cs := hq("mixed", "alice", "bob", "carol")
		cs.Extra = "    signWith: {software: {key: nokey.pem, certificate: " + l.Tokens[tc.signer].File + "}}\n"
		c := clusterOf(t, l.Plan(l.Spec(cs)), "hq")
		if tc.refuse {
			expect(t, c, 1, 0, 0, 0, true, "R19")
			if k := c.Refusals[0].Kind; k != plan.SignWithUntrusted || !strings.Contains(c.Refusals[0].Message(), "alice, bob") {
				t.Errorf("refusal %s: %s", k, c.Refusals[0].Message())
			}
		} else {
			expect(t, c, 1, 0, 0, 0, true)
		}
	}
}
