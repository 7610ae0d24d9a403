package apply

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/plan"
)

// AuditEntry is one line of the audit log: who applied which plan, signed by which token, and
// what every server holds afterwards. It holds no secret: no PIN, no password, no lock id.
type AuditEntry struct {
	Time          time.Time   `json:"time"`
	Finished      time.Time   `json:"finished"`
	User          string      `json:"user"`
	Host          string      `json:"host"`
	CtlopsVersion string      `json:"ctlops_version"`
	PlanDigest    string      `json:"plan_digest"`
	PlanFile      string      `json:"plan_file,omitempty"`
	SpecDigest    string      `json:"spec_digest"`
	Clusters      []string    `json:"clusters"`
	Signer        *SignerInfo `json:"signer,omitempty"`
	// ApplyID ties an apply's "intent" line to its result line; it is random, not a secret.
	ApplyID string `json:"apply_id,omitempty"`
	// Targets are the servers the apply is about to write, "cluster/server address" (intent
	// lines only).
	Targets []string `json:"targets,omitempty"`
	// Result is "intent" (written after signing, before the first write), then "applied",
	// "partial", "failed", "interrupted"; "unlocked" for ctlops unlock. An intent without a
	// result line with the same ApplyID is an apply that was killed mid-way.
	Result  string           `json:"result"`
	Error   string           `json:"error,omitempty"`
	Details []*ClusterResult `json:"details"`
	// Broken are the locks `ctlops unlock` broke (their holders, never their ids), or that an
	// apply took over from an earlier apply of the same user and host that died (lock.go).
	Broken []BrokenLock `json:"broken_locks,omitempty"`
	// Skipped are the clusters of the plan this apply left out, with their reasons.
	Skipped []Skipped `json:"skipped,omitempty"`
	// Replaced are the nodes whose refused file the admin chose to replace (apply --replace),
	// "cluster/server address: why it was refused".
	Replaced []string `json:"replaced,omitempty"`
}

// checkAuditLog makes sure the audit log can be appended to, before anything is locked: an
// apply that could not record itself must not start.
func checkAuditLog(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("audit log %s cannot be written (%v): nothing was locked or changed", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("audit log %s cannot be written (%v): nothing was locked or changed", path, err)
	}
	return f.Close()
}

// writeIntent records, before the first write, what the apply is about to do: the plan's
// digest and every target. If the process dies after this line, the trail shows it.
func writeIntent(o *Options, p *plan.Plan, works []*work, started time.Time) error {
	e := AuditEntry{Time: started.UTC(), User: o.User, Host: o.Host, ApplyID: o.applyID,
		CtlopsVersion: o.Version, PlanDigest: p.Digest(), PlanFile: o.PlanFile, SpecDigest: p.SpecDigest,
		Clusters: []string{}, Details: []*ClusterResult{}, Result: "intent",
		Skipped: skips(o.Config, p), Replaced: replaced(p, o.skipped), Broken: o.takenOver}
	for _, w := range works {
		e.Clusters = append(e.Clusters, w.c.Name)
		for _, t := range w.targets {
			e.Targets = append(e.Targets, fmt.Sprintf("%s/%s %s", w.c.Name, t.ts.Server, t.ts.Address))
		}
	}
	return appendAudit(o.AuditLog, e)
}

// Unfinished returns the intent lines of path that no result line follows: applies that were
// killed (or lost power) between their first write and their report.
func Unfinished(entries []AuditEntry) []AuditEntry {
	done := map[string]bool{}
	for _, e := range entries {
		if e.ApplyID != "" && e.Result != "intent" {
			done[e.ApplyID] = true
		}
	}
	var out []AuditEntry
	for _, e := range entries {
		if e.Result == "intent" && !done[e.ApplyID] {
			out = append(out, e)
		}
	}
	return out
}

// writeAudit records an apply.
func writeAudit(o *Options, p *plan.Plan, res *Result, started time.Time, runErr error) error {
	e := AuditEntry{Time: started.UTC(), Finished: o.Now().UTC(), User: o.User, Host: o.Host, ApplyID: o.applyID,
		CtlopsVersion: o.Version, PlanDigest: p.Digest(), PlanFile: o.PlanFile, SpecDigest: p.SpecDigest,
		Clusters: []string{}, Signer: res.Signer, Details: res.Clusters, Result: "applied",
		Skipped: res.Skipped, Replaced: replaced(p, o.skipped), Broken: o.takenOver}
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
	// Servers' words stay as they were, but escaped: an audit line shown on a terminal
	// (tail -f) cannot drive it. encoding/json leaves C1 controls and bidi overrides raw.
	line = termsafe.JSON(line)
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
