package adopt

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/labtest"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
	"github.com/ctlops/ctlops/spec"
)

// roundTrip loads the spec import wrote and plans it against the same cluster: no change,
// no refusal, is what adopting means.
func roundTrip(t *testing.T, dir string) {
	t.Helper()
	cfg, _, err := spec.Load(dir)
	if err != nil {
		t.Fatalf("the imported spec does not load: %v", err)
	}
	p, err := live.Plan(context.Background(), cfg, nil, live.Options{Timeout: 10 * time.Second, Retries: -1}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Clusters {
		if c.Error != "" || c.Summary.Changes || len(c.Refusals) > 0 {
			t.Fatalf("plan after import of %s: %s, error %q, refusals %v, actions %v", c.Name, c.SummaryLine(), c.Error, c.Refusals, c.Actions)
		}
	}
}

// A reference cluster over the CTL Provider protocol: credentials by reference, the CA
// copied, the inventory as expectServers, and plan reports no change.
func TestImportCTLProviderRoundTrip(t *testing.T) {
	l := labtest.New(t, map[string]int{"hq": 3})
	l.InstallAll(l.Plan(l.Spec(labtest.Mixed("hq"))), "alice")
	pc := l.Clusters["hq"]
	var srcs []string
	for _, a := range pc.Addrs() {
		srcs = append(srcs, "https://"+a)
	}
	out := filepath.Join(t.TempDir(), "adopted")
	res, err := Import(context.Background(), Options{Sources: srcs, Out: out, Username: pc.User,
		PasswordEnv: labtest.PasswordEnv, CAFile: pc.CAFile, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cluster != "hq" || res.Mode != spec.ModeMixed || len(res.Tokens) != 2 || len(res.Servers) != 3 || res.Tokenless {
		t.Fatalf("result = %+v", res)
	}
	y, err := os.ReadFile(filepath.Join(out, spec.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(y), providertest.Password) || !strings.Contains(string(y), "env: "+labtest.PasswordEnv) {
		t.Fatalf("the spec must name the password variable, never the password:\n%s", y)
	}
	roundTrip(t, out)

	// Control: the same spec sees a change when the cluster moves (R22).
	pc.ChangeIP(pc.Nodes()[1].Name, "10.9.9.9")
	cfg, _, err := spec.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	p := l.Plan(cfg)
	if !p.Clusters[0].Summary.Changes && len(p.Clusters[0].Refusals) == 0 {
		t.Fatal("an IP change after import went unnoticed")
	}
}

func TestImportNeedsTrustAndPassword(t *testing.T) {
	t.Setenv("ADOPT_TEST_PW", "")
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no ca or pin", Options{Username: "admin"}, "--ca FILE or --pin"},
		{"no user", Options{CAFile: "x.pem"}, "--username"},
		{"no password", Options{Username: "admin", CAFile: "x.pem", PasswordEnv: "ADOPT_TEST_PW"}, "set ADOPT_TEST_PW"},
		{"bad source", Options{Sources: []string{"ftp://x"}}, "want tftp://"},
		{"bad host", Options{Sources: []string{"tftp://a b"}}, "bad host"},
		{"bad name", Options{Name: "../x", Sources: []string{"tftp://127.0.0.1:1"}}, "--name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.o.Sources == nil {
				tt.o.Sources = []string{"https://127.0.0.1:1"}
			}
			tt.o.Out = filepath.Join(t.TempDir(), "out")
			tt.o.Timeout = 200 * time.Millisecond
			_, err := Import(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want …%s…", err, tt.want)
			}
			if _, serr := os.Stat(tt.o.Out); serr == nil {
				t.Fatal("a failed import created the directory")
			}
		})
	}
}

// hostileCTL is a validly signed file whose names try path traversal, YAML injection and
// terminal escapes.
func hostileCTL(t *testing.T) []byte {
	t.Helper()
	mk := func(cn string, serial int64) (*rsa.PrivateKey, *x509.Certificate) {
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return k, c
	}
	k1, c1 := mk("../../../etc/passwd", 1)
	_, c2 := mk("x\"\n    suspend: true\n#\x1b[2J", 2)
	_, c3 := mk("server", 3)
	var recs []ctl.Record
	for i, c := range []*x509.Certificate{c1, c2} {
		r, err := ctl.NewRecord(c, ctl.RoleSAST, []string{"../../boot", "a: b"}[i], netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	r, err := ctl.NewRecord(c3, ctl.RoleCCMTFTP, "/etc/cron.d/x", netip.MustParseAddr("10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, r)
	f := ctl.New(provider.FileName, recs)
	if err := f.Sign(k1, c1, ctl.SHA1, time.Now()); err != nil {
		t.Fatal(err)
	}
	data, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Names from the file never leave the directory, never change the YAML's structure, and the
// spec still round-trips.
func TestImportHostileNames(t *testing.T) {
	live := t.TempDir()
	if err := provider.WriteCTLFile(live, hostileCTL(t)); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	out := filepath.Join(base, "out")
	res, err := Import(context.Background(), Options{Sources: []string{"dir://" + live}, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		if !filepath.IsLocal(f) {
			t.Errorf("wrote %q", f)
		}
	}
	filepath.Walk(base, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && !strings.HasPrefix(p, out+string(filepath.Separator)) {
			t.Errorf("a file outside --out: %s", p)
		}
		return nil
	})
	cfg, _, err := spec.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := os.ReadFile(filepath.Join(out, spec.DefaultFile))
	if !strings.Contains(string(y), `\x1b`) || !strings.Contains(string(y), `\n    suspend`) || strings.ContainsRune(string(y), 0x1b) {
		t.Errorf("names in comments must be escaped onto one line:\n%s", y)
	}
	c := cfg.Clusters[0]
	if c.Suspend || len(c.Tokens) != 2 {
		t.Fatalf("the YAML was altered by a name: suspend=%v tokens=%d", c.Suspend, len(c.Tokens))
	}
	for _, tk := range c.Tokens {
		if !strings.HasPrefix(tk.CertFile, filepath.Join(out, TokenDir)+string(filepath.Separator)) {
			t.Errorf("token %s certificate at %s", tk.Name, tk.CertFile)
		}
	}
	roundTrip(t, out)
}

func TestSafeName(t *testing.T) {
	tests := map[string]string{
		"gigantic-6.cisco.com":   "gigantic-6.cisco.com",
		"../../../etc/passwd":    "etc-passwd",
		"..":                     "",
		"SAST-ADN0054f509      ": "SAST-ADN0054f509",
		"a\x1b[2Jb":              "a-2Jb",
		"ünïcode":                "n-code",
		strings.Repeat("x", 80):  strings.Repeat("x", 64),
		"":                       "",
	}
	for in, want := range tests {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
	taken := map[string]bool{}
	if a, b := unique("x", taken), unique("X", taken); a != "x" || b != "X-2" {
		t.Errorf("unique: %q %q", a, b)
	}
}
