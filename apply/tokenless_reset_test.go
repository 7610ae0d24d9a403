package apply_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/lab/servicesim"
	"github.com/ctlops/ctlops/lab/servicesim/servicesimtest"
)

// TestTokenlessResetDevicesNotIgnored: --reset-devices on a tokenless cluster that declares no
// serviceability endpoints is not silently dropped: the CTL command still
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

// serviceabilityYAML starts Control Center, RisPort70 and AXL for mpub (publisher) and msub,
// with two phones homed on msub, and returns the cluster's serviceability block.
func serviceabilityYAML(t *testing.T, dir string) (*servicesim.Cluster, *servicesim.MemDevices, string) {
	t.Helper()
	t.Setenv("CTLOPS_TEST_AXL_PW", servicesimtest.Password)
	return servicesimtest.Start(t, servicesimtest.Options{Cluster: "metro", Dir: dir, CAFile: "metro-tomcat-ca.pem", PasswordEnv: "CTLOPS_TEST_AXL_PW", Fast: true,
		Nodes: []servicesim.NodeConfig{{Name: "mpub", Publisher: true}, {Name: "msub"}},
		Phones: []servicesim.MemPhone{
			{Phone: servicesim.Phone{Name: "SEP0000000000A1", Model: 685, Protocol: "SIP"}, Group: []string{"msub", "mpub"}, TFTP: "msub"},
			{Phone: servicesim.Phone{Name: "SEP0000000000A2", Model: 436, Protocol: "SIP"}, Group: []string{"msub", "mpub"}, TFTP: "msub"},
		}})
}

// TestTokenlessRolloutThroughAPIs (issue 16): a tokenless cluster that declares serviceability
// endpoints gets the verified rollout, as a token-based one does: TFTP restarted on every
// node, then CallManager node by node, then the phones reset through AXL, all through the
// APIs, and the platform CLI restarts nothing. The control: without the block, the same
// apply restarts through the CLI and the APIs see nothing.
//
// The apply switches metro to mixed mode and its phones register again only after a reset,
// as encrypted phones do then: apply passes the plan's mode change to the rollout, whose
// CallManager restarts do not wait for them (with a 10 s timeout, waiting would fail the test;
// rollout's TestModeChange is the control that it would).
func TestTokenlessRolloutThroughAPIs(t *testing.T) {
	l := newTokenlessLab(t)
	cucm := startCUCM(t, "12.5.1.11900-146", false)
	svc, dev, block := serviceabilityYAML(t, l.dir)
	dev.NeedReset("SEP0000000000A1", "SEP0000000000A2")
	cfg := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", cucm, nil) + block})
	o := l.tlOpts(cfg, true)
	o.Rollout = apply.RolloutOptions{ResetDevices: true, Timeout: 10 * time.Second, Poll: 10 * time.Millisecond}
	res, text, err := l.run(o)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, w := range []string{"utils ctl set-cluster mixed-mode", "Rollout on metro (R23)", "mpub: restarting Cisco Tftp", "msub: restarting Cisco Tftp",
		"msub: Cisco CallManager Started; 2 phone(s) not registered again yet, not waited for: the security mode changed", "Reset batch 1/2", "Reset batch 2/2", "Registration after: 2/2 registered", "Apply complete."} {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "utils service restart") || strings.Contains(text, "phones not reset") {
		t.Errorf("the report still sends the admin to the CLI or says phones were not reset:\n%s", text)
	}
	if r := cucm.Restarts(); len(r) != 0 {
		t.Errorf("the platform CLI restarted %v although the APIs are declared", r)
	}
	restarts := map[string]int{}
	for _, tr := range svc.History() {
		if tr.Status == serviceability.Stopping {
			restarts[tr.Node+" "+tr.Service]++
		}
	}
	for _, k := range []string{"mpub Cisco Tftp", "msub Cisco Tftp", "mpub Cisco CallManager", "msub Cisco CallManager"} {
		if restarts[k] != 1 {
			t.Errorf("%s restarted %d times through Control Center, want 1 (%v)", k, restarts[k], restarts)
		}
	}
	if len(dev.Changes()) == 0 {
		t.Error("no phone dropped and came back")
	}
	if cr := res.Clusters[0]; cr.Rollout == nil || cr.Rollout.State.ResetDone != 2 || !cr.Rollout.State.ModeChange || len(cr.Rollout.State.Deferred) != 2 {
		t.Errorf("result %+v", cr)
	}

	// Control: without the block, the CLI restarts and Control Center sees nothing.
	cucm2 := startCUCM(t, "12.5.1.11900-146", false)
	svc2, _, _ := serviceabilityYAML(t, l.dir)
	cfg2 := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", cucm2, nil)})
	if _, text, err := l.run(l.tlOpts(cfg2, true)); err != nil || strings.Contains(text, "Rollout on metro") {
		t.Fatalf("control: %v\n%s", err, text)
	}
	if len(cucm2.Restarts()) == 0 || len(svc2.History()) != 0 {
		t.Errorf("control: CLI restarts %v, Control Center %v", cucm2.Restarts(), svc2.History())
	}
}

// TestModeChangeRestartWithoutResetRefused: an apply that switches metro to mixed mode with
// --restart-services but without --reset-devices is refused before the question, naming the
// flag: its CallManager restarts would take the encrypted phones off the cluster with nothing
// to bring them back. Nothing runs on the cluster, no service is touched.
func TestModeChangeRestartWithoutResetRefused(t *testing.T) {
	l := newTokenlessLab(t)
	cucm := startCUCM(t, "12.5.1.11900-146", false)
	svc, _, block := serviceabilityYAML(t, l.dir)
	cfg := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", cucm, nil) + block})
	_, text, err := l.run(l.tlOpts(cfg, true))
	var me *apply.ModeChangeError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "refusing --restart-services without --reset-devices") ||
		!strings.Contains(err.Error(), "metro (non-secure → mixed)") || !strings.Contains(err.Error(), "Nothing was locked or written") {
		t.Fatalf("err %v\n%s", err, text)
	}
	if cucm.Mixed() || len(ctlCommands(cucm)) != 0 || len(svc.History()) != 0 {
		t.Errorf("something ran: mixed %v, commands %v, services %v", cucm.Mixed(), ctlCommands(cucm), svc.History())
	}
}
