// Package phonetest builds what tests of phones and of the phone-side servers need: RSA
// identities (key and self-signed certificate), and CTL and ITL files signed by them. Keys are
// generated once per process and per size, since 2048-bit keys are slow to make on a shared
// machine.
package phonetest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
)

// Identity is a key and its certificate.
type Identity struct {
	Name string
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// TLS returns the identity as a tls.Certificate.
func (id Identity) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{id.Cert.Raw}, PrivateKey: id.Key, Leaf: id.Cert}
}

var (
	mu   sync.Mutex
	pool = map[int][]*rsa.PrivateKey{}
	next = map[int]int{}
	ser  int64
)

// key returns a fresh-to-this-caller key of bits: each call a different one.
func key(t testing.TB, bits int) *rsa.PrivateKey {
	mu.Lock()
	defer mu.Unlock()
	i := next[bits]
	next[bits]++
	for len(pool[bits]) <= i {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		pool[bits] = append(pool[bits], k)
	}
	return pool[bits][i]
}

// New makes an identity named cn with a bits-bit key, self-signed, valid for a day around now.
// Every call gets a key no other call got in this process.
func New(t testing.TB, cn string, bits int) Identity {
	t.Helper()
	k := key(t, bits)
	mu.Lock()
	ser++
	s := ser
	mu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1000 + s),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"ctlops phone test"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{cn},
		IPAddresses:  nil,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return Identity{Name: cn, Key: k, Cert: c}
}

// Rec is one record to put in a file.
type Rec struct {
	ID   Identity
	Role ctl.Role
	Host string
	IP   string // "" for none
}

// Record builds the ctl.Record of r.
func (r Rec) Record(t testing.TB) ctl.Record {
	t.Helper()
	var ip netip.Addr
	if r.IP != "" {
		ip = netip.MustParseAddr(r.IP)
	}
	rec, err := ctl.NewRecord(r.ID.Cert, r.Role, r.Host, ip)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// File builds a file named name holding recs, signed by signer with h, and returns it parsed
// back from its bytes together with the bytes.
func File(t testing.TB, name string, signer Identity, h ctl.HashAlgorithm, recs ...Rec) (*ctl.File, []byte) {
	t.Helper()
	var rs []ctl.Record
	for _, r := range recs {
		rs = append(rs, r.Record(t))
	}
	f := ctl.New(name, rs)
	if err := f.Sign(signer.Key, signer.Cert, h, time.Now()); err != nil {
		t.Fatal(err)
	}
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ctl.Parse(b)
	if err != nil {
		t.Fatal(fmt.Errorf("parsing back: %w", err))
	}
	return p, b
}
