package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider/providertest"
)

// planSpec starts a two-node reference cluster and writes a spec for it with the given
// number of token certificates; it returns the spec's path.
func planSpec(t *testing.T, tokens int) string {
	t.Helper()
	pc := providertest.StartNamed(t, "hq", 2)
	dir := t.TempDir()
	t.Setenv("HQ_PASSWORD", providertest.Password)
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nclusters:\n  - name: hq\n    mode: mixed\n    providers:\n")
	for _, a := range pc.Addrs() {
		host, port, _ := strings.Cut(a, ":")
		fmt.Fprintf(&b, "      - {host: %s, port: %s}\n", host, port)
	}
	fmt.Fprintf(&b, "    credentials: {username: %s, password: {env: HQ_PASSWORD}}\n    tls: {ca: %s}\n    tokens:\n", pc.User, pc.CAFile)
	for i := range tokens {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(100 + i)), Subject: pkix.Name{CommonName: fmt.Sprintf("SAST-%d", i)},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, fmt.Sprintf("t%d.pem", i))
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "      - {name: t%d, certificate: t%d.pem}\n", i, i)
	}
	path := filepath.Join(dir, "ctlops.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPlanCommand(t *testing.T) {
	spec := planSpec(t, 2)
	out := filepath.Join(t.TempDir(), "plan.json")

	code, stdout, stderr := runCLI(t, nil, "plan", "-f", spec, "--out", out)
	if code != 0 || !strings.Contains(stdout, "Plan: 4 to add, 0 to refresh, 0 to remove, mode non-secure → mixed.") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "\x1b[") {
		t.Error("colours on a non-terminal")
	}
	saved, err := plan.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if saved.SpecDigest == "" || len(saved.Clusters) != 1 || saved.Clusters[0].Desired == nil || len(saved.Clusters[0].Targets) != 2 {
		t.Fatalf("saved plan lacks what apply needs: %+v", saved.Clusters[0])
	}

	if code, _, _ := runCLI(t, nil, "plan", "-f", spec, "--detailed-exitcode"); code != 2 {
		t.Errorf("--detailed-exitcode with changes: exit %d, want 2", code)
	}

	code, stdout, _ = runCLI(t, nil, "plan", "-f", spec, "--format", "json")
	var js map[string]any
	if err := json.Unmarshal([]byte(stdout), &js); err != nil || code != 0 || js["format_version"] != float64(plan.FormatVersion) {
		t.Errorf("json: exit %d, err %v, format_version %v", code, err, js["format_version"])
	}

	code, stdout, _ = runCLI(t, nil, "plan", "-f", spec, "--format", "markdown")
	if code != 0 || !strings.HasPrefix(stdout, "## ctlops plan") || !strings.Contains(stdout, "```diff") {
		t.Errorf("markdown: exit %d\n%s", code, stdout)
	}
	// The footer's command is the exact one: with -f, since the spec is not ./ctlops.yaml.
	if !strings.Contains(stdout, "ctlops apply -f "+shellWord(spec)) {
		t.Errorf("markdown footer lacks `ctlops apply -f %s`:\n%s", spec, stdout)
	}
	for _, s := range []string{stdout, stderr} {
		if strings.Contains(s, providertest.Password) {
			t.Fatal("the provider password was printed")
		}
	}
}

func TestPlanCommandErrors(t *testing.T) {
	spec := planSpec(t, 2)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-f", spec, "--cluster", "nope"}, "no cluster named nope"},
		{[]string{"plan", "-f", spec, "--format", "yaml"}, "--format"},
		{[]string{"plan", "-f", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, nil, c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 1 and %q", c.args, code, stderr, c.want)
		}
	}
	// A password that is not set: the cluster fails with the variable's name, not a value.
	t.Setenv("HQ_PASSWORD", "")
	os.Unsetenv("HQ_PASSWORD")
	code, stdout, _ := runCLI(t, nil, "plan", "-f", spec)
	if code != 1 || !strings.Contains(stdout, "HQ_PASSWORD") {
		t.Errorf("unset password: exit %d\n%s", code, stdout)
	}
}

func TestPlanMarkdownStaysUnderLimit(t *testing.T) {
	spec := planSpec(t, 2)
	code, stdout, _ := runCLI(t, nil, "plan", "-f", spec, "--format", "json")
	if code != 0 {
		t.Fatal(code)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatal(err)
	}
	// Blow the diff up past the limit, as a fleet-wide change would.
	p.Clusters[0].Diff = strings.Repeat("+  a line of a very long diff\n", 4000)
	var b strings.Builder
	if err := p.WriteMarkdown(&b, plan.MarkdownOptions{FullPlan: "the plan.json artifact"}); err != nil {
		t.Fatal(err)
	}
	if b.Len() > plan.MaxMarkdown || !strings.Contains(b.String(), "the plan.json artifact") || strings.Contains(b.String(), "```diff") {
		t.Errorf("markdown is %d bytes (limit %d), mentions the full plan: %v", b.Len(), plan.MaxMarkdown, strings.Contains(b.String(), "plan.json"))
	}
}
