package apply

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
)

// Step 1 with a saved plan: load it, narrow it to --cluster, plan the same clusters afresh
// and accept the fresh plan only when it is the same plan. The saved plan is only the
// statement of what was approved: everything apply does is decided from the fresh one.

// savedPlan returns the fresh plan that is the same as the saved one (narrowed to
// o.Clusters), or a *StaleError naming the difference.
func (o *Options) savedPlan(ctx context.Context) (*plan.Plan, error) {
	saved, err := plan.Load(o.PlanFile)
	if err != nil {
		return nil, err
	}
	if err := o.checkAge(saved); err != nil {
		return nil, err
	}
	if saved, err = narrow(saved, o.Clusters, o.PlanFile); err != nil {
		return nil, err
	}
	var names []string
	for _, c := range saved.Clusters {
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: the plan holds no cluster", o.PlanFile)
	}
	// Always read every server again: the saved plan is applied only to what it saw.
	lo := o.Live
	lo.Plan = o.planInputs()
	fresh, err := live.Plan(ctx, o.Config, names, lo, o.Version, o.Now())
	if err != nil {
		return nil, err
	}
	// A server that cannot be read now is not a stale plan: say what it is, one line per
	// server (issue 17).
	var unread []string
	for _, c := range fresh.Clusters {
		if c.Error != "" {
			for _, e := range strings.Split(c.Error, "; ") {
				unread = append(unread, c.Name+": "+termsafe.Line(e))
			}
		}
	}
	if len(unread) > 0 {
		return fresh, fmt.Errorf("saved plan %s cannot be checked against the live clusters, nothing was written:\n  %s",
			o.PlanFile, strings.Join(unread, "\n  "))
	}
	if why := plan.Stale(saved, fresh); len(why) > 0 {
		return fresh, &StaleError{Path: o.PlanFile, Reasons: why, Fresh: stillSame(saved, fresh)}
	}
	// Another expiry window gives other warnings: say that, and the flag, rather than a
	// difference of warnings (plan/window.go).
	if why, flag := plan.WindowMismatch(saved, fresh); len(why) > 0 {
		return fresh, &WindowError{Path: o.PlanFile, Reasons: why, Flag: flag}
	}
	if why := plan.Compare(saved, fresh); len(why) > 0 {
		return fresh, &StaleError{Path: o.PlanFile, Reasons: why, Differs: true, Fresh: stillSame(saved, fresh)}
	}
	fmt.Fprintf(o.Out, "Saved plan %s (made %s by ctlops %s), checked against the live clusters:\n",
		o.PlanFile, saved.Created.Format(time.RFC3339), termsafe.Line(saved.CtlopsVersion))
	for _, c := range fresh.Clusters {
		fmt.Fprintf(o.Out, "  %s: %s\n", c.Name, c.SummaryLine())
	}
	// The reviewer saw the warnings when the plan was made; whoever types "yes" now may not
	// have: they are said again before the question.
	writeWarnings(o, fresh)
	return fresh, nil
}

// WindowError: the saved plan's certificate warnings were computed with another expiry window
// than this apply's (--expiry-window, else the spec's expiryWarning), so they are not the
// warnings apply would show. Nothing was written.
type WindowError struct {
	Path    string
	Reasons []string
	// Flag is the --expiry-window that gives apply the plan's windows; "" when the plan was
	// made without one (its windows are the spec's, and differ by cluster).
	Flag string
}

func (e *WindowError) Error() string {
	fix := "run apply without --expiry-window, as the plan was made (the spec's windows)"
	if e.Flag != "" {
		fix = "give apply the plan's window, `" + e.Flag + "`"
	}
	return fmt.Sprintf("saved plan %s was made with another expiry window than this apply's (--expiry-window, else the spec's expiryWarning), nothing was written:\n  %s\n%s, or make a new plan with `ctlops plan --out %s`",
		e.Path, strings.Join(e.Reasons, "\n  "), fix, e.Path)
}

// narrow keeps the clusters of a saved plan that --cluster names (all when none is named); a
// name the plan does not hold is an error, not a silent no-op.
func narrow(saved *plan.Plan, names []string, path string) (*plan.Plan, error) {
	if len(names) == 0 {
		return saved, nil
	}
	byName := map[string]*plan.Cluster{}
	var held []string
	for _, c := range saved.Clusters {
		byName[c.Name] = c
		held = append(held, c.Name)
	}
	out := *saved
	out.Clusters = nil
	seen := map[string]bool{}
	for _, n := range names {
		c := byName[n]
		if c == nil {
			return nil, fmt.Errorf("--cluster %s: the saved plan %s holds no such cluster (it holds %s)", n, path, strings.Join(held, ", "))
		}
		if !seen[n] {
			seen[n] = true
			out.Clusters = append(out.Clusters, c)
		}
	}
	// Keep the saved plan's order, so that the comparison with the fresh plan (made in the
	// spec's order) is not about the order of the flags.
	ordered := make([]*plan.Cluster, 0, len(out.Clusters))
	for _, c := range saved.Clusters {
		if seen[c.Name] {
			ordered = append(ordered, c)
		}
	}
	out.Clusters = ordered
	return &out, nil
}

// stillSame lists the clusters of a stale saved plan that, alone, are still the plan made
// now: the hint says they can be applied with --cluster.
func stillSame(saved, fresh *plan.Plan) []string {
	byName := map[string]*plan.Cluster{}
	for _, c := range fresh.Clusters {
		byName[c.Name] = c
	}
	var same []string
	for _, s := range saved.Clusters {
		n := byName[s.Name]
		if n == nil {
			continue
		}
		a, b := *saved, *fresh
		a.Clusters, b.Clusters = []*plan.Cluster{s}, []*plan.Cluster{n}
		if len(plan.Stale(&a, &b)) == 0 && len(plan.Compare(&a, &b)) == 0 {
			same = append(same, s.Name)
		}
	}
	if len(same) == len(saved.Clusters) {
		return nil
	}
	return same
}

// writeWarnings repeats every cluster's warnings, with their rules, before the question.
func writeWarnings(o *Options, p *plan.Plan) {
	first := true
	for _, c := range p.Clusters {
		for _, w := range c.Warnings {
			if first {
				fmt.Fprintln(o.Out, "\nWarnings of the plan:")
				first = false
			}
			rule := ""
			if w.Rule != "" {
				rule = " (" + w.Rule + ")"
			}
			fmt.Fprintf(o.Out, "  - %s: %s%s\n", c.Name, w.Message(), rule)
		}
	}
}
