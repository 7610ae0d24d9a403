package ctl

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// Text renders the file in the spirit of CUCM's `show ctl`: the header, then one block per
// record in file order, fields in a fixed order. It is stable (no signature bytes, no map
// iteration, no local time zone), so plans can diff it line by line. Whether the signature
// verifies is not part of it: callers say that beside it.
func (f *File) Text() string {
	var b strings.Builder
	h := &f.Header
	fmt.Fprintf(&b, "File:            %s\n", orNone(h.FileName))
	fmt.Fprintf(&b, "Version:         %d.%d\n", h.Version[0], h.Version[1])
	if h.SignerVersion != nil {
		fmt.Fprintf(&b, "Signer version:  %x\n", h.SignerVersion)
	}
	fmt.Fprintf(&b, "Signer:          %s\n", orNone(h.SignerName))
	fmt.Fprintf(&b, "Signer serial:   %s\n", hexSerial(h.SignerSerial))
	fmt.Fprintf(&b, "Signer issuer:   %s\n", orNone(h.SignerIssuer))
	fmt.Fprintf(&b, "Hash algorithm:  %s\n", h.HashAlgorithm)
	if h.Signature != nil {
		fmt.Fprintf(&b, "Signature:       RSA PKCS#1 v1.5, %d bytes (modulus index %d)\n", len(h.Signature), h.ModulusIndex)
	} else {
		fmt.Fprintf(&b, "Signature:       (unsigned)\n")
	}
	if h.Timestamp.IsZero() {
		fmt.Fprintf(&b, "Timestamp:       (none)\n")
	} else {
		fmt.Fprintf(&b, "Timestamp:       %s\n", h.Timestamp.UTC().Format(time.RFC3339))
	}
	for _, u := range h.Unknown {
		fmt.Fprintf(&b, "Unknown tag %d:  %x\n", u.Tag, u.Value)
	}
	// The record the header names is only "the signer" when the signature verifies against it
	// and every record agrees with its certificate: otherwise a file bob signed could read
	// "signed by alice" (issue 12).
	signer := f.SignerRecord()
	signedBy := "  Signed this file\n"
	if signer >= 0 && f.Verify() != nil {
		signedBy = "  Named as signer by the header, but the file does NOT verify\n"
	}
	fmt.Fprintf(&b, "Records:         %d\n", len(f.Records))
	for i := range f.Records {
		b.WriteString("\n")
		b.WriteString(f.Records[i].Text())
		if i == signer {
			b.WriteString(signedBy)
		}
	}
	return b.String()
}

// Title names a record by role and DNS name, the way plans refer to it.
func (r *Record) Title() string {
	name := r.DNSName
	if name == "" {
		name = r.SubjectName
	}
	if name == "" {
		name = "(no name)"
	}
	return fmt.Sprintf("%s %s", r.Role, name)
}

// Text renders one record block. Record numbers are left out on purpose: inserting a record
// must not change the text of the ones after it.
func (r *Record) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s]\n", r.Title())
	fmt.Fprintf(&b, "  Function:      %s (%d)\n", r.Role, uint16(r.Role))
	fmt.Fprintf(&b, "  DNS name:      %s\n", orNone(r.DNSName))
	if r.HasTag(rIPAddress) {
		fmt.Fprintf(&b, "  IP address:    %s\n", r.IPAddress)
	} else {
		fmt.Fprintf(&b, "  IP address:    (none)\n")
	}
	if r.SubjectName != "" || r.HasTag(rSubjectName) {
		fmt.Fprintf(&b, "  Subject:       %s\n", r.SubjectName)
	}
	if r.IssuerName != "" || r.HasTag(rIssuerName) {
		fmt.Fprintf(&b, "  Issuer:        %s\n", r.IssuerName)
	}
	if r.SerialNumber != nil {
		fmt.Fprintf(&b, "  Serial:        %s\n", hexSerial(r.SerialNumber))
	}
	if len(r.PublicKey) > 0 {
		if k, err := x509.ParsePKCS1PublicKey(r.PublicKey); err == nil {
			fmt.Fprintf(&b, "  Public key:    RSA-%d\n", k.N.BitLen())
		} else {
			fmt.Fprintf(&b, "  Public key:    %d bytes (not PKCS#1 RSA)\n", len(r.PublicKey))
		}
	}
	if len(r.Certificate) > 0 {
		fmt.Fprintf(&b, "  Certificate:   sha256 %s\n", Fingerprint(r.Certificate))
		if c, err := r.cert(); err == nil { // parsed once per record, as every reader of it does
			fmt.Fprintf(&b, "  Valid:         %s to %s\n", c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
			if k, ok := c.PublicKey.(*rsa.PublicKey); ok && len(r.PublicKey) > 0 {
				if pk, err := x509.ParsePKCS1PublicKey(r.PublicKey); err == nil && !pk.Equal(k) {
					fmt.Fprintf(&b, "  Warning:       PUBLIC_KEY differs from the certificate's key\n")
				}
			}
		} else {
			fmt.Fprintf(&b, "  Certificate:   does not parse: %v\n", err)
		}
	} else {
		fmt.Fprintf(&b, "  Certificate:   (none)\n")
	}
	for _, u := range r.Unknown {
		fmt.Fprintf(&b, "  Unknown tag %d: %x\n", u.Tag, u.Value)
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
