package provider

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

// FuzzTFTPReceive feeds arbitrary packets to the TFTP read state machine: it never panics,
// never keeps more than MaxCTLSize, and every error names what was wrong without raw control
// characters. The seeds (run by go test) cover each packet kind.
func FuzzTFTPReceive(f *testing.F) {
	data := func(block uint16, n int) []byte {
		return append([]byte{0, opDATA, byte(block >> 8), byte(block)}, bytes.Repeat([]byte{7}, n)...)
	}
	f.Add(data(1, 512), data(2, 10))
	f.Add(data(1, 512), data(1, 512))
	f.Add(data(1, 512), data(9, 0))
	f.Add([]byte{0, opERROR, 0, 1, 'n', 'o', 0}, []byte{})
	f.Add([]byte{0, opERROR, 0, 0, 0x1b, '[', '2', 'J', 0}, []byte{})
	f.Add([]byte{0, opOACK, 'x', 0}, []byte{})
	f.Add([]byte{0, 9}, []byte{0})
	f.Add(data(1, 600), []byte{})
	server := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 69}
	tid := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	f.Fuzz(func(t *testing.T, p1, p2 []byte) {
		x := &transfer{server: server}
		for _, p := range [][]byte{p1, p2} {
			done, ack, err := x.receive(p, tid)
			if err != nil {
				msg := err.(*Error).named("tftp://x").Error()
				if strings.ContainsAny(msg, "\x1b\r") {
					t.Fatalf("raw control character in %q", msg)
				}
				return
			}
			if len(x.data) > MaxCTLSize {
				t.Fatalf("kept %d bytes", len(x.data))
			}
			if ack != nil && (len(ack) != 4 || ack[1] != opACK) {
				t.Fatalf("bad ack %x", ack)
			}
			if done {
				return
			}
		}
	})
}
