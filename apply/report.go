package apply

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/plan"
)

// Step 8: the report view of an apply, rendered from its results.

// report prints each cluster's outcome and the next steps, and returns a *PushError when a
// server was not brought in line.
func (o *Options) report(ctx context.Context, works []*work) error {
	var failed, problems []string
	for _, w := range works {
		fmt.Fprintf(o.Out, "\nCluster %s:\n", w.c.Name)
		// Names and addresses come from the servers' inventories: shown filtered.
		width := 0
		for _, t := range w.targets {
			width = max(width, len(termsafe.Line(t.ts.Server)))
		}
		for _, t := range w.targets {
			server, address := termsafe.Line(t.ts.Server), termsafe.Line(t.ts.Address)
			alt := ""
			if t.ts.Alternate {
				alt = " (alternate TFTP)"
			}
			switch t.res.Status {
			case "updated":
				fmt.Fprintf(o.Out, "  %-*s  %s%s: updated, now holds %s (was %s), read back and verified\n", width, server, address, alt, shortDigest(t.res.Holds), shortDigest(t.res.Before))
			case "unchanged":
				fmt.Fprintf(o.Out, "  %-*s  %s%s: already holds %s\n", width, server, address, alt, shortDigest(t.res.Holds))
			default:
				now := "its old file"
				switch t.res.Holds {
				case w.res.Digest:
					now = "the new file"
				case unknown:
					now = "a file that could not be read back"
				case "":
					now = "no file"
				}
				fmt.Fprintf(o.Out, "  %-*s  %s%s: FAILED: %s; it now holds %s (%s)\n", width, server, address, alt, termsafe.Line(t.res.Error), now, shortDigest(t.res.Holds))
				failed = append(failed, fmt.Sprintf("%s/%s holds %s", w.c.Name, t.ts.Server, shortDigest(t.res.Holds)))
			}
		}
		if len(w.res.ModeSetOn) > 0 {
			fmt.Fprintf(o.Out, "  Security mode set to %s on %s (R10, R11).\n", w.res.Mode, termsafe.Line(strings.Join(w.res.ModeSetOn, ", ")))
		}
		for _, r := range w.res.Restarted {
			fmt.Fprintf(o.Out, "  Restarted %s (R23).\n", termsafe.Line(r))
		}
		for _, pr := range w.res.Problems {
			fmt.Fprintf(o.Out, "  Problem: %s\n", termsafe.Line(pr))
		}
		for _, pr := range w.res.Problems {
			problems = append(problems, w.c.Name+": "+pr)
		}
		var next []plan.Step
		for _, step := range w.c.AfterApply {
			if o.RestartServices && step.Kind == plan.StepRestart && len(w.res.Restarted) > 0 ||
				rolledOut(w.res, step.Kind) {
				continue
			}
			next = append(next, step)
		}
		if len(next) > 0 {
			fmt.Fprintln(o.Out, "  Next:")
			for i, step := range next {
				fmt.Fprintf(o.Out, "    %d. %s\n", i+1, step)
			}
		}
	}
	if len(failed) > 0 || len(problems) > 0 {
		return &PushError{Failed: failed, Problems: problems, Interrupted: ctx.Err() != nil}
	}
	fmt.Fprintln(o.Out, "\nApply complete.")
	return nil
}
