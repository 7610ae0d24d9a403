package refserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctlops/ctlops/internal/atomicfile"
)

// keyBits is the RSA size of every lab key: what CUCM uses for CallManager.pem by default.
const keyBits = 2048

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
}

func writePEM(path, typ string, der []byte, perm os.FileMode) error {
	return atomicfile.Write(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), perm)
}

// keySource makes every key the PKI below issues; nil means crypto/rsa (SetKeySource).
var keySource atomic.Pointer[func(bits int) (*rsa.PrivateKey, error)]

// SetKeySource replaces how the reference server's keys are made, for tests: a test binary
// that starts many servers hands out keys from KeyPool instead of generating an RSA-2048 key
// for every CA, node and CAPF certificate, which was half the CPU of some packages' tests.
// Nothing else about the servers changes; nil restores crypto/rsa.
func SetKeySource(f func(bits int) (*rsa.PrivateKey, error)) {
	if f == nil {
		keySource.Store(nil)
		return
	}
	keySource.Store(&f)
}

// KeyPool is a key source that makes up to n keys of each size and then hands them out again
// in turn: n keys in a row are distinct, so one cluster's CA, nodes and CAPF never share one.
// It is safe for concurrent use.
func KeyPool(n int) func(bits int) (*rsa.PrivateKey, error) {
	var mu sync.Mutex
	keys := map[int][]*rsa.PrivateKey{}
	next := map[int]int{}
	return func(bits int) (*rsa.PrivateKey, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(keys[bits]) < n {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				return nil, err
			}
			keys[bits] = append(keys[bits], k)
			return k, nil
		}
		k := keys[bits][next[bits]%n]
		next[bits]++
		return k, nil
	}
}

func newKey(bits int) (*rsa.PrivateKey, error) {
	if f := keySource.Load(); f != nil {
		return (*f)(bits)
	}
	return rsa.GenerateKey(rand.Reader, bits)
}

// issue makes a key, signs tmpl with parent's key (or self-signs when parent is nil) under a
// fresh serial, and writes the key (0600) and the certificate.
func issue(tmpl, parent *x509.Certificate, parentKey *rsa.PrivateKey, certPath, keyPath string) error {
	key, err := newKey(keyBits)
	if err != nil {
		return err
	}
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return err
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return err
	}
	if err := writePEM(keyPath, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key), 0o600); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", der, 0o644)
}

// newCA makes the lab cluster's CA; clients trust its ca.pem.
func newCA(cluster, certPath, keyPath string) error {
	now := time.Now()
	return issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: cluster + " CTL lab CA", OrganizationalUnit: []string{"ctlops lab"}, Organization: []string{"ctlops"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}, nil, nil, certPath, keyPath)
}

func loadCA(certPath, keyPath string) (*x509.Certificate, *rsa.PrivateKey, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cp, _ := pem.Decode(cb)
	kp, _ := pem.Decode(kb)
	if cp == nil || kp == nil {
		return nil, nil, errors.New("CA certificate or key is not PEM")
	}
	cert, err := x509.ParseCertificate(cp.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certPath, err)
	}
	key, err := x509.ParsePKCS1PrivateKey(kp.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return cert, key, nil
}

// newNodeCert issues the node's CallManager certificate. Its names and addresses are SANs so
// that clients verify the TLS connection whichever of them they dial: CUCM serves the CTL
// Provider with the same certificate phones find in the CTL.
func newNodeCert(caCert *x509.Certificate, caKey *rsa.PrivateKey, cfg *Config, certPath, keyPath string) error {
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	for _, s := range []string{cfg.IPv4, hostOf(cfg.Listen)} {
		if ip := net.ParseIP(s); ip != nil && !ip.IsUnspecified() {
			ips = append(ips, ip)
		}
	}
	// Whole days: a certificate regenerated the same day keeps its validity, so the change a
	// plan shows is the key and serial, not the second it was issued in.
	now := time.Now().UTC().Truncate(24 * time.Hour)
	return issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: cfg.Name, OrganizationalUnit: []string{"VTG"}, Organization: []string{"ctlops lab"},
			Locality: []string{"Lab"}, Province: []string{"Lab"}, Country: []string{"US"}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(5, 0, 0),
		DNSNames:    uniq([]string{cfg.Name, cfg.DNSName, "localhost"}),
		IPAddresses: ips,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}, caCert, caKey, certPath, keyPath)
}

// newCAPFCert makes the publisher's CAPF certificate, self-signed as CUCM's is.
func newCAPFCert(cluster, certPath, keyPath string) error {
	now := time.Now()
	return issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "CAPF-" + cluster, OrganizationalUnit: []string{"VTG"}, Organization: []string{"ctlops lab"},
			Locality: []string{"Lab"}, Province: []string{"Lab"}, Country: []string{"US"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil, nil, certPath, keyPath)
}

func hostOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
