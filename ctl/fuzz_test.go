package ctl

import (
	"bytes"
	"testing"
)

// FuzzParse: Parse never panics, and whatever it accepts re-encodes byte for byte and can be
// verified, rendered and summarised without panicking. The seeds (both samples and some
// fragments) run in every `go test`; `go test -fuzz FuzzParse ./ctl` explores further.
func FuzzParse(f *testing.F) {
	for _, name := range samples {
		b := readSample(f, name)
		f.Add(b)
		f.Add(b[:312])
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 2, 1, 2, 2, 0, 2, 0, 12, 13, 13})
	f.Add([]byte{1, 0, 2, 1, 2, 2, 0, 2, 0, 12, 13, 13, 1, 0, 2, 0, 10, 4, 0, 2, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			return
		}
		out, err := file.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed file: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("round trip differs at byte %d", firstDiff(out, data))
		}
		_ = file.Verify()
		_ = file.Text()
		_ = Summarize("fuzz", file)
	})
}
