package ctl

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Issue 12: a record must say what its own certificate says. Each case gives record 3 (the
// publisher) a field of another identity; the signature is fine, so only the check can fail.
func TestVerifyChecksRecordsAgainstCertificates(t *testing.T) {
	other := newIdentity(t, "intruder.example.com", 2048, 5, 0x5005)
	otherRec := mustRecord(t, other, RoleCCM, "intruder", "127.0.0.99")
	cases := []struct {
		name string
		edit func(r *Record)
		tag  uint8
		want string
	}{
		{"positive control", func(r *Record) {}, 0, ""},
		{"subject", func(r *Record) { r.SubjectName = otherRec.SubjectName }, rSubjectName, "certificate's subject"},
		{"issuer", func(r *Record) { r.IssuerName = otherRec.IssuerName }, rIssuerName, "certificate's issuer"},
		{"serial", func(r *Record) { r.SerialNumber = otherRec.SerialNumber }, rSerialNumber, "certificate's serial"},
		{"public key", func(r *Record) { r.PublicKey = otherRec.PublicKey }, rPublicKey, "PUBLIC_KEY differs"},
		{"certificate of another", func(r *Record) { r.Certificate = otherRec.Certificate }, rSerialNumber, "certificate's serial"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, tok1, _ := buildCluster(t, 2048)
			c.edit(&f.Records[2])
			if err := f.Sign(tok1.key, tok1.cert, SHA1, time.Now()); c.tag != 0 {
				// Sign verifies its own work, so it refuses such a file too.
				if err == nil {
					t.Fatal("Sign accepted a record that disagrees with its certificate")
				}
				f.Header.Signature = make([]byte, 256)
				if err := f.signUnchecked(tok1); err != nil {
					t.Fatal(err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			data, err := f.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			g, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			err = g.Verify()
			if c.tag == 0 {
				if err != nil {
					t.Fatalf("positive control: %v", err)
				}
				return
			}
			var re *RecordError
			if !errors.As(err, &re) || !errors.Is(err, ErrMismatch) {
				t.Fatalf("err = %v, want a *RecordError", err)
			}
			if re.Record != 3 || re.Tag != c.tag || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %q (record %d, tag %d), want record 3, tag %d, containing %q", err, re.Record, re.Tag, c.tag, c.want)
			}
			if re.Offset < 0 || int(data[re.Offset]) != int(c.tag) {
				t.Fatalf("offset %d does not point at tag %d", re.Offset, c.tag)
			}
			if !strings.Contains(g.Text(), "does NOT verify") || strings.Contains(g.Text(), "Signed this file") {
				t.Errorf("Text still says the file is signed:\n%s", g.Text())
			}
		})
	}
}

// signUnchecked signs f as Sign does but without Sign's final self-check, to build files that
// a careless or hostile producer could publish.
func (f *File) signUnchecked(id identity) error {
	signed, err := f.SignedBytes()
	if err != nil {
		return err
	}
	h, _ := f.Header.HashAlgorithm.CryptoHash()
	d := h.New()
	d.Write(signed)
	f.Header.Signature, err = id.key.Sign(nil, d.Sum(nil), h)
	return err
}

// The quick name reading must agree with NameString through crypto/x509 on every sample
// certificate, in both forms real files use; the test fails if the quick path gives up, too.
func TestQuickNamesMatchX509(t *testing.T) {
	for _, name := range samples {
		f, err := Parse(readSample(t, name))
		if err != nil {
			t.Fatal(err)
		}
		for i := range f.Records {
			r := &f.Records[i]
			c, err := r.X509()
			if err != nil {
				t.Fatal(err)
			}
			tb, ok := parseTBS(r.Certificate)
			if !ok {
				t.Fatalf("%s record %d: quick reading failed", name, i+1)
			}
			for _, n := range []struct {
				der  []byte
				want string
				alt  string
			}{{tb.subject, NameString(c.Subject), rdnString(c.Subject)}, {tb.issuer, NameString(c.Issuer), rdnString(c.Issuer)}} {
				got, ok := appendNameString(nil, n.der, false)
				alt, ok2 := appendNameString(nil, n.der, true)
				if !ok || !ok2 || string(got) != n.want || string(alt) != n.alt {
					t.Errorf("%s record %d: quick %q / %q, x509 %q / %q", name, i+1, got, alt, n.want, n.alt)
				}
			}
		}
	}
}

// R19 refusals name signers so that two tokens made from one template (same subject, same
// serial) read differently: never "alice not trusted; trusted: alice".
func TestAcceptsTellsLookAlikesApart(t *testing.T) {
	alice1 := newIdentity(t, "SAST-alice", 2048, 0, 1)
	alice2 := newIdentity(t, "SAST-alice", 2048, 1, 1)
	installed, _ := signed(t, New("CTLFile.tlv", []Record{mustRecord(t, alice1, RoleSAST, "", "")}), alice1, SHA1, time.Now())
	next, _ := signed(t, New("CTLFile.tlv", []Record{mustRecord(t, alice2, RoleSAST, "", "")}), alice2, SHA1, time.Now())
	err := Accepts(installed, next)
	if err == nil {
		t.Fatal("a look-alike token was accepted")
	}
	msg := err.Error()
	signer, trusted := next.Records[0].Identity(), installed.Records[0].Identity()
	if signer == trusted || !strings.Contains(msg, signer) || !strings.Contains(msg, trusted) {
		t.Fatalf("refusal does not tell the signers apart:\n%s", msg)
	}
}
