package apply_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/token"
)

func hq(mode string, toks ...string) cs { return cs{name: "hq", mode: mode, tokens: toks} }

// TestFirstCTL: a cluster without a CTL gets one signed by a declared token, on every node,
// in mixed mode; the next plan is empty and the audit log has one line.
func TestFirstCTL(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	res := l.mustApply(cfg, "alice")
	f := l.checkServed("hq", "alice")
	if len(f.Records) != 4 {
		t.Errorf("%d records, want 2 SAST + 2 CCM+TFTP", len(f.Records))
	}
	for _, n := range l.clusters["hq"].Nodes() {
		if m := l.nodeMode("hq", n.Name); m != "mixed" {
			t.Errorf("node %s mode %s, want mixed (R10)", n.Name, m)
		}
	}
	l.noChanges(cfg)
	l.unlocked("hq")
	if res.Signer == nil || res.Signer.CertificateSHA256 != ctl.Fingerprint(tokens["alice"].Cert.Raw) {
		t.Errorf("result signer %+v", res.Signer)
	}
	for _, c := range res.Clusters {
		for _, tg := range c.Targets {
			if tg.Status != "updated" || tg.Holds != c.Digest || tg.Before != "" {
				t.Errorf("target %+v, want updated from nothing to %s", tg, c.Digest)
			}
		}
	}
	lines := l.auditLines()
	if len(lines) != 1 {
		t.Fatalf("%d audit lines, want 1", len(lines))
	}
	a := lines[0]
	if a.Result != "applied" || a.User != "tester" || a.Host != "testhost" || a.PlanDigest != res.Plan.Digest() ||
		strings.Join(a.Clusters, ",") != "hq" || a.Signer == nil || a.Signer.Serial != ctl.SerialHex(tokens["alice"].Cert.SerialNumber.Bytes()) ||
		len(a.Details) != 1 || len(a.Details[0].Targets) != 2 || a.Details[0].Mode != "mixed" {
		t.Errorf("audit entry %+v", a)
	}
	// Nothing to do: exit 0 without a question, a lock or an audit line.
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.AutoApprove, o.OpenSigner = false, nil
	res, text, err := l.run(o)
	if err != nil || !res.NoChanges || !strings.Contains(text, "No changes") {
		t.Errorf("second apply: %v, %+v\n%s", err, res, text)
	}
	if n := len(l.auditLines()); n != 1 {
		t.Errorf("%d audit lines after a no-op apply, want 1", n)
	}
}

// TestTokensAddedAndRemoved: a token joins (signed by one phones trust), then the first token
// leaves and the file is signed by another trusted token (R15, R16, R19).
func TestTokensAddedAndRemoved(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	l.mustApply(l.spec(hq("mixed", "alice", "bob")), "alice")

	cfg := l.spec(hq("mixed", "alice", "bob", "carol"))
	l.mustApply(cfg, "alice")
	f := l.checkServed("hq", "alice")
	if !token.IsSAST(f, tokens["carol"].Cert) {
		t.Error("carol is not a SAST record after being added")
	}
	l.noChanges(cfg)

	// alice signed the installed file: retiring her is said in the spec (retiredTokens), or the
	// file she signed is refused as signed by an unknown key (R19).
	if _, _, err := l.run(l.opts(l.spec(hq("mixed", "bob", "carol")), "carol", &bytes.Buffer{})); err == nil || !strings.Contains(err.Error(), "retiredTokens") {
		t.Fatalf("retiring the signer without saying so: %v", err)
	}
	retiring := hq("mixed", "bob", "carol")
	retiring.extra = "    retiredTokens: [{name: alice, certificate: alice.pem}]\n"
	cfg = l.spec(retiring)
	l.mustApply(cfg, "carol")
	f = l.checkServed("hq", "carol")
	if token.IsSAST(f, tokens["alice"].Cert) || !token.IsSAST(f, tokens["bob"].Cert) {
		t.Error("alice still present or bob gone after removing alice")
	}
	l.noChanges(cfg)
	if n := len(l.auditLines()); n != 3 {
		t.Errorf("%d audit lines, want 3", n)
	}
}

