package plan_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider/refserver"
)

// TestScenarioHostileInventory: a server whose inventory entry names a place of its choosing
// (a local directory, a TFTP server, a URL with a path) as its CTL Provider is reported with
// the server named and ignored: nothing there is read, and nothing is ever written there.
func TestScenarioHostileInventory(t *testing.T) {
	for _, addr := range []string{"dir://VICTIM", "tftp://127.0.0.1:1", "https://127.0.0.1:1/x", "user@127.0.0.1:1"} {
		t.Run(addr, func(t *testing.T) {
			l := installed(t, 2, hq("mixed", "alice", "bob"))
			victim := t.TempDir()
			hostile := strings.Replace(addr, "VICTIM", victim, 1)
			pc := l.Clusters["hq"]
			// The positive control: as the server is, its address is a target.
			if n := len(clusterOf(t, l.Plan(l.Spec(hq("mixed", "alice", "bob"))), "hq").Targets); n != 2 {
				t.Fatalf("%d targets before the change, want 2", n)
			}
			if err := refserver.UpdateConfig(filepath.Join(pc.Dir, "cm2", refserver.NodeConfig), func(c *refserver.Config) error {
				c.Listen = hostile
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			p := l.Plan(l.Spec(hq("mixed", "alice", "bob", "carol")))
			c := clusterOf(t, p, "hq")
			found := false
			for _, w := range c.Warnings {
				found = found || w.Kind == plan.InventoryForeignTarget && w.Server == "cm2" && strings.Contains(w.Message(), "cm2")
			}
			if !found {
				t.Errorf("no warning names cm2 and its foreign address: %+v", c.Warnings)
			}
			for _, tg := range c.Targets {
				if tg.Address == hostile || tg.Server == "cm2" {
					t.Errorf("the foreign address is a target: %+v", tg)
				}
			}
			if len(c.Targets) != 1 {
				t.Errorf("targets %+v, want cm1 only", c.Targets)
			}
			if ents, _ := os.ReadDir(victim); len(ents) != 0 {
				t.Errorf("the victim directory was touched: %v", ents)
			}
		})
	}
}

// TestScenarioHostileNameInViews: a server's inventory names it with escapes, backticks,
// pipes, HTML tags and a code fence. The text view shows the diff filtered; the markdown view
// (a pull-request comment) shows every mention of it as plain text or a code span, and the
// diff's code block is not closed by the name's own fence, so no tag of it becomes markup.
func TestScenarioHostileNameInViews(t *testing.T) {
	const name = "evil\x1b[2J`<img src=x>|\n```\n<details>"
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	pc := l.Clusters["hq"]
	if err := refserver.UpdateConfig(filepath.Join(pc.Dir, "cm2", refserver.NodeConfig), func(c *refserver.Config) error {
		c.DNSName = name
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Installed with the name, then an address change: the name is in the diff's context lines.
	l.InstallAll(l.Plan(l.Spec(hq("mixed", "alice", "bob"))), "alice")
	pc.ChangeIP("cm2", "127.0.0.42")
	p := l.Plan(l.Spec(hq("mixed", "alice", "bob")))
	if c := clusterOf(t, p, "hq"); !strings.Contains(c.Diff, "evil\x1b[2J`<img src=x>|\n ```\n <details>") {
		t.Fatalf("the diff does not hold the name (the test would prove nothing):\n%s", c.Diff)
	}
	var txt, md strings.Builder
	if err := p.WriteText(&txt, plan.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteMarkdown(&md, plan.MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(txt.String(), "\x1b") || !strings.Contains(txt.String(), `DNS name:      evil\x1b[2J`) {
		t.Errorf("text view does not show the name filtered:\n%q", txt.String())
	}
	out := md.String()
	if strings.Contains(out, "\x1b") {
		t.Errorf("markdown holds a raw escape:\n%q", out)
	}
	// The diff's block: its fence, and no line inside that closes it.
	open := strings.Index(out, "</summary>\n\n")
	if open < 0 {
		t.Fatalf("no diff block:\n%s", out)
	}
	rest := out[open+len("</summary>\n\n"):]
	fence := rest[:strings.Index(rest, "diff\n")]
	if strings.Trim(fence, "`") != "" || len(fence) < 3 {
		t.Fatalf("diff block opens with %q", fence)
	}
	body, after, ok := strings.Cut(rest[len(fence)+len("diff\n"):], "\n"+fence+"\n\n</details>\n")
	if !ok {
		t.Fatalf("diff block does not close with its fence:\n%s", rest)
	}
	for _, line := range strings.Split(body, "\n") {
		if s := strings.TrimLeft(line, " "); len(line)-len(s) <= 3 && strings.HasPrefix(s, fence) {
			t.Errorf("line %q inside the diff closes its block", line)
		}
	}
	// Outside the block no tag of the name is markup, and no backtick of it is unescaped.
	outside := strings.Replace(out[:open]+after, "<details><summary>", "", 1)
	for _, tag := range []string{"<img", "<details>"} {
		if i := strings.Index(strings.ReplaceAll(outside, `\`+tag, ""), tag); i >= 0 {
			t.Errorf("markdown outside the diff holds the tag %s raw:\n%s", tag, outside)
		}
	}
	if !strings.Contains(outside, "evil\\\\x1b\\[2J\\`\\<img src=x\\>\\|") {
		t.Errorf("the record cell does not show the name escaped:\n%s", outside)
	}
}

// The footer's apply command and the full plan's place quote paths a CI job built (the spec's,
// the --out file's): a backtick or a tag in them stays text. The control: plain paths keep the
// footer as it was.
func TestMarkdownFooterPaths(t *testing.T) {
	for _, tc := range []struct{ name, path, apply, full string }{
		{"plain paths (control)", "plan.json", "Apply with `ctlops apply plan.json` (", "The full plan is in plan.json."},
		{"a backtick and a tag", "p`<img src=x>.json", "Apply with ``ctlops apply p`<img src=x>.json`` (", `The full plan is in p\` + "`" + `\<img src=x\>.json.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &plan.Plan{FormatVersion: plan.FormatVersion, Clusters: []*plan.Cluster{{Name: "c", Summary: plan.Summary{Changes: true},
				Diff: strings.Repeat("+x\n", plan.MaxMarkdown/3+1)}}}
			var b strings.Builder
			if err := p.WriteMarkdown(&b, plan.MarkdownOptions{ApplyCommand: "ctlops apply " + tc.path, FullPlan: tc.path}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.Contains(out, tc.apply) || !strings.Contains(out, tc.full) {
				t.Errorf("footer does not quote the path safely, want %q and %q:\n%s", tc.apply, tc.full, out[max(0, len(out)-600):])
			}
		})
	}
}

// The JSON view escapes what encoding/json leaves raw (C1 controls, bidi overrides) and says
// the same values. The control: plain words.
func TestJSONViewEscaped(t *testing.T) {
	for _, e := range []string{"cm2 unreachable", "cm2\u009b2J unreachable\u202e"} {
		p := &plan.Plan{FormatVersion: plan.FormatVersion, Clusters: []*plan.Cluster{{Name: "c", Error: e}}}
		var b strings.Builder
		if err := p.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		var v struct{ Clusters []struct{ Error string } }
		if err := json.Unmarshal([]byte(b.String()), &v); err != nil || len(v.Clusters) != 1 || v.Clusters[0].Error != e {
			t.Fatalf("the JSON does not say %q (%v):\n%s", e, err, b.String())
		}
		if strings.ContainsAny(b.String(), "\u009b\u202e") {
			t.Errorf("the JSON holds raw controls: %q", b.String())
		}
	}
}

// A problem's position names a file of the spec, and a directory spec from a pull request
// names its files: the text view shows it filtered. The control: a plain name.
func TestProblemPositionFiltered(t *testing.T) {
	for _, tc := range []struct{ pos, shown string }{
		{"specs/hq.yaml:7:5", "specs/hq.yaml:7:5: "},
		{"specs/\x1b[2Jhq\u202e.yaml:7:5", `specs/\x1b[2Jhq\u202e.yaml:7:5: `},
	} {
		p := &plan.Plan{FormatVersion: plan.FormatVersion, Clusters: []*plan.Cluster{{Name: "hq",
			Refusals: []plan.Problem{{Kind: plan.ExpectedServerMissing, Rule: "R14", Pos: tc.pos, Server: "cm9"}}}}}
		var b strings.Builder
		if err := p.WriteText(&b, plan.TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.shown) || strings.ContainsAny(b.String(), "\x1b\u202e") {
			t.Errorf("the text view does not show %q filtered:\n%q", tc.shown, b.String())
		}
	}
}
