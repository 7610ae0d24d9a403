package ctl

import (
	"errors"
	"fmt"
	"unsafe"
)

// Marshal encodes the file. A parsed file comes back byte for byte; a file built with New gets
// CUCM's layout. Header length, container lengths and record lengths are always computed.
//
// Marshal sizes the whole file first and then writes it into one buffer of exactly that size:
// the output is its only allocation for a parsed file (issue 18).
func (f *File) Marshal() ([]byte, error) {
	size, err := f.encode(nil)
	if err != nil {
		return nil, err
	}
	w := writer{out: make([]byte, 0, size)}
	if _, err := f.encode(&w); err != nil {
		return nil, err
	}
	return w.out, nil
}

// SignedBytes returns what the signature covers: the whole file with the SIGNATURE TLV (tag,
// length and value) cut out (§2.5). HEADER_LENGTH inside it still counts the signature.
func (f *File) SignedBytes() ([]byte, error) {
	size, err := f.encode(nil)
	if err != nil {
		return nil, err
	}
	w := writer{out: make([]byte, 0, size), sigOff: -1}
	if _, err := f.encode(&w); err != nil {
		return nil, err
	}
	if w.sigOff < 0 {
		return nil, errors.New("file has no SIGNATURE (tag 12): it is not signed")
	}
	out := w.out
	n := copy(out[w.sigOff:], out[w.sigOff+3+len(f.Header.Signature):])
	return out[: w.sigOff+n : w.sigOff+n], nil
}

// writer receives the encoding: appended to out, or (cmp != nil) compared with cmp, so that
// the same code decides what Marshal writes and whether a parsed file is still what was read.
type writer struct {
	out    []byte
	cmp    []byte
	pos    int
	diff   bool
	sigOff int // where the SIGNATURE TLV starts
}

func (w *writer) bytes(b []byte) {
	if w.cmp == nil {
		w.out = append(w.out, b...)
		return
	}
	if w.diff || w.pos+len(b) > len(w.cmp) {
		w.diff = true
	} else if c := w.cmp[w.pos : w.pos+len(b)]; !sameSlice(c, b) && string(c) != string(b) {
		w.diff = true
	}
	w.pos += len(b)
}

func (w *writer) head(tag uint8, n int) {
	if w.cmp == nil {
		w.out = append(w.out, tag, byte(n>>8), byte(n))
		return
	}
	// Compared inline: unchanged calls this for every TLV of the file, and a 3-byte string
	// comparison through memequal was a third of its time (issue 18).
	if p := w.pos; w.diff || p+3 > len(w.cmp) || w.cmp[p] != tag || w.cmp[p+1] != byte(n>>8) || w.cmp[p+2] != byte(n) {
		w.diff = true
	}
	w.pos += 3
}

func (w *writer) offset() int {
	if w.cmp == nil {
		return len(w.out)
	}
	return w.pos
}

// value is one TLV's value: bytes, a string written with its NUL (§1.4), or a few bytes held
// inline, so that encoding needs no allocation. A string is held as a read-only byte view of
// itself, which keeps value at 32 bytes: unchanged builds one per TLV of the file (issue 18).
type value struct {
	b   []byte
	sm  [4]byte
	smn uint8
	str bool
}

func (v *value) size() int {
	switch {
	case v.str:
		return len(v.b) + 1
	case v.smn > 0:
		return int(v.smn)
	}
	return len(v.b)
}

func (v *value) write(w *writer) {
	switch {
	case v.str:
		w.bytes(v.b)
		w.bytes([]byte{0})
	case v.smn > 0:
		w.bytes(v.sm[:v.smn])
	default:
		w.bytes(v.b)
	}
}

func small(b ...byte) value {
	v := value{smn: uint8(len(b))}
	copy(v.sm[:], b)
	return v
}

// cstr views s as bytes without copying; writer only reads them.
func cstr(s string) value {
	return value{b: unsafe.Slice(unsafe.StringData(s), len(s)), str: true}
}

