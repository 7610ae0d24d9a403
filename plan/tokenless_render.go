package plan

import (
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// writePlatform adds a tokenless cluster's part to the text view: who signs, the publisher
// command apply runs, and how each node differs from the prediction. Node names and
// differences quote servers' answers, so they go through termsafe.
func writePlatform(b *strings.Builder, c palette, cl *Cluster) {
	pp := cl.Platform
	if pp == nil {
		return
	}
	fmt.Fprintf(b, "\n  Tokenless CTL: CUCM %s signs with its %s certificate (%s, sha256 %s…)\n",
		termsafe.Line(pp.Release), pp.Signer, termsafe.Line(pp.SignerSubject), prefix(pp.SignerSHA256, 12))
	if pp.Command != "" {
		fmt.Fprintf(b, "  %sCommand:%s %s on %s (platform CLI, answers its (y/n) confirmation)\n", c.bold, c.reset, pp.Command, termsafe.Line(pp.Publisher))
	}
	for _, n := range pp.Nodes {
		if len(n.Differences) == 0 {
			continue
		}
		fmt.Fprintf(b, "    %s%s%s:\n", c.warn, termsafe.Line(n.Node), c.reset)
		for _, d := range n.Differences {
			fmt.Fprintf(b, "      - %s\n", termsafe.Line(d.String()))
		}
	}
}

// mdPlatform is the same for the markdown view.
func mdPlatform(b *strings.Builder, cl *Cluster) {
	pp := cl.Platform
	if pp == nil {
		return
	}
	fmt.Fprintf(b, "\nTokenless CTL: CUCM %s signs with its **%s** certificate (%s).\n",
		mdEscape(pp.Release), pp.Signer, mdEscape(pp.SignerSubject))
	if pp.Command != "" {
		fmt.Fprintf(b, "\nApply runs `%s` on %s.\n", pp.Command, mdCode(pp.Publisher))
	}
	var rows []string
	for _, n := range pp.Nodes {
		for _, d := range n.Differences {
			rows = append(rows, fmt.Sprintf("| %s | %s |", mdCell(n.Node), mdEscape(d.String())))
		}
	}
	if len(rows) > 0 {
		b.WriteString("\n| node | differs from the prediction |\n|---|---|\n" + strings.Join(rows, "\n") + "\n")
	}
}

// noteLines are the cluster's notes in words, for the text and markdown views: the kinds,
// then each IM and Presence node passed over.
func (cl *Cluster) noteLines() []string {
	var out []string
	for _, n := range cl.Notes {
		out = append(out, n.String())
	}
	for _, n := range cl.IMAndPresence {
		out = append(out, n.Note())
	}
	return out
}

// CommandPending reports whether any tokenless cluster of the plan needs its publisher
// command (set-cluster mixed-mode / non-secure-mode / update CTLFile).
func (p *Plan) CommandPending() bool {
	for _, c := range p.Clusters {
		if c.Platform != nil && c.Platform.Command != "" {
			return true
		}
	}
	return false
}

// applyNeeds says what apply will ask for: a security token only when a token cluster
// changes; a tokenless cluster needs the confirmation and its platform account.
func (p *Plan) applyNeeds() string {
	for _, c := range p.Clusters {
		if c.Summary.Changes && c.Platform == nil {
			return "asks for confirmation and a security token"
		}
	}
	return "asks for confirmation, then runs the CLI command on each publisher; no security token"
}
