package ctl

import (
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// certInfo is what a record's certificate and key yield, computed once on first use and kept
// with the record (Record.cache). It remembers which slices it was computed from: a record
// whose Certificate or PublicKey was replaced since gets a fresh, uncached answer.
type certInfo struct {
	der, pk []byte

	certOnce sync.Once
	cert     *x509.Certificate
	certErr  error

	keyOnce sync.Once
	key     *rsa.PublicKey
	keyErr  error
}

// sameSlice reports whether a and b are the same bytes in memory, not merely equal ones.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b))
}

// info returns the record's cache, creating it on first use. Concurrent callers are safe: the
// first to store wins and the others use its entry.
func (r *Record) info() *certInfo {
	if p := atomic.LoadPointer(&r.cache); p != nil {
		ci := (*certInfo)(p)
		if sameSlice(ci.der, r.Certificate) && sameSlice(ci.pk, r.PublicKey) {
			return ci
		}
		return &certInfo{der: r.Certificate, pk: r.PublicKey} // fields replaced since
	}
	ci := &certInfo{der: r.Certificate, pk: r.PublicKey}
	if !atomic.CompareAndSwapPointer(&r.cache, nil, unsafe.Pointer(ci)) {
		return r.info()
	}
	return ci
}

// X509 parses the record's certificate, once: later calls return the same *x509.Certificate
// (treat it as read-only).
func (r *Record) X509() (*x509.Certificate, error) {
	if len(r.Certificate) == 0 {
		return nil, fmt.Errorf("%s record %q carries no certificate", r.Role, r.DNSName)
	}
	ci := r.info()
	ci.certOnce.Do(func() {
		ci.cert, ci.certErr = x509.ParseCertificate(ci.der)
		if ci.certErr != nil {
			ci.certErr = fmt.Errorf("%s record %q: certificate: %w", r.Role, r.DNSName, ci.certErr)
		}
	})
	return ci.cert, ci.certErr
}

// publicKey returns the record's RSA key, from its certificate or else its PUBLIC_KEY tag,
// parsed once. The certificate's key is read from its SubjectPublicKeyInfo without parsing the
// whole certificate: verifying a file needs the key, not the rest (issue 18).
func (r *Record) publicKey() (*rsa.PublicKey, error) {
	if len(r.Certificate) == 0 && len(r.PublicKey) == 0 {
		return nil, fmt.Errorf("%s record %q carries neither a certificate nor a public key", r.Role, r.DNSName)
	}
	ci := r.info()
	ci.keyOnce.Do(func() { ci.key, ci.keyErr = r.loadKey(ci) })
	return ci.key, ci.keyErr
}

func (r *Record) loadKey(ci *certInfo) (*rsa.PublicKey, error) {
	if len(ci.der) == 0 {
		k, err := x509.ParsePKCS1PublicKey(ci.pk)
		if err != nil {
			return nil, fmt.Errorf("%s record %q: PUBLIC_KEY: %w", r.Role, r.DNSName, err)
		}
		return k, nil
	}
	if t, ok := parseTBS(ci.der); ok {
		if !t.rsa {
			return nil, fmt.Errorf("%s record %q: certificate key is not RSA", r.Role, r.DNSName)
		}
		if k, err := x509.ParsePKCS1PublicKey(t.key); err == nil {
			return k, nil
		}
	}
	// Anything the quick reading does not cover goes through crypto/x509.
	c, err := r.X509()
	if err != nil {
		return nil, err
	}
	k, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s record %q: certificate key is %T, not RSA", r.Role, r.DNSName, c.PublicKey)
	}
	return k, nil
}

// tbsView is what verification needs of a certificate: views into its DER, no copies.
type tbsView struct {
	serial  []byte // INTEGER content
	issuer  []byte // RDNSequence content
	subject []byte // RDNSequence content
	rsa     bool   // SubjectPublicKeyInfo algorithm is rsaEncryption
	key     []byte // subjectPublicKey BIT STRING content: PKCS#1 RSAPublicKey for RSA
}

// oidRSA is rsaEncryption, 1.2.840.113549.1.1.1, as DER content.
var oidRSA = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01}

// derNext reads one DER element of b: its tag, its content and what follows it. It does not
// judge the encoding beyond the lengths (crypto/x509 does, when a caller asks for X509).
func derNext(b []byte) (tag byte, content, rest []byte, ok bool) {
	if len(b) < 2 || b[0]&0x1f == 0x1f {
		return 0, nil, nil, false
	}
	n, off := int(b[1]), 2
	if n >= 0x80 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k {
			return 0, nil, nil, false
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		off += k
	}
	if n > len(b)-off {
		return 0, nil, nil, false
	}
	return b[0], b[off : off+n], b[off+n:], true
}

