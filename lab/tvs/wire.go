// Package tvs is the Trust Verification Service as far as PHONE-RULES.md P25–P31 describe it:
// the wire format (P28), a server the lab's nodes run, and the client lab phones use to ask
// about a certificate their CTL and ITL do not hold (P15).
//
// Only the documented VERIFY command (1, answered by 2) is implemented: the phone sends the
// whole certificate and TVS looks it up by its SHA-256 fingerprint, as usecallmanager's tvsd
// does (U7). Real phones use a QUERY command (3/4) keyed by issuer and serial whose element
// tags are only inferred [?]; sending the whole certificate is the stricter match. A QUERY, or
// any other command, gets the connection closed.
package tvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ctlops/ctlops/ctl"
)

// Protocol constants (P28).
const (
	ProtocolID      = 0x57
	Version         = 1
	CmdVerify       = 1
	CmdVerifyReply  = 2
	CmdQuery        = 3
	CmdQueryReply   = 4
	headerLen       = 10
	tagDevice       = 1
	tagCertificate  = 2
	tagStatus       = 7
	tagRoles        = 8
	tagTTL          = 9
	StatusValid     = 0
	StatusInvalid   = 1
	DefaultTTL      = 86400 // P29, U7
	maxRolesPerCert = 16
)

// Message is one TVS message: the header's command and session and the body's elements.
type Message struct {
	Command uint8
	Session uint32
	Device  string // "CP-<model>-SEP<MAC>", without the leading 0x01 byte
	Cert    []byte // DER
	Status  int    // -1 when absent
	Roles   []ctl.Role
	TTL     uint32
	hasTTL  bool
}

// Marshal encodes m (P28: big-endian, header then TLVs).
func (m *Message) Marshal() ([]byte, error) {
	var body []byte
	add := func(tag uint8, v []byte) error {
		if len(v) > 0xFFFF {
			return fmt.Errorf("TVS element %d is %d bytes, more than 65535", tag, len(v))
		}
		body = append(body, tag, byte(len(v)>>8), byte(len(v)))
		body = append(body, v...)
		return nil
	}
	if m.Device != "" {
		if err := add(tagDevice, append([]byte{1}, m.Device...)); err != nil {
			return nil, err
		}
	}
	if m.Status >= 0 && (m.Command == CmdVerifyReply || m.Command == CmdQueryReply) {
		if err := add(tagStatus, []byte{byte(m.Status)}); err != nil {
			return nil, err
		}
	}
	if len(m.Cert) > 0 {
		if err := add(tagCertificate, m.Cert); err != nil {
			return nil, err
		}
	}
	if len(m.Roles) > 0 {
		rb := make([]byte, len(m.Roles))
		for i, r := range m.Roles {
			if r > 0xFF {
				return nil, fmt.Errorf("role %d does not fit a TVS role byte", r)
			}
			rb[i] = byte(r)
		}
		if err := add(tagRoles, rb); err != nil {
			return nil, err
		}
	}
	if m.hasTTL || m.TTL != 0 {
		if err := add(tagTTL, binary.BigEndian.AppendUint32(nil, m.TTL)); err != nil {
			return nil, err
		}
	}
	if len(body) > 0xFFFF {
		return nil, fmt.Errorf("TVS message body is %d bytes, more than 65535", len(body))
	}
	h := []byte{ProtocolID, Version, m.Command, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(h[4:8], m.Session)
	binary.BigEndian.PutUint16(h[8:10], uint16(len(body)))
	return append(h, body...), nil
}

// ErrProtocol wraps every malformed message.
var ErrProtocol = errors.New("TVS protocol error")

// Read reads one message from r: a 10-byte header, then at most 65535 bytes of body, as the
// header's u16 length bounds it.
func Read(r io.Reader) (*Message, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(h[8:10]))
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("%w: body of %d bytes: %v", ErrProtocol, n, err)
	}
	return Parse(append(h[:], body...))
}

// Parse decodes one whole message; every problem names the byte offset.
func Parse(b []byte) (*Message, error) {
	bad := func(off int, format string, a ...any) error {
		return fmt.Errorf("%w at offset %d: %s", ErrProtocol, off, fmt.Sprintf(format, a...))
	}
	if len(b) < headerLen {
		return nil, bad(0, "%d bytes, a header is %d", len(b), headerLen)
	}
	if b[0] != ProtocolID || b[1] != Version {
		return nil, bad(0, "protocol %#x version %d, want %#x version %d", b[0], b[1], ProtocolID, Version)
	}
	n := int(binary.BigEndian.Uint16(b[8:10]))
	if len(b) != headerLen+n {
		return nil, bad(8, "body length %d, but %d bytes follow the header", n, len(b)-headerLen)
	}
	m := &Message{Command: b[2], Session: binary.BigEndian.Uint32(b[4:8]), Status: -1}
	seen := map[uint8]bool{}
	for off := headerLen; off < len(b); {
		if off+3 > len(b) {
			return nil, bad(off, "truncated element header")
		}
		tag, l := b[off], int(binary.BigEndian.Uint16(b[off+1:off+3]))
		v := b[off+3:]
		if l > len(v) {
			return nil, bad(off, "element %d of %d bytes overruns the message", tag, l)
		}
		v = v[:l]
		if seen[tag] {
			return nil, bad(off, "element %d repeated", tag)
		}
		seen[tag] = true
		switch tag {
		case tagDevice:
			if l < 2 || v[0] != 1 {
				return nil, bad(off, "device name must be a 0x01 byte and a name")
			}
			m.Device = string(v[1:])
		case tagCertificate:
			m.Cert = append([]byte(nil), v...)
		case tagStatus:
			if l != 1 || v[0] > StatusInvalid {
				return nil, bad(off, "status must be one byte, 0 or 1")
			}
			m.Status = int(v[0])
		case tagRoles:
			if l > maxRolesPerCert {
				return nil, bad(off, "%d roles", l)
			}
			for _, r := range v {
				m.Roles = append(m.Roles, ctl.Role(r))
			}
		case tagTTL:
			if l != 4 {
				return nil, bad(off, "TTL must be 4 bytes")
			}
			m.TTL, m.hasTTL = binary.BigEndian.Uint32(v), true
		default:
			// Elements of the QUERY command (subject, issuer, serial: tags 3, 4, 5 inferred,
			// P28 [?]) and any other are skipped, not trusted.
		}
		off += 3 + l
	}
	return m, nil
}
