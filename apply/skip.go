package apply

import (
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// Before the question: which clusters cannot be applied. One refused, suspended or
// unplannable cluster does not hold up the fleet: the others are applied, the skipped ones
// are reported with their reasons (before "yes", in the report and in the audit log), and
// the apply ends with a *SkipError so that it exits non-zero.

// Skipped is a cluster left out of an apply, and why.
type Skipped struct {
	Cluster string   `json:"cluster"`
	Reasons []string `json:"reasons"`
}

// SkipError: some clusters were skipped. Applied says whether the others were applied (the
// CLI exits 6 then, 1 when nothing could be applied).
type SkipError struct {
	Skipped []Skipped
	Applied []string
}

func (e *SkipError) Error() string {
	var parts []string
	for _, s := range e.Skipped {
		parts = append(parts, fmt.Sprintf("cluster %s: %s", s.Cluster, strings.Join(s.Reasons, "; ")))
	}
	if len(e.Applied) == 0 {
		return "the plan cannot be applied:\n  " + strings.Join(parts, "\n  ")
	}
	return fmt.Sprintf("applied %s; skipped %d cluster(s) that cannot be applied:\n  %s\nfix them and apply again (the applied clusters then show no changes)",
		strings.Join(e.Applied, ", "), len(e.Skipped), strings.Join(parts, "\n  "))
}

// skips lists the clusters of p that cannot be applied, each with every reason.
func skips(cfg *spec.Config, p *plan.Plan) []Skipped {
	var out []Skipped
	for _, c := range p.Clusters {
		var why []string
		switch {
		case c.Error != "":
			why = append(why, "could not be planned: "+termsafe.Line(c.Error))
		case len(c.Refusals) > 0:
			for _, r := range c.Refusals {
				rule := ""
				if r.Rule != "" {
					rule = " (" + r.Rule + ")"
				}
				why = append(why, r.Message()+rule)
			}
		case c.Summary.Changes && c.Suspended:
			why = append(why, "suspended in the spec (suspend: true): apply is refused until the spec resumes it")
		case c.Summary.Changes:
			if sc := cfg.Cluster(c.Name); sc != nil {
				for _, pr := range sc.Providers {
					if pr.ReadOnly() {
						why = append(why, fmt.Sprintf("provider %s is read-only; apply writes through CTL Providers only", pr))
					}
				}
			}
		}
		if len(why) > 0 {
			out = append(out, Skipped{Cluster: c.Name, Reasons: why})
		}
	}
	return out
}

// writeSkipped says, before the question, which clusters will not be applied and why.
func writeSkipped(o *Options, skipped []Skipped) {
	if len(skipped) == 0 {
		return
	}
	fmt.Fprintf(o.Out, "\nNot applied: %d cluster(s) cannot be applied; the others go ahead:\n", len(skipped))
	for _, s := range skipped {
		fmt.Fprintf(o.Out, "  %s:\n", s.Cluster)
		for _, r := range s.Reasons {
			fmt.Fprintf(o.Out, "    - %s\n", r)
		}
	}
}

func skippedSet(skipped []Skipped) map[string]bool {
	m := map[string]bool{}
	for _, s := range skipped {
		m[s.Cluster] = true
	}
	return m
}
