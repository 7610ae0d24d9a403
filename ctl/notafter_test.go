package ctl

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// NotAfter's quick reading agrees with crypto/x509 on the samples' certificates and on both
// encodings of the time, either side of the 2050 switch and of UTCTime's 1950 pivot; a
// certificate it cannot read quickly still gets x509's answer, and one without a certificate
// an error.
func TestNotAfter(t *testing.T) {
	var recs []Record
	for _, name := range samples {
		f, err := Parse(readSample(t, name))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, f.Records...)
	}
	key := testKey(t, 1024, 0)
	for _, at := range []time.Time{
		time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC),                   // UTCTime 50…: 1950
		time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC),              // UTCTime 49…: 2049
		time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC),                   // GeneralizedTime
		time.Date(2231, 6, 7, 8, 9, 10, 0, time.UTC),                  // GeneralizedTime, far
		time.Date(2026, 2, 28, 12, 0, 0, 0, time.FixedZone("", 3600)), // written in UTC
	} {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "n"},
			NotBefore: at.Add(-time.Hour), NotAfter: at}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, Record{Certificate: der})
	}
	quick := 0
	for i := range recs {
		r := &recs[i]
		c, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.NotAfter()
		if err != nil || !got.Equal(c.NotAfter) {
			t.Errorf("record %d: NotAfter %s, %v; x509 says %s", i, got, err, c.NotAfter)
		}
		if tb, ok := parseTBS(r.Certificate); ok {
			if _, ok := tb.notAfter(); ok {
				quick++
			}
		}
	}
	if quick != len(recs) {
		t.Errorf("the quick reading read %d of %d certificates: the test compares x509 with itself", quick, len(recs))
	}
	if _, err := (&Record{}).NotAfter(); err == nil {
		t.Error("a record without a certificate has a NotAfter")
	}
}
