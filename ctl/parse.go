package ctl

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// ParseError says where a file is malformed: the byte offset of the TLV at fault and its tag.
type ParseError struct {
	Offset int    // byte offset from the start of the file
	Tag    int    // tag at Offset, or -1 when the problem is not one tag's
	Part   string // "header" or "record N" (1-based)
	Msg    string
}

func (e *ParseError) Error() string {
	where := fmt.Sprintf("offset %d", e.Offset)
	if e.Part != "" {
		where = e.Part + ", " + where
	}
	if e.Tag >= 0 {
		name := headerTagNames[uint8(e.Tag)]
		if e.Part != "header" {
			name = recordTagNames[uint8(e.Tag)]
		}
		if name == "" {
			name = "unknown"
		}
		return fmt.Sprintf("%s, tag %d (%s): %s", where, e.Tag, name, e.Msg)
	}
	return fmt.Sprintf("%s: %s", where, e.Msg)
}

// maxTLVLength caps a single value; the u16 length field cannot exceed it anyway.
const maxTLVLength = 0xFFFF

// Parse decodes a whole file (CTL-FORMAT.md §4). It copies data once and never allocates more
// than the input justifies; every problem is a *ParseError naming the offset and tag.
func Parse(data []byte) (*File, error) {
	if len(data) == 0 {
		return nil, &ParseError{Tag: -1, Msg: "empty file"}
	}
	buf := make([]byte, len(data))
	copy(buf, data)
	p := parser{b: buf}
	f := &File{}
	hl, err := p.header(&f.Header)
	if err != nil {
		return nil, err
	}
	// Records are at least 5 bytes (the RECORD_LENGTH TLV), which bounds the slice we grow.
	f.Records = make([]Record, 0, min((len(buf)-hl)/5, 64))
	for off, n := hl, 1; off < len(buf); n++ {
		r, next, err := p.record(off, n)
		if err != nil {
			return nil, err
		}
		f.Records = append(f.Records, r)
		off = next
	}
	return f, nil
}

type parser struct {
	b []byte
}

// bound names what limits a TLV, for error messages; it is built only when one is needed.
type bound struct {
	kind     int // boundFile, boundHeader, boundContainer, boundRecord
	tag, end int // container tag; header length or record/container end
	start    int // record start
}

const (
	boundFile = iota
	boundHeader
	boundContainer
	boundRecord
)

func (b bound) String() string {
	switch b.kind {
	case boundHeader:
		return fmt.Sprintf("the header length %d", b.end)
	case boundContainer:
		return fmt.Sprintf("its enclosing container (tag %d, ending at offset %d): lengths disagree", b.tag, b.end)
	case boundRecord:
		return fmt.Sprintf("its record (%d bytes from offset %d): lengths disagree", b.end-b.start, b.start)
	}
	return "the file (truncated)"
}

// tlv reads tag, length and value at off; end bounds where the value may reach: the end of
// the file, of the header, of a record or of an enclosing header container.
func (p *parser) tlv(off, end int, part string, limit bound) (tag uint8, val []byte, err error) {
	if off >= len(p.b) {
		return 0, nil, &ParseError{Offset: off, Tag: -1, Part: part, Msg: "truncated: file ends where a tag should start"}
	}
	tag = p.b[off]
	if off+3 > end {
		return tag, nil, &ParseError{Offset: off, Tag: int(tag), Part: part,
			Msg: fmt.Sprintf("only %d byte(s) left in %s, a tag and length need 3", max(end-off, 0), limit)}
	}
	n := int(binary.BigEndian.Uint16(p.b[off+1:]))
	if off+3+n > end {
		return tag, nil, &ParseError{Offset: off, Tag: int(tag), Part: part,
			Msg: fmt.Sprintf("length %d overruns %s by %d byte(s)", n, limit, off+3+n-end)}
	}
	return tag, p.b[off+3 : off+3+n : off+3+n], nil
}

