package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/token/softhsm"
)

func open(t *testing.T, o Options) Signer {
	t.Helper()
	if o.Module == "" {
		o.Module = modPath
	}
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sastFile is an unsigned CTL listing both signing tokens as SAST (R16) and a CallManager.
func sastFile(t testing.TB) *ctl.File {
	t.Helper()
	var recs []ctl.Record
	for _, c := range []*x509.Certificate{tokSAST1.Cert, tokSAST2.Cert} {
		r, err := ctl.NewRecord(c, ctl.RoleSAST, "", netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	recs = append(recs, ctl.PlaceholderRecord(ctl.RoleCCMTFTP, "cm1.example.com", netip.MustParseAddr("192.0.2.10")))
	return ctl.New("CTLFile.tlv", recs)
}

func TestOpenAndSign(t *testing.T) {
	for _, tc := range []struct {
		name string
		sel  Selection
		tok  *softhsm.Token
		hash ctl.HashAlgorithm
	}{
		{"label sha1", Selection{Label: "sast1"}, tokSAST1, ctl.SHA1},
		{"serial sha512", Selection{Serial: tokSAST2.Serial}, tokSAST2, ctl.SHA512},
		{"label sha256 no public key object", Selection{Label: "sast1"}, tokSAST1, ctl.SHA256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, Options{Selection: tc.sel, PIN: fixedPIN(tc.tok.PIN)})
			if !s.Certificate().Equal(tc.tok.Cert) {
				t.Fatalf("certificate %s, want %s", s.Certificate().Subject, tc.tok.Cert.Subject)
			}
			if !strings.Contains(s.Describe(), tc.tok.Serial) || strings.Contains(s.Describe(), tc.tok.PIN) {
				t.Fatalf("describe: %s", s.Describe())
			}
			f := sastFile(t)
			if err := f.Sign(s, s.Certificate(), tc.hash, time.Now()); err != nil {
				t.Fatal(err)
			}
			data, err := f.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ctl.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := back.Verify(); err != nil {
				t.Fatal(err)
			}
			if i := back.SignerRecord(); i < 0 || !bytes.Equal(back.Records[i].Certificate, tc.tok.Cert.Raw) {
				t.Fatalf("signer record %d", i)
			}
			opensslVerify(t, back, tc.tok.Cert, tc.hash)
		})
	}
}

// opensslVerify checks the signature with OpenSSL, a verifier this project did not write.
func opensslVerify(t *testing.T, f *ctl.File, cert *x509.Certificate, h ctl.HashAlgorithm) {
	t.Helper()
	dir := t.TempDir()
	signed, err := f.SignedBytes()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"signed": signed, "sig": f.Header.Signature,
		"pub.pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("openssl", "dgst", "-"+h.String(), "-verify", "pub.pem", "-signature", "sig", "signed")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl: %v: %s", err, out)
	}
}

func TestOpenErrors(t *testing.T) {
	asked := 0
	for _, tc := range []struct {
		name string
		o    Options
		want []string // fragments of the error
		is   error
	}{
		{"missing module", Options{Module: "/nonexistent/libeTPkcs11.so", Selection: Selection{Label: "sast1"}},
			[]string{"/nonexistent/libeTPkcs11.so", "no such file"}, nil},
		{"not a module", Options{Module: "/etc/hostname", Selection: Selection{Label: "sast1"}},
			[]string{"/etc/hostname", "cannot be loaded"}, nil},
		{"missing token", Options{Selection: Selection{Label: "etoken-carol"}},
			[]string{`label "etoken-carol"`, `"sast1" (serial ` + tokSAST1.Serial}, ErrTokenNotFound},
		{"token without key", Options{Selection: Selection{Label: "nokey"}},
			[]string{`"nokey"`, "cannot sign"}, ErrNoKey},
		{"several tokens none named", Options{},
			[]string{"none was named", "R20", `"sast1"`, `"sast2"`, `"nokey"`}, ErrSeveralTokens},
		{"several tokens, user declines", Options{Ask: func(p []Info) (Info, error) { asked = len(p); return Info{}, errors.New("no token chosen") }},
			[]string{"no token chosen"}, nil},
		{"no PIN source", Options{Selection: Selection{Label: "sast1"}, PIN: nil}, []string{"--pin-file"}, ErrNoPIN},
		{"fingerprint not on token", Options{Selection: Selection{Label: "sast1"}, CertSHA256: strings.Repeat("ab", 32)},
			[]string{"no key pair whose certificate has SHA-256", ctl.Fingerprint(tokSAST1.Cert.Raw)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			if o.Module == "" {
				o.Module = modPath
			}
			if o.PIN == nil && tc.is != ErrNoPIN {
				o.PIN = func(i Info) ([]byte, error) {
					for _, tk := range []*softhsm.Token{tokSAST1, tokSAST2, tokNoKey} {
						if tk.Serial == i.Serial {
							return []byte(tk.PIN), nil
						}
					}
					return nil, errors.New("unexpected token")
				}
			}
			s, err := Open(context.Background(), o)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			for _, tk := range []*softhsm.Token{tokSAST1, tokSAST2, tokNoKey, tokPIN, tokRetry} {
				if strings.Contains(err.Error(), tk.PIN) {
					t.Errorf("error shows a PIN: %v", err)
				}
			}
		})
	}
	if asked != 5 {
		t.Errorf("Ask saw %d tokens, want the 5 initialised ones", asked)
	}
}

// A single key pair is opened even when Prefer rejects it: Resign explains R19 better.
func TestOpenPreferSinglePair(t *testing.T) {
	s := open(t, Options{Selection: Selection{Label: "sast2"}, PIN: fixedPIN(tokSAST2.PIN), Prefer: func(*x509.Certificate) bool { return false }})
	if !s.Certificate().Equal(tokSAST2.Cert) {
		t.Fatalf("got %s", s.Certificate().Subject)
	}
}

func TestOpenAskChooses(t *testing.T) {
	s := open(t, Options{
		PIN: fixedPIN(tokSAST2.PIN),
		Ask: func(p []Info) (Info, error) { return byLabel(t, p, "sast2"), nil },
	})
	if !s.Certificate().Equal(tokSAST2.Cert) {
		t.Fatalf("got %s", s.Certificate().Subject)
	}
}

// BenchmarkSignPKCS11 measures RSA-2048 PKCS#1 v1.5 signatures through crypto11 on SoftHSM2.
func BenchmarkSignPKCS11(b *testing.B) {
	s, err := Open(context.Background(), Options{Module: modPath, Selection: Selection{Label: "sast1"}, PIN: fixedPIN(tokSAST1.PIN)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	digest := crypto.SHA256.New()
	digest.Write([]byte("CTLFile.tlv"))
	sum := digest.Sum(nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Sign(nil, sum, crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}

// BenchmarkSignCTLPKCS11 signs a whole CTL (hash, sign on the token, verify in software).
func BenchmarkSignCTLPKCS11(b *testing.B) {
	s, err := Open(context.Background(), Options{Module: modPath, Selection: Selection{Label: "sast1"}, PIN: fixedPIN(tokSAST1.PIN)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	f := sastFile(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Sign(s, s.Certificate(), ctl.SHA256, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}
