package plan_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

func tokenlessCert(t *testing.T, key *rsa.PrivateKey, cn string, serial int64) *x509.Certificate {
	t.Helper()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tokenlessLive is a non-secure 12.5 cluster of mpub and msub as live would read it.
func tokenlessLive(t *testing.T) *plan.Live {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := tokenless.ParseRelease("12.5.1.11900-146")
	inv := tokenless.Inventory{Release: rel, Nodes: []tokenless.Node{
		{Name: "mpub", IP: netip.MustParseAddr("10.30.0.1"), Publisher: true, CallManager: true, TFTP: true, CAPF: true,
			CallManagerCert: tokenlessCert(t, key, "mpub", 1), CAPFCert: tokenlessCert(t, key, "CAPF-1", 2), ITLRecoveryCert: tokenlessCert(t, key, "ITLRECOVERY_mpub", 3)},
		{Name: "msub", IP: netip.MustParseAddr("10.30.0.2"), CallManager: true, TFTP: true, CallManagerCert: tokenlessCert(t, key, "msub", 4)},
	}}
	return &plan.Live{Platform: &plan.PlatformLive{From: "127.0.0.1:22", Version: "12.5.1.11900-146", Inventory: inv,
		Nodes: []plan.PlatformNodeLive{
			{Name: "mpub", Declared: true, SSH: "127.0.0.1:22", TFTP: "127.0.0.1:69"},
			{Name: "msub", Declared: true, SSH: "127.0.0.2:22", TFTP: "127.0.0.2:69"},
		}}}
}

// TestTokenlessBuild: the planner's decisions on hand-made reads, without a network: a
// mixed declaration calls for set-cluster mixed-mode; a node that could not be read, a node
// CUCM lists but the spec does not, and a declared node CUCM does not list are refusals; a
// garbage CTL or ITL is drift or a warning, never a panic; a spec without a platform read
// is an error.
func TestTokenlessBuild(t *testing.T) {
	c := &spec.Cluster{Name: "metro", Signing: spec.SigningTokenless, Mode: spec.ModeMixed}
	now := time.Now()
	for _, tc := range []struct {
		name    string
		edit    func(*plan.Live)
		command string
		refusal plan.ProblemKind
		warning plan.ProblemKind
		err     string
	}{
		{name: "first mixed", command: plan.CommandSetMixed},
		{name: "node unreadable", edit: func(l *plan.Live) { l.Platform.Nodes[1].Err = "connection refused" }, refusal: plan.ServerUnreachable},
		{name: "undeclared node", edit: func(l *plan.Live) { l.Platform.Nodes[1].Declared = false }, refusal: plan.PlatformNodeUndeclared},
		{name: "declared node missing", edit: func(l *plan.Live) { l.Platform.Missing = []string{"mold"} }, refusal: plan.PlatformNodeMissing},
		{name: "garbage CTL and ITL", edit: func(l *plan.Live) {
			l.Platform.Inventory.Mixed = true
			l.Platform.Nodes[1].CTL, l.Platform.Nodes[1].ITL = []byte("\x01\x02garbage"), []byte("junk")
		}, command: plan.CommandUpdateCTL, warning: plan.ITLDrift},
		{name: "no platform read", edit: func(l *plan.Live) { l.Platform = nil }, err: "nothing was read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tokenlessLive(t)
			if tc.edit != nil {
				tc.edit(l)
			}
			p := plan.Build(c, l, now)
			if tc.err != "" {
				if !strings.Contains(p.Error, tc.err) {
					t.Fatalf("error %q, want %q", p.Error, tc.err)
				}
				return
			}
			if p.Error != "" {
				t.Fatalf("error %q", p.Error)
			}
			has := func(ps []plan.Problem, k plan.ProblemKind) bool {
				for _, x := range ps {
					if x.Kind == k {
						return true
					}
				}
				return false
			}
			if tc.refusal != "" {
				if !has(p.Refusals, tc.refusal) || p.Platform != nil && p.Platform.Command != "" {
					t.Fatalf("refusals %+v platform %+v", p.Refusals, p.Platform)
				}
				return
			}
			if len(p.Refusals) > 0 || p.Platform == nil || p.Platform.Command != tc.command || !p.Summary.Changes {
				t.Fatalf("refusals %+v platform %+v", p.Refusals, p.Platform)
			}
			if tc.warning != "" && !has(p.Warnings, tc.warning) {
				t.Errorf("warnings %+v, want %s", p.Warnings, tc.warning)
			}
		})
	}
}

