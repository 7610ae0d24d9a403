package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The demo's story, checked step by step: first CTL planned and applied on a SoftHSM2 token,
// served by every node over TFTP and verified by openssl, no drift, an IP change found as
// drift and fixed, no drift again.
func TestStory(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	s := startLab(t)
	planFile := filepath.Join(s.lab, "plans", "first.json")
	os.MkdirAll(filepath.Dir(planFile), 0o755)

	r := s.run(2, "plan", "-f", s.spec(), "--detailed-exitcode", "--out", planFile)
	if !strings.Contains(r.stdout, "Plan: 7 to add") || !strings.Contains(r.stdout, "Plan: 3 to add") {
		t.Fatalf("first plan:\n%s", r.stdout)
	}
	s.run(0, "apply", planFile, "-f", s.spec(), "--auto-approve")
	s.allServeSignedBy("hq", "SAST-lab-alice")
	s.allServeSignedBy("branch", "SAST-lab-alice")
	s.run(0, "plan", "-f", s.spec(), "--detailed-exitcode")
	s.run(0, "drift", "-f", s.spec())

	// Applying the saved plan again after a node's IP changed is refused as stale.
	s.run(0, "lab", "event", "--dir", s.lab, "ip-change", "cm2", "10.10.0.12")
	r = s.run(1, "apply", planFile, "-f", s.spec(), "--auto-approve")
	if !strings.Contains(r.stderr+r.stdout, "stale") {
		t.Errorf("a stale plan was not called stale:\n%s%s", r.stdout, r.stderr)
	}
	r = s.run(2, "drift", "-f", s.spec())
	if out := r.stdout + r.stderr; !strings.Contains(out, "cm2") || !strings.Contains(out, "10.10.0.12") {
		t.Errorf("drift does not name the node and its new address:\n%s", out)
	}
	r = s.run(2, "plan", "-f", s.spec(), "--cluster", "hq", "--detailed-exitcode")
	if !strings.Contains(r.stdout, "Plan: 0 to add, 1 to refresh, 0 to remove") {
		t.Errorf("plan after the IP change:\n%s", r.stdout)
	}
	s.run(0, "apply", "-f", s.spec(), "--cluster", "hq", "--auto-approve")
	s.run(0, "drift", "-f", s.spec())
	s.allServeSignedBy("hq", "SAST-lab-alice")
}

// Every kind of event a cluster goes through (R22) ends in drift found, planned, applied and
// cleared; tampering is found and refused, naming the server.
func TestEveryLabEvent(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	s := startLab(t)
	s.run(0, "apply", "-f", s.spec(), "--auto-approve")
	s.run(0, "drift", "-f", s.spec())

	events := []struct {
		args    []string
		cluster string
		plan    string // what the plan says
	}{
		{[]string{"ip-change", "cm2", "10.10.0.22"}, "hq", "1 to refresh"},
		{[]string{"rename", "cm3", "tftp3"}, "hq", "1 to refresh"},
		{[]string{"regen-cert", "cm1"}, "hq", "1 to refresh"},
		{[]string{"add-node", "hq"}, "hq", "1 to add"},
		{[]string{"enable-capf", "branch"}, "branch", "1 to add"},
		{[]string{"manual-update", "cm2"}, "hq", "server(s) to bring in line"},
		{[]string{"regen-cert", "br1"}, "hq", "1 to replace"},
	}
	for _, e := range events {
		t.Run(strings.Join(e.args, "-"), func(t *testing.T) {
			s.t = t
			s.run(0, append([]string{"lab", "event", "--dir", s.lab}, e.args...)...)
			s.run(2, "drift", "-f", s.spec())
			r := s.run(2, "plan", "-f", s.spec(), "--detailed-exitcode")
			if !strings.Contains(r.stdout, e.plan) {
				t.Errorf("plan does not say %q:\n%s", e.plan, r.stdout)
			}
			s.run(0, "apply", "-f", s.spec(), "--auto-approve")
			s.run(0, "drift", "-f", s.spec())
		})
	}
	t.Run("remove-node", func(t *testing.T) {
		s.t = t
		s.run(0, "lab", "event", "--dir", s.lab, "remove-node", "cm2")
		s.run(2, "drift", "-f", s.spec())
		r := s.run(2, "plan", "-f", s.spec(), "--detailed-exitcode")
		if !strings.Contains(r.stdout, "1 to remove") {
			t.Errorf("plan:\n%s", r.stdout)
		}
		s.run(0, "apply", "-f", s.spec(), "--auto-approve")
		s.run(0, "drift", "-f", s.spec())
	})
	t.Run("tamper", func(t *testing.T) {
		s.t = t
		s.run(0, "lab", "event", "--dir", s.lab, "tamper", "cm1")
		s.run(2, "drift", "-f", s.spec())
		r := s.run(1, "plan", "-f", s.spec())
		if !strings.Contains(r.stdout, "cm1") || !strings.Contains(r.stdout, "tampering") {
			t.Errorf("plan does not refuse naming cm1:\n%s", r.stdout)
		}
		s.run(1, "apply", "-f", s.spec(), "--auto-approve")
	})
	s.t = t
}

// The pull-request flow: a YAML change in a Git repository, planned as a markdown comment a
// reviewer can approve from.
func TestPullRequestFlow(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	s := startLab(t)
	s.run(0, "apply", "-f", s.spec(), "--auto-approve")
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", s.lab, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", "ctlops.yaml", "tokens", "hq/ca.pem", "branch/ca.pem")
	git("commit", "-qm", "lab spec")

	spec, err := os.ReadFile(s.spec())
	if err != nil {
		t.Fatal(err)
	}
	// The change under review: carol's token joins hq.
	changed := strings.Replace(string(spec), "      - {name: lab-bob, certificate: tokens/lab-bob.pem}\n",
		"      - {name: lab-bob, certificate: tokens/lab-bob.pem}\n      - {name: lab-carol, certificate: tokens/lab-carol.pem}\n", 1)
	if changed == string(spec) {
		t.Fatalf("the lab spec has no lab-bob line to add carol after:\n%s", spec)
	}
	if err := os.WriteFile(s.spec(), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	git("commit", "-qam", "hq: add lab-carol's token")

	r := s.run(2, "plan", "-f", s.spec(), "--format", "markdown", "--detailed-exitcode", "--out", filepath.Join(s.lab, "pr.plan"))
	md := r.stdout
	for _, want := range []string{
		"| hq | 1 | 0 | 0 | 0 | mixed |",
		"| branch | 0 | 0 | 0 | 0 | mixed | :white_check_mark: no changes |",
		"| `+` | SAST CN=SAST-lab-carol",
		"```diff",
		"Can be signed by: `lab-alice`, `lab-bob` (R19).",
		"ctlops apply " + filepath.Join(s.lab, "pr.plan"),
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the pull-request comment lacks %q:\n%s", want, md)
		}
	}
	if len(md) > 60000 {
		t.Errorf("comment is %d bytes", len(md))
	}
	// The reviewed plan is what gets applied.
	s.run(0, "apply", filepath.Join(s.lab, "pr.plan"), "-f", s.spec(), "--auto-approve")
	s.run(0, "plan", "-f", s.spec(), "--detailed-exitcode")
}
