package provider

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ctlops/ctlops/ctl"
)

// RejectError says why a CTL was refused before anything was written. Code is the protocol's.
type RejectError struct {
	Code string
	Msg  string
}

func (e *RejectError) Error() string { return e.Msg }
func (e *RejectError) Unwrap() error { return ErrRejected }

// CheckCTL is the gate in front of every write: next must parse and its signature verify, and
// phones holding current (nil when there is none) must accept it (R19) unless overrideR19.
// It is the same check on the reference server and on a mapped directory, so that a file that
// would be refused over HTTPS cannot reach phones by another road.
func CheckCTL(current, next []byte, overrideR19 bool) error {
	if len(next) > MaxCTLSize {
		return &RejectError{CodeTooLarge, fmt.Sprintf("CTL is %d bytes, more than %d", len(next), MaxCTLSize)}
	}
	nf, err := ctl.Parse(next)
	if err != nil {
		return &RejectError{CodeCTLInvalid, fmt.Sprintf("new CTL does not parse: %v", err)}
	}
	if err := nf.Verify(); err != nil {
		return &RejectError{CodeCTLSignature, fmt.Sprintf("new CTL signature does not verify: %v", err)}
	}
	if current == nil || overrideR19 {
		return nil
	}
	cf, err := ctl.Parse(current)
	if err != nil {
		// A broken installed file cannot vouch for anything; phones holding it have no
		// trust to lose, so the new file is judged on its own (and the write fixes the server).
		return nil
	}
	if err := ctl.Accepts(cf, nf); err != nil {
		return &RejectError{CodeCTLUntrusted, fmt.Sprintf("phones holding the current CTL would reject the new one (R19): %v", err)}
	}
	return nil
}

// PreviousSuffix names the copy of the replaced file kept beside CTLFile.tlv.
const PreviousSuffix = ".previous"

// ReadCTLFile reads dir/CTLFile.tlv; ErrNoCTL when it does not exist.
func ReadCTLFile(dir string) ([]byte, error) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoCTL
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxCTLSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxCTLSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", filepath.Join(dir, FileName), MaxCTLSize)
	}
	return data, nil
}

// WriteCTLFile replaces dir/CTLFile.tlv so that a crash at any moment leaves either the old
// file or the new one, never a torn one: temp file in the same directory, fsync, keep the old
// file as CTLFile.tlv.previous (a hard link, so it is never absent), rename, fsync the
// directory. The file is world-readable because TFTP servers (tftpd-hpa runs as nobody) and
// phones must read it (R4).
func WriteCTLFile(dir string, data []byte) error {
	cur := filepath.Join(dir, FileName)
	tmp, err := os.CreateTemp(dir, "."+FileName+".tmp-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
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
	if err := os.Rename(tmpName, cur); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
