package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadServiceability(t *testing.T, block string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"token1.pem", "token4.der", "ca.pem"} {
		b, err := os.ReadFile(filepath.Join("testdata", "certs", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	y := `version: 1
clusters:
  - name: hq
    mode: non-secure
    providers:
      - url: tftp://127.0.0.1:6969
    tokens:
      - {name: t1, certificate: token1.pem}
      - {name: t4, certificate: token4.der}
` + block
	p := filepath.Join(dir, "ctlops.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Load(p)
	return cfg, err
}

func TestServiceability(t *testing.T) {
	cfg, err := loadServiceability(t, `    serviceability:
      credentials: {username: axladmin, password: {env: LAB_AXL_PASSWORD}}
      tls: {ca: ca.pem}
      axlVersion: "12.5"
      nodes:
        - {name: cm1, host: 127.0.0.1, port: 18443, publisher: true}
        - {name: cm2, host: cm2.hq.example.com}
`)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Clusters[0].Serviceability
	if s == nil || s.Credentials.Username != "axladmin" || s.Credentials.Password.Env != "LAB_AXL_PASSWORD" || s.TLS.CertPool() == nil ||
		s.AXLVersion != "12.5" || len(s.Nodes) != 2 || s.Publisher().Name != "cm1" || s.Nodes[0].URL() != "https://127.0.0.1:18443" ||
		s.Nodes[1].URL() != "https://cm2.hq.example.com:8443" {
		t.Fatalf("%+v", s)
	}
	for _, tc := range []struct{ block, want string }{
		{"    serviceability: {}\n", `missing required key "credentials"`},
		{"    serviceability:\n      credentials: {username: a, password: hunter2}\n      tls: {ca: ca.pem}\n      nodes: [{name: cm1, host: h, publisher: true}]\n", "a literal password is refused"},
		{"    serviceability:\n      credentials: {username: a, password: {env: P}}\n      tls: {pin: [" + strings.Repeat("ab", 32) + "]}\n      nodes: [{name: cm1, host: h, publisher: true}]\n", "give ca:"},
		{"    serviceability:\n      credentials: {username: a, password: {env: P}}\n      tls: {ca: ca.pem}\n      nodes: [{name: cm1, host: h}]\n", "want exactly one node with publisher: true"},
		{"    serviceability:\n      credentials: {username: a, password: {env: P}}\n      tls: {ca: ca.pem}\n      nodes: [{name: cm1, host: h, publisher: true}, {name: CM1, host: i}]\n", "declared twice"},
		{"    serviceability:\n      credentials: {username: a, password: {env: P}}\n      tls: {ca: ca.pem}\n      axlVersion: \"14\"\n      nodes: [{name: cm1, host: h, publisher: true}]\n", "bad AXL version"},
		{"    serviceability:\n      credentials: {username: a, password: {env: P}}\n      tls: {ca: ca.pem}\n      nodes: [{name: cm1, host: h, publisher: true, prot: 1}]\n", `unknown key "prot"`},
	} {
		if _, err := loadServiceability(t, tc.block); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.block, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("literal password repeated: %v", err)
		}
	}
}
