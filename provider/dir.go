package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Dir reads and writes CTLFile.tlv in a mapped TFTP FileLocation (R17: an alternate TFTP
// server reached through a share). It applies the same checks as the reference server before
// writing and serialises writers with a lock file, so that two ctlops processes sharing a mount
// cannot interleave (R24). It knows no inventory, mode or services.
type Dir struct {
	path string
	mu   sync.Mutex // serialises this process; the lock file serialises processes
}

// LockFileName is the lock file a Dir keeps beside CTLFile.tlv. Phones never ask for it.
const LockFileName = ".ctlops.lock"

// NewDir opens an existing directory.
func NewDir(path string) (*Dir, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dir://%s: %w", path, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("dir://%s: not a directory", path)
	}
	return &Dir{path: path}, nil
}

// Name returns dir://path.
func (d *Dir) Name() string { return "dir://" + d.path }

func (d *Dir) fail(op string, err error) error { return &Error{Server: d.Name(), Op: op, Err: err} }

// Cluster is not available from a directory.
func (d *Dir) Cluster(context.Context) (*Inventory, error) {
	return nil, d.fail("get cluster", fmt.Errorf("a FileLocation carries no inventory: %w", errors.ErrUnsupported))
}

// CTL reads the file.
func (d *Dir) CTL(context.Context) ([]byte, string, error) {
	data, err := ReadCTLFile(d.path)
	if err != nil {
		return nil, "", d.fail("get ctl", err)
	}
	return data, ETag(data), nil
}

func (d *Dir) lockPath() string { return filepath.Join(d.path, LockFileName) }

// readLock returns the current lock; nil when none or expired.
func (d *Dir) readLock() (*Lock, error) {
	data, err := os.ReadFile(d.lockPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l Lock
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("lock file %s: %w (break the lock to clear it)", d.lockPath(), err)
	}
	if time.Now().After(l.Expires) {
		return nil, nil
	}
	return &l, nil
}

func (d *Dir) writeLock(l *Lock, exclusive bool) error {
	data, _ := json.Marshal(l)
	if exclusive {
		f, err := os.OpenFile(d.lockPath(), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(d.lockPath())
			return err
		}
		return f.Close()
	}
	tmp := d.lockPath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, d.lockPath())
}

// NewLockID returns a random lock id.
func NewLockID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// LeaseOf turns a request's lease into a duration: 5 minutes by default, at most an hour.
func LeaseOf(req LockRequest) time.Duration {
	lease := req.Lease
	if lease == 0 && req.LeaseSec > 0 {
		lease = time.Duration(req.LeaseSec) * time.Second
	}
	if lease <= 0 {
		lease = 5 * time.Minute
	}
	if lease > time.Hour {
		lease = time.Hour
	}
	return lease
}

// Lock takes the lock file; a lock whose lease ran out is taken over.
func (d *Dir) Lock(_ context.Context, req LockRequest) (*Lock, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, err := d.readLock()
	if err != nil {
		return nil, d.fail("take lock", err)
	}
	if cur != nil {
		return nil, &Error{Server: d.Name(), Op: "take lock", Code: CodeLocked, Holder: cur, Err: ErrLocked}
	}
	os.Remove(d.lockPath()) // expired or absent
	now := time.Now().UTC()
	l := &Lock{ID: NewLockID(), User: req.User, Host: req.Host, Operation: req.Operation,
		Created: now, Expires: now.Add(LeaseOf(req))}
	if err := d.writeLock(l, true); err != nil {
		if errors.Is(err, os.ErrExist) {
			other, _ := d.readLock()
			return nil, &Error{Server: d.Name(), Op: "take lock", Code: CodeLocked, Holder: other, Err: ErrLocked}
		}
		return nil, d.fail("take lock", err)
	}
	return l, nil
}

