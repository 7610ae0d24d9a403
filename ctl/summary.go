package ctl

import (
	"crypto/x509"
	"fmt"
	"time"
)

// Summary is the JSON view of a file that `ctlops inspect --format json` prints. Fields a file
// or record does not carry are null, never zero values that could be mistaken for data.
type Summary struct {
	File           string          `json:"file"`
	Version        *string         `json:"version"`
	HeaderLength   *int            `json:"headerLength"`
	Signer         *SignerSummary  `json:"signer"`
	HashAlgorithm  *string         `json:"hashAlgorithm"`
	SignatureValid bool            `json:"signatureValid"`
	SignatureError *string         `json:"signatureError"`
	SignerRecord   *int            `json:"signerRecord"`
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
	Role              string  `json:"role"`
	RoleCode          int     `json:"roleCode"`
	DNSName           *string `json:"dnsName"`
	SubjectName       *string `json:"subjectName"`
	IssuerName        *string `json:"issuerName"`
	Serial            *string `json:"serial"`
	IPAddress         *string `json:"ipAddress"`
	CertificateSHA256 *string `json:"certificateSHA256"`
	NotAfter          *string `json:"notAfter"`
}

// TrustSummary says whether phones holding an installed file accept this one (R19).
type TrustSummary struct {
	File     string  `json:"file"`
	Accepted bool    `json:"accepted"`
	Reason   *string `json:"reason"`
}

// Summarize builds the JSON view of a parsed file and checks its signature.
func Summarize(name string, f *File) Summary {
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
		s.SignerRecord = ptr(i)
	}
	if err := f.Verify(); err != nil {
		s.SignatureError = ptr(err.Error())
	} else {
		s.SignatureValid = true
	}
	for i := range f.Records {
		r := &f.Records[i]
		rs := RecordSummary{Role: r.Role.String(), RoleCode: int(r.Role)}
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
			if c, err := x509.ParseCertificate(r.Certificate); err == nil {
				rs.NotAfter = ptr(c.NotAfter.UTC().Format(time.RFC3339))
			}
		}
		s.Records = append(s.Records, rs)
	}
	return s
}

func ptr[T any](v T) *T { return &v }
