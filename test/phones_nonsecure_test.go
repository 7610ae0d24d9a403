package test

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// TestPhonesNonSecure is issue 15's proof for the other mode: after mixed → non-secure
// (plan, apply, reset), every phone of hq and branch is registered, not over TLS (P38: the CTL
// holds no CallManager certificate, R12), with the CTL its TFTP server serves and no error at
// its last boot. Before the change the same phones are registered securely: the positive
// control that the check below tells the two modes apart.
func TestPhonesNonSecure(t *testing.T) {
	if _, err := exec.LookPath("tftp"); err != nil {
		t.Fatal("tftp-hpa's client is needed (scripts/install-deps.sh installs it)")
	}
	s := startLab(t)
	token := []string{"--cluster", "hq", "--cluster", "branch"}
	s.run(0, append([]string{"apply", "-f", s.spec(), "--auto-approve", "--input=false"}, token...)...)
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones")
	s.checkHQPhones("after the first apply")
	s.checkPhones("branch", "after the first apply")

	// hq and branch serve as each other's alternate TFTP: both change mode together (R17).
	// metro's mode line carries a comment and stays mixed.
	spec, err := os.ReadFile(s.spec())
	if err != nil {
		t.Fatal(err)
	}
	mixed := regexp.MustCompile(`(?m)^    mode: mixed$`)
	if n := len(mixed.FindAll(spec, -1)); n != 2 {
		t.Fatalf("the lab spec has %d plain `mode: mixed` lines, want hq's and branch's", n)
	}
	if err := os.WriteFile(s.spec(), mixed.ReplaceAll(spec, []byte("    mode: non-secure")), 0o644); err != nil {
		t.Fatal(err)
	}
	s.run(2, append([]string{"plan", "-f", s.spec(), "--detailed-exitcode"}, token...)...)
	s.run(0, append([]string{"apply", "-f", s.spec(), "--auto-approve", "--input=false"}, token...)...)
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones")

	n := 0
	for _, p := range s.phones() {
		if p.Cluster != "hq" && p.Cluster != "branch" {
			continue
		}
		n++
		served := s.servedCTL(p)
		if !p.Registered || p.Secure || deref(p.CTLSHA256) != served || p.LastError != nil {
			t.Errorf("after mixed → non-secure, %s (%s): registered=%v secure=%v node=%s ctl=%s served=%s status=%q error=%s",
				p.Name, p.Model, p.Registered, p.Secure, deref(p.Node), deref(p.CTLSHA256), served, p.Status, deref(p.LastError))
		}
	}
	if n == 0 {
		t.Fatal("no phone on hq or branch")
	}
}
