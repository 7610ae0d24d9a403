package ctl

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

// unchanged (the fast path of Verify) must say "unchanged" exactly when Marshal would give back
// the bytes read. Each edit below touches one field of one record of the real sample, in the
// ways a caller can: the same content in other memory (still unchanged), other content of
// the same length, another length, nothing. The positive control is the file as read, and the
// edits that keep content must stay on the fast path, so the test fails both ways.
// (Checked by hand: with unchangedAt ignoring the role, "role" fails here.)
func TestUnchangedAgreesWithMarshal(t *testing.T) {
	data := readSample(t, "SCFFile.tlv")
	flip := func(b []byte) []byte {
		c := bytes.Clone(b)
		if len(c) > 0 {
			c[len(c)-1] ^= 1
		}
		return c
	}
	flipS := func(s string) string { return string(flip([]byte(s))) }
	edits := []struct {
		name string
		edit func(r *Record)
	}{
		{"as read", func(r *Record) {}},
		{"dns clone", func(r *Record) { r.DNSName = strings.Clone(r.DNSName) }},
		{"dns flip", func(r *Record) { r.DNSName = flipS(r.DNSName) }},
		{"dns longer", func(r *Record) { r.DNSName += "x" }},
		{"dns empty", func(r *Record) { r.DNSName = "" }},
		{"subject clone", func(r *Record) { r.SubjectName = strings.Clone(r.SubjectName) }},
		{"subject flip", func(r *Record) { r.SubjectName = flipS(r.SubjectName) }},
		{"subject NUL inside", func(r *Record) { r.SubjectName = r.SubjectName[:len(r.SubjectName)-1] + "\x00" }},
		{"issuer flip", func(r *Record) { r.IssuerName = flipS(r.IssuerName) }},
		{"issuer shorter", func(r *Record) { r.IssuerName = r.IssuerName[:len(r.IssuerName)-1] }},
		{"role", func(r *Record) { r.Role ^= 0x100 }},
		{"serial clone", func(r *Record) { r.SerialNumber = bytes.Clone(r.SerialNumber) }},
		{"serial flip", func(r *Record) { r.SerialNumber = flip(r.SerialNumber) }},
		{"serial nil", func(r *Record) { r.SerialNumber = nil }},
		{"public key flip", func(r *Record) { r.PublicKey = flip(r.PublicKey) }},
		{"cert signature longer", func(r *Record) { r.CertSignature = append(bytes.Clone(r.CertSignature), 0) }},
		{"certificate clone", func(r *Record) { r.Certificate = bytes.Clone(r.Certificate) }},
		{"certificate flip", func(r *Record) { r.Certificate = flip(r.Certificate) }},
		{"ip", func(r *Record) { r.IPAddress = netip.AddrFrom4([4]byte{10, 9, 8, 7}) }},
		{"ip v6", func(r *Record) { r.IPAddress = netip.IPv6Loopback() }},
		{"ip none", func(r *Record) { r.IPAddress = netip.Addr{} }},
		{"unknown added", func(r *Record) { r.Unknown = append(r.Unknown, Field{Tag: 99, Value: []byte{1}}) }},
		{"layout dropped", func(r *Record) { r.layout = nil }},
	}
	f0, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	fast, slow := 0, 0
	for i := range f0.Records {
		for _, e := range edits {
			f, err := Parse(bytes.Clone(data))
			if err != nil {
				t.Fatal(err)
			}
			e.edit(&f.Records[i])
			out, err := f.Marshal()
			want := err == nil && bytes.Equal(out, data)
			// Saying "unchanged" wrongly would verify bytes Marshal does not write; saying
			// "changed" wrongly only costs an encode, and is allowed where unchanged gives up
			// on purpose (a record without its layout as read).
			got := f.unchanged()
			if got != want && (got || e.name != "layout dropped") {
				t.Errorf("record %d, %s: unchanged() = %v, Marshal gives the bytes read: %v", i+1, e.name, got, want)
			}
			if want {
				fast++
			} else {
				slow++
			}
			if (e.name == "as read" || strings.HasSuffix(e.name, "clone")) && !want {
				t.Errorf("record %d, %s: Marshal no longer gives the bytes read", i+1, e.name)
			}
		}
	}
	if fast == 0 || slow == 0 {
		t.Fatalf("fast %d, slow %d: the edits must exercise both answers", fast, slow)
	}
}
