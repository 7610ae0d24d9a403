package ctl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"
	"unsafe"
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

// Parse decodes a whole file (CTL-FORMAT.md §4); every problem is a *ParseError naming the
// offset and tag.
//
// Parse does not copy data: the returned File borrows it. Every byte slice and string of the
// File (names, serials, keys, certificates, unknown fields) is a view into data, so a parse
// makes a fixed handful of allocations (the File, its record slice) however many TLVs the file
// holds, and touches no fresh memory for the bytes themselves. The caller must therefore not
// write to data while the File is in use; one that reuses its buffer passes bytes.Clone(data).
// (A copy was measured: on the 2-core reference machine allocating and filling 7 KiB costs
// more than the whole scan, issue 18.) The File's slices are capped at their own length, so
// appending to one copies it; writing into one in place is not supported (treat them as
// read-only, as crypto/x509 asks of Certificate.Raw). Certificates are parsed only when first
// asked for (Record.X509) and then cached.
func Parse(data []byte) (*File, error) {
	if len(data) == 0 {
		return nil, &ParseError{Tag: -1, Msg: "empty file"}
	}
	f := &File{raw: data[:len(data):len(data)], sigOff: -1}
	p := parser{b: f.raw, slots: f.slotBuf[:0], sigOff: -1}
	hl, err := p.header(&f.Header)
	if err != nil {
		return nil, err
	}
	f.sigOff = p.sigOff
	f.Records = make([]Record, 0, countRecords(f.raw, hl))
	for off, n := hl, 1; off < len(f.raw); n++ {
		f.Records = append(f.Records, Record{})
		next, err := p.record(&f.Records[len(f.Records)-1], off, n)
		if err != nil {
			return nil, err
		}
		off = next
	}
	return f, nil
}

// countRecords walks the RECORD_LENGTH fields from off to size the record slice once. It only
// estimates: the real parse reports whatever is wrong, and an estimate can never exceed one
// record per 5 bytes (the smallest record), so a lying file cannot make Parse reserve memory.
func countRecords(b []byte, off int) int {
	n := 0
	for off+5 <= len(b) && b[off] == rRecordLength {
		rl := int(binary.BigEndian.Uint16(b[off+3:]))
		if rl < 5 {
			break
		}
		n++
		off += rl
	}
	if off < len(b) {
		n++ // room for the record that the parse will reject or that follows a bad length
	}
	return n
}

type parser struct {
	b      []byte
	slots  []slot // one arena for the layouts of the header and every record
	sigOff int    // offset of the SIGNATURE TLV, -1 when absent
}

// partName is "record N", built only when an error needs it.
func partName(n int) string { return "record " + strconv.Itoa(n) }

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
	base := len(p.slots)
	p.slots = append(p.slots, slot{tag: hVersion}, slot{tag: hHeaderLength})

	type open struct{ tag, slot, end int }
	var stackBuf [4]open
	stack := stackBuf[:0] // open containers (3, 7, 9), innermost last
	// seen holds offset+1 of each known tag read so far (0 = not seen).
	var seen [256]int32
	seen[hVersion], seen[hHeaderLength] = 1, 6
	off := 10
	for off < hl {
		// Close containers that end here; one that ends before here was overrun.
		for len(stack) > 0 && stack[len(stack)-1].end <= off {
			c := stack[len(stack)-1]
			if c.end < off {
				return 0, &ParseError{Offset: off, Tag: -1, Part: part, Msg: fmt.Sprintf("container tag %d ends at offset %d, inside the TLV before offset %d: lengths disagree", c.tag, c.end, off)}
			}
			p.slots[c.slot].span = uint16(len(p.slots) - c.slot - 1)
			stack = stack[:len(stack)-1]
		}
		if p.b[off] == hPadding {
			p.slots = append(p.slots, slot{tag: hPadding})
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
		if prev := seen[tag]; prev != 0 && tag != hPadding && headerTagNames[tag] != "" {
			return 0, &ParseError{Offset: off, Tag: int(tag), Part: part, Msg: fmt.Sprintf("duplicate tag (first at offset %d)", prev-1)}
		}
		seen[tag] = int32(off + 1)
		switch tag {
		case hSignerInfo, hSignatureInfo, hSigAlgoInfo:
			// A container's length is the size of the TLVs nested after it (§1.3).
			cend := off + 3 + len(v)
			stack = append(stack, open{tag: int(tag), slot: len(p.slots), end: cend})
			p.slots = append(p.slots, slot{tag: tag})
			off += 3
			continue
		case hSignerVersion:
			h.SignerVersion = v
		case hSignerName:
			h.SignerName, err = viewErr(v)
		case hSignerSerial:
			h.SignerSerial = v
		case hSignerIssuer:
			h.SignerIssuer, err = viewErr(v)
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
			p.sigOff = off
		case hFileName:
			h.FileName, err = viewErr(v)
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
		p.slots = append(p.slots, slot{tag: tag})
		off += 3 + len(v)
	}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		if c.end != off {
			return 0, &ParseError{Offset: off, Tag: c.tag, Part: part, Msg: fmt.Sprintf("container length runs to offset %d, past the header end %d", c.end, off)}
		}
		p.slots[c.slot].span = uint16(len(p.slots) - c.slot - 1)
		stack = stack[:len(stack)-1]
	}
	h.layout = p.slots[base:len(p.slots):len(p.slots)]
	return hl, nil
}

