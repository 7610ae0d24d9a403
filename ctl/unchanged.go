package ctl

import "unsafe"

// unchanged reports whether Marshal would write exactly the bytes Parse read, so that the
// signed spans can be hashed in place (issue 18: verify over the original bytes). It walks the
// layout once in comparing mode, nothing built: every value is compared with the bytes read
// (a field that still points at them compares in O(1)), and every length Marshal would compute
// (containers, records, HEADER_LENGTH) is checked against the one read once its contents are.
func (f *File) unchanged() bool {
	h := &f.Header
	if f.raw == nil || h.layout == nil || h.autoPad {
		return false
	}
	w := writer{cmp: f.raw, sigOff: -1}
	lengthAt := func(at, want int) bool {
		return at+3 <= len(f.raw) && int(f.raw[at+1])<<8|int(f.raw[at+2]) == want
	}
	type open struct{ at, left int }
	var stack [4]open
	n := 0
	unknown := h.Unknown
	for _, s := range h.layout {
		for i := range n {
			stack[i].left--
		}
		switch s.tag {
		case hPadding:
			w.bytes([]byte{hPadding})
		case hSignerInfo, hSignatureInfo, hSigAlgoInfo:
			if n == len(stack) || w.pos+3 > len(f.raw) || f.raw[w.pos] != s.tag {
				return false
			}
			stack[n] = open{at: w.pos, left: int(s.span)}
			n++
			w.pos += 3
		case hHeaderLength:
			if w.pos+5 > len(f.raw) || f.raw[w.pos] != hHeaderLength || !lengthAt(w.pos, 2) {
				return false
			}
			w.pos += 5 // its value is checked below, once the header is walked
		default:
			v, err := h.value(s.tag, &unknown, 0)
			if err != nil {
				return false
			}
			if s.tag == hSignature {
				w.sigOff = w.pos
			}
			w.head(s.tag, v.size())
			v.write(&w)
		}
		for n > 0 && stack[n-1].left == 0 {
			n--
			if !lengthAt(stack[n].at, w.pos-stack[n].at-3) {
				return false
			}
		}
		if w.diff {
			return false
		}
	}
	if n != 0 || len(unknown) != 0 || len(f.raw) < 10 || int(f.raw[8])<<8|int(f.raw[9]) != w.pos {
		return false
	}
	for i := range f.Records {
		r := &f.Records[i]
		if r.layout == nil {
			return false
		}
		end, ok := r.unchangedAt(f.raw, w.pos)
		if !ok {
			return false
		}
		w.pos = end
	}
	return !w.diff && w.pos == len(f.raw) && w.sigOff == f.sigOff
}

// unchangedAt reports whether Marshal would write r exactly as raw holds it from pos, and
// where it ends. It is Record.value and Record.encode in comparing mode, written out per tag
// because it runs for every TLV of every file verified (the generic walk was a sixth of a
// parse and verify, issue 18); TestUnchangedAgreesWithMarshal holds the two together.
func (r *Record) unchangedAt(raw []byte, pos int) (int, bool) {
	start := pos
	unknown := r.Unknown
	for _, s := range r.layout {
		if pos+3 > len(raw) || raw[pos] != s.tag {
			return 0, false
		}
		n := int(raw[pos+1])<<8 | int(raw[pos+2])
		at := pos + 3
		if at+n > len(raw) {
			return 0, false
		}
		v := raw[at : at+n]
		var ok bool
		switch s.tag {
		case rRecordLength:
			ok = n == 2 // its value is checked below, once the record is walked
		case rDNSName:
			ok = sameCString(v, r.DNSName)
		case rSubjectName:
			ok = sameCString(v, r.SubjectName)
		case rIssuerName:
			ok = sameCString(v, r.IssuerName)
		case rRole:
			ok = n == 2 && v[0] == byte(r.Role>>8) && v[1] == byte(r.Role)
		case rSerialNumber:
			ok = sameBytes(v, r.SerialNumber)
		case rPublicKey:
			ok = sameBytes(v, r.PublicKey)
		case rSignature:
			ok = sameBytes(v, r.CertSignature)
		case rCertificate:
			ok = sameBytes(v, r.Certificate)
		case rIPAddress:
			ok = n == 4 && r.IPAddress.Is4() && r.IPAddress.As4() == [4]byte(v)
		default:
			ok = len(unknown) > 0 && unknown[0].Tag == s.tag && sameBytes(v, unknown[0].Value)
			if len(unknown) > 0 {
				unknown = unknown[1:]
			}
		}
		if !ok {
			return 0, false
		}
		pos = at + n
	}
	if len(r.layout) == 0 || r.layout[0].tag != rRecordLength || len(unknown) != 0 {
		return 0, false
	}
	if rl := int(raw[start+3])<<8 | int(raw[start+4]); rl != pos-start {
		return 0, false
	}
	return pos, true
}

// sameBytes is writer.bytes in comparing mode: O(1) when b still points at v.
func sameBytes(v, b []byte) bool {
	return sameSlice(v, b) || string(v) == string(b)
}

// sameCString reports whether v is s and its NUL (§1.4).
func sameCString(v []byte, s string) bool {
	if len(v) != len(s)+1 || v[len(s)] != 0 {
		return false
	}
	if len(s) > 0 && unsafe.SliceData(v) == unsafe.StringData(s) {
		return true
	}
	return string(v[:len(s)]) == s
}
