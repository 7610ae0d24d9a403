package adapter

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/lab/cucmsim"
)

func signerOf(t *testing.T, b []byte) tokenless.Signer {
	t.Helper()
	f, err := ctl.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tokenless.Recognize(f, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Tokenless {
		t.Fatalf("not a tokenless CTL: %+v", r)
	}
	return r.Signer
}

// TestFirstMixedModeThenNoChange: a non-secure 12.5 cluster declared mixed gets
// set-cluster mixed-mode, every node then serves a CTL signed by ITLRecovery, the restarts run
// one node at a time publisher first, and the next check finds nothing to do.
func TestFirstMixedModeThenNoChange(t *testing.T) {
	sim, tg := startSim(t, simOpts{subs: 1})
	c := check(t, tg, true)
	if c.Action != platform.SetMixedMode {
		t.Fatalf("action = %q, want set-cluster mixed-mode", c.Action)
	}
	res, err := apply(t, tg, ApplyOptions{WantMixed: true, RestartServices: true})
	if err != nil {
		t.Fatal(err)
	}
	if !sim.Mixed() {
		t.Fatal("simulator not in mixed mode")
	}
	want := []string{"mpub Cisco Tftp", "mpub Cisco CallManager", "msub1 Cisco Tftp", "msub1 Cisco CallManager"}
	if !slices.Equal(res.Restarts, want) || !slices.Equal(sim.Restarts(), want) {
		t.Fatalf("restarts = %q (sim %q), want %q", res.Restarts, sim.Restarts(), want)
	}
	for _, n := range sim.Nodes() {
		if s := signerOf(t, n.CTL()); s != tokenless.SignerITLRecovery {
			t.Errorf("%s: signer %s", n.Name(), s)
		}
	}
	if c := check(t, tg, true); c.Action != "" || c.Drifted() {
		t.Fatalf("second check: action %q diffs %q", c.Action, diffs(c))
	}
	res, err = apply(t, tg, ApplyOptions{WantMixed: true})
	if err != nil || res.Action != "" {
		t.Fatalf("no-change apply: %v %q", err, res.Action)
	}
}

// TestUpdateAfterEvents: each event makes drift naming the node; apply runs update CTLFile
// and clears it.
func TestUpdateAfterEvents(t *testing.T) {
	sim, tg := startSim(t, simOpts{subs: 2, mixed: true})
	if c := check(t, tg, true); c.Drifted() {
		t.Fatalf("fresh mixed cluster drifted: %q", diffs(c))
	}
	cases := []struct {
		name  string
		event func(t *testing.T)
		want  string // a node+kind that must be among the differences
	}{
		{"regen-cert", func(t *testing.T) { must(t, sim.RegenCert("msub1", "CallManager")) }, "changed"},
		{"ip-change", func(t *testing.T) { must(t, sim.ChangeIP("msub2", netip.MustParseAddr("10.20.9.9"))) }, "changed"},
		{"rename", func(t *testing.T) {
			must(t, sim.Rename("msub2", "msub2b"))
			for i := range tg.Nodes {
				if tg.Nodes[i].Name == "msub2" {
					tg.Nodes[i].Name = "msub2b" // the admin updates the spec
				}
			}
		}, "missing"},
		{"add-node", func(t *testing.T) {
			n, err := sim.AddNode(cucmsim.NodeSpec{Name: "msub3", IP: netip.MustParseAddr("10.20.0.13"), CallManager: true, TFTP: true})
			must(t, err)
			tg.Nodes = append(tg.Nodes, declaredNode(n))
		}, "missing"},
		{"remove-node", func(t *testing.T) {
			must(t, sim.RemoveNode("msub3"))
			tg.Nodes = tg.Nodes[:len(tg.Nodes)-1]
		}, "unexpected"},
		{"tamper", func(t *testing.T) { must(t, sim.Tamper("msub1")) }, "unsigned"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.event(t)
			ck := check(t, tg, true)
			if ck.Action != platform.UpdateCTLFile || !strings.Contains(strings.Join(diffs(ck), "|"), c.want) {
				t.Fatalf("after %s: action %q diffs %q", c.name, ck.Action, diffs(ck))
			}
			res, err := apply(t, tg, ApplyOptions{WantMixed: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != platform.UpdateCTLFile || len(res.Pending) == 0 {
				t.Fatalf("apply: %q pending %q", res.Action, res.Pending)
			}
			if ck := check(t, tg, true); ck.Drifted() {
				t.Fatalf("still drifted: %q", diffs(ck))
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMixedToNonSecure(t *testing.T) {
	sim, tg := startSim(t, simOpts{subs: 1, mixed: true})
	res, err := apply(t, tg, ApplyOptions{WantMixed: false})
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != platform.SetNonSecureMode || sim.Mixed() {
		t.Fatalf("action %q, sim mixed %v", res.Action, sim.Mixed())
	}
	f, err := ctl.Parse(sim.Node("msub1").CTL())
	must(t, err)
	for _, r := range f.Records {
		if r.Role == ctl.RoleCCMTFTP && !r.IsPlaceholder() {
			t.Fatalf("non-secure CTL carries a server certificate: %s", r.DNSName)
		}
	}
	if c := check(t, tg, false); c.Drifted() {
		t.Fatalf("drift after non-secure: %q", diffs(c))
	}
}

func noCTLCommand(t *testing.T, sim *cucmsim.Cluster) {
	t.Helper()
	for _, c := range sim.Commands() {
		if strings.Contains(c, "utils ctl") {
			t.Fatalf("a CTL command was typed: %s", c)
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Run("subscriber down", func(t *testing.T) {
		sim, tg := startSim(t, simOpts{subs: 1})
		must(t, sim.SetDown("msub1", true))
		_, err := apply(t, tg, ApplyOptions{WantMixed: true})
		if err == nil || !strings.Contains(err.Error(), "msub1") || !strings.Contains(err.Error(), "R26") {
			t.Fatalf("err = %v", err)
		}
		noCTLCommand(t, sim)
	})
	t.Run("replication unhealthy", func(t *testing.T) {
		sim, tg := startSim(t, simOpts{subs: 1})
		sim.SetReplication(false)
		_, err := apply(t, tg, ApplyOptions{WantMixed: true})
		if err == nil || !strings.Contains(err.Error(), "replication is not healthy") {
			t.Fatalf("err = %v", err)
		}
		noCTLCommand(t, sim)
		if sim.Mixed() {
			t.Fatal("cluster changed")
		}
	})
	t.Run("unexpected confirmation", func(t *testing.T) {
		sim, tg := startSim(t, simOpts{subs: 1})
		sim.ScriptPrompt("This operation will delete all certificates.")
		_, err := apply(t, tg, ApplyOptions{WantMixed: true})
		if err == nil || !strings.Contains(err.Error(), "This operation will delete all certificates. Do you want to continue? (y/n):") {
			t.Fatalf("err = %v", err)
		}
		if sim.Mixed() {
			t.Fatal("the unexpected prompt was answered y")
		}
	})
	t.Run("unknown output", func(t *testing.T) {
		sim, tg := startSim(t, simOpts{subs: 1})
		sim.ScriptAnswer("show ctl", "Segmentation fault \x1b]0;owned\x07")
		p := NewPool(tg)
		defer p.Close()
		st, err := Read(ctx(t), p)
		if err == nil {
			_, err = Evaluate(st, true, time.Now(), tokenless.DefaultExpiryWarning)
		}
		if err == nil || !strings.Contains(err.Error(), "Segmentation fault") || strings.Contains(err.Error(), "\x1b") {
			t.Fatalf("err = %v", err)
		}
		_, err = apply(t, tg, ApplyOptions{WantMixed: true})
		if err == nil {
			t.Fatal("apply went on after an unknown answer")
		}
		noCTLCommand(t, sim)
	})
	t.Run("wrong host key", func(t *testing.T) {
		sim, tg := startSim(t, simOpts{subs: 1})
		tg.Nodes[0].HostKeys = []string{sim.Node("msub1").HostKey()}
		p := NewPool(tg)
		defer p.Close()
		_, err := Read(ctx(t), p)
		var hke *platform.HostKeyError
		if !errors.As(err, &hke) {
			t.Fatalf("err = %v", err)
		}
		if n := sim.Node("mpub").PasswordsSeen(); n != 0 {
			t.Fatalf("the publisher saw %d passwords", n)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		sim, tg := startSim(t, simOpts{subs: 1})
		tg.Password = func() (string, error) { return "Not-The-Pa55word", nil }
		p := NewPool(tg)
		defer p.Close()
		for range 2 { // a second read in the same check must not log in again
			_, err := Read(ctx(t), p)
			var le *platform.LoginError
			if !errors.As(err, &le) || strings.Contains(err.Error(), "Not-The-Pa55word") {
				t.Fatalf("err = %v", err)
			}
		}
		if n := sim.Node("mpub").PasswordsSeen(); n != 1 {
			t.Fatalf("the publisher saw %d passwords, want exactly 1", n)
		}
	})
}

// TestReleases: a 10.5 cluster's CTL is signed by CallManager, a 14 cluster's by
// ITLRecovery, and each matches the prediction.
func TestReleases(t *testing.T) {
	for _, c := range []struct {
		release string
		signer  tokenless.Signer
	}{{"10.5.2.15900-8", tokenless.SignerCallManager}, {"14.0.1.13900-155", tokenless.SignerITLRecovery}} {
		t.Run(c.release, func(t *testing.T) {
			sim, tg := startSim(t, simOpts{release: c.release, subs: 1})
			if _, err := apply(t, tg, ApplyOptions{WantMixed: true}); err != nil {
				t.Fatal(err)
			}
			if s := signerOf(t, sim.Node("msub1").CTL()); s != c.signer {
				t.Fatalf("signer %s, want %s", s, c.signer)
			}
			if ck := check(t, tg, true); ck.Drifted() {
				t.Fatalf("drift: %q", diffs(ck))
			}
		})
	}
}

// TestRealSampleOverTFTP: the real SCFFile.tlv of a 10.5 publisher, served over TFTP, is read
// and recognised as a tokenless 10.5 CTL, without a hard error.
func TestRealSampleOverTFTP(t *testing.T) {
	b, err := os.ReadFile("../tokenless/testdata/SCFFile.tlv")
	must(t, err)
	sim, tg := startSim(t, simOpts{release: "10.5.2.15900-8", mixed: true})
	must(t, sim.SetCTL("mpub", b))
	p := NewPool(tg)
	defer p.Close()
	st, err := Read(ctx(t), p)
	must(t, err)
	f := st.Node("mpub").CTLFile
	if f == nil {
		t.Fatal("no CTL over TFTP")
	}
	r, err := tokenless.Recognize(f, time.Now())
	if err != nil || !r.Tokenless || r.Signer != tokenless.SignerCallManager || r.Releases != "10.0–11.5" {
		t.Fatalf("recognise: %+v %v", r, err)
	}
	c, err := Evaluate(st, true, time.Now(), tokenless.DefaultExpiryWarning)
	if err != nil {
		t.Fatalf("a foreign file must be drift, not an error: %v", err)
	}
	if !c.Drifted() {
		t.Fatal("another cluster's CTL is not drift")
	}
}
