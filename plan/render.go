package plan

import (
	"fmt"
	"io"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// TextOptions shape the terminal view.
type TextOptions struct {
	Color   bool // ANSI colours; callers enable it only on a terminal without NO_COLOR
	Verbose bool // print unchanged records too
}

type palette struct{ add, change, remove, replace, bold, dim, warn, reset string }

func colors(on bool) palette {
	if !on {
		return palette{}
	}
	return palette{add: "\x1b[32m", change: "\x1b[33m", remove: "\x1b[31m", replace: "\x1b[35m",
		bold: "\x1b[1m", dim: "\x1b[2m", warn: "\x1b[33m", reset: "\x1b[0m"}
}

// Symbol is the action's glyph in the text and markdown views, as Terraform draws them.
func Symbol(a Action) string {
	switch a {
	case Create:
		return "+"
	case Update:
		return "~"
	case Delete:
		return "-"
	case Replace:
		return "-/+"
	}
	return " "
}

func (c palette) color(a Action) string {
	switch a {
	case Create:
		return c.add
	case Update:
		return c.change
	case Delete:
		return c.remove
	case Replace:
		return c.replace
	}
	return c.dim
}

// SummaryLine is the one-line verdict of a cluster, as Terraform prints it.
func (c *Cluster) SummaryLine() string {
	switch {
	case c.Error != "":
		return "Error: cluster could not be planned."
	case len(c.Refusals) > 0:
		return fmt.Sprintf("Refused: %d problem(s); nothing can apply this plan.", len(c.Refusals))
	case !c.Summary.Changes:
		return "No changes. The live CTL matches the declared state."
	}
	s := c.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "Plan: %d to add, %d to refresh, ", s.Add, s.Refresh)
	if s.Replace > 0 {
		fmt.Fprintf(&b, "%d to replace, ", s.Replace)
	}
	fmt.Fprintf(&b, "%d to remove, ", s.Remove)
	if s.ReplaceNodes > 0 {
		fmt.Fprintf(&b, "%d node file(s) to replace (--replace), ", s.ReplaceNodes)
	}
	if c.Mode.Changed {
		fmt.Fprintf(&b, "mode %s → %s", c.Mode.From, c.Mode.To)
	} else {
		b.WriteString("mode unchanged")
	}
	if s.Sync > 0 {
		fmt.Fprintf(&b, ", %d server(s) to bring in line", s.Sync)
	}
	b.WriteString(".")
	return b.String()
}

