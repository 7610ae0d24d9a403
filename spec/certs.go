package spec

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// minRSABits is the smallest RSA key ctlops accepts for a token. The CTL format can name a
// 512-bit signer, but Go (1.24+) refuses RSA keys under 1024 bits, and so would every signature
// check ctlops makes; refusing here says so at the line that declares the token.
const minRSABits = 1024

// certFile reads a token (or signer) certificate: PEM or DER, exactly one certificate, RSA.
// Expiry is a warning, never an error: the spec is also what read-only commands (validate,
// plan, drift, show) load, and a live cluster whose CTL was signed years ago with certificates
// that have since expired (CUCM's own tokenless CTLs often are) must still be checked and
// adopted. Signing with an expired certificate is refused where it happens, in apply.
// It warns when the certificate expires within the expiry window in force.
func (l *loader) certFile(d *decoder, n *yaml.Node, path, p string) (string, *x509.Certificate) {
	abs, shown := d.resolvePath(p)
	r := l.readCerts(abs, maxCertFile)
	if r.data == nil && r.err != nil {
		d.errorf(n, path, "certificate file %s: %v", shown, r.err)
		return abs, nil
	}
	l.files[abs] = r.data
	certs, err := r.certs, r.err
	if err != nil {
		d.errorf(n, path, "certificate file %s: %v", shown, err)
		return abs, nil
	}
	if len(certs) != 1 {
		d.errorf(n, path, "certificate file %s holds %d certificates; a token is one certificate", shown, len(certs))
		return abs, nil
	}
	c := certs[0]
	rk, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		d.errorf(n, path, "certificate file %s has %s key; CTL entries are signed and checked with RSA only", shown, keyKind(c.PublicKey))
		return abs, nil
	}
	if bits := rk.N.BitLen(); bits < minRSABits {
		d.errorf(n, path, "certificate file %s has a %d-bit RSA key; at least %d bits are needed", shown, bits, minRSABits)
		return abs, nil
	}
	switch {
	case l.now.After(c.NotAfter):
		d.warnf(n, path, "certificate %s (%s) expired on %s: read-only commands carry on, apply refuses to sign with it",
			shown, c.Subject.CommonName, c.NotAfter.UTC().Format("2006-01-02"))
	case l.now.Add(d.window).After(c.NotAfter):
		days := int(c.NotAfter.Sub(l.now).Hours() / 24)
		d.warnf(n, path, "certificate %s (%s) expires on %s, in %d days: enrol its replacement token now",
			shown, c.Subject.CommonName, c.NotAfter.UTC().Format("2006-01-02"), days)
	case l.now.Before(c.NotBefore):
		d.warnf(n, path, "certificate %s (%s) is not valid before %s", shown, c.Subject.CommonName,
			c.NotBefore.UTC().Format("2006-01-02"))
	}
	return abs, c
}

// caFile reads the CA certificates the CTL Providers' TLS certificates are checked against.
func (l *loader) caFile(d *decoder, n *yaml.Node, path, p string) (string, []*x509.Certificate) {
	abs, shown := d.resolvePath(p)
	r := l.readCerts(abs, maxCAFile)
	if r.data == nil && r.err != nil {
		d.errorf(n, path, "CA file %s: %v", shown, r.err)
		return abs, nil
	}
	l.files[abs] = r.data
	certs, err := r.certs, r.err
	if err != nil {
		d.errorf(n, path, "CA file %s: %v", shown, err)
		return abs, nil
	}
	for _, c := range certs {
		if l.now.After(c.NotAfter) {
			d.warnf(n, path, "CA certificate %q in %s expired on %s", c.Subject.CommonName, shown,
				c.NotAfter.UTC().Format("2006-01-02"))
		}
	}
	return abs, certs
}

// parseCerts reads every certificate of a PEM file, or the one of a DER file.
func parseCerts(b []byte) ([]*x509.Certificate, error) {
	if !bytes.Contains(b, []byte("-----BEGIN")) {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("neither a PEM nor a DER certificate (%s)", strings.TrimPrefix(err.Error(), "x509: "))
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	var others []string
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			others = append(others, blk.Type)
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %s", len(out)+1, strings.TrimPrefix(err.Error(), "x509: "))
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		if len(others) > 0 {
			if strings.Contains(strings.Join(others, " "), "PRIVATE KEY") {
				return nil, fmt.Errorf("holds a private key, not a certificate: give the certificate (and keep the key off Git)")
			}
			return nil, fmt.Errorf("no CERTIFICATE block, found %s", strings.Join(others, ", "))
		}
		return nil, fmt.Errorf("not a PEM certificate (no valid -----BEGIN CERTIFICATE----- block)")
	}
	return out, nil
}

func keyKind(k any) string {
	switch k.(type) {
	case *ecdsa.PublicKey:
		return "an ECDSA"
	case ed25519.PublicKey:
		return "an Ed25519"
	}
	return fmt.Sprintf("a %T", k)
}
