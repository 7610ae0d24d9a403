package callmanager

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// The lab's registration exchange, one line each way after the TCP or TLS handshake:
//
//	phone:  REGISTER <device> <SCCP|SIP>
//	node:   REGISTERED <node> <secure|non-secure>   or   REJECTED <reason>
//	phone:  KEEPALIVE        node: KEEPALIVE_ACK      (until either side closes)
//
// It stands in for SCCP's StationRegister and SIP's REGISTER: the lab models who trusts whom
// on the way in (P38–P43), not call signalling.
const (
	maxLine = 512
	// ReadyLine is what a node's phone-side process prints once it listens.
	ReadyLine = "callmanager serving"
	// KeepAlive is how often a registered phone speaks; a node drops a phone silent for three.
	KeepAlive = 2 * time.Second
)

// Registrar accepts registrations on any number of plain and TLS listeners.
type Registrar struct {
	Node string
	// Cert returns the CallManager certificate the TLS listeners present (P42).
	Cert func() (*tls.Certificate, error)
	// RequireTLS reports whether a device's security profile asks for TLS; such a device on a
	// plain port is refused, as CUCM answers "Device security mismatch: expected TLS" (P39,
	// O2). nil accepts every device on either port.
	RequireTLS func(device string) bool
	Log        func(format string, a ...any)

	mu     sync.Mutex
	lns    []net.Listener
	conns  map[net.Conn]bool
	reg    map[string]Registration
	closed bool
	wg     sync.WaitGroup
}

// Registration is one registered phone.
type Registration struct {
	Device   string
	Protocol string
	Secure   bool
	// TLSVersion is the negotiated version on a secure port (P41), 0 on a plain one.
	TLSVersion uint16
	Since      time.Time
}

// Registered lists the phones registered now.
func (r *Registrar) Registered() map[string]Registration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]Registration{}
	for k, v := range r.reg {
		out[k] = v
	}
	return out
}

// ServePlain serves the non-secure port (SCCP 2000, SIP 5060 analogues).
func (r *Registrar) ServePlain(ln net.Listener) error { return r.serve(ln, false) }

// ServeTLS serves the secure port (SCCP 2443, SIP 5061 analogues) with the CallManager
// certificate. TLS 1.0 is accepted because the 7900 series speaks nothing newer (P41). The
// phone's own certificate (LSC/MIC, P43) is not asked for: lab phones have none.
func (r *Registrar) ServeTLS(ln net.Listener) error { return r.serve(ln, true) }

func (r *Registrar) serve(ln net.Listener, secure bool) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		ln.Close()
		return nil
	}
	if r.conns == nil {
		r.conns, r.reg = map[net.Conn]bool{}, map[string]Registration{}
	}
	r.lns = append(r.lns, ln)
	r.mu.Unlock()
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS10,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return r.Cert() },
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			c.Close()
			return nil
		}
		r.conns[c] = true
		r.wg.Add(1)
		r.mu.Unlock()
		go func() {
			defer r.wg.Done()
			conn := c
			if secure {
				conn = tls.Server(c, cfg)
			}
			r.handle(conn, secure)
			r.mu.Lock()
			delete(r.conns, c)
			r.mu.Unlock()
			c.Close()
		}()
	}
}

// Close stops every listener and connection and waits for them.
func (r *Registrar) Close() {
	r.mu.Lock()
	r.closed = true
	for _, ln := range r.lns {
		ln.Close()
	}
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Registrar) logf(format string, a ...any) {
	if r.Log != nil {
		r.Log(format, a...)
	}
}

// ReadLine reads one line of at most maxLine bytes, without its end.
func ReadLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

func (r *Registrar) handle(c net.Conn, secure bool) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(c, maxLine)
	line, err := ReadLine(br)
	if err != nil {
		r.logf("registration from %s: %v", c.RemoteAddr(), err)
		return
	}
	f := strings.Fields(line)
	reply := func(s string) bool {
		_, err := fmt.Fprintf(c, "%s\n", s)
		return err == nil
	}
	if len(f) != 3 || f[0] != "REGISTER" || (f[2] != "SCCP" && f[2] != "SIP") {
		reply("REJECTED bad request")
		return
	}
	dev, proto := f[1], f[2]
	if !secure && r.RequireTLS != nil && r.RequireTLS(dev) {
		r.logf("%s: %s came on a non-secure port; its security profile asks for TLS", r.Node, dev)
		reply("REJECTED Device security mismatch: expected TLS")
		return
	}
	mode := "non-secure"
	if secure {
		mode = "secure"
	}
	// Recorded before the phone hears it is registered: whoever asks the node after the phone
	// says so (a test, RisPort70) must see it too.
	r.mu.Lock()
	var ver uint16
	if tc, ok := c.(*tls.Conn); ok {
		ver = tc.ConnectionState().Version
	}
	r.reg[dev] = Registration{Device: dev, Protocol: proto, Secure: secure, TLSVersion: ver, Since: time.Now()}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if cur, ok := r.reg[dev]; ok && cur.Secure == secure {
			delete(r.reg, dev)
		}
		r.mu.Unlock()
	}()
	if !reply("REGISTERED " + r.Node + " " + mode) {
		return
	}
	r.logf("%s: %s registered (%s, %s)", r.Node, dev, proto, mode)
	for {
		_ = c.SetDeadline(time.Now().Add(3 * KeepAlive))
		line, err := ReadLine(br)
		if err != nil || line != "KEEPALIVE" || !reply("KEEPALIVE_ACK") {
			return
		}
	}
}
