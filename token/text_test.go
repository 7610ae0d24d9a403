package token

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
)

// What a token reports about itself (serial, manufacturer, model, its certificates' names),
// and the signer a CTL file names, are outside words: `ctlops tokens`, the signer apply names
// and resign's summary show them filtered. The control is the same text with plain words.
func TestTokenWordsFiltered(t *testing.T) {
	for _, tc := range []struct {
		name, evil, shown string
	}{
		{"plain (control)", "SafeNet", "SafeNet"},
		{"escapes and a bidi override", "Safe\x1b[2JNet\u202e", `Safe\x1b[2JNet\u202e`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			info := Info{Slot: 1, Label: "alice", Serial: tc.evil, Manufacturer: tc.evil, Model: tc.evil, Flags: Flags{Initialized: true},
				Certificates: []CertInfo{{Label: "c", ID: "01", Subject: "CN=" + tc.evil, Issuer: "CN=" + tc.evil, Serial: "1f",
					NotBefore: nb, NotAfter: nb.AddDate(1, 0, 0), PrivateKey: KeyPresent}}}
			var b bytes.Buffer
			if err := WriteText(&b, "/usr/lib/p11.so", []Info{info, {Slot: 2, Manufacturer: tc.evil, Model: tc.evil}}, nb); err != nil {
				t.Fatal(err)
			}
			cert := &x509.Certificate{Subject: pkix.Name{CommonName: tc.evil}, SerialNumber: big.NewInt(5)}
			f := &ctl.File{Header: ctl.Header{SignerName: "CN=" + tc.evil}}
			for what, got := range map[string]string{
				"tokens":   b.String(),
				"Name":     info.Name(),
				"Describe": (&p11Signer{tok: info, cert: cert}).Describe(),
				"software": (&softSigner{cert: cert}).Describe(),
				"resign":   (&ResignResult{File: f}).Describe("out.tlv"),
			} {
				if strings.ContainsAny(got, "\x1b\u202e") || !strings.Contains(got, tc.shown) {
					t.Errorf("%s: %q does not show %q filtered", what, got, tc.shown)
				}
			}
		})
	}
}
