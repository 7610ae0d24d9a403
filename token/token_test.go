package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/token/softhsm"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// The tokens every test of this package shares, created by TestMain in a private SoftHSM2
// world. PINs are distinctive so that a leak cannot hide among hex digits.
var (
	hsm      *softhsm.Env
	modPath  string
	tokSAST1 *softhsm.Token // key, no public-key object (like an eToken)
	tokSAST2 *softhsm.Token // key with its public-key object, plus a certificate without key
	tokNoKey *softhsm.Token // a certificate and no key
	tokPIN   *softhsm.Token // only for wrong-PIN tests, which change its retry flags
	tokRetry *softhsm.Token // only for the PIN retry test on a terminal
)

const helperEnv = "CTLOPS_TOKEN_TEST_HELPER"

func TestMain(m *testing.M) {
	flag.Parse()
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	dir, err := os.MkdirTemp("", "ctlops-token-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if err := setup(filepath.Join(dir, "hsm")); err != nil {
			fmt.Fprintln(os.Stderr, "token tests: creating SoftHSM2 tokens:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func setup(dir string) error {
	var err error
	if hsm, err = softhsm.NewEnv(dir); err != nil {
		return err
	}
	modPath = hsm.Module
	// Only this process (and the helpers it starts) sees the private token directory.
	os.Setenv("SOFTHSM2_CONF", hsm.Conf)
	ctx := context.Background()
	mk := func(spec softhsm.TokenSpec) *softhsm.Token {
		if err != nil {
			return nil
		}
		var t *softhsm.Token
		t, err = hsm.CreateToken(ctx, spec)
		return t
	}
	tokSAST1 = mk(softhsm.TokenSpec{Label: "sast1", PIN: "Qz7-sast1-PIN", Subject: pkix.Name{CommonName: "SAST-ADN0001", OrganizationalUnit: []string{"IPCBU"}, Organization: []string{"Cisco Systems"}}})
	tokSAST2 = mk(softhsm.TokenSpec{Label: "sast2", PIN: "Wk4-sast2-PIN", KeepPublicKey: true, ExtraCertWithoutKey: true})
	tokNoKey = mk(softhsm.TokenSpec{Label: "nokey", PIN: "Hn2-nokey-PIN", NoKey: true})
	tokPIN = mk(softhsm.TokenSpec{Label: "pintest", PIN: "Rb8-pintest-PIN"})
	tokRetry = mk(softhsm.TokenSpec{Label: "retry", PIN: "Jd5-retry-PIN"})
	return err
}

// helperMain runs in a fresh process: login state is per process, so a wrong PIN must be tried
// where no earlier login to the token exists.
func helperMain(mode string) int {
	label := os.Getenv("HELPER_LABEL")
	o := Options{
		Module:    os.Getenv("HELPER_MODULE"),
		Selection: Selection{Label: label},
		PIN:       PINFromEnv(PINEnv),
		Warn:      os.Stderr,
	}
	if mode == "tty" { // as the CLI does on a terminal: ask which token, then the PIN
		var err error
		if o.PIN, err = DefaultPIN("", os.Stdin, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return 1
		}
		if _, tty := TerminalFD(os.Stdin); tty {
			o.Ask = AskToken(os.Stdin, os.Stderr)
		}
	}
	ctx := context.Background()
	if mode == "retry" { // a PIN typed on the terminal, asked again when wrong; Ctrl-C stops
		var stop func()
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		fd, _ := TerminalFD(os.Stdin)
		o.PIN, o.Retry = PINFromTerminalContext(ctx, fd, os.Stderr), true
	}
	s, err := Open(ctx, o)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "stopped at the prompt")
		return 4
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var le *LoginError
		if errors.As(err, &le) && errors.Is(err, ErrWrongPIN) {
			return 3
		}
		return 1
	}
	defer s.Close()
	fmt.Println("opened:", s.Describe())
	return 0
}

func runHelper(t *testing.T, label, pin string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(hsm.Environ(nil), helperEnv+"=open", "HELPER_LABEL="+label, "HELPER_MODULE="+modPath, PINEnv+"="+pin)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

func byLabel(t *testing.T, infos []Info, label string) Info {
	t.Helper()
	for _, i := range infos {
		if i.Label == label {
			return i
		}
	}
	t.Fatalf("token %q not listed: %+v", label, infos)
	return Info{}
}

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

// TestWrongPIN runs each attempt in a fresh process: login is per process and token.
func TestWrongPIN(t *testing.T) {
	code, out := runHelper(t, "pintest", "Xx0-wrong-PIN")
	if code != 3 || !strings.Contains(out, `token "pintest" (serial `+tokPIN.Serial+`): wrong PIN`) {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// SoftHSM2 raises "count low" after a wrong PIN, as eTokens do; say so after the attempt.
	if !strings.Contains(out, "few PIN attempts remain") {
		t.Errorf("no count-low notice after the wrong PIN:\n%s", out)
	}
	// ... and before the next attempt, which succeeds and clears it.
	code, out2 := runHelper(t, "pintest", tokPIN.PIN)
	if code != 0 || !strings.Contains(out2, "warning: token \"pintest\"") || !strings.Contains(out2, "opened: PKCS#11 token") {
		t.Fatalf("exit %d:\n%s", code, out2)
	}
	infos, err := List(modPath)
	if err != nil {
		t.Fatal(err)
	}
	if f := byLabel(t, infos, "pintest").Flags; f.PINCountLow {
		t.Errorf("count low not cleared after a good PIN: %+v", f)
	}
	for _, o := range []string{out, out2} {
		if strings.Contains(o, "Xx0-wrong-PIN") || strings.Contains(o, tokPIN.PIN) {
			t.Errorf("a PIN appears in the output:\n%s", o)
		}
	}
}

func TestFlagsWarnings(t *testing.T) {
	for _, tc := range []struct {
		f    Flags
		want string
	}{
		{Flags{Initialized: true}, ""},
		{Flags{Initialized: true, PINCountLow: true}, "few PIN attempts remain"},
		{Flags{Initialized: true, PINCountLow: true, PINFinalTry: true}, "FINAL TRY"},
		{Flags{Initialized: true, PINFinalTry: true, PINLocked: true}, "LOCKED"},
	} {
		got := tc.f.PINWarning()
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.f, got, tc.want)
		}
	}
	e := &LoginError{Token: Info{Label: "x", Serial: "9"}, After: Flags{PINFinalTry: true}, Err: ErrWrongPIN}
	if !strings.Contains(e.Error(), "wrong PIN; FINAL TRY") {
		t.Errorf("%v", e)
	}
}

func TestPINFromFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want, err string
	}{
		{"plain", "s3cret", "s3cret", ""},
		{"newline", "s3cret\n", "s3cret", ""},
		{"crlf", "s3cret\r\nmore\n", "s3cret", ""},
		{"empty", "", "", "first line is empty"},
		{"blank line", "\nx", "", "first line is empty"},
		{"too long", strings.Repeat("x", 2000), "", "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := PINFromFile(p)(Info{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || (tc.content != "" && strings.Contains(err.Error(), tc.content)) {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("%q %v", got, err)
			}
		})
	}
	if _, err := PINFromFile(filepath.Join(dir, "missing"))(Info{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestDefaultPIN(t *testing.T) {
	t.Setenv(PINEnv, "")
	if _, err := DefaultPIN("", strings.NewReader(""), &bytes.Buffer{}); !errors.Is(err, ErrNoPIN) {
		t.Fatalf("no source: %v", err)
	}
	t.Setenv(PINEnv, "from-env")
	src, err := DefaultPIN("", strings.NewReader(""), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := src(Info{}); string(p) != "from-env" {
		t.Fatalf("env PIN %q", p)
	}
	f := filepath.Join(t.TempDir(), "pin")
	os.WriteFile(f, []byte("from-file\n"), 0o600)
	src, _ = DefaultPIN(f, strings.NewReader(""), &bytes.Buffer{})
	if p, _ := src(Info{}); string(p) != "from-file" {
		t.Fatalf("file PIN %q (the file wins over the environment)", p)
	}
}

func TestResolveModule(t *testing.T) {
	t.Setenv(ModuleEnv, "/env.so")
	for _, tc := range []struct{ flag, spec, want string }{
		{"/flag.so", "/spec.so", "/flag.so"},
		{"", "/spec.so", "/env.so"},
	} {
		if got, _ := ResolveModule(tc.flag, tc.spec); got != tc.want {
			t.Errorf("%+v: %s", tc, got)
		}
	}
	t.Setenv(ModuleEnv, "")
	if got, _ := ResolveModule("", "/spec.so"); got != "/spec.so" {
		t.Errorf("spec: %s", got)
	}
	if _, err := ResolveModule("", ""); err == nil || !strings.Contains(err.Error(), "--pkcs11-module") {
		t.Errorf("none: %v", err)
	}
}

func TestSoftware(t *testing.T) {
	keyPEM, certPEM, err := softhsm.SoftwareKey(pkix.Name{CommonName: "lab-sast"}, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _, err := softhsm.SoftwareKey(pkix.Name{CommonName: "other"}, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSoftware(keyPEM, certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Describe(), "SOFTWARE KEY") {
		t.Errorf("describe: %s", s.Describe())
	}
	r, err := ctl.NewRecord(s.Certificate(), ctl.RoleSAST, "", netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	f := ctl.New("CTLFile.tlv", []ctl.Record{r})
	if err := f.Sign(s, s.Certificate(), ctl.SHA256, time.Now()); err != nil {
		t.Fatal(err)
	}
	opensslVerify(t, f, s.Certificate(), ctl.SHA256)
	for _, tc := range []struct {
		name      string
		key, cert []byte
		want      string
	}{
		{"key of another cert", otherKey, certPEM, "does not belong"},
		{"no key", []byte("junk"), certPEM, "private key: no PEM"},
		{"no cert", keyPEM, keyPEM, "certificate: no PEM CERTIFICATE"},
		{"encrypted", []byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"), certPEM, "encrypted"},
	} {
		if _, err := OpenSoftware(tc.key, tc.cert); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// FuzzOpenSoftware: arbitrary PEM input gives an error, never a panic.
func FuzzOpenSoftware(f *testing.F) {
	keyPEM, certPEM, err := softhsm.SoftwareKey(pkix.Name{CommonName: "fuzz"}, 1024)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(keyPEM, certPEM)
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"), certPEM)
	f.Add([]byte{}, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, k, c []byte) {
		s, err := OpenSoftware(k, c)
		if err == nil && s.Certificate() == nil {
			t.Fatal("signer without certificate")
		}
	})
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
