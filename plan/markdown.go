package plan

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// MaxMarkdown keeps a pull-request comment under the hosts' limits (GitHub's is 65536
// characters) with room for a bot's own header.
const MaxMarkdown = 60000

// MarkdownOptions shape the pull-request view.
type MarkdownOptions struct {
	// ApplyCommand is shown in the footer, e.g. "ctlops apply plan.json".
	ApplyCommand string
	// FullPlan says where the whole plan can be read when the comment had to be cut, e.g.
	// "the plan.json artifact of this CI run".
	FullPlan string
}

// WriteMarkdown renders the plan for a pull-request comment: a summary table of all clusters,
// then per cluster its actions, its problems and the diff folded in <details>. When the result
// would pass MaxMarkdown, the diffs are left out first, then the unchanged detail, and the
// comment says where the full plan is.
func (p *Plan) WriteMarkdown(w io.Writer, o MarkdownOptions) error {
	out := p.markdown(o, true)
	if len(out) > MaxMarkdown {
		out = p.markdown(o, false)
	}
	if len(out) > MaxMarkdown {
		cut := strings.LastIndex(out[:MaxMarkdown-400], "\n")
		out = out[:max(cut, 0)] + "\n\n**The plan is too long for a comment and was cut here.** " + fullPlan(o) + "\n"
	}
	_, err := io.WriteString(w, out)
	return err
}

func fullPlan(o MarkdownOptions) string {
	if o.FullPlan != "" {
		return "The full plan is in " + mdEscape(o.FullPlan) + "." // a path a CI job built
	}
	return "Run `ctlops plan` locally for the full plan."
}

func (p *Plan) markdown(o MarkdownOptions, diffs bool) string {
	var b strings.Builder
	b.WriteString("## ctlops plan\n\n")
	b.WriteString("| cluster | add | refresh | replace | remove | mode | result |\n|---|---:|---:|---:|---:|---|---|\n")
	for _, c := range p.Clusters {
		mode := c.Mode.To
		if c.Mode.Changed {
			mode = c.Mode.From + " → " + c.Mode.To
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s |\n", mdEscape(c.Name), c.Summary.Add, c.Summary.Refresh,
			c.Summary.Replace, c.Summary.Remove, mode, verdict(c))
	}
	for _, c := range p.Clusters {
		fmt.Fprintf(&b, "\n### Cluster %s\n\n", mdCode(c.Name))
		if c.Error != "" {
			fmt.Fprintf(&b, ":x: **Error:** %s\n", mdEscape(c.Error))
			continue
		}
		fmt.Fprintf(&b, "**%s**\n", c.SummaryLine())
		if c.Suspended {
			b.WriteString("\n_Suspended in the spec: drift is reported, apply is refused._\n")
		}
		if c.Mode.Changed {
			fmt.Fprintf(&b, "\nSecurity mode changes from **%s** to **%s** (R9, R10).\n", c.Mode.From, c.Mode.To)
		}
		if len(c.Actions) > 0 {
			b.WriteString("\n| | record | change | rule |\n|---|---|---|---|\n")
			for _, a := range c.Actions {
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", Symbol(a.Action), mdEscape(a.Record), mdEscape(a.Reason.String()), a.Reason.Rule)
			}
		}
		for _, a := range c.NodeActions {
			fmt.Fprintf(&b, "\n:warning: **%s** %s: %s\n", a.Kind, mdCode(a.Server), mdEscape(a.String()))
		}
		if n := len(c.Unchanged); n > 0 {
			fmt.Fprintf(&b, "\n%d record(s) unchanged.\n", n)
		}
		var lagging []string
		for _, t := range c.Targets {
			if t.Status != Current {
				lagging = append(lagging, fmt.Sprintf("%s %s", mdCode(t.Server), t.Status))
			}
		}
		if len(lagging) > 0 {
			fmt.Fprintf(&b, "\nServers not holding the cluster's CTL: %s.\n", strings.Join(lagging, ", "))
		}
		for _, t := range c.Targets {
			if t.Lock != nil {
				fmt.Fprintf(&b, "\n:lock: %s: %s\n", mdCode(t.Server), mdEscape(t.Lock.String()))
			}
		}
		mdPlatform(&b, c) // plan/tokenless_render.go
		if r := c.Registration; r != nil {
			fmt.Fprintf(&b, "\nPhones before apply (RisPort70 on %s): %s.\n", mdCode(r.From), mdEscape(r.String()))
		}
		mdProblems(&b, ":no_entry: **Refused**", c.Refusals)
		mdProblems(&b, ":warning: **Warnings**", c.Warnings)
		for _, n := range c.noteLines() {
			fmt.Fprintf(&b, "\n> %s\n", mdEscape(n))
		}
		if c.Summary.Changes && len(c.Refusals) == 0 && len(c.Signers) > 0 {
			var names []string
			for _, s := range c.Signers {
				names = append(names, mdCode(s.Token))
			}
			fmt.Fprintf(&b, "\nCan be signed by: %s (R19).\n", strings.Join(names, ", "))
		}
		if c.Diff != "" {
			if diffs {
				fence := mdFence(c.Diff)
				fmt.Fprintf(&b, "\n<details><summary>CTL records as <code>show ctl</code> text, live → desired</summary>\n\n%sdiff\n%s%s\n\n</details>\n", fence, termsafe.String(c.Diff), fence)
			} else {
				fmt.Fprintf(&b, "\n_The record diff (%d bytes) is left out to keep this comment short. %s_\n", len(c.Diff), fullPlan(o))
			}
		}
		if len(c.AfterApply) > 0 && len(c.Refusals) == 0 {
			b.WriteString("\n**After apply:**\n")
			for i, s := range c.AfterApply {
				fmt.Fprintf(&b, "%d. %s\n", i+1, mdEscape(s.String()))
			}
		}
	}
	b.WriteString("\n---\n")
	switch {
	case p.Failed():
		b.WriteString("This plan cannot be applied until the refusals above are fixed.\n")
	case !p.HasChanges():
		b.WriteString("Nothing to apply.\n")
	default:
		cmd := o.ApplyCommand
		if cmd == "" {
			cmd = "ctlops apply"
		}
		fmt.Fprintf(&b, "Apply with %s (%s).\n", mdCode(cmd), p.applyNeeds()) // plan/tokenless_render.go; cmd quotes paths
	}
	if p.SpecDigest != "" {
		fmt.Fprintf(&b, "<sub>spec %s · ctlops %s</sub>\n", p.SpecDigest, p.CtlopsVersion)
	}
	return b.String()
}

