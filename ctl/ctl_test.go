package ctl

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Both public samples must come back byte for byte and verify (CTL-FORMAT.md §7).
func TestSamplesRoundTrip(t *testing.T) {
	for _, name := range samples {
		t.Run(name, func(t *testing.T) {
			data := readSample(t, name)
			f, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			out, err := f.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, data) {
				t.Fatalf("re-encoding differs: %d bytes vs %d, first difference at %d", len(out), len(data), firstDiff(out, data))
			}
			if err := f.Verify(); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// The facts CTL-FORMAT.md checked by hand in S1 (§2.2), checked again by the parser.
func TestSCFFileFacts(t *testing.T) {
	f, err := Parse(readSample(t, "SCFFile.tlv"))
	if err != nil {
		t.Fatal(err)
	}
	h := f.Header
	if h.HeaderLength != 312 || h.FileName != "CTLFile.tlv" || h.HashAlgorithm != SHA1 || h.ModulusIndex != 1 || len(h.Signature) != 128 {
		t.Errorf("header = length %d, file %q, hash %v, modulus %d, sig %d bytes", h.HeaderLength, h.FileName, h.HashAlgorithm, h.ModulusIndex, len(h.Signature))
	}
	if got := h.Timestamp.Format(time.RFC3339); got != "2015-05-07T03:10:47Z" {
		t.Errorf("timestamp %s", got)
	}
	var roles []string
	for _, r := range f.Records {
		roles = append(roles, r.Role.String())
	}
	if got := strings.Join(roles, ","); got != "SAST,CCM+TFTP,CCM+TFTP,CAPF,SAST,CCM+TFTP" {
		t.Errorf("roles %s", got)
	}
	if f.SignerRecord() != 0 {
		t.Errorf("signer record %d, want 0", f.SignerRecord())
	}
	if got := f.Records[0].IPAddress.String(); got != "10.35.48.106" {
		t.Errorf("record 1 IP %s", got)
	}
}

// NameString must reproduce every CUCM name string of the real sample from its certificate,
// including certificates whose RDNs are in C,O,OU,CN,ST,L order (§3.2).
func TestNameStringMatchesCUCM(t *testing.T) {
	f, err := Parse(readSample(t, "SCFFile.tlv"))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range f.Records {
		c, err := r.X509()
		if err != nil {
			t.Fatal(err)
		}
		if got := NameString(c.Subject); got != r.SubjectName {
			t.Errorf("record %d subject: got %q, CUCM wrote %q", i+1, got, r.SubjectName)
		}
		if got := NameString(c.Issuer); got != r.IssuerName {
			t.Errorf("record %d issuer: got %q, CUCM wrote %q", i+1, got, r.IssuerName)
		}
		// A record rebuilt from its certificate must equal CUCM's, byte for byte.
		rebuilt, err := NewRecord(c, r.Role, r.DNSName, r.IPAddress)
		if err != nil {
			t.Fatal(err)
		}
		a, err := encodeRecord(&rebuilt)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := encodeRecord(&r)
		if !bytes.Equal(a, b) {
			t.Errorf("record %d rebuilt from its certificate differs from CUCM's at byte %d", i+1, firstDiff(a, b))
		}
	}
}

func TestGolden(t *testing.T) {
	for _, name := range samples {
		f, err := Parse(readSample(t, name))
		if err != nil {
			t.Fatal(err)
		}
		js, err := json.MarshalIndent(SummarizeAt(name, f, goldenNow, DefaultExpiryWindow), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		golden(t, name+".txt", []byte(f.Text()))
		golden(t, name+".json", append(js, '\n'))
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ctl -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./ctl -update rewrites it):\n%s", name, got)
	}
}

// buildCluster makes an unsigned file like CUCM's: two tokens, a publisher, a subscriber,
// CAPF and a non-secure placeholder.
func buildCluster(t *testing.T, bits int) (*File, identity, identity) {
	t.Helper()
	tok1 := newIdentity(t, "SAST-token1", bits, 0, 0x1001)
	tok2 := newIdentity(t, "SAST-token2", bits, 1, 0x8000000000000002) // high bit set: §3.3
	pub := newIdentity(t, "cm-pub.example.com", 2048, 2, 0x2001)
	capf := newIdentity(t, "CAPF-1234", 2048, 3, 0x3001)
	f := New("CTLFile.tlv", []Record{
		mustRecord(t, tok1, RoleSAST, "", ""),
		mustRecord(t, tok2, RoleSAST, "", ""),
		mustRecord(t, pub, RoleCCMTFTP, "cm-pub.example.com", "127.0.0.11"),
		mustRecord(t, capf, RoleCAPF, "cm-pub.example.com", "127.0.0.11"),
		PlaceholderRecord(RoleTFTP, "10.48.47.153", netip.MustParseAddr("127.0.0.12")),
	})
	return f, tok1, tok2
}

func TestBuildSignParseVerify(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for _, bits := range []int{1024, 2048, 4096} {
		for _, h := range []HashAlgorithm{SHA1, SHA256, SHA512} {
			t.Run(fmt.Sprintf("rsa%d-%s", bits, h), func(t *testing.T) {
				f, tok1, _ := buildCluster(t, bits)
				g, data := signed(t, f, tok1, h, now)
				hl := int(binary.BigEndian.Uint16(data[8:]))
				if hl%4 != 0 || int(g.Header.HeaderLength) != hl {
					t.Errorf("header length %d is not a multiple of 4", hl)
				}
				if g.Header.HashAlgorithm != h || !g.Header.Timestamp.Equal(now) || g.SignerRecord() != 0 {
					t.Errorf("hash %v, time %v, signer record %d", g.Header.HashAlgorithm, g.Header.Timestamp, g.SignerRecord())
				}
				if want, _ := modulusIndex(bits / 8); g.Header.ModulusIndex != want {
					t.Errorf("modulus index %d, want %d", g.Header.ModulusIndex, want)
				}
				again, _ := g.Marshal()
				if !bytes.Equal(again, data) {
					t.Error("a ctlops-made file does not re-encode byte for byte")
				}
				for i, r := range g.Records {
					if err := ascending(r.slots(nil)); err != nil {
						t.Errorf("record %d: %v", i+1, err)
					}
				}
			})
		}
	}
}

func ascending(s []slot) error {
	for i := 1; i < len(s); i++ {
		if s[i].tag <= s[i-1].tag {
			return fmt.Errorf("tag %d after tag %d: CUCM writes tags in ascending order", s[i].tag, s[i-1].tag)
		}
	}
	return nil
}

// R12: a non-secure placeholder is tags 1, 2, 4, 10 only; doc C shows it as 33 bytes.
func TestPlaceholderRecord(t *testing.T) {
	r := PlaceholderRecord(RoleCCMTFTP, "10.48.47.153", netip.MustParseAddr("10.48.47.153"))
	b, err := encodeRecord(&r)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 33 {
		t.Errorf("placeholder is %d bytes, Cisco's is 33", len(b))
	}
	var tags []uint8
	for off := 0; off < len(b); off += 3 + int(binary.BigEndian.Uint16(b[off+1:])) {
		tags = append(tags, b[off])
	}
	if !bytes.Equal(tags, []byte{1, 2, 4, 10}) {
		t.Errorf("placeholder tags %v, want [1 2 4 10]", tags)
	}
	if !r.IsPlaceholder() {
		t.Error("IsPlaceholder false")
	}
}

func TestUnknownTagsPreserved(t *testing.T) {
	f, tok1, _ := buildCluster(t, 2048)
	f.Header.Unknown = []Field{{Tag: 99, Value: []byte("future header field")}}
	f.Records[2].Unknown = []Field{{Tag: 42, Value: []byte{1, 2, 3}}, {Tag: 11, Value: bytes.Repeat([]byte{0xaa}, 20)}}
	g, data := signed(t, f, tok1, SHA1, time.Now())
	if len(g.Header.Unknown) != 1 || g.Header.Unknown[0].Tag != 99 || string(g.Header.Unknown[0].Value) != "future header field" {
		t.Errorf("header unknown = %+v", g.Header.Unknown)
	}
	if u := g.Records[2].Unknown; len(u) != 2 || u[0].Tag != 42 || u[1].Tag != 11 {
		t.Errorf("record unknown = %+v", u)
	}
	again, _ := g.Marshal()
	if !bytes.Equal(again, data) {
		t.Error("unknown tags did not survive a round trip")
	}
}

// Re-signing a parsed file with a signer whose name and serial differ in length must keep the
// header a multiple of 4 and the containers' lengths right.
func TestResignParsedFile(t *testing.T) {
	f, tok1, tok2 := buildCluster(t, 2048)
	g, _ := signed(t, f, tok1, SHA1, time.Now())
	h, _ := signed(t, g, tok2, SHA512, time.Now())
	if h.SignerRecord() != 1 || h.Header.HeaderLength%4 != 0 {
		t.Errorf("signer record %d, header length %d", h.SignerRecord(), h.Header.HeaderLength)
	}
	if err := Accepts(f, h); err != nil {
		t.Errorf("token2 is a SAST of the installed file: %v", err)
	}
}

func TestSignRefusals(t *testing.T) {
	f, tok1, tok2 := buildCluster(t, 2048)
	stranger := newIdentity(t, "SAST-stranger", 2048, 4, 0x4444)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		sign func() error
		want string
	}{
		{"signer not in file", func() error { return f.Sign(stranger.key, stranger.cert, SHA1, time.Now()) }, "no SAST record"},
		{"key of another cert", func() error { return f.Sign(tok1.key, tok2.cert, SHA1, time.Now()) }, "does not belong"},
		{"EC key", func() error { return f.Sign(ec, tok1.cert, SHA1, time.Now()) }, "RSA"},
		{"unknown hash", func() error { return f.Sign(tok1.key, tok1.cert, 9, time.Now()) }, "unsupported hash"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.sign()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// An independent verifier: openssl checks the signature over SignedBytes with the signer's key.
func TestOpenSSLVerifiesSignature(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is needed (scripts/install-deps.sh installs it)")
	}
	for _, h := range []HashAlgorithm{SHA1, SHA256, SHA512} {
		t.Run(h.String(), func(t *testing.T) {
			f, tok1, _ := buildCluster(t, 2048)
			g, _ := signed(t, f, tok1, h, time.Now())
			signedBytes, err := g.SignedBytes()
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			pub, _ := x509.MarshalPKIXPublicKey(&tok1.key.PublicKey)
			write := func(n string, b []byte) string {
				p := filepath.Join(dir, n)
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			cmd := exec.Command("openssl", "dgst", "-"+h.String(),
				"-verify", write("pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
				"-signature", write("sig.bin", g.Header.Signature), write("signed.bin", signedBytes))
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Verified OK") {
				t.Fatalf("openssl: %v: %s", err, out)
			}
			// And openssl must reject a file changed after signing.
			signedBytes[len(signedBytes)-1] ^= 1
			write("signed.bin", signedBytes)
			if out, err := exec.Command(cmd.Args[0], cmd.Args[1:]...).CombinedOutput(); err == nil {
				t.Fatalf("openssl accepted a changed file: %s", out)
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	tokA := newIdentity(t, "SAST-A", 2048, 0, 0xA1)
	tokB := newIdentity(t, "SAST-B", 2048, 1, 0xB1)
	tokC := newIdentity(t, "SAST-C", 2048, 2, 0xC1)
	make := func(signer identity, toks ...identity) *File {
		var recs []Record
		for _, tk := range toks {
			recs = append(recs, mustRecord(t, tk, RoleSAST, "", ""))
		}
		g, _ := signed(t, New("CTLFile.tlv", recs), signer, SHA1, time.Now())
		return g
	}
	installed := make(tokA, tokA, tokB)
	tampered := make(tokB, tokB, tokC)
	tampered.Records[1].DNSName = "evil"
	cases := []struct {
		name      string
		installed *File
		next      *File
		want      string // "" = accepted
	}{
		{"first install", nil, make(tokC, tokC, tokA), ""},
		{"same signer", installed, make(tokA, tokA, tokC), ""},
		{"other trusted token", installed, make(tokB, tokB, tokC), ""},
		{"untrusted signer", installed, make(tokC, tokC, tokA), "not a SAST record of the installed file (R19)"},
		{"tampered", installed, tampered, "does not verify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Accepts(c.installed, c.next)
			if c.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var te *TrustError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a TrustError containing %q", err, c.want)
			}
		})
	}
}

// Two tokens whose certificates share serial 1 (as TOOLCHAIN.md's recipe makes them): the
// header's signer name and issuer pick the right record.
func TestSignerRecordSharedSerial(t *testing.T) {
	a := newIdentity(t, "SAST-a", 2048, 0, 1)
	b := newIdentity(t, "SAST-b", 2048, 1, 1)
	f := New("CTLFile.tlv", []Record{mustRecord(t, a, RoleSAST, "", ""), mustRecord(t, b, RoleSAST, "", "")})
	if err := f.Sign(b.key, b.cert, SHA1, time.Now()); err != nil {
		t.Fatal(err)
	}
	if f.SignerRecord() != 1 {
		t.Fatalf("signer record %d, want 1", f.SignerRecord())
	}
}
