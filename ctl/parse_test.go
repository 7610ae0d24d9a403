package ctl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// edit returns a copy of the S1 sample with f applied.
func edit(t *testing.T, f func(b []byte) []byte) []byte {
	t.Helper()
	b := readSample(t, "SCFFile.tlv")
	return f(append([]byte(nil), b...))
}

func TestParseErrors(t *testing.T) {
	const rec1 = 312 // first record of S1
	cases := []struct {
		name    string
		data    []byte
		offset  int
		tag     int
		contain string
	}{
		{"empty", nil, 0, -1, "empty file"},
		{"one byte", []byte{1}, 0, 1, "truncated"},
		{"missing VERSION", edit(t, func(b []byte) []byte { b[0] = 2; return b }), 0, 2, "missing VERSION"},
		{"VERSION wrong length", []byte{1, 0, 3, 1, 2, 3}, 0, 1, "length 3, want 2"},
		{"missing HEADER_LENGTH", edit(t, func(b []byte) []byte { b[5] = 3; return b }), 5, 3, "missing HEADER_LENGTH"},
		{"only VERSION", []byte{1, 0, 2, 1, 2}, 5, -1, "truncated"},
		{"header length past end", edit(t, func(b []byte) []byte { binary.BigEndian.PutUint16(b[8:], 9000); return b }), 5, 2, "exceeds the file size"},
		{"header length too small", edit(t, func(b []byte) []byte { binary.BigEndian.PutUint16(b[8:], 4); return b }), 5, 2, "shorter than"},
		{"header length cuts a TLV", edit(t, func(b []byte) []byte { binary.BigEndian.PutUint16(b[8:], 300); return b }), 289, 14, "overruns"},
		{"container shorter than contents", edit(t, func(b []byte) []byte { binary.BigEndian.PutUint16(b[11:], 126); return b }), 82, 6, "overruns"},
		{"container longer than contents", edit(t, func(b []byte) []byte { binary.BigEndian.PutUint16(b[11:], 128); return b }), 140, 7, "lengths disagree"},
		{"hash algorithm length", edit(t, func(b []byte) []byte { b[145] = 2; return b }), 143, 8, "length 2, want 1"},
		{"name not NUL-terminated", edit(t, func(b []byte) []byte { b[70] = 'X'; return b }), 13, 4, "not NUL-terminated"},
		{"truncated record", edit(t, func(b []byte) []byte { return b[:len(b)-10] }), 6023, 1, "overruns the file"},
		{"truncated inside record start", edit(t, func(b []byte) []byte { return b[:rec1+2] }), rec1, 1, "truncated"},
		{"record length too small", edit(t, func(b []byte) []byte { binary.BigEndian.PutUint16(b[rec1+3:], 4); return b }), rec1, 1, "shorter than"},
		{"record without RECORD_LENGTH", edit(t, func(b []byte) []byte { b[rec1] = 2; return b }), rec1, 2, "must start with RECORD_LENGTH"},
		{"record length disagrees", edit(t, func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[rec1+3:], 1147-1)
			return b
		}), 1452, 10, "lengths disagree"},
		{"IP address length", edit(t, func(b []byte) []byte {
			// Record 1 ends with its IP TLV; make it claim 3 bytes and shrink the record to match.
			end := rec1 + 1147
			binary.BigEndian.PutUint16(b[end-6:], 3)
			binary.BigEndian.PutUint16(b[rec1+3:], 1146)
			return append(b[:end-1], b[end:]...)
		}), rec1 + 1147 - 7, 10, "length 3, want 4"},
		{"duplicate header tag", edit(t, func(b []byte) []byte { b[289] = 8; b[290] = 0; b[291] = 1; b[292] = 1; return fixLater(b) }), 289, 8, "duplicate tag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.data)
			if err == nil {
				t.Fatalf("parsed without error: %d records", len(f.Records))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if pe.Offset != c.offset || pe.Tag != c.tag || !strings.Contains(err.Error(), c.contain) {
				t.Fatalf("got %q (offset %d, tag %d), want offset %d, tag %d, containing %q", err, pe.Offset, pe.Tag, c.offset, c.tag, c.contain)
			}
		})
	}
}

// fixLater turns the FILENAME TLV at 289 into a HASH_ALGORITHM TLV followed by an unknown
// filler TLV of the same total size, so the only problem left is the duplicate tag.
func fixLater(b []byte) []byte {
	// 289: 08 0001 01 (4 bytes), then 293: tag 99 with the remaining 15-3 = 11 value bytes.
	b[293] = 99
	binary.BigEndian.PutUint16(b[294:], 15-4-3)
	return b
}

// Every single flipped byte in either sample must be caught, by the parser or by the
// signature, and never panic (issue 2's "done when").
func TestEveryFlippedByteIsCaught(t *testing.T) {
	for _, name := range samples {
		orig := readSample(t, name)
		for _, mask := range []byte{0x01, 0xFF} {
			for i := range orig {
				b := append([]byte(nil), orig...)
				b[i] ^= mask
				f, err := Parse(b)
				if err != nil {
					var pe *ParseError
					if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(b) {
						t.Errorf("%s: byte %d ^ %#x: %v is not a positioned ParseError", name, i, mask, err)
					}
					continue
				}
				err = f.Verify()
				var re *RecordError
				switch {
				case err == nil:
					t.Errorf("%s: byte %d ^ %#x is neither a parse nor a signature error", name, i, mask)
				case errors.As(err, &re):
					if re.Record < 1 || re.Record > len(f.Records) {
						t.Errorf("%s: byte %d ^ %#x: record %d out of range", name, i, mask, re.Record)
					}
				case !strings.Contains(err.Error(), "signature") && !strings.Contains(err.Error(), "SIGNATURE") &&
					!strings.Contains(err.Error(), "SAST record") && !strings.Contains(err.Error(), "hash algorithm") &&
					!strings.Contains(err.Error(), "signer"):
					t.Errorf("%s: byte %d ^ %#x: unexpected kind of error %q", name, i, mask, err)
				}
			}
		}
	}
}

