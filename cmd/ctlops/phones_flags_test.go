package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/lab/phonetest"
)

// TestInspectPhoneModels: inspect --installed says what each phone model would do, and
// --phone-models makes the named models' refusal fail the check.
func TestInspectPhoneModels(t *testing.T) {
	a, b := phonetest.New(t, "alice", 1024), phonetest.New(t, "bob", 1024)
	recs := []phonetest.Rec{{ID: a, Role: ctl.RoleSAST}, {ID: b, Role: ctl.RoleSAST}}
	dir := t.TempDir()
	write := func(name string, h ctl.HashAlgorithm, signer phonetest.Identity) string {
		_, data := phonetest.File(t, "CTLFile.tlv", signer, h, recs...)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old, sha512 := write("old.tlv", ctl.SHA1, a), write("new.tlv", ctl.SHA512, b)
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout []string
	}{
		{"every model shown, R19 decides", nil, 0, []string{"CP-7960G  79xx  reject (P32", "CP-8861   88xx  accept (P14"}},
		{"a 79xx fleet refuses SHA-512", []string{"--phone-models", "7960,8861"}, 1, []string{"reject (P32"}},
		{"an 88xx fleet takes it (positive control)", []string{"--phone-models", "CP-8861"}, 0, []string{"CP-8861   88xx  accept"}},
		{"unknown model", []string{"--phone-models", "9999"}, 1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, nil, append([]string{"inspect", "--installed", old, sha512}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, c.code, out, errs)
			}
			for _, w := range c.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}
	_, out, _ := runCLI(t, nil, "inspect", "--format", "json", "--installed", old, sha512)
	if !strings.Contains(out, `"phones": [`) || !strings.Contains(out, `"outcome": "reject"`) {
		t.Fatalf("JSON lacks the phones' verdicts:\n%s", out)
	}
}
