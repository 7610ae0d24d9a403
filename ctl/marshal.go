package ctl

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Marshal encodes the file. A parsed file comes back byte for byte; a file built with New gets
// CUCM's layout. Header length, container lengths and record lengths are always computed.
func (f *File) Marshal() ([]byte, error) {
	out, _, err := f.encode()
	return out, err
}

// SignedBytes returns what the signature covers: the whole file with the SIGNATURE TLV (tag,
// length and value) cut out (§2.5). HEADER_LENGTH inside it still counts the signature.
func (f *File) SignedBytes() ([]byte, error) {
	out, sig, err := f.encode()
	if err != nil {
		return nil, err
	}
	if sig.off < 0 {
		return nil, errors.New("file has no SIGNATURE (tag 12): it is not signed")
	}
	return append(out[:sig.off:sig.off], out[sig.off+3+sig.n:]...), nil
}

type sigPos struct{ off, n int }

// piece is one encoded header element.
type piece struct {
	tag  uint8
	val  []byte
	span int // containers: how many following pieces they enclose
	kind int // pieceTLV, pieceContainer, piecePad
}

const (
	pieceTLV = iota
	pieceContainer
	piecePad
)

func (p piece) size() int {
	switch p.kind {
	case piecePad:
		return 1
	case pieceContainer:
		return 3
	}
	return 3 + len(p.val)
}

func (f *File) encode() ([]byte, sigPos, error) {
	h := &f.Header
	pieces, err := h.pieces()
	if err != nil {
		return nil, sigPos{-1, 0}, err
	}
	total := 0
	for _, p := range pieces {
		total += p.size()
	}
	if h.layout == nil || h.autoPad {
		for ; total%4 != 0; total++ {
			pieces = append(pieces, piece{tag: hPadding, kind: piecePad})
		}
	}
	if total > 0xFFFF {
		return nil, sigPos{-1, 0}, fmt.Errorf("header: %d bytes exceed the 65535 that HEADER_LENGTH can hold", total)
	}
	recs := make([][]byte, len(f.Records))
	size := total
	for i := range f.Records {
		recs[i], err = f.Records[i].encode()
		if err != nil {
			return nil, sigPos{-1, 0}, fmt.Errorf("record %d (%s %q): %w", i+1, f.Records[i].Role, f.Records[i].DNSName, err)
		}
		size += len(recs[i])
	}

	out := make([]byte, 0, size)
	sig := sigPos{-1, 0}
	for i, p := range pieces {
		switch p.kind {
		case piecePad:
			out = append(out, hPadding)
			continue
		case pieceContainer:
			n := 0
			for _, q := range pieces[i+1 : i+1+p.span] {
				n += q.size()
			}
			out = append(out, p.tag, byte(n>>8), byte(n))
			continue
		}
		val := p.val
		if p.tag == hHeaderLength {
			val = binary.BigEndian.AppendUint16(nil, uint16(total))
		}
		if p.tag == hSignature {
			sig = sigPos{len(out), len(val)}
		}
		out = appendTLV(out, p.tag, val)
	}
	for _, r := range recs {
		out = append(out, r...)
	}
	return out, sig, nil
}

func appendTLV(b []byte, tag uint8, val []byte) []byte {
	b = append(b, tag, byte(len(val)>>8), byte(len(val)))
	return append(b, val...)
}

// defaultHeaderLayout is CUCM's order (§2.1, S1), with tag 28 where certutils puts it.
func (h *Header) slots() []slot {
	if h.layout != nil {
		return h.layout
	}
	s := []slot{{tag: hVersion}, {tag: hHeaderLength}}
	if h.SignerVersion != nil {
		s = append(s, slot{tag: hSignerVersion})
	}
	s = append(s,
		slot{tag: hSignerInfo, span: 3}, slot{tag: hSignerName}, slot{tag: hSignerSerial}, slot{tag: hSignerIssuer},
		slot{tag: hSignatureInfo, span: 4}, slot{tag: hHashAlgorithm},
		slot{tag: hSigAlgoInfo, span: 2}, slot{tag: hSigAlgorithm}, slot{tag: hModulus})
	if h.Signature != nil {
		s = append(s, slot{tag: hSignature})
	}
	s = append(s, slot{tag: hFileName}, slot{tag: hTimestamp})
	for _, u := range h.Unknown {
		s = append(s, slot{tag: u.Tag})
	}
	return s
}