// parseTBS finds the serial, issuer, subject and key of a certificate (RFC 5280 §4.1).
func parseTBS(der []byte) (t tbsView, ok bool) {
	tag, cert, _, ok := derNext(der)
	if !ok || tag != 0x30 {
		return t, false
	}
	tag, tbs, _, ok := derNext(cert)
	if !ok || tag != 0x30 {
		return t, false
	}
	tag, c, rest, ok := derNext(tbs)
	if ok && tag == 0xa0 { // [0] EXPLICIT version
		tag, c, rest, ok = derNext(rest)
	}
	if !ok || tag != 0x02 {
		return t, false
	}
	t.serial = c
	want := [...]byte{0x30, 0x30, 0x30, 0x30, 0x30} // signature, issuer, validity, subject, SPKI
	var parts [5][]byte
	for i, w := range want {
		if tag, parts[i], rest, ok = derNext(rest); !ok || tag != w {
			return t, false
		}
	}
	t.issuer, t.subject = parts[1], parts[3]
	tag, alg, keyRest, ok := derNext(parts[4])
	if !ok || tag != 0x30 {
		return t, false
	}
	if tag, oid, _, ok := derNext(alg); ok && tag == 0x06 && string(oid) == string(oidRSA) {
		t.rsa = true
	}
	tag, bits, _, ok := derNext(keyRest)
	if !ok || tag != 0x03 || len(bits) < 1 || bits[0] != 0 {
		return t, false
	}
	t.key = bits[1:]
	return t, true
}

// nameKinds orders the attributes the way NameString writes them; kindExtra ones follow in
// certificate order under their oidNames key.
const (
	kindCN = iota
	kindOU
	kindO
	kindL
	kindST
	kindC
	kindExtra
)

var nameOrder = [...]string{kindCN: "CN", kindOU: "OU", kindO: "O", kindL: "L", kindST: "ST", kindC: "C"}

