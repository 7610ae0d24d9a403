package provider

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// TFTPReader fetches CTLFile.tlv over TFTP as a phone does at boot (R4). It works against any
// TFTP server, a real CUCM included, which is what makes read-only drift checks possible where
// no CTL Provider credentials are available.
//
// The client is written here rather than taken from a library because a read must be bounded
// as a whole: one deadline for the transfer, retries included (Options.Timeout), a size cap
// (MaxCTLSize) and a count of tries that the error can report ("no answer in 30s (3 tries)").
// A server that drips one block per second delays only its own cluster.
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

// TFTP packet opcodes (RFC 1350).
const (
	opRRQ   = 1
	opDATA  = 3
	opACK   = 4
	opERROR = 5
	opOACK  = 6
)

const tftpBlock = 512

// CTL downloads the file; a "File not found" from the server is ErrNoCTL. The whole read,
// retries included, ends by Options.Timeout or ctx, whichever comes first.
func (t *TFTPReader) CTL(ctx context.Context) ([]byte, string, error) {
	data, err := t.fetch(ctx)
	if err != nil {
		return nil, "", err
	}
	return data, ETag(data), nil
}

func (t *TFTPReader) fail(err error) error { return &Error{Server: t.Name(), Op: "get ctl", Err: err} }

func (t *TFTPReader) fetch(ctx context.Context) ([]byte, error) {
	total := t.opt.timeout()
	tries := 1 + t.opt.retries()
	start := time.Now()
	deadline := start.Add(total)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// Each try (a read request, or a resent acknowledgement) waits its share of the budget.
	wait := total / time.Duration(tries)
	if wait < 50*time.Millisecond {
		wait = 50 * time.Millisecond
	}
	raddr, err := net.ResolveUDPAddr("udp", t.addr)
	if err != nil {
		return nil, t.fail(err)
	}
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		return nil, t.fail(err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()

	x := &transfer{conn: conn, server: raddr, tries: tries}
	rrq := append(append(append([]byte{0, opRRQ}, FileName...), 0), "octet\x00"...)
	last := rrq // the packet to resend when an answer is late
	buf := make([]byte, 4+tftpBlock+64)
	if err := x.send(rrq, raddr); err != nil {
		return nil, t.fail(err)
	}
	x.sent = 1
	for {
		now := time.Now()
		if !now.Before(deadline) || ctx.Err() != nil {
			return nil, t.fail(x.timeoutError(ctx, total, now.Sub(start)))
		}
		next := now.Add(wait)
		if next.After(deadline) {
			next = deadline
		}
		conn.SetReadDeadline(next)
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return nil, t.fail(err)
			}
			if ctx.Err() != nil || !time.Now().Before(deadline) {
				continue // reported at the top of the loop
			}
			if x.sent >= tries {
				return nil, t.fail(x.timeoutError(ctx, total, time.Since(start)))
			}
			to := raddr
			if x.tid != nil {
				to = x.tid
			}
			if err := x.send(last, to); err != nil {
				return nil, t.fail(err)
			}
			x.sent++
			continue
		}
		done, reply, err := x.receive(buf[:n], from)
		if err != nil {
			return nil, err.(*Error).named(t.Name())
		}
		if reply == nil {
			continue // a stray packet or a duplicate already answered
		}
		if err := x.send(reply, x.tid); err != nil {
			return nil, t.fail(err)
		}
		last, x.sent = reply, 1 // progress resets the try count
		if done {
			return x.data, nil
		}
	}
}

// transfer is the state of one TFTP read.
type transfer struct {
	conn   *net.UDPConn
	server *net.UDPAddr
	tid    *net.UDPAddr // the server's transfer port, known from its first DATA
	block  uint16       // the last block received
	data   []byte
	tries  int // allowed
	sent   int // made for the packet now awaited
}

func (x *transfer) send(p []byte, to *net.UDPAddr) error {
	_, err := x.conn.WriteToUDP(p, to)
	return err
}

// receive handles one packet: it returns the ACK to send (nil for none) and whether the
// file is complete. Errors are *Error without a server name (named by the caller).
func (x *transfer) receive(p []byte, from *net.UDPAddr) (done bool, ack []byte, err error) {
	if !from.IP.Equal(x.server.IP) {
		return false, nil, nil // not our server: ignore it
	}
	if x.tid != nil && from.Port != x.tid.Port {
		return false, nil, nil // another transfer id: ignore it (RFC 1350 §4)
	}
	if len(p) < 4 {
		return false, nil, &Error{Err: fmt.Errorf("malformed TFTP packet of %d bytes", len(p))}
	}
	switch binary.BigEndian.Uint16(p) {
	case opERROR:
		code := binary.BigEndian.Uint16(p[2:])
		msg := strings.TrimRight(string(p[4:]), "\x00")
		if code == 1 {
			return false, nil, &Error{Message: "server says: " + termsafe.Line(msg), Err: ErrNoCTL}
		}
		return false, nil, &Error{Err: fmt.Errorf("server error %d: %s", code, termsafe.Line(truncate(msg, 200)))}
	case opDATA:
	case opOACK:
		return false, nil, &Error{Err: errors.New("server answered with options it was not asked for (OACK)")}
	default:
		return false, nil, &Error{Err: fmt.Errorf("unexpected TFTP opcode %d", binary.BigEndian.Uint16(p))}
	}
	if x.tid == nil {
		x.tid = from
	}
	b := binary.BigEndian.Uint16(p[2:])
	payload := p[4:]
	switch {
	case b == x.block && x.block != 0:
		// Our acknowledgement was lost: acknowledge again, take nothing.
		return false, ackFor(b), nil
	case b != x.block+1:
		return false, nil, &Error{Err: fmt.Errorf("server sent block %d, expected %d: a broken or hostile TFTP server", b, x.block+1)}
	case len(payload) > tftpBlock:
		return false, nil, &Error{Err: fmt.Errorf("block %d holds %d bytes, more than TFTP's %d", b, len(payload), tftpBlock)}
	}
	if len(x.data)+len(payload) > MaxCTLSize {
		return false, nil, &Error{Err: fmt.Errorf("file larger than %d bytes, more than phones load (ctl.MaxFileSize); transfer stopped", MaxCTLSize)}
	}
	x.data = append(x.data, payload...)
	x.block = b
	return len(payload) < tftpBlock, ackFor(b), nil
}

func ackFor(b uint16) []byte { return []byte{0, opACK, byte(b >> 8), byte(b)} }

// timeoutError says how the deadline was missed: no answer at all, or a transfer too slow.
func (x *transfer) timeoutError(ctx context.Context, total, took time.Duration) error {
	if ctx.Err() != nil && took < total {
		return ctx.Err()
	}
	if x.tid == nil {
		return fmt.Errorf("no answer in %s (%s)", total, plural(x.sent, "try", "tries"))
	}
	return fmt.Errorf("transfer not finished in %s: %d bytes in %d blocks so far, the server sends too slowly", total, len(x.data), x.block)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// named fills in the server of an error made without one.
func (e *Error) named(server string) *Error {
	e.Server = server
	if e.Op == "" {
		e.Op = "get ctl"
	}
	return e
}
