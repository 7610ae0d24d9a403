// Package ctl reads and writes Cisco CallManager Certificate Trust List files (CTLFile.tlv) and
// their sibling, Identity Trust List files (ITLFile.tlv).
//
// The byte format is described in the project's CTL-FORMAT.md; section numbers cited here (§2.3)
// refer to it, and rules R1..R27 to DOMAIN.md. A file is a header of TLVs followed by records
// of TLVs. The codec keeps the order in which a file's tags were read, its padding and any tag
// it does not know, so that Parse followed by Marshal reproduces the input byte for byte; a file
// built with New follows CUCM's own conventions instead (§3: ascending tags, CUCM name strings,
// short host names, padding after the timestamp).
//
// This package imports no other package of the project: everything else stands on it.
package ctl

import (
	"crypto"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unsafe"
)

// HashAlgorithm is the digest code of header tag 8 (§2.4).
type HashAlgorithm uint8

const (
	SHA1 HashAlgorithm = 1 // seen in every real file
	// SHA256 is accepted but unconfirmed on real files: code 2 is a constant in public tools,
	// never seen in a sample (§2.4).
	SHA256 HashAlgorithm = 2
	SHA512 HashAlgorithm = 3 // certutils' code since 2021, used for Cisco .sha512 files
)

// String returns the lower-case name used in JSON and flags.
func (h HashAlgorithm) String() string {
	switch h {
	case SHA1:
		return "sha1"
	case SHA256:
		return "sha256"
	case SHA512:
		return "sha512"
	}
	return fmt.Sprintf("unknown(%d)", uint8(h))
}

// CryptoHash maps the code to the Go hash used for RSA PKCS#1 v1.5.
func (h HashAlgorithm) CryptoHash() (crypto.Hash, error) {
	switch h {
	case SHA1:
		return crypto.SHA1, nil
	case SHA256:
		return crypto.SHA256, nil
	case SHA512:
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unsupported hash algorithm code %d (known: 1 = SHA-1, 2 = SHA-256, 3 = SHA-512)", uint8(h))
}

// ParseHashAlgorithm accepts "sha1", "sha-1", "sha256", "sha512" (any case).
func ParseHashAlgorithm(s string) (HashAlgorithm, error) {
	switch strings.ReplaceAll(strings.ToLower(s), "-", "") {
	case "sha1":
		return SHA1, nil
	case "sha256":
		return SHA256, nil
	case "sha512":
		return SHA512, nil
	}
	return 0, fmt.Errorf("unknown hash algorithm %q (want sha1, sha256 or sha512)", s)
}

// Role is the FUNCTION of a record, tag 4 (§3.1).
type Role uint16

const (
	RoleSAST      Role = 0 // Site Administrator Security Token (R2)
	RoleCCM       Role = 1
	RoleCCMTFTP   Role = 2
	RoleTFTP      Role = 3
	RoleCAPF      Role = 4
	RoleSRST      Role = 5
	RoleAppServer Role = 7
	RoleTVS       Role = 21
)

var roleNames = map[Role]string{
	RoleSAST: "SAST", RoleCCM: "CCM", RoleCCMTFTP: "CCM+TFTP", RoleTFTP: "TFTP", RoleCAPF: "CAPF",
	RoleSRST: "SRST", RoleAppServer: "APP-SERVER", RoleTVS: "TVS",
}

// String returns the name CUCM's tools print, or UNKNOWN(n).
func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return fmt.Sprintf("UNKNOWN(%d)", uint16(r))
}

// ParseRole is the inverse of Role.String.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if strings.EqualFold(n, s) {
			return r, nil
		}
	}
	var n uint16
	if _, err := fmt.Sscanf(s, "UNKNOWN(%d)", &n); err == nil {
		return Role(n), nil
	}
	return 0, fmt.Errorf("unknown role %q", s)
}

// Field is a TLV whose tag the codec does not know. It is kept, in place, so that files from
// newer producers survive a round trip.
type Field struct {
	Tag   uint8
	Value []byte
}

// Header is the signed header of a file (§2).
type Header struct {
	Version            [2]byte // major, minor: 1.2 on every file seen
	HeaderLength       uint16  // as read; Marshal computes it
	SignerVersion      []byte  // tag 28 (certutils only); nil when absent
	SignerName         string
	SignerSerial       []byte // raw big-endian, compared as an integer (§3.3)
	SignerIssuer       string
	HashAlgorithm      HashAlgorithm
	SignatureAlgorithm uint8 // 0 = RSA in every file seen
	ModulusIndex       uint8 // 0..3 for 512..4096-bit signatures
	Signature          []byte
	FileName           string
	Timestamp          time.Time // whole seconds, UTC
	Unknown            []Field

	// layout is the header as read: every tag in file order (padding bytes included), so that
	// Marshal writes the same bytes. nil means "CUCM's order" (§2.1).
	layout []slot
	// autoPad asks Marshal to pad to a multiple of 4 after a literal layout, set when Sign
	// changes the signer of a parsed file.
	autoPad bool
}

