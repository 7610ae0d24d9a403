package callmanager

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pin/tftp/v3"
)

// maxUpstream bounds what Upstream relays: more than phones load (P9), so that a phone still
// sees and refuses a file too large, but bounded all the same.
const maxUpstream = 1 << 20

// Upstream returns a Source.File that reads name from the TFTP server at addr on every call:
// the phone side of a node whose TFTP service another program runs (the lab's tokenless
// metro, lab/cucmsim) serves exactly what that service serves now, under the per-MAC names
// too (P3). TFTP error 1 and a file too large are errors, which Files answers as "File not
// found".
func Upstream(addr string) func(name string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		c, err := tftp.NewClient(addr)
		if err != nil {
			return nil, err
		}
		c.SetTimeout(time.Second)
		c.SetRetries(2)
		wt, err := c.Receive(name, "octet")
		if err != nil {
			if strings.HasPrefix(strings.ToLower(err.Error()), "code: 1,") {
				return nil, fmt.Errorf("%s from %s: %w", name, addr, errNotFound)
			}
			return nil, fmt.Errorf("%s from %s: %w", name, addr, err)
		}
		w := &capped{}
		if _, err := wt.WriteTo(w); err != nil {
			return nil, fmt.Errorf("%s from %s: %w", name, addr, err)
		}
		return w.buf, nil
	}
}

type capped struct{ buf []byte }

func (w *capped) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > maxUpstream {
		return 0, errors.New("larger than 1 MiB")
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}
