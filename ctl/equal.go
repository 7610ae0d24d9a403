package ctl

import (
	"bytes"
	"slices"
)

// Equal reports whether r and o hold the same fields in the same tag layout, so that they
// marshal to the same bytes and print the same Text. Where each came from (parsed or built)
// does not count. It lets a caller skip rendering two records to find them alike.
func (r *Record) Equal(o *Record) bool {
	if r.Role != o.Role || r.DNSName != o.DNSName || r.SubjectName != o.SubjectName ||
		r.IssuerName != o.IssuerName || r.IPAddress != o.IPAddress ||
		!bytes.Equal(r.SerialNumber, o.SerialNumber) || !bytes.Equal(r.PublicKey, o.PublicKey) ||
		!bytes.Equal(r.CertSignature, o.CertSignature) || !bytes.Equal(r.Certificate, o.Certificate) ||
		!slices.EqualFunc(r.Unknown, o.Unknown, func(a, b Field) bool { return a.Tag == b.Tag && bytes.Equal(a.Value, b.Value) }) {
		return false
	}
	var ba, bb [16]slot
	return slices.Equal(r.slots(ba[:0]), o.slots(bb[:0]))
}