// A tokenless cluster's inventory, `show network cluster`, is cross-checked with AXL
// listProcessNode as a token cluster's is (issue 16): agreeing by name or IP gives no
// warning (the control), a node only one side lists is a warning naming it, and an unread
// AXL is one warning; none refuses the plan.
func TestTokenlessCrossCheckAXL(t *testing.T) {
	c := &spec.Cluster{Name: "metro", Signing: spec.SigningTokenless, Mode: spec.ModeMixed}
	for _, tc := range []struct {
		name  string
		nodes []string
		err   string
		want  []string
	}{
		{"agree", []string{"MPUB", "10.30.0.2"}, "", nil},
		{"one each", []string{"mpub", "mold"}, "", []string{
			"server msub is listed by `show network cluster` but not by AXL listProcessNode on mpub",
			"server mold is listed by AXL listProcessNode on mpub but not by `show network cluster`"}},
		{"unread", nil, "mpub: HTTP 401", []string{"AXL listProcessNode on mpub could not cross-check the inventory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tokenlessLive(t)
			l.AXLFrom, l.AXLNodes, l.AXLError = "mpub", tc.nodes, tc.err
			p := plan.Build(c, l, time.Now())
			if p.Error != "" || len(p.Refusals) > 0 || p.Platform == nil || p.Platform.Command != plan.CommandSetMixed {
				t.Fatalf("error %q refusals %+v platform %+v", p.Error, p.Refusals, p.Platform)
			}
			var got []string
			for _, w := range p.Warnings {
				if w.Kind == plan.InventoryAXLDiffers || w.Kind == plan.InventoryAXLUnread {
					got = append(got, w.Message())
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("AXL warnings %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("warning %d: %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestScenarioTokenlessIMAndPresence: the views of a tokenless plan whose cluster lists an IM
// and Presence node the spec does not declare: each names it, as holding no CTL and not
// managed (golden files); the same cluster without one has no such note (the control).
func TestScenarioTokenlessIMAndPresence(t *testing.T) {
	c := &spec.Cluster{Name: "metro", Signing: spec.SigningTokenless, Mode: spec.ModeMixed, ExpiryWarning: spec.DefaultExpiryWarning}
	l := tokenlessLive(t)
	l.Platform.IMAndPresence = []string{"mimp"}
	mk := func(l *plan.Live) *plan.Plan {
		return &plan.Plan{FormatVersion: plan.FormatVersion, CtlopsVersion: "test", Clusters: []*plan.Cluster{plan.Build(c, l, time.Now())}}
	}
	p := mk(l)
	if cl := p.Clusters[0]; cl.Error != "" || len(cl.Refusals) > 0 || len(cl.IMAndPresence) != 1 {
		t.Fatalf("error %q refusals %v IM and Presence %v", cl.Error, cl.Refusals, cl.IMAndPresence)
	}
	goldenAll(t, "tokenless-im-and-presence", p)
	var b strings.Builder
	if err := mk(tokenlessLive(t)).WriteText(&b, plan.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "IM and Presence") {
		t.Errorf("a cluster without IM and Presence nodes mentions them:\n%s", b.String())
	}
}

// An IM and Presence node's name comes from `show network cluster`: its note is safe for a
// terminal.
func TestIMAndPresenceNoteSafe(t *testing.T) {
	n := plan.IMAndPresenceNode{Node: "mimp\x1b[2J\u202e"}
	if s := n.Note(); strings.ContainsAny(s, "\x1b\u202e") || !strings.Contains(s, `mimp\x1b[2J\u202e`) {
		t.Errorf("note %q", s)
	}
}
