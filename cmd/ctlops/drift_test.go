package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ctlops/ctlops/internal/labtest"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestDriftCLI runs ctlops drift as a user would on a lab: in sync (0), after a node's IP
// changed (2, naming the node and the record), with a dead server (1), and the flags that are
// refused before anything is read.
func TestDriftCLI(t *testing.T) {
	l := labtest.New(t, map[string]int{"hq": 2})
	cfg := l.Spec(labtest.Mixed("hq"))
	l.InstallAll(l.Plan(cfg), "alice")
	spec := filepath.Join(l.Dir, "ctlops.yaml")
	prom := filepath.Join(t.TempDir(), "m.prom")

	code, out, errs := runCmd(t, "drift", "-f", spec, "--timeout", "5s")
	if code != 0 || !strings.Contains(out, "hq: in sync") || !strings.Contains(out, "No drift in 1 cluster(s).") {
		t.Fatalf("in sync: exit %d\n%s%s", code, out, errs)
	}
	l.Clusters["hq"].ChangeIP("cm2", "10.20.30.40")
	code, out, errs = runCmd(t, "drift", "-f", spec, "--timeout", "5s", "--metrics", prom)
	if code != 2 || !strings.Contains(out, "hq: DRIFT") || !strings.Contains(out, "CCM+TFTP cm2") || !strings.Contains(out, "10.20.30.40") {
		t.Fatalf("IP changed: exit %d\n%s%s", code, out, errs)
	}
	f, err := os.Open(prom)
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(f)
	f.Close()
	if err != nil || mfs["ctlops_drift"] == nil || mfs["ctlops_drift"].Metric[0].GetGauge().GetValue() != 1 {
		t.Fatalf("metrics: %v %v", err, mfs["ctlops_drift"])
	}
	code, out, _ = runCmd(t, "drift", "-f", spec, "--format", "json")
	var r struct {
		Clusters []struct {
			Name    string
			Drift   bool
			Reasons []string
		}
	}
	if code != 2 || json.Unmarshal([]byte(out), &r) != nil || len(r.Clusters) != 1 || !r.Clusters[0].Drift {
		t.Fatalf("json: exit %d\n%s", code, out)
	}
	l.Clusters["hq"].Node("cm2").Stop()
	code, out, errs = runCmd(t, "drift", "-f", spec, "--timeout", "2s")
	if code != 1 || !strings.Contains(out, "hq: ERROR") {
		t.Fatalf("dead server: exit %d\n%s%s", code, out, errs)
	}
	for _, s := range []string{out, errs} {
		if strings.Contains(s, labtest.PasswordEnv+"=") || strings.Contains(s, "lab-Secret") {
			t.Fatal("the password is in the output")
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "4/4"}, "--shard"},
		{[]string{"--listen", "127.0.0.1:0"}, "give --every too"},
		{[]string{"--notify", "ftp://x"}, "--notify"},
		{[]string{"--every", "10ms"}, "--every"},
		{[]string{"--format", "yaml"}, "--format"},
		{[]string{"--cluster", "nope"}, "no cluster named nope"},
	} {
		code, out, errs := runCmd(t, append([]string{"drift", "-f", spec}, tc.args...)...)
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", tc.args, code, errs, out)
		}
	}
}
