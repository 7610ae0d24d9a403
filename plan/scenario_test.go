package plan_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/internal/labtest"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider/providertest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// lab is internal/labtest's lab of reference clusters and software tokens.
type lab = labtest.Lab

// clusterSpec is one cluster of a test spec.
type clusterSpec = labtest.ClusterSpec

func newLab(t *testing.T, nodes map[string]int) *lab { return labtest.New(t, nodes) }

func clusterOf(t testing.TB, p *plan.Plan, name string) *plan.Cluster {
	for _, c := range p.Clusters {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cluster %s in the plan", name)
	return nil
}

// normalize replaces what differs between runs (generated keys, ports, paths, dates) so that
// golden files hold the shape of a plan and every word of it.
var normalizers = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`/tmp/[^\s"'):,]+`), "TMPDIR"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "<sha256>"},
	{regexp.MustCompile(`sha256:<sha256>`), "<sha256>"},
	{regexp.MustCompile(`\b[0-9a-f]{12}…`), "<hex>…"},
	{regexp.MustCompile(`"data": "[A-Za-z0-9+/=]+"`), `"data": "<base64>"`},
	{regexp.MustCompile(`\b[0-9a-f]{10,40}\b`), "<serial>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "<time>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d`), "<time>"},
	{regexp.MustCompile(`"size": \d+`), `"size": N`},
	{regexp.MustCompile(`\(\d+ bytes\)`), "(N bytes)"},
}

func normalize(s string) string {
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.repl)
	}
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	got = normalize(got)
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./plan -update writes it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		i := 0
		for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
			i++
		}
		line := func(ls []string) string {
			if i < len(ls) {
				return ls[i]
			}
			return "(end)"
		}
		t.Errorf("%s differs from the golden file at line %d (go test ./plan -update rewrites it):\n got: %s\nwant: %s", path, i+1, line(gl), line(wl))
	}
}

// goldenAll checks the three views of a plan.
func goldenAll(t *testing.T, name string, p *plan.Plan) {
	t.Helper()
	var txt, md, js bytes.Buffer
	if err := p.WriteText(&txt, plan.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteMarkdown(&md, plan.MarkdownOptions{ApplyCommand: "ctlops apply plan.json"}); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("scenarios", name+".txt"), txt.String())
	golden(t, filepath.Join("scenarios", name+".md"), md.String())
	golden(t, filepath.Join("scenarios", name+".json"), js.String())
	for _, out := range []string{txt.String(), md.String(), js.String()} {
		if strings.Contains(out, providertest.Password) {
			t.Fatal("the provider password appears in a plan view")
		}
	}
}