// Record is one entry of the trust list (§3).
type Record struct {
	Role          Role
	DNSName       string
	SubjectName   string
	IssuerName    string
	SerialNumber  []byte
	PublicKey     []byte // PKCS#1 RSAPublicKey DER (§3, tag 7)
	CertSignature []byte // the certificate's own signatureValue
	Certificate   []byte // DER; nil for non-secure placeholders (R12)
	IPAddress     netip.Addr
	Unknown       []Field

	// layout is the tag order as read; nil means CUCM's ascending order with the tags this
	// record carries.
	layout []slot
	// pos is 1 + the byte offset of the record in the file it was parsed from; 0 when built.
	pos int
	// cache holds the certificate and key parsed on first use (*certInfo, see cert.go).
	cache unsafe.Pointer
}

// slot is one element of a header or record layout: a tag, and for the header containers
// 3, 7 and 9 how many following slots they enclose.
type slot struct {
	tag  uint8
	span uint16 // a container holds at most 65535 bytes, so at most that many slots
}

// File is a whole CTL or ITL file.
type File struct {
	Header  Header
	Records []Record

	// raw is the bytes Parse read (nil for a built file), borrowed from its caller: every slice
	// and string of Header and Records points into it, and ctl never writes to it.
	raw []byte
	// sigOff is the offset of the SIGNATURE TLV in raw, -1 when there is none.
	sigOff int
	// slotBuf holds the layouts of a parsed header and its records, so that a typical file
	// needs no allocation for them (a larger one spills to the heap).
	slotBuf [128]slot
}

// HasTag reports whether the record carries tag t: for a parsed record, whether the file had
// it; for a built one, whether Marshal will write it.
func (r *Record) HasTag(t uint8) bool {
	var buf [16]slot
	for _, s := range r.slots(buf[:0]) {
		if s.tag == t {
			return true
		}
	}
	return false
}

// Header tags (§2.1).
const (
	hVersion       = 1
	hHeaderLength  = 2
	hSignerInfo    = 3
	hSignerName    = 4
	hSignerSerial  = 5
	hSignerIssuer  = 6
	hSignatureInfo = 7
	hHashAlgorithm = 8
	hSigAlgoInfo   = 9
	hSigAlgorithm  = 10
	hModulus       = 11
	hSignature     = 12
	hPadding       = 13
	hFileName      = 14
	hTimestamp     = 15
	hSignerVersion = 28
)

var headerTagNames = map[uint8]string{
	hVersion: "VERSION", hHeaderLength: "HEADER_LENGTH", hSignerInfo: "SIGNER_INFO",
	hSignerName: "SIGNER_NAME", hSignerSerial: "SERIAL_NUMBER", hSignerIssuer: "ISSUER_NAME",
	hSignatureInfo: "SIGNATURE_INFO", hHashAlgorithm: "HASH_ALGORITHM",
	hSigAlgoInfo: "SIGNATURE_ALGORITHM_INFO", hSigAlgorithm: "SIGNATURE_ALGORITHM",
	hModulus: "SIGNATURE_MODULUS", hSignature: "SIGNATURE", hPadding: "PADDING",
	hFileName: "FILENAME", hTimestamp: "TIMESTAMP", hSignerVersion: "SIGNER_VERSION",
}

// Record tags (§3).
const (
	rRecordLength = 1
	rDNSName      = 2
	rSubjectName  = 3
	rRole         = 4
	rIssuerName   = 5
	rSerialNumber = 6
	rPublicKey    = 7
	rSignature    = 8
	rCertificate  = 9
	rIPAddress    = 10
)

var recordTagNames = map[uint8]string{
	rRecordLength: "RECORD_LENGTH", rDNSName: "DNS_NAME", rSubjectName: "SUBJECT_NAME",
	rRole: "FUNCTION", rIssuerName: "ISSUER_NAME", rSerialNumber: "SERIAL_NUMBER",
	rPublicKey: "PUBLIC_KEY", rSignature: "SIGNATURE", rCertificate: "CERTIFICATE",
	rIPAddress: "IP_ADDRESS", 11: "CERTIFICATE_HASH", 12: "HASH_ALGORITHM",
}

// modulusBytes maps SIGNATURE_MODULUS (tag 11) to the signature length it announces.
var modulusBytes = [...]int{64, 128, 256, 512}

// modulusIndex is the inverse of modulusBytes.
func modulusIndex(sigLen int) (uint8, bool) {
	for i, n := range modulusBytes {
		if n == sigLen {
			return uint8(i), true
		}
	}
	return 0, false
}

// MaxFileSize is the largest CTL or ITL file a phone loads (64 KiB). It is the one limit for
// every read, write and plan of such a file in ctlops: the plan refuses a larger desired
// file, and providers, clients and lab phones refuse to store, send or accept one.
const MaxFileSize = 64 << 10
