package rollout

import (
	"strings"
	"testing"
)

// The counts name the nodes as RisPort70 reported them: a name with escapes is shown filtered
// in the registration lines apply prints. The control: plain names as they are.
func TestCountsStringFiltered(t *testing.T) {
	for _, tc := range []struct{ name, node, shown string }{
		{"plain name (control)", "cm1", "cm1 2"},
		{"escapes in the name", "cm1\x1b[2J\u202e", `cm1\x1b[2J\u202e 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Counts{Total: 2, Registered: 2, ByProtocol: map[string]int{"SIP": 2}, ByNode: map[string]int{tc.node: 2}}.String()
			if !strings.Contains(s, tc.shown) || strings.ContainsAny(s, "\x1b\u202e") {
				t.Errorf("%q does not show %q filtered", s, tc.shown)
			}
		})
	}
}