// encode writes the file to w, or with w == nil only computes its size.
func (f *File) encode(w *writer) (int, error) {
	h := &f.Header
	var slotBuf [32]slot
	slots := h.slots(slotBuf[:0])
	var sizeBuf [48]int
	sizes := sizeBuf[:0]
	var unkBuf [4]Field
	extra := unkBuf[:0] // unknown fields added to a parsed header: after everything read
	total := 0
	unknown := h.Unknown
	for _, s := range slots {
		n, err := h.slotSize(s, &unknown)
		if err != nil {
			return 0, err
		}
		sizes = append(sizes, n)
		total += n
	}
	if h.layout != nil {
		for _, u := range unknown {
			if len(u.Value) > maxTLVLength {
				return 0, fmt.Errorf("header: tag %d: %d bytes exceed the 65535 a length can hold", u.Tag, len(u.Value))
			}
			extra = append(extra, u)
			total += 3 + len(u.Value)
		}
	}
	pad := 0
	if h.layout == nil || h.autoPad {
		pad = (4 - total%4) % 4
		total += pad
	}
	if total > 0xFFFF {
		return 0, fmt.Errorf("header: %d bytes exceed the 65535 that HEADER_LENGTH can hold", total)
	}
	size := total
	for i := range f.Records {
		n, err := f.Records[i].encode(nil)
		if err != nil {
			return 0, fmt.Errorf("record %d (%s %q): %w", i+1, f.Records[i].Role, f.Records[i].DNSName, err)
		}
		size += n
	}
	if w == nil {
		return size, nil
	}

	unknown = h.Unknown
	for i, s := range slots {
		switch s.tag {
		case hPadding:
			w.bytes([]byte{hPadding})
			continue
		case hSignerInfo, hSignatureInfo, hSigAlgoInfo:
			n := 0
			for _, q := range sizes[i+1 : min(i+1+int(s.span), len(sizes))] {
				n += q
			}
			w.head(s.tag, n)
			continue
		}
		v, err := h.value(s.tag, &unknown, total)
		if err != nil {
			return 0, err
		}
		if s.tag == hSignature {
			w.sigOff = w.offset()
		}
		w.head(s.tag, v.size())
		v.write(w)
	}
	for _, u := range extra {
		w.head(u.Tag, len(u.Value))
		w.bytes(u.Value)
	}
	for range pad {
		w.bytes([]byte{hPadding})
	}
	for i := range f.Records {
		if _, err := f.Records[i].encode(w); err != nil {
			return 0, err
		}
	}
	return size, nil
}

// slotSize is how many bytes a header slot takes.
func (h *Header) slotSize(s slot, unknown *[]Field) (int, error) {
	switch s.tag {
	case hPadding:
		return 1, nil
	case hSignerInfo, hSignatureInfo, hSigAlgoInfo:
		return 3, nil
	}
	v, err := h.value(s.tag, unknown, 0)
	if err != nil {
		return 0, err
	}
	if v.size() > maxTLVLength {
		return 0, fmt.Errorf("header: tag %d (%s): %d bytes exceed the 65535 a length can hold", s.tag, headerTagNames[s.tag], v.size())
	}
	return 3 + v.size(), nil
}

// value is a header TLV's value; headerLen fills HEADER_LENGTH. Unknown tags take the next
// field of *unknown.
func (h *Header) value(tag uint8, unknown *[]Field, headerLen int) (value, error) {
	switch tag {
	case hVersion:
		return small(h.Version[0], h.Version[1]), nil
	case hHeaderLength:
		return small(byte(headerLen>>8), byte(headerLen)), nil
	case hSignerVersion:
		return value{b: h.SignerVersion}, nil
	case hSignerName:
		return cstr(h.SignerName), nil
	case hSignerSerial:
		return value{b: h.SignerSerial}, nil
	case hSignerIssuer:
		return cstr(h.SignerIssuer), nil
	case hHashAlgorithm:
		return small(byte(h.HashAlgorithm)), nil
	case hSigAlgorithm:
		return small(h.SignatureAlgorithm), nil
	case hModulus:
		return small(h.ModulusIndex), nil
	case hSignature:
		return value{b: h.Signature}, nil
	case hFileName:
		return cstr(h.FileName), nil
	case hTimestamp:
		if h.Timestamp.IsZero() {
			return small(0, 0, 0, 0), nil
		}
		u := h.Timestamp.Unix()
		if u < 0 || u > 0xFFFFFFFF {
			return value{}, fmt.Errorf("header: TIMESTAMP %s does not fit 32-bit Unix seconds", h.Timestamp)
		}
		return small(byte(u>>24), byte(u>>16), byte(u>>8), byte(u)), nil
	}
	u := *unknown
	if len(u) == 0 || u[0].Tag != tag {
		return value{}, fmt.Errorf("header: layout names unknown tag %d but Header.Unknown does not hold it next", tag)
	}
	*unknown = u[1:]
	return value{b: u[0].Value}, nil
}

