package live

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/adapter"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/lab/cucmsim"
	"github.com/ctlops/ctlops/lab/cucmsim/cucmsimtest"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// startMetro starts a two-node simulated cluster and writes a spec declaring it tokenless in
// the given mode.
func startMetro(t *testing.T, release string, mixed bool, mode string) (*cucmsim.Cluster, *spec.Config) {
	t.Helper()
	sim := cucmsimtest.Start(t, release, mixed)
	return sim, cucmsimtest.Spec(t, sim, mode)
}

func testOptions() Options {
	return Options{Parallelism: 4, Timeout: 10 * time.Second,
		Platform: &platform.Config{StartupTimeout: 10 * time.Second, CommandTimeout: 10 * time.Second, Nudge: time.Second}}
}

func planMetro(t *testing.T, cfg *spec.Config) *plan.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := Plan(ctx, cfg, []string{"metro"}, testOptions(), "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p.Clusters[0]
}

// TestTokenlessPlanViews: a non-secure cluster declared mixed plans set-cluster mixed-mode,
// with the predicted records as actions, CUCM's SAST records meeting R16, the R23 steps, and
// every view naming the command; JSON round-trips through a plan file.
func TestTokenlessPlanViews(t *testing.T) {
	_, cfg := startMetro(t, "12.5.1.11900-146", false, "mixed")
	c := planMetro(t, cfg)
	if c.Error != "" || len(c.Refusals) > 0 {
		t.Fatalf("error %q refusals %v", c.Error, c.Refusals)
	}
	if c.Platform == nil || c.Platform.Command != plan.CommandSetMixed || !c.Summary.Changes || !c.Mode.Changed {
		t.Fatalf("platform %+v summary %+v mode %+v", c.Platform, c.Summary, c.Mode)
	}
	if c.Platform.Signer != "ITLRecovery" {
		t.Errorf("signer %q, want ITLRecovery (12.5)", c.Platform.Signer)
	}
	sast := 0
	for _, a := range c.Actions {
		if a.Action != plan.Create {
			t.Errorf("action %v on %s: a first CTL only adds", a.Action, a.Record)
		}
		if a.Reason.Kind == plan.ReasonCUCMSAST {
			sast++
		}
	}
	if sast != 2 || len(c.Actions) != 5 {
		t.Errorf("%d actions, %d CUCM SAST, want 5 and 2: %+v", len(c.Actions), sast, c.Actions)
	}
	if len(c.AfterApply) != 3 {
		t.Errorf("after apply %+v", c.AfterApply)
	}
	p := &plan.Plan{FormatVersion: plan.FormatVersion, Clusters: []*plan.Cluster{c}}
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
	for name, out := range map[string]string{"text": text.String(), "markdown": md.String(), "json": js.String()} {
		if !strings.Contains(out, plan.CommandSetMixed) {
			t.Errorf("%s view does not name the command:\n%s", name, out)
		}
	}
	if !strings.Contains(text.String(), "+++ desired") {
		t.Errorf("text view has no show-ctl diff:\n%s", text.String())
	}
	var back plan.Plan
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if d := plan.Compare(p, &back); len(d) > 0 {
		t.Errorf("JSON round trip differs: %v", d)
	}
	if !p.CommandPending() {
		t.Error("CommandPending is false")
	}
}

// TestTokenlessDriftEvents: in mixed mode with nothing changed the plan is empty; after a
// certificate regeneration on msub, an IP change, or a tampered download, it calls for
// update CTLFile and names the node.
func TestTokenlessDriftEvents(t *testing.T) {
	for _, tc := range []struct {
		name  string
		event func(*cucmsim.Cluster) error
		node  string
	}{
		{"regen-cert", func(s *cucmsim.Cluster) error { return s.RegenCert("msub", "CallManager") }, "msub"},
		{"ip-change", func(s *cucmsim.Cluster) error { return s.ChangeIP("msub", netip.MustParseAddr("10.30.0.9")) }, "msub"},
		{"tamper", func(s *cucmsim.Cluster) error { return s.Tamper("msub") }, "msub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, cfg := startMetro(t, "12.5.1.11900-146", true, "mixed")
			if c := planMetro(t, cfg); c.Summary.Changes || c.Error != "" || len(c.Refusals) > 0 {
				t.Fatalf("before the event: changes %v error %q refusals %v platform %+v", c.Summary.Changes, c.Error, c.Refusals, c.Platform)
			}
			if err := tc.event(sim); err != nil {
				t.Fatal(err)
			}
			c := planMetro(t, cfg)
			if c.Platform == nil || c.Platform.Command != plan.CommandUpdateCTL {
				t.Fatalf("after %s: error %q refusals %v platform %+v", tc.name, c.Error, c.Refusals, c.Platform)
			}
			var text bytes.Buffer
			_ = (&plan.Plan{Clusters: []*plan.Cluster{c}}).WriteText(&text, plan.TextOptions{})
			if !strings.Contains(text.String(), tc.node) {
				t.Errorf("the plan does not name %s:\n%s", tc.node, text.String())
			}
		})
	}
}

