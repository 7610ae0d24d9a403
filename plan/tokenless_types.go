package plan

import (
	"fmt"

	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// The CLI commands a tokenless cluster's plan can call for, run on the publisher
// (CUCM-INTERFACES.md §2.5–2.7). They are the words of cucm/platform's CTLCommand; plan keeps
// its own copy of the three strings because it may not import the SSH client (plan is pure).
const (
	CommandSetMixed     = "utils ctl set-cluster mixed-mode"
	CommandSetNonSecure = "utils ctl set-cluster non-secure-mode"
	CommandUpdateCTL    = "utils ctl update CTLFile"
)

// PlatformLive is a tokenless cluster as its platform CLI and TFTP showed it (package live
// fills it through cucm/adapter). Inventory.Mixed is the live mode; Inventory.Nodes and Nodes
// are in the same order, that of `show network cluster`.
type PlatformLive struct {
	From      string // the publisher's SSH address
	Version   string // `show version active`
	Inventory tokenless.Inventory
	Nodes     []PlatformNodeLive
	// Missing are nodes the spec declares that `show network cluster` does not list.
	Missing []string
	// IMAndPresence are the IM and Presence nodes (`cups`) `show network cluster` lists and
	// the spec does not declare: they hold no CTL, so they were not read.
	IMAndPresence []string
}

// IMAndPresenceNode is an IM and Presence node of a tokenless cluster that the plan passes
// over: CUCM's CTL lists only its Unified CM nodes, so it holds none and ctlops does not
// manage it. The views say so (Note), so that a reviewer does not take it for forgotten.
type IMAndPresenceNode struct {
	Node string `json:"node"`
}

// Note is the node's sentence; the name comes from the cluster, so it is made safe for a
// terminal.
func (n IMAndPresenceNode) Note() string {
	return fmt.Sprintf("IM and Presence node %s holds no CTL (CUCM's CTL lists only its Unified CM nodes); not managed.", termsafe.Line(n.Node))
}

// PlatformNodeLive is one node as read.
type PlatformNodeLive struct {
	Name string
	// Declared is false for a node CUCM lists and the spec does not: it was not read.
	Declared  bool
	SSH, TFTP string // where it was read; TFTP "" when it runs none
	// ShowCTL says whether `show ctl` found a file, and its MD5 checksum line.
	ShowCTL    bool
	ShowCTLMD5 string
	// CTL and ITL are the files its TFTP serves (nil: none).
	CTL, ITL []byte
	// Err is why the node could not be read; such a cluster is refused (R26).
	Err string
}

// PlatformPlan is what the plan of a tokenless cluster adds: who signs, the one publisher
// command apply runs, and what each node holds compared with the prediction.
type PlatformPlan struct {
	Publisher string `json:"publisher"`
	Release   string `json:"release"`
	// Signer is the certificate CUCM signs with (CallManager before 12.0, ITLRecovery from
	// 12.0, §3.1), its subject and fingerprint.
	Signer        string `json:"signer"`
	SignerSubject string `json:"signer_subject"`
	SignerSHA256  string `json:"signer_sha256"`
	// Command is the publisher command apply runs, "" when nothing differs.
	Command string              `json:"command,omitempty"`
	Nodes   []PlatformNodeState `json:"nodes"`
}

// PlatformNodeState is one node against the prediction.
type PlatformNodeState struct {
	Node        string           `json:"node"`
	Publisher   bool             `json:"publisher,omitempty"`
	ShowCTLMD5  string           `json:"show_ctl_md5"`       // "" when `show ctl` finds none
	TFTPMD5     string           `json:"tftp_md5,omitempty"` // of the file its TFTP serves
	TFTP        bool             `json:"tftp,omitempty"`     // runs Cisco TFTP (serves phones)
	Differences []NodeDifference `json:"differences"`        // empty: holds the predicted CTL
}

// NodeDifference is one way a node differs: tokenless.Difference kinds (missing,
// unexpected, changed, signer, unsigned, absent) and "inconsistent" (`show ctl` and TFTP
// disagree, or the node holds another file than the publisher, R22).
type NodeDifference struct {
	Kind   string `json:"kind"`
	Record string `json:"record,omitempty"`
	Detail string `json:"detail"`
}

// String is the difference in words.
func (d NodeDifference) String() string {
	if d.Record == "" {
		return d.Kind + ": " + d.Detail
	}
	return d.Kind + " " + d.Record + ": " + d.Detail
}
