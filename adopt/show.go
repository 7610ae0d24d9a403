package adopt

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// Checksums are the digests of a whole CTL file: MD5 and SHA-1 as CUCM's `show ctl` and the
// phone's Settings > Security > Trust List > CTL File menu show them (which one a phone shows
// depends on its model, CUCM-INTERFACES §2.3), and SHA-256, the ETag every ctlops transport
// reports.
type Checksums struct{ MD5, SHA1, SHA256 string }

// Sum computes the checksums of a file's bytes.
func Sum(data []byte) Checksums {
	m, s1, s2 := md5.Sum(data), sha1.Sum(data), sha256.Sum256(data)
	return Checksums{hex.EncodeToString(m[:]), hex.EncodeToString(s1[:]), hex.EncodeToString(s2[:])}
}

// ShowCTL writes a CTL file in the words and layout of CUCM's `show ctl` (CUCM-INTERFACES
// §2.3): checksums, length, the header's tags, then each record's, with Cisco's own tag names
// (their typos DIGESTALGORTITHM and SIGNATUREALGORTITHM included, so that an admin's eye and
// grep find what they know). Two things are ctlops' own: CUCM prints when the file was last
// modified on disk, which a reader over TFTP cannot know, so this prints the header's signing
// time; and each record with a certificate gets its expiry (expired / expires in N days,
// against now). The IP address is printed in the VALUE column where CUCM leaves it empty.
// Every string from the file goes through termsafe.Line.
func ShowCTL(w io.Writer, data []byte, now time.Time) error {
	f, err := ctl.Parse(data)
	if err != nil {
		return err
	}
	sum := Sum(data)
	p := &printer{w: w}
	p.line("The checksum value of the CTL file:")
	p.line("%s(MD5)", sum.MD5)
	p.line("%s(SHA1)", sum.SHA1)
	p.line("%s(SHA256, the ctlops ETag)", sum.SHA256)
	p.line("")
	p.line("Length of CTL file: %d", len(data))
	p.line("The CTL File was signed on %s", f.Header.Timestamp.UTC().Format("Mon Jan 02 15:04:05 MST 2006"))
	p.line("")
	p.line("Parse CTL File")
	p.line("----------------")
	p.line("")
	h := &f.Header
	p.line("Version:        %d.%d", h.Version[0], h.Version[1])
	p.line("HeaderLength:   %d (BYTES)", h.HeaderLength)
	p.line("")
	p.columns()
	if h.SignerVersion != nil {
		p.tag(28, "SIGNERVERSION", len(h.SignerVersion), fmt.Sprintf("%d.%d", at(h.SignerVersion, 0), at(h.SignerVersion, 1)))
	}
	signerID := 3 + cstrLen(h.SignerName) + 3 + len(h.SignerSerial) + 3 + cstrLen(h.SignerIssuer)
	p.tag(3, "SIGNERID", 2, fmt.Sprint(signerID))
	p.tag(4, "SIGNERNAME", cstrLen(h.SignerName), termsafe.Line(h.SignerName))
	p.tag(5, "SERIALNUMBER", len(h.SignerSerial), colonHex(h.SignerSerial))
	p.tag(6, "CANAME", cstrLen(h.SignerIssuer), termsafe.Line(h.SignerIssuer))
	p.tag(7, "SIGNATUREINFO", 2, "15")
	p.tag(8, "DIGESTALGORTITHM", 1, h.HashAlgorithm.String())
	p.tag(9, "SIGNATUREALGOINFO", 2, "8")
	p.tag(10, "SIGNATUREALGORTITHM", 1, "")
	p.tag(11, "SIGNATUREMODULUS", 1, "")
	p.tag(12, "SIGNATURE", len(h.Signature), "")
	for i := 0; i < len(h.Signature); i += 16 {
		end := min(i+16, len(h.Signature))
		var parts []string
		for _, b := range h.Signature[i:end] {
			parts = append(parts, fmt.Sprintf("%02x", b))
		}
		p.line("%s", strings.Join(parts, "  "))
	}
	p.tag(14, "FILENAME", cstrLen(h.FileName), termsafe.Line(h.FileName))
	p.tag(15, "TIMESTAMP", 4, "")
	for _, u := range h.Unknown {
		p.tag(int(u.Tag), "UNKNOWN", len(u.Value), "")
	}

	signer := f.SignerRecord()
	for i := range f.Records {
		r := &f.Records[i]
		p.line("")
		p.line("CTL Record #:%d", i+1)
		p.line("----")
		p.columns()
		p.tag(1, "RECORDLENGTH", 2, fmt.Sprint(RecordLength(r)))
		if r.HasTag(2) {
			p.tag(2, "DNSNAME", cstrLen(r.DNSName), termsafe.Line(r.DNSName))
		}
		if r.HasTag(3) {
			p.tag(3, "SUBJECTNAME", cstrLen(r.SubjectName), termsafe.Line(r.SubjectName))
		}
		p.tag(4, "FUNCTION", 2, function(r.Role))
		if r.HasTag(5) {
			p.tag(5, "ISSUERNAME", cstrLen(r.IssuerName), termsafe.Line(r.IssuerName))
		}
		if r.HasTag(6) {
			p.tag(6, "SERIALNUMBER", len(r.SerialNumber), colonHex(r.SerialNumber))
		}
		if r.HasTag(7) {
			p.tag(7, "PUBLICKEY", len(r.PublicKey), "")
		}
		if r.HasTag(8) {
			p.tag(8, "SIGNATURE", len(r.CertSignature), "")
		}
		if r.HasTag(9) {
			s := sha1.Sum(r.Certificate)
			p.tag(9, "CERTIFICATE", len(r.Certificate), spacedHex(s[:])+" (SHA1 Hash HEX)")
		}
		if r.HasTag(10) {
			ip := ""
			if r.IPAddress.IsValid() {
				ip = r.IPAddress.String()
			}
			p.tag(10, "IPADDRESS", 4, ip)
		}
		for _, u := range r.Unknown {
			p.tag(int(u.Tag), "UNKNOWN", len(u.Value), "")
		}
		if len(r.Certificate) > 0 {
			if c, err := r.X509(); err == nil {
				p.line("Certificate expiry: %s", Expiry(c.NotAfter, now))
			}
		}
		if r.Role == ctl.RoleSAST {
			if i == signer {
				p.line("This etoken was used to sign the CTL file.")
			} else {
				p.line("This etoken was not used to sign the CTL file.")
			}
		}
	}
	p.line("")
	if err := f.Verify(); err != nil {
		p.line("The CTL file failed verification: %s", termsafe.Line(err.Error()))
	} else {
		p.line("The CTL file was verified successfully.")
	}
	return p.err
}

