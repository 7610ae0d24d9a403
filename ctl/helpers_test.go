package ctl

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

var samples = []string{"SCFFile.tlv", "ciscoprovsionerweb-ITLFile.tlv"}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// identity is a generated key and self-signed certificate, standing in for a token or server.
type identity struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

var (
	keyMu    sync.Mutex
	keyCache = map[int][]*rsa.PrivateKey{}
)

// testKey returns the n-th cached RSA key of the given size: 4096-bit keys take a second to
// generate, so each is made once per test binary.
func testKey(t testing.TB, bits, n int) *rsa.PrivateKey {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	for len(keyCache[bits]) <= n {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		keyCache[bits] = append(keyCache[bits], k)
	}
	return keyCache[bits][n]
}

func newIdentity(t testing.TB, cn string, bits, n int, serial uint64) identity {
	t.Helper()
	key := testKey(t, bits, n)
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetUint64(serial),
		Subject: pkix.Name{
			Country: []string{"US"}, Organization: []string{"Example"}, OrganizationalUnit: []string{"VTG"},
			CommonName: cn, Province: []string{"CA"}, Locality: []string{"SJ"},
		},
		NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:  x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return identity{key: key, cert: cert}
}

func mustRecord(t testing.TB, id identity, role Role, host, ip string) Record {
	t.Helper()
	var addr netip.Addr
	if ip != "" {
		addr = netip.MustParseAddr(ip)
	}
	r, err := NewRecord(id.cert, role, host, addr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// signed signs f with id, encodes it and parses the bytes back (checking the signature), so
// that tests look at what a reader of the file would see.
func signed(t testing.TB, f *File, id identity, h HashAlgorithm, now time.Time) (*File, []byte) {
	t.Helper()
	if err := f.Sign(id.key, id.cert, h, now); err != nil {
		t.Fatal(err)
	}
	data, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	return g, data
}

// encodeRecord is one record's bytes, as Marshal writes them.
func encodeRecord(r *Record) ([]byte, error) {
	w := writer{}
	if _, err := r.encode(&w); err != nil {
		return nil, err
	}
	return w.out, nil
}

// goldenNow is the clock of the golden files, so that expiry marks do not age.
var goldenNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
