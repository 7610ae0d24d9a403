package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/plan"
)

func hq(mode string, tokens ...string) clusterSpec {
	return clusterSpec{Name: "hq", Mode: mode, Tokens: tokens}
}

// expect checks a cluster's summary counts, refusal rules and whether it has changes.
func expect(t *testing.T, c *plan.Cluster, add, refresh, replace, remove int, changes bool, refusedBy ...string) {
	t.Helper()
	s := c.Summary
	if s.Add != add || s.Refresh != refresh || s.Replace != replace || s.Remove != remove || s.Changes != changes {
		t.Errorf("summary %+v, want add %d refresh %d replace %d remove %d changes %v\n%s", s, add, refresh, replace, remove, changes, c.SummaryLine())
	}
	var rules []string
	for _, r := range c.Refusals {
		rules = append(rules, r.Rule)
	}
	if strings.Join(rules, ",") != strings.Join(refusedBy, ",") {
		t.Errorf("refusals %v, want rules %v: %+v", rules, refusedBy, c.Refusals)
	}
}

// installed starts hq with a CTL made from spec cs and signed by alice, in mixed mode.
func installed(t *testing.T, nodes int, cs clusterSpec) *lab {
	t.Helper()
	l := newLab(t, map[string]int{"hq": nodes})
	l.Install(clusterOf(t, l.Plan(l.Spec(cs)), "hq"), "alice")
	return l
}

func TestScenarioFirstCTL(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	c := clusterOf(t, p, "hq")
	expect(t, c, 4, 0, 0, 0, true)
	if !c.Mode.Changed || c.Mode.From != "non-secure" || c.Live.Digest != "" || len(c.Signers) != 2 {
		t.Errorf("mode %+v, live %+v, signers %d", c.Mode, c.Live, len(c.Signers))
	}
	for _, tg := range c.Targets {
		if tg.Status != "missing" {
			t.Errorf("target %s status %s", tg.Server, tg.Status)
		}
	}
	goldenAll(t, "first-ctl", p)
}

func TestScenarioNoChange(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	c := clusterOf(t, p, "hq")
	expect(t, c, 0, 0, 0, 0, false)
	if p.HasChanges() || c.Desired != nil || c.Summary.Unchanged != 4 {
		t.Errorf("has changes %v, desired %v, unchanged %d", p.HasChanges(), c.Desired != nil, c.Summary.Unchanged)
	}
	goldenAll(t, "no-change", p)
}

func TestScenarioAddToken(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob", "carol")))
	c := clusterOf(t, p, "hq")
	expect(t, c, 1, 0, 0, 0, true)
	if a := c.Actions[0]; a.Action != plan.Create || !strings.Contains(a.Record, "SAST-carol") {
		t.Errorf("action %+v", a)
	}
	if len(c.Signers) != 2 {
		t.Errorf("signers %+v: carol is not trusted yet (R19)", c.Signers)
	}
	goldenAll(t, "add-token", p)
}

func TestScenarioRemoveToken(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob", "carol"))
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	c := clusterOf(t, p, "hq")
	expect(t, c, 0, 0, 0, 1, true)
	if !hasWarning(c, "only two tokens") {
		t.Errorf("no warning about two tokens left: %+v", c.Warnings)
	}
	goldenAll(t, "remove-token", p)
}

func TestScenarioRemoveToOneRefused(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	// The spec refuses one token with its line (R16); the planner refuses it on its own too,
	// for specs built in code.
	if _, err := l.TrySpec(hq("mixed", "alice")); err == nil || !strings.Contains(err.Error(), "R16") || !strings.Contains(err.Error(), "ctlops.yaml:") {
		t.Fatalf("spec error %v, want R16 with its position", err)
	}
	cfg := l.Spec(hq("mixed", "alice", "bob"))
	cfg.Clusters[0].Tokens = cfg.Clusters[0].Tokens[:1]
	p := l.Plan(cfg)
	c := clusterOf(t, p, "hq")
	expect(t, c, 0, 0, 0, 1, true, "R16")
	if !p.Failed() {
		t.Error("plan not failed")
	}
	goldenAll(t, "remove-to-one", p)
}

func TestScenarioUntrustedTokensRefused(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	p := l.Plan(l.Spec(hq("mixed", "carol", "dave")))
	// R19, then which phone models would refuse (phones_test.go).
	expect(t, clusterOf(t, p, "hq"), 2, 0, 0, 2, true, "R19", "R19", "P17", "P15", "P15")
}

