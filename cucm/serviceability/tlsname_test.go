package serviceability

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// hostileCert is a self-signed certificate for dnsName only (a DNS SAN may hold any ASCII,
// escapes included) and the pool that trusts it.
func hostileCert(t *testing.T, dnsName string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "node"}, DNSNames: []string{dnsName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// A node whose certificate names another host fails the TLS check, and Go's error quotes the
// certificate's names: they are the node's words and reach the error filtered. The control:
// a plain name is quoted as it is.
func TestTLSErrorQuotesNamesFiltered(t *testing.T) {
	for _, tc := range []struct{ name, dns, want string }{
		{"plain name (control)", "cm9.example", "certificate is valid for cm9.example, not localhost"},
		{"escapes in the name", "cm9\x1b[2J.example", `certificate is valid for cm9\x1b[2J.example, not localhost`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, pool := hostileCert(t, tc.dns)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.StartTLS()
			defer srv.Close()
			c, err := New(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), Options{Node: "cm9", Username: testUser, Password: testPass, RootCAs: pool, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			_, err = c.GetCCMVersion(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.ContainsRune(err.Error(), 0x1b) {
				t.Errorf("err = %q, want it to hold %q filtered", err, tc.want)
			}
		})
	}
}
