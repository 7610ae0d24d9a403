// Package plan computes what a cluster's CTL file should be, compares it with what the live
// servers hold, and says what would change, what is refused and why.
//
// It is pure: no network, no terminal, no clock of its own. Callers fetch the live state
// (package live), pass it in with the declared state (package spec), and render the result
// (text for terminals, markdown for pull requests, JSON for machines) from the same Plan value.
package plan

import (
	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/spec"
)

// Live is what was read from one cluster's servers.
type Live struct {
	// Inventory is the cluster as its CTL Providers report it (R14); nil when every declared
	// provider is read-only (tftp://, dir://), which leaves the planner without discovery.
	Inventory *cucm.Inventory
	// InventoryFrom is the provider address that answered.
	InventoryFrom string
	// Targets are every place that holds, or must hold, this cluster's CTL file (R4, R23):
	// each CallManager/TFTP server, and each alternate TFTP server's alternate location.
	Targets []Target
	// Alternates are the declared alternate TFTP servers as read from their own providers.
	Alternates []Alternate
	// Foreign are servers whose inventory entry names a CTL Provider the spec's trust
	// configuration does not cover (a dir://, a tftp://, another host): they were not contacted.
	Foreign []ForeignTarget
	// Platform is a tokenless cluster's read through its platform CLI and TFTP (signing:
	// tokenless); the fields above are then unused.
	Platform *PlatformLive
	// Errors are failures that make the cluster unplannable (a server that cannot be read).
	Errors []string
	// AXLNodes are the Unified CM nodes AXL listProcessNode lists on AXLFrom, the publisher,
	// when the cluster declares serviceability endpoints (nil when not asked); AXLError is why
	// it could not be asked. Both only cross-check Inventory (plan/crosscheck.go).
	AXLNodes []string
	AXLFrom  string
	AXLError string
	// Registration are the phones' registration counts RisPort70 selectCmDevice reported on
	// RegistrationFrom, the publisher, when the cluster declares serviceability endpoints (nil
	// when not asked or unread); RegistrationError is why they could not be read. The plan
	// carries them and warns on the error (plan/registration.go).
	Registration      *Registration
	RegistrationFrom  string
	RegistrationError string
}

// ForeignTarget is an inventory entry that names a place ctlops will not go (R14): it is
// reported, never read nor written.
type ForeignTarget struct {
	Server  string
	Address string
}

// Target is one server's copy of the CTL.
type Target struct {
	Server    string `json:"server"`  // inventory name, or the address when there is none
	Address   string `json:"address"` // where it was read: host:port, tftp://…, dir://…
	Alternate bool   `json:"alternate,omitempty"`
	// Data is the file it holds; nil when it holds none.
	Data []byte `json:"-"`
	// Err says why the file could not be read; such a cluster is not planned.
	Err string `json:"error,omitempty"`
	// Lock is the server's update lock, when one is held (R24).
	Lock *HeldLock `json:"lock,omitempty"`
}

// Alternate is a declared alternate TFTP server (R15, R17) as its own provider reports it.
type Alternate struct {
	Decl spec.AlternateTFTP
	// Server is the node itself (name, DNS name, address, certificates).
	Server *cucm.Server
	// Inventory is the node's cluster, for the R17 checks (same mode, same version).
	Inventory *cucm.Inventory
	// DeclaredMode is the mode the spec declares for the server's cluster, "" when that
	// cluster is not declared: a declared cluster's own plan brings its live mode in line.
	DeclaredMode cucm.Mode
	Err          string
}
