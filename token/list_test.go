package token

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/token/softhsm"
)

func TestList(t *testing.T) {
	infos, err := List(modPath)
	if err != nil {
		t.Fatal(err)
	}
	initialised := 0
	for _, i := range infos {
		if i.Flags.Initialized {
			initialised++
		}
	}
	// The fixture's five tokens; SoftHSM2 always offers one free slot besides.
	if initialised != 5 || len(infos) != 6 {
		t.Fatalf("%d tokens, %d initialised; want 6 and 5: %+v", len(infos), initialised, infos)
	}
	for _, tc := range []struct {
		tok   *softhsm.Token
		certs []*x509.Certificate
	}{
		{tokSAST1, []*x509.Certificate{tokSAST1.Cert}},
		{tokSAST2, []*x509.Certificate{tokSAST2.Cert, tokSAST2.ExtraCert}},
		{tokNoKey, []*x509.Certificate{tokNoKey.Cert}},
	} {
		i := byLabel(t, infos, tc.tok.Label)
		if i.Serial != tc.tok.Serial || i.Manufacturer != "SoftHSM project" || !i.Flags.LoginRequired || i.LoggedIn {
			t.Errorf("%s: %+v", tc.tok.Label, i)
		}
		if len(i.Certificates) != len(tc.certs) {
			t.Fatalf("%s: %d certificates, want %d", tc.tok.Label, len(i.Certificates), len(tc.certs))
		}
		for _, want := range tc.certs {
			found := false
			for _, c := range i.Certificates {
				if c.SHA256 == ctl.Fingerprint(want.Raw) {
					found = true
					if c.Subject != ctl.NameString(want.Subject) || c.Serial != ctl.SerialHex(want.SerialNumber.Bytes()) ||
						!c.NotAfter.Equal(want.NotAfter) || c.PrivateKey != KeyUnknown {
						t.Errorf("%s: certificate %+v", tc.tok.Label, c)
					}
				}
			}
			if !found {
				t.Errorf("%s: certificate %s not listed", tc.tok.Label, want.Subject)
			}
		}
	}
}

func TestListWithLogin(t *testing.T) {
	for _, tc := range []struct {
		tok  *softhsm.Token
		want map[string]KeyPresence // by certificate CN
	}{
		{tokSAST1, map[string]KeyPresence{"SAST-ADN0001": KeyPresent}},
		{tokSAST2, map[string]KeyPresence{"SAST-sast2": KeyPresent, "SAST-sast2-orphan": KeyAbsent}},
		{tokNoKey, map[string]KeyPresence{"SAST-nokey": KeyAbsent}},
	} {
		t.Run(tc.tok.Label, func(t *testing.T) {
			infos, err := ListWith(modPath, ListOptions{Login: Selection{Serial: tc.tok.Serial}, PIN: fixedPIN(tc.tok.PIN)})
			if err != nil {
				t.Fatal(err)
			}
			i := byLabel(t, infos, tc.tok.Label)
			if !i.LoggedIn {
				t.Fatal("not logged in")
			}
			got := map[string]KeyPresence{}
			for _, c := range i.Certificates {
				got[c.Certificate.Subject.CommonName] = c.PrivateKey
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("key presence %v, want %v", got, tc.want)
			}
		})
	}
}

func fixedPIN(pin string) PINSource {
	return func(Info) ([]byte, error) { return []byte(pin), nil }
}

func TestChoose(t *testing.T) {
	a := Info{Label: "a", Serial: "1", Flags: Flags{Initialized: true}}
	b := Info{Label: "b", Serial: "2", Flags: Flags{Initialized: true}}
	b2 := Info{Label: "b", Serial: "3", Flags: Flags{Initialized: true}}
	free := Info{Slot: 9}
	for _, tc := range []struct {
		name    string
		present []Info
		want    Selection
		got     string // serial chosen
		err     error
	}{
		{"one inserted", []Info{a, free}, Selection{}, "1", nil},
		{"two inserted none named", []Info{a, b, free}, Selection{}, "", ErrSeveralTokens},
		{"none", []Info{free}, Selection{}, "", ErrNoToken},
		{"by label", []Info{a, b}, Selection{Label: "b"}, "2", nil},
		{"by serial", []Info{a, b, b2}, Selection{Serial: "3"}, "3", nil},
		{"label twice", []Info{a, b, b2}, Selection{Label: "b"}, "", ErrSeveralTokens},
		{"label and serial", []Info{a, b, b2}, Selection{Label: "b", Serial: "2"}, "2", nil},
		{"missing label", []Info{a, b}, Selection{Label: "c"}, "", ErrTokenNotFound},
		{"label and wrong serial", []Info{a, b}, Selection{Label: "b", Serial: "1"}, "", ErrTokenNotFound},
		{"uninitialised ignored", []Info{free}, Selection{Label: ""}, "", ErrNoToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Choose(tc.present, tc.want)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err == nil && got.Serial != tc.got {
				t.Fatalf("chose %s, want %s", got.Serial, tc.got)
			}
			if tc.err == ErrSeveralTokens && (!strings.Contains(err.Error(), `"b" (serial 2)`) || strings.Contains(err.Error(), "slot")) {
				t.Fatalf("the refusal does not list the tokens: %v", err)
			}
		})
	}
}

func TestWriteTextGolden(t *testing.T) {
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	infos := []Info{
		{Slot: 7, Label: "etoken-alice", Serial: "0a1b2c3d", Manufacturer: "SafeNet, Inc.", Model: "eToken",
			Flags: Flags{Initialized: true, LoginRequired: true, PINInitialized: true, PINCountLow: true},
			Certificates: []CertInfo{{Label: "alice", ID: "01", Subject: "CN=SAST-ADN0001;OU=IPCBU;O=Cisco Systems", Issuer: "CN=Cisco Manufacturing CA;O=Cisco Systems",
				Serial: "1f", SHA256: strings.Repeat("ab", 32), NotBefore: nb, NotAfter: nb.AddDate(10, 0, 0), PrivateKey: KeyUnknown}}},
		{Slot: 8, Label: "etoken-bob", Serial: "0a1b2c3e", Manufacturer: "SafeNet, Inc.", Model: "eToken",
			Flags: Flags{Initialized: true, LoginRequired: true, PINInitialized: true}, LoggedIn: true,
			Certificates: []CertInfo{
				{Label: "bob", ID: "01", Subject: "CN=SAST-ADN0002", Issuer: "CN=SAST-ADN0002", Serial: "02", SHA256: strings.Repeat("cd", 32), NotBefore: nb, NotAfter: nb.AddDate(0, 1, 0), PrivateKey: KeyPresent},
				{Label: "old", ID: "02", SHA256: strings.Repeat("ef", 32), ParseError: "x509: malformed certificate", PrivateKey: KeyAbsent}}},
		{Slot: 9, Label: "", Manufacturer: "SoftHSM project", Model: "SoftHSM v2"},
	}
	var b bytes.Buffer
	if err := WriteText(&b, "/usr/lib/libeTPkcs11.so", infos, nb.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "list.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./token -run Golden -update)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("text listing differs from %s (go test -update to accept):\n%s", golden, b.String())
	}
}
