package plan

import (
	"strings"
	"testing"

	"github.com/ctlops/ctlops/cucm"
)

// TestStaleMode: a stale mode names the half that changed, never "now mixed, saw mixed".
func TestStaleMode(t *testing.T) {
	mk := func(from, to cucm.Mode) *Plan {
		return &Plan{Clusters: []*Cluster{{Name: "hq", Mode: ModeChange{From: from, To: to, Changed: from != to}}}}
	}
	for _, c := range []struct {
		saved, now *Plan
		want       string
	}{
		{mk(cucm.ModeNonSecure, cucm.ModeMixed), mk(cucm.ModeMixed, cucm.ModeMixed), "security mode is now mixed, the plan saw non-secure"},
		{mk(cucm.ModeMixed, cucm.ModeMixed), mk(cucm.ModeMixed, cucm.ModeNonSecure), "the spec now declares security mode non-secure, the plan was made for mixed"},
	} {
		got := strings.Join(Stale(c.saved, c.now), "; ")
		if !strings.Contains(got, c.want) || strings.Contains(got, "now mixed, the plan saw mixed") {
			t.Errorf("stale says %q, want %q", got, c.want)
		}
	}
	if got := Stale(mk(cucm.ModeMixed, cucm.ModeMixed), mk(cucm.ModeMixed, cucm.ModeMixed)); len(got) != 0 {
		t.Errorf("same mode is stale: %v", got)
	}
}
