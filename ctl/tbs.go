package ctl

// The parts of a certificate that verification and the record checks need, read straight from
// its DER without crypto/x509: the fast path that keeps Parse and Verify near their floor.

import (
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"time"
)

// tbsView is what verification needs of a certificate: views into its DER, no copies.
type tbsView struct {
	serial  []byte // INTEGER content
	issuer  []byte // RDNSequence content
	subject []byte // RDNSequence content
	rsa     bool   // SubjectPublicKeyInfo algorithm is rsaEncryption
	key     []byte // subjectPublicKey BIT STRING content: PKCS#1 RSAPublicKey for RSA
	// validity is the Validity SEQUENCE content: notBefore, notAfter.
	validity []byte
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
	t.issuer, t.validity, t.subject = parts[1], parts[2], parts[3]
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

// notAfter reads the end of the validity period in the two forms RFC 5280 §4.1.2.5 allows a
// conforming certificate: UTCTime YYMMDDHHMMSSZ (years 1950–2049) and GeneralizedTime
// YYYYMMDDHHMMSSZ. Anything else is left to crypto/x509 (ok false).
func (t tbsView) notAfter() (time.Time, bool) {
	_, _, rest, ok := derNext(t.validity) // notBefore
	if !ok {
		return time.Time{}, false
	}
	tag, v, _, ok := derNext(rest)
	if !ok {
		return time.Time{}, false
	}
	s := string(v)
	switch {
	case tag == 0x17 && len(s) == 13 && s[12] == 'Z':
		if s[0] >= '5' {
			s = "19" + s
		} else {
			s = "20" + s
		}
	case tag == 0x18 && len(s) == 15 && s[14] == 'Z':
	default:
		return time.Time{}, false
	}
	const layout = "20060102150405Z"
	at, err := time.Parse(layout, s)
	if err != nil || at.Format(layout) != s {
		return time.Time{}, false
	}
	return at, true
}
