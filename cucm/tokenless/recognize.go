package tokenless

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/ctlops/ctlops/ctl"
)

// Recognition says what kind of CTL a file is, from the file alone.
type Recognition struct {
	Tokenless bool
	// Signer is CallManager or ITLRecovery for a tokenless file, "" for a token-signed one.
	Signer Signer
	// Releases is the range of CUCM releases that sign this way (§3.1).
	Releases  string
	Publisher string // DNS name of the publisher (the SAST records' node)
	Mixed     bool   // server records carry certificates (not non-secure placeholders)
	Warnings  []string
}

// Recognize tells a tokenless CTL (SAST records that are CUCM's own CallManager and
// ITLRecovery certificates, §3.1) from a token-signed one. A CallManager SAST is a SAST
// record whose certificate is also some node's CCM/CCM+TFTP/TFTP record; an ITLRecovery SAST
// has a subject CN beginning ITLRECOVERY_ (as in the real 10.5 sample). Expired certificates
// are warnings.
func Recognize(f *ctl.File, now time.Time) (*Recognition, error) {
	if err := f.Verify(); err != nil {
		return nil, fmt.Errorf("CTL does not verify: %w", err)
	}
	r := &Recognition{Tokenless: true}
	var server [][]byte
	for i := range f.Records {
		rec := &f.Records[i]
		switch rec.Role {
		case ctl.RoleCCM, ctl.RoleCCMTFTP, ctl.RoleTFTP:
			if !rec.IsPlaceholder() {
				server = append(server, rec.Certificate)
				r.Mixed = true
			}
		}
		if c, err := rec.X509(); err == nil {
			if w := ExpiryWarning(c, key(rec), now); w != "" {
				r.Warnings = append(r.Warnings, w)
			}
		}
	}
	signer := f.SignerRecord()
	for i := range f.Records {
		rec := &f.Records[i]
		if rec.Role != ctl.RoleSAST {
			continue
		}
		var kind Signer
		switch {
		case isITLRecovery(rec):
			kind = SignerITLRecovery
		case containsCert(server, rec.Certificate):
			kind = SignerCallManager
		case !r.Mixed && r.Publisher != "" && rec.DNSName == r.Publisher:
			// Non-secure: no server certificate to match; a SAST of the publisher's name that is
			// not ITLRecovery is taken as its CallManager certificate.
			kind = SignerCallManager
		default:
			r.Tokenless = false
		}
		if r.Publisher == "" {
			r.Publisher = rec.DNSName
		}
		if i == signer {
			r.Signer = kind
		}
	}
	if !r.Tokenless {
		r.Signer = ""
		return r, nil
	}
	switch r.Signer {
	case SignerCallManager:
		r.Releases = "10.0–11.5"
	case SignerITLRecovery:
		r.Releases = "12.0 and later"
	}
	return r, nil
}

func isITLRecovery(r *ctl.Record) bool {
	return strings.HasPrefix(strings.ToUpper(r.SubjectName), "CN=ITLRECOVERY_")
}

func containsCert(list [][]byte, der []byte) bool {
	for _, c := range list {
		if len(der) > 0 && bytes.Equal(c, der) {
			return true
		}
	}
	return false
}
