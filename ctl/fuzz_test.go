package ctl

import (
	"bytes"
	"crypto/x509"
	"testing"
)

// FuzzParse: Parse never panics, and whatever it accepts re-encodes byte for byte and can be
// verified, rendered and summarised without panicking. The seeds (both samples and some
// fragments) run in every `go test`; `go test -fuzz FuzzParse ./ctl` explores further.
func FuzzParse(f *testing.F) {
	for _, name := range samples {
		b := readSample(f, name)
		f.Add(b)
		f.Add(b[:312])
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 2, 1, 2, 2, 0, 2, 0, 12, 13, 13})
	f.Add([]byte{1, 0, 2, 1, 2, 2, 0, 2, 0, 12, 13, 13, 1, 0, 2, 0, 10, 4, 0, 2, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			return
		}
		out, err := file.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed file: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("round trip differs at byte %d", firstDiff(out, data))
		}
		if !file.unchanged() {
			t.Fatal("a parsed, untouched file does not compare as unchanged: Verify would re-encode")
		}
		_ = file.Verify()
		_ = file.Text()
		_ = Summarize("fuzz", file)
	})
}

// FuzzCertQuickRead: the quick reading of certificates that Verify uses (parseTBS,
// appendNameString) never panics on any bytes, and wherever both it and crypto/x509 read a
// name, they agree. Seeds: every certificate of both samples.
func FuzzCertQuickRead(f *testing.F) {
	for _, name := range samples {
		file, err := Parse(readSample(f, name))
		if err != nil {
			f.Fatal(err)
		}
		for _, r := range file.Records {
			f.Add(r.Certificate)
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		tb, ok := parseTBS(der)
		if !ok {
			return
		}
		subj, okS := appendNameString(nil, tb.subject, false)
		iss, okI := appendNameString(nil, tb.issuer, false)
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		if okS && string(subj) != NameString(c.Subject) {
			t.Fatalf("subject: quick %q, x509 %q", subj, NameString(c.Subject))
		}
		if okI && string(iss) != NameString(c.Issuer) {
			t.Fatalf("issuer: quick %q, x509 %q", iss, NameString(c.Issuer))
		}
		if !SameSerial(tb.serial, c.SerialNumber.Bytes()) && c.SerialNumber.Sign() >= 0 {
			t.Fatalf("serial: quick %x, x509 %x", tb.serial, c.SerialNumber)
		}
		if at, ok := tb.notAfter(); ok && !at.Equal(c.NotAfter) {
			t.Fatalf("notAfter: quick %s, x509 %s", at, c.NotAfter)
		}
	})
}
