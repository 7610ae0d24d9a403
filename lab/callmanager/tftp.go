package callmanager

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pin/tftp/v3"
)

// File names of the trust lists on a TFTP server (R4, §5).
const (
	CTLFileName = "CTLFile.tlv"
	ITLFileName = "ITLFile.tlv"
)

var (
	perMACCTL = regexp.MustCompile(`^(?i)CTLSEP([0-9a-f]{12})\.tlv$`)
	perMACITL = regexp.MustCompile(`^(?i)ITLSEP([0-9a-f]{12})\.tlv$`)
	cnfName   = regexp.MustCompile(`^(?i)SEP([0-9a-f]{12})\.cnf\.xml(\.sgn|\.enc\.sgn)?$`)
)

//lint:ignore ST1005 the wire text of TFTP error 1, as tftpd-hpa sends it
var errNotFound = errors.New("File not found")

// Files is a TFTP read handler for the names phones ask for at boot (P3):
//   - CTLSEP<MAC>.tlv is answered with the cluster's CTLFile.tlv from Dir, as CUCM's TFTP maps
//     it for known devices (C3);
//   - ITLSEP<MAC>.tlv and ITLFile.tlv with the node's ITL;
//   - SEP<MAC>.cnf.xml with the device's file from ConfigDir. The signed names .cnf.xml.sgn and
//     .cnf.xml.enc.sgn get "File not found": the lab signs no configuration files (P35–P37 are
//     not modelled) and would rather say so than serve an unsigned file under a signed name;
//   - anything else goes to Next, or is served from Dir, flat and read-only.
type Files struct {
	Dir       string
	ConfigDir string
	// ITL returns the node's ITL; nil serves Dir/ITLFile.tlv, if any.
	ITL func() ([]byte, error)
	// CTL, when set, returns the CTLFile.tlv to serve (under its own and the per-MAC names)
	// instead of Dir's; an error is "File not found".
	CTL func() ([]byte, error)
	// Config, when set, returns a device's configuration by MAC (upper-case hex) instead of
	// ConfigDir; an error is "File not found".
	Config func(mac string) ([]byte, error)
	// Next serves every other name; nil serves Dir.
	Next func(filename string, rf io.ReaderFrom) error
}

// Read is the handler to give tftp.NewServer.
func (f *Files) Read(filename string, rf io.ReaderFrom) error {
	name := strings.TrimPrefix(filename, "/")
	switch {
	case perMACCTL.MatchString(name) || (f.CTL != nil && name == CTLFileName):
		if f.CTL != nil {
			b, err := f.CTL()
			if err != nil {
				return errNotFound
			}
			return serveBytes(b, rf)
		}
		return serveFile(filepath.Join(f.Dir, CTLFileName), rf)
	case perMACITL.MatchString(name) || name == ITLFileName:
		if f.ITL == nil {
			return serveFile(filepath.Join(f.Dir, ITLFileName), rf)
		}
		b, err := f.ITL()
		if err != nil {
			return errNotFound
		}
		return serveBytes(b, rf)
	case cnfName.MatchString(name):
		m := cnfName.FindStringSubmatch(name)
		if m[2] != "" {
			return errNotFound
		}
		if f.Config != nil {
			b, err := f.Config(strings.ToUpper(m[1]))
			if err != nil {
				return errNotFound
			}
			return serveBytes(b, rf)
		}
		if f.ConfigDir == "" {
			return errNotFound
		}
		return serveFile(filepath.Join(f.ConfigDir, "SEP"+strings.ToUpper(m[1])+".cnf.xml"), rf)
	}
	if f.Next != nil {
		return f.Next(filename, rf)
	}
	if f.Dir == "" || name == "" || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return errNotFound
	}
	return serveFile(filepath.Join(f.Dir, name), rf)
}

func serveFile(path string, rf io.ReaderFrom) error {
	fh, err := os.Open(path)
	if err != nil {
		return errNotFound
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return errNotFound
	}
	if ot, ok := rf.(tftp.OutgoingTransfer); ok {
		ot.SetSize(fi.Size())
	}
	_, err = rf.ReadFrom(fh)
	return err
}

func serveBytes(b []byte, rf io.ReaderFrom) error {
	if ot, ok := rf.(tftp.OutgoingTransfer); ok {
		ot.SetSize(int64(len(b)))
	}
	_, err := rf.ReadFrom(bytes.NewReader(b))
	return err
}