// TestModeChangeBothWays: mixed → non-secure keeps the file without certificates (R12) and sets
// the mode on every node (R10, R11); back to mixed restores them.
func TestModeChangeBothWays(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	l.mustApply(l.spec(hq("mixed", "alice", "bob")), "alice")

	cfg := l.spec(hq("non-secure", "alice", "bob"))
	l.mustApply(cfg, "bob")
	f := l.checkServed("hq", "bob")
	for _, r := range f.Records {
		if r.Role != ctl.RoleSAST && r.Certificate != nil {
			t.Errorf("record %s %s keeps a certificate in non-secure mode (R12)", r.Role, r.DNSName)
		}
	}
	for _, n := range l.clusters["hq"].Nodes() {
		if m := l.nodeMode("hq", n.Name); m != "non-secure" {
			t.Errorf("node %s mode %s, want non-secure", n.Name, m)
		}
	}
	l.noChanges(cfg)

	cfg = l.spec(hq("mixed", "alice", "bob"))
	l.mustApply(cfg, "alice")
	f = l.checkServed("hq", "alice")
	for _, r := range f.Records {
		if r.Certificate == nil {
			t.Errorf("record %s %s has no certificate in mixed mode", r.Role, r.DNSName)
		}
	}
	for _, n := range l.clusters["hq"].Nodes() {
		if m := l.nodeMode("hq", n.Name); m != "mixed" {
			t.Errorf("node %s mode %s, want mixed", n.Name, m)
		}
	}
	l.noChanges(cfg)
}

// TestIPChangeAfterDrift: a node's new address reaches the file (R22).
func TestIPChangeAfterDrift(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	l.mustApply(cfg, "alice")
	node := l.clusters["hq"].Nodes()[1].Name
	l.clusters["hq"].ChangeIP(node, "192.0.2.77")
	if p := l.plan(cfg); !p.HasChanges() {
		t.Fatal("the plan does not see the IP change")
	}
	l.mustApply(cfg, "bob")
	f := l.checkServed("hq", "bob")
	found := false
	for _, r := range f.Records {
		found = found || r.IPAddress.String() == "192.0.2.77"
	}
	if !found {
		t.Errorf("no record carries the new IP:\n%s", f.Text())
	}
	l.noChanges(cfg)
}

// TestAlternateAcrossClusters: branch's node keeps hq's CTL in its alternate location (R4,
// R17) while serving branch's own file.
func TestAlternateAcrossClusters(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2, "branch": 1})
	branch := cs{name: "branch", mode: "mixed", tokens: []string{"alice", "bob"}}
	hqs := cs{name: "hq", mode: "mixed", tokens: []string{"alice", "bob"}, alternates: []string{"branch"}}
	// R17: the alternate's cluster must already run the same mode, so branch goes first.
	l.mustApply(l.spec(branch, hqs), "bob", "branch")
	cfg := l.spec(branch, hqs)
	res := l.mustApply(cfg, "alice", "hq")
	l.checkServed("branch", "bob")
	hqFile := l.checkServed("hq", "alice")
	br := l.clusters["branch"]
	alt := br.Nodes()[0]
	opts := br.Options()
	opts.Location = "hq"
	c, err := provider.NewClient(alt.Addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := c.CTL(context.Background())
	if err != nil {
		t.Fatalf("alternate location: %v", err)
	}
	want, _ := hqFile.Marshal()
	if !bytes.Equal(data, want) {
		t.Error("the alternate location does not hold hq's file")
	}
	alternates := 0
	for _, tg := range res.Clusters[0].Targets {
		if tg.Alternate {
			alternates++
			if tg.Status != "updated" {
				t.Errorf("alternate target %+v", tg)
			}
		}
	}
	if alternates != 1 {
		t.Errorf("%d alternate targets, want 1", alternates)
	}
	if m := l.nodeMode("branch", alt.Name); m != "mixed" {
		t.Errorf("branch node mode %s", m)
	}
	l.noChanges(cfg)
	l.unlocked("branch")
}

