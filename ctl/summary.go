package ctl

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"
)

// Summary is the JSON view of a file that `ctlops inspect --format json` prints. Fields a file
// or record does not carry are null, never zero values that could be mistaken for data.
// Records are numbered from 1 everywhere, in JSON (signerRecord, records[].record) as in the
// text ("signed by record 1") and in errors ("record 3, offset ...").
type Summary struct {
	File string `json:"file"`
	// MD5, SHA1 and SHA256 are the file's checksums in lower-case hex: MD5 and SHA-1 are what
	// CUCM's `show ctl` and the phone's Trust List menu show.
	MD5            *string         `json:"md5"`
	SHA1           *string         `json:"sha1"`
	SHA256         *string         `json:"sha256"`
	Version        *string         `json:"version"`
	HeaderLength   *int            `json:"headerLength"`
	Signer         *SignerSummary  `json:"signer"`
	HashAlgorithm  *string         `json:"hashAlgorithm"`
	SignatureValid bool            `json:"signatureValid"`
	SignatureError *string         `json:"signatureError"`
	SignerRecord   *int            `json:"signerRecord"` // 1-based
	FileName       *string         `json:"fileName"`
	Timestamp      *string         `json:"timestamp"`
	Records        []RecordSummary `json:"records"`
	// Installed is set by callers that check trust continuity against an installed file (R19).
	Installed *TrustSummary `json:"installed,omitempty"`
	Error     *string       `json:"error"`
}

// SignerSummary is the header's signer.
type SignerSummary struct {
	Name   *string `json:"name"`
	Serial *string `json:"serial"`
	Issuer *string `json:"issuer"`
}

// RecordSummary is one record of a Summary.
type RecordSummary struct {
	Record            int     `json:"record"` // 1-based, as in the text
	Role              string  `json:"role"`
	RoleCode          int     `json:"roleCode"`
	DNSName           *string `json:"dnsName"`
	SubjectName       *string `json:"subjectName"`
	IssuerName        *string `json:"issuerName"`
	Serial            *string `json:"serial"`
	IPAddress         *string `json:"ipAddress"`
	CertificateSHA256 *string `json:"certificateSHA256"`
	NotAfter          *string `json:"notAfter"`
	// Expiry is "expired", "expiring" (within the window Summarize was given) or "valid";
	// null without a parseable certificate. Expiry is a warning, never an error (issue 17).
	Expiry *string `json:"expiry"`
}

// TrustSummary says whether phones holding an installed file accept this one (R19).
type TrustSummary struct {
	File     string  `json:"file"`
	Accepted bool    `json:"accepted"`
	Reason   *string `json:"reason"`
}

// DefaultExpiryWindow is how far ahead a certificate counts as expiring soon, unless the caller
// says otherwise (inspect --expiry-window).
const DefaultExpiryWindow = 30 * 24 * time.Hour

// Summarize builds the JSON view of a parsed file and checks its signature, judging expiry
// now with the default window.
func Summarize(name string, f *File) Summary {
	return SummarizeAt(name, f, time.Now(), DefaultExpiryWindow)
}

// SummarizeAt is Summarize with the clock and the expiry window given, for tests and flags.
func SummarizeAt(name string, f *File, now time.Time, window time.Duration) Summary {
	h := &f.Header
	s := Summary{
		File:          name,
		Version:       ptr(fmt.Sprintf("%d.%d", h.Version[0], h.Version[1])),
		HeaderLength:  ptr(int(h.HeaderLength)),
		HashAlgorithm: ptr(h.HashAlgorithm.String()),
		Records:       make([]RecordSummary, 0, len(f.Records)),
	}
	if h.HeaderLength == 0 { // built, not parsed: report what Marshal would write
		if b, err := f.Marshal(); err == nil && len(b) >= 10 {
			s.HeaderLength = ptr(int(b[7])<<8 | int(b[8]))
		}
	}
	hasTag := func(t uint8) bool {
		var buf [32]slot
		for _, sl := range h.slots(buf[:0]) {
			if sl.tag == t {
				return true
			}
		}
		return false
	}
	s.Signer = &SignerSummary{}
	if hasTag(hSignerName) {
		s.Signer.Name = ptr(h.SignerName)
	}
	if hasTag(hSignerSerial) {
		s.Signer.Serial = ptr(SerialHex(h.SignerSerial))
	}
	if hasTag(hSignerIssuer) {
		s.Signer.Issuer = ptr(h.SignerIssuer)
	}
	if hasTag(hFileName) {
		s.FileName = ptr(h.FileName)
	}
	if hasTag(hTimestamp) {
		s.Timestamp = ptr(h.Timestamp.UTC().Format(time.RFC3339))
	}
	if i := f.SignerRecord(); i >= 0 {
		s.SignerRecord = ptr(i + 1)
	}
	data := f.raw
	if data == nil {
		data, _ = f.Marshal()
	}
	if data != nil {
		c := FileChecksums(data)
		s.MD5, s.SHA1, s.SHA256 = &c.MD5, &c.SHA1, &c.SHA256
	}
	if err := f.Verify(); err != nil {
		s.SignatureError = ptr(err.Error())
	} else {
		s.SignatureValid = true
	}
	for i := range f.Records {
		r := &f.Records[i]
		rs := RecordSummary{Record: i + 1, Role: r.Role.String(), RoleCode: int(r.Role)}
		if r.HasTag(rDNSName) {
			rs.DNSName = ptr(r.DNSName)
		}
		if r.HasTag(rSubjectName) {
			rs.SubjectName = ptr(r.SubjectName)
		}
		if r.HasTag(rIssuerName) {
			rs.IssuerName = ptr(r.IssuerName)
		}
		if r.HasTag(rSerialNumber) {
			rs.Serial = ptr(SerialHex(r.SerialNumber))
		}
		if r.HasTag(rIPAddress) {
			rs.IPAddress = ptr(r.IPAddress.String())
		}
		if len(r.Certificate) > 0 {
			rs.CertificateSHA256 = ptr(Fingerprint(r.Certificate))
			if c, err := r.X509(); err == nil {
				rs.NotAfter = ptr(c.NotAfter.UTC().Format(time.RFC3339))
				rs.Expiry = ptr(ExpiryOf(c, now, window))
			}
		}
		s.Records = append(s.Records, rs)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// ExpiryOf is "expired" past NotAfter, "expiring" within window of it, else "valid".
func ExpiryOf(c *x509.Certificate, now time.Time, window time.Duration) string {
	switch {
	case !now.Before(c.NotAfter):
		return "expired"
	case now.Add(window).After(c.NotAfter):
		return "expiring"
	}
	return "valid"
}

// Checksums are a file's digests in lower-case hex, the form `show ctl` prints.
type Checksums struct{ MD5, SHA1, SHA256 string }

// FileChecksums digests a whole file.
func FileChecksums(data []byte) Checksums {
	m, s1, s2 := md5.Sum(data), sha1.Sum(data), sha256.Sum256(data)
	return Checksums{MD5: hex.EncodeToString(m[:]), SHA1: hex.EncodeToString(s1[:]), SHA256: hex.EncodeToString(s2[:])}
}

// ShowCTL is the checksum line as CUCM's `show ctl` prints it (CUCM-INTERFACES §2.4):
// "The checksum value of the CTL file: <md5>(MD5) <sha1>(SHA1)".
func (c Checksums) ShowCTL() string {
	return fmt.Sprintf("%s(MD5) %s(SHA1)", c.MD5, c.SHA1)
}