func (h *Header) pieces() ([]piece, error) {
	slots := h.slots()
	out := make([]piece, 0, len(slots)+4)
	unknown := h.Unknown
	for _, s := range slots {
		p := piece{tag: s.tag, span: s.span}
		switch s.tag {
		case hPadding:
			p.kind = piecePad
		case hSignerInfo, hSignatureInfo, hSigAlgoInfo:
			p.kind = pieceContainer
		case hVersion:
			p.val = h.Version[:]
		case hHeaderLength:
			p.val = []byte{0, 0} // filled in by encode
		case hSignerVersion:
			p.val = h.SignerVersion
		case hSignerName:
			p.val = cbytes(h.SignerName)
		case hSignerSerial:
			p.val = h.SignerSerial
		case hSignerIssuer:
			p.val = cbytes(h.SignerIssuer)
		case hHashAlgorithm:
			p.val = []byte{byte(h.HashAlgorithm)}
		case hSigAlgorithm:
			p.val = []byte{h.SignatureAlgorithm}
		case hModulus:
			p.val = []byte{h.ModulusIndex}
		case hSignature:
			p.val = h.Signature
		case hFileName:
			p.val = cbytes(h.FileName)
		case hTimestamp:
			ts, err := timestamp(h)
			if err != nil {
				return nil, err
			}
			p.val = ts
		default:
			if len(unknown) == 0 || unknown[0].Tag != s.tag {
				return nil, fmt.Errorf("header: layout names unknown tag %d but Header.Unknown does not hold it next", s.tag)
			}
			p.val, unknown = unknown[0].Value, unknown[1:]
		}
		if len(p.val) > maxTLVLength {
			return nil, fmt.Errorf("header: tag %d (%s): %d bytes exceed the 65535 a length can hold", s.tag, headerTagNames[s.tag], len(p.val))
		}
		out = append(out, p)
	}
	if h.layout != nil {
		// Unknown fields added to a parsed header go after everything read.
		for _, u := range unknown {
			out = append(out, piece{tag: u.Tag, val: u.Value})
		}
	}
	return out, nil
}

func timestamp(h *Header) ([]byte, error) {
	if h.Timestamp.IsZero() {
		return []byte{0, 0, 0, 0}, nil
	}
	u := h.Timestamp.Unix()
	if u < 0 || u > 0xFFFFFFFF {
		return nil, fmt.Errorf("header: TIMESTAMP %s does not fit 32-bit Unix seconds", h.Timestamp)
	}
	return binary.BigEndian.AppendUint32(nil, uint32(u)), nil
}

func cbytes(s string) []byte { return append([]byte(s), 0) }

// slots is the record's layout: as read, or CUCM's ascending order of the tags it carries
// (§3); non-secure placeholders come out as tags 1, 2, 4, 10 (R12).
func (r *Record) slots() []slot {
	if r.layout != nil {
		return r.layout
	}
	s := []slot{{tag: rRecordLength}, {tag: rDNSName}}
	if r.SubjectName != "" {
		s = append(s, slot{tag: rSubjectName})
	}
	s = append(s, slot{tag: rRole})
	if r.IssuerName != "" {
		s = append(s, slot{tag: rIssuerName})
	}
	for _, t := range []struct {
		tag uint8
		v   []byte
	}{{rSerialNumber, r.SerialNumber}, {rPublicKey, r.PublicKey}, {rSignature, r.CertSignature}, {rCertificate, r.Certificate}} {
		if t.v != nil {
			s = append(s, slot{tag: t.tag})
		}
	}
	if r.IPAddress.IsValid() {
		s = append(s, slot{tag: rIPAddress})
	}
	for _, u := range r.Unknown {
		s = append(s, slot{tag: u.Tag})
	}
	return s
}

func (r *Record) encode() ([]byte, error) {
	slots := r.slots()
	unknown := r.Unknown
	out := make([]byte, 0, 64+len(r.Certificate)+len(r.PublicKey)+len(r.CertSignature))
	for _, s := range slots {
		var val []byte
		switch s.tag {
		case rRecordLength:
			val = []byte{0, 0} // filled in below
		case rDNSName:
			val = cbytes(r.DNSName)
		case rSubjectName:
			val = cbytes(r.SubjectName)
		case rRole:
			val = binary.BigEndian.AppendUint16(nil, uint16(r.Role))
		case rIssuerName:
			val = cbytes(r.IssuerName)
		case rSerialNumber:
			val = r.SerialNumber
		case rPublicKey:
			val = r.PublicKey
		case rSignature:
			val = r.CertSignature
		case rCertificate:
			val = r.Certificate
		case rIPAddress:
			if !r.IPAddress.Is4() {
				return nil, fmt.Errorf("IP_ADDRESS: %v is not an IPv4 address", r.IPAddress)
			}
			a := r.IPAddress.As4()
			val = a[:]
		default:
			if len(unknown) == 0 || unknown[0].Tag != s.tag {
				return nil, fmt.Errorf("layout names unknown tag %d but Record.Unknown does not hold it next", s.tag)
			}
			val, unknown = unknown[0].Value, unknown[1:]
		}
		if len(val) > maxTLVLength {
			return nil, fmt.Errorf("tag %d (%s): %d bytes exceed the 65535 a length can hold", s.tag, recordTagNames[s.tag], len(val))
		}
		out = appendTLV(out, s.tag, val)
	}
	if r.layout != nil {
		for _, u := range unknown {
			out = appendTLV(out, u.Tag, u.Value)
		}
	}
	if len(out) > 0xFFFF {
		return nil, fmt.Errorf("%d bytes exceed the 65535 that RECORD_LENGTH can hold", len(out))
	}
	if len(slots) == 0 || slots[0].tag != rRecordLength {
		return nil, errors.New("layout does not start with RECORD_LENGTH")
	}
	binary.BigEndian.PutUint16(out[3:], uint16(len(out)))
	return out, nil
}
