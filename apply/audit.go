package apply

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ctlops/ctlops/plan"
)

// AuditEntry is one line of the audit log: who applied which plan, signed by which token, and
// what every server holds afterwards. It holds no secret: no PIN, no password, no lock id.
type AuditEntry struct {
	Time          time.Time        `json:"time"`
	Finished      time.Time        `json:"finished"`
	User          string           `json:"user"`
	Host          string           `json:"host"`
	CtlopsVersion string           `json:"ctlops_version"`
	PlanDigest    string           `json:"plan_digest"`
	PlanFile      string           `json:"plan_file,omitempty"`
	SpecDigest    string           `json:"spec_digest"`
	Clusters      []string         `json:"clusters"`
	Signer        *SignerInfo      `json:"signer,omitempty"`
	Result        string           `json:"result"` // "applied", "partial", "failed", "interrupted", "unlocked"
	Error         string           `json:"error,omitempty"`
	Details       []*ClusterResult `json:"details"`
	// Broken are the locks `ctlops unlock` broke (their holders, never their ids).
	Broken []BrokenLock `json:"broken_locks,omitempty"`
}

// writeAudit records an apply.
func writeAudit(o *Options, p *plan.Plan, res *Result, started time.Time, runErr error) error {
	e := AuditEntry{Time: started.UTC(), Finished: o.Now().UTC(), User: o.User, Host: o.Host,
		CtlopsVersion: o.Version, PlanDigest: p.Digest(), PlanFile: o.PlanFile, SpecDigest: p.SpecDigest,
		Clusters: []string{}, Signer: res.Signer, Details: res.Clusters, Result: "applied"}
	for _, c := range res.Clusters {
		e.Clusters = append(e.Clusters, c.Name)
	}
	var pe *PushError
	switch {
	case runErr == nil:
	case errors.As(runErr, &pe) && pe.Interrupted:
		e.Result = "interrupted"
	case errors.As(runErr, &pe):
		e.Result = "partial"
	default:
		e.Result = "failed"
		if wrote(res) {
			e.Result = "partial"
		}
	}
	if runErr != nil {
		e.Error = runErr.Error()
	}
	return appendAudit(o.AuditLog, e)
}

// appendAudit appends one JSON line; O_APPEND keeps concurrent writers' lines whole.
func appendAudit(path string, e AuditEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	return nil
}

func wrote(res *Result) bool {
	for _, c := range res.Clusters {
		for _, t := range c.Targets {
			if t.Status == "updated" {
				return true
			}
		}
		if len(c.ModeSetOn) > 0 {
			return true
		}
	}
	return false
}
