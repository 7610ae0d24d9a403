package tvs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ctlops/ctlops/ctl"
)

// Lookup says which roles TVS vouches for a certificate with (P30), or false for one it does
// not know.
type Lookup func(certDER []byte) ([]ctl.Role, bool)

// Server answers VERIFY requests over TLS (P27, P28).
type Server struct {
	// Cert is the TVS certificate, the one the cluster's ITL holds as a TVS record (P24, P27).
	Cert tls.Certificate
	// Lookup decides; nil knows nothing.
	Lookup Lookup
	// TTL is what the phone may cache an answer for (P29); 0 means DefaultTTL.
	TTL uint32
	// Timeout bounds each connection: the handshake and every request.
	Timeout time.Duration
	// Log receives one line per request; nil discards.
	Log func(format string, a ...any)

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup
}

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln, s.conns = ln, map[net.Conn]bool{}
	s.mu.Unlock()
	cfg := &tls.Config{
		Certificates: []tls.Certificate{s.Cert},
		// The 7900 series speaks TLS 1.0 only (P27, U2): TVS must accept it.
		MinVersion: tls.VersionTLS10,
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.handle(tls.Server(c, cfg))
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// Close stops the listener and every connection, and waits for them.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 10 * time.Second
}

func (s *Server) logf(format string, a ...any) {
	if s.Log != nil {
		s.Log(format, a...)
	}
}

func (s *Server) handle(c *tls.Conn) {
	for {
		_ = c.SetDeadline(time.Now().Add(s.timeout()))
		req, err := Read(c)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && err.Error() != "EOF" {
				s.logf("TVS %s: %v", c.RemoteAddr(), err)
			}
			return
		}
		if req.Command != CmdVerify || len(req.Cert) == 0 {
			s.logf("TVS %s: command %d not served (only VERIFY with a certificate)", c.RemoteAddr(), req.Command)
			return
		}
		rep := &Message{Command: CmdVerifyReply, Session: req.Session, Status: StatusInvalid}
		var roles []ctl.Role
		ok := false
		if s.Lookup != nil {
			roles, ok = s.Lookup(req.Cert)
		}
		if ok {
			ttl := s.TTL
			if ttl == 0 {
				ttl = DefaultTTL
			}
			rep.Status, rep.Roles, rep.TTL, rep.hasTTL = StatusValid, roles, ttl, true
		}
		s.logf("TVS %s: VERIFY from %q for %s: valid=%v roles=%v", c.RemoteAddr(), req.Device, ctl.Fingerprint(req.Cert), ok, roles)
		b, err := rep.Marshal()
		if err != nil {
			s.logf("TVS: %v", err)
			return
		}
		if _, err := c.Write(b); err != nil {
			return
		}
	}
}

// Answer is what TVS said about a certificate.
type Answer struct {
	Valid bool
	Roles []ctl.Role
	TTL   time.Duration
}

// Client asks one TVS server.
type Client struct {
	Addr string
	// Device is "CP-<model>-SEP<MAC>".
	Device string
	// TLSMax is the phone's newest TLS version (P27: TLS 1.0 on the 7900 series).
	TLSMax uint16
	// TrustServer checks the TVS server's certificate (P27: against the ITL's TVS records).
	TrustServer func(certDER []byte) error
	Timeout     time.Duration
}

// Verify asks TVS about cert (P15). An error means TVS could not be asked or did not answer in
// form; an answer of "invalid" is not an error.
func (c *Client) Verify(ctx context.Context, cert []byte) (Answer, error) {
	to := c.Timeout
	if to <= 0 {
		to = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS10,
		MaxVersion: c.TLSMax,
		// The phone trusts TVS by its ITL record, not by a CA or host name (P27).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("TVS presented no certificate")
			}
			if c.TrustServer == nil {
				return errors.New("no way to check the TVS server's certificate")
			}
			return c.TrustServer(cs.PeerCertificates[0].Raw)
		},
	}
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return Answer{}, fmt.Errorf("TVS %s: %w", c.Addr, err)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	req := &Message{Command: CmdVerify, Session: uint32(time.Now().UnixNano()), Device: c.Device, Cert: cert, Status: -1}
	b, err := req.Marshal()
	if err != nil {
		return Answer{}, err
	}
	if _, err := conn.Write(b); err != nil {
		return Answer{}, fmt.Errorf("TVS %s: %w", c.Addr, err)
	}
	rep, err := Read(conn)
	if err != nil {
		return Answer{}, fmt.Errorf("TVS %s: %w", c.Addr, err)
	}
	if rep.Command != CmdVerifyReply || rep.Session != req.Session || rep.Status < 0 {
		return Answer{}, fmt.Errorf("TVS %s: %w: reply command %d session %d status %d", c.Addr, ErrProtocol, rep.Command, rep.Session, rep.Status)
	}
	return Answer{Valid: rep.Status == StatusValid, Roles: rep.Roles, TTL: time.Duration(rep.TTL) * time.Second}, nil
}
