package provider

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Options configure every transport; each uses the fields that apply to it.
type Options struct {
	// Username and Password are the cluster admin's (R25). The password is sent only inside
	// TLS and never appears in an error.
	Username string
	Password string

	// The server's certificate is verified against CAFile or CAPool, or pinned by the SHA-256
	// of its DER (lower-case hex, colons allowed), or both. With neither, the system roots are
	// used: there is no way to switch verification off.
	CAFile string
	CAPool *x509.CertPool
	Pins   []string

	// Timeout bounds each request or TFTP transfer; 30 s when zero.
	Timeout time.Duration
	// Retries is how many times an idempotent read is retried after a network error or a
	// 502/503/504; 2 when zero, none when negative.
	Retries int

	// Location selects an alternate file location on the server: the place a TFTP server
	// keeps another cluster's CTL when it serves as that cluster's alternate TFTP server
	// (R4, R17). "" is the server's own FileLocation. Only the CTL Provider protocol has it.
	Location string
}

// CheckLocation accepts alternate location names: a cluster name, as plain as a path element.
func CheckLocation(name string) error {
	if name == "" {
		return nil
	}
	if len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" || strings.HasPrefix(name, ".") {
		return fmt.Errorf("alternate location %q: want 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'", name)
	}
	return nil
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 30 * time.Second
	}
	return o.Timeout
}

func (o Options) retries() int {
	switch {
	case o.Retries < 0:
		return 0
	case o.Retries == 0:
		return 2
	}
	return o.Retries
}

// Open returns a read-only view of the server at source: "host[:port]" or "https://host[:port]"
// for the CTL Provider protocol, "tftp://host[:port]" or "dir://path". The value returned has
// no write methods, so a caller holding a Reader cannot write even by a type assertion.
func Open(source string, opt Options) (Reader, error) {
	if err := checkLocationSource(source, opt); err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(source, "tftp://"):
		return NewTFTPReader(strings.TrimPrefix(source, "tftp://"), opt)
	case strings.HasPrefix(source, "dir://"):
		d, err := NewDir(strings.TrimPrefix(source, "dir://"))
		if err != nil {
			return nil, err
		}
		return readOnly{d}, nil
	}
	c, err := NewClient(source, opt)
	if err != nil {
		return nil, err
	}
	return readOnly{c}, nil
}

// OpenWriter is Open for apply: the HTTPS client or a directory.
func OpenWriter(source string, opt Options) (Writer, error) {
	if err := checkLocationSource(source, opt); err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(source, "tftp://"):
		return nil, fmt.Errorf("%s: TFTP is read-only; write through the CTL Provider or a dir:// FileLocation", source)
	case strings.HasPrefix(source, "dir://"):
		return NewDir(strings.TrimPrefix(source, "dir://"))
	}
	return NewClient(source, opt)
}

// checkLocationSource refuses an alternate location where the transport has none.
func checkLocationSource(source string, opt Options) error {
	if opt.Location == "" {
		return nil
	}
	if strings.HasPrefix(source, "tftp://") || strings.HasPrefix(source, "dir://") {
		return fmt.Errorf("%s: alternate file locations are reached through the CTL Provider only", source)
	}
	return CheckLocation(opt.Location)
}

// NodeReader is a Reader that can also describe the node itself: what the planner reads of an
// alternate TFTP server (its certificate, R15).
type NodeReader interface {
	Reader
	Node(ctx context.Context) (*Server, error)
}

// OpenNode is Open for a CTL Provider whose own description is needed; like Open it hands out
// a value with no write methods.
func OpenNode(addr string, opt Options) (NodeReader, error) {
	if err := checkLocationSource(addr, opt); err != nil {
		return nil, err
	}
	c, err := NewClient(addr, opt)
	if err != nil {
		return nil, err
	}
	return readOnlyNode{readOnly{c}, c}, nil
}

type readOnlyNode struct {
	readOnly
	c *Client
}

func (r readOnlyNode) Node(ctx context.Context) (*Server, error) { return r.c.Node(ctx) }

type readOnly struct{ r Reader }

func (r readOnly) Name() string                                    { return r.r.Name() }
func (r readOnly) Cluster(ctx context.Context) (*Inventory, error) { return r.r.Cluster(ctx) }
func (r readOnly) CTL(ctx context.Context) ([]byte, string, error) { return r.r.CTL(ctx) }

// LockReader is a server whose update lock can be read (R24) without taking it: plan and
// drift show held locks (issue 17).
type LockReader interface {
	GetLock(ctx context.Context) (*Lock, error)
}

// GetLock reads the lock of a server that has one; others answer errors.ErrUnsupported.
func (r readOnly) GetLock(ctx context.Context) (*Lock, error) {
	if lr, ok := r.r.(LockReader); ok {
		return lr.GetLock(ctx)
	}
	return nil, errors.ErrUnsupported
}
