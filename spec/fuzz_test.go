package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes as a spec file next to the fixture certificates. Load must
// never panic; when it succeeds the result must hold what the rules promise, and when it fails
// every problem must say which file it is in.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yaml")
	ex, _ := filepath.Glob("../examples/*/*.yaml")
	for _, s := range append(seeds, ex...) {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("version: 1\nclusters: [{name: a, mode: mixed, providers: [{url: 'tftp://[::1]:69'}], tokens: [{name: a, certificate: ../certs/token1.pem}, {name: b, certificate: ../certs/token2.pem}]}]\n"))
	dir := f.TempDir()
	certs, err := filepath.Abs("testdata/certs")
	if err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink(certs, filepath.Join(dir, "certs")); err != nil {
		f.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "spec"), 0o755); err != nil {
		f.Fatal(err)
	}
	file := filepath.Join(dir, "spec", "ctlops.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := Load(file)
		if err != nil {
			if cfg != nil {
				t.Fatal("a Config beside an error")
			}
			for _, e := range Errors(err) {
				if e.Pos.File != file || e.Msg == "" {
					t.Fatalf("error without its file or message: %#v", e)
				}
			}
			return
		}
		for _, c := range cfg.Clusters {
			if c.Signing == SigningTokenless {
				// spec/tokenless.go: no tokens, providers or signer; a platform with its nodes.
				p := c.Platform
				if c.Name == "" || p == nil || len(p.Nodes) == 0 || p.Credentials == nil || p.Publisher() == nil ||
					len(c.Tokens)+len(c.Providers)+len(c.AlternateTFTP) != 0 || c.SignWith != nil ||
					(len(p.HostKeys) == 0 && p.KnownHosts == "") {
					t.Fatalf("accepted an incomplete tokenless cluster: %+v", c)
				}
				continue
			}
			if c.Name == "" || (c.Mode != ModeMixed && c.Mode != ModeNonSecure) || len(c.Providers) == 0 {
				t.Fatalf("accepted an incomplete cluster: %+v", c)
			}
			if len(c.Tokens) < 2 {
				t.Fatalf("accepted %d tokens (R16)", len(c.Tokens))
			}
			for _, tk := range c.Tokens {
				if tk.Cert == nil || !strings.HasPrefix(tk.CertFile, certs) && !strings.HasPrefix(tk.CertFile, dir) {
					t.Fatalf("token %+v", tk)
				}
			}
		}
		if !strings.HasPrefix(cfg.Digest(), "sha256:") {
			t.Fatal("no digest")
		}
	})
}

// BenchmarkLoad loads the two-cluster example (YAML, certificates, checks, digest).
func BenchmarkLoad(b *testing.B) {
	const f = "../examples/alternate-tftp/ctlops.yaml"
	fi, err := os.Stat(f)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Load(f); err != nil {
			b.Fatal(err)
		}
	}
}
