package phone

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ctlops/ctlops/lab/callmanager"
	"github.com/ctlops/ctlops/lab/cnf"
	"github.com/ctlops/ctlops/phonerules"
)

// stopRegistration ends the current registration, if any, without waiting; mu must be held.
func (p *Phone) stopRegistration() {
	if p.stopReg != nil {
		p.stopReg()
		p.stopReg = nil
	}
}

// Close ends the registration.
func (p *Phone) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.regGen++
	p.stopRegistration()
	p.st.Registered, p.st.Secure, p.st.Node = false, false, nil
	p.publish()
}

// register is P38–P43; mu must be held. It tries the CallManager group in order and keeps the
// first registration alive; if it drops, a background loop registers again while gen is
// current.
func (p *Phone) register(ctx context.Context, gen int) {
	if p.cnf == nil {
		p.fail(errors.New("no configuration: not registering"))
		return
	}
	mode := p.cnf.SecurityMode
	secure := phonerules.SecureRegistration(mode, p.ctl)
	if !secure && mode != phonerules.ModeNonSecure && p.ctl == nil {
		// P39: secure mode requested and no CTL: the phone keeps trying for a CTL and does not
		// register securely. Whether it falls back to TCP is [?]; the stricter choice is that
		// it does not register at all.
		p.fail(fmt.Errorf("deviceSecurityMode %d asks for TLS but no CTL is installed: not registering (P39)", mode))
		return
	}
	var lastErr error
	for _, m := range p.cnf.CallManagers {
		conn, br, err := p.dial(ctx, m, secure)
		if err != nil {
			p.logf("%v", err)
			lastErr = err
			continue
		}
		node := m.Name
		p.st.Registered, p.st.Secure, p.st.Node = true, secure, &node
		p.setError(p.bootErr)
		p.logf("registered with %s (%s, %s)", m.Name, p.cfg.Protocol, map[bool]string{true: "TLS", false: "TCP"}[secure])
		rctx, cancel := context.WithCancel(context.Background())
		p.stopReg = func() { cancel(); conn.Close() }
		go p.keepAlive(rctx, gen, conn, br)
		return
	}
	p.st.Registered, p.st.Secure, p.st.Node = false, false, nil
	err := fmt.Errorf("registration failed with every CallManager of the group: %w", lastErr)
	p.logf("%v", err)
	p.setError(err)
	if ctx.Err() == nil {
		rctx, cancel := context.WithCancel(context.Background())
		p.stopReg = cancel
		go p.retry(rctx, gen)
	}
}

// dial connects to m and registers: TLS when secure, with CallManager's certificate checked
// against the installed CTL only (P42), at the model's TLS version (P41).
func (p *Phone) dial(ctx context.Context, m cnf.CallManager, secure bool) (net.Conn, *bufio.Reader, error) {
	addr := net.JoinHostPort(m.Address, strconv.Itoa(m.Port(p.cfg.Protocol, secure)))
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var conn net.Conn
	var err error
	if secure {
		installed := p.ctl
		cfg := &tls.Config{
			MinVersion: tls.VersionTLS10,
			MaxVersion: p.prof.TLSMax,
			// No CA and no host name: the CTL's CCM records are the only anchor (P42).
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("CallManager presented no certificate")
				}
				return phonerules.CallManagerTrusted(installed, cs.PeerCertificates[0].Raw)
			},
		}
		d := tls.Dialer{Config: cfg}
		conn, err = d.DialContext(dctx, "tcp", addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("CallManager %s at %s: %w", m.Name, addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintf(conn, "REGISTER %s %s\n", p.prof.Model+"-SEP"+p.cfg.MAC, p.cfg.Protocol); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("CallManager %s: %w", m.Name, err)
	}
	br := bufio.NewReader(conn)
	line, err := callmanager.ReadLine(br)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("CallManager %s: %w", m.Name, err)
	}
	if !strings.HasPrefix(line, "REGISTERED ") {
		conn.Close()
		return nil, nil, fmt.Errorf("CallManager %s refused the registration: %q", m.Name, line)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, br, nil
}

// keepAlive speaks every callmanager.KeepAlive; when the node stops answering the phone is
// unregistered and registers again (P44 shows the state).
func (p *Phone) keepAlive(ctx context.Context, gen int, conn net.Conn, br *bufio.Reader) {
	t := time.NewTicker(callmanager.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_ = conn.SetDeadline(time.Now().Add(callmanager.KeepAlive))
		_, err := fmt.Fprintf(conn, "KEEPALIVE\n")
		if err == nil {
			var line string
			line, err = callmanager.ReadLine(br)
			if err == nil && line != "KEEPALIVE_ACK" {
				err = fmt.Errorf("unexpected answer %q", line)
			}
		}
		if err != nil {
			conn.Close()
			p.mu.Lock()
			if p.regGen != gen || ctx.Err() != nil {
				p.mu.Unlock()
				return
			}
			p.st.Registered, p.st.Secure, p.st.Node = false, false, nil
			err = fmt.Errorf("lost the registration: %w", err)
			p.logf("%v", err)
			p.setError(err)
			p.publish()
			p.mu.Unlock()
			p.retry(ctx, gen)
			return
		}
	}
}

// retry registers again after a pause while gen is the current boot; register starts the
// next keep-alive, or the next retry.
func (p *Phone) retry(ctx context.Context, gen int) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(callmanager.KeepAlive):
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.regGen != gen || ctx.Err() != nil {
		return
	}
	p.stopReg = nil
	p.register(ctx, gen)
	p.publish()
}
