package provider

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/ctlops/ctlops/internal/safefile"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// httpsOnly refuses every request that would leave without TLS. Nothing in the client builds
// an http:// URL, so this is the second lock on the door: whatever code is added later, the
// Authorization header never crosses the network in clear. The transport it wraps has no Proxy
// set, so HTTPS_PROXY and friends cannot divert requests either.
type httpsOnly struct{ rt http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("refusing a %s:// request to %s: the CTL Provider protocol is HTTPS only", req.URL.Scheme, termsafe.String(req.URL.Host))
	}
	return h.rt.RoundTrip(req)
}

// sessionCaches holds one TLS session cache per trust configuration (CA certificates and
// pins), shared by every client that trusts the same way: a drift check of a fleet opens
// several clients per node and check, and resuming a session spares the full handshake.
// Sessions are never shared between configurations, because a resumed session is not checked
// against the roots again.
var sessionCaches sync.Map // trust key -> tls.ClientSessionCache

// sessionsPerTrust bounds each cache: one session per node (transport_pool.go files them by
// host:port), for a fleet of a few thousand nodes under one CA; a session is about a kilobyte.
const sessionsPerTrust = 4096

func sessionCache(pool *x509.CertPool, caPEM []byte, pins []string) tls.ClientSessionCache {
	// The pool by identity: callers that keep their pool (spec.TLS.CertPool does) share
	// sessions; two pools are never taken for one, whatever they hold.
	h := sha256.New()
	fmt.Fprintf(h, "%p\x00%s\x00", pool, strings.Join(pins, ","))
	h.Write(caPEM)
	key := hex.EncodeToString(h.Sum(nil))
	c, _ := sessionCaches.LoadOrStore(key, tls.NewLRUClientSessionCache(sessionsPerTrust))
	return c.(tls.ClientSessionCache)
}

// CipherSuites are the TLS 1.2 suites the client and the reference server offer: ECDHE with
// an AEAD only (AES-GCM, ChaCha20-Poly1305); no CBC, no RSA key exchange. TLS 1.3 suites are
// all AEAD and not configurable.
var CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

func tlsConfig(opt Options) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: CipherSuites}
	pool := opt.CAPool
	var caPEM []byte
	if opt.CAFile != "" {
		pem, err := safefile.Read(opt.CAFile, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		if pool == nil {
			pool = x509.NewCertPool()
		} else {
			pool = pool.Clone()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", opt.CAFile)
		}
		caPEM = pem
	}
	tc.RootCAs = pool
	tc.ClientSessionCache = sessionCache(opt.CAPool, caPEM, opt.Pins)
	if len(opt.Pins) == 0 {
		return tc, nil
	}
	pins := map[string]bool{}
	for _, p := range opt.Pins {
		p = strings.ToLower(strings.ReplaceAll(p, ":", ""))
		if b, err := hex.DecodeString(p); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("pin %q is not a SHA-256 fingerprint (64 hex digits)", p)
		}
		pins[p] = true
	}
	// With pins and no CA the chain is not checked by crypto/tls, but VerifyConnection
	// refuses every certificate whose digest is not pinned: verified, by a different rule.
	checkChain := pool != nil
	tc.InsecureSkipVerify = !checkChain
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server sent no certificate")
		}
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		fp := hex.EncodeToString(sum[:])
		if !pins[fp] {
			return fmt.Errorf("server certificate sha256 %s is not pinned", fp)
		}
		return nil
	}
	return tc, nil
}
