package apply_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/token"
)

// TestReplaceTamperedNode: a node whose file fails its check refuses the plan; --replace
// NODE turns that refusal into a replace action, the apply writes the cluster's file there
// (with the providers' R19 override) and the audit line records it. A saved plan made
// without --replace is another plan, and a name that is no node is an error.
func TestReplaceTamperedNode(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	l.mustApply(cfg, "alice")
	bad := l.clusters["hq"].Nodes()[1].Name
	l.clusters["hq"].Tamper(bad, 600)
	before := l.digests("hq")

	var out bytes.Buffer
	_, text, err := l.run(l.opts(cfg, "alice", &out))
	var se *apply.SkipError
	if !errors.As(err, &se) || len(se.Applied) != 0 || !strings.Contains(err.Error(), "fails its own check") {
		t.Fatalf("without --replace: %v\n%s", err, text)
	}

	// A plan saved without --replace cannot be applied with it.
	saved := l.plan(cfg)
	path := filepath.Join(l.dir, "plain.plan")
	if err := saved.Save(path); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	o := l.opts(cfg, "alice", &out)
	o.PlanFile, o.Replace = path, []string{bad}
	var stale *apply.StaleError
	if _, text, err := l.run(o); !errors.As(err, &stale) || !strings.Contains(err.Error(), "refusals") {
		t.Fatalf("saved plan without --replace applied with it: %v\n%s", err, text)
	}

	out.Reset()
	o = l.opts(cfg, "alice", &out)
	o.Replace = []string{"nosuch"}
	if _, _, err := l.run(o); err == nil || !strings.Contains(err.Error(), `--replace nosuch: no server`) {
		t.Fatalf("unknown node: %v", err)
	}
	if after := l.digests("hq"); !equalMaps(before, after) {
		t.Fatalf("refused applies changed servers: %v → %v", before, after)
	}

	// The plan shows the action, typed, with the refusal it replaces.
	p, err := live.Plan(t.Context(), cfg, nil, live.Options{Plan: plan.Inputs{Replace: []string{"hq/" + bad}}}, "test", saved.Created)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Clusters[0]
	if len(c.Refusals) != 0 || len(c.NodeActions) != 1 || c.NodeActions[0].Kind != plan.ReplaceFile ||
		c.NodeActions[0].Server != bad || c.NodeActions[0].Because.Kind != plan.FileFailsCheck || c.Summary.ReplaceNodes != 1 {
		t.Fatalf("plan with --replace: refusals %+v, node actions %+v", c.Refusals, c.NodeActions)
	}
	var b bytes.Buffer
	if err := p.WriteText(&b, plan.TextOptions{}); err != nil || !strings.Contains(b.String(), "!  replace-file "+bad) {
		t.Errorf("text view:\n%s", b.String())
	}

	// The plan made with --replace, saved, applies with the same --replace.
	withReplace := filepath.Join(l.dir, "replace.plan")
	if err := p.Save(withReplace); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	o = l.opts(cfg, "alice", &out)
	o.PlanFile, o.Replace = withReplace, []string{"hq/" + bad}
	if _, text, err := l.run(o); err != nil {
		t.Fatalf("apply --replace PLANFILE: %v\n%s", err, text)
	}
	l.checkServed("hq", "alice")
	l.noChanges(cfg)
	l.unlocked("hq")
	a := l.auditLines()
	last := a[len(a)-1]
	if last.Result != "applied" || len(last.Replaced) != 1 || !strings.Contains(last.Replaced[0], "hq/"+bad) || !strings.Contains(last.Replaced[0], "fails its own check") {
		t.Errorf("audit line %+v", last)
	}
}

