package spec

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert makes a self-signed RSA certificate valid from..to in dir/name.
func writeCert(t testing.TB, dir, name string, from, to time.Time) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: from, NotAfter: to}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCertificateDates checks expiry against the clock, with certificates made for the test.
func TestCertificateDates(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		from, to time.Time
		wantErr  string
		wantWarn string
	}{
		{"good", now.Add(-time.Hour), now.AddDate(1, 0, 0), "", ""},
		{"expires in 10 days", now.Add(-time.Hour), now.Add(10*24*time.Hour + time.Hour), "", "in 10 days"},
		{"expires in 40 days", now.Add(-time.Hour), now.Add(40 * 24 * time.Hour), "", ""},
		// Expiry is a warning so that read-only commands work on old clusters; apply refuses.
		{"expired yesterday", now.AddDate(-1, 0, 0), now.Add(-24 * time.Hour), "", "expired on"},
		{"not yet valid", now.Add(48 * time.Hour), now.AddDate(1, 0, 0), "", "not valid before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCert(t, dir, "a.pem", tt.from, tt.to)
			writeCert(t, dir, "b.pem", now.Add(-time.Hour), now.AddDate(5, 0, 0))
			f := filepath.Join(dir, "ctlops.yaml")
			if err := os.WriteFile(f, []byte(twoTokens), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, warns, err := Load(f)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want …%s…", err, tt.wantErr)
			}
			var ws []string
			for _, w := range warns {
				ws = append(ws, w.String())
			}
			got := strings.Join(ws, "\n")
			if (tt.wantWarn == "") != (got == "") || !strings.Contains(got, tt.wantWarn) {
				t.Fatalf("warnings = %q, want …%s…", got, tt.wantWarn)
			}
			if err == nil && cfg.Clusters[0].Tokens[0].Cert.NotAfter.Unix() != tt.to.Unix() {
				t.Fatalf("token 0 is not the certificate written")
			}
		})
	}
}

func TestParseCertsPrivateKey(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if _, err := parseCerts(b); err == nil || !strings.Contains(err.Error(), "holds a private key") {
		t.Fatalf("err = %v, want a private key refused", err)
	}
	b = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}})
	if _, err := parseCerts(b); err == nil || !strings.Contains(err.Error(), "found PUBLIC KEY") {
		t.Fatalf("err = %v, want no CERTIFICATE block", err)
	}
}