func (p *parser) header(h *Header) (int, error) {
	const part = "header"
	// VERSION then HEADER_LENGTH open every file (§4 step 1).
	tag, v, err := p.tlv(0, len(p.b), part, bound{})
	if err != nil {
		return 0, err
	}
	if tag != hVersion {
		return 0, &ParseError{Offset: 0, Tag: int(tag), Part: part, Msg: "missing VERSION: a file must start with tag 1"}
	}
	if len(v) != 2 {
		return 0, &ParseError{Offset: 0, Tag: int(tag), Part: part, Msg: fmt.Sprintf("length %d, want 2", len(v))}
	}
	h.Version = [2]byte{v[0], v[1]}
	tag, v, err = p.tlv(5, len(p.b), part, bound{})
	if err != nil {
		return 0, err
	}
	if tag != hHeaderLength {
		return 0, &ParseError{Offset: 5, Tag: int(tag), Part: part, Msg: "missing HEADER_LENGTH: tag 2 must follow VERSION"}
	}
	if len(v) != 2 {
		return 0, &ParseError{Offset: 5, Tag: int(tag), Part: part, Msg: fmt.Sprintf("length %d, want 2", len(v))}
	}
	hl := int(binary.BigEndian.Uint16(v))
	h.HeaderLength = uint16(hl)
	if hl < 10 {
		return 0, &ParseError{Offset: 5, Tag: hHeaderLength, Part: part, Msg: fmt.Sprintf("header length %d is shorter than VERSION and HEADER_LENGTH themselves (10)", hl)}
	}
	if hl > len(p.b) {
		return 0, &ParseError{Offset: 5, Tag: hHeaderLength, Part: part, Msg: fmt.Sprintf("header length %d exceeds the file size %d", hl, len(p.b))}
	}
	h.layout = append(make([]slot, 0, 24), slot{tag: hVersion}, slot{tag: hHeaderLength})

	type open struct{ tag, slot, end int }
	var stack []open // open containers (3, 7, 9), innermost last
	seen := map[uint8]int{hVersion: 0, hHeaderLength: 5}
	off := 10
	for off < hl {
		// Close containers that end here; one that ends before here was overrun.
		for len(stack) > 0 && stack[len(stack)-1].end <= off {
			c := stack[len(stack)-1]
			if c.end < off {
				return 0, &ParseError{Offset: off, Tag: -1, Part: part, Msg: fmt.Sprintf("container tag %d ends at offset %d, inside the TLV before offset %d: lengths disagree", c.tag, c.end, off)}
			}
			h.layout[c.slot].span = len(h.layout) - c.slot - 1
			stack = stack[:len(stack)-1]
		}
		if p.b[off] == hPadding {
			h.layout = append(h.layout, slot{tag: hPadding})
			off++
			continue
		}
		end, limit := hl, bound{kind: boundHeader, end: hl}
		if len(stack) > 0 {
			c := stack[len(stack)-1]
			end, limit = c.end, bound{kind: boundContainer, tag: c.tag, end: c.end}
		}
		tag, v, err := p.tlv(off, end, part, limit)
		if err != nil {
			return 0, err
		}
		if prev, dup := seen[tag]; dup && tag != hPadding && headerTagNames[tag] != "" {
			return 0, &ParseError{Offset: off, Tag: int(tag), Part: part, Msg: fmt.Sprintf("duplicate tag (first at offset %d)", prev)}
		}
		seen[tag] = off
		switch tag {
		case hSignerInfo, hSignatureInfo, hSigAlgoInfo:
			// A container's length is the size of the TLVs nested after it (§1.3).
			cend := off + 3 + len(v)
			stack = append(stack, open{tag: int(tag), slot: len(h.layout), end: cend})
			h.layout = append(h.layout, slot{tag: tag})
			off += 3
			continue
		case hSignerVersion:
			h.SignerVersion = v
		case hSignerName:
			h.SignerName, err = cstring(v)
		case hSignerSerial:
			h.SignerSerial = v
		case hSignerIssuer:
			h.SignerIssuer, err = cstring(v)
		case hHashAlgorithm:
			err = wantLen(v, 1)
			if err == nil {
				h.HashAlgorithm = HashAlgorithm(v[0])
			}
		case hSigAlgorithm:
			err = wantLen(v, 1)
			if err == nil {
				h.SignatureAlgorithm = v[0]
			}
		case hModulus:
			err = wantLen(v, 1)
			if err == nil {
				h.ModulusIndex = v[0]
			}
		case hSignature:
			h.Signature = v
		case hFileName:
			h.FileName, err = cstring(v)
		case hTimestamp:
			err = wantLen(v, 4)
			if err == nil {
				h.Timestamp = time.Unix(int64(binary.BigEndian.Uint32(v)), 0).UTC()
			}
		default:
			h.Unknown = append(h.Unknown, Field{Tag: tag, Value: v})
		}
		if err != nil {
			return 0, &ParseError{Offset: off, Tag: int(tag), Part: part, Msg: err.Error()}
		}
		h.layout = append(h.layout, slot{tag: tag})
		off += 3 + len(v)
	}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		if c.end != off {
			return 0, &ParseError{Offset: off, Tag: c.tag, Part: part, Msg: fmt.Sprintf("container length runs to offset %d, past the header end %d", c.end, off)}
		}
		h.layout[c.slot].span = len(h.layout) - c.slot - 1
		stack = stack[:len(stack)-1]
	}
	return hl, nil
}

