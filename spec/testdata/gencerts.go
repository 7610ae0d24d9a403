//go:build ignore

// gencerts writes the certificates the spec fixtures name. They are committed; run it again
// (go run spec/testdata/gencerts.go, from the repository root) only to replace them, then
// regenerate the golden files with `go test ./spec -update`. rsa512.pem comes from openssl
// (Go refuses to make RSA keys under 1024 bits):
//
//	openssl req -x509 -newkey rsa:512 -nodes -keyout /dev/null -subj "/OU=IPCBU/CN=SAST-small" \
//	  -days 7300 -out spec/testdata/certs/rsa512.pem
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

const dir = "spec/testdata/certs"

func main() {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	long := now.AddDate(20, 0, 0)
	rsaKey := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			log.Fatal(err)
		}
		return k
	}
	for _, n := range []string{"token1", "token2", "token3"} {
		write(n+".pem", cert("SAST-"+n, rsaKey(), now.Add(-time.Hour), long, false), true)
	}
	write("token4.der", cert("SAST-token4", rsaKey(), now.Add(-time.Hour), long, false), false)
	write("ca.pem", cert("Test Voice CA", rsaKey(), now.Add(-time.Hour), long, true), true)
	write("expired.pem", cert("SAST-expired", rsaKey(), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), false), true)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	write("ecdsa.pem", cert("SAST-ecdsa", ec, now.Add(-time.Hour), long, false), true)
	// Two certificates in one file, which a token certificate must not be.
	a, err := os.ReadFile(filepath.Join(dir, "token1.pem"))
	if err != nil {
		log.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "token2.pem"))
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "two.pem"), append(a, b...), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "garbage.pem"), []byte("this is not a certificate\n"), 0o644); err != nil {
		log.Fatal(err)
	}
}

func cert(cn string, key any, from, to time.Time, ca bool) []byte {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		log.Fatal(err)
	}
	t := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, OrganizationalUnit: []string{"IPCBU"}, Organization: []string{"ctlops tests"}},
		NotBefore:             from,
		NotAfter:              to,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  ca,
	}
	var pub any
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	}
	der, err := x509.CreateCertificate(rand.Reader, t, t, pub, key)
	if err != nil {
		log.Fatal(err)
	}
	return der
}

func write(name string, der []byte, asPEM bool) {
	b := der
	if asPEM {
		b = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		log.Fatal(err)
	}
}