// TestQuestions: without --auto-approve the question is asked; "no" declines, and nobody to ask
// is an error naming --auto-approve. Refused plans and suspended clusters are not applied.
func TestQuestions(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 1})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.AutoApprove = false
	var asked string
	o.Confirm = func(prompt string) (bool, error) { asked = prompt; return false, nil }
	if _, _, err := l.run(o); !errors.Is(err, apply.ErrDeclined) || !strings.Contains(asked, `Type "yes" to apply`) {
		t.Errorf("err %v, prompt %q", err, asked)
	}
	o.Confirm = nil
	if _, _, err := l.run(o); !errors.Is(err, apply.ErrInputNeeded) || !strings.Contains(err.Error(), "--auto-approve") {
		t.Errorf("err %v", err)
	}
	for n, d := range l.digests("hq") {
		if d != "" {
			t.Errorf("node %s written without confirmation", n)
		}
	}

	for _, c := range []cs{{name: "hq", mode: "mixed", tokens: []string{"alice", "bob"}, extra: "    expectServers:\n      - {host: nosuch}\n"}, {name: "hq", mode: "mixed", tokens: []string{"alice", "bob"}, extra: "    suspend: true\n"}} {
		out.Reset()
		o := l.opts(l.spec(c), "alice", &out)
		_, _, err := l.run(o)
		if err == nil || !(strings.Contains(err.Error(), "nosuch") || strings.Contains(err.Error(), "suspend")) {
			t.Errorf("err %v, want a refusal", err)
		}
	}
	out.Reset()
	o = l.opts(cfg, "alice", &out)
	o.AutoApprove = false
	o.Confirm = func(string) (bool, error) { return true, nil }
	if _, text, err := l.run(o); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	l.checkServed("hq", "alice")
}

// TestRestartServices: --restart-services restarts CallManager and TFTP on every server that
// runs them (R23), as the nodes' own audit logs show; without it the steps are printed.
func TestRestartServices(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.RestartServices = true
	res, text, err := l.run(o)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if r := res.Clusters[0].Restarted; len(r) != 2 {
		t.Errorf("restarted %v, want both nodes", r)
	}
	// Every TFTP restart comes before the first CallManager restart, across the nodes (R23).
	var order []string
	var lastTFTP, firstCCM time.Time
	for _, n := range l.clusters["hq"].Nodes() {
		entries, err := n.Server.Audit()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Op != "restart" || e.Result != "ok" {
				continue
			}
			order = append(order, n.Name+" "+e.Details["services"])
			switch e.Details["services"] {
			case "tftp":
				if e.Time.After(lastTFTP) {
					lastTFTP = e.Time
				}
			case "callmanager":
				if firstCCM.IsZero() || e.Time.Before(firstCCM) {
					firstCCM = e.Time
				}
			}
		}
	}
	if lastTFTP.IsZero() || firstCCM.IsZero() || lastTFTP.After(firstCCM) {
		t.Errorf("restarts %v: want TFTP on every node before CallManager on any", order)
	}
	for _, n := range l.clusters["hq"].Nodes() {
		entries, err := n.Server.Audit()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range entries {
			found = found || (e.Op == "restart" && e.Result == "ok")
		}
		if !found {
			t.Errorf("node %s recorded no restart", n.Name)
		}
	}
	_, report, _ := strings.Cut(text, "Taking the update lock")
	if strings.Contains(report, "Restart Cisco") || !strings.Contains(report, "Reset every device") {
		t.Errorf("next steps after restarting:\n%s", text)
	}

	l.clusters["hq"].ChangeIP(l.clusters["hq"].Nodes()[0].Name, "192.0.2.66")
	out.Reset()
	_, text, err = l.run(l.opts(cfg, "alice", &out))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Next:\n    1. Restart Cisco TFTP on") || !strings.Contains(text, "\n    2. Restart Cisco CallManager on") {
		t.Errorf("without --restart-services the restarts are not printed as next steps:\n%s", text)
	}
}
