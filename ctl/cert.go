package ctl

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// certInfo is what a record's certificate and key yield, computed once on first use and kept
// with the record (Record.cache). It remembers which slices it was computed from: a record
// whose Certificate or PublicKey was replaced since gets a fresh, uncached answer.
type certInfo struct {
	der, pk []byte

	certOnce sync.Once
	cert     *x509.Certificate
	certErr  error

	keyOnce sync.Once
	key     *rsa.PublicKey
	keyErr  error
}

// sameSlice reports whether a and b are the same bytes in memory, not merely equal ones.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b))
}

// info returns the record's cache, creating it on first use. Concurrent callers are safe: the
// first to store wins and the others use its entry.
func (r *Record) info() *certInfo {
	if p := atomic.LoadPointer(&r.cache); p != nil {
		ci := (*certInfo)(p)
		if sameSlice(ci.der, r.Certificate) && sameSlice(ci.pk, r.PublicKey) {
			return ci
		}
		return &certInfo{der: r.Certificate, pk: r.PublicKey} // fields replaced since
	}
	ci := &certInfo{der: r.Certificate, pk: r.PublicKey}
	if !atomic.CompareAndSwapPointer(&r.cache, nil, unsafe.Pointer(ci)) {
		return r.info()
	}
	return ci
}

// X509 parses the record's certificate, once: later calls return the same *x509.Certificate
// (treat it as read-only).
func (r *Record) X509() (*x509.Certificate, error) {
	if len(r.Certificate) == 0 {
		return nil, fmt.Errorf("%s record %q carries no certificate", r.Role, r.DNSName)
	}
	c, err := r.cert()
	if err != nil {
		return nil, fmt.Errorf("%s record %q: certificate: %w", r.Role, r.DNSName, err)
	}
	return c, nil
}

// NotAfter is the end of the certificate's validity, read from its DER without parsing the
// whole certificate where the encoding is the usual one (plans show it for every record), else
// through X509.
func (r *Record) NotAfter() (time.Time, error) {
	if t, ok := parseTBS(r.Certificate); ok {
		if at, ok := t.notAfter(); ok {
			return at, nil
		}
	}
	c, err := r.X509()
	if err != nil {
		return time.Time{}, err
	}
	return c.NotAfter, nil
}

// cert is X509 with crypto/x509's own error, for callers that name the record themselves.
// The record must carry a certificate.
func (r *Record) cert() (*x509.Certificate, error) {
	ci := r.info()
	ci.certOnce.Do(func() { ci.cert, ci.certErr = x509.ParseCertificate(ci.der) })
	return ci.cert, ci.certErr
}

// publicKey returns the record's RSA key, from its certificate or else its PUBLIC_KEY tag,
// parsed once. The certificate's key is read from its SubjectPublicKeyInfo without parsing the
// whole certificate: verifying a file needs the key, not the rest (issue 18).
func (r *Record) publicKey() (*rsa.PublicKey, error) {
	if len(r.Certificate) == 0 && len(r.PublicKey) == 0 {
		return nil, fmt.Errorf("%s record %q carries neither a certificate nor a public key", r.Role, r.DNSName)
	}
	ci := r.info()
	ci.keyOnce.Do(func() { ci.key, ci.keyErr = r.loadKey(ci) })
	return ci.key, ci.keyErr
}

func (r *Record) loadKey(ci *certInfo) (*rsa.PublicKey, error) {
	if len(ci.der) == 0 {
		k, err := x509.ParsePKCS1PublicKey(ci.pk)
		if err != nil {
			return nil, fmt.Errorf("%s record %q: PUBLIC_KEY: %w", r.Role, r.DNSName, err)
		}
		return k, nil
	}
	if t, ok := parseTBS(ci.der); ok {
		if !t.rsa {
			return nil, fmt.Errorf("%s record %q: certificate key is not RSA", r.Role, r.DNSName)
		}
		if k, err := x509.ParsePKCS1PublicKey(t.key); err == nil {
			return k, nil
		}
	}
	// Anything the quick reading does not cover goes through crypto/x509.
	c, err := r.X509()
	if err != nil {
		return nil, err
	}
	k, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s record %q: certificate key is %T, not RSA", r.Role, r.DNSName, c.PublicKey)
	}
	return k, nil
}
