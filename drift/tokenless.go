package drift

import (
	"fmt"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/plan"
)

// judgeTokenless adds what a tokenless cluster's plan says beyond records and targets: the
// publisher command it calls for, each node that holds another file than the prediction or
// the publisher (R22; a node without TFTP is not a target), and its warnings (ITL drift,
// expired or expiring certificates), which are reported but are not drift: a monitor must
// still run and say so.
func judgeTokenless(pc *plan.Cluster, cr *ClusterResult) {
	pp := pc.Platform
	if pp == nil {
		return
	}
	for _, w := range pc.Warnings {
		r := w.Message()
		if w.Rule != "" {
			r += " (" + w.Rule + ")"
		}
		cr.Warnings = append(cr.Warnings, r)
	}
	if pp.Command == "" {
		return
	}
	cr.Reasons = append(cr.Reasons, fmt.Sprintf("needs `%s` on %s", pp.Command, termsafe.Line(pp.Publisher)))
	for _, n := range pp.Nodes {
		if len(n.Differences) > 0 {
			cr.Reasons = append(cr.Reasons, fmt.Sprintf("node %s: %s", termsafe.Line(n.Node), termsafe.Line(n.Differences[0].String())))
		}
	}
}
