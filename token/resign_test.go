package token

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/phonerules"
	"github.com/ctlops/ctlops/token/softhsm"
)

// signedBy returns sastFile signed by the token tok.
func signedBy(t *testing.T, tok *softhsm.Token, h ctl.HashAlgorithm) []byte {
	t.Helper()
	s := open(t, Options{Selection: Selection{Serial: tok.Serial}, PIN: fixedPIN(tok.PIN)})
	f := sastFile(t)
	if err := f.Sign(s, s.Certificate(), h, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	data, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestResign(t *testing.T) {
	orig := signedBy(t, tokSAST1, ctl.SHA1)
	installed, err := ctl.Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, certPEM, err := softhsm.SoftwareKey(pkix.Name{CommonName: "stranger"}, 2048)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := OpenSoftware(keyPEM, certPEM)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("accepted, other SAST token, sha512", func(t *testing.T) {
		s := open(t, Options{Selection: Selection{Label: "sast2"}, PIN: fixedPIN(tokSAST2.PIN), Prefer: SASTFilter(installed)})
		// An 88xx fleet verifies SHA-512 (P32); the 79xx would not (the next case).
		res, err := Resign(orig, s, ResignOptions{Hash: ctl.SHA512, Models: []phonerules.Profile{phonerules.CP8861}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Warnings) != 0 {
			t.Errorf("warnings: %v", res.Warnings)
		}
		back, err := ctl.Parse(res.Data)
		if err != nil {
			t.Fatal(err)
		}
		if err := ctl.Accepts(installed, back); err != nil {
			t.Fatal(err)
		}
		i := back.SignerRecord()
		if i < 0 || !bytes.Equal(back.Records[i].Certificate, tokSAST2.Cert.Raw) || back.Header.HashAlgorithm != ctl.SHA512 {
			t.Fatalf("signer record %d, hash %s", i, back.Header.HashAlgorithm)
		}
		if len(back.Records) != len(installed.Records) {
			t.Fatalf("%d records, want %d", len(back.Records), len(installed.Records))
		}
		for j := range back.Records {
			if !bytes.Equal(back.Records[j].Certificate, installed.Records[j].Certificate) || back.Records[j].Role != installed.Records[j].Role {
				t.Fatalf("record %d changed", j)
			}
		}
		opensslVerify(t, back, tokSAST2.Cert, ctl.SHA512)
	})
	t.Run("sha512: the 79xx refuse, a warning, or an error for a fleet of them", func(t *testing.T) {
		s := open(t, Options{Selection: Selection{Label: "sast1"}, PIN: fixedPIN(tokSAST1.PIN)})
		res, err := Resign(orig, s, ResignOptions{Hash: ctl.SHA512})
		if err != nil || !strings.Contains(strings.Join(res.Warnings, "\n"), "CP-7960G (79xx) refuses it (P32") {
			t.Fatalf("err %v, warnings %v", err, res)
		}
		if _, err := Resign(orig, s, ResignOptions{Hash: ctl.SHA512, Models: []phonerules.Profile{phonerules.CP7960}}); err == nil || !strings.Contains(err.Error(), "P32") {
			t.Fatalf("a 79xx fleet: err %v", err)
		}
		if res, err := Resign(orig, s, ResignOptions{Hash: ctl.SHA512, Models: []phonerules.Profile{phonerules.CP8861}}); err != nil || len(res.Warnings) != 0 {
			t.Fatalf("an 88xx fleet (positive control): err %v, %v", err, res)
		}
	})
	t.Run("keeps the file's hash", func(t *testing.T) {
		s := open(t, Options{Selection: Selection{Label: "sast1"}, PIN: fixedPIN(tokSAST1.PIN)})
		res, err := Resign(orig, s, ResignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.File.Header.HashAlgorithm != ctl.SHA1 {
			t.Fatalf("hash %s", res.File.Header.HashAlgorithm)
		}
	})
	t.Run("refused, signer not a SAST record", func(t *testing.T) {
		_, err := Resign(orig, stranger, ResignOptions{})
		if err == nil || !strings.Contains(err.Error(), "R19") || !strings.Contains(err.Error(), "SAST-ADN0001") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("forced, signer added, phones reject", func(t *testing.T) {
		res, err := Resign(orig, stranger, ResignOptions{Force: true})
		if err != nil {
			t.Fatal(err)
		}
		// The forced signer's warning, then what each phone model would do (phonerules):
		// the 79xx without SBD needs an erase (P17), the others ask TVS (P15).
		all := strings.Join(res.Warnings, "\n")
		if len(res.Warnings) != 4 || !strings.Contains(res.Warnings[0], "WILL REJECT") ||
			!strings.Contains(all, "CP-7960G (79xx) refuses it until its trust list is erased by hand (P17") ||
			!strings.Contains(all, "CP-8861 (88xx) takes it only if TVS vouches for the signer (P15") {
			t.Fatalf("warnings %v", res.Warnings)
		}
		if err := res.File.Verify(); err != nil {
			t.Fatal(err)
		}
		var te *ctl.TrustError
		if err := ctl.Accepts(installed, res.File); !errors.As(err, &te) {
			t.Fatalf("phones holding the old file accept the forced one: %v", err)
		}
		if len(res.File.Records) != len(installed.Records)+1 {
			t.Fatalf("%d records", len(res.File.Records))
		}
	})
	t.Run("refused, current signature broken", func(t *testing.T) {
		bad := append([]byte(nil), orig...)
		sig := installed.Header.Signature
		i := bytes.Index(bad, sig)
		bad[i+10] ^= 0xff
		s := open(t, Options{Selection: Selection{Label: "sast2"}, PIN: fixedPIN(tokSAST2.PIN)})
		if _, err := Resign(bad, s, ResignOptions{}); err == nil || !strings.Contains(err.Error(), "does not verify") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("sha256 warns that phones are unconfirmed", func(t *testing.T) {
		s := open(t, Options{Selection: Selection{Label: "sast1"}, PIN: fixedPIN(tokSAST1.PIN)})
		res, err := Resign(orig, s, ResignOptions{Hash: ctl.SHA256})
		if err != nil {
			t.Fatal(err)
		}
		if w := notPhones(res.Warnings); len(w) != 1 || w[0] != SHA256Warning {
			t.Fatalf("warnings %v, want the SHA-256 one", res.Warnings)
		}
	})
	t.Run("not a CTL", func(t *testing.T) {
		var pe *ctl.ParseError
		if _, err := Resign([]byte("hello"), stranger, ResignOptions{}); !errors.As(err, &pe) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestAskToken(t *testing.T) {
	present := []Info{{Label: "a", Serial: "1"}, {Label: "b", Serial: "2"}}
	for _, tc := range []struct {
		in, got, err string
	}{
		{"2\n", "b", ""},
		{"1", "a", ""},
		{"3\n", "", "not one of 1-2"},
		{"b\n", "", "not one of"},
		{"", "", "no token chosen"},
	} {
		var out bytes.Buffer
		got, err := AskToken(strings.NewReader(tc.in), &out)(present)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v", tc.in, err)
			}
			continue
		}
		if err != nil || got.Label != tc.got || !strings.Contains(out.String(), `2) "b" (serial 2)`) {
			t.Errorf("%q: %v %v\n%s", tc.in, got, err, out.String())
		}
	}
}

// endless is a stdin that never sends a newline; it counts what was read from it.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n > 1<<20 {
		return 0, io.ErrUnexpectedEOF // the test's own bound: without one, the read never ends
	}
	for i := range p {
		p[i] = '1'
	}
	e.n += len(p)
	return len(p), nil
}

// TestAskTokenBounded: a token number is read as at most one bounded line; a stdin that never
// ends a line is an error naming the limit, not a read until memory runs out.
func TestAskTokenBounded(t *testing.T) {
	present := []Info{{Label: "a", Serial: "1"}, {Label: "b", Serial: "2"}}
	in := &endless{}
	_, err := AskToken(in, io.Discard)(present)
	if err == nil || !strings.Contains(err.Error(), "longer than 1024 bytes") {
		t.Errorf("err %.200v, want one naming the 1024-byte limit", err)
	}
	if in.n > 8<<10 {
		t.Errorf("read %d bytes for one line", in.n)
	}
}

func TestResignSerialClash(t *testing.T) {
	// Two lab certificates with the same serial, as TOOLCHAIN's recipe's "serial = 1" makes.
	// The certificates really carry serial 1 (setting a parsed certificate's SerialNumber
	// would leave its DER saying otherwise, which ctl now refuses: issue 12).
	mk := func(cn string) Signer {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		k := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		s, err := OpenSoftware(k, c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := mk("a"), mk("b")
	ra, _ := ctl.NewRecord(a.Certificate(), ctl.RoleSAST, "", netip.Addr{})
	rb, _ := ctl.NewRecord(b.Certificate(), ctl.RoleSAST, "", netip.Addr{})
	f := ctl.New("CTLFile.tlv", []ctl.Record{ra, rb})
	if err := f.Sign(a, a.Certificate(), ctl.SHA256, time.Now()); err != nil {
		t.Fatal(err)
	}
	data, _ := f.Marshal()
	// Told apart by subject and issuer (ctl.SignerRecord): signed, with a warning about phones
	// that might match by serial alone.
	res, err := Resign(data, b, ResignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if i := res.File.SignerRecord(); i != 1 || len(notPhones(res.Warnings)) != 2 || res.Warnings[0] != SHA256Warning || !strings.Contains(res.Warnings[1], "share serial") {
		t.Fatalf("signer record %d, warnings %q", i, res.Warnings)
	}
}

// Issue 12: resign's input is bounded; a device or an oversized file is refused by name
// before anything is read into memory.
func TestReadCTLRefusesDevicesAndHugeFiles(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.tlv")
	if err := os.WriteFile(big, make([]byte, ctl.MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "CTLFile.tlv")
	if err := os.WriteFile(good, signedBy(t, tokSAST1, ctl.SHA1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, f, err := ReadCTL(good); err != nil || len(f.Records) == 0 {
		t.Fatalf("positive control: %v", err)
	}
	for _, path := range []string{"/dev/zero", big} {
		if _, _, err := ReadCTL(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want a refusal naming it", path, err)
		}
	}
}

// notPhones drops the phone-model verdicts (every model refuses SHA-256, P32 [?]) to look at
// the other warnings.
func notPhones(ws []string) []string {
	var out []string
	for _, w := range ws {
		if !strings.HasPrefix(w, "phones: ") {
			out = append(out, w)
		}
	}
	return out
}
