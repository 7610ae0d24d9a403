package apply

import (
	"fmt"

	"github.com/ctlops/ctlops/plan"
)

// replaced lists, for the audit log, the node files this apply replaces under --replace
// (plan.NodeAction), each with the refusal the admin overrode.
func replaced(p *plan.Plan, skipped map[string]bool) []string {
	var out []string
	for _, c := range p.Clusters {
		if skipped[c.Name] {
			continue
		}
		for _, a := range c.NodeActions {
			out = append(out, fmt.Sprintf("%s/%s %s: %s", c.Name, a.Server, a.Address, a.Because.Message()))
		}
	}
	return out
}
