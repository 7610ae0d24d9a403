package serviceability

import "sort"

// Phone is one device's cluster-wide registration state, merged from every CmNodes item.
type Phone struct {
	Name      string
	Model     uint32
	Protocol  string
	IPAddress string
	Status    RegStatus
	Node      string // the node it is registered to; "" unless Registered
	TimeStamp int64
}

// Phones merges the per-node view into one entry per device, sorted by name. RisPort70 says a
// single device may appear under several nodes (registered to one, unregistered from the one
// it left): a device is Registered when any node says so (the latest such report wins), else
// it takes its latest report.
func (r *SelectResult) Phones() []Phone {
	by := map[string]Phone{}
	for _, n := range r.Nodes {
		for _, d := range n.Devices {
			p := Phone{Name: d.Name, Model: d.Model, Protocol: d.Protocol, IPAddress: d.IPAddress, Status: d.Status, TimeStamp: d.TimeStamp}
			if d.Status == Registered {
				p.Node = n.Name
			}
			old, ok := by[d.Name]
			if !ok || better(p, old) {
				by[d.Name] = p
			}
		}
	}
	out := make([]Phone, 0, len(by))
	for _, p := range by {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func better(p, old Phone) bool {
	pr, or := p.Status == Registered, old.Status == Registered
	if pr != or {
		return pr
	}
	if p.TimeStamp != old.TimeStamp {
		return p.TimeStamp > old.TimeStamp
	}
	return p.Node < old.Node // deterministic between equal reports
}