func (d *Dir) held(op, id string) (*Lock, error) {
	cur, err := d.readLock()
	if err != nil {
		return nil, d.fail(op, err)
	}
	if id == "" {
		return nil, &Error{Server: d.Name(), Op: op, Code: CodeLockRequired, Err: ErrNotLocked}
	}
	if cur == nil || cur.ID != id {
		return nil, &Error{Server: d.Name(), Op: op, Code: CodeLockLost, Holder: cur, Err: ErrNotLocked}
	}
	return cur, nil
}

// RenewLock extends the lease.
func (d *Dir) RenewLock(_ context.Context, id string, lease time.Duration) (*Lock, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, err := d.held("renew lock", id)
	if err != nil {
		return nil, err
	}
	cur.Expires = time.Now().UTC().Add(LeaseOf(LockRequest{Lease: lease}))
	if err := d.writeLock(cur, false); err != nil {
		return nil, d.fail("renew lock", err)
	}
	return cur, nil
}

// ReleaseLock removes the lock file if id holds it.
func (d *Dir) ReleaseLock(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.held("release lock", id); err != nil {
		return err
	}
	if err := os.Remove(d.lockPath()); err != nil {
		return d.fail("release lock", err)
	}
	return nil
}

// BreakLock removes the lock file whoever holds it.
func (d *Dir) BreakLock(context.Context) (*Lock, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, err := d.readLock()
	if err != nil {
		cur = nil // unreadable: breaking it is exactly what is wanted
	}
	if err := os.Remove(d.lockPath()); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &Error{Server: d.Name(), Op: "break lock", Code: CodeNoLock, Err: ErrNotLocked}
		}
		return nil, d.fail("break lock", err)
	}
	if cur == nil {
		cur = &Lock{}
	}
	return cur, nil
}

// WriteCTL checks and writes the file atomically (see WriteCTLFile).
func (d *Dir) WriteCTL(_ context.Context, data []byte, opt WriteOptions) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	const op = "write ctl"
	if _, err := d.held(op, opt.LockID); err != nil {
		return "", err
	}
	cur, unreadable := ReadCTLFile(d.path)
	if errors.Is(unreadable, ErrNoCTL) {
		cur, unreadable = nil, nil
	}
	// An unreadable installed file has no ETag to match; CheckInstalled refuses it unless
	// the write overrides R19.
	if unreadable == nil {
		if err := CheckIfMatch(cur, opt.IfMatch); err != nil {
			return "", &Error{Server: d.Name(), Op: op, Code: CodeETagMismatch, Message: err.Error(), Err: ErrConflict}
		}
	}
	if err := CheckInstalled(cur, unreadable, data, opt.OverrideR19); err != nil {
		var re *RejectError
		errors.As(err, &re)
		return "", &Error{Server: d.Name(), Op: op, Code: re.Code, Message: re.Msg, Err: ErrRejected}
	}
	if err := WriteCTLFile(d.path, data); err != nil {
		return "", d.fail(op, err)
	}
	return ETag(data), nil
}

// CheckIfMatch compares the installed file (nil when none) with the ETag the writer read.
func CheckIfMatch(cur []byte, ifMatch string) error {
	switch {
	case cur == nil && ifMatch == "":
		return nil
	case cur == nil:
		return fmt.Errorf("expected CTL %s, but there is none", ifMatch)
	case ifMatch == "":
		return fmt.Errorf("a CTL %s exists; the write assumed none", ETag(cur))
	case ETag(cur) != ifMatch:
		return fmt.Errorf("CTL is now %s, the write expected %s", ETag(cur), ifMatch)
	}
	return nil
}

// SetMode is not possible on a directory.
func (d *Dir) SetMode(context.Context, string, Mode) error {
	return d.fail("set mode", fmt.Errorf("a FileLocation has no security mode: %w", errors.ErrUnsupported))
}

// Restart is not possible on a directory.
func (d *Dir) Restart(context.Context, string, []Service) error {
	return d.fail("restart services", fmt.Errorf("a FileLocation runs no services: %w", errors.ErrUnsupported))
}
