package ctl

import (
	"encoding/pem"
	"fmt"
	"io"
	"strings"
	"time"
)

// InspectOptions tunes Inspect, what `ctlops inspect` shows of one file.
type InspectOptions struct {
	// Installed, when set, is the file phones hold now: Inspect says whether they would
	// accept this one (R19). InstalledName names it in the output.
	Installed     *File
	InstalledName string
	Now           time.Time     // zero: time.Now()
	ExpiryWindow  time.Duration // zero: DefaultExpiryWindow
}

// Inspect parses one file and judges it: its summary (nil File when it does not parse) and a
// one-line problem, empty when the file parses, verifies and (with Installed) is accepted.
// Expired certificates are shown, never a problem: every read-only path treats expiry as a
// warning (issue 17).
func Inspect(name string, data []byte, o InspectOptions) (s Summary, f *File, problem string) {
	f, err := Parse(data)
	if err != nil {
		msg := err.Error()
		return Summary{File: name, Error: &msg}, nil, msg
	}
	now, window := o.Now, o.ExpiryWindow
	if now.IsZero() {
		now = time.Now()
	}
	if window == 0 {
		window = DefaultExpiryWindow
	}
	s = SummarizeAt(name, f, now, window)
	if !s.SignatureValid {
		problem = "signature: " + *s.SignatureError
	}
	if o.Installed != nil {
		t := &TrustSummary{File: o.InstalledName, Accepted: true}
		if err := Accepts(o.Installed, f); err != nil {
			reason := err.Error()
			t.Accepted, t.Reason = false, &reason
			if problem == "" {
				problem = reason
			}
		}
		s.Installed = t
	}
	return s, f, problem
}

// WriteInspectText writes inspect's text for one file: the title (when several files are
// shown), the file's show-ctl text, its checksums, the certificates' expiry and the verdict.
// Strings from the file are written as the file holds them; the caller sanitises the stream
// for a terminal.
func WriteInspectText(w io.Writer, s Summary, f *File, title bool) {
	if title {
		fmt.Fprintf(w, "==> %s <==\n", s.File)
	}
	if f == nil {
		return
	}
	fmt.Fprint(w, f.Text())
	fmt.Fprintln(w)
	if s.MD5 != nil {
		fmt.Fprintf(w, "Checksum:        %s(MD5) %s(SHA1)\n", *s.MD5, *s.SHA1)
		fmt.Fprintf(w, "SHA-256:         %s\n", *s.SHA256)
	}
	for _, r := range s.Records {
		if r.Expiry == nil || *r.Expiry == "valid" {
			continue
		}
		what := "EXPIRED"
		if *r.Expiry == "expiring" {
			what = "expires soon"
		}
		fmt.Fprintf(w, "Certificate:     record %d (%s): %s, not after %s\n", r.Record, recordName(r), what, *r.NotAfter)
	}
	switch {
	case s.SignatureValid:
		fmt.Fprintf(w, "Signature:       valid (signed by record %d)\n", *s.SignerRecord)
	default:
		fmt.Fprintf(w, "Signature:       INVALID: %s\n", *s.SignatureError)
	}
	if t := s.Installed; t != nil {
		if t.Accepted {
			fmt.Fprintf(w, "Phones holding %s: accept this file (R19)\n", t.File)
		} else {
			fmt.Fprintf(w, "Phones holding %s: REJECT this file: %s\n", t.File, *t.Reason)
		}
	}
}

func recordName(r RecordSummary) string {
	name := "(no name)"
	switch {
	case r.DNSName != nil && *r.DNSName != "":
		name = *r.DNSName
	case r.SubjectName != nil:
		name = *r.SubjectName
	}
	return r.Role + " " + name
}

// CertFile is one record's certificate ready to be written: a file name that cannot leave the
// directory it is written to, and the PEM text.
type CertFile struct {
	Name string
	PEM  []byte
}

// CertFiles returns the certificates of f's records as PEM files named
// "NN-ROLE-NAME.pem" (NN the 1-based record number, so names never collide). NAME comes
// from inside the file, so it is reduced to letters, digits, '.', '-' and '_' (no '/', no
// leading dot, at most 64 bytes): a hostile file cannot name "../../etc/x" (issue 17).
func CertFiles(f *File) []CertFile {
	var out []CertFile
	for i := range f.Records {
		r := &f.Records[i]
		if len(r.Certificate) == 0 {
			continue
		}
		name := r.DNSName
		if name == "" {
			name = r.SubjectName
		}
		out = append(out, CertFile{
			Name: fmt.Sprintf("%02d-%s-%s.pem", i+1, SafeName(r.Role.String()), SafeName(name)),
			PEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}),
		})
	}
	return out
}

// SafeName keeps letters, digits, '.', '-' and '_' of s, turns anything else into '_', and
// strips leading dots; "" becomes "unnamed".
func SafeName(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	out := strings.TrimLeft(b.String(), ".")
	if out == "" {
		return "unnamed"
	}
	return out
}
