package apply

import (
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/plan"
)

// ModeChangeError: the fresh plan changes a cluster's security mode and the verified
// rollout was asked to restart services (--restart-services) without resetting the phones
// (--reset-devices). Nothing was locked or written.
type ModeChangeError struct {
	Clusters []string // "hq (non-secure → mixed)"
}

func (e *ModeChangeError) Error() string {
	return fmt.Sprintf("refusing --restart-services without --reset-devices: this apply changes the security mode of %s, "+
		"and after a Cisco CallManager restart the phones whose security profile asks for encryption register again only once "+
		"a reset makes them fetch the new CTL. Add --reset-devices (the rollout then verifies every phone after its reset), "+
		"or leave out --restart-services and restart and reset by hand (docs/rollout.md). Nothing was locked or written",
		strings.Join(e.Clusters, ", "))
}

// checkModeRollout refuses, before the question and before anything is locked, to restart
// services through the verified rollout without resetting the phones where the fresh plan p
// (never a saved plan file's text) changes a cluster's security mode. Refusing rather than
// finishing "applied, rollout incomplete": the restarts themselves would take the encrypted
// phones off the cluster, knowingly, with nothing in this apply to bring them back, and an
// admin who means to reset by hand can still run the restarts by hand in the same window.
// Clusters without serviceability endpoints keep their fallbacks, which verify nothing (and
// reset nothing) either way.
func (o *Options) checkModeRollout(p *plan.Plan, names []string) error {
	if !o.RestartServices || o.Rollout.ResetDevices {
		return nil
	}
	var bad []string
	for _, c := range p.Clusters {
		sc := o.Config.Cluster(c.Name)
		if !c.Mode.Changed || !contains(names, c.Name) || sc == nil || sc.Serviceability == nil {
			continue
		}
		bad = append(bad, fmt.Sprintf("%s (%s → %s)", c.Name, c.Mode.From, c.Mode.To))
	}
	if len(bad) == 0 {
		return nil
	}
	return &ModeChangeError{Clusters: bad}
}
