package plan

import (
	"net/netip"
	"strings"
)

// crossCheckAXL compares the inventory (R14) with the nodes AXL listProcessNode lists on the
// publisher (issue 16). The inventory is the CTL Providers' for a token-based cluster and the
// platform CLI's `show network cluster` for a tokenless one. A node one side knows and the
// other does not is a warning, never a refusal: the CTL is computed from the inventory, and
// AXL is a second opinion. A server is matched by its name, DNS name or IPv4 address,
// case-insensitively, since a CUCM process node is named by whichever of them the admin chose
// at install.
func (b *builder) crossCheckAXL() {
	l := b.live
	if l.AXLError != "" {
		b.warn(Problem{Kind: InventoryAXLUnread, Rule: "R14", Server: l.AXLFrom, Detail: l.AXLError})
		return
	}
	if l.AXLNodes == nil {
		return
	}
	type server struct {
		name, dns string
		ip        netip.Addr
	}
	var servers []server
	from := "the inventory"
	switch {
	case l.Platform != nil: // a tokenless cluster (isTokenless)
		from = "`show network cluster`"
		for _, n := range l.Platform.Inventory.Nodes {
			servers = append(servers, server{name: n.Name, ip: n.IP})
		}
	case l.Inventory != nil:
		for _, s := range l.Inventory.Servers {
			servers = append(servers, server{name: s.Name, dns: s.DNSName, ip: s.IPv4})
		}
	default:
		return
	}
	axl := map[string]bool{}
	for _, n := range l.AXLNodes {
		axl[strings.ToLower(n)] = true
	}
	matched := map[string]bool{}
	for _, s := range servers {
		keys := []string{strings.ToLower(s.name), strings.ToLower(s.dns)}
		if s.ip.IsValid() {
			keys = append(keys, s.ip.String())
		}
		found := false
		for _, k := range keys {
			if k != "" && axl[k] {
				found, matched[k] = true, true
			}
		}
		if !found {
			b.warn(Problem{Kind: InventoryAXLDiffers, Rule: "R14", Server: s.name, Have: from, Want: "AXL listProcessNode on " + l.AXLFrom})
		}
	}
	for _, n := range l.AXLNodes {
		if !matched[strings.ToLower(n)] {
			b.warn(Problem{Kind: InventoryAXLDiffers, Rule: "R14", Server: n, Have: "AXL listProcessNode on " + l.AXLFrom, Want: from})
		}
	}
}
