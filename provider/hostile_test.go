package provider_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
	"github.com/ctlops/ctlops/provider/providertest/hostile"
)

// bounded runs f and fails the test if it has not returned within limit: a guard against a
// client that hangs, not a timing assertion (the limit is many times what f needs).
func bounded[T any](t *testing.T, limit time.Duration, f func() T) T {
	t.Helper()
	ch := make(chan T, 1)
	go func() { ch <- f() }()
	select {
	case v := <-ch:
		return v
	case <-time.After(limit):
		t.Fatalf("still running after %s: the read is not bounded", limit)
	}
	var zero T
	return zero
}

// allocated returns the bytes f allocated.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func TestTFTPHostileServers(t *testing.T) {
	tests := []struct {
		name    string
		fault   hostile.TFTPFault
		timeout time.Duration
		want    string
	}{
		{"silent", hostile.Silent, 600 * time.Millisecond, "no answer in 600ms (3 tries)"},
		{"slow drip", hostile.SlowDrip, 800 * time.Millisecond, "transfer not finished in 800ms"},
		{"endless blocks", hostile.Endless, 10 * time.Second, "file larger than 65536 bytes"},
		{"wrong block numbers", hostile.WrongBlock, 10 * time.Second, "server sent block 6, expected 2"},
		{"100 MB", hostile.Huge, 10 * time.Second, "file larger than 65536 bytes"},
		{"error with escapes", hostile.ErrorPacket, 10 * time.Second, `server error 0: \x1b[2JApply complete.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hostile.NewTFTP(t, tt.fault, func(s *hostile.TFTP) {
				s.Interval = 100 * time.Millisecond
				s.Message = "\x1b[2JApply complete."
			})
			r, err := provider.Open("tftp://"+s.Addr, provider.Options{Timeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			var rerr error
			mem := allocated(func() {
				rerr = bounded(t, 30*time.Second, func() error { _, _, err := r.CTL(context.Background()); return err })
			})
			if rerr == nil || !strings.Contains(rerr.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", rerr, tt.want)
			}
			if !strings.HasPrefix(rerr.Error(), "tftp://"+s.Addr+": get ctl: ") {
				t.Errorf("err = %v, want it to name the server first", rerr)
			}
			if strings.ContainsRune(rerr.Error(), 0x1b) {
				t.Errorf("err holds a raw escape: %q", rerr)
			}
			if mem > 8<<20 {
				t.Errorf("the read allocated %d bytes; a CTL read must stay near ctl.MaxFileSize", mem)
			}
			if tt.fault == hostile.Silent && s.Requests() != 3 {
				t.Errorf("server saw %d read requests, want 3 (the tries the error counts)", s.Requests())
			}
		})
	}
	// Positive control: the same client reads a whole file from a server that behaves, and a
	// context cancelled early ends the read at once with the context's error.
	t.Run("control", func(t *testing.T) {
		s := hostile.NewTFTP(t, hostile.Huge, func(s *hostile.TFTP) { s.Size = 3000 })
		r, _ := provider.Open("tftp://"+s.Addr, provider.Options{Timeout: 10 * time.Second})
		data, _, err := r.CTL(context.Background())
		if err != nil || len(data) != 3000 {
			t.Fatalf("read %d bytes, %v; want 3000", len(data), err)
		}
		silent := hostile.NewTFTP(t, hostile.Silent)
		r, _ = provider.Open("tftp://"+silent.Addr, provider.Options{Timeout: time.Hour})
		c, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := r.CTL(c); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled read: %v", err)
		}
	})
}

func TestHTTPSHostileServers(t *testing.T) {
	plain := hostile.NewPlain(t)
	other := hostile.NewHTTPS(t, hostile.Body(200, "application/json", []byte(`{}`)))
	_, otherPort, _ := strings.Cut(other.Addr, ":")
	tests := []struct {
		name    string
		h       http.Handler
		timeout time.Duration
		want    string
		wantErr error
	}{
		{"307 to plain http on the same host", hostile.Redirect(307, "http://"+plain.Addr+"/v1/cluster"), 0, "redirect to \"http://" + plain.Addr, provider.ErrRedirect},
		{"302 to another host", hostile.Redirect(302, "https://localhost:"+otherPort+"/v1/cluster"), 0, "HTTP 302", provider.ErrRedirect},
		{"308 without Location", hostile.Redirect(308, ""), 0, "HTTP 308", provider.ErrRedirect},
		{"huge JSON", hostile.HugeJSON(100 << 20), 0, "response larger than", nil},
		{"garbage", hostile.Body(200, "application/json", []byte("\x00\xff<html>not json")), 0, "bad JSON answer", nil},
		{"escape sequences in the error", hostile.Body(500, "application/json", []byte(`{"code":"internal","message":"\u001b[2JApply complete."}`)), 0, `\x1b[2JApply complete.`, nil},
		{"slow drip", hostile.Drip(50 * time.Millisecond), 500 * time.Millisecond, "get cluster: no answer in 500ms (1 try)", context.DeadlineExceeded},
		// The mode is shown in every view: only the two of R9 are taken.
		{"an unknown security mode", hostile.Body(200, "application/json", []byte(`{"cluster":"hq","mode":"\u001b[2Jmixed","servers":[]}`)), 0,
			`get cluster: the answer's security mode "\x1b[2Jmixed" is neither "mixed" nor "non-secure" (R9)`, nil},
		// A server (a debugging proxy, a hostile node) that quotes the request's credentials.
		{"the error echoes the credentials", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, pass, _ := r.BasicAuth()
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"code":"bad_request %s","message":"Authorization: %s, password %s"}`, pass, r.Header.Get("Authorization"), pass)
		}), 0, "HTTP 400 bad_request ***: Authorization: Basic ***, password ***", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hostile.NewHTTPS(t, tt.h)
			cl, err := provider.NewClient(s.Addr, provider.Options{Username: "admin", Password: "pw-never-leaves",
				Pins: []string{s.Pin}, Timeout: tt.timeout, Retries: -1})
			if err != nil {
				t.Fatal(err)
			}
			var rerr error
			mem := allocated(func() {
				rerr = bounded(t, 30*time.Second, func() error { _, err := cl.Cluster(context.Background()); return err })
			})
			if rerr == nil || !strings.Contains(rerr.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", rerr, tt.want)
			}
			if !strings.HasPrefix(rerr.Error(), s.Addr+": get cluster") {
				t.Errorf("err = %v, want it to name the server first", rerr)
			}
			if tt.wantErr != nil && !errors.Is(rerr, tt.wantErr) {
				t.Errorf("err = %v, want it to wrap %v", rerr, tt.wantErr)
			}
			if strings.ContainsRune(rerr.Error(), 0x1b) || strings.Contains(rerr.Error(), "pw-never-leaves") ||
				strings.Contains(rerr.Error(), base64.StdEncoding.EncodeToString([]byte("admin:pw-never-leaves"))) {
				t.Errorf("err holds a raw escape or the password: %q", rerr)
			}
			if mem > 32<<20 {
				t.Errorf("the request allocated %d bytes for a bounded answer", mem)
			}
			if len(s.Requests()) != 1 {
				t.Errorf("hostile server saw %d requests, want 1 (no retry, no redirect loop)", len(s.Requests()))
			}
		})
	}
	if conns, auth := plain.Seen(); conns != 0 || auth != 0 {
		t.Errorf("the plain listener got %d connections, %d with credentials: a redirect was followed", conns, auth)
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("the other host got %d requests: a redirect was followed", n)
	}
	// Positive control: the plain listener does record a client that reaches it.
	resp, err := http.Get(fmt.Sprintf("http://%s/", plain.Addr))
	if err == nil {
		resp.Body.Close()
	}
	req, _ := http.NewRequest("GET", "http://"+plain.Addr+"/", nil)
	req.SetBasicAuth("u", "p")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if conns, auth := plain.Seen(); conns != 2 || auth != 1 {
		t.Errorf("control: the plain listener recorded %d connections, %d with credentials; want 2 and 1", conns, auth)
	}
}

// TLS 1.2 with a CBC suite is refused by the reference server and the client alike.
func TestTLS12OffersOnlyAEAD(t *testing.T) {
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	cbc := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA}
	conn, err := tls.Dial("tcp", n.Addr, &tls.Config{RootCAs: c.CAPool, MaxVersion: tls.VersionTLS12, CipherSuites: cbc})
	if err == nil {
		conn.Close()
		t.Fatal("the reference server accepted a TLS 1.2 CBC suite")
	}
	// Positive control: TLS 1.2 with an AEAD suite works.
	conn, err = tls.Dial("tcp", n.Addr, &tls.Config{RootCAs: c.CAPool, MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS 1.2 with AEAD: %v", err)
	}
	if cs := conn.ConnectionState().CipherSuite; !slices.Contains(provider.CipherSuites, cs) {
		t.Errorf("negotiated %s", tls.CipherSuiteName(cs))
	}
	conn.Close()
	// The client side: record the suites its hello offers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hs := make(chan []uint16, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			hs <- nil
			return
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		var offered []uint16
		_ = tls.Server(raw, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			offered = h.CipherSuites
			return nil, errors.New("recorded")
		}}).Handshake()
		hs <- offered
	}()
	cl, _ := provider.NewClient(ln.Addr().String(), provider.Options{Pins: []string{strings.Repeat("ab", 32)}, Timeout: 5 * time.Second, Retries: -1})
	cl.Cluster(context.Background())
	offered := <-hs
	if len(offered) == 0 {
		t.Fatal("no client hello recorded")
	}
	for _, s := range offered {
		if tls.CipherSuiteName(s) != "" && !slices.Contains(provider.CipherSuites, s) && !isTLS13(s) {
			t.Errorf("the client offered %s", tls.CipherSuiteName(s))
		}
	}
}

func isTLS13(s uint16) bool {
	return s == tls.TLS_AES_128_GCM_SHA256 || s == tls.TLS_AES_256_GCM_SHA384 || s == tls.TLS_CHACHA20_POLY1305_SHA256
}

// Retries happen inside --timeout, and the error counts them: two quick 503s, then a server
// that never answers, is "no answer in 1s (3 tries)", not three timeouts in a row.
func TestRetriesBoundedByTimeout(t *testing.T) {
	var mu sync.Mutex
	n := 0
	s := hostile.NewHTTPS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if k <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		<-r.Context().Done()
	}))
	cl, _ := provider.NewClient(s.Addr, provider.Options{Pins: []string{s.Pin}, Timeout: time.Second, Retries: 2})
	err := bounded(t, 30*time.Second, func() error { _, err := cl.Cluster(context.Background()); return err })
	if err == nil || err.Error() != s.Addr+": get cluster: no answer in 1s (3 tries)" {
		t.Fatalf("err = %v", err)
	}
	if got := len(s.Requests()); got != 3 {
		t.Fatalf("%d requests, want 3", got)
	}
}

// Answers that are not HTTP at all: an error naming the server, bounded in time and memory.
func TestRawTLSGarbage(t *testing.T) {
	tests := []struct {
		name    string
		reply   []byte
		endless bool
		want    string
	}{
		{"binary garbage", []byte("\x00\xff\x1b[2J\x01garbage"), false, "malformed HTTP"},
		{"an endless header", []byte("HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 4096)), true, "get cluster"},
		{"a truncated status line", []byte("HTTP/1.1 2"), false, "get cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hostile.NewRawTLS(t, tt.reply, tt.endless)
			cl, _ := provider.NewClient(s.Addr, provider.Options{Username: "admin", Password: "pw", Pins: []string{s.Pin}, Timeout: 2 * time.Second, Retries: -1})
			var err error
			mem := allocated(func() {
				err = bounded(t, 30*time.Second, func() error { _, err := cl.Cluster(context.Background()); return err })
			})
			if err == nil || !strings.HasPrefix(err.Error(), s.Addr+": get cluster") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name the server and say %q", err, tt.want)
			}
			if strings.ContainsRune(err.Error(), 0x1b) {
				t.Errorf("raw escape in %q", err)
			}
			if mem > 32<<20 {
				t.Errorf("allocated %d bytes", mem)
			}
		})
	}
}