// TestFleetSkipsBadCluster: one refused and one suspended cluster no longer hold up the
// fleet: the good cluster is applied, the others are named with their reasons before the
// question and in the error (a *SkipError); --cluster with a saved plan applies that subset.
func TestFleetSkipsBadCluster(t *testing.T) {
	l := newLab(t, map[string]int{"a": 1, "b": 1, "c": 1})
	good := cs{name: "a", mode: "mixed", tokens: []string{"alice", "bob"}}
	refused := cs{name: "b", mode: "mixed", tokens: []string{"alice", "bob"}, extra: "    expectServers:\n      - {host: nosuch}\n"}
	suspended := cs{name: "c", mode: "mixed", tokens: []string{"alice", "bob"}, extra: "    suspend: true\n"}
	cfg := l.spec(good, refused, suspended)
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.AutoApprove = false
	var asked string
	o.Confirm = func(p string) (bool, error) { asked = out.String() + p; return true, nil }
	res, text, err := l.run(o)
	var se *apply.SkipError
	if !errors.As(err, &se) || strings.Join(se.Applied, ",") != "a" || len(se.Skipped) != 2 ||
		!strings.Contains(err.Error(), "nosuch") || !strings.Contains(err.Error(), "suspend") {
		t.Fatalf("err %v\n%s", err, text)
	}
	if !strings.Contains(asked, "Not applied: 2 cluster(s)") || !strings.Contains(asked, "server of a.") && !strings.Contains(asked, "every server of a.") {
		t.Errorf("before the question:\n%s", asked)
	}
	if len(res.Clusters) != 1 || res.Clusters[0].Name != "a" {
		t.Errorf("applied %+v", res.Clusters)
	}
	l.checkServed("a", "alice")
	for _, name := range []string{"b", "c"} {
		for n, d := range l.digests(name) {
			if d != "" {
				t.Errorf("skipped cluster %s: node %s written", name, n)
			}
		}
	}
	last := l.auditLines()[0]
	if last.Result != "applied" || len(last.Skipped) != 2 || last.Skipped[0].Cluster != "b" {
		t.Errorf("audit %+v", last)
	}

	// A saved plan of the fleet, applied one cluster at a time.
	cfg = l.spec(good, cs{name: "b", mode: "mixed", tokens: []string{"alice", "bob"}}, suspended)
	p := l.plan(cfg)
	path := filepath.Join(l.dir, "fleet.plan")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	o = l.opts(cfg, "alice", &out)
	o.PlanFile, o.Clusters = path, []string{"b"}
	if _, text, err := l.run(o); err != nil {
		t.Fatalf("--cluster b of a saved plan: %v\n%s", err, text)
	}
	l.checkServed("b", "alice")
	o.Clusters = []string{"zz"}
	if _, _, err := l.run(o); err == nil || !strings.Contains(err.Error(), "--cluster zz") {
		t.Errorf("unknown cluster of a saved plan: %v", err)
	}
}

// TestSavedPlanRepeatsWarnings: whoever types "yes" to a saved plan hears its warnings
// again, before the question.
func TestSavedPlanRepeatsWarnings(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 1})
	l.mustApply(l.spec(hq("mixed", "alice", "bob")), "alice")
	cfg := l.spec(hq("mixed", "alice", "bob", "carol", "mallory", "dave"))
	p := l.plan(cfg)
	if len(p.Clusters[0].Warnings) == 0 {
		t.Fatal("the plan has no warning: the test would prove nothing")
	}
	path := filepath.Join(l.dir, "grow.plan")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.PlanFile, o.AutoApprove = path, false
	var before string
	o.Confirm = func(string) (bool, error) { before = out.String(); return false, nil }
	if _, _, err := l.run(o); !errors.Is(err, apply.ErrDeclined) {
		t.Fatalf("err %v", err)
	}
	want := p.Clusters[0].Warnings[0].Message()
	if !strings.Contains(before, "Warnings of the plan:") || !strings.Contains(before, want) {
		t.Errorf("the warnings are not repeated before the question (want %q):\n%s", want, before)
	}
}

