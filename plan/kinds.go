package plan

import (
	"fmt"

	"github.com/ctlops/ctlops/cucm"
)

// Action is what apply does to one record, as Terraform's plans.Action: an enum, never a
// glyph or a sentence. The views choose how each looks.
type Action uint8

const (
	NoOp Action = iota
	Create
	Update
	Delete
	// Replace deletes the record and adds it again; an alternate TFTP entry changes that way
	// (R18).
	Replace
)

var actionNames = [...]string{NoOp: "no-op", Create: "create", Update: "update", Delete: "delete", Replace: "replace"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", a)
}

// MarshalText writes the action's name, so JSON holds "create" rather than a number.
func (a Action) MarshalText() ([]byte, error) {
	if int(a) >= len(actionNames) {
		return nil, fmt.Errorf("unknown action %d", a)
	}
	return []byte(actionNames[a]), nil
}

// UnmarshalText reads a name written by MarshalText, refusing anything else.
func (a *Action) UnmarshalText(b []byte) error {
	for i, n := range actionNames {
		if n == string(b) {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("unknown action %q", b)
}

// ReasonKind says why a record changes.
type ReasonKind string

const (
	ReasonToken          ReasonKind = "declared-token"     // a declared token's SAST record (Name, Fingerprint)
	ReasonAlternate      ReasonKind = "declared-alternate" // a declared alternate TFTP server (Name: host)
	ReasonServer         ReasonKind = "discovered-server"  // a server of the inventory (Name)
	ReasonCAPF           ReasonKind = "discovered-capf"    // the CAPF on a server of the inventory (Name)
	ReasonLiveFile       ReasonKind = "live-file"          // kept from the live file: no inventory to build from
	ReasonTokenRemoved   ReasonKind = "token-undeclared"   // a SAST record whose token is no longer declared
	ReasonServerRemoved  ReasonKind = "server-gone"        // a server no longer in the inventory
	ReasonNotInInventory ReasonKind = "no-inventory"       // a record not in a live inventory that is unknown
	ReasonFields         ReasonKind = "fields-changed"     // the same server with other fields (Fields)
	ReasonCUCMSAST       ReasonKind = "cucm-sast"          // tokenless: CUCM's own SAST record (Name: CallManager or ITLRecovery)
	ReasonCUCMSASTGone   ReasonKind = "cucm-sast-gone"     // tokenless: a SAST record CUCM no longer writes
)

// Reason is why a record changes: a kind, the rule it follows and the facts a view needs to
// say it. Nothing reads a reason's sentence back; code looks at Kind.
type Reason struct {
	Kind        ReasonKind    `json:"kind,omitempty"` // "" for an unchanged record
	Rule        string        `json:"rule,omitempty"`
	Name        string        `json:"name,omitempty"`
	Fingerprint string        `json:"certificate_sha256,omitempty"`
	Fields      []FieldChange `json:"fields,omitempty"`
}

// Field names a record field that changed.
type Field string

const (
	FieldRole        Field = "role"
	FieldHostName    Field = "host_name"
	FieldIP          Field = "ip_address"
	FieldCertificate Field = "certificate" // From/To are certificate fingerprints, "" for none
	FieldNames       Field = "subject_issuer"
)

// FieldChange is one field of a record before and after ("" when empty).
type FieldChange struct {
	Field Field  `json:"field"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
}

// TargetStatus is what a server holds compared with the cluster's file.
type TargetStatus string

const (
	Current TargetStatus = "current" // holds the cluster's CTL
	Differs TargetStatus = "differs" // holds another valid file
	Missing TargetStatus = "missing" // holds none
	Invalid TargetStatus = "invalid" // holds a file that fails to parse or verify
)

// ProblemKind says what a refusal or a warning is about; with the Problem's fields it is all a
// view needs to write the sentence.
type ProblemKind string

const (
	ServerUnreachable      ProblemKind = "server-unreachable"       // Server, Detail (R26)
	ExpectedServerMissing  ProblemKind = "expected-server-missing"  // Server (R14)
	ExpectedIPDiffers      ProblemKind = "expected-ip-differs"      // Server, Have, Want (R22)
	ExpectedRolesDiffer    ProblemKind = "expected-roles-differ"    // Server, Have, Want (R14)
	UnexpectedServer       ProblemKind = "unexpected-server"        // Server (R14)
	FileFailsCheck         ProblemKind = "file-fails-check"         // Server, Detail (R19)
	FileUnknownSigner      ProblemKind = "file-unknown-signer"      // Server, Signer, Serial (R19)
	ClusterUnknownSigner   ProblemKind = "cluster-unknown-signer"   // Signer, Serial (R19)
	TokenRecordFails       ProblemKind = "token-record"             // Token, Detail (R16)
	ServerRecordFails      ProblemKind = "server-record"            // Server, Detail (R14)
	ServerNoCertificate    ProblemKind = "server-no-certificate"    // Server, Have: the role (R14)
	AlternateUnreadable    ProblemKind = "alternate-unreadable"     // Server: address, Detail (R26)
	AlternateModePending   ProblemKind = "alternate-mode-pending"   // Server, Cluster, Have, Want (R17)
	AlternateModeDiffers   ProblemKind = "alternate-mode-differs"   // Server, Cluster, Have, Want (R17)
	AlternateVersion       ProblemKind = "alternate-version"        // Server, Have, Want (R17)
	AlternateLocation      ProblemKind = "alternate-location"       // Server, Have, Want (R17)
	AlternateNoCertificate ProblemKind = "alternate-no-certificate" // Server (R15)
	AlternateRecordFails   ProblemKind = "alternate-record"         // Server, Detail (R15)
	CertificateExpired     ProblemKind = "certificate-expired"      // Of, Date
	CertificateExpiring    ProblemKind = "certificate-expiring"     // Of, Date, N: days left
	NoTrustedSigner        ProblemKind = "no-trusted-signer"        // List: the SAST subjects (R19)
	SignerRemoved          ProblemKind = "signer-removed"           // Signer (R19)
	TooFewTokens           ProblemKind = "too-few-tokens"           // N (R16)
	TwoTokensLeft          ProblemKind = "two-tokens-left"          // (R16)
	DesiredUnencodable     ProblemKind = "desired-unencodable"      // Detail
	DesiredTooLarge        ProblemKind = "desired-too-large"        // N: bytes
	FileGrows              ProblemKind = "file-grows"               // N: from, M: to records
	InventoryForeignTarget ProblemKind = "inventory-foreign-target" // Server, Have: the address (R14)
	InventoryAXLDiffers    ProblemKind = "inventory-axl-differs"    // Server, Have: the side that lists it, Want: the other (R14)
	InventoryAXLUnread     ProblemKind = "inventory-axl-unread"     // Server: the publisher, Detail (R14)
	RegistrationUnread     ProblemKind = "registration-unread"      // Server: the publisher, Detail (issue 16)
	PlatformNodeUndeclared ProblemKind = "platform-node-undeclared" // tokenless: Server, Have: its IP (R14)
	PlatformNodeMissing    ProblemKind = "platform-node-missing"    // tokenless: Server (R14)
	TokenlessOneSAST       ProblemKind = "tokenless-one-sast"       // tokenless: Have: the release (R16)
	ITLDrift               ProblemKind = "itl-drift"                // tokenless: Server, Detail
	ReplaceNothing         ProblemKind = "replace-nothing"          // Server, Have: its status (--replace)
	SignWithUntrusted      ProblemKind = "signwith-untrusted"       // Signer, List: the tokens that may sign (R19)
)

// Problem is a refusal or a warning: its kind, the rule it comes from, where in the spec
// when it is about a line of it, and the facts of the case.
type Problem struct {
	Kind    ProblemKind `json:"kind"`
	Rule    string      `json:"rule,omitempty"`
	Pos     string      `json:"position,omitempty"`
	Server  string      `json:"server,omitempty"`
	Cluster string      `json:"cluster,omitempty"`
	Token   string      `json:"token,omitempty"`
	Signer  string      `json:"signer,omitempty"`
	Serial  string      `json:"serial,omitempty"`
	Of      *CertOf     `json:"certificate_of,omitempty"`
	Have    string      `json:"have,omitempty"`
	Want    string      `json:"want,omitempty"`
	Date    string      `json:"date,omitempty"`
	N       int         `json:"n,omitempty"`
	M       int         `json:"m,omitempty"`
	List    []string    `json:"list,omitempty"`
	// Detail is an error text, often a server's: views show it through termsafe.
	Detail string `json:"detail,omitempty"`
}

// CertOf names whose certificate a problem is about: a token, a server's certificate for a
// role, or an alternate TFTP server.
type CertOf struct {
	Token     string    `json:"token,omitempty"`
	Server    string    `json:"server,omitempty"`
	Role      cucm.Role `json:"role,omitempty"`
	Alternate string    `json:"alternate,omitempty"`
}

// Note is a remark for the reviewer that neither refuses nor warns.
type Note string

const (
	NoteNoInventory       Note = "no-inventory"           // read-only sources: records taken as they are
	NoteMixedNoAutoReg    Note = "mixed-no-autoreg"       // R11
	NoteNonSecureAutoReg  Note = "non-secure-autoreg"     // R11, R12
	NoteNonSecureCerts    Note = "non-secure-keeps-certs" // R12
	NoteFirstNonSecureNil Note = "first-non-secure-none"  // R12
	NoteTokenless         Note = "tokenless"              // CUCM builds and signs the CTL itself
)

// StepKind is what an operator (or apply --restart-services) does after the push (R23).
type StepKind string

const (
	StepRestart      StepKind = "restart"       // restart Service on Servers
	StepResetDevices StepKind = "reset-devices" // reset every device of Cluster
)

// Step is one thing to do after apply, in order (R23).
type Step struct {
	Kind    StepKind     `json:"kind"`
	Service cucm.Service `json:"service,omitempty"`
	Servers []string     `json:"servers,omitempty"`
	Cluster string       `json:"cluster,omitempty"`
	Rule    string       `json:"rule,omitempty"`
}
