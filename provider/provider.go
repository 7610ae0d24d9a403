// Package provider reads and writes the live state of CallManager clusters: the CTL file each
// node serves and the server inventory the CTL is built from (R14).
//
// Three transports share two interfaces. Reader is all that drift checks and plans get, so a
// read-only code path cannot write by construction (Open hands out a value that has no write
// methods even behind a type assertion). Writer adds the update lock (R24), writing the CTL,
// the security mode (R10, R11) and service restarts (R23); only apply should ask for one.
//
//   - host:port or https://host:port: the CTL Provider protocol of PROTOCOL.md (HTTPS, R7, R25).
//   - tftp://host[:port]: fetches CTLFile.tlv the way phones do (R4), from any TFTP server,
//     including a real CUCM; it has no inventory and cannot write.
//   - dir://path: a mapped TFTP FileLocation (R17): reads and writes CTLFile.tlv in place, with
//     a lock file for R24; it has no inventory, no mode and no services.
//
// ETags are the lower-case hex SHA-256 of the file on every transport, so a digest read over
// TFTP can be compared with one read over HTTPS or stored in a plan file.
package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// FileName is the CTL file's name in a TFTP FileLocation (R4).
const FileName = cucm.FileName

// AlternateDir is the folder of a FileLocation under which a server keeps other clusters'
// files, one folder per cluster, when it is their alternate TFTP server (R4, R17).
const AlternateDir = "alternate"

// DefaultPort is the CTL Provider's default TLS port (R7).
const DefaultPort = 2444

// MaxCTLSize bounds every CTL read or written: phones load no more (ctl.MaxFileSize), and a
// peer that sends more is broken or hostile.
const MaxCTLSize = ctl.MaxFileSize

// The cluster's value types live in package cucm, shared with the planner, which must not
// import the transport; these aliases keep provider.X spelling for the transports.
type (
	Mode        = cucm.Mode
	Role        = cucm.Role
	Inventory   = cucm.Inventory
	Server      = cucm.Server
	Certificate = cucm.Certificate
)

const (
	ModeNonSecure = cucm.ModeNonSecure
	ModeMixed     = cucm.ModeMixed
	RoleCCM       = cucm.RoleCCM
	RoleTFTP      = cucm.RoleTFTP
	RoleCAPF      = cucm.RoleCAPF
)

// ParseMode accepts the two modes of R9.
func ParseMode(s string) (Mode, error) { return cucm.ParseMode(s) }

// Lock is the holder of a node's update lock (R24).
type Lock struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Host      string    `json:"host"`
	Operation string    `json:"operation"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
}

// String describes the holder for messages; the fields come from a server and are made safe
// for a terminal (the id is never part of it).
func (l *Lock) String() string {
	return fmt.Sprintf("%s@%s (%s) since %s, until %s", termsafe.Line(l.User), termsafe.Line(l.Host), termsafe.Line(l.Operation),
		l.Created.UTC().Format(time.RFC3339), l.Expires.UTC().Format(time.RFC3339))
}

// LockRequest says who wants the lock and for how long; the holder fields are shown to anyone
// who finds the lock taken.
type LockRequest struct {
	User      string        `json:"user"`
	Host      string        `json:"host"`
	Operation string        `json:"operation"`
	Lease     time.Duration `json:"-"`
	LeaseSec  int           `json:"leaseSeconds"`
}

// WriteOptions are the preconditions of a CTL write. IfMatch is the ETag of the file being
// replaced, "" when none exists yet. OverrideR19 writes a file that phones holding the current
// one would reject (R19); the server records that it was used.
type WriteOptions struct {
	LockID      string
	IfMatch     string
	OverrideR19 bool
}

// Service is a CallManager service that a restart names (R23).
type Service = cucm.Service

const (
	ServiceCallManager = cucm.ServiceCallManager
	ServiceTFTP        = cucm.ServiceTFTP
)

// Reader is what plans and drift checks may use: nothing in it changes a server.
type Reader interface {
	// Name identifies the server in errors and reports.
	Name() string
	// Cluster returns the inventory; transports without one return an error wrapping
	// errors.ErrUnsupported.
	Cluster(ctx context.Context) (*Inventory, error)
	// CTL returns the current file and its ETag (hex SHA-256); ErrNoCTL when there is none.
	CTL(ctx context.Context) (data []byte, etag string, err error)
}

// Writer changes a server. Every change but taking the lock needs the id of the held lock.
type Writer interface {
	Reader
	Lock(ctx context.Context, req LockRequest) (*Lock, error)
	RenewLock(ctx context.Context, id string, lease time.Duration) (*Lock, error)
	ReleaseLock(ctx context.Context, id string) error
	// BreakLock removes whoever holds the lock; for an admin after a crashed apply. It returns
	// the lock that was broken, or ErrNotLocked.
	BreakLock(ctx context.Context) (*Lock, error)
	// WriteCTL replaces the file and returns its new ETag.
	WriteCTL(ctx context.Context, data []byte, opt WriteOptions) (etag string, err error)
	SetMode(ctx context.Context, lockID string, mode Mode) error
	Restart(ctx context.Context, lockID string, services []Service) error
}

// Sentinel errors, matched with errors.Is through *Error.
var (
	ErrNoCTL        = errors.New("no CTL file")
	ErrLocked       = errors.New("update lock held by another client")
	ErrNotLocked    = errors.New("no such lock")
	ErrConflict     = errors.New("CTL changed since it was read")
	ErrRejected     = errors.New("CTL refused")
	ErrUnauthorized = errors.New("credentials refused")
	// ErrThrottled: the server's login rate limit refused to check the credentials (429).
	// Nothing was changed; Error.RetryAfter says when to try again.
	ErrThrottled = errors.New("throttled by the server's login rate limit")
)

// ETag is the digest every transport reports for a CTL file.
func ETag(data []byte) string { return cucm.Digest(data) }

// Error is any failure that involves a server; it always names it (R26).
type Error struct {
	Server  string // as given to Open, e.g. "cm1.example.com:2444"
	Op      string // "get cluster", "write ctl", …
	Status  int    // HTTP status, 0 when none
	Code    string // the protocol's error code, "" when none
	Message string
	Holder  *Lock // for ErrLocked: who holds the lock
	// RetryAfter is the server's Retry-After with ErrThrottled, 0 otherwise.
	RetryAfter time.Duration
	Err        error // sentinel or cause
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Server, e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	} else if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Holder != nil && e.Message == "" {
		fmt.Fprintf(&b, " (held by %s)", e.Holder)
	}
	// Filtered whole: besides the server's words, the transport's errors quote the server too
	// (a TLS error names its certificate's names).
	return termsafe.Line(b.String())
}

func (e *Error) Unwrap() error { return e.Err }
