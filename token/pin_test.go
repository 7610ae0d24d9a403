package token

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
