package ctl

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
)

// New returns an unsigned file with CUCM's header (version 1.2, §2.1) holding records as
// given. Sign it before writing it anywhere phones can fetch it.
func New(fileName string, records []Record) *File {
	return &File{
		Header: Header{
			Version:       [2]byte{1, 2},
			HashAlgorithm: SHA1,
			FileName:      fileName,
		},
		Records: records,
	}
}

// NewRecord builds a record from a certificate the way CUCM does (§3): CUCM name strings, the
// serial as unsigned big-endian bytes, the PKCS#1 public key, the certificate's own signature,
// its DER, the short host name and the IPv4 address (R3).
func NewRecord(cert *x509.Certificate, role Role, host string, ip netip.Addr) (Record, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return Record{}, fmt.Errorf("certificate %q: key is %T; CTL records hold RSA keys", cert.Subject.CommonName, cert.PublicKey)
	}
	if cert.SerialNumber == nil || cert.SerialNumber.Sign() < 0 {
		return Record{}, fmt.Errorf("certificate %q: serial number is missing or negative", cert.Subject.CommonName)
	}
	if ip.IsValid() && !ip.Is4() {
		return Record{}, fmt.Errorf("certificate %q: IP %v is not IPv4; the CTL holds IPv4 addresses only", cert.Subject.CommonName, ip)
	}
	serial := cert.SerialNumber.Bytes()
	if len(serial) == 0 {
		serial = []byte{0}
	}
	r := Record{
		Role:          role,
		DNSName:       ShortHost(host),
		SubjectName:   NameString(cert.Subject),
		IssuerName:    NameString(cert.Issuer),
		SerialNumber:  serial,
		PublicKey:     x509.MarshalPKCS1PublicKey(pub),
		CertSignature: cert.Signature,
		Certificate:   cert.Raw,
		IPAddress:     ip.Unmap(),
	}
	// The certificate is parsed already: X509 and Text answer from it instead of parsing
	// cert.Raw again (the cache is keyed by the very slices, so replacing a field drops it).
	ci := r.info()
	ci.certOnce.Do(func() { ci.cert = cert })
	return r, nil
}

// PlaceholderRecord is what CUCM writes for a server in non-secure mode: the server's place in
// the file without a certificate, tags 1, 2, 4 and 10 only (R12).
func PlaceholderRecord(role Role, host string, ip netip.Addr) Record {
	return Record{Role: role, DNSName: ShortHost(host), IPAddress: ip.Unmap()}
}

// IsPlaceholder reports whether a record carries no certificate and no key (R12).
func (r *Record) IsPlaceholder() bool {
	return len(r.Certificate) == 0 && len(r.PublicKey) == 0
}

// ShortHost returns what CUCM writes as DNS_NAME: the host name without its domain, or an IP
// address unchanged when the server is defined by address (§3, tag 2).
func ShortHost(host string) string {
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	if i := strings.IndexByte(host, '.'); i > 0 {
		return host[:i]
	}
	return host
}

// Fingerprint is the lower-case hex SHA-256 of a DER certificate.
func Fingerprint(der []byte) string {
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

// oidNames gives CUCM-style keys for attributes outside the six CUCM always writes. Where CUCM
// puts them is not known (§3.2); ctlops appends them after C in certificate order.
var oidNames = map[string]string{
	"2.5.4.5":                    "SERIALNUMBER",
	"2.5.4.9":                    "STREET",
	"2.5.4.17":                   "POSTALCODE",
	"1.2.840.113549.1.9.1":       "EMAILADDRESS",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// NameString renders a name the way CUCM writes SUBJECT_NAME, ISSUER_NAME and SIGNER_NAME:
// CN, OU, O, L, ST, C in that fixed order whatever the certificate's RDN order, joined with
// ';' and no spaces (§3.2, checked against every record of the real CUCM sample).
func NameString(n pkix.Name) string {
	var parts []string
	add := func(key string, vals ...string) {
		for _, v := range vals {
			if v != "" {
				parts = append(parts, key+"="+v)
			}
		}
	}
	add("CN", n.CommonName)
	add("OU", n.OrganizationalUnit...)
	add("O", n.Organization...)
	add("L", n.Locality...)
	add("ST", n.Province...)
	add("C", n.Country...)
	for _, atv := range n.Names {
		key, ok := oidNames[atv.Type.String()]
		if !ok {
			if isStandard(atv.Type) {
				continue
			}
			key = atv.Type.String()
		}
		add(key, fmt.Sprint(atv.Value))
	}
	return strings.Join(parts, ";")
}

// isStandard reports the attributes that NameString already wrote from pkix.Name's fields.
func isStandard(oid asn1.ObjectIdentifier) bool {
	switch oid.String() {
	case "2.5.4.3", "2.5.4.11", "2.5.4.10", "2.5.4.7", "2.5.4.8", "2.5.4.6":
		return true
	}
	return false
}
