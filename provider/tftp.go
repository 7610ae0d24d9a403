package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pin/tftp/v3"
)

// TFTPReader fetches CTLFile.tlv over TFTP as a phone does at boot (R4). It works against any
// TFTP server, a real CUCM included, which is what makes read-only drift checks possible where
// no CTL Provider credentials are available.
type TFTPReader struct {
	addr string
	opt  Options
}

// DefaultTFTPPort is the standard TFTP port.
const DefaultTFTPPort = 69

// NewTFTPReader prepares a reader for "host" or "host:port".
func NewTFTPReader(addr string, opt Options) (*TFTPReader, error) {
	addr = strings.TrimSuffix(addr, "/")
	if addr == "" || strings.Contains(addr, "/") {
		return nil, fmt.Errorf("tftp://%s: want tftp://host[:port]", addr)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), strconv.Itoa(DefaultTFTPPort))
	}
	return &TFTPReader{addr: addr, opt: opt}, nil
}

// Name returns tftp://host:port.
func (t *TFTPReader) Name() string { return "tftp://" + t.addr }

// Cluster is not available over TFTP.
func (t *TFTPReader) Cluster(context.Context) (*Inventory, error) {
	return nil, &Error{Server: t.Name(), Op: "get cluster", Err: fmt.Errorf("TFTP carries no inventory: %w", errors.ErrUnsupported)}
}

// errTooLarge aborts a transfer that exceeds MaxCTLSize.
var errTooLarge = fmt.Errorf("file larger than %d bytes", MaxCTLSize)

type capWriter struct{ buf []byte }

func (w *capWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > MaxCTLSize {
		return 0, errTooLarge
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// CTL downloads the file; a "File not found" from the server is ErrNoCTL. The TFTP library
// has no context, so ctx bounds only the wait: the transfer itself ends by its own timeout.
func (t *TFTPReader) CTL(ctx context.Context) ([]byte, string, error) {
	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		data, err := t.fetch()
		ch <- result{data, err}
	}()
	select {
	case <-ctx.Done():
		return nil, "", &Error{Server: t.Name(), Op: "get ctl", Err: ctx.Err()}
	case r := <-ch:
		if r.err != nil {
			return nil, "", r.err
		}
		return r.data, ETag(r.data), nil
	}
}

func (t *TFTPReader) fetch() ([]byte, error) {
	fail := func(err error) error { return &Error{Server: t.Name(), Op: "get ctl", Err: err} }
	c, err := tftp.NewClient(t.addr)
	if err != nil {
		return nil, fail(err)
	}
	// The library's timeout is per packet and it resends 3 times: a dead server costs about
	// the whole Timeout per attempt, not a multiple of it.
	per := t.opt.timeout() / 4
	if per < 100*time.Millisecond {
		per = 100 * time.Millisecond
	}
	c.SetTimeout(per)
	c.SetRetries(3)
	var lastErr error
	for i := 0; i <= t.opt.retries(); i++ {
		wt, err := c.Receive(FileName, "octet")
		if err != nil {
			lastErr = err
			if isNotFound(err) {
				return nil, &Error{Server: t.Name(), Op: "get ctl", Message: err.Error(), Err: ErrNoCTL}
			}
			continue
		}
		w := &capWriter{}
		if _, err := wt.WriteTo(w); err != nil {
			if errors.Is(err, errTooLarge) {
				return nil, fail(err)
			}
			lastErr = err
			continue
		}
		return w.buf, nil
	}
	return nil, fail(lastErr)
}

// isNotFound recognises TFTP error code 1 as the library reports it (it keeps no typed error).
func isNotFound(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.HasPrefix(s, "code: 1,") || strings.Contains(s, "not found") || strings.Contains(s, "no such file")
}
