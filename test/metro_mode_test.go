package test

import (
	"strings"
	"testing"
)

// TestMetroModeChangeRollout: the first apply of the lab's metro switches it to mixed mode,
// and its lab phones, whose profiles ask for encryption, cannot register again after a
// CallManager restart until a reset brings them the new CTL (P39, "Device security mismatch").
// With the restarts alone the apply is refused before anything runs, naming --reset-devices.
// With both, the CallManager restarts do not wait for those phones, saying why, the resets
// bring them back, and the apply exits 0 with every metro phone registered over TLS.
func TestMetroModeChangeRollout(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	s := startLab(t)
	nodes := s.metroNodes()
	fast := []string{"--rollout-poll", "300ms", "--restart-timeout", "60s"}

	r := s.run(1, append([]string{"apply", "-f", s.spec(), "--cluster", "metro", "--auto-approve", "--restart-services"}, fast...)...)
	if !strings.Contains(r.stderr, "refusing --restart-services without --reset-devices") || !strings.Contains(r.stderr, "metro (non-secure → mixed)") {
		t.Fatalf("restarts without resets on a mode change not refused:\n%s%s", r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "(tokenless): pre-flight, then") {
		t.Fatalf("the refused apply ran the CTL command:\n%s", r.stdout)
	}

	r = s.run(0, append([]string{"apply", "-f", s.spec(), "--cluster", "metro", "--auto-approve", "--restart-services", "--reset-devices"}, fast...)...)
	inOrder(t, r.stdout,
		"utils ctl set-cluster mixed-mode on mpub",
		"Rollout on metro (R23):",
		"Registration before: 2/2 registered",
		"msub: restarting Cisco CallManager", "msub Cisco CallManager: Started",
		"phone(s) not registered again yet, not waited for: the security mode changed",
		"mpub: restarting Cisco CallManager", "mpub Cisco CallManager: Started",
		"Reset batch 1/", "registered again",
		"Registration after: 2/2 registered",
		"Rollout: applied",
		"Apply complete.")
	if strings.Contains(r.stdout+r.stderr, "STOPPED") {
		t.Errorf("the rollout stopped:\n%s%s", r.stdout, r.stderr)
	}
	s.checkMetroPhones("after the mode change and its rollout", nodes)
}
