package ctl

import (
	"net/netip"
	"testing"
)

// Equal is true exactly when two records marshal alike and print alike: every field, and the
// tag layout, counts; a built copy of a parsed record is Equal to it.
func TestRecordEqual(t *testing.T) {
	f, err := Parse(readSample(t, "SCFFile.tlv"))
	if err != nil {
		t.Fatal(err)
	}
	parsed := f.Records[1]
	built := parsed
	built.layout, built.pos, built.cache = nil, 0, nil
	if !parsed.Equal(&built) {
		t.Fatal("a record and its built copy are not Equal (positive control)")
	}
	for _, c := range []struct {
		name   string
		change func(r *Record)
	}{
		{"role", func(r *Record) { r.Role = RoleTFTP }},
		{"dns name", func(r *Record) { r.DNSName += "x" }},
		{"subject", func(r *Record) { r.SubjectName += "x" }},
		{"issuer", func(r *Record) { r.IssuerName += "x" }},
		{"ip", func(r *Record) { r.IPAddress = netip.MustParseAddr("10.9.9.9") }},
		{"serial", func(r *Record) { r.SerialNumber = append([]byte{1}, r.SerialNumber...) }},
		{"public key", func(r *Record) { r.PublicKey = append([]byte{}, r.PublicKey[1:]...) }},
		{"certificate", func(r *Record) { r.Certificate = append([]byte{}, r.Certificate[1:]...) }},
		{"cert signature", func(r *Record) { r.CertSignature = append([]byte{}, r.CertSignature[1:]...) }},
		{"unknown tag", func(r *Record) { r.Unknown = append(r.Unknown, Field{Tag: 99, Value: []byte{1}}) }},
		{"layout", func(r *Record) { r.layout = append([]slot{}, r.layout[:len(r.layout)-1]...) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := parsed
			r.cache = nil
			c.change(&r)
			if parsed.Equal(&r) || r.Equal(&parsed) {
				t.Errorf("a record whose %s differs is Equal", c.name)
			}
			a, errA := encodeRecord(&parsed)
			b, errB := encodeRecord(&r)
			if errA == nil && errB == nil && string(a) == string(b) && parsed.Text() == r.Text() {
				t.Errorf("the change of %s shows neither in the bytes nor in the text: the case tests nothing", c.name)
			}
		})
	}
}