// slots is the header's layout: as read, or CUCM's order (§2.1, S1) with tag 28 where
// certutils puts it, appended to buf.
func (h *Header) slots(buf []slot) []slot {
	if h.layout != nil {
		return h.layout
	}
	s := append(buf, slot{tag: hVersion}, slot{tag: hHeaderLength})
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

// slots is the record's layout: as read, or CUCM's ascending order of the tags it carries
// (§3), appended to buf; non-secure placeholders come out as tags 1, 2, 4, 10 (R12).
func (r *Record) slots(buf []slot) []slot {
	if r.layout != nil {
		return r.layout
	}
	s := append(buf, slot{tag: rRecordLength}, slot{tag: rDNSName})
	if r.SubjectName != "" {
		s = append(s, slot{tag: rSubjectName})
	}
	s = append(s, slot{tag: rRole})
	if r.IssuerName != "" {
		s = append(s, slot{tag: rIssuerName})
	}
	if r.SerialNumber != nil {
		s = append(s, slot{tag: rSerialNumber})
	}
	if r.PublicKey != nil {
		s = append(s, slot{tag: rPublicKey})
	}
	if r.CertSignature != nil {
		s = append(s, slot{tag: rSignature})
	}
	if r.Certificate != nil {
		s = append(s, slot{tag: rCertificate})
	}
	if r.IPAddress.IsValid() {
		s = append(s, slot{tag: rIPAddress})
	}
	for _, u := range r.Unknown {
		s = append(s, slot{tag: u.Tag})
	}
	return s
}

// value is a record TLV's value; recordLen fills RECORD_LENGTH.
func (r *Record) value(tag uint8, unknown *[]Field, recordLen int) (value, error) {
	switch tag {
	case rRecordLength:
		return small(byte(recordLen>>8), byte(recordLen)), nil
	case rDNSName:
		return cstr(r.DNSName), nil
	case rSubjectName:
		return cstr(r.SubjectName), nil
	case rRole:
		return small(byte(r.Role>>8), byte(r.Role)), nil
	case rIssuerName:
		return cstr(r.IssuerName), nil
	case rSerialNumber:
		return value{b: r.SerialNumber}, nil
	case rPublicKey:
		return value{b: r.PublicKey}, nil
	case rSignature:
		return value{b: r.CertSignature}, nil
	case rCertificate:
		return value{b: r.Certificate}, nil
	case rIPAddress:
		if !r.IPAddress.Is4() {
			return value{}, fmt.Errorf("IP_ADDRESS: %v is not an IPv4 address", r.IPAddress)
		}
		a := r.IPAddress.As4()
		return small(a[:]...), nil
	}
	u := *unknown
	if len(u) == 0 || u[0].Tag != tag {
		return value{}, fmt.Errorf("layout names unknown tag %d but Record.Unknown does not hold it next", tag)
	}
	*unknown = u[1:]
	return value{b: u[0].Value}, nil
}

// encode writes the record to w, or with w == nil only checks it and computes its size.
func (r *Record) encode(w *writer) (int, error) {
	var buf [16]slot
	slots := r.slots(buf[:0])
	if len(slots) == 0 || slots[0].tag != rRecordLength {
		return 0, errors.New("layout does not start with RECORD_LENGTH")
	}
	size := 0
	unknown := r.Unknown
	for _, s := range slots {
		v, err := r.value(s.tag, &unknown, 0)
		if err != nil {
			return 0, err
		}
		if v.size() > maxTLVLength {
			return 0, fmt.Errorf("tag %d (%s): %d bytes exceed the 65535 a length can hold", s.tag, recordTagNames[s.tag], v.size())
		}
		size += 3 + v.size()
	}
	tail := unknown
	if r.layout != nil {
		for _, u := range tail {
			if len(u.Value) > maxTLVLength {
				return 0, fmt.Errorf("tag %d: %d bytes exceed the 65535 a length can hold", u.Tag, len(u.Value))
			}
			size += 3 + len(u.Value)
		}
	}
	if size > 0xFFFF {
		return 0, fmt.Errorf("%d bytes exceed the 65535 that RECORD_LENGTH can hold", size)
	}
	if w == nil {
		return size, nil
	}
	unknown = r.Unknown
	for _, s := range slots {
		v, _ := r.value(s.tag, &unknown, size)
		w.head(s.tag, v.size())
		v.write(w)
	}
	if r.layout != nil {
		for _, u := range unknown {
			w.head(u.Tag, len(u.Value))
			w.bytes(u.Value)
		}
	}
	return size, nil
}