// extraOIDs are oidNames' attributes as DER content, for the quick name reading.
var extraOIDs = []struct {
	oid string
	key string
}{
	{"\x55\x04\x05", "SERIALNUMBER"},
	{"\x55\x04\x09", "STREET"},
	{"\x55\x04\x11", "POSTALCODE"},
	{"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", "EMAILADDRESS"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", "DC"},
	{"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01", "UID"},
}

// appendNameString appends NameString of an RDNSequence given as DER content, without
// building a pkix.Name. With rdnOrder it appends the other form seen in real files instead:
// the attributes in certificate order joined by ',' (certutils' tlvfile writes that; the
// public ITL sample has it). ok is false for anything it does not cover (non-ASCII strings,
// attributes outside NameString's table): the caller then asks crypto/x509.
func appendNameString(dst []byte, rdns []byte, rdnOrder bool) ([]byte, bool) {
	// Each attribute is kept as its kind, its extraOIDs entry and where its value lies in
	// rdns, in small arrays with no pointers: this runs for two names of every record of every file verified,
	// and 48-byte entries holding slices cost more than the DER walk (issue 18). The attributes
	// of one kind are chained in certificate order (first/next), so that NameString's order
	// (CN, OU, O, L, ST, C, then the others) is one pass per kind over its own chain.
	const maxATVs = 64 // beyond this (never seen) crypto/x509 reads the name
	var kinds, extras [maxATVs]uint8
	var next [maxATVs]int8 // next attribute of the same kind, -1 at the end
	var offs, lens [maxATVs]uint16
	var first, last [kindExtra + 1]int8
	for k := range first {
		first[k], last[k] = -1, -1
	}
	base := rdns
	if len(base) > 0xFFFF {
		return dst, false
	}
	n := 0
	cn := -1
	for len(rdns) > 0 {
		tag, set, rest, ok := derNext(rdns)
		if !ok || tag != 0x31 {
			return dst, false
		}
		rdns = rest
		for len(set) > 0 {
			tag, seq, rest, ok := derNext(set)
			if !ok || tag != 0x30 {
				return dst, false
			}
			set = rest
			tag, oid, vrest, ok := derNext(seq)
			if !ok || tag != 0x06 {
				return dst, false
			}
			// PrintableString, UTF8String, IA5String and T61String (which crypto/x509 also
			// takes byte for byte): in printable ASCII all four read the same.
			vtag, val, tail, ok := derNext(vrest)
			if !ok || len(tail) != 0 || (vtag != 0x13 && vtag != 0x0c && vtag != 0x16 && vtag != 0x14) || !printableASCII(val) {
				return dst, false
			}
			kind := -1
			var extra uint8
			if len(oid) == 3 && oid[0] == 0x55 && oid[1] == 0x04 {
				switch oid[2] {
				case 3:
					kind = kindCN
				case 11:
					kind = kindOU
				case 10:
					kind = kindO
				case 7:
					kind = kindL
				case 8:
					kind = kindST
				case 6:
					kind = kindC
				}
			}
			if kind < 0 {
				for i, e := range extraOIDs {
					if string(oid) == e.oid {
						kind, extra = kindExtra, uint8(i)
					}
				}
			}
			if kind < 0 || n == maxATVs {
				return dst, false
			}
			i := n
			n++
			if kind == kindCN {
				cn = i // pkix.Name keeps the last CN
			}
			// val is a view of base: its offset is how much shorter its capacity is.
			kinds[i], extras[i], next[i] = uint8(kind), extra, -1
			offs[i], lens[i] = uint16(cap(base)-cap(val)), uint16(len(val))
			if last[kind] >= 0 {
				next[last[kind]] = int8(i)
			} else {
				first[kind] = int8(i)
			}
			last[kind] = int8(i)
		}
	}
	first0, sep := true, byte(';')
	if rdnOrder {
		sep = ','
	}
	put := func(i int) {
		if lens[i] == 0 {
			return
		}
		if !first0 {
			dst = append(dst, sep)
		}
		first0 = false
		if kinds[i] < kindExtra {
			dst = append(dst, nameOrder[kinds[i]]...)
		} else {
			dst = append(dst, extraOIDs[extras[i]].key...)
		}
		dst = append(dst, '=')
		dst = append(dst, base[offs[i]:int(offs[i])+int(lens[i])]...)
	}
	if rdnOrder {
		for i := range n {
			put(i)
		}
		return dst, true
	}
	if cn >= 0 {
		put(cn)
	}
	for k := kindOU; k <= kindExtra; k++ {
		for i := first[k]; i >= 0; i = next[i] {
			put(int(i))
		}
	}
	return dst, true
}

// rdnString is the ','-joined certificate-order form (see appendNameString) through pkix.
func rdnString(n pkix.Name) string {
	var parts []string
	for _, atv := range n.Names {
		key := atv.Type.String()
		if k, ok := oidNames[key]; ok {
			key = k
		} else {
			for i, o := range []string{"2.5.4.3", "2.5.4.11", "2.5.4.10", "2.5.4.7", "2.5.4.8", "2.5.4.6"} {
				if o == key {
					key = nameOrder[i]
				}
			}
		}
		if v := fmt.Sprint(atv.Value); v != "" {
			parts = append(parts, key+"="+v)
		}
	}
	return strings.Join(parts, ",")
}

func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// RecordError says which field of which record disagrees with the record's own certificate.
type RecordError struct {
	Record int    // 1-based, as in text and JSON
	Title  string // role and name, e.g. "SAST alice"
	Offset int    // byte offset of the field's TLV in the parsed file; -1 for a built record
	Tag    uint8
	Msg    string
}

func (e *RecordError) Error() string {
	where := fmt.Sprintf("record %d (%s)", e.Record, e.Title)
	if e.Offset >= 0 {
		where += fmt.Sprintf(", offset %d", e.Offset)
	}
	return fmt.Sprintf("%s, tag %d (%s): %s", where, e.Tag, recordTagNames[e.Tag], e.Msg)
}

// ErrMismatch is wrapped by every RecordError, for errors.Is.
var ErrMismatch = errors.New("record disagrees with its certificate")

func (e *RecordError) Unwrap() error { return ErrMismatch }

// CheckRecords checks that every record carrying a certificate says what the certificate says:
// serial, subject, issuer and public key (issue 12). A record that names one identity and
// carries another's certificate would make readers (and perhaps phones) trust the wrong name.
// The first disagreement is returned as a *RecordError.
func (f *File) CheckRecords() error {
	for i := range f.Records {
		r := &f.Records[i]
		if len(r.Certificate) == 0 {
			continue
		}
		if tag, msg := r.certMismatch(); msg != "" {
			return &RecordError{Record: i + 1, Title: r.Title(), Offset: f.fieldOffset(r, tag), Tag: tag, Msg: msg}
		}
	}
	return nil
}

// certMismatch returns the first field of r that its certificate contradicts, or msg "".
func (r *Record) certMismatch() (tag uint8, msg string) {
	t, ok := parseTBS(r.Certificate)
	if !ok {
		if _, err := r.X509(); err != nil {
			return rCertificate, "certificate does not parse: " + err.Error()
		}
		return r.certMismatchSlow()
	}
	if r.SerialNumber != nil && !SameSerial(t.serial, r.SerialNumber) {
		return rSerialNumber, fmt.Sprintf("serial %s, but the certificate's serial is %s", hexSerial(r.SerialNumber), hexSerial(t.serial))
	}
	var buf [256]byte
	// A self-signed certificate (most CUCM ones) names the same bytes twice: when the record
	// also names the same string twice, the subject's answer is the issuer's.
	selfSigned := string(t.issuer) == string(t.subject) && r.IssuerName == r.SubjectName
	for i, n := range []struct {
		tag  uint8
		have string
		der  []byte
		what string
	}{{rSubjectName, r.SubjectName, t.subject, "subject"}, {rIssuerName, r.IssuerName, t.issuer, "issuer"}} {
		if n.have == "" && !r.HasTag(n.tag) {
			continue
		}
		if i == 1 && selfSigned && (r.SubjectName != "" || r.HasTag(rSubjectName)) {
			continue // the subject was checked just now against the same bytes and string
		}
		s, ok := appendNameString(buf[:0], n.der, false)
		if !ok {
			return r.certMismatchSlow()
		}
		if string(s) == n.have {
			continue
		}
		if alt, _ := appendNameString(buf[len(s):len(s)], n.der, true); string(alt) == n.have {
			continue
		}
		return n.tag, mismatchMsg(n.have, n.what, string(s))
	}
	if len(r.PublicKey) > 0 && string(t.key) != string(r.PublicKey) {
		return rPublicKey, "PUBLIC_KEY differs from the certificate's key"
	}
	return 0, ""
}

// mismatchMsg is kept apart so that the name buffers of certMismatch stay on the stack.
func mismatchMsg(have, what, cert string) string {
	return fmt.Sprintf("%q, but the certificate's %s is %q", have, what, cert)
}

// certMismatchSlow is certMismatch through crypto/x509, for certificates the quick reading
// does not cover.
func (r *Record) certMismatchSlow() (uint8, string) {
	c, err := r.X509()
	if err != nil {
		return rCertificate, "certificate does not parse: " + err.Error()
	}
	if r.SerialNumber != nil && (c.SerialNumber == nil || !SameSerial(c.SerialNumber.Bytes(), r.SerialNumber)) {
		return rSerialNumber, fmt.Sprintf("serial %s, but the certificate's serial is %x", hexSerial(r.SerialNumber), c.SerialNumber)
	}
	if s := NameString(c.Subject); (r.SubjectName != "" || r.HasTag(rSubjectName)) && s != r.SubjectName && rdnString(c.Subject) != r.SubjectName {
		return rSubjectName, fmt.Sprintf("%q, but the certificate's subject is %q", r.SubjectName, s)
	}
	if s := NameString(c.Issuer); (r.IssuerName != "" || r.HasTag(rIssuerName)) && s != r.IssuerName && rdnString(c.Issuer) != r.IssuerName {
		return rIssuerName, fmt.Sprintf("%q, but the certificate's issuer is %q", r.IssuerName, s)
	}
	if len(r.PublicKey) > 0 {
		k, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok || string(x509.MarshalPKCS1PublicKey(k)) != string(r.PublicKey) {
			return rPublicKey, "PUBLIC_KEY differs from the certificate's key"
		}
	}
	return 0, ""
}

// fieldOffset is the file offset of r's TLV with the given tag, found from where the field's
// value lies in f's buffer; the record's own offset when that is not known; -1 for a built
// record.
func (f *File) fieldOffset(r *Record, tag uint8) int {
	var p unsafe.Pointer
	switch tag {
	case rSubjectName:
		p = unsafe.Pointer(unsafe.StringData(r.SubjectName))
	case rIssuerName:
		p = unsafe.Pointer(unsafe.StringData(r.IssuerName))
	case rSerialNumber:
		p = unsafe.Pointer(unsafe.SliceData(r.SerialNumber))
	case rPublicKey:
		p = unsafe.Pointer(unsafe.SliceData(r.PublicKey))
	case rCertificate:
		p = unsafe.Pointer(unsafe.SliceData(r.Certificate))
	}
	if off, ok := f.offsetIn(p); ok && off >= 3 {
		return off - 3
	}
	if _, ok := f.offsetIn(unsafe.Pointer(unsafe.SliceData(r.Certificate))); ok && r.pos > 0 {
		return r.pos - 1 // the record was parsed from f
	}
	return -1
}

// offsetIn reports where p lies in f's buffer, if it does.
func (f *File) offsetIn(p unsafe.Pointer) (int, bool) {
	if p == nil || len(f.raw) == 0 {
		return 0, false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.raw)))
	at := uintptr(p)
	if at < base || at >= base+uintptr(len(f.raw)) {
		return 0, false
	}
	return int(at - base), true
}
