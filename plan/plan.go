package plan

import (
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/spec"
)

// FormatVersion is the version of the JSON view and of saved plan files. Its major number
// changes whenever a field changes meaning or shape, so that `apply` never executes a plan it
// would misread. 2: the plan is typed data (actions, reasons, problems, notes, steps and
// server states are kinds with fields; the sentences are the views').
const FormatVersion = 2

// MaxCTLSize is what phones load (ctl.MaxFileSize): a larger file fails on the phone, so the
// plan refuses it.
const MaxCTLSize = ctl.MaxFileSize

// ExpiryWarning is the default of how close to its end a certificate must be for the plan to
// warn. The plan warns with each cluster's own window, spec.Cluster.ExpiryWarning (the spec's
// expiryWarning, or the commands' --expiry-window), which is this when the spec sets none.
const ExpiryWarning = spec.DefaultExpiryWarning

// Plan is the result for every cluster planned in one run. It is built once and rendered as
// text, markdown or JSON, and saved as a plan file for apply.
type Plan struct {
	FormatVersion int        `json:"format_version"`
	CtlopsVersion string     `json:"ctlops_version"`
	SpecDigest    string     `json:"spec_digest"`
	Created       time.Time  `json:"created"`
	Clusters      []*Cluster `json:"clusters"`
	// SpecFile is, for a plan read from a plan file, the spec it recorded (SpecLocation),
	// "" when none is recorded or it is gone; never part of the plan's JSON or digest.
	SpecFile string `json:"-"`
}

// Cluster is the plan of one cluster.
type Cluster struct {
	Name string `json:"name"`
	// Error is set when the cluster could not be planned at all (a server could not be read);
	// nothing else is then meaningful.
	Error     string     `json:"error,omitempty"`
	Suspended bool       `json:"suspended,omitempty"`
	Mode      ModeChange `json:"mode"`
	Summary   Summary    `json:"summary"`
	// Actions are the record changes, in the desired file's order, removals last.
	Actions []Change `json:"actions"`
	// NodeActions are actions on a node's file rather than a record's: a refused file the
	// admin asked to replace (replace.go).
	NodeActions []NodeAction `json:"node_actions,omitempty"`
	// Unchanged are records that stay as they are, shown with --verbose.
	Unchanged []Change      `json:"unchanged"`
	Targets   []TargetState `json:"targets"`
	Refusals  []Problem     `json:"refusals"`
	// ExpiryWindow is the window the certificate warnings were computed with
	// (spec.Cluster.ExpiryWarning, window.go), in seconds; nil in a plan file saved by a
	// ctlops that did not record it, which then means ExpiryWarning.
	ExpiryWindow *int64    `json:"expiry_window_seconds,omitempty"`
	Warnings     []Problem `json:"warnings"`
	Notes        []Note    `json:"notes"`
	// AfterApply are the steps that bring phones onto the new file (R23).
	AfterApply []Step          `json:"after_apply"`
	Signers    []SignerOption  `json:"signers"`
	Live       *FileState      `json:"live"`
	Desired    *DesiredFile    `json:"desired,omitempty"`
	Diff       string          `json:"diff"`
	Inventory  *InventoryState `json:"inventory,omitempty"`
	// Platform is set for a tokenless cluster: signer, the publisher command, every node.
	Platform *PlatformPlan `json:"platform,omitempty"`
	// IMAndPresence are a tokenless cluster's IM and Presence nodes that hold no CTL and the
	// spec does not declare (tokenless_types.go): named so that they are not taken for nodes
	// the plan forgot.
	IMAndPresence []IMAndPresenceNode `json:"im_and_presence,omitempty"`
	// Registration are the phones' registration counts from RisPort70 when the plan was made,
	// where the cluster declares serviceability endpoints (plan/registration.go).
	Registration *Registration `json:"registration,omitempty"`
}

// ModeChange is the cluster security mode before and after (R9, R10).
type ModeChange struct {
	From    cucm.Mode `json:"from"` // "" when the inventory is unknown
	To      cucm.Mode `json:"to"`
	Changed bool      `json:"changed"`
}

