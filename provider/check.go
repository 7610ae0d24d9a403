package provider

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/internal/safefile"
)

// RejectError says why a CTL was refused before anything was written. Code is the protocol's.
type RejectError struct {
	Code string
	Msg  string
}

func (e *RejectError) Error() string { return e.Msg }
func (e *RejectError) Unwrap() error { return ErrRejected }

// CheckCTL is the gate in front of every write: next must be a file phones can load (at most
// ctl.MaxFileSize, it parses, its signature verifies, every certificate in it parses) and
// phones holding current (nil when there is none) must accept it (R19) unless overrideR19.
// It is the same check on the reference server and on a mapped directory, so that a file that
// would be refused over HTTPS cannot reach phones by another road.
func CheckCTL(current, next []byte, overrideR19 bool) error {
	return CheckInstalled(current, nil, next, overrideR19)
}

// CheckInstalled is CheckCTL for a writer that may have failed to read the installed file:
// unreadable is that failure (nil when current was read, or there is none). An installed
// file that cannot be read, or that does not parse, cannot say whether phones holding it
// would accept next; the write is refused unless overridden, never judged on next alone.
func CheckInstalled(current []byte, unreadable error, next []byte, overrideR19 bool) error {
	nf, err := loadable(next)
	if err != nil {
		return err
	}
	if overrideR19 {
		return nil
	}
	const hint = "whether phones holding it accept the new file cannot be judged (R19); replace it only with an explicit override (" + HeaderOverride + ": R19, recorded in the audit log)"
	if unreadable != nil {
		return &RejectError{CodeCTLUntrusted, fmt.Sprintf("the installed CTL cannot be read (%v): %s", unreadable, hint)}
	}
	if current == nil {
		return nil
	}
	cf, err := ctl.Parse(current)
	if err != nil {
		return &RejectError{CodeCTLUntrusted, fmt.Sprintf("the installed CTL does not parse (%v): %s", err, hint)}
	}
	if err := ctl.Accepts(cf, nf); err != nil {
		return &RejectError{CodeCTLUntrusted, fmt.Sprintf("phones holding the current CTL would reject the new one (R19): %v", err)}
	}
	return nil
}

// loadable parses next and refuses what a phone could not load.
func loadable(next []byte) (*ctl.File, error) {
	if len(next) > MaxCTLSize {
		return nil, &RejectError{CodeTooLarge, fmt.Sprintf("CTL is %d bytes, more than the %d phones load (ctl.MaxFileSize)", len(next), MaxCTLSize)}
	}
	nf, err := ctl.Parse(next)
	if err != nil {
		return nil, &RejectError{CodeCTLInvalid, fmt.Sprintf("new CTL does not parse: %v", err)}
	}
	for i := range nf.Records {
		r := &nf.Records[i]
		if len(r.Certificate) == 0 {
			continue
		}
		if _, err := r.X509(); err != nil {
			return nil, &RejectError{CodeCTLInvalid, fmt.Sprintf("new CTL: record %d (%s) holds a certificate that does not parse (%v); phones cannot use it", i+1, r.Title(), err)}
		}
	}
	if err := nf.Verify(); err != nil {
		return nil, &RejectError{CodeCTLSignature, fmt.Sprintf("new CTL signature does not verify: %v", err)}
	}
	return nf, nil
}

// PreviousSuffix names the copy of the replaced file kept beside CTLFile.tlv.
const PreviousSuffix = ".previous"

// ReadCTLFile reads dir/CTLFile.tlv; ErrNoCTL when it does not exist. Only a regular file
// of at most MaxCTLSize is read: a FIFO or a device put there is an error, not a hang.
func ReadCTLFile(dir string) ([]byte, error) {
	data, err := safefile.Read(filepath.Join(dir, FileName), MaxCTLSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoCTL
	}
	return data, err
}

// WriteCTLFile replaces dir/CTLFile.tlv so that a crash at any moment leaves either the old
// file or the new one, never a torn one: the old file is kept as CTLFile.tlv.previous (a hard
// link, so the name CTLFile.tlv is never absent), the new one is written by atomicfile
// (temporary file in the same directory, fsync, rename), then the directory is synced. The
// file is world-readable because TFTP servers (tftpd-hpa runs as nobody) and phones must
// read it (R4).
func WriteCTLFile(dir string, data []byte) error {
	cur := filepath.Join(dir, FileName)
	prev := cur + PreviousSuffix
	if _, err := os.Lstat(cur); err == nil {
		if err := os.Remove(prev); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Link(cur, prev); err != nil {
			if err := copyFile(cur, prev); err != nil {
				return fmt.Errorf("keeping the previous file: %w", err)
			}
		}
	}
	if err := atomicfile.Write(cur, data, 0o644); err != nil {
		return err
	}
	return syncDir(dir)
}

// TempPattern is the name atomicfile gives its temporary files (".NAME.tmp-*"): what a
// crash can leave behind in a FileLocation, and CleanTemp removes.
const TempPattern = "." + FileName + ".tmp-*"

// CleanTemp removes the temporary files a crashed writer left in dir; a server calls it at
// start, before anything writes there. It returns how many it removed.
func CleanTemp(dir string) (int, error) {
	names, err := filepath.Glob(filepath.Join(dir, TempPattern))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, err
		}
		n++
	}
	return n, nil
}

func copyFile(from, to string) error {
	data, err := safefile.Read(from, MaxCTLSize)
	if err != nil {
		return err
	}
	return atomicfile.Write(to, data, 0o644)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