// Expiry says when a certificate expires relative to now, in days.
func Expiry(notAfter, now time.Time) string {
	d := notAfter.UTC().Format("2006-01-02 15:04:05 MST")
	days := int(notAfter.Sub(now).Hours() / 24)
	switch {
	case !now.Before(notAfter):
		return fmt.Sprintf("%s, EXPIRED %d days ago", d, -days)
	case days == 0:
		return d + ", expires today"
	}
	return fmt.Sprintf("%s, expires in %d days", d, days)
}

// RecordLength is tag 1 of a record: the whole record's bytes, this TLV included (§3). It is
// computed from the tags the record carries, each a 3-byte tag and length plus its value.
func RecordLength(r *ctl.Record) int {
	n := 3 + 2
	add := func(tag uint8, l int) {
		if r.HasTag(tag) {
			n += 3 + l
		}
	}
	add(2, cstrLen(r.DNSName))
	add(3, cstrLen(r.SubjectName))
	add(4, 2)
	add(5, cstrLen(r.IssuerName))
	add(6, len(r.SerialNumber))
	add(7, len(r.PublicKey))
	add(8, len(r.CertSignature))
	add(9, len(r.Certificate))
	add(10, 4)
	for _, u := range r.Unknown {
		n += 3 + len(u.Value)
	}
	return n
}

// function is the FUNCTION value as `show ctl` prints it.
func function(r ctl.Role) string {
	if r == ctl.RoleSAST {
		return "System Administrator Security Token"
	}
	return r.String()
}

func cstrLen(s string) int { return len(s) + 1 }

func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":")
}

func spacedHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, " ")
}

// printer writes lines and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *printer) columns() {
	p.line("BYTEPOS TAG             LENGTH  VALUE")
	p.line("------- ---             ------  -----")
}

// tag is one row: the tag number (CUCM's BYTEPOS column holds it), its name, length, value.
func (p *printer) tag(n int, name string, length int, value string) {
	row := fmt.Sprintf("%-7d %-15s %-7d %s", n, name, length, value)
	p.line("%s", strings.TrimRight(row, " "))
}
