package provider

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Two servers at one address, different ports, each resume their own TLS session after the
// connections are dropped: sessions are filed by host:port. The control is net/http's own
// TLS dial on the same trust, where the second server's session took the first one's slot
// and neither resumes.
func TestSessionsResumePerAddress(t *testing.T) {
	var mu sync.Mutex
	resumed := map[string]bool{}
	start := func(name string) *httptest.Server {
		s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			resumed[name] = r.TLS.DidResume
			mu.Unlock()
		}))
		s.EnableHTTP2 = true
		s.StartTLS()
		t.Cleanup(s.Close)
		return s
	}
	a, b := start("a"), start("b")
	for _, ours := range []bool{true, false} {
		pool := x509.NewCertPool() // a pool of its own: a session cache of its own
		pool.AddCert(a.Certificate())
		tc, err := tlsConfig(Options{CAPool: pool})
		if err != nil {
			t.Fatal(err)
		}
		tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}
		if ours {
			tr.DialTLSContext = dialTLS(&net.Dialer{Timeout: 5 * time.Second}, tc, 5*time.Second)
		}
		get := func(s *httptest.Server) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		get(a)
		get(b)
		tr.CloseIdleConnections()
		get(a)
		get(b)
		tr.CloseIdleConnections()
		mu.Lock()
		got := resumed["a"] && resumed["b"]
		none := !resumed["a"] && !resumed["b"]
		mu.Unlock()
		if ours && !got {
			t.Errorf("per-address sessions: resumed %v", resumed)
		}
		if !ours && !none {
			t.Errorf("control (one slot per host): resumed %v; the test cannot tell the two apart", resumed)
		}
	}
}
