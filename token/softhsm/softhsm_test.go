package softhsm

import (
	"context"
	"crypto/rsa"
	"crypto/x509/pkix"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateTokens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hsm")
	env, err := NewEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := env.CreateToken(ctx, TokenSpec{Label: "sast-a", PIN: "1234", Subject: pkix.Name{CommonName: "Alice", OrganizationalUnit: []string{"IPCBU"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.CreateToken(ctx, TokenSpec{Label: "sast-b", PIN: "4321", NoKey: true, ExtraCertWithoutKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.CreateToken(ctx, TokenSpec{Label: "sast-a", PIN: "1234"}); err == nil {
		t.Fatal("second token with the same label was accepted")
	}
	if a.Serial == "" || b.Serial == "" || a.Serial == b.Serial {
		t.Fatalf("serials %q %q", a.Serial, b.Serial)
	}
	if a.Cert.Subject.CommonName != "Alice" || a.Cert.Subject.OrganizationalUnit[0] != "IPCBU" {
		t.Fatalf("subject %v", a.Cert.Subject)
	}
	if k, ok := a.Cert.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
		t.Fatalf("public key %T", a.Cert.PublicKey)
	}
	if err := a.Cert.CheckSignature(a.Cert.SignatureAlgorithm, a.Cert.RawTBSCertificate, a.Cert.Signature); err != nil {
		t.Fatalf("certificate is not self-signed by the token key: %v", err)
	}
	if b.ExtraCert == nil || b.ExtraCert.Subject.CommonName != "SAST-sast-b-orphan" {
		t.Fatalf("extra cert %v", b.ExtraCert)
	}
	// What the token holds, as an independent tool sees it.
	objs := func(label, pin string) string {
		cmd := exec.Command("pkcs11-tool", "--module", env.Module, "--token-label", label, "--login", "--pin", pin, "-O")
		cmd.Env = env.Environ(nil)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pkcs11-tool: %v: %s", err, out)
		}
		return string(out)
	}
	oa := objs("sast-a", "1234")
	if !strings.Contains(oa, "Private Key Object") || strings.Contains(oa, "Public Key Object") || !strings.Contains(oa, "Certificate Object") {
		t.Fatalf("token a objects:\n%s", oa)
	}
	ob := objs("sast-b", "4321")
	if strings.Contains(ob, "Private Key Object") || strings.Count(ob, "Certificate Object") != 2 {
		t.Fatalf("token b objects:\n%s", ob)
	}
	// A directory we did not make is refused.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewEnv(other); err == nil || !strings.Contains(err.Error(), "not made by ctlops") {
		t.Fatalf("foreign directory: %v", err)
	}
	// Reopening our own keeps the tokens.
	again, err := NewEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	slots, err := again.Slots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range slots {
		if s.Initialized {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d initialised tokens after reopen, want 2: %+v", n, slots)
	}
}

func TestSoftwareKey(t *testing.T) {
	k, c, err := SoftwareKey(pkix.Name{CommonName: "lab"}, 2048)
	if err != nil || !strings.Contains(string(k), "PRIVATE KEY") || !strings.Contains(string(c), "CERTIFICATE") {
		t.Fatalf("%v %s %s", err, k, c)
	}
	if _, _, err := SoftwareKey(pkix.Name{}, 2048); err == nil {
		t.Fatal("no CommonName accepted")
	}
}

// TestRecipeScript keeps scripts/softhsm-tokens.sh (the shell form of this package, for people
// following the README by hand) working.
func TestRecipeScript(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	cmd := exec.Command("bash", "../../scripts/softhsm-tokens.sh", dir, "alice:Alice-1234", "bob:Bob-5678")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "export SOFTHSM2_CONF="+dir+"/softhsm2.conf") {
		t.Fatalf("output:\n%s", out)
	}
	env, err := NewEnv(dir) // accepted: the script marks its directory as ours
	if err != nil {
		t.Fatal(err)
	}
	slots, err := env.Slots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, s := range slots {
		if s.Initialized {
			labels = append(labels, s.Label)
		}
	}
	if strings.Join(labels, ",") != "alice,bob" && strings.Join(labels, ",") != "bob,alice" {
		t.Fatalf("tokens %v", labels)
	}
	serials := map[string]bool{}
	for _, l := range []string{"alice", "bob"} {
		pemBytes, err := os.ReadFile(filepath.Join(dir, l+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := parsePEMCert(pemBytes)
		if err != nil {
			t.Fatal(err)
		}
		serials[c.SerialNumber.String()] = true
		cmd := exec.Command("pkcs11-tool", "--module", env.Module, "--token-label", l, "--login", "--pin", map[string]string{"alice": "Alice-1234", "bob": "Bob-5678"}[l], "-O")
		cmd.Env = env.Environ(nil)
		objs, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(objs), "Private Key Object") || strings.Contains(string(objs), "Public Key Object") || !strings.Contains(string(objs), "Certificate Object") {
			t.Fatalf("%s: %v\n%s", l, err, objs)
		}
	}
	if len(serials) != 2 {
		t.Fatal("the two certificates share a serial")
	}
	// A foreign non-empty directory is refused.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "keep"), nil, 0o600)
	if out, err := exec.Command("bash", "../../scripts/softhsm-tokens.sh", other, "x:1234").CombinedOutput(); err == nil || !strings.Contains(string(out), "refusing") {
		t.Fatalf("%v: %s", err, out)
	}
}