func verdict(c *Cluster) string {
	switch {
	case c.Error != "":
		return ":x: error"
	case len(c.Refusals) > 0:
		return fmt.Sprintf(":no_entry: refused (%d)", len(c.Refusals))
	case !c.Summary.Changes:
		return ":white_check_mark: no changes"
	case len(c.Warnings) > 0:
		return fmt.Sprintf(":warning: changes, %d warning(s)", len(c.Warnings))
	}
	return ":arrow_right: changes"
}

func mdProblems(b *strings.Builder, title string, ps []Problem) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s\n\n", title)
	for _, p := range ps {
		b.WriteString("- ")
		if p.Rule != "" {
			fmt.Fprintf(b, "**%s** ", p.Rule)
		}
		if p.Pos != "" {
			fmt.Fprintf(b, "%s: ", mdCode(p.Pos))
		}
		b.WriteString(mdEscape(p.Message()))
		b.WriteString("\n")
	}
}

// mdEscape makes a string from outside plain text in markdown: through the terminal filter
// and on one line, with every character markdown or HTML would read as syntax (a backtick, a
// pipe that splits a table cell, a tag such as <img> or <details>, a link's brackets, an
// entity's &) escaped, so a server's name cannot add markup, links or images to a comment.
//
// It also breaks what GitHub turns into a notification or a link in plain text: an @mention
// (`@team` pings a team; so does `user@host`'s email autolink, a link) and an autolinked URL
// (`https://…`, `www.…`), with a zero-width space (U+200B) after each `@`, between a
// scheme's `:` and `//`, and after `www`: the words read the same, but GitHub's mention and
// autolink patterns no longer match. GitHub does not document what stops a mention
// [unconfirmed]; a backslash (`\@`) or an entity (`&#64;`) would not be safe, since GitHub
// finds mentions in the rendered text, after escapes and entities are decoded [unconfirmed],
// so the character is inserted rather than escaped. A code span (mdCode) needs none of this:
// GitHub neither mentions nor autolinks inside code.
func mdEscape(s string) string {
	return mdNoPing(mdSyntax.Replace(termsafe.Line(s)))
}

// zwsp is the zero-width space mdEscape inserts to break mentions and autolinks.
const zwsp = "\u200b"

var (
	mdMention = strings.NewReplacer("@", "@"+zwsp, "://", ":"+zwsp+"//")
	mdWWW     = regexp.MustCompile(`(?i)www\.`)
)

func mdNoPing(s string) string {
	return mdWWW.ReplaceAllStringFunc(mdMention.Replace(s), func(w string) string { return w[:3] + zwsp + w[3:] })
}

var mdSyntax = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "|", `\|`, "&", `\&`, "~", `\~`)

// mdCode shows a string from outside as a code span: filtered, on one line, between more
// backticks than it holds in a row, so none of its own can end the span early. In a table
// cell, pipes must be escaped as well (mdCell).
func mdCode(s string) string {
	s = termsafe.Line(s)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdCell is mdCode inside a table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(mdCode(s), "|", `\|`)
}

// mdFence is the fence of a code block holding text: longer than any run of backticks in it,
// so no line of the text (a server's name in a diff) can close the block and start markup.
func mdFence(text string) string {
	return strings.Repeat("`", max(3, longestRun(text, '`')+1))
}

func longestRun(s string, c byte) int {
	n, longest := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] != c {
			n = 0
			continue
		}
		n++
		longest = max(longest, n)
	}
	return longest
}