func (p *parser) record(start, n int) (Record, int, error) {
	part := fmt.Sprintf("record %d", n)
	var r Record
	tag, v, err := p.tlv(start, len(p.b), part, bound{})
	if err != nil {
		return r, 0, err
	}
	if tag != rRecordLength || len(v) != 2 {
		return r, 0, &ParseError{Offset: start, Tag: int(tag), Part: part, Msg: "a record must start with RECORD_LENGTH (tag 1, length 2)"}
	}
	rl := int(binary.BigEndian.Uint16(v))
	end := start + rl
	if rl < 5 {
		return r, 0, &ParseError{Offset: start, Tag: int(tag), Part: part, Msg: fmt.Sprintf("record length %d is shorter than its own length field (5)", rl)}
	}
	if end > len(p.b) {
		return r, 0, &ParseError{Offset: start, Tag: int(tag), Part: part, Msg: fmt.Sprintf("record length %d overruns the file by %d byte(s)", rl, end-len(p.b))}
	}
	r.layout = append(make([]slot, 0, 11), slot{tag: rRecordLength})
	var seen [256]int
	off := start + 5
	for off < end {
		tag, v, err := p.tlv(off, end, part, bound{kind: boundRecord, start: start, end: end})
		if err != nil {
			return r, 0, err
		}
		if recordTagNames[tag] != "" && tag != 11 && tag != 12 {
			if seen[tag] != 0 {
				return r, 0, &ParseError{Offset: off, Tag: int(tag), Part: part, Msg: fmt.Sprintf("duplicate tag (first at offset %d)", seen[tag])}
			}
			seen[tag] = off
		}
		switch tag {
		case rRecordLength:
			err = fmt.Errorf("RECORD_LENGTH again inside the record")
		case rDNSName:
			r.DNSName, err = cstring(v)
		case rSubjectName:
			r.SubjectName, err = cstring(v)
		case rRole:
			err = wantLen(v, 2)
			if err == nil {
				r.Role = Role(binary.BigEndian.Uint16(v))
			}
		case rIssuerName:
			r.IssuerName, err = cstring(v)
		case rSerialNumber:
			r.SerialNumber = v
		case rPublicKey:
			r.PublicKey = v
		case rSignature:
			r.CertSignature = v
		case rCertificate:
			r.Certificate = v
		case rIPAddress:
			err = wantLen(v, 4)
			if err == nil {
				r.IPAddress = netip.AddrFrom4([4]byte(v))
			}
		default:
			r.Unknown = append(r.Unknown, Field{Tag: tag, Value: v})
		}
		if err != nil {
			return r, 0, &ParseError{Offset: off, Tag: int(tag), Part: part, Msg: err.Error()}
		}
		r.layout = append(r.layout, slot{tag: tag})
		off += 3 + len(v)
	}
	if seen[rRole] == 0 {
		return r, 0, &ParseError{Offset: start, Tag: -1, Part: part, Msg: "record has no FUNCTION (tag 4)"}
	}
	return r, end, nil
}

func wantLen(v []byte, n int) error {
	if len(v) != n {
		return fmt.Errorf("length %d, want %d", len(v), n)
	}
	return nil
}

// cstring decodes a NUL-terminated string whose length counts the NUL (§1.4).
func cstring(v []byte) (string, error) {
	if len(v) == 0 || v[len(v)-1] != 0 {
		return "", fmt.Errorf("string of length %d is not NUL-terminated", len(v))
	}
	return string(v[:len(v)-1]), nil
}
