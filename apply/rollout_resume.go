package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctlops/ctlops/rollout"
)

// ErrNothingToResume: no cluster has a rollout left to continue.
var ErrNothingToResume = errors.New("no rollout to resume: every recorded rollout is complete (or none was started)")

// ResumeRollout continues the rollouts that an earlier apply left incomplete (a node that did
// not come back, a batch that did not, Ctrl-C, kill -9), from the progress recorded beside the
// audit log after every step. Nothing is planned, signed or pushed: the CTL is already on the
// servers; only the restarts and resets not yet verified are done. It appends one audit line.
// The steps asked for are the recorded ones, and so is a security mode change of the apply
// that started it (rollout.State.ModeChange); o.Rollout's limits (timeout, tolerance, poll)
// apply to this run.
func ResumeRollout(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	if o.Config == nil {
		return nil, errors.New("apply: no spec")
	}
	started := o.Now()
	res := &Result{}
	var problems []string
	for _, sc := range o.Config.Clusters {
		if len(o.Clusters) > 0 && !contains(o.Clusters, sc.Name) {
			continue
		}
		rec, err := loadRolloutRecord(o.AuditLog, sc.Name)
		if err != nil {
			return res, err
		}
		if rec == nil || rec.State.Complete {
			continue
		}
		if sc.Serviceability == nil {
			return res, fmt.Errorf("%s: a rollout was recorded but the cluster no longer declares serviceability endpoints", sc.Name)
		}
		fmt.Fprintf(o.Out, "\nResuming the rollout on %s (R23):\n", sc.Name)
		cr := &ClusterResult{Name: sc.Name, Targets: []*TargetResult{}}
		res.Clusters = append(res.Clusters, cr)
		rep, err := o.runRollout(ctx, sc, rec, false) // the State says whether the mode changed
		if err != nil {
			cr.Problems = append(cr.Problems, rollout.Incomplete+": "+err.Error())
		} else {
			cr.Rollout = rep
			cr.Restarted = restartedNodes(rep.State)
			if p := rolloutProblem(rep); p != "" {
				cr.Problems = append(cr.Problems, p)
			}
		}
		for _, p := range cr.Problems {
			problems = append(problems, sc.Name+": "+p)
		}
	}
	if len(res.Clusters) == 0 {
		return res, ErrNothingToResume
	}
	var runErr error
	if len(problems) > 0 {
		runErr = &PushError{Problems: problems, Interrupted: ctx.Err() != nil}
	} else {
		fmt.Fprintln(o.Out, "\nRollout complete.")
	}
	e := AuditEntry{Time: started.UTC(), Finished: o.Now().UTC(), User: o.User, Host: o.Host, CtlopsVersion: o.Version,
		SpecDigest: o.Config.Digest(), Clusters: []string{}, Details: res.Clusters, Result: "applied"}
	for _, c := range res.Clusters {
		e.Clusters = append(e.Clusters, c.Name)
	}
	if runErr != nil {
		e.Result, e.Error = "partial", runErr.Error()
	}
	if err := appendAudit(o.AuditLog, e); err != nil {
		return res, fmt.Errorf("writing the audit log %s: %w", o.AuditLog, err)
	}
	return res, runErr
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
