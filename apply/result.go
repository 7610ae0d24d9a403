package apply

import (
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/plan"
)

// Result, per cluster and per server, is what an apply did: the report view and the audit
// log render it.

// Result is what an apply did.
type Result struct {
	Plan      *plan.Plan
	NoChanges bool
	// Signer is set when a file was signed.
	Signer   *SignerInfo
	Clusters []*ClusterResult
	// Skipped are the clusters that could not be applied, with their reasons (skip.go).
	Skipped []Skipped
}

// SignerInfo identifies the token that signed, for the report and the audit log.
type SignerInfo struct {
	Description       string `json:"description"`
	Subject           string `json:"subject"`
	Serial            string `json:"serial"`
	CertificateSHA256 string `json:"certificate_sha256"`
}

// ClusterResult is one cluster's outcome.
type ClusterResult struct {
	Name string `json:"cluster"`
	// Digest is the SHA-256 of the file pushed; "" when no file was pushed (mode only).
	Digest  string          `json:"digest,omitempty"`
	Signed  bool            `json:"signed"`
	Targets []*TargetResult `json:"targets"`
	// Mode is the security mode set on every node, "" when it did not change.
	Mode      string   `json:"mode,omitempty"`
	ModeSetOn []string `json:"mode_set_on,omitempty"`
	Restarted []string `json:"restarted,omitempty"`
	Problems  []string `json:"problems,omitempty"`
	// Warnings are what a tokenless cluster's reads before and after the command warned
	// about (tokenless.go), already safe for a terminal. Not in the audit line: they are
	// what the cluster looked like, not what apply did.
	Warnings []string `json:"-"`
	// Rollout is the verified rollout through the serviceability APIs (rollout.go).
	Rollout *RolloutReport `json:"rollout,omitempty"`
}

// TargetResult is one server's outcome. Holds is what it holds now as far as ctlops knows:
// read back after the push, or "?" when it could not be read.
type TargetResult struct {
	Server    string `json:"server"`
	Address   string `json:"address"`
	Alternate bool   `json:"alternate,omitempty"`
	Before    string `json:"before"`
	Holds     string `json:"holds"`
	// Status: "updated", "unchanged" (already held the file), "failed", "not pushed".
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// unknown is what Holds says when a server could not be read back.
const unknown = "?"

// PushError: some servers were not brought in line. Each is listed with what it holds.
type PushError struct {
	// Failed are the servers whose push failed, with what each holds.
	Failed []string
	// Problems are the steps after the push that failed (mode, restarts).
	Problems    []string
	Interrupted bool
}

func (e *PushError) Error() string {
	what := "apply failed"
	if e.Interrupted {
		what = "apply interrupted"
	}
	var parts []string
	if len(e.Failed) > 0 {
		parts = append(parts, fmt.Sprintf("%d server(s) not brought in line (%s); every server holds either its old file or the new one",
			len(e.Failed), strings.Join(e.Failed, ", ")))
	}
	parts = append(parts, e.Problems...)
	return what + ": " + strings.Join(parts, "; ") + ": run `ctlops plan` to see what is left and apply again"
}