// TestTokenlessNodeHoldsOtherFile: after an update, a subscriber given back its old CTL (a
// copy by hand) holds another file than the publisher: drift naming msub, update CTLFile.
func TestTokenlessNodeHoldsOtherFile(t *testing.T) {
	sim, cfg := startMetro(t, "12.5.1.11900-146", true, "mixed")
	old := sim.Node("msub").CTL()
	if err := sim.RegenCert("mpub", "CallManager"); err != nil {
		t.Fatal(err)
	}
	tg, err := TokenlessCluster(cfg.Cluster("metro"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pool := adapter.NewPool(tg)
	if _, err := adapter.Apply(ctx, pool, adapter.ApplyOptions{WantMixed: true}); err != nil {
		t.Fatal(err)
	}
	pool.Close()
	if c := planMetro(t, cfg); c.Summary.Changes {
		t.Fatalf("changes right after the update: %+v", c.Platform)
	}
	if err := sim.SetCTL("msub", old); err != nil {
		t.Fatal(err)
	}
	c := planMetro(t, cfg)
	if c.Platform == nil || c.Platform.Command != plan.CommandUpdateCTL {
		t.Fatalf("platform %+v", c.Platform)
	}
	var inconsistent []string
	for _, n := range c.Platform.Nodes {
		for _, d := range n.Differences {
			if d.Kind == "inconsistent" {
				inconsistent = append(inconsistent, n.Node)
			}
		}
	}
	if strings.Join(inconsistent, ",") != "msub" {
		t.Fatalf("inconsistent nodes %q, want msub", inconsistent)
	}
}

// TestTokenlessExpiredIsWarning: a plan made after every certificate expired still runs: the
// expiries are warnings, nothing is refused, and an in-sync cluster has no changes.
func TestTokenlessExpiredIsWarning(t *testing.T) {
	_, cfg := startMetro(t, "12.5.1.11900-146", true, "mixed")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, later := range []time.Duration{0, 25 * 365 * 24 * time.Hour} {
		p, err := Plan(ctx, cfg, nil, testOptions(), "test", time.Now().Add(later))
		if err != nil {
			t.Fatal(err)
		}
		c := p.Clusters[0]
		expired := 0
		for _, w := range c.Warnings {
			if w.Kind == plan.CertificateExpired {
				expired++
			}
		}
		if c.Error != "" || len(c.Refusals) > 0 || c.Summary.Changes {
			t.Fatalf("+%v: error %q refusals %v changes %v", later, c.Error, c.Refusals, c.Summary.Changes)
		}
		if (later > 0) != (expired >= 4) { // positive control: none expired now
			t.Fatalf("+%v: %d expiry warnings: %+v", later, expired, c.Warnings)
		}
	}
}

// TestTokenlessRealSample: the real SCFFile.tlv of a 10.5 publisher, served by the publisher's
// TFTP, is planned without a hard error: it is another cluster's CTL, so drift (update
// CTLFile), and its expired certificates do not stop the plan.
func TestTokenlessRealSample(t *testing.T) {
	b, err := os.ReadFile("../cucm/tokenless/testdata/SCFFile.tlv")
	if err != nil {
		t.Fatal(err)
	}
	sim, cfg := startMetro(t, "10.5.2.15900-8", true, "mixed")
	if err := sim.SetCTL("mpub", b); err != nil {
		t.Fatal(err)
	}
	c := planMetro(t, cfg)
	if c.Error != "" || len(c.Refusals) > 0 || c.Platform == nil || c.Platform.Command != plan.CommandUpdateCTL {
		t.Fatalf("error %q refusals %v platform %+v", c.Error, c.Refusals, c.Platform)
	}
	if c.Platform.Signer != "CallManager" {
		t.Errorf("10.5 signer %q", c.Platform.Signer)
	}
}
