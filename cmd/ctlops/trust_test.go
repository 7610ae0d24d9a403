package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ctlops/ctlops/provider/providertest"
	"github.com/ctlops/ctlops/provider/providertest/hostile"
)

// hostileSpec writes a spec whose cluster hq is reached at addr with the given pin.
func hostileSpec(t *testing.T, addr, pin string) string {
	t.Helper()
	certs, _ := filepath.Abs("../../spec/testdata/certs")
	host, port, _ := strings.Cut(addr, ":")
	dir := t.TempDir()
	p := filepath.Join(dir, "ctlops.yaml")
	y := "version: 1\nclusters:\n  - name: hq\n    mode: mixed\n    providers:\n      - {host: " + host + ", port: " + port + "}\n" +
		"    credentials: {username: admin, password: {env: HQ_PASSWORD}}\n    tls: {pin: [" + pin + "]}\n" +
		"    tokens:\n      - {name: t1, certificate: " + certs + "/token1.pem}\n      - {name: t2, certificate: " + certs + "/token2.pem}\n"
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPullRequestCannotSteerCredentials is the exfiltration attempt of issue 12: a pull
// request points cluster hq at its own server, or pins that server's certificate, while CI
// runs plan with the provider password in its environment. With the base branch's spec as
// --trusted-spec (or $CTLOPS_TRUSTED_SPEC), plan refuses, naming the cluster and the field,
// and the hostile server receives nothing.
func TestPullRequestCannotSteerCredentials(t *testing.T) {
	t.Setenv("HQ_PASSWORD", providertest.Password)
	evil := hostile.NewHTTPS(t, hostile.Body(http.StatusOK, "application/json", []byte(`{"cluster":"hq","servers":[]}`)))
	other := hostile.NewHTTPS(t, hostile.Body(http.StatusOK, "application/json", []byte(`{}`)))
	// The base branch reaches hq at "other" (a stand-in for the real node) with its pin.
	base := hostileSpec(t, other.Addr, other.Pin)
	// Positive control: without the trusted spec the same pull request does hand the password
	// to the hostile server, so the assertions below can fail.
	moved := hostileSpec(t, evil.Addr, evil.Pin)
	runCLI(t, nil, "plan", "-f", moved, "--timeout", "5s")
	if evil.Credentials() == 0 {
		t.Fatal("control: the hostile server got no credential even without --trusted-spec; the test proves nothing")
	}
	evil = hostile.NewHTTPS(t, hostile.Body(http.StatusOK, "application/json", []byte(`{}`)))
	tests := []struct {
		name, pr string
		env      bool
		want     []string
	}{
		{"host moved", hostileSpec(t, evil.Addr, other.Pin), false,
			[]string{`providers[0]: cluster "hq": CTL Provider ` + evil.Addr + ` is not a trusted endpoint (trusted: ` + other.Addr + `)`}},
		{"host and pin moved, via the environment", hostileSpec(t, evil.Addr, evil.Pin), true,
			[]string{`providers[0]: cluster "hq"`, `tls.pin[0]: cluster "hq": pin ` + evil.Pin + ` is not a trusted pin`}},
		{"pin swapped at the trusted address", hostileSpec(t, other.Addr, evil.Pin), false,
			[]string{`tls.pin[0]: cluster "hq"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"plan", "-f", tt.pr, "--timeout", "5s"}
			if tt.env {
				t.Setenv("CTLOPS_TRUSTED_SPEC", base)
			} else {
				args = append(args, "--trusted-spec", base)
			}
			code, stdout, stderr := runCLI(t, nil, args...)
			if code != 1 || !strings.Contains(stderr, "refused before connecting") {
				t.Fatalf("exit %d, want 1 and a refusal\n%s%s", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, tt.pr+":") || !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q at %s:\n%s", w, tt.pr, stderr)
				}
			}
			if strings.Contains(stdout+stderr, providertest.Password) {
				t.Error("the password was printed")
			}
		})
	}
	if n := len(evil.Requests()); n != 0 {
		t.Errorf("the hostile server got %d requests (%d with credentials)", n, evil.Credentials())
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("nothing should connect once a refusal is found, yet the trusted address got %d requests", n)
	}
	// The same spec as the trusted one plans as usual (it reaches "other", which answers junk:
	// an error naming it, but no refusal).
	code, stdout, stderr := runCLI(t, nil, "plan", "-f", base, "--trusted-spec", base, "--timeout", "5s")
	if strings.Contains(stderr, "refused before connecting") || len(other.Requests()) == 0 {
		t.Errorf("the trusted spec itself: exit %d, %d requests\n%s%s", code, len(other.Requests()), stdout, stderr)
	}
}

// The pull-request recipe pins connections to the base branch and keeps the plan it shows, and
// the apply after approval applies that file; its comments say why.
func TestCIRecipePinsConnections(t *testing.T) {
	b, err := os.ReadFile("../../examples/ci/ctlops-github-workflow.yml.example")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Needs       any    `yaml:"needs"`
			Environment string `yaml:"environment"`
			Steps       []struct {
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	job := func(name string) (runs string, uses []string, with []map[string]string) {
		for _, s := range wf.Jobs[name].Steps {
			runs += s.Run + "\n"
			uses = append(uses, s.Uses)
			with = append(with, s.With)
		}
		return
	}
	runs, _, with := job("plan")
	for _, w := range []string{"ctlops plan ", `--trusted-spec "base/`, "--out plan.json"} {
		if !strings.Contains(runs, w) {
			t.Errorf("plan job does not run %q:\n%s", w, runs)
		}
	}
	var baseRef, upload bool
	for _, w := range with {
		baseRef = baseRef || (w["path"] == "base" && strings.Contains(w["ref"], "base.sha"))
		upload = upload || w["path"] == "plan.json"
	}
	if !baseRef || !upload {
		t.Errorf("plan job: base branch checked out %v, plan file uploaded %v", baseRef, upload)
	}
	runs, uses, _ := job("apply")
	if wf.Jobs["apply"].Environment == "" || !strings.Contains(strings.Join(uses, " "), "download-artifact") ||
		!strings.Contains(runs, "ctlops apply plan.json") || !strings.Contains(runs, "--trusted-spec") {
		t.Errorf("apply job does not apply the kept plan behind an environment approval:\n%s", runs)
	}
	for _, w := range []string{"Why --trusted-spec", "CTLOPS_SECRET_DIRS", "persist-credentials", "CODEOWNERS"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("the recipe's comments do not explain %q", w)
		}
	}
}

// The example connections file pins the example spec it describes: the unchanged spec passes,
// and moving one host of it is refused.
func TestExampleConnectionsFile(t *testing.T) {
	conn := "../../examples/ci/trusted-connections.yaml.example"
	code, stdout, stderr := runCLI(t, nil, "drift", "-f", "../../examples/alternate-tftp/ctlops.yaml", "--trusted-spec", conn, "--timeout", "1ms", "--cluster", "nope")
	if strings.Contains(stderr, "refused before connecting") || strings.Contains(stderr, "do not load") {
		t.Fatalf("the example spec is refused by its own connections file: exit %d\n%s%s", code, stdout, stderr)
	}
	b, _ := os.ReadFile("../../examples/alternate-tftp/ctlops.yaml")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "alternate-tftp"), 0o755)
	moved := filepath.Join(dir, "alternate-tftp", "ctlops.yaml")
	os.WriteFile(moved, []byte(strings.Replace(string(b), "host: cm-pub.hq.example.com", "host: cm-pub.evil.example.com", 1)), 0o644)
	certs, _ := filepath.Abs("../../examples/certs")
	os.Symlink(certs, filepath.Join(dir, "certs"))
	code, _, stderr = runCLI(t, nil, "drift", "-f", moved, "--trusted-spec", conn)
	if code != 1 || !strings.Contains(stderr, `providers[0]: cluster "hq": CTL Provider cm-pub.evil.example.com:2444 is not a trusted endpoint`) {
		t.Fatalf("moved host: exit %d\n%s", code, stderr)
	}
}
