package provider_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
)

// token is a software stand-in for a SAST eToken: the provider only sees the signed file, so
// the signing key's home does not matter here (the token package tests the PKCS#11 path).
type token struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

var (
	tokensOnce sync.Once
	tokens     []token
)

// testTokens returns four tokens, made once per test binary (RSA generation is slow).
func testTokens(t testing.TB) []token {
	t.Helper()
	tokensOnce.Do(func() {
		for i := 0; i < 4; i++ {
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(int64(1000 + i)),
				Subject:      pkix.Name{CommonName: "SAST-" + string(rune('A'+i)), OrganizationalUnit: []string{"IPCBU"}, Organization: []string{"Cisco Systems"}},
				NotBefore:    time.Now().Add(-time.Hour),
				NotAfter:     time.Now().AddDate(1, 0, 0),
				KeyUsage:     x509.KeyUsageDigitalSignature,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
			if err != nil {
				panic(err)
			}
			cert, _ := x509.ParseCertificate(der)
			tokens = append(tokens, token{key, cert})
		}
	})
	return tokens
}

// signedCTL builds a CTL holding the members' SAST records, signed by signer, with a CCM
// placeholder named host so that files of one test differ where wanted.
func signedCTL(t testing.TB, signer token, host string, members ...token) []byte {
	t.Helper()
	var recs []ctl.Record
	for _, m := range members {
		r, err := ctl.NewRecord(m.cert, ctl.RoleSAST, "", netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	recs = append(recs, ctl.PlaceholderRecord(ctl.RoleCCMTFTP, host, netip.MustParseAddr("192.0.2.11")))
	f := ctl.New("CTLFile.tlv", recs)
	if err := f.Sign(signer.key, signer.cert, ctl.SHA1, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	data, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// badSignature returns data with one bit of its signature flipped: it parses, it does not verify.
func badSignature(t testing.TB, data []byte) []byte {
	t.Helper()
	f, err := ctl.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	f.Header.Signature = append([]byte(nil), f.Header.Signature...)
	f.Header.Signature[len(f.Header.Signature)/2] ^= 1
	out, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Parse(out); err != nil {
		t.Fatal(err)
	}
	return out
}
