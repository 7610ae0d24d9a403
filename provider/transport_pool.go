package provider

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// transports holds one HTTP transport per trust configuration and timeout, shared by every
// Client made with them (issue 18). A drift check of a fleet, a drift loop, plan then apply,
// an alternate TFTP server read once as a node and once as a location: each makes new Clients
// for nodes it has talked to already, and with a transport of their own every one paid a TCP
// connection and a TLS handshake again. Sharing keeps the connections (and HTTP/2 streams) of
// a node for every client that trusts it the same way.
//
// A connection is only ever reused under the trust it was verified with: the key is the
// client's session cache, of which there is exactly one per trust configuration (CA
// certificates and pins, see sessionCache), so clients trusting differently never share a
// connection, as they never share a session. Credentials are not part of a connection: they
// go with each request.
var transports sync.Map // transportKey -> *http.Transport

type transportKey struct {
	trust   tls.ClientSessionCache
	timeout time.Duration
}

// sharedTransport returns the transport for tc's trust configuration and the timeout, made
// on first use. tc must come from tlsConfig, whose ClientSessionCache identifies the trust.
func sharedTransport(tc *tls.Config, timeout time.Duration) *http.Transport {
	key := transportKey{trust: tc.ClientSessionCache, timeout: timeout}
	if t, ok := transports.Load(key); ok {
		return t.(*http.Transport)
	}
	dialer := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		TLSClientConfig:       tc,
		DialContext:           dialer.DialContext,
		DialTLSContext:        dialTLS(dialer, tc, timeout),
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		// The protocol's headers are a few hundred bytes; Go's default allows 10 MB.
		MaxResponseHeaderBytes: 64 << 10,
		// A fleet's nodes share few trust configurations (often one CA for all): idle
		// connections are kept per node, a handful each, and let go after 90 s.
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	t, _ := transports.LoadOrStore(key, tr)
	return t.(*http.Transport)
}

// CloseIdleConnections closes the idle connections of every shared transport: what a
// process that will not talk to its servers again for a while (a drift loop between distant
// checks) or a benchmark measuring cold checks calls. Connections in use are left alone.
func CloseIdleConnections() {
	transports.Range(func(_, t any) bool {
		t.(*http.Transport).CloseIdleConnections()
		return true
	})
}

// dialTLS makes the transport's TLS connections itself, for one reason: crypto/tls files a
// session under the server name, which net/http sets to the host without its port, so every
// node reached at one address (the lab's 127.0.0.1:PORT, or nodes behind one name) shared one
// session slot, each handshake overwrote the one before, and a fleet resumed almost nothing.
// Here each host:port has its own slot in the trust configuration's cache; the rest is what
// net/http does: the host as the name the certificate is checked against, ALPN h2 and
// http/1.1, the handshake timeout.
func dialTLS(d *net.Dialer, tc *tls.Config, timeout time.Duration) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cfg := tc.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		cfg.NextProtos = []string{"h2", "http/1.1"}
		cfg.ClientSessionCache = perAddress{tc.ClientSessionCache, addr}
		hctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		conn := tls.Client(raw, cfg)
		if err := conn.HandshakeContext(hctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}
}

// perAddress files sessions of one trust configuration's cache under host:port as well as
// the server name.
type perAddress struct {
	c    tls.ClientSessionCache
	addr string
}

func (p perAddress) Get(key string) (*tls.ClientSessionState, bool) {
	return p.c.Get(p.addr + "\x00" + key)
}

func (p perAddress) Put(key string, cs *tls.ClientSessionState) { p.c.Put(p.addr+"\x00"+key, cs) }

// ForgetSessions drops every kept connection and TLS session, as if the process had just
// started: what a benchmark measuring a one-shot `ctlops drift` calls between checks.
func ForgetSessions() {
	CloseIdleConnections()
	transports.Clear()
	sessionCaches.Clear()
}
