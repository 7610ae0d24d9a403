package token

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/safefile"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// SoftwareWarning is printed wherever a software key signs: a key in a file is not a Site
// Administrator Security Token (R6), and anyone who copies the file can sign CTLs that phones
// trust.
const SoftwareWarning = "signing with a SOFTWARE KEY from a file: for labs and tests only, unfit for production (a CTL must be signed on a security token, R6)"

// OpenSoftware makes a Signer from a PEM RSA private key (PKCS#1 or PKCS#8) and its PEM
// certificate. For labs and tests only: see SoftwareWarning.
func OpenSoftware(keyPEM, certPEM []byte) (Signer, error) {
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	cpub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("certificate %s: key is %T; CTL files are signed with RSA", ctl.NameString(cert.Subject), cert.PublicKey)
	}
	if !cpub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("the private key does not belong to certificate %s", ctl.NameString(cert.Subject))
	}
	return &softSigner{key: key, cert: cert}, nil
}

// maxSoftwareFile bounds a key or certificate file: a PEM RSA key of 16384 bits is 13 KiB.
const maxSoftwareFile = 1 << 20

// LoadSoftware reads the key and certificate files for OpenSoftware; errors name the file.
// The spec names them (signWith.software), so they are read bounded: a FIFO or a device
// (/dev/zero) is an error, not a hang.
func LoadSoftware(keyPath, certPath string) (Signer, error) {
	keyPEM, err := safefile.Read(keyPath, maxSoftwareFile)
	if err != nil {
		return nil, err
	}
	defer wipe(keyPEM)
	certPEM, err := safefile.Read(certPath, maxSoftwareFile)
	if err != nil {
		return nil, err
	}
	if _, err := parseCertPEM(certPEM); err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	if _, err := parseKeyPEM(keyPEM); err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return OpenSoftware(keyPEM, certPEM)
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}

func parseKeyPEM(b []byte) (*rsa.PrivateKey, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM PRIVATE KEY or RSA PRIVATE KEY block")
		}
		if strings.Contains(blk.Headers["Proc-Type"], "ENCRYPTED") || blk.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("the PEM key is encrypted; decrypt it first (openssl pkey)")
		}
		switch blk.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
			return k, keyError(err)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, keyError(err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("the key is %T; CTL files are signed with RSA", k)
			}
			return rk, nil
		}
	}
}

// keyError explains Go's refusal of RSA keys under 1024 bits: the CTL format allows 512-bit
// signers (modulus index 0), but Go 1.24+ will neither parse nor use them by default.
func keyError(err error) error {
	if err != nil && (strings.Contains(err.Error(), "insecure") || strings.Contains(err.Error(), "1024")) {
		return fmt.Errorf("%w (Go refuses RSA keys under 1024 bits; GODEBUG=rsa1024min=0 allows them, in a lab only)", err)
	}
	return err
}

type softSigner struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func (s *softSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s *softSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(r, digest, opts)
}
func (s *softSigner) Certificate() *x509.Certificate { return s.cert }
func (s *softSigner) Describe() string {
	return termsafe.Line(fmt.Sprintf("SOFTWARE KEY (labs and tests only, not a security token), certificate %s serial %s",
		ctl.NameString(s.cert.Subject), ctl.SerialHex(s.cert.SerialNumber.Bytes())))
}
func (s *softSigner) Close() error { return nil }
