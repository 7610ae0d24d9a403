package provider

import (
	"errors"
	"io"
)

// readBody reads at most max+1 bytes of a response body (one more than allowed, so that the
// caller can tell a body that is too large), into one buffer sized from the announced length
// when there is one. io.ReadAll starts at 512 bytes and doubles, which for a 7 KiB CTL left
// 16 KiB of garbage per read: a fleet check reads hundreds (issue 18). The announcement is
// the server's word, so it only sizes the first buffer, capped by max: a server that announces
// more or less than it sends is read as it sends.
func readBody(r io.Reader, announced, max int64) ([]byte, error) {
	size := int64(512)
	if announced >= 0 {
		size = min(announced, max) + 1 // +1: room to read the end without growing
	}
	r = io.LimitReader(r, max+1)
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow as append does
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