func TestScenarioMixedToNonSecureAndBack(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	p := l.Plan(l.Spec(hq("non-secure", "alice", "bob")))
	c := clusterOf(t, p, "hq")
	expect(t, c, 0, 2, 0, 0, true)
	if !c.Mode.Changed || c.Mode.To != "non-secure" {
		t.Errorf("mode %+v", c.Mode)
	}
	for _, a := range c.Actions {
		if !strings.Contains(a.Reason.String(), "R12") {
			t.Errorf("refresh reason %q does not cite R12", a.Reason)
		}
	}
	goldenAll(t, "mixed-to-non-secure", p)

	l.Install(clusterOf(t, p, "hq"), "alice")
	back := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	c = clusterOf(t, back, "hq")
	expect(t, c, 0, 2, 0, 0, true)
	if !c.Mode.Changed || c.Mode.From != "non-secure" || !strings.Contains(fmt.Sprint(c.Notes), "R11") {
		t.Errorf("mode %+v notes %v", c.Mode, c.Notes)
	}
	goldenAll(t, "non-secure-to-mixed", back)
}

func TestScenarioNodeAdded(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	l.Clusters["hq"].AddNode()
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	c := clusterOf(t, p, "hq")
	expect(t, c, 1, 0, 0, 0, true)
	if missing := countStatus(c, "missing"); missing != 1 {
		t.Errorf("%d targets missing a file, want the new node", missing)
	}
	goldenAll(t, "node-added", p)
}

func TestScenarioIPChanged(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	l.Clusters["hq"].ChangeIP("cm2", "127.0.0.42")
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	c := clusterOf(t, p, "hq")
	expect(t, c, 0, 1, 0, 0, true)
	if a := c.Actions[0]; !strings.Contains(a.Reason.String(), "127.0.0.42") || a.Reason.Rule != "R22" {
		t.Errorf("action %+v", a)
	}
	goldenAll(t, "ip-changed", p)
}

func TestScenarioCertRegenerated(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	l.Clusters["hq"].RegenCert("cm1")
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	c := clusterOf(t, p, "hq")
	expect(t, c, 0, 1, 0, 0, true)
	if a := c.Actions[0]; !strings.Contains(a.Reason.String(), "certificate") {
		t.Errorf("action %+v", a)
	}
	goldenAll(t, "cert-regenerated", p)
}

func TestScenarioCAPFEnabled(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	l.Clusters["hq"].EnableCAPF()
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	c := clusterOf(t, p, "hq")
	expect(t, c, 1, 0, 0, 0, true)
	if a := c.Actions[0]; a.After == nil || a.After.Role != ctl.RoleCAPF.String() {
		t.Errorf("action %+v", a)
	}
	goldenAll(t, "capf-enabled", p)
}

func TestScenarioAlternateTFTP(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2, "branch": 1})
	branch := clusterSpec{Name: "branch", Mode: "mixed", Tokens: []string{"alice", "carol"}}
	withAlt := clusterSpec{Name: "hq", Mode: "mixed", Tokens: []string{"alice", "bob"}, Alternates: []string{"branch"}}
	// Both clusters mixed (R17), hq's CTL installed without the alternate.
	first := l.Plan(l.Spec(hq("mixed", "alice", "bob"), branch))
	l.Install(clusterOf(t, first, "branch"), "alice")
	l.Install(clusterOf(t, first, "hq"), "alice")

	added := l.Plan(l.Spec(withAlt, branch), "hq")
	c := clusterOf(t, added, "hq")
	expect(t, c, 1, 0, 0, 0, true)
	if countStatus(c, "missing") != 1 {
		t.Errorf("the alternate location should hold no file yet: %+v", c.Targets)
	}
	goldenAll(t, "alternate-added", added)

	l.Install(clusterOf(t, added, "hq"), "alice")
	l.Clusters["branch"].RegenCert("cm1")
	replaced := l.Plan(l.Spec(withAlt, branch), "hq")
	c = clusterOf(t, replaced, "hq")
	expect(t, c, 0, 0, 1, 0, true)
	if a := c.Actions[0]; a.Action != plan.Replace || a.Reason.Rule != "R18" {
		t.Errorf("action %+v", a)
	}
	goldenAll(t, "alternate-replaced", replaced)

	removed := l.Plan(l.Spec(hq("mixed", "alice", "bob"), branch), "hq")
	expect(t, clusterOf(t, removed, "hq"), 0, 0, 0, 1, true)
	goldenAll(t, "alternate-removed", removed)
}