// WriteText renders the plan for a terminal.
func (p *Plan) WriteText(w io.Writer, o TextOptions) error {
	c := colors(o.Color)
	var b strings.Builder
	for i, cl := range p.Clusters {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%sCluster %s%s", c.bold, cl.Name, c.reset)
		if cl.Suspended {
			b.WriteString(" (suspended: drift is reported, apply is refused)")
		}
		b.WriteString("\n")
		if cl.Error != "" {
			fmt.Fprintf(&b, "  %sError:%s %s\n", c.remove, c.reset, termsafe.Line(cl.Error))
			continue
		}
		fmt.Fprintf(&b, "  %s\n", cl.SummaryLine())
		if cl.Mode.Changed {
			fmt.Fprintf(&b, "\n  %s~ security mode%s %s → %s (R9, R10)\n", c.change, c.reset, cl.Mode.From, cl.Mode.To)
		}
		if len(cl.Actions) > 0 || (o.Verbose && len(cl.Unchanged) > 0) {
			b.WriteString("\n")
		}
		for _, a := range cl.Actions {
			writeAction(&b, c, a)
		}
		for _, a := range cl.NodeActions {
			fmt.Fprintf(&b, "  %s!  %s %s%s\n        %s\n", c.change, a.Kind, termsafe.Line(a.Server), c.reset, a.String())
		}
		if o.Verbose {
			for _, a := range cl.Unchanged {
				writeAction(&b, c, a)
			}
		} else if n := len(cl.Unchanged); n > 0 {
			fmt.Fprintf(&b, "  %s%d record(s) unchanged (--verbose shows them)%s\n", c.dim, n, c.reset)
		}
		writeTargets(&b, c, cl, o.Verbose)
		writePlatform(&b, c, cl) // plan/tokenless_render.go
		if r := cl.Registration; r != nil {
			fmt.Fprintf(&b, "\n  Phones before apply (RisPort70 on %s): %s\n", termsafe.Line(r.From), r)
		}
		writeProblems(&b, c.remove+"Refused"+c.reset, cl.Refusals)
		writeProblems(&b, c.warn+"Warnings"+c.reset, cl.Warnings)
		if notes := cl.noteLines(); len(notes) > 0 {
			b.WriteString("\n  Notes:\n")
			for _, n := range notes {
				fmt.Fprintf(&b, "    - %s\n", n)
			}
		}
		if cl.Summary.Changes && len(cl.Refusals) == 0 {
			writeSigners(&b, cl)
		}
		if cl.Diff != "" {
			b.WriteString("\n  Records as `show ctl` text, live → desired:\n")
			for _, l := range strings.Split(strings.TrimSuffix(cl.Diff, "\n"), "\n") {
				col := ""
				switch {
				case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
					col = c.bold
				case strings.HasPrefix(l, "+"):
					col = c.add
				case strings.HasPrefix(l, "-"):
					col = c.remove
				case strings.HasPrefix(l, "@@"):
					col = c.dim
				}
				fmt.Fprintf(&b, "    %s%s%s\n", col, termsafe.String(l), resetIf(col, c))
			}
		}
		if len(cl.AfterApply) > 0 && len(cl.Refusals) == 0 {
			b.WriteString("\n  After apply:\n")
			for i, s := range cl.AfterApply {
				fmt.Fprintf(&b, "    %d. %s\n", i+1, s.String())
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func resetIf(col string, c palette) string {
	if col == "" {
		return ""
	}
	return c.reset
}

func writeAction(b *strings.Builder, c palette, a Change) {
	rule := ""
	if a.Reason.Rule != "" {
		rule = " (" + a.Reason.Rule + ")"
	}
	reason := a.Reason.String()
	if reason == "" {
		reason = "unchanged"
	}
	fmt.Fprintf(b, "  %s%-3s%s %s\n", c.color(a.Action), Symbol(a.Action), c.reset, termsafe.Line(a.Record))
	fmt.Fprintf(b, "        %s%s%s%s\n", c.dim, reason, rule, c.reset)
}

func writeTargets(b *strings.Builder, c palette, cl *Cluster, verbose bool) {
	show := verbose
	for _, t := range cl.Targets {
		show = show || t.Status != Current
	}
	if !show || len(cl.Targets) == 0 {
		return
	}
	b.WriteString("\n  Servers holding the CTL:\n")
	for _, t := range cl.Targets {
		digest := "(no file)"
		if t.Digest != "" {
			digest = "sha256 " + t.Digest[:12] + "…"
		}
		kind := ""
		if t.Alternate {
			kind = " alternate TFTP"
		}
		col := ""
		if t.Status != Current {
			col = c.warn
		}
		fmt.Fprintf(b, "    %s%-8s%s %s (%s%s) %s", col, t.Status, resetIf(col, c), termsafe.Line(t.Server), termsafe.Line(t.Address), kind, digest)
		if n := t.Note(); n != "" {
			fmt.Fprintf(b, ": %s", n)
		}
		b.WriteString("\n")
		if t.Lock != nil {
			fmt.Fprintf(b, "             %s\n", t.Lock)
		}
	}
}

func writeProblems(b *strings.Builder, title string, ps []Problem) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(b, "\n  %s:\n", title)
	for _, p := range ps {
		b.WriteString("    - ")
		if p.Pos != "" {
			b.WriteString(termsafe.Line(p.Pos) + ": ") // the spec file's name, from a pull request
		}
		msg := p.Message()
		b.WriteString(msg)
		if p.Rule != "" && !strings.Contains(msg, "("+p.Rule+")") {
			b.WriteString(" (" + p.Rule + ")")
		}
		b.WriteString("\n")
	}
}

func writeSigners(b *strings.Builder, cl *Cluster) {
	if len(cl.Signers) == 0 {
		return
	}
	var names []string
	for _, s := range cl.Signers {
		names = append(names, s.Token)
	}
	what := "tokens the installed CTL trusts (R19)"
	if cl.Live == nil || cl.Live.Digest == "" {
		what = "declared tokens (first CTL: phones trust its signer on first use)"
	}
	fmt.Fprintf(b, "\n  Can be signed by: %s — %s\n", strings.Join(names, ", "), what)
}
