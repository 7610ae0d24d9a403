package phonerules

import (
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
