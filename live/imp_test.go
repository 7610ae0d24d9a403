package live

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/lab/cucmsim"
	"github.com/ctlops/ctlops/lab/cucmsim/cucmsimtest"
	"github.com/ctlops/ctlops/plan"
)

// An IM and Presence node the spec does not declare holds no CTL: the read passes over it
// (no refusal, no undeclared CTL server), and the plan names it in every view, so that a
// reviewer does not take it for a node the plan forgot. The control: the same cluster
// without it has no such note.
func TestTokenlessPlanNamesIMAndPresence(t *testing.T) {
	views := func(c *plan.Cluster) string {
		t.Helper()
		p := &plan.Plan{FormatVersion: plan.FormatVersion, Clusters: []*plan.Cluster{c}}
		var b bytes.Buffer
		if err := p.WriteText(&b, plan.TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := p.WriteMarkdown(&b, plan.MarkdownOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := p.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	const note = "IM and Presence node mimp holds no CTL (CUCM's CTL lists only its Unified CM nodes); not managed."
	sim := cucmsimtest.StartNodes(t, "12.5.1.11900-146", true,
		cucmsim.NodeSpec{Name: "mpub", IP: netip.MustParseAddr("10.30.0.1"), Publisher: true, CallManager: true, TFTP: true, CAPF: true},
		cucmsim.NodeSpec{Name: "msub", IP: netip.MustParseAddr("10.30.0.2"), CallManager: true, TFTP: true},
		cucmsim.NodeSpec{Name: "mimp", IP: netip.MustParseAddr("10.30.0.3"), IMAndPresence: true})
	c := planMetro(t, cucmsimtest.Spec(t, sim, "mixed"))
	if c.Error != "" || len(c.Refusals) > 0 || c.Summary.Changes {
		t.Fatalf("error %q refusals %v changes %v", c.Error, c.Refusals, c.Summary.Changes)
	}
	if len(c.IMAndPresence) != 1 || c.IMAndPresence[0].Node != "mimp" {
		t.Fatalf("IM and Presence %+v, want mimp", c.IMAndPresence)
	}
	out := views(c)
	// Once in the text view, once in markdown (escaped: its apostrophes stay), once in JSON.
	if n := strings.Count(out, "IM and Presence node mimp holds no CTL"); n != 3 || !strings.Contains(out, "    - "+note+"\n") ||
		!strings.Contains(out, "> "+note) || !strings.Contains(out, `"note": "`+note+`"`) {
		t.Errorf("%d notes in the views, want one in each:\n%s", n, out)
	}
	if n := sim.Node("mimp").PasswordsSeen(); n != 0 {
		t.Errorf("mimp received %d passwords", n)
	}

	_, cfg := startMetro(t, "12.5.1.11900-146", true, "mixed")
	c = planMetro(t, cfg)
	if out := views(c); len(c.IMAndPresence) != 0 || strings.Contains(out, "IM and Presence") || strings.Contains(out, "im_and_presence") {
		t.Errorf("a cluster without IM and Presence nodes mentions them: %+v\n%s", c.IMAndPresence, out)
	}
}
