package phonerules

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/lab/phonetest"
)

func TestVerdicts(t *testing.T) {
	w := newWorld(t)
	installed, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA1, w.ctlRecs(w.alice, w.bob)...)
	sha512, _ := phonetest.File(t, "CTLFile.tlv", w.bob, ctl.SHA512, w.ctlRecs(w.alice, w.bob)...)
	rogue, _ := phonetest.File(t, "CTLFile.tlv", w.rogue, ctl.SHA1, w.ctlRecs(w.rogue)...)
	good, _ := phonetest.File(t, "CTLFile.tlv", w.bob, ctl.SHA1, w.ctlRecs(w.alice, w.bob)...)
	if r := Refusers(Verdicts(installed, good)); len(r) != 0 {
		t.Fatalf("a file signed by the second SAST is taken by every model: %+v", r)
	}
	r := Refusers(Verdicts(installed, sha512))
	if len(r) != 2 || r[0].Profile.Series[:2] != "79" || r[1].Profile.Series[:2] != "79" {
		t.Fatalf("SHA-512: want the two 79xx models refusing, got %+v", r)
	}
	vs := Verdicts(installed, rogue)
	for _, v := range vs {
		want := AskTVS
		if !v.Profile.SBD {
			want = Reject
		}
		if v.Decision.Outcome != want || (want == Reject && !v.Decision.NeedsErase) {
			t.Errorf("%s: %v erase=%v, want %v", v.Profile.Model, v.Decision.Outcome, v.Decision.NeedsErase, want)
		}
	}
}

// TestPlannedAgreesWithFiles is the one-implementation promise: what the plan decides from a
// signer and a digest (Planned) is what a phone decides from the signed file (Verdicts), for
// every model and case; the tampered file is the positive control (only a file can fail P10).
func TestPlannedAgreesWithFiles(t *testing.T) {
	w := newWorld(t)
	installed, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA1, w.ctlRecs(w.alice, w.bob)...)
	tampered, _ := phonetest.File(t, "CTLFile.tlv", w.bob, ctl.SHA1, w.ctlRecs(w.alice, w.bob)...)
	tampered.Records[2].DNSName = "evil"
	for _, c := range []struct {
		name      string
		installed *ctl.File
		signer    phonetest.Identity
		h         ctl.HashAlgorithm
		agree     bool
		next      *ctl.File
	}{
		{name: "first CTL", signer: w.alice, h: ctl.SHA1, agree: true},
		{name: "second SAST", installed: installed, signer: w.bob, h: ctl.SHA1, agree: true},
		{name: "SHA-512", installed: installed, signer: w.bob, h: ctl.SHA512, agree: true},
		{name: "unknown signer", installed: installed, signer: w.rogue, h: ctl.SHA1, agree: true},
		{name: "tampered", installed: installed, signer: w.bob, h: ctl.SHA1, agree: false, next: tampered},
	} {
		t.Run(c.name, func(t *testing.T) {
			next := c.next
			if next == nil {
				next, _ = phonetest.File(t, "CTLFile.tlv", c.signer, c.h, w.ctlRecs(c.signer, w.bob)...)
			}
			rec, err := ctl.NewRecord(c.signer.Cert, ctl.RoleSAST, "", netip.Addr{})
			if err != nil {
				t.Fatal(err)
			}
			planned := Planned(c.installed, Signing{Signer: &rec, Hash: c.h})
			files := Verdicts(c.installed, next)
			same := len(planned) == len(files)
			for i := 0; same && i < len(files); i++ {
				p, f := planned[i].Decision, files[i].Decision
				same = p.Outcome == f.Outcome && p.Rule == f.Rule && p.NeedsErase == f.NeedsErase
			}
			if same != c.agree {
				t.Fatalf("agree=%v, want %v:\nplanned %+v\nfiles   %+v", same, c.agree, planned, files)
			}
			if (Refusal(planned) == nil) != (len(Refusers(planned)) == 0) {
				t.Fatal("Refusal and Refusers disagree")
			}
		})
	}
}

func TestModels(t *testing.T) {
	all, err := Models(nil)
	if err != nil || len(all) != len(Profiles) {
		t.Fatalf("no names: want every profile, got %v %v", all, err)
	}
	two, err := Models([]string{"8861", "CP-7960G", "7960"})
	if err != nil || len(two) != 2 || two[0].Model != "CP-7960G" || two[1].Model != "CP-8861" {
		t.Fatalf("got %v %v", two, err)
	}
	if _, err := Models([]string{"9999"}); err == nil || !strings.Contains(err.Error(), "known: 7960, 7965, 8861") {
		t.Fatalf("unknown model: %v", err)
	}
}
