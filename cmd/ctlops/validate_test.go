package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runValidate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"validate"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestValidateExamples runs validate on every example as a new user would.
func TestValidateExamples(t *testing.T) {
	for _, f := range []string{"mixed/ctlops.yaml", "alternate-tftp/ctlops.yaml", "non-secure/ctlops.yaml",
		"per-cluster", "read-only/ctlops.yaml"} {
		t.Run(f, func(t *testing.T) {
			code, out, errs := runValidate(t, "-f", filepath.Join("../../examples", f))
			if code != 0 || errs != "" || !strings.Contains(out, "\nvalid: ") && !strings.HasPrefix(out, "valid: ") {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
		})
	}
}

// TestValidateFiveErrors is the acceptance run: five mistakes, five lines, each
// file:line:col: path: message, exit 1.
func TestValidateFiveErrors(t *testing.T) {
	f := "../../spec/testdata/invalid/five-errors.yaml"
	code, out, errs := runValidate(t, "-f", f)
	if code != 1 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	line := regexp.MustCompile(`^` + regexp.QuoteMeta(f) + `:\d+:\d+: clusters\[0\][^:]*: .+$`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || lines[5] != "invalid: 5 errors" {
		t.Fatalf("output:\n%s", out)
	}
	for _, l := range lines[:5] {
		if !line.MatchString(l) {
			t.Errorf("not file:line:col: path: message: %s", l)
		}
	}
	if !strings.Contains(out, f+":14:7: clusters[0].tokens: a cluster needs at least 2 tokens, found 1 (R16)") {
		t.Errorf("no R16 line:\n%s", out)
	}
}

func TestValidateJSON(t *testing.T) {
	code, out, _ := runValidate(t, "-f", "../../examples/per-cluster", "--format", "json")
	var r struct {
		Valid    bool
		Clusters []string
		Digest   string
		Warnings []struct{ File string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if !r.Valid || strings.Join(r.Clusters, ",") != "branch,hq" || !strings.HasPrefix(r.Digest, "sha256:") {
		t.Fatalf("report %+v", r)
	}
}

func TestValidateUsage(t *testing.T) {
	if code, _, errs := runValidate(t, "--format", "xml", "-f", "../../examples/mixed/ctlops.yaml"); code != 1 || !strings.Contains(errs, `--format "xml": want text or json`) {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	code, out, _ := runValidate(t, "-f", "../../examples/nope.yaml")
	if code != 1 || !strings.Contains(out, "../../examples/nope.yaml: no such file or directory") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}