// Summary counts what the plan does.
type Summary struct {
	Add       int `json:"add"`
	Refresh   int `json:"refresh"`
	Replace   int `json:"replace"`
	Remove    int `json:"remove"`
	Unchanged int `json:"unchanged"`
	Sync      int `json:"sync"` // servers whose copy will be replaced although records are unchanged
	// ReplaceNodes are the node files replaced under --replace (NodeActions).
	ReplaceNodes int  `json:"replace_nodes,omitempty"`
	Mode         bool `json:"mode_change"`
	Changes      bool `json:"changes"` // anything at all to apply
}

// Change is one record's change, the way Terraform's plans.ResourceInstanceChange is one
// resource's: an action, why, and the record before and after.
type Change struct {
	Action Action       `json:"action"`
	Record string       `json:"record"` // the record's title, "CCM+TFTP cm-pub"
	Reason Reason       `json:"reason"`
	Before *RecordState `json:"before"`
	After  *RecordState `json:"after"`
}

// RecordState is a record as a reviewer needs to see it.
type RecordState struct {
	Role              string `json:"role"`
	DNSName           string `json:"dns_name"`
	IPAddress         string `json:"ip_address"`
	Subject           string `json:"subject"`
	Serial            string `json:"serial"`
	CertificateSHA256 string `json:"certificate_sha256"`
	NotAfter          string `json:"not_after"`
	// Source says where the desired record comes from: "token NAME", "server NAME",
	// "alternate TFTP HOST".
	Source string `json:"source,omitempty"`
}

// TargetState is one server's copy of the file and what apply will do to it.
type TargetState struct {
	Server    string       `json:"server"`
	Address   string       `json:"address"`
	Alternate bool         `json:"alternate,omitempty"`
	Digest    string       `json:"digest"` // sha256 of the file it holds, "" for none
	Signer    string       `json:"signer,omitempty"`
	Status    TargetStatus `json:"status"`
	// SignedAt is the timestamp of a file that differs from the cluster's (RFC 3339).
	SignedAt string `json:"signed_at,omitempty"`
	// UnknownSigner is set when the file is signed by a key that is neither a SAST record of
	// the cluster's CTL nor a declared token (R19).
	UnknownSigner bool `json:"unknown_signer,omitempty"`
	// Invalid says why an invalid file fails its own check.
	Invalid string `json:"invalid,omitempty"`
	// Lock is the server's update lock when one was held as the plan was made (locks.go).
	Lock *HeldLock `json:"lock,omitempty"`
}

// SignerOption is a declared token that may sign the new file: phones must already trust it
// (R19), and it must be in the new file.
type SignerOption struct {
	Token             string `json:"token"`
	Subject           string `json:"subject"`
	Serial            string `json:"serial"`
	CertificateSHA256 string `json:"certificate_sha256"`
}

// FileState describes the live CTL the plan was made against.
type FileState struct {
	Digest    string `json:"digest"` // "" when the cluster has no CTL yet
	Signer    string `json:"signer,omitempty"`
	Records   int    `json:"records"`
	Timestamp string `json:"timestamp,omitempty"`
}

// DesiredFile is the unsigned file apply will sign: records only, the header is filled in at
// signing time.
type DesiredFile struct {
	Records int    `json:"records"`
	Size    int    `json:"size"` // bytes, before the signature
	Data    []byte `json:"data"` // the unsigned file (base64 in JSON)
}

// InventoryState is what the plan knew of the cluster (R14).
type InventoryState struct {
	From     string    `json:"from"`
	Version  string    `json:"version"`
	Mode     cucm.Mode `json:"mode"`
	Servers  []string  `json:"servers"`
	Location string    `json:"file_location"`
}

// Refused reports whether anything stops the cluster from being applied.
func (c *Cluster) Refused() bool { return c.Error != "" || len(c.Refusals) > 0 }

// HasChanges reports whether any cluster has something to apply.
func (p *Plan) HasChanges() bool {
	for _, c := range p.Clusters {
		if c.Summary.Changes {
			return true
		}
	}
	return false
}

// Failed reports whether any cluster could not be planned or was refused.
func (p *Plan) Failed() bool {
	for _, c := range p.Clusters {
		if c.Refused() {
			return true
		}
	}
	return false
}
