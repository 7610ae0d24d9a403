package plan_test

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// A read-only source (no inventory) of a real CUCM tokenless CTL: its SAST records carry the
// publisher's host name and IP, which a token declared by certificate cannot say. Declaring
// both SAST certificates is no change; leaving one out removes exactly that one (the control).
func TestReadOnlyTokenlessSAST(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "ctl", "testdata", "SCFFile.tlv"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ctl.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var names []string
	for i, r := range f.Records {
		if r.Role != ctl.RoleSAST {
			continue
		}
		n := fmt.Sprintf("sast%d", i)
		os.WriteFile(filepath.Join(dir, n+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}), 0o644)
		names = append(names, n)
	}
	// A third, valid token for the control.
	extra := filepath.Join("..", "spec", "testdata", "certs", "token1.pem")
	b, err := os.ReadFile(extra)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "extra.pem"), b, 0o644)
	live := &plan.Live{Targets: []plan.Target{{Server: "tftp://127.0.0.1:69", Address: "tftp://127.0.0.1:69", Data: data}}}
	build := func(tokens ...string) *plan.Cluster {
		var y strings.Builder
		y.WriteString("version: 1\nclusters:\n  - name: c\n    mode: mixed\n    providers: [{url: tftp://127.0.0.1}]\n    tokens:\n")
		for _, tk := range tokens {
			fmt.Fprintf(&y, "      - {name: %s, certificate: %s.pem}\n", tk, tk)
		}
		p := filepath.Join(dir, "ctlops.yaml")
		os.WriteFile(p, []byte(y.String()), 0o644)
		cfg, _, err := spec.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		return plan.Build(cfg.Clusters[0], live, time.Now())
	}
	if c := build(names...); c.Summary.Changes || len(c.Refusals) > 0 || len(c.Warnings) == 0 {
		t.Fatalf("declaring the file's SAST records: %s, actions %+v, refusals %+v, warnings %+v", c.SummaryLine(), c.Actions, c.Refusals, c.Warnings)
	}
	c := build(names[0], "extra")
	if c.Summary.Add != 1 || c.Summary.Remove != 1 || c.Summary.Refresh != 0 {
		t.Fatalf("one SAST replaced by another token: %s %+v", c.SummaryLine(), c.Actions)
	}
}
