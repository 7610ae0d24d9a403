package token

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/safefile"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/phonerules"
)

// ResignOptions tunes Resign.
type ResignOptions struct {
	// Hash of the new signature; zero keeps the file's.
	Hash ctl.HashAlgorithm
	// Force signs even when the signer is not a SAST record of the file (its record is then
	// added) or the file's current signature does not verify. Phones holding the file reject
	// the result (R19); only phones without a CTL accept it.
	Force bool
	// Models are the phone models whose verdict counts (phonerules): with none given, every
	// known model's refusal is a warning; with models given, a refusal by one of them is an
	// error unless Force. Either way the verdicts are phonerules', the plan's and the lab
	// phones' decision.
	Models []phonerules.Profile
	Now    time.Time
}

// ResignResult is a re-signed file and what the caller must tell the user.
type ResignResult struct {
	Data     []byte
	File     *ctl.File
	Warnings []string
}

// IsSAST reports whether cert is one of the file's SAST records: the records phones trust to
// sign the next file (R19). It is ctl's one definition (File.HasSAST), asked of a record
// built from the certificate.
func IsSAST(f *ctl.File, cert *x509.Certificate) bool {
	rec, err := ctl.NewRecord(cert, ctl.RoleSAST, "", netip.Addr{})
	return err == nil && f.HasSAST(&rec)
}

// ReadCTL reads a CTL file named on the command line: a regular file only, at most
// ctl.MaxFileSize bytes (so `resign /dev/zero` is refused at once instead of filling memory),
// and parsed.
func ReadCTL(path string) ([]byte, *ctl.File, error) {
	data, err := safefile.Read(path, ctl.MaxFileSize)
	if err != nil {
		return nil, nil, err
	}
	f, err := ctl.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, f, nil
}

// SHA256Warning is said whenever a file is signed with SHA-256: code 2 is a constant in public
// tools but no phone has been seen loading such a file (CTL-FORMAT.md §2.4) [?].
const SHA256Warning = "hash sha256 is unconfirmed on phones (§2.4): no real CTL signed with SHA-256 has been seen; sha1 is what CUCM writes. Test on one phone before a fleet"

// Describe is the one-line account of a re-signed file that resign prints.
func (r *ResignResult) Describe(out string) string {
	return termsafe.Line(fmt.Sprintf("wrote %s: %d records, signed %s with %s serial %s, sha256 %s", // the file's words
		out, len(r.File.Records), r.File.Header.HashAlgorithm, r.File.Header.SignerName,
		ctl.SerialHex(r.File.Header.SignerSerial), ctl.Fingerprint(r.Data)))
}

// SASTFilter is an Options.Accept that keeps the key pairs phones holding f would trust.
func SASTFilter(f *ctl.File) func(*x509.Certificate) bool {
	return func(c *x509.Certificate) bool { return IsSAST(f, c) }
}

// Resign signs an existing CTL file again with s, keeping its records (R19: s must already be
// one of its SAST records, unless o.Force). The result is parsed back and verified before it is
// returned; nothing is returned when any step fails.
func Resign(data []byte, s Signer, o ResignOptions) (*ResignResult, error) {
	installed, err := ctl.Parse(data)
	if err != nil {
		return nil, err
	}
	f, err := ctl.Parse(data)
	if err != nil {
		return nil, err
	}
	res := &ResignResult{}
	if err := installed.Verify(); err != nil {
		if !o.Force {
			return nil, fmt.Errorf("the file's current signature does not verify (%v): refusing to re-sign what may have been altered; --force overrides", err)
		}
		res.Warnings = append(res.Warnings, "the file's current signature does not verify: re-signing anyway (--force)")
	}
	h := o.Hash
	if h == 0 {
		h = f.Header.HashAlgorithm
		if _, err := h.CryptoHash(); err != nil {
			return nil, fmt.Errorf("the file's hash algorithm is %s; choose one with --hash sha1|sha256|sha512", h)
		}
	}
	if h == ctl.SHA256 {
		res.Warnings = append(res.Warnings, SHA256Warning)
	}
	cert := s.Certificate()
	rec, err := ctl.NewRecord(cert, ctl.RoleSAST, "", netip.Addr{})
	if err != nil {
		return nil, err
	}
	trusted := installed.HasSAST(&rec)
	if !trusted {
		msg := fmt.Sprintf("the signer %s is not a SAST record of the file (R19): phones that hold it would reject the new file; its SAST records: %s",
			rec.Identity(), installed.SASTList())
		if !o.Force {
			return nil, errors.New(msg + "; use a token listed there (--force overrides)")
		}
		f.Records = append(f.Records, rec)
		res.Warnings = append(res.Warnings,
			"--force: "+msg+"; its SAST record was added. PHONES THAT HOLD THE CURRENT FILE WILL REJECT THIS ONE; only phones without a CTL accept it")
	}
	if warning, err := serialClash(f, cert); err != nil {
		return nil, err
	} else if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if err := f.Sign(s, cert, h, now); err != nil {
		return nil, err
	}
	out, err := f.Marshal()
	if err != nil {
		return nil, err
	}
	back, err := ctl.Parse(out)
	if err != nil {
		return nil, fmt.Errorf("the re-signed file does not parse back: %w", err)
	}
	if err := back.Verify(); err != nil {
		return nil, fmt.Errorf("the re-signed file does not verify: %w", err)
	}
	if trusted {
		if err := ctl.Accepts(installed, back); err != nil {
			return nil, err
		}
	}
	// What each phone model holding the file would do with the new one (P10-P17, P32, P33).
	for _, v := range phonerules.Refusers(phonerules.Verdicts(installed, back, o.Models...)) {
		if trusted && len(o.Models) > 0 && !o.Force {
			return nil, fmt.Errorf("phones holding the file would not take the new one: %s (--force overrides)", v)
		}
		res.Warnings = append(res.Warnings, "phones: "+v.String())
	}
	res.Data, res.File = out, back
	return res, nil
}

