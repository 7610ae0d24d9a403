package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/token"
	"github.com/ctlops/ctlops/token/softhsm"
)

const tokenCLIHelper = "CTLOPS_TOKEN_CLI_HELPER"

// TestTokenCLIHelperProcess is not a test: it is ctlops itself, started by runTokenCLI in a
// fresh process, because PKCS#11 login state is per process and SOFTHSM2_CONF is read from
// the environment.
func TestTokenCLIHelperProcess(t *testing.T) {
	if os.Getenv(tokenCLIHelper) != "1" {
		t.Skip("helper process for the token CLI tests")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(args, os.Stdin, os.Stdout, os.Stderr))
}

// tokenWorld is two SoftHSM2 tokens made for one test, as in TOOLCHAIN.md's recipe.
type tokenWorld struct {
	env    *softhsm.Env
	a, b   *softhsm.Token
	pinDir string
	leaks  []string // secrets that must appear in no output
}

func newTokenWorld(t *testing.T) *tokenWorld {
	t.Helper()
	env, err := softhsm.NewEnv(filepath.Join(t.TempDir(), "hsm"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w := &tokenWorld{env: env, pinDir: t.TempDir()}
	if w.a, err = env.CreateToken(ctx, softhsm.TokenSpec{Label: "etoken-alice", PIN: "Jq5-alice-PIN", Subject: pkix.Name{CommonName: "SAST-ADN0001", OrganizationalUnit: []string{"IPCBU"}, Organization: []string{"Cisco Systems"}}}); err != nil {
		t.Fatal(err)
	}
	if w.b, err = env.CreateToken(ctx, softhsm.TokenSpec{Label: "etoken-bob", PIN: "Vt9-bob-PIN", Subject: pkix.Name{CommonName: "SAST-ADN0002", Organization: []string{"Cisco Systems"}}}); err != nil {
		t.Fatal(err)
	}
	w.leaks = []string{w.a.PIN, w.b.PIN, "Zz1-wrong-PIN"}
	return w
}

func (w *tokenWorld) pinFile(t *testing.T, pin string) string {
	t.Helper()
	f, err := os.CreateTemp(w.pinDir, "pin")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(pin + "\n")
	f.Close()
	return f.Name()
}

// run starts ctlops in a fresh process with this world's SOFTHSM2_CONF and extra environment,
// and checks that no PIN appears in anything it printed.
func (w *tokenWorld) run(t *testing.T, extraEnv []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestTokenCLIHelperProcess$", "--"}, args...)...)
	env := w.env.Environ(nil)
	clean := env[:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, token.PINEnv+"=") && !strings.HasPrefix(kv, token.ModuleEnv+"=") {
			clean = append(clean, kv)
		}
	}
	cmd.Env = append(append(clean, tokenCLIHelper+"=1"), extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader("") // not a terminal: nothing may be asked
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	for _, s := range w.leaks {
		if strings.Contains(out.String(), s) || strings.Contains(errb.String(), s) {
			t.Errorf("a PIN appears in the output of %v", args)
		}
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

func TestTokensCLI(t *testing.T) {
	w := newTokenWorld(t)
	mod := w.env.Module

	code, out, errs := w.run(t, nil, "tokens", "--pkcs11-module", mod)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, tk := range []*softhsm.Token{w.a, w.b} {
		for _, want := range []string{`token "` + tk.Label + `"`, "serial:        " + tk.Serial, ctl.Fingerprint(tk.Cert.Raw), ctl.NameString(tk.Cert.Subject)} {
			if !strings.Contains(out, want) {
				t.Errorf("listing lacks %q:\n%s", want, out)
			}
		}
	}
	if !strings.Contains(out, "2 security tokens present") || !strings.Contains(out, "private key: unknown") {
		t.Errorf("listing:\n%s", out)
	}

	// JSON, module from the environment.
	code, out, errs = w.run(t, []string{token.ModuleEnv + "=" + mod}, "tokens", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var l token.Listing
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, i := range l.Tokens {
		if i.Flags.Initialized && len(i.Certificates) == 1 {
			got[i.Serial] = i.Certificates[0].SHA256
		}
	}
	if l.Version != 1 || l.Module != mod || got[w.a.Serial] != ctl.Fingerprint(w.a.Cert.Raw) || got[w.b.Serial] != ctl.Fingerprint(w.b.Cert.Raw) {
		t.Fatalf("json listing: %s", out)
	}

	// Logged in to one token, its key is known.
	code, out, errs = w.run(t, nil, "tokens", "--pkcs11-module", mod, "--token-label", "etoken-bob", "--pin-file", w.pinFile(t, w.b.PIN))
	if code != 0 || strings.Count(out, "private key: yes") != 1 || strings.Count(out, "private key: unknown") != 1 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no module", nil, []string{"tokens"}, "--pkcs11-module"},
		{"missing module", nil, []string{"tokens", "--pkcs11-module", "/nonexistent/libeTPkcs11.so"}, "/nonexistent/libeTPkcs11.so: no such file"},
		{"bad format", nil, []string{"tokens", "--pkcs11-module", mod, "--format", "xml"}, "want text or json"},
		{"wrong PIN", nil, []string{"tokens", "--pkcs11-module", mod, "--token-label", "etoken-alice", "--pin-file", w.pinFile(t, "Zz1-wrong-PIN")}, "wrong PIN"},
		{"login without PIN", nil, []string{"tokens", "--pkcs11-module", mod, "--token-label", "etoken-alice"}, "no token PIN"},
		{"missing SOFTHSM2_CONF", []string{"SOFTHSM2_CONF=/nonexistent/softhsm2.conf"}, []string{"tokens", "--pkcs11-module", mod}, "SOFTHSM2_CONF=/nonexistent/softhsm2.conf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := w.run(t, tc.env, tc.args...)
			if code != 1 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, errs, tc.want)
			}
		})
	}
}

// sastCTL writes a CTL listing both tokens as SAST plus a CallManager, signed by a.
func (w *tokenWorld) sastCTL(t *testing.T) string {
	t.Helper()
	var recs []ctl.Record
	for _, c := range []*x509.Certificate{w.a.Cert, w.b.Cert} {
		r, err := ctl.NewRecord(c, ctl.RoleSAST, "", netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	recs = append(recs, ctl.PlaceholderRecord(ctl.RoleCCMTFTP, "cm1.example.com", netip.MustParseAddr("192.0.2.10")))
	f := ctl.New("CTLFile.tlv", recs)
	t.Setenv("SOFTHSM2_CONF", w.env.Conf)
	s, err := token.Open(context.Background(), token.Options{Module: w.env.Module, Selection: token.Selection{Label: w.a.Label},
		PIN: func(token.Info) ([]byte, error) { return []byte(w.a.PIN), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := f.Sign(s, s.Certificate(), ctl.SHA1, time.Now()); err != nil {
		t.Fatal(err)
	}
	data, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "CTLFile.tlv")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResignCLI(t *testing.T) {
	w := newTokenWorld(t)
	orig := w.sastCTL(t)
	origBytes, _ := os.ReadFile(orig)
	mod := w.env.Module
	dir := t.TempDir()
	bobPIN := w.pinFile(t, w.b.PIN)
	strangerKey, strangerCert := filepath.Join(dir, "stranger.key"), filepath.Join(dir, "stranger.pem")
	k, c, err := softhsm.SoftwareKey(pkix.Name{CommonName: "stranger"}, 2048)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(strangerKey, k, 0o600)
	os.WriteFile(strangerCert, c, 0o644)

	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		code    int
		stderr  []string
		signer  *x509.Certificate // expected signer of the output; nil: no output file
		hash    ctl.HashAlgorithm
		accepts bool // ctlops inspect --installed orig accepts the output
	}{
		{"by label, pin file", nil, []string{"--token-label", "etoken-bob", "--pin-file", bobPIN},
			0, []string{"signing with PKCS#11 token \"etoken-bob\""}, w.b.Cert, ctl.SHA1, true},
		{"by serial, env PIN, sha512", []string{token.PINEnv + "=" + w.b.PIN}, []string{"--token-serial", w.b.Serial, "--hash", "sha512"},
			0, nil, w.b.Cert, ctl.SHA512, true},
		{"same token again, sha256", []string{token.PINEnv + "=" + w.a.PIN}, []string{"--token-label", "etoken-alice", "--hash", "sha256"},
			0, nil, w.a.Cert, ctl.SHA256, true},
		{"two tokens, none named, no terminal", []string{token.PINEnv + "=" + w.b.PIN}, nil,
			1, []string{"none was named", "R20", `"etoken-alice" (serial ` + w.a.Serial, `"etoken-bob" (serial ` + w.b.Serial}, nil, 0, false},
		{"wrong PIN", []string{token.PINEnv + "=Zz1-wrong-PIN"}, []string{"--token-label", "etoken-bob"},
			1, []string{`token "etoken-bob" (serial ` + w.b.Serial + `): wrong PIN`}, nil, 0, false},
		{"missing token", []string{token.PINEnv + "=" + w.b.PIN}, []string{"--token-label", "etoken-carol"},
			1, []string{`no security token with label "etoken-carol"`}, nil, 0, false},
		{"no PIN source", nil, []string{"--token-label", "etoken-bob"},
			1, []string{"no token PIN"}, nil, 0, false},
		{"software key not in the file", nil, []string{"--key", strangerKey, "--cert", strangerCert},
			1, []string{"SOFTWARE KEY", "not a SAST record of the file (R19)"}, nil, 0, false},
		{"software key forced", nil, []string{"--key", strangerKey, "--cert", strangerCert, "--force"},
			0, []string{"WILL REJECT"}, nil, ctl.SHA1, false},
		{"token and key", nil, []string{"--token-label", "x", "--key", strangerKey, "--cert", strangerCert},
			1, []string{"not both"}, nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "CTLFile.tlv")
			args := append([]string{"resign", orig, "--out", out, "--pkcs11-module", mod}, tc.args...)
			code, stdout, stderr := w.run(t, tc.env, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			data, err := os.ReadFile(out)
			if tc.code != 0 {
				if err == nil {
					t.Fatal("a failed resign wrote its output")
				}
				if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
					t.Fatalf("left behind: %v", entries)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f, err := ctl.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if tc.signer != nil {
				i := f.SignerRecord()
				if i < 0 || !bytes.Equal(f.Records[i].Certificate, tc.signer.Raw) {
					t.Fatalf("signer record %d is not %s", i, tc.signer.Subject)
				}
			}
			if f.Header.HashAlgorithm != tc.hash {
				t.Errorf("hash %s, want %s", f.Header.HashAlgorithm, tc.hash)
			}
			// The result verifies with ctlops inspect; R19 against the original as asked.
			icode, iout, ierr := runCLI(t, nil, "inspect", out, "--installed", orig)
			if (icode == 0) != tc.accepts || !strings.Contains(iout, "valid") {
				t.Fatalf("inspect --installed: exit %d\n%s\n%s", icode, iout, ierr)
			}
			if icode, _, ierr := runCLI(t, nil, "inspect", out); icode != 0 {
				t.Fatalf("inspect: exit %d: %s", icode, ierr)
			}
		})
	}
	if now, _ := os.ReadFile(orig); !bytes.Equal(now, origBytes) {
		t.Fatal("the input file changed")
	}
}