// TestSignerPreview: before the question apply says which inserted token will be asked for;
// the token that signed the installed file, being retired, is refused there (it used to be
// an R19 error after "yes", the locks and the PIN), with the tokens that would do.
func TestSignerPreview(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	l.mustApply(l.spec(hq("mixed", "alice", "bob")), "alice")
	l.mustApply(l.spec(hq("mixed", "alice", "bob", "carol")), "alice")
	retiring := hq("mixed", "bob", "carol")
	retiring.extra = "    retiredTokens: [{name: alice, certificate: alice.pem}]\n"
	cfg := l.spec(retiring)
	before := l.digests("hq")

	try := func(label string) (asked bool, text string, err error) {
		var out bytes.Buffer
		o := l.opts(cfg, label, &out)
		tok := apply.TokenOptions{Label: label, PINFile: l.pinFile(tokens[label].PIN)}
		o.OpenSigner, o.PreviewSigner = apply.TokenOpener(tok), apply.TokenPreview(tok)
		o.AutoApprove = false
		o.Confirm = func(string) (bool, error) { asked = true; return true, nil }
		o.Progress = func(e apply.Progress) {
			if e.Kind == "locked" && !asked {
				t.Error("locked before the question")
			}
		}
		_, text, err = l.run(o)
		return asked, text, err
	}
	asked, text, err := try("alice")
	if err == nil || asked || !strings.Contains(err.Error(), `token "alice"`) || !strings.Contains(err.Error(), "cannot sign") ||
		!strings.Contains(err.Error(), "carol (") || !strings.Contains(err.Error(), "nothing was locked") {
		t.Fatalf("the retiring signer: asked %v, err %v\n%s", asked, err, text)
	}
	if after := l.digests("hq"); !equalMaps(before, after) {
		t.Fatal("a refused signer changed servers")
	}
	asked, text, err = try("carol")
	if err != nil || !asked {
		t.Fatalf("carol: asked %v, err %v\n%s", asked, err, text)
	}
	if !strings.Contains(text, `Signing will ask for the PIN of token "carol"`) {
		t.Errorf("the token to be asked for is not said before the question:\n%s", text)
	}
	l.checkServed("hq", "carol")
}

// TestReplaceUnknownSignerNode: a node holding a valid file signed by a key nobody declared
// (mallory's, with her SAST record added) is refused; --replace writes the cluster's file
// over it with the R19 override, which the provider requires for a file that does not trust
// the new signer.
func TestReplaceUnknownSignerNode(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	l.mustApply(cfg, "alice")
	pc := l.clusters["hq"]
	bad := pc.Nodes()[1].Name
	f, err := ctl.Parse(servedFile(t, pc.Nodes()[0]))
	if err != nil {
		t.Fatal(err)
	}
	m := tokens["mallory"]
	rec, err := ctl.NewRecord(m.Cert, ctl.RoleSAST, "", netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	f.Records = []ctl.Record{rec, f.Records[1], f.Records[2], f.Records[3]}
	s, err := token.Open(context.Background(), token.Options{Module: hsm.Module, Selection: token.Selection{Label: "mallory"}, PIN: token.PINFromFile(l.pinFile(m.PIN))})
	if err != nil {
		t.Fatal(err)
	}
	err = f.Sign(s, m.Cert, ctl.SHA1, time.Now())
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pc.PutCTL(bad, data)

	c := l.plan(cfg).Clusters[0]
	if len(c.Refusals) != 1 || c.Refusals[0].Kind != plan.FileUnknownSigner {
		t.Fatalf("refusals %+v, want the node's unknown signer", c.Refusals)
	}
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.Replace = []string{bad}
	if _, text, err := l.run(o); err != nil {
		t.Fatalf("apply --replace: %v\n%s", err, text)
	}
	l.checkServed("hq", "alice")
	l.noChanges(cfg)
	a := l.auditLines()
	if last := a[len(a)-1]; len(last.Replaced) != 1 || !strings.Contains(last.Replaced[0], "neither a SAST record") {
		t.Errorf("audit %+v", last)
	}
}