// serialClash looks for another SAST record with the signer's serial. The CTL header names
// its signer by serial, name and issuer (CTL-FORMAT §2.5); ctlops picks the record that matches
// all three, but whether phones compare more than the serial is not known. Self-signed lab
// certificates made with a fixed "serial = 1" hit this; certificates from a CA never do. Two
// records that also share subject and issuer cannot be told apart at all: refused.
func serialClash(f *ctl.File, cert *x509.Certificate) (warning string, err error) {
	serial := cert.SerialNumber.Bytes()
	name, issuer := ctl.NameString(cert.Subject), ctl.NameString(cert.Issuer)
	for _, r := range f.Records {
		if r.Role != ctl.RoleSAST || !ctl.SameSerial(r.SerialNumber, serial) || bytes.Equal(r.Certificate, cert.Raw) {
			continue
		}
		if r.SubjectName == name && r.IssuerName == issuer {
			return "", fmt.Errorf("the signer %s and another SAST record share serial %s, subject and issuer: nothing in the CTL header could tell them apart; give each token certificate its own serial", name, ctl.SerialHex(serial))
		}
		return fmt.Sprintf("the signer %s and the SAST record %q share serial %s: ctlops tells them apart by subject and issuer, but phones that match the signer by serial alone could check the wrong record; give each token certificate its own serial",
			name, r.SubjectName, ctl.SerialHex(serial)), nil
	}
	return "", nil
}

// AskToken lets a terminal user pick one of several present tokens (R20): it lists them on w
// and reads a number from r. Anything else than a listed number chooses nothing.
func AskToken(r io.Reader, w io.Writer) func([]Info) (Info, error) {
	return askToken(w, func() (string, error) {
		line, err := readLineBounded(r)
		switch {
		case err != nil && line == "" && err != io.EOF:
			return "", fmt.Errorf("no token chosen: %w", err)
		case err != nil && line == "":
			return "", errors.New("no token chosen")
		}
		return line, nil
	})
}

// AskTokenContext is AskToken on the terminal fd, giving up when ctx ends (Ctrl-C).
func AskTokenContext(ctx context.Context, fd int, w io.Writer) func([]Info) (Info, error) {
	return askToken(w, func() (string, error) {
		line, err := ReadLine(ctx, fd, true)
		switch {
		case ctx.Err() != nil:
			return "", ctx.Err()
		case err != nil && len(line) == 0:
			return "", errors.New("no token chosen")
		}
		return string(line), nil
	})
}

func askToken(w io.Writer, read func() (string, error)) func([]Info) (Info, error) {
	return func(present []Info) (Info, error) {
		fmt.Fprintln(w, "Several security tokens are present (R20: insert only the one to sign with):")
		for n, i := range present {
			fmt.Fprintf(w, "  %d) %s %s %s\n", n+1, i.Name(), i.Manufacturer, i.Model)
		}
		fmt.Fprintf(w, "Token to use [1-%d]: ", len(present))
		line, err := read()
		if err != nil {
			return Info{}, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || n < 1 || n > len(present) {
			return Info{}, fmt.Errorf("no token chosen (%q is not one of 1-%d)", strings.TrimSpace(line), len(present))
		}
		return present[n-1], nil
	}
}
