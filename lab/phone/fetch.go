package phone

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pin/tftp/v3"
)

// errNotFound is TFTP error 1 from the server: the file is not there (P4).
//
//lint:ignore ST1005 the phone's own status words (P46)
var errNotFound = errors.New("File Not Found")

// errTooLarge is a download past the limit (P9).
type errTooLarge struct{ limit int }

func (e errTooLarge) Error() string { return fmt.Sprintf("download larger than %d bytes", e.limit) }

type capWriter struct {
	buf   []byte
	limit int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > w.limit {
		return 0, errTooLarge{w.limit}
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// fetch downloads name from addr over TFTP, at most limit bytes (P9): a larger file is
// refused before more than limit bytes are kept. The library's timeout is per packet and it
// resends three times, so a dead server costs about 4 × perPacket.
func fetch(addr, name string, limit int, perPacket time.Duration) ([]byte, error) {
	c, err := tftp.NewClient(addr)
	if err != nil {
		return nil, err
	}
	c.SetTimeout(perPacket)
	c.SetRetries(3)
	c.RequestTSize(true)
	wt, err := c.Receive(name, "octet")
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%s: %w", name, errNotFound)
		}
		return nil, fmt.Errorf("%s from %s: %w", name, addr, err)
	}
	if it, ok := wt.(tftp.IncomingTransfer); ok {
		if n, ok := it.Size(); ok && n > int64(limit) {
			// Refuse at the first block, which also tells the server (an ERROR packet)
			// instead of leaving it to retransmit until it times out.
			_, _ = wt.WriteTo(&capWriter{limit: 0})
			return nil, fmt.Errorf("%s: the server announces %d bytes: %w", name, n, errTooLarge{limit})
		}
	}
	w := &capWriter{limit: limit}
	if _, err := wt.WriteTo(w); err != nil {
		return nil, fmt.Errorf("%s from %s: %w", name, addr, err)
	}
	return w.buf, nil
}

// isNotFound recognises TFTP error code 1 as the library reports it (it keeps no typed error).
func isNotFound(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.HasPrefix(s, "code: 1,") || strings.Contains(s, "not found")
}
