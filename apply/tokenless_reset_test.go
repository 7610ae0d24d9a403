package apply_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/apply"
)

// TestTokenlessResetDevicesNotIgnored: --reset-devices on a tokenless cluster, which the
// serviceability rollout does not drive yet, is not silently dropped: the CTL command still
// runs, and the apply names the phones it did not reset, says why and exits with a problem,
// as it does for a token-based cluster without serviceability endpoints. The control: the
// same apply without --reset-devices completes.
func TestTokenlessResetDevicesNotIgnored(t *testing.T) {
	l := newTokenlessLab(t)
	sim := startCUCM(t, "12.5.1.11900-146", false)
	cfg := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", sim, nil)})
	o := l.tlOpts(cfg, false)
	o.Rollout.ResetDevices = true
	_, text, err := l.run(o)
	var pe *apply.PushError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "metro: phones not reset: the cluster declares no serviceability endpoints") {
		t.Fatalf("err %v, want a problem naming the phones not reset\n%s", err, text)
	}
	if !strings.Contains(text, "Problem: phones not reset") || strings.Contains(text, "Apply complete.") {
		t.Errorf("the report does not show the problem, or still says complete:\n%s", text)
	}
	if !sim.Mixed() {
		t.Fatalf("the CTL command did not run:\n%s", text)
	}

	// Control: a change without --reset-devices applies cleanly.
	sim2 := startCUCM(t, "12.5.1.11900-146", false)
	cfg2 := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", sim2, nil)})
	if _, text, err := l.run(l.tlOpts(cfg2, false)); err != nil || !strings.Contains(text, "Apply complete.") {
		t.Fatalf("control: %v\n%s", err, text)
	}
}
