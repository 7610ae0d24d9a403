package plan_test

import (
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// restartOrder is the services of a plan's restart steps, in order.
func restartOrder(c *plan.Cluster) []cucm.Service {
	var out []cucm.Service
	for _, s := range c.AfterApply {
		if s.Kind == plan.StepRestart {
			out = append(out, s.Service)
		}
	}
	return out
}

// The steps after apply restart Cisco TFTP before Cisco CallManager, for token-based and
// tokenless clusters alike, as the rollout does (phones fetch the CTL from TFTP; issue 16),
// and end with the device reset.
func TestAfterApplyTFTPFirst(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	token := clusterOf(t, l.Plan(l.Spec(hq("mixed", "alice", "bob"))), "hq")
	tokenless := plan.Build(&spec.Cluster{Name: "metro", Signing: spec.SigningTokenless, Mode: spec.ModeMixed}, tokenlessLive(t), time.Now())
	for name, c := range map[string]*plan.Cluster{"token": token, "tokenless": tokenless} {
		got := restartOrder(c)
		if len(got) != 2 || got[0] != cucm.ServiceTFTP || got[1] != cucm.ServiceCallManager {
			t.Errorf("%s: restarts %v, want Cisco TFTP then Cisco CallManager", name, got)
		}
		if n := len(c.AfterApply); n == 0 || c.AfterApply[n-1].Kind != plan.StepResetDevices {
			t.Errorf("%s: after apply %+v, want the device reset last", name, c.AfterApply)
		}
	}
}