// record parses the record at start into r (an element of the File's slice, so that nothing
// is copied) and returns where the next one starts.
func (p *parser) record(r *Record, start, n int) (int, error) {
	tag, v, err := p.tlv(start, len(p.b), "", bound{})
	if err != nil {
		err.(*ParseError).Part = partName(n)
		return 0, err
	}
	if tag != rRecordLength || len(v) != 2 {
		return 0, &ParseError{Offset: start, Tag: int(tag), Part: partName(n), Msg: "a record must start with RECORD_LENGTH (tag 1, length 2)"}
	}
	rl := int(binary.BigEndian.Uint16(v))
	end := start + rl
	if rl < 5 {
		return 0, &ParseError{Offset: start, Tag: int(tag), Part: partName(n), Msg: fmt.Sprintf("record length %d is shorter than its own length field (5)", rl)}
	}
	if end > len(p.b) {
		return 0, &ParseError{Offset: start, Tag: int(tag), Part: partName(n), Msg: fmt.Sprintf("record length %d overruns the file by %d byte(s)", rl, end-len(p.b))}
	}
	r.pos = start + 1
	base := len(p.slots)
	p.slots = append(p.slots, slot{tag: rRecordLength})
	// seen holds offset+1 of each known tag read so far (0 = not seen); tags 1..12 only.
	var seen [16]int32
	off := start + 5
	for off < end {
		tag, v, err := p.tlv(off, end, "", bound{kind: boundRecord, start: start, end: end})
		if err != nil {
			err.(*ParseError).Part = partName(n)
			return 0, err
		}
		// The known tags that may appear once: 1..10 (§3; 11 and 12 may repeat). A range
		// test, not a lookup in recordTagNames: this runs for every TLV of every record.
		if tag >= rRecordLength && tag <= rIPAddress {
			if seen[tag] != 0 {
				return 0, &ParseError{Offset: off, Tag: int(tag), Part: partName(n), Msg: fmt.Sprintf("duplicate tag (first at offset %d)", seen[tag]-1)}
			}
			seen[tag] = int32(off + 1)
		}
		var msg string
		switch tag {
		case rRecordLength:
			msg = "RECORD_LENGTH again inside the record"
		case rDNSName:
			r.DNSName, msg = view(v)
		case rSubjectName:
			r.SubjectName, msg = view(v)
		case rRole:
			if msg = lenMsg(v, 2); msg == "" {
				r.Role = Role(binary.BigEndian.Uint16(v))
			}
		case rIssuerName:
			r.IssuerName, msg = view(v)
		case rSerialNumber:
			r.SerialNumber = v
		case rPublicKey:
			r.PublicKey = v
		case rSignature:
			r.CertSignature = v
		case rCertificate:
			r.Certificate = v
		case rIPAddress:
			if msg = lenMsg(v, 4); msg == "" {
				r.IPAddress = netip.AddrFrom4([4]byte(v))
			}
		default:
			r.Unknown = append(r.Unknown, Field{Tag: tag, Value: v})
		}
		if msg != "" {
			return 0, &ParseError{Offset: off, Tag: int(tag), Part: partName(n), Msg: msg}
		}
		p.slots = append(p.slots, slot{tag: tag})
		off += 3 + len(v)
	}
	if seen[rRole] == 0 {
		return 0, &ParseError{Offset: start, Tag: -1, Part: partName(n), Msg: "record has no FUNCTION (tag 4)"}
	}
	r.layout = p.slots[base:len(p.slots):len(p.slots)]
	return end, nil
}

// lenMsg is wantLen for the hot path: a message only when the length is wrong.
func lenMsg(v []byte, n int) string {
	if len(v) != n {
		return fmt.Sprintf("length %d, want %d", len(v), n)
	}
	return ""
}

// view decodes a NUL-terminated string (§1.4) without copying it: the string shares the
// buffer Parse borrowed, which nobody may write while the File is in use (see Parse).
func view(v []byte) (string, string) {
	if len(v) == 0 || v[len(v)-1] != 0 {
		return "", fmt.Sprintf("string of length %d is not NUL-terminated", len(v))
	}
	if len(v) == 1 {
		return "", ""
	}
	return unsafe.String(&v[0], len(v)-1), ""
}

func wantLen(v []byte, n int) error {
	if len(v) != n {
		return fmt.Errorf("length %d, want %d", len(v), n)
	}
	return nil
}

func viewErr(v []byte) (string, error) {
	s, msg := view(v)
	if msg != "" {
		return "", errors.New(msg)
	}
	return s, nil
}
