package provider

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// readBody returns what was sent, whatever the announced length says, never more than max+1
// bytes, and reads an announced body into one allocation.
func TestReadBody(t *testing.T) {
	body := strings.Repeat("x", 7166)
	for _, c := range []struct {
		name      string
		announced int64
		max       int64
		want      int
	}{
		{"announced", 7166, 64 << 10, 7166},
		{"unknown length", -1, 64 << 10, 7166},
		{"announces less", 10, 64 << 10, 7166},
		{"announces more", 1 << 40, 64 << 10, 7166},
		{"too large", 7166, 1000, 1001},
		{"too large, unknown length", -1, 1000, 1001},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := readBody(strings.NewReader(body), c.announced, c.max)
			if err != nil || len(got) != c.want || !bytes.Equal(got, []byte(body[:c.want])) {
				t.Fatalf("got %d bytes, %v; want %d", len(got), err, c.want)
			}
		})
	}
	broken := io.MultiReader(strings.NewReader("abc"), iotestErrReader{})
	if _, err := readBody(broken, -1, 100); !errors.Is(err, errBroken) {
		t.Fatalf("a broken body: %v", err)
	}
	sr := strings.NewReader(body)
	allocs := testing.AllocsPerRun(20, func() { sr.Reset(body); readBody(sr, 7166, 64<<10) })
	if allocs > 2 { // the buffer, and the LimitReader
		t.Fatalf("%v allocations for an announced body", allocs)
	}
}

var errBroken = errors.New("connection reset")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errBroken }
