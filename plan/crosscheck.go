package plan

import "strings"

// crossCheckAXL compares the inventory (R14) with the nodes AXL listProcessNode lists on the
// publisher (issue 16). A node one side knows and the other does not is a warning, never a
// refusal: the CTL is computed from the inventory, and AXL is a second opinion. A server is
// matched by its name, DNS name or IPv4 address, case-insensitively, since a CUCM process
// node is named by whichever of them the admin chose at install.
func (b *builder) crossCheckAXL() {
	l := b.live
	if l.AXLError != "" {
		b.warn(Problem{Kind: InventoryAXLUnread, Rule: "R14", Server: l.AXLFrom, Detail: l.AXLError})
		return
	}
	if l.AXLNodes == nil || l.Inventory == nil {
		return
	}
	axl := map[string]bool{}
	for _, n := range l.AXLNodes {
		axl[strings.ToLower(n)] = true
	}
	matched := map[string]bool{}
	for _, s := range l.Inventory.Servers {
		keys := []string{strings.ToLower(s.Name), strings.ToLower(s.DNSName)}
		if s.IPv4.IsValid() {
			keys = append(keys, s.IPv4.String())
		}
		found := false
		for _, k := range keys {
			if k != "" && axl[k] {
				found, matched[k] = true, true
			}
		}
		if !found {
			b.warn(Problem{Kind: InventoryAXLDiffers, Rule: "R14", Server: s.Name, Have: "the inventory", Want: "AXL listProcessNode on " + l.AXLFrom})
		}
	}
	for _, n := range l.AXLNodes {
		if !matched[strings.ToLower(n)] {
			b.warn(Problem{Kind: InventoryAXLDiffers, Rule: "R14", Server: n, Have: "AXL listProcessNode on " + l.AXLFrom, Want: "the inventory"})
		}
	}
}