func TestScenarioAlternateModeMismatch(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 1, "branch": 1})
	// branch is declared mixed but still runs non-secure: its own plan sets the mode, so hq's
	// plan only warns (R17).
	cfg := l.Spec(clusterSpec{Name: "hq", Mode: "mixed", Tokens: []string{"alice", "bob"}, Alternates: []string{"branch"}},
		clusterSpec{Name: "branch", Mode: "mixed", Tokens: []string{"alice", "bob"}})
	p := l.Plan(cfg, "hq")
	c := clusterOf(t, p, "hq")
	expect(t, c, 4, 0, 0, 0, true)
	if !hasWarning(c, "still runs non-secure") {
		t.Errorf("warnings %+v", c.Warnings)
	}
	// A branch declared in another mode (a spec built in code, past the loader's own R17
	// check) is never brought in line: refused.
	cfg.Clusters[1].Mode = "non-secure"
	p = l.Plan(cfg, "hq")
	expect(t, clusterOf(t, p, "hq"), 4, 0, 0, 0, true, "R17")
	goldenAll(t, "alternate-r17", p)
}

func TestScenarioServerHoldsOtherFile(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	// A validly signed file pushed behind ctlops' back: signed by bob, a trusted token.
	other := l.Plan(l.Spec(hq("mixed", "alice", "bob", "carol")))
	data := signDesired(t, l, other, "hq", "bob")
	l.Clusters["hq"].PutCTL("cm2", data)
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	c := clusterOf(t, p, "hq")
	expect(t, c, 0, 0, 0, 0, true)
	if c.Summary.Sync != 1 || countStatus(c, "differs") != 1 {
		t.Errorf("sync %d, targets %+v", c.Summary.Sync, c.Targets)
	}
	goldenAll(t, "server-differs", p)
}

func TestScenarioTamperedRefused(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	l.Clusters["hq"].Tamper("cm2", 600)
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	c := clusterOf(t, p, "hq")
	if len(c.Refusals) != 1 || !strings.Contains(c.Refusals[0].Message(), "cm2") || !strings.Contains(c.Refusals[0].Message(), "tampering") {
		t.Fatalf("refusals %+v", c.Refusals)
	}
	goldenAll(t, "tampered", p)
}

func TestScenarioUnknownSignerRefused(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	rogue := l.Plan(l.Spec(hq("mixed", "erin", "dave")))
	l.Clusters["hq"].PutCTL("cm1", signDesired(t, l, rogue, "hq", "erin"))
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	c := clusterOf(t, p, "hq")
	if len(c.Refusals) != 1 || !strings.Contains(c.Refusals[0].Message(), "neither a SAST record") {
		t.Fatalf("refusals %+v", c.Refusals)
	}
}

func TestScenarioServerDown(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2, "branch": 1})
	cfg := l.Spec(hq("mixed", "alice", "bob"), clusterSpec{Name: "branch", Mode: "mixed", Tokens: []string{"alice", "bob"}})
	l.Clusters["hq"].Node("cm2").Stop()
	p := l.Plan(cfg)
	c := clusterOf(t, p, "hq")
	if c.Error == "" || !strings.Contains(c.Error, "cm2") && !strings.Contains(c.Error, l.Clusters["hq"].Node("cm2").Addr) {
		t.Fatalf("hq error %q does not name the server that is down", c.Error)
	}
	if b := clusterOf(t, p, "branch"); b.Error != "" || !b.Summary.Changes {
		t.Errorf("branch was not planned: %+v", b)
	}
	if !p.Failed() {
		t.Error("plan not failed")
	}
	goldenAll(t, "server-down", p)
}

func signDesired(t *testing.T, l *lab, p *plan.Plan, cluster, signer string) []byte {
	t.Helper()
	return l.Sign(clusterOf(t, p, cluster).Desired.Data, signer)
}

func hasWarning(c *plan.Cluster, s string) bool {
	for _, w := range c.Warnings {
		if strings.Contains(w.Message(), s) {
			return true
		}
	}
	return false
}

func countStatus(c *plan.Cluster, status plan.TargetStatus) int {
	n := 0
	for _, t := range c.Targets {
		if t.Status == status {
			n++
		}
	}
	return n
}
