package plan

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/cucm"
)

// The inventory and AXL listProcessNode agree by name, DNS name or IP, in any case; a node
// only one side lists is a warning naming it and the side; AXL not read is one warning; no
// serviceability endpoints, no check.
func TestCrossCheckAXL(t *testing.T) {
	inv := &cucm.Inventory{Servers: []cucm.Server{
		{Name: "cm1", DNSName: "cm1.example"},
		{Name: "cm2", IPv4: netip.MustParseAddr("10.0.0.12")},
		{Name: "cm3"},
	}}
	for _, tc := range []struct {
		name string
		live Live
		want []string // one sentence fragment per warning, in order
	}{
		{"agree", Live{Inventory: inv, AXLFrom: "cm1", AXLNodes: []string{"CM1", "10.0.0.12", "cm3"}}, nil},
		{"agree by DNS name", Live{Inventory: inv, AXLFrom: "cm1", AXLNodes: []string{"cm1.example", "cm2", "cm3"}}, nil},
		{"AXL lacks one, knows another", Live{Inventory: inv, AXLFrom: "cm1", AXLNodes: []string{"cm1", "cm2", "cm4"}},
			[]string{"server cm3 is listed by the inventory but not by AXL listProcessNode on cm1", "server cm4 is listed by AXL listProcessNode on cm1 but not by the inventory"}},
		{"AXL unreadable", Live{Inventory: inv, AXLFrom: "cm1", AXLError: "cm1: HTTP 401"},
			[]string{"AXL listProcessNode on cm1 could not cross-check the inventory"}},
		{"not declared", Live{Inventory: inv}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &builder{live: &tc.live, p: &Cluster{}}
			b.crossCheckAXL()
			if len(b.p.Warnings) != len(tc.want) {
				t.Fatalf("warnings %v, want %d", b.p.Warnings, len(tc.want))
			}
			for i, w := range b.p.Warnings {
				if w.Rule != "R14" || !strings.Contains(w.Message(), tc.want[i]) {
					t.Errorf("warning %d: %q (%s), want %q", i, w.Message(), w.Rule, tc.want[i])
				}
			}
		})
	}
}
