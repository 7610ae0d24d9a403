// Package hostile starts servers that misbehave on purpose, on 127.0.0.1 with ports of their
// own, for tests that prove a client stays bounded in time and memory and names the server in
// its error: an HTTPS server that redirects, answers huge or garbage bodies or drips slowly, a
// plain listener that records whatever reaches it, and a TFTP server with the usual faults
// (silence, slow drip, endless blocks, wrong block numbers, a 100 MB file).
//
// Every server records what it received, so a test can assert the negative too: "the plain
// listener got no request and no Authorization header".
package hostile

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is what a hostile server saw of one request.
type Request struct {
	Method, Path string
	// Authorization is the raw header value, "" when absent. Tests compare it only with
	// emptiness or with a known test password, never print it.
	Authorization string
}

// recorder keeps the requests seen, safe for concurrent handlers.
type recorder struct {
	mu   sync.Mutex
	reqs []Request
}

func (r *recorder) add(q Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, q)
	r.mu.Unlock()
}

// Requests returns the requests seen so far.
func (r *recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Credentials counts the requests that carried an Authorization header.
func (r *recorder) Credentials() int {
	n := 0
	for _, q := range r.Requests() {
		if q.Authorization != "" {
			n++
		}
	}
	return n
}

// HTTPS is a TLS server on 127.0.0.1 with a throwaway certificate for 127.0.0.1 and
// localhost; a client trusts it by Pin or CAPool.
type HTTPS struct {
	recorder
	Addr   string // 127.0.0.1:port
	Pin    string // lower-case hex SHA-256 of the certificate (DER)
	CAPool *x509.CertPool
	srv    *http.Server
}

// NewHTTPS serves h until the test ends. Every request is recorded before h sees it.
func NewHTTPS(t testing.TB, h http.Handler) *HTTPS {
	t.Helper()
	cert, der := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hostile: %v", err)
	}
	s := &HTTPS{Addr: ln.Addr().String(), CAPool: x509.NewCertPool()}
	sum := sha256.Sum256(der)
	s.Pin = hex.EncodeToString(sum[:])
	parsed, _ := x509.ParseCertificate(der)
	s.CAPool.AddCert(parsed)
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.add(Request{Method: r.Method, Path: r.URL.RequestURI(), Authorization: r.Header.Get("Authorization")})
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	tl := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	go func() { _ = s.srv.Serve(tl) }()
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// Redirect answers every request with status code (301, 302, 307, 308…) and Location: to.
func Redirect(code int, to string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", to)
		w.WriteHeader(code)
	})
}

// HugeJSON answers 200 with a JSON document of about n bytes that is valid as far as it goes
// (a string that never seems to end), written as fast as the client reads; it stops when
// the client goes away.
func HugeJSON(n int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"cluster":"`)
		chunk := []byte(strings.Repeat("a", 32<<10))
		for sent := int64(0); sent < n; sent += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		io.WriteString(w, `"}`)
	})
}

// Body answers every request with status and body as given, e.g. garbage for a 200.
func Body(status int, contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		w.Write(body)
	})
}

// Drip answers 200 and then writes one byte every interval, for ever (until the client goes).
func Drip(interval time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		fl, _ := w.(http.Flusher)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-t.C:
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				if fl != nil {
					fl.Flush()
				}
			}
		}
	})
}

// Plain is a TCP listener on 127.0.0.1 that speaks nothing: it records every connection and
// whether the first bytes held an Authorization header, then closes. It is where a redirect to
// http:// would land.
type Plain struct {
	Addr  string
	mu    sync.Mutex
	conns int
	auth  int
	ln    net.Listener
}

// NewPlain listens until the test ends.
func NewPlain(t testing.TB) *Plain {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hostile: %v", err)
	}
	p := &Plain{Addr: ln.Addr().String(), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *Plain) serve(c net.Conn) {
	defer c.Close()
	p.mu.Lock()
	p.conns++
	p.mu.Unlock()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(io.LimitReader(c, 64<<10))
	for {
		line, err := br.ReadString('\n')
		if strings.HasPrefix(strings.ToLower(line), "authorization:") {
			p.mu.Lock()
			p.auth++
			p.mu.Unlock()
		}
		if err != nil || strings.TrimSpace(line) == "" {
			break
		}
	}
	io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
}

// Seen returns how many connections arrived and how many carried an Authorization header.
func (p *Plain) Seen() (conns, withAuth int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns, p.auth
}

// selfSigned makes an ECDSA certificate for 127.0.0.1 and localhost, valid for a day.
func selfSigned(t testing.TB) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "hostile"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{netip.MustParseAddr("127.0.0.1").AsSlice()},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der
}
