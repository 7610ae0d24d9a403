package main

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --export-cert writes the token's certificate as PEM, byte for byte the one on the token,
// without a PIN; the spec can name the files it writes.
func TestTokensExportCert(t *testing.T) {
	w := newTokenWorld(t)
	mod := w.env.Module
	dir := t.TempDir()
	alice := filepath.Join(dir, "alice.pem")

	code, out, errs := w.run(t, nil, "tokens", "--pkcs11-module", mod, "--export-cert", "etoken-alice", "--out", alice)
	if code != 0 || out != "" || !strings.Contains(errs, "SAST-ADN0001") {
		t.Fatalf("export to file: exit %d\n%s%s", code, out, errs)
	}
	b, err := os.ReadFile(alice)
	if err != nil {
		t.Fatal(err)
	}
	if blk, _ := pem.Decode(b); blk == nil || string(blk.Bytes) != string(w.a.Cert.Raw) {
		t.Fatalf("%s is not alice's certificate:\n%s", alice, b)
	}

	// To standard output.
	code, out, errs = w.run(t, nil, "tokens", "--pkcs11-module", mod, "--export-cert", "etoken-bob")
	if blk, _ := pem.Decode([]byte(out)); code != 0 || blk == nil || string(blk.Bytes) != string(w.b.Cert.Raw) {
		t.Fatalf("export to stdout: exit %d\n%s%s", code, out, errs)
	}
	bob := filepath.Join(dir, "bob.pem")
	os.WriteFile(bob, []byte(out), 0o644)

	// An existing file is kept; an unknown label names what is present.
	code, _, errs = w.run(t, nil, "tokens", "--pkcs11-module", mod, "--export-cert", "etoken-bob", "--out", alice)
	if after, _ := os.ReadFile(alice); code != 1 || !strings.Contains(errs, "exists") || string(after) != string(b) {
		t.Fatalf("overwrite: exit %d %s", code, errs)
	}
	code, _, errs = w.run(t, nil, "tokens", "--pkcs11-module", mod, "--export-cert", "etoken-carol")
	if code != 1 || !strings.Contains(errs, "etoken-alice") {
		t.Fatalf("unknown label: exit %d %s", code, errs)
	}

	// The exported files are tokens a spec accepts.
	spec := filepath.Join(dir, "ctlops.yaml")
	os.WriteFile(spec, []byte("version: 1\nclusters:\n  - name: c\n    mode: mixed\n    providers: [{url: tftp://127.0.0.1}]\n    tokens:\n      - {name: alice, certificate: alice.pem}\n      - {name: bob, certificate: bob.pem}\n"), 0o644)
	if code, out, errs := runCmd(t, "validate", "-f", spec); code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errs)
	}
}
