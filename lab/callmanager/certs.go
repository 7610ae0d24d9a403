// Package callmanager is the side of a lab node that phones talk to besides the CTL Provider:
// a TFTP handler that answers the per-MAC names CTLSEP<MAC>.tlv and ITLSEP<MAC>.tlv with the
// cluster's files and serves configuration files (P3, P6), the node's ITL (built here, as
// CUCM's TFTP service builds it), the registration listeners secured by the node's CallManager
// certificate (P38–P43) and TVS (P25–P31).
//
// The exchange after a registration handshake is the lab's own, one line each way: the point
// is the trust decision (which certificate, which port), not SCCP or SIP.
package callmanager

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// certFiles is a certificate and key on disk, reloaded when either file changes, so that a
// node keeps serving the current CallManager certificate after a regen-cert event (R22).
type certFiles struct {
	certPath, keyPath string

	mu    sync.Mutex
	stamp [2]time.Time
	sizes [2]int64
	cert  *tls.Certificate
}

func (c *certFiles) get() (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var stamp [2]time.Time
	var sizes [2]int64
	for i, p := range []string{c.certPath, c.keyPath} {
		fi, err := os.Stat(p)
		if err != nil {
			if c.cert != nil {
				return c.cert, nil
			}
			return nil, err
		}
		stamp[i], sizes[i] = fi.ModTime(), fi.Size()
	}
	if c.cert != nil && stamp == c.stamp && sizes == c.sizes {
		return c.cert, nil
	}
	kp, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
	if err != nil {
		if c.cert != nil {
			return c.cert, nil // a half-written pair: keep serving the last good one
		}
		return nil, fmt.Errorf("%s: %w", c.certPath, err)
	}
	if kp.Leaf == nil {
		if kp.Leaf, err = x509.ParseCertificate(kp.Certificate[0]); err != nil {
			return nil, err
		}
	}
	if _, ok := kp.PrivateKey.(*rsa.PrivateKey); !ok {
		return nil, fmt.Errorf("%s: key is %T; CTL and ITL signers are RSA", c.keyPath, kp.PrivateKey)
	}
	c.cert, c.stamp, c.sizes = &kp, stamp, sizes
	return c.cert, nil
}

// readCerts reads every certificate of the PEM files named.
func readCerts(paths []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		found := false
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			out, found = append(out, c), true
		}
		if !found {
			return nil, errors.New(p + ": no PEM certificate")
		}
	}
	return out, nil
}