// The parser must not allocate much more than the input, whatever the lengths claim.
func TestParseAllocationBounded(t *testing.T) {
	data := readSample(t, "SCFFile.tlv")
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := Parse(data); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 4 { // issue 18: the File and its record slice, nothing per TLV
		t.Errorf("Parse makes %.0f allocations for 6 records, want <= 4", allocs)
	}
	// A header that claims 65535 bytes in a 12-byte file must not make the parser reserve them.
	tiny := []byte{1, 0, 2, 1, 2, 2, 0, 2, 0xff, 0xff, 0, 0}
	var pe *ParseError
	if _, err := Parse(tiny); !errors.As(err, &pe) || pe.Offset != 5 || pe.Tag != hHeaderLength || !strings.Contains(err.Error(), "exceeds the file size") {
		t.Fatalf("header length past the end: err = %v, want a ParseError at offset 5, tag 2", err)
	}
	res := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			_, _ = Parse(tiny)
		}
	})
	if res.AllocedBytesPerOp() > 1024 {
		t.Errorf("Parse of a 12-byte file allocates %d bytes", res.AllocedBytesPerOp())
	}
}

func TestMarshalErrors(t *testing.T) {
	f := New("CTLFile.tlv", []Record{PlaceholderRecord(RoleCCM, "cm1", netip.AddrFrom4([4]byte{10, 0, 0, 1}))})
	f.Records[0].Certificate = bytes.Repeat([]byte{1}, 70000)
	if _, err := f.Marshal(); err == nil || !strings.Contains(err.Error(), "record 1 (CCM \"cm1\"): tag 9 (CERTIFICATE)") || !strings.Contains(err.Error(), "65535") {
		t.Errorf("oversized certificate: err = %v", err)
	}
	if _, err := New("x", nil).SignedBytes(); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("unsigned SignedBytes: err = %v", err)
	}
}

// Marshal sizes its output once: one allocation, and exactly the bytes it returns.
func TestMarshalAllocatesOnlyItsOutput(t *testing.T) {
	f, err := Parse(readSample(t, "SCFFile.tlv"))
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { _, _ = f.Marshal() }); n != 1 {
		t.Errorf("Marshal makes %.0f allocations, want 1", n)
	}
	out, _ := f.Marshal()
	if cap(out) != len(out) {
		t.Errorf("output capacity %d for %d bytes: not sized once", cap(out), len(out))
	}
}

// Verify hashes the bytes read only while the File still is what was read; any edit, even
// one that keeps every length, sends it through the encoder, and an edit back to equal
// content verifies again. The positive control: the sample as read takes the fast path.
func TestVerifyNoticesEdits(t *testing.T) {
	data := readSample(t, "SCFFile.tlv")
	cases := []struct {
		name      string
		edit      func(f *File)
		unchanged bool
		verifies  bool
	}{
		{"as read", func(f *File) {}, true, true},
		{"same name, other memory", func(f *File) { f.Records[1].DNSName = strings.Clone(f.Records[1].DNSName) }, true, true},
		{"name of the same length", func(f *File) {
			b := []byte(f.Records[1].DNSName)
			b[0] ^= 1
			f.Records[1].DNSName = string(b)
		}, false, false},
		{"role", func(f *File) { f.Records[2].Role = RoleCCM }, false, false},
		{"record dropped", func(f *File) { f.Records = f.Records[:5] }, false, false},
		{"unknown field added", func(f *File) { f.Records[3].Unknown = append(f.Records[3].Unknown, Field{Tag: 99}) }, false, false},
		{"timestamp", func(f *File) { f.Header.Timestamp = f.Header.Timestamp.Add(1e9) }, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			c.edit(f)
			if got := f.unchanged(); got != c.unchanged {
				t.Errorf("unchanged() = %v, want %v", got, c.unchanged)
			}
			if err := f.Verify(); (err == nil) != c.verifies {
				t.Errorf("Verify() = %v, want verifies=%v", err, c.verifies)
			}
		})
	}
}

// Parse borrows its input (see its doc comment): the File's strings and slices are views of
// data, so the second parse of a changed buffer sees the change and the first File, built on
// a clone, does not.
func TestParseBorrowsInput(t *testing.T) {
	data := readSample(t, "SCFFile.tlv")
	kept, err := Parse(bytes.Clone(data))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if &f.Records[0].Certificate[0] == &kept.Records[0].Certificate[0] {
		t.Fatal("two parses share memory")
	}
	if c := f.Records[0].Certificate; cap(c) != len(c) {
		t.Errorf("certificate view has capacity %d for %d bytes: an append would write into the file", cap(c), len(c))
	}
	if err := kept.Verify(); err != nil {
		t.Fatal(err)
	}
}
