package ctl

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"unsafe"
)

// RecordError says which field of which record disagrees with the record's own certificate.
type RecordError struct {
	Record int    // 1-based, as in text and JSON
	Title  string // role and name, e.g. "SAST alice"
	Offset int    // byte offset of the field's TLV in the parsed file; -1 for a built record
	Tag    uint8
	Msg    string
}

func (e *RecordError) Error() string {
	where := fmt.Sprintf("record %d (%s)", e.Record, e.Title)
	if e.Offset >= 0 {
		where += fmt.Sprintf(", offset %d", e.Offset)
	}
	return fmt.Sprintf("%s, tag %d (%s): %s", where, e.Tag, recordTagNames[e.Tag], e.Msg)
}

// ErrMismatch is wrapped by every RecordError, for errors.Is.
var ErrMismatch = errors.New("record disagrees with its certificate")

func (e *RecordError) Unwrap() error { return ErrMismatch }

// CheckRecords checks that every record carrying a certificate says what the certificate says:
// serial, subject, issuer and public key (issue 12). A record that names one identity and
// carries another's certificate would make readers (and perhaps phones) trust the wrong name.
// The first disagreement is returned as a *RecordError.
func (f *File) CheckRecords() error {
	for i := range f.Records {
		r := &f.Records[i]
		if len(r.Certificate) == 0 {
			continue
		}
		if tag, msg := r.certMismatch(); msg != "" {
			return &RecordError{Record: i + 1, Title: r.Title(), Offset: f.fieldOffset(r, tag), Tag: tag, Msg: msg}
		}
	}
	return nil
}

// certMismatch returns the first field of r that its certificate contradicts, or msg "".
func (r *Record) certMismatch() (tag uint8, msg string) {
	t, ok := parseTBS(r.Certificate)
	if !ok {
		if _, err := r.X509(); err != nil {
			return rCertificate, "certificate does not parse: " + err.Error()
		}
		return r.certMismatchSlow()
	}
	if r.SerialNumber != nil && !SameSerial(t.serial, r.SerialNumber) {
		return rSerialNumber, fmt.Sprintf("serial %s, but the certificate's serial is %s", hexSerial(r.SerialNumber), hexSerial(t.serial))
	}
	var buf [256]byte
	// A self-signed certificate (most CUCM ones) names the same bytes twice: when the record
	// also names the same string twice, the subject's answer is the issuer's.
	selfSigned := string(t.issuer) == string(t.subject) && r.IssuerName == r.SubjectName
	for i, n := range []struct {
		tag  uint8
		have string
		der  []byte
		what string
	}{{rSubjectName, r.SubjectName, t.subject, "subject"}, {rIssuerName, r.IssuerName, t.issuer, "issuer"}} {
		if n.have == "" && !r.HasTag(n.tag) {
			continue
		}
		if i == 1 && selfSigned && (r.SubjectName != "" || r.HasTag(rSubjectName)) {
			continue // the subject was checked just now against the same bytes and string
		}
		s, ok := appendNameString(buf[:0], n.der, false)
		if !ok {
			return r.certMismatchSlow()
		}
		if string(s) == n.have {
			continue
		}
		if alt, _ := appendNameString(buf[len(s):len(s)], n.der, true); string(alt) == n.have {
			continue
		}
		return n.tag, mismatchMsg(n.have, n.what, string(s))
	}
	if len(r.PublicKey) > 0 && string(t.key) != string(r.PublicKey) {
		return rPublicKey, "PUBLIC_KEY differs from the certificate's key"
	}
	return 0, ""
}

// mismatchMsg is kept apart so that the name buffers of certMismatch stay on the stack.
func mismatchMsg(have, what, cert string) string {
	return fmt.Sprintf("%q, but the certificate's %s is %q", have, what, cert)
}

// certMismatchSlow is certMismatch through crypto/x509, for certificates the quick reading
// does not cover.
func (r *Record) certMismatchSlow() (uint8, string) {
	c, err := r.X509()
	if err != nil {
		return rCertificate, "certificate does not parse: " + err.Error()
	}
	if r.SerialNumber != nil && (c.SerialNumber == nil || !SameSerial(c.SerialNumber.Bytes(), r.SerialNumber)) {
		return rSerialNumber, fmt.Sprintf("serial %s, but the certificate's serial is %x", hexSerial(r.SerialNumber), c.SerialNumber)
	}
	if s := NameString(c.Subject); (r.SubjectName != "" || r.HasTag(rSubjectName)) && s != r.SubjectName && rdnString(c.Subject) != r.SubjectName {
		return rSubjectName, fmt.Sprintf("%q, but the certificate's subject is %q", r.SubjectName, s)
	}
	if s := NameString(c.Issuer); (r.IssuerName != "" || r.HasTag(rIssuerName)) && s != r.IssuerName && rdnString(c.Issuer) != r.IssuerName {
		return rIssuerName, fmt.Sprintf("%q, but the certificate's issuer is %q", r.IssuerName, s)
	}
	if len(r.PublicKey) > 0 {
		k, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok || string(x509.MarshalPKCS1PublicKey(k)) != string(r.PublicKey) {
			return rPublicKey, "PUBLIC_KEY differs from the certificate's key"
		}
	}
	return 0, ""
}

// fieldOffset is the file offset of r's TLV with the given tag, found from where the field's
// value lies in f's buffer; the record's own offset when that is not known; -1 for a built
// record.
func (f *File) fieldOffset(r *Record, tag uint8) int {
	var p unsafe.Pointer
	switch tag {
	case rSubjectName:
		p = unsafe.Pointer(unsafe.StringData(r.SubjectName))
	case rIssuerName:
		p = unsafe.Pointer(unsafe.StringData(r.IssuerName))
	case rSerialNumber:
		p = unsafe.Pointer(unsafe.SliceData(r.SerialNumber))
	case rPublicKey:
		p = unsafe.Pointer(unsafe.SliceData(r.PublicKey))
	case rCertificate:
		p = unsafe.Pointer(unsafe.SliceData(r.Certificate))
	}
	if off, ok := f.offsetIn(p); ok && off >= 3 {
		return off - 3
	}
	if _, ok := f.offsetIn(unsafe.Pointer(unsafe.SliceData(r.Certificate))); ok && r.pos > 0 {
		return r.pos - 1 // the record was parsed from f
	}
	return -1
}

// offsetIn reports where p lies in f's buffer, if it does.
func (f *File) offsetIn(p unsafe.Pointer) (int, bool) {
	if p == nil || len(f.raw) == 0 {
		return 0, false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.raw)))
	at := uintptr(p)
	if at < base || at >= base+uintptr(len(f.raw)) {
		return 0, false
	}
	return int(at - base), true
}
